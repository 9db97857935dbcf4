//! Sliding windows for the linfa detectors: a per-column scaler fitted on training rows, the
//! training-window matrix (evenly subsampled), a streaming ring of the last `window` rows, and
//! [`WindowDetector`], the one `Detector` implementation shared by every window model.
//!
//! A window ending at row `t` holds rows `t-window+1 ..= t` of every column, scaled, flattened
//! time-major (`[x_{t-w+1}[0..d], …, x_t[0..d]]`); its score is row `t`'s score, so the first
//! `window - 1` rows are NaN (warm-up). Missing values (NaN) are imputed with the training mean
//! (0 after scaling), so a gap never makes a score NaN after warm-up.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::super::persist::{self, Persist};
use super::super::{CANCEL_CHECK_ROWS, DetectError, Detector, DetectorInfo};
use crate::control::CancelToken;
use crate::model::{ParamKind, ParamSpec, Row, Series};

/// Per-column mean and standard deviation, learned from training rows only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Scaler {
    mean: Vec<f64>,
    std: Vec<f64>,
}

impl Scaler {
    /// Fits on every finite value of each column; a constant or empty column gets std 1.
    pub(crate) fn fit(series: &Series) -> Self {
        let (mut mean, mut std) = (Vec::new(), Vec::new());
        for column in series.columns() {
            let finite = column.values.iter().filter(|v| v.is_finite());
            let (n, sum) = finite
                .clone()
                .fold((0usize, 0.0), |(n, s), v| (n + 1, s + v));
            let m = if n == 0 { 0.0 } else { sum / n as f64 };
            let var = if n == 0 {
                0.0
            } else {
                finite.map(|v| (v - m) * (v - m)).sum::<f64>() / n as f64
            };
            let s = var.sqrt();
            mean.push(m);
            std.push(if s > 1e-12 * (m.abs() + 1.0) { s } else { 1.0 });
        }
        Self { mean, std }
    }

    /// Number of columns it was fitted on.
    pub(crate) fn width(&self) -> usize {
        self.mean.len()
    }

    /// `(x - mean) / std`, with NaN (missing) mapped to 0, the training mean.
    #[inline]
    pub(crate) fn scale(&self, column: usize, x: f64) -> f64 {
        if x.is_finite() {
            (x - self.mean[column]) / self.std[column]
        } else {
            0.0
        }
    }

    /// Checks that a series or row has the fitted width.
    pub(crate) fn check_width(
        &self,
        detector: &'static str,
        width: usize,
        row: usize,
    ) -> Result<(), DetectError> {
        if width == self.width() {
            Ok(())
        } else {
            Err(persist::input_error(
                detector,
                format!(
                    "row {row} has {width} values, the model was fitted on {}",
                    self.width()
                ),
            ))
        }
    }
}

/// The scaled training windows, evenly subsampled to at most `max` (deterministic, covering the
/// whole training range), as a row-major `n × (window·d)` matrix.
pub(crate) fn training_windows(
    series: &Series,
    scaler: &Scaler,
    window: usize,
    max: usize,
    detector: &'static str,
    cancel: &CancelToken,
) -> Result<(Vec<f64>, usize), DetectError> {
    let rows = series.len();
    if rows < window || window == 0 {
        return Err(persist::input_error(
            detector,
            format!("training data has {rows} rows, at least window = {window} are needed"),
        ));
    }
    let total = rows - window + 1;
    let take = total.min(max.max(1));
    let d = series.columns().len();
    let mut out = Vec::with_capacity(take * window * d);
    for k in 0..take {
        if k % CANCEL_CHECK_ROWS == 0 && cancel.is_cancelled() {
            return Err(DetectError::Cancelled);
        }
        // Evenly spaced starts, first and last window always included.
        let start = if take == 1 {
            total - 1
        } else {
            k * (total - 1) / (take - 1)
        };
        for t in start..start + window {
            for (c, column) in series.columns().iter().enumerate() {
                out.push(scaler.scale(c, column.values[t]));
            }
        }
    }
    Ok((out, take))
}

/// The last `window` scaled rows, as a ring.
#[derive(Clone, Debug, Default)]
pub(crate) struct Ring {
    data: Vec<f64>,
    width: usize,
    window: usize,
    next: usize,
    filled: usize,
}

impl Ring {
    pub(crate) fn new(window: usize, width: usize) -> Self {
        Self {
            data: vec![0.0; window * width],
            width,
            window,
            next: 0,
            filled: 0,
        }
    }

    /// Pushes one row (already scaled by `scaler`).
    pub(crate) fn push(&mut self, scaler: &Scaler, values: &[f64]) {
        let base = self.next * self.width;
        for (c, &x) in values.iter().enumerate() {
            self.data[base + c] = scaler.scale(c, x);
        }
        self.next = (self.next + 1) % self.window;
        self.filled = (self.filled + 1).min(self.window);
    }

    /// True once `window` rows were pushed.
    pub(crate) fn is_full(&self) -> bool {
        self.filled == self.window
    }

    /// Copies the window, oldest row first, into `out`.
    pub(crate) fn copy_into(&self, out: &mut Vec<f64>) {
        out.clear();
        let split = self.next * self.width;
        out.extend_from_slice(&self.data[split..]);
        out.extend_from_slice(&self.data[..split]);
    }

    pub(crate) fn clear(&mut self) {
        self.next = 0;
        self.filled = 0;
    }
}

/// A model over flattened windows: the part that differs between the linfa detectors.
pub trait WindowModel:
    Sized + Clone + std::fmt::Debug + Send + Sync + Serialize + DeserializeOwned
{
    /// Hyper-parameters, from the registry's checked `Params`.
    type Config: Clone + std::fmt::Debug + Send;

    /// Learns from `n` training windows of `dim` values each (row-major `windows`, `width`
    /// values per row, so the newest row is the last `width` values of a window).
    fn fit(
        config: &Self::Config,
        windows: &[f64],
        n: usize,
        dim: usize,
        width: usize,
        cancel: &CancelToken,
    ) -> Result<Self, DetectError>;

    /// Anomaly score of one window (higher = more anomalous, finite).
    fn score(&self, window: &[f64]) -> f64;

    /// [`score`](Self::score) of each of `windows` into `out` (same length), bit for bit.
    /// Batch scoring hands windows over in blocks so that a model whose scoring reads a large
    /// state per window (the SVM's support vectors) can read it once per block instead.
    fn score_many(&self, windows: &[&[f64]], out: &mut [f64]) {
        for (window, score) in windows.iter().zip(out) {
            *score = self.score(window);
        }
    }
}

/// Windows per [`WindowModel::score_many`] call in batch scoring.
const SCORE_BLOCK: usize = 64;

/// Fitted state shared by every window detector (what [`Persist`] saves).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Fitted<M> {
    window: usize,
    scaler: Scaler,
    model: M,
}

/// A detector that scores the window ending at each row with a fitted [`WindowModel`].
#[derive(Clone, Debug)]
pub struct WindowDetector<M: WindowModel> {
    info: &'static DetectorInfo,
    window: usize,
    max_train: usize,
    config: M::Config,
    fitted: Option<Fitted<M>>,
    ring: Ring,
    buf: Vec<f64>,
}

impl<M: WindowModel> WindowDetector<M> {
    pub(crate) fn from_parts(
        info: &'static DetectorInfo,
        window: usize,
        max_train: usize,
        config: M::Config,
    ) -> Self {
        Self {
            info,
            window: window.max(1),
            max_train: max_train.max(1),
            config,
            fitted: None,
            ring: Ring::default(),
            buf: Vec::new(),
        }
    }

    /// Window length in rows (from the saved state once loaded).
    pub fn window(&self) -> usize {
        self.fitted.as_ref().map_or(self.window, |f| f.window)
    }

    /// True once fitted or loaded.
    pub fn is_fitted(&self) -> bool {
        self.fitted.is_some()
    }

    pub(crate) fn config_mut(&mut self) -> &mut M::Config {
        &mut self.config
    }

    pub(crate) fn model(&self) -> Option<&M> {
        self.fitted.as_ref().map(|f| &f.model)
    }
}

impl<M: WindowModel> Detector for WindowDetector<M> {
    fn info(&self) -> &'static DetectorInfo {
        self.info
    }

    fn fit(&mut self, train: &Series, cancel: &CancelToken) -> Result<(), DetectError> {
        let scaler = Scaler::fit(train);
        let (windows, n) = training_windows(
            train,
            &scaler,
            self.window,
            self.max_train,
            self.info.id,
            cancel,
        )?;
        let dim = self.window * scaler.width();
        let model = M::fit(&self.config, &windows, n, dim, scaler.width(), cancel)?;
        self.ring = Ring::new(self.window, scaler.width());
        self.fitted = Some(Fitted {
            window: self.window,
            scaler,
            model,
        });
        Ok(())
    }

    fn reset(&mut self) {
        self.ring.clear();
    }

    fn update(&mut self, row: Row<'_>) -> Result<f64, DetectError> {
        let fitted = self
            .fitted
            .as_ref()
            .ok_or_else(|| persist::not_fitted(self.info.id))?;
        fitted
            .scaler
            .check_width(self.info.id, row.values.len(), row.index)?;
        self.ring.push(&fitted.scaler, row.values);
        if !self.ring.is_full() {
            return Ok(f64::NAN);
        }
        self.ring.copy_into(&mut self.buf);
        Ok(fitted.model.score(&self.buf))
    }

    /// Scores the windows on up to four threads, in blocks through
    /// [`WindowModel::score_many`], which gives the bits [`WindowModel::score`] gives `update`,
    /// so batch and streaming scores are identical.
    fn score_series(
        &mut self,
        series: &Series,
        cancel: &CancelToken,
    ) -> Result<Vec<f64>, DetectError> {
        let id = self.info.id;
        let fitted = self
            .fitted
            .as_ref()
            .ok_or_else(|| persist::not_fitted(id))?;
        let (scaler, model, w) = (&fitted.scaler, &fitted.model, fitted.window);
        let d = series.columns().len();
        scaler.check_width(id, d, 0)?;
        let rows = series.len();
        let mut standardized = vec![0.0; rows * d];
        for (c, column) in series.columns().iter().enumerate() {
            for (t, &x) in column.values.iter().enumerate() {
                standardized[t * d + c] = scaler.scale(c, x);
            }
        }
        let mut scores = vec![f64::NAN; rows];
        if rows >= w {
            let first = w - 1;
            let threads = std::thread::available_parallelism()
                .map_or(1, std::num::NonZeroUsize::get)
                .clamp(1, 4);
            let chunk = (rows - first).div_ceil(threads);
            let standardized = &standardized;
            let results: Vec<Result<(), DetectError>> = std::thread::scope(|scope| {
                let handles: Vec<_> = scores[first..]
                    .chunks_mut(chunk)
                    .enumerate()
                    .map(|(k, out)| {
                        let start = first + k * chunk;
                        let work = move || -> Result<(), DetectError> {
                            let mut views: Vec<&[f64]> = Vec::with_capacity(SCORE_BLOCK);
                            for (b, block) in out.chunks_mut(SCORE_BLOCK).enumerate() {
                                if cancel.is_cancelled() {
                                    return Err(DetectError::Cancelled);
                                }
                                let i = b * SCORE_BLOCK;
                                views.clear();
                                views.extend(
                                    (start + i..start + i + block.len())
                                        .map(|t| &standardized[(t + 1 - w) * d..(t + 1) * d]),
                                );
                                model.score_many(&views, block);
                            }
                            Ok(())
                        };
                        std::thread::Builder::new()
                            .name(format!("anomdet-{id}-score-{k}"))
                            .spawn_scoped(scope, work)
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| match h {
                        Ok(h) => h.join().unwrap_or_else(|_| {
                            Err(persist::input_error(id, "scoring thread panicked".into()))
                        }),
                        Err(e) => Err(persist::input_error(
                            id,
                            format!("cannot start scoring thread: {e}"),
                        )),
                    })
                    .collect()
            });
            results
                .into_iter()
                .collect::<Result<Vec<()>, DetectError>>()?;
        }
        // Leave the streaming state where folding `update` would have left it.
        self.ring.clear();
        let mut buf = Vec::new();
        for t in rows.saturating_sub(w)..rows {
            if let Some(row) = series.row_into(t, &mut buf) {
                self.ring.push(scaler, row.values);
            }
        }
        Ok(scores)
    }

    fn warm_up_rows(&self) -> Option<usize> {
        Some(self.window() - 1)
    }

    fn as_persist(&mut self) -> Option<&mut dyn Persist> {
        Some(self)
    }
}

impl<M: WindowModel> Persist for WindowDetector<M> {
    fn save_state(&self) -> Result<Vec<u8>, DetectError> {
        let fitted = self
            .fitted
            .as_ref()
            .ok_or_else(|| persist::not_fitted(self.info.id))?;
        persist::to_json(self.info.id, fitted)
    }

    fn load_state(&mut self, bytes: &[u8]) -> Result<(), DetectError> {
        let fitted: Fitted<M> = persist::from_json(self.info.id, bytes)?;
        if fitted.window == 0 || fitted.scaler.width() == 0 {
            return Err(persist::input_error(
                self.info.id,
                "saved state has an empty window".to_owned(),
            ));
        }
        self.window = fitted.window;
        self.ring = Ring::new(fitted.window, fitted.scaler.width());
        self.fitted = Some(fitted);
        Ok(())
    }
}

/// The `score_on` parameter shared by the residual-based window detectors.
pub(crate) const SCORE_ON: ParamSpec = ParamSpec {
    name: "score_on",
    kind: ParamKind::Choice {
        options: &["last", "window"],
        default: "last",
    },
    help: "Score a row by the residual of its own (newest) row in the window, or of the whole \
           window (which also flags the window-1 rows after an anomaly).",
};

/// Squared distance between the newest rows (the last `width` values) of two windows.
#[inline]
pub(crate) fn tail_squared_distance(a: &[f64], b: &[f64], width: usize) -> f64 {
    let from = a.len().saturating_sub(width);
    squared_distance(&a[from..], &b[from..])
}

/// Index of the row of `points` (row-major, `dim` wide) nearest to `x`; 0 when empty.
pub(crate) fn nearest_index(points: &[f64], dim: usize, x: &[f64]) -> usize {
    points
        .chunks_exact(dim)
        .map(|p| squared_distance(p, x))
        .enumerate()
        .fold(
            (0, f64::INFINITY),
            |best, (i, d)| if d < best.1 { (i, d) } else { best },
        )
        .0
}

/// Squared Euclidean distance.
#[inline]
pub(crate) fn squared_distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Column, Timestamp};

    #[test]
    fn scaler_ignores_nan_and_guards_constant_columns() {
        let series = Series::new(
            (0..4).map(Timestamp).collect(),
            vec![
                Column::new("a", vec![1.0, 3.0, f64::NAN, 2.0]),
                Column::new("b", vec![5.0; 4]),
            ],
            None,
        )
        .unwrap();
        let s = Scaler::fit(&series);
        assert!((s.scale(0, 2.0)).abs() < 1e-12);
        assert!((s.scale(1, 6.0) - 1.0).abs() < 1e-12);
        assert!(s.scale(0, f64::NAN).abs() < f64::EPSILON);
    }

    #[test]
    fn ring_matches_training_windows() {
        let series = Series::from_values("v", (0..10).map(f64::from).collect());
        let scaler = Scaler::fit(&series);
        let (windows, n) =
            training_windows(&series, &scaler, 3, 100, "t", &CancelToken::new()).unwrap();
        assert_eq!(n, 8);
        let mut ring = Ring::new(3, 1);
        let mut buf = Vec::new();
        for (i, v) in series.columns()[0].values.iter().enumerate() {
            ring.push(&scaler, &[*v]);
            if i >= 2 {
                ring.copy_into(&mut buf);
                assert_eq!(buf.as_slice(), &windows[(i - 2) * 3..(i - 2) * 3 + 3]);
            }
        }
        let (sub, n) = training_windows(&series, &scaler, 3, 3, "t", &CancelToken::new()).unwrap();
        assert_eq!(n, 3);
        assert_eq!(&sub[..3], &windows[..3]);
        assert_eq!(&sub[6..], &windows[21..]);
    }
}
