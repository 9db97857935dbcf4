//! Detectors: one object-safe [`Detector`] trait, a registry of built-in detectors with
//! parameter schemas, and thresholding (scores → flags → windows), kept apart from scoring so
//! that a sensitivity slider never re-scores.
//!
//! Owns: every detector implementation (one file each) and `threshold`. linfa/ndarray and candle
//! types stay inside the file of the detector that uses them. Depends on `model` and `control`.
//!
//! Contract for every detector (a shared invariant test runs over the whole registry):
//! - `fit` learns from training data only; `update` never changes fitted parameters;
//! - `score_series` equals `update` folded over the rows after `reset` (batch == streaming);
//! - the same seed gives the same scores; scores are finite after warm-up (NaN before);
//! - higher score = more anomalous.

mod baseline;
pub mod columns;
mod cusum;
mod ewma;
pub mod external;
mod hbos;
mod hst;
mod iforest;
mod knn_kernel;
mod knn_windows;
mod learned;
mod matrix_profile;
mod neural;
pub mod period;
pub mod persist;
mod poly;
mod registry;
mod robust_z;
mod rrcf;
mod rrcf_tree;
mod shesd;
mod spectral_residual;
mod subseq;
mod subseq_knn;
mod subseq_lof;
pub mod threshold;
mod zscore;

pub use baseline::{ConstantScores, RandomScores};
pub use columns::{Combine, PerColumn, Univariate};
pub use hst::HalfSpaceTrees;
pub use iforest::IsolationForest;
pub use learned::{
    DbscanDistance, KMeansDistance, OneClassSvm, PcaReconstruction, SvmSolver, WindowDetector,
};
pub use matrix_profile::MatrixProfile;
pub use neural::{NeuralConfig, NeuralDetector};
pub use persist::Persist;
pub use poly::{Poly, PolyColumn};
pub use registry::{
    DetectorEntry, DetectorSpec, builtin, external_problems, find, load_externals, registry,
};
pub use rrcf::RobustRandomCutForest;
pub use subseq_knn::SubsequenceKnn;
pub use subseq_lof::SubsequenceLof;
pub use threshold::{SpotThreshold, ThresholdRule};
pub use zscore::{RollingZScore, ZScoreColumn};

use thiserror::Error;

use crate::control::CancelToken;
use crate::model::{ParamSpec, ParamsError, Row, Series, Timestamp};

/// Broad family of a detector, for grouping in the UI and in reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// Statistics of a rolling window or a fitted distribution.
    Statistical,
    /// Distances between sub-sequences.
    Subsequence,
    /// Random trees and forests.
    Trees,
    /// Fitted machine-learning models (linfa).
    Learned,
    /// Neural networks (candle).
    Neural,
    /// Reference floors: random or constant scores.
    Baseline,
    /// A user's program outside this process.
    External,
}

/// What a detector is: shown in listings, stored with runs, used to render forms.
#[derive(Clone, Copy, Debug)]
pub struct DetectorInfo {
    /// Stable `snake_case` id, stored in the database: never rename.
    pub id: &'static str,
    /// Human name.
    pub name: &'static str,
    /// Family.
    pub family: Family,
    /// True when it models all columns jointly; false when it scores each column and combines.
    pub multivariate: bool,
    /// True when `update` is a real online algorithm (no look-ahead).
    pub streaming: bool,
    /// One paragraph: what it catches and why.
    pub description: &'static str,
    /// Parameter schema.
    pub params: &'static [ParamSpec],
}

/// What can go wrong while building, fitting or running a detector.
#[derive(Debug, Error)]
pub enum DetectError {
    /// No detector with this id.
    #[error("unknown detector {id:?} (run `anomdet detectors` to list them)")]
    UnknownDetector {
        /// The id given.
        id: String,
    },
    /// Bad parameters.
    #[error("detector {detector:?}: {source}")]
    Params {
        /// Detector id.
        detector: &'static str,
        /// What was wrong.
        source: ParamsError,
    },
    /// The input cannot be scored (too short, wrong width, ...).
    #[error("detector {detector:?}: {message}")]
    Input {
        /// Detector id.
        detector: &'static str,
        /// What was wrong.
        message: String,
    },
    /// The user cancelled.
    #[error("cancelled")]
    Cancelled,
    /// A foreign library (linfa, candle, an external program) failed.
    #[error("detector {detector:?} backend error: {message}")]
    Backend {
        /// Detector id.
        detector: &'static str,
        /// The library's message.
        message: String,
    },
}

/// Scores of a whole series with optional per-column attribution.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DetailedScores {
    /// One combined score per row (what `score_series` returns).
    pub scores: Vec<f64>,
    /// One score vector per column (column-major), when the detector can attribute.
    pub columns: Option<Vec<Vec<f64>>>,
}

/// How often long loops look at the cancel token (rows).
pub const CANCEL_CHECK_ROWS: usize = 4096;

/// An anomaly detector. Object-safe so the UI can hold `Box<dyn Detector>` chosen at runtime.
///
/// # Example
/// ```
/// use anomdet::control::CancelToken;
/// use anomdet::detect::DetectorSpec;
/// use anomdet::model::Series;
///
/// let mut values: Vec<f64> = (0..200).map(|i| (i as f64 * 0.3).sin()).collect();
/// values[150] = 25.0;
/// let series = Series::from_values("value", values);
/// let mut detector = DetectorSpec::new("rolling_zscore").build().unwrap();
/// detector.fit(&series, &CancelToken::new()).unwrap();
/// let scores = detector.score_series(&series, &CancelToken::new()).unwrap();
/// let top = scores.iter().enumerate().filter(|(_, s)| s.is_finite())
///     .max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
/// assert_eq!(top, 150);
/// ```
pub trait Detector: Send + std::fmt::Debug {
    /// What this detector is.
    fn info(&self) -> &'static DetectorInfo;

    /// Learns from training data (never the data it will judge, unless the user says so).
    /// Stateless detectors only check the input's width.
    fn fit(&mut self, train: &Series, cancel: &CancelToken) -> Result<(), DetectError>;

    /// Forgets streaming state (windows, buffers) but keeps fitted parameters.
    fn reset(&mut self);

    /// Streaming path: one row in, one score out (NaN while warming up).
    fn update(&mut self, row: Row<'_>) -> Result<f64, DetectError>;

    /// Streaming path for consecutive rows `first_row..` at once (a replay at full speed):
    /// appends to `out` exactly the scores `update` would give row by row, leaving the same
    /// state. `columns[c]` holds column `c` of the rows. The default calls `update` per row;
    /// detectors with a cheap per-row update override it with a tight loop, which is where a
    /// full-speed stream spends its time.
    fn update_block(
        &mut self,
        first_row: usize,
        timestamps: &[Timestamp],
        columns: &[&[f64]],
        out: &mut Vec<f64>,
    ) -> Result<(), DetectError> {
        update_rows(self, first_row, timestamps, columns, out)
    }

    /// Rows at the start of a series whose score may be NaN (warm-up), with the current
    /// parameters, once `fit` has been called. `None` when the detector does not say; the
    /// shared invariant test then only checks that NaN scores form a prefix.
    fn warm_up_rows(&self) -> Option<usize> {
        None
    }

    /// Per-column scores of the last row passed to `update` (or the last row of the last
    /// `score_series`), in column order, for "how much each column contributed". `None` when
    /// the detector cannot attribute its score to columns.
    fn column_scores(&self) -> Option<&[f64]> {
        None
    }

    /// The detector's saved-state interface, when its fitted state can be stored and reloaded
    /// (learned and neural detectors). `None` for detectors with nothing worth saving.
    fn as_persist(&mut self) -> Option<&mut dyn Persist> {
        None
    }

    /// Batch scores plus, when the detector can attribute, one score vector per column. The
    /// default streams the rows and collects [`column_scores`](Self::column_scores) after each
    /// one; detectors built on [`PerColumn`] override it with a column-at-a-time pass.
    fn score_series_detailed(
        &mut self,
        series: &Series,
        cancel: &CancelToken,
    ) -> Result<DetailedScores, DetectError> {
        self.reset();
        let width = series.columns().len();
        let mut scores = Vec::with_capacity(series.len());
        let mut columns: Option<Vec<Vec<f64>>> = None;
        let mut buf = Vec::with_capacity(width);
        for index in 0..series.len() {
            if index % CANCEL_CHECK_ROWS == 0 && cancel.is_cancelled() {
                return Err(DetectError::Cancelled);
            }
            let Some(row) = series.row_into(index, &mut buf) else {
                break;
            };
            scores.push(self.update(row)?);
            match (self.column_scores(), index) {
                (Some(last), 0) if last.len() == width => {
                    let mut per = vec![Vec::with_capacity(series.len()); width];
                    for (column, &s) in per.iter_mut().zip(last) {
                        column.push(s);
                    }
                    columns = Some(per);
                }
                (Some(last), _) if last.len() == width => {
                    if let Some(per) = columns.as_mut() {
                        for (column, &s) in per.iter_mut().zip(last) {
                            column.push(s);
                        }
                    }
                }
                _ => columns = None,
            }
        }
        Ok(DetailedScores { scores, columns })
    }

    /// Batch path. The default resets and folds `update` over the rows, so it equals streaming
    /// by construction; an override for speed must keep that equality (tested).
    fn score_series(
        &mut self,
        series: &Series,
        cancel: &CancelToken,
    ) -> Result<Vec<f64>, DetectError> {
        self.reset();
        let mut scores = Vec::with_capacity(series.len());
        let mut buf = Vec::with_capacity(series.columns().len());
        for index in 0..series.len() {
            if index % CANCEL_CHECK_ROWS == 0 && cancel.is_cancelled() {
                return Err(DetectError::Cancelled);
            }
            let Some(row) = series.row_into(index, &mut buf) else {
                break;
            };
            scores.push(self.update(row)?);
        }
        Ok(scores)
    }
}

/// [`Detector::update_block`] done row by row with `update` (the default, and the fallback of
/// overrides that only speed up some shapes).
///
/// # Errors
/// The first error of `update`.
pub(crate) fn update_rows<D: Detector + ?Sized>(
    detector: &mut D,
    first_row: usize,
    timestamps: &[Timestamp],
    columns: &[&[f64]],
    out: &mut Vec<f64>,
) -> Result<(), DetectError> {
    let mut values = Vec::with_capacity(columns.len());
    for (offset, &ts) in timestamps.iter().enumerate() {
        values.clear();
        values.extend(columns.iter().map(|column| column[offset]));
        out.push(detector.update(Row {
            index: first_row + offset,
            ts,
            values: &values,
        })?);
    }
    Ok(())
}
