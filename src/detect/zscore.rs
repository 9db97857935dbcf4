//! Rolling z-score: how many standard deviations a value lies from the mean of the previous
//! `window` values of its column. Cheap, streaming, catches spikes and abrupt level changes;
//! blind to anomalies that keep the local mean and spread.

use super::registry::DetectorEntry;
use super::{CANCEL_CHECK_ROWS, DetectError, Detector, DetectorInfo, Family};
use crate::control::CancelToken;
use crate::model::{ParamKind, ParamSpec, Params, Row, Series};

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "window",
        kind: ParamKind::Int { min: 2, max: 1_000_000, default: 100 },
        help: "Number of previous values the mean and standard deviation are taken over.",
    },
    ParamSpec {
        name: "combine",
        kind: ParamKind::Choice { options: &["max", "mean"], default: "max" },
        help: "How per-column scores become one score per row (multivariate data).",
    },
];

static INFO: DetectorInfo = DetectorInfo {
    id: "rolling_zscore",
    name: "Rolling z-score",
    family: Family::Statistical,
    multivariate: false,
    streaming: true,
    description: "|x - mean| / std over the previous `window` values of each column. \
                  Catches spikes and abrupt shifts; fast and fully online.",
    params: PARAMS,
};

/// Registry entry.
pub(super) const ENTRY: DetectorEntry = DetectorEntry {
    info: &INFO,
    build: build,
};

fn build(params: &Params, _seed: u64) -> Result<Box<dyn Detector>, DetectError> {
    Ok(Box::new(RollingZScore::new(
        params.usize("window"),
        params.text("combine") == "mean",
    )))
}

/// Rolling z-score detector (see module docs). Univariate per column; columns combined by max
/// (default) or mean.
#[derive(Clone, Debug)]
pub struct RollingZScore {
    window: usize,
    combine_mean: bool,
    columns: Vec<ColumnState>,
}

/// Rolling statistics of one column. Sums are kept relative to a reference value (the first
/// value seen) so that large offsets do not destroy precision (the "shifted data" method).
#[derive(Clone, Debug, Default)]
struct ColumnState {
    ring: Vec<f64>,
    next: usize,
    reference: Option<f64>,
    sum: f64,
    sum_sq: f64,
}

impl ColumnState {
    /// Scores `x` against the window, then pushes it. NaN inputs are skipped (score NaN).
    #[inline]
    fn step(&mut self, x: f64, window: usize) -> f64 {
        if !x.is_finite() {
            return f64::NAN;
        }
        let reference = *self.reference.get_or_insert(x);
        let shifted = x - reference;
        let n = self.ring.len();
        let score = if n < window {
            f64::NAN
        } else {
            let count = n as f64;
            let mean = self.sum / count;
            let variance = (self.sum_sq / count - mean * mean).max(0.0);
            let std = variance.sqrt();
            let floor = 1e-9 * ((mean + reference).abs() + 1.0);
            (shifted - mean).abs() / std.max(floor)
        };
        if n < window {
            self.ring.push(shifted);
        } else {
            let old = std::mem::replace(&mut self.ring[self.next], shifted);
            self.next = (self.next + 1) % window;
            self.sum -= old;
            self.sum_sq -= old * old;
        }
        self.sum += shifted;
        self.sum_sq += shifted * shifted;
        score
    }
}

impl RollingZScore {
    /// A detector over the previous `window` values (at least 2), combining columns by max or,
    /// when `combine_mean`, by mean.
    pub fn new(window: usize, combine_mean: bool) -> Self {
        Self {
            window: window.max(2),
            combine_mean,
            columns: Vec::new(),
        }
    }

    fn combine(&self, acc: &mut [f64], column_scores: &[f64], column: usize, columns: usize) {
        for (a, &s) in acc.iter_mut().zip(column_scores) {
            *a = combine_step(*a, s, column, columns, self.combine_mean);
        }
    }
}

/// Folds one column's score into the row's running combination. NaN column scores are ignored,
/// so a row is NaN only when every column is.
#[inline]
fn combine_step(acc: f64, score: f64, column: usize, columns: usize, mean: bool) -> f64 {
    if column == 0 {
        return if mean && columns > 1 { score / columns as f64 } else { score };
    }
    match (acc.is_nan(), score.is_nan()) {
        (_, true) => acc,
        (true, false) => if mean { score / columns as f64 } else { score },
        (false, false) => if mean { acc + score / columns as f64 } else { acc.max(score) },
    }
}

impl Detector for RollingZScore {
    fn info(&self) -> &'static DetectorInfo {
        &INFO
    }

    fn fit(&mut self, _train: &Series, _cancel: &CancelToken) -> Result<(), DetectError> {
        // Nothing to learn: the statistics are rolling.
        Ok(())
    }

    fn reset(&mut self) {
        self.columns.clear();
    }

    fn update(&mut self, row: Row<'_>) -> Result<f64, DetectError> {
        if self.columns.is_empty() {
            self.columns = vec![ColumnState::default(); row.values.len()];
        }
        if self.columns.len() != row.values.len() {
            return Err(DetectError::Input {
                detector: INFO.id,
                message: format!(
                    "row {} has {} values, expected {}",
                    row.index,
                    row.values.len(),
                    self.columns.len()
                ),
            });
        }
        let columns = row.values.len();
        let mut acc = f64::NAN;
        for (column, (state, &x)) in self.columns.iter_mut().zip(row.values).enumerate() {
            let score = state.step(x, self.window);
            acc = combine_step(acc, score, column, columns, self.combine_mean);
        }
        Ok(acc)
    }

    /// Column-at-a-time for cache locality; the arithmetic per column is exactly that of
    /// `update`, so the result is bit-identical.
    fn score_series(&mut self, series: &Series, cancel: &CancelToken) -> Result<Vec<f64>, DetectError> {
        self.reset();
        let columns = series.columns().len();
        let mut acc = vec![f64::NAN; series.len()];
        let mut column_scores = vec![0.0; series.len()];
        for (index, column) in series.columns().iter().enumerate() {
            let mut state = ColumnState::default();
            for (chunk_index, (out, chunk)) in column_scores
                .chunks_mut(CANCEL_CHECK_ROWS)
                .zip(column.values.chunks(CANCEL_CHECK_ROWS))
                .enumerate()
            {
                if chunk_index % 64 == 0 && cancel.is_cancelled() {
                    return Err(DetectError::Cancelled);
                }
                for (o, &x) in out.iter_mut().zip(chunk) {
                    *o = state.step(x, self.window);
                }
            }
            self.combine(&mut acc, &column_scores, index, columns);
            self.columns.push(state);
        }
        Ok(acc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Column, Timestamp};

    fn streamed(det: &mut RollingZScore, series: &Series) -> Vec<f64> {
        det.reset();
        let mut buf = Vec::new();
        (0..series.len())
            .map(|i| det.update(series.row_into(i, &mut buf).unwrap()).unwrap())
            .collect()
    }

    #[test]
    fn warm_up_is_nan_then_finite() {
        let series = Series::from_values("v", (0..50).map(|i| f64::from(i % 7)).collect());
        let scores = RollingZScore::new(10, false)
            .score_series(&series, &CancelToken::new())
            .unwrap();
        assert!(scores[..10].iter().all(|s| s.is_nan()));
        assert!(scores[10..].iter().all(|s| s.is_finite()));
    }

    #[test]
    fn known_value() {
        // Window [1, 2, 3]: mean 2, population std sqrt(2/3); x = 4 → 2 / 0.8165 = 2.449.
        let series = Series::from_values("v", vec![1.0, 2.0, 3.0, 4.0]);
        let scores = RollingZScore::new(3, false)
            .score_series(&series, &CancelToken::new())
            .unwrap();
        assert!((scores[3] - 2.0 / (2.0_f64 / 3.0).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn batch_equals_streaming_multivariate_with_nan() {
        let a: Vec<f64> = (0..500).map(|i| (f64::from(i) * 0.1).sin() * 1e6 + 1e9).collect();
        let mut b: Vec<f64> = (0..500).map(|i| f64::from(i % 13)).collect();
        b[200] = f64::NAN;
        let series = Series::new(
            (0..500).map(Timestamp).collect(),
            vec![Column::new("a", a), Column::new("b", b)],
            None,
        )
        .unwrap();
        for mean in [false, true] {
            let mut det = RollingZScore::new(20, mean);
            let batch = det.score_series(&series, &CancelToken::new()).unwrap();
            let stream = streamed(&mut det, &series);
            assert_eq!(batch.len(), stream.len());
            for (x, y) in batch.iter().zip(&stream) {
                assert!(x.to_bits() == y.to_bits(), "{x} != {y}");
            }
        }
    }

    #[test]
    fn cancel_stops_batch() {
        let series = Series::from_values("v", vec![0.0; 100_000]);
        let cancel = CancelToken::new();
        cancel.cancel();
        assert!(matches!(
            RollingZScore::new(5, false).score_series(&series, &cancel),
            Err(DetectError::Cancelled)
        ));
    }
}
