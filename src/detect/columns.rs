//! The multivariate framework for univariate detectors: [`PerColumn`] runs one [`Univariate`]
//! state per column and combines the column scores by max or mean, keeping the per-column
//! scores for attribution ("how much each column contributed").
//!
//! Owns the batch == streaming guarantee for every per-column detector: the batch path runs
//! the very same `Univariate::update` calls column by column (cache friendly), and the
//! combination folds columns in the same order as the streaming path, so both are
//! bit-identical.
//!
//! Detectors that need a fitted model (HBOS, S-H-ESD) and are streamed without `fit` learn it
//! from the first [`Univariate::bootstrap_rows`] values of each column (scores NaN meanwhile);
//! that self-fitted model is streaming state, so `reset` forgets it.

use super::{CANCEL_CHECK_ROWS, DetailedScores, DetectError, Detector, DetectorInfo};
use crate::control::CancelToken;
use crate::model::{ParamKind, ParamSpec, Row, Series};

/// The `combine` parameter with `max` as default (shared by the per-column detectors).
pub const COMBINE_MAX: ParamSpec = ParamSpec {
    name: "combine",
    kind: ParamKind::Choice {
        options: &["max", "mean"],
        default: "max",
    },
    help: "How per-column scores become one score per row (multivariate data): the largest \
           column score, or their mean.",
};

/// The `combine` parameter with `mean` as default (HBOS sums log-densities, so mean).
pub const COMBINE_MEAN: ParamSpec = ParamSpec {
    name: "combine",
    kind: ParamKind::Choice {
        options: &["max", "mean"],
        default: "mean",
    },
    help: "How per-column scores become one score per row (multivariate data): the largest \
           column score, or their mean.",
};

/// How per-column scores become one row score. NaN column scores are ignored, so a row is NaN
/// only when every column is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Combine {
    /// The largest column score.
    Max,
    /// The mean over all columns (a NaN column counts as missing, not zero).
    Mean,
}

impl Combine {
    /// From the `combine` parameter's text (`"mean"` → mean, anything else → max).
    pub fn from_param(text: &str) -> Self {
        if text == "mean" {
            Self::Mean
        } else {
            Self::Max
        }
    }

    /// Folds column `column`'s score into the running combination `acc` of a row with
    /// `columns` columns. Column 0 starts the fold.
    #[inline]
    pub fn step(self, acc: f64, score: f64, column: usize, columns: usize) -> f64 {
        let mean = self == Self::Mean;
        if column == 0 {
            return if mean && columns > 1 {
                score / columns as f64
            } else {
                score
            };
        }
        match (acc.is_nan(), score.is_nan()) {
            (_, true) => acc,
            (true, false) => {
                if mean {
                    score / columns as f64
                } else {
                    score
                }
            }
            (false, false) => {
                if mean {
                    acc + score / columns as f64
                } else {
                    acc.max(score)
                }
            }
        }
    }
}

/// A detector of one column: one value in, one score out.
///
/// Implementations must be deterministic functions of (fitted model, values seen since the
/// last `reset`), which is what makes [`PerColumn`]'s batch path equal its streaming path.
pub trait Univariate: Clone + Send + std::fmt::Debug + 'static {
    /// Learns from one training column (may contain NaN). Returns a message when the column
    /// cannot be learned from (too short, all missing).
    fn fit(&mut self, _train: &[f64]) -> Result<(), String> {
        Ok(())
    }

    /// `Some(n)` when the detector needs a fitted model: streamed without `fit`, it learns
    /// from the first `n` values (NaN scores meanwhile). `None` (default): no model needed.
    fn bootstrap_rows(&self) -> Option<usize> {
        None
    }

    /// Called after a self-fit from the first `rows` streamed values (see
    /// [`bootstrap_rows`](Self::bootstrap_rows)), for detectors that track position.
    fn after_bootstrap(&mut self, _rows: usize) {}

    /// Forgets streaming state, keeps the fitted model.
    fn reset(&mut self);

    /// Scores `x` (NaN while warming up or when `x` is NaN), then learns from it.
    fn update(&mut self, x: f64) -> f64;

    /// `out[i] = update(xs[i])` in order. Detectors may override it with a tighter loop that
    /// performs exactly the same floating-point operations (batch == streaming bit for bit).
    fn update_slice(&mut self, xs: &[f64], out: &mut [f64]) {
        for (o, &x) in out.iter_mut().zip(xs) {
            *o = self.update(x);
        }
    }

    /// Number of leading finite values whose score is NaN once fitted.
    fn warm_up_rows(&self) -> usize;
}

/// One column's state: the univariate detector plus the bootstrap buffer used when streaming
/// without `fit`.
#[derive(Clone, Debug)]
struct Slot<U> {
    detector: U,
    /// True once `fit` (explicit) or the bootstrap (streaming) has produced a model.
    ready: bool,
    /// True when the model came from the bootstrap, so `reset` must forget it.
    bootstrapped: bool,
    buffer: Vec<f64>,
}

impl<U: Univariate> Slot<U> {
    fn new(template: &U) -> Self {
        Self {
            detector: template.clone(),
            ready: template.bootstrap_rows().is_none(),
            bootstrapped: false,
            buffer: Vec::new(),
        }
    }

    #[inline]
    fn step(&mut self, x: f64) -> f64 {
        if self.ready {
            return self.detector.update(x);
        }
        self.bootstrap(x)
    }

    #[cold]
    fn bootstrap(&mut self, x: f64) -> f64 {
        let needed = self.detector.bootstrap_rows().unwrap_or(0);
        if x.is_finite() {
            self.buffer.push(x);
        }
        if self.buffer.len() >= needed && self.detector.fit(&self.buffer).is_ok() {
            self.detector.after_bootstrap(self.buffer.len());
            self.ready = true;
            self.bootstrapped = true;
            self.buffer = Vec::new();
        }
        f64::NAN
    }
}

/// Runs a [`Univariate`] detector on every column and combines the scores.
#[derive(Clone, Debug)]
pub struct PerColumn<U: Univariate> {
    info: &'static DetectorInfo,
    template: U,
    combine: Combine,
    /// Column states; empty until `fit` or the first row.
    slots: Vec<Slot<U>>,
    /// True when `fit` made `slots` (so `reset` keeps the models).
    fitted: bool,
    /// Per-column scores of the last row.
    last: Vec<f64>,
}

impl<U: Univariate> PerColumn<U> {
    /// Wraps `template` (an unfitted detector with its parameters) for the detector `info`.
    pub fn new(info: &'static DetectorInfo, template: U, combine: Combine) -> Self {
        Self {
            info,
            template,
            combine,
            slots: Vec::new(),
            fitted: false,
            last: Vec::new(),
        }
    }

    fn width_error(&self, row: usize, got: usize) -> DetectError {
        DetectError::Input {
            detector: self.info.id,
            message: format!("row {row} has {got} values, expected {}", self.slots.len()),
        }
    }

    fn prepare(&mut self, width: usize) -> Result<(), DetectError> {
        if self.slots.is_empty() {
            self.slots = (0..width).map(|_| Slot::new(&self.template)).collect();
            self.fitted = false;
        }
        if self.slots.len() == width {
            Ok(())
        } else {
            Err(self.width_error(0, width))
        }
    }
}

impl<U: Univariate> Detector for PerColumn<U> {
    fn info(&self) -> &'static DetectorInfo {
        self.info
    }

    fn fit(&mut self, train: &Series, cancel: &CancelToken) -> Result<(), DetectError> {
        let mut slots = Vec::with_capacity(train.columns().len());
        for column in train.columns() {
            if cancel.is_cancelled() {
                return Err(DetectError::Cancelled);
            }
            let mut detector = self.template.clone();
            detector
                .fit(&column.values)
                .map_err(|message| DetectError::Input {
                    detector: self.info.id,
                    message: format!("column {:?}: {message}", column.name),
                })?;
            slots.push(Slot {
                detector,
                ready: true,
                bootstrapped: false,
                buffer: Vec::new(),
            });
        }
        self.slots = slots;
        self.fitted = true;
        self.last.clear();
        Ok(())
    }

    fn reset(&mut self) {
        self.last.clear();
        if !self.fitted {
            self.slots.clear();
            return;
        }
        for slot in &mut self.slots {
            if slot.bootstrapped {
                *slot = Slot::new(&self.template);
            } else {
                slot.detector.reset();
            }
        }
    }

    fn update(&mut self, row: Row<'_>) -> Result<f64, DetectError> {
        self.prepare(row.values.len())
            .map_err(|_| self.width_error(row.index, row.values.len()))?;
        let columns = row.values.len();
        self.last.resize(columns, f64::NAN);
        let mut acc = f64::NAN;
        for (column, ((slot, &x), last)) in self
            .slots
            .iter_mut()
            .zip(row.values)
            .zip(&mut self.last)
            .enumerate()
        {
            let score = slot.step(x);
            *last = score;
            acc = self.combine.step(acc, score, column, columns);
        }
        Ok(acc)
    }

    fn score_series(
        &mut self,
        series: &Series,
        cancel: &CancelToken,
    ) -> Result<Vec<f64>, DetectError> {
        self.score_columns(series, cancel, false).map(|d| d.scores)
    }

    fn score_series_detailed(
        &mut self,
        series: &Series,
        cancel: &CancelToken,
    ) -> Result<DetailedScores, DetectError> {
        self.score_columns(series, cancel, true)
    }

    fn warm_up_rows(&self) -> Option<usize> {
        Some(self.template.warm_up_rows())
    }

    fn column_scores(&self) -> Option<&[f64]> {
        (!self.last.is_empty()).then_some(self.last.as_slice())
    }
}

impl<U: Univariate> PerColumn<U> {
    /// Column-at-a-time batch pass: the same `step` calls as streaming, then the same fold.
    fn score_columns(
        &mut self,
        series: &Series,
        cancel: &CancelToken,
        keep_columns: bool,
    ) -> Result<DetailedScores, DetectError> {
        self.reset();
        let columns = series.columns().len();
        self.prepare(columns)?;
        let mut acc = vec![f64::NAN; series.len()];
        let mut scratch = vec![0.0; series.len()];
        let mut per_column = Vec::with_capacity(if keep_columns { columns } else { 0 });
        self.last = vec![f64::NAN; columns];
        for (index, (slot, column)) in self.slots.iter_mut().zip(series.columns()).enumerate() {
            for (chunk_index, (out, chunk)) in scratch
                .chunks_mut(CANCEL_CHECK_ROWS)
                .zip(column.values.chunks(CANCEL_CHECK_ROWS))
                .enumerate()
            {
                if chunk_index % 64 == 0 && cancel.is_cancelled() {
                    return Err(DetectError::Cancelled);
                }
                if slot.ready {
                    slot.detector.update_slice(chunk, out);
                } else {
                    for (o, &x) in out.iter_mut().zip(chunk) {
                        *o = slot.step(x);
                    }
                }
            }
            for (a, &s) in acc.iter_mut().zip(&scratch) {
                *a = self.combine.step(*a, s, index, columns);
            }
            if let Some(&s) = scratch.last() {
                self.last[index] = s;
            }
            if keep_columns {
                per_column.push(scratch.clone());
            }
        }
        if series.is_empty() {
            self.last.clear();
        }
        Ok(DetailedScores {
            scores: acc,
            columns: keep_columns.then_some(per_column),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Column, Timestamp};

    /// Scores |x - previous x|; needs a model (the training mean) to test the bootstrap.
    #[derive(Clone, Debug, Default)]
    struct Diff {
        previous: Option<f64>,
        mean: f64,
        needs_model: bool,
    }

    impl Univariate for Diff {
        fn fit(&mut self, train: &[f64]) -> Result<(), String> {
            if train.is_empty() {
                return Err("empty".into());
            }
            self.mean = train.iter().sum::<f64>() / train.len() as f64;
            Ok(())
        }
        fn bootstrap_rows(&self) -> Option<usize> {
            self.needs_model.then_some(3)
        }
        fn reset(&mut self) {
            self.previous = None;
        }
        fn update(&mut self, x: f64) -> f64 {
            let score = self
                .previous
                .map_or(f64::NAN, |p| (x - p).abs() + self.mean * 0.0);
            self.previous = Some(x);
            score
        }
        fn warm_up_rows(&self) -> usize {
            1
        }
    }

    static INFO: DetectorInfo = DetectorInfo {
        id: "diff_test",
        name: "diff",
        family: super::super::Family::Statistical,
        multivariate: false,
        streaming: true,
        description: "",
        params: &[],
    };

    fn two_columns() -> Series {
        Series::new(
            (0..6).map(Timestamp).collect(),
            vec![
                Column::new("a", vec![0.0, 1.0, 3.0, 3.0, f64::NAN, 4.0]),
                Column::new("b", vec![0.0, 2.0, 2.0, 7.0, 7.0, 7.0]),
            ],
            None,
        )
        .unwrap()
    }

    fn streamed(det: &mut dyn Detector, series: &Series) -> (Vec<f64>, Vec<Vec<f64>>) {
        det.reset();
        let mut buf = Vec::new();
        let mut per_row = Vec::new();
        let scores = (0..series.len())
            .map(|i| {
                let s = det.update(series.row_into(i, &mut buf).unwrap()).unwrap();
                per_row.push(det.column_scores().unwrap().to_vec());
                s
            })
            .collect();
        (scores, per_row)
    }

    #[test]
    fn combines_by_max_and_mean_with_attribution() {
        let series = two_columns();
        let mut max = PerColumn::new(&INFO, Diff::default(), Combine::Max);
        let (scores, per_row) = streamed(&mut max, &series);
        assert!(scores[0].is_nan());
        assert_eq!(&scores[1..4], &[2.0, 2.0, 5.0]);
        assert_eq!(per_row[3], vec![0.0, 5.0]);
        // Column a is NaN at row 4: the row takes column b's score alone.
        assert!((scores[4] - 0.0).abs() < f64::EPSILON);
        let mut mean = PerColumn::new(&INFO, Diff::default(), Combine::Mean);
        let detailed = mean
            .score_series_detailed(&series, &CancelToken::new())
            .unwrap();
        assert_eq!(&detailed.scores[1..4], &[1.5, 1.0, 2.5]);
        let columns = detailed.columns.unwrap();
        assert!((columns[1][3] - 5.0).abs() < f64::EPSILON);
        assert_eq!(mean.column_scores().unwrap().len(), 2);
    }

    #[test]
    fn batch_equals_streaming_bit_for_bit() {
        let series = two_columns();
        for combine in [Combine::Max, Combine::Mean] {
            let mut det = PerColumn::new(&INFO, Diff::default(), combine);
            let batch = det.score_series(&series, &CancelToken::new()).unwrap();
            let (stream, _) = streamed(&mut det, &series);
            assert!(
                batch
                    .iter()
                    .zip(&stream)
                    .all(|(a, b)| a.to_bits() == b.to_bits())
            );
        }
    }

    #[test]
    fn bootstrap_without_fit_and_reset_forgets_it() {
        let series = two_columns();
        let template = Diff {
            needs_model: true,
            ..Diff::default()
        };
        let mut det = PerColumn::new(&INFO, template, Combine::Max);
        let first = det.score_series(&series, &CancelToken::new()).unwrap();
        assert!(first[..3].iter().all(|s| s.is_nan()), "{first:?}");
        assert!(first[4].is_finite());
        let (again, _) = streamed(&mut det, &series);
        assert!(
            first
                .iter()
                .zip(&again)
                .all(|(a, b)| a.to_bits() == b.to_bits())
        );
        det.fit(&series, &CancelToken::new()).unwrap();
        let fitted = det.score_series(&series, &CancelToken::new()).unwrap();
        assert!(fitted[1].is_finite());
    }

    #[test]
    fn wrong_width_is_an_error() {
        let mut det = PerColumn::new(&INFO, Diff::default(), Combine::Max);
        let row = |values: &'static [f64]| Row {
            index: 1,
            ts: Timestamp(0),
            values,
        };
        det.update(row(&[1.0, 2.0])).unwrap();
        assert!(matches!(
            det.update(row(&[1.0])),
            Err(DetectError::Input { .. })
        ));
    }
}
