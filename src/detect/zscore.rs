//! Rolling z-score: how many standard deviations a value lies from the mean of the previous
//! `window` values of its column. Cheap, streaming, catches spikes and abrupt level changes;
//! blind to anomalies that keep the local mean and spread.

use super::columns::{COMBINE_MAX, Combine, PerColumn, Univariate};
use super::registry::DetectorEntry;
use super::{DetectError, Detector, DetectorInfo, Family};
use crate::model::{ParamKind, ParamSpec, Params};

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "window",
        kind: ParamKind::Int {
            min: 2,
            max: 1_000_000,
            default: 100,
        },
        help: "Number of previous values the mean and standard deviation are taken over.",
    },
    COMBINE_MAX,
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
pub(super) const ENTRY: DetectorEntry = DetectorEntry { info: &INFO, build };

#[expect(
    clippy::unnecessary_wraps,
    reason = "the registry's build signature is fallible"
)]
fn build(params: &Params, _seed: u64) -> Result<Box<dyn Detector>, DetectError> {
    Ok(Box::new(RollingZScore::from_window(
        params.usize("window"),
        Combine::from_param(params.text("combine")),
    )))
}

/// Rolling z-score detector (see module docs): [`ZScoreColumn`] on every column, combined by
/// max (default) or mean.
pub type RollingZScore = PerColumn<ZScoreColumn>;

impl RollingZScore {
    /// A detector over the previous `window` values (at least 2).
    pub fn from_window(window: usize, combine: Combine) -> Self {
        PerColumn::new(&INFO, ZScoreColumn::new(window), combine)
    }
}

/// Rolling statistics of one column. Sums are kept relative to a reference value (the first
/// value seen) so that large offsets do not destroy precision (the "shifted data" method).
#[derive(Clone, Debug, Default)]
pub struct ZScoreColumn {
    window: usize,
    ring: Vec<f64>,
    next: usize,
    reference: Option<f64>,
    sum: f64,
    sum_sq: f64,
}

impl ZScoreColumn {
    /// An empty state over the previous `window` values (at least 2).
    pub fn new(window: usize) -> Self {
        Self {
            window: window.max(2),
            ..Self::default()
        }
    }
}

impl Univariate for ZScoreColumn {
    fn reset(&mut self) {
        *self = Self::new(self.window);
    }

    /// Scores `x` against the window, then pushes it. NaN inputs are skipped (score NaN).
    #[inline]
    fn update(&mut self, x: f64) -> f64 {
        if !x.is_finite() {
            return f64::NAN;
        }
        let window = self.window;
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
            self.next += 1;
            if self.next == window {
                self.next = 0;
            }
            self.sum -= old;
            self.sum_sq -= old * old;
        }
        self.sum += shifted;
        self.sum_sq += shifted * shifted;
        score
    }

    /// The steady state of [`Self::update`] (full window) without its per-value branches on
    /// the window's fill level; the same operations in the same order, so bit-identical.
    fn update_slice(&mut self, xs: &[f64], out: &mut [f64]) {
        let mut k = 0;
        while k < xs.len() && (self.ring.len() < self.window || self.reference.is_none()) {
            out[k] = self.update(xs[k]);
            k += 1;
        }
        let Some(reference) = self.reference else {
            return;
        };
        let count = self.ring.len() as f64;
        let (mut sum, mut sum_sq, mut next) = (self.sum, self.sum_sq, self.next);
        let window = self.window;
        let ring = &mut self.ring;
        for (o, &x) in out[k..].iter_mut().zip(&xs[k..]) {
            if !x.is_finite() {
                *o = f64::NAN;
                continue;
            }
            let shifted = x - reference;
            let mean = sum / count;
            let variance = (sum_sq / count - mean * mean).max(0.0);
            let std = variance.sqrt();
            let floor = 1e-9 * ((mean + reference).abs() + 1.0);
            *o = (shifted - mean).abs() / std.max(floor);
            let old = std::mem::replace(&mut ring[next], shifted);
            next += 1;
            if next == window {
                next = 0;
            }
            sum -= old;
            sum_sq -= old * old;
            sum += shifted;
            sum_sq += shifted * shifted;
        }
        (self.sum, self.sum_sq, self.next) = (sum, sum_sq, next);
    }

    fn warm_up_rows(&self) -> usize {
        self.window
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::CancelToken;
    use crate::model::{Column, Series, Timestamp};
    use crate::testing::streamed;

    #[test]
    fn warm_up_is_nan_then_finite() {
        let series = Series::from_values("v", (0..50).map(|i| f64::from(i % 7)).collect());
        let scores = RollingZScore::from_window(10, Combine::Max)
            .score_series(&series, &CancelToken::new())
            .unwrap();
        assert!(scores[..10].iter().all(|s| s.is_nan()));
        assert!(scores[10..].iter().all(|s| s.is_finite()));
    }

    #[test]
    fn known_value() {
        // Window [1, 2, 3]: mean 2, population std sqrt(2/3); x = 4 → 2 / 0.8165 = 2.449.
        let series = Series::from_values("v", vec![1.0, 2.0, 3.0, 4.0]);
        let scores = RollingZScore::from_window(3, Combine::Max)
            .score_series(&series, &CancelToken::new())
            .unwrap();
        assert!((scores[3] - 2.0 / (2.0_f64 / 3.0).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn batch_equals_streaming_multivariate_with_nan() {
        let a: Vec<f64> = (0..500)
            .map(|i| (f64::from(i) * 0.1).sin() * 1e6 + 1e9)
            .collect();
        let mut b: Vec<f64> = (0..500).map(|i| f64::from(i % 13)).collect();
        b[200] = f64::NAN;
        let series = Series::new(
            (0..500).map(Timestamp).collect(),
            vec![Column::new("a", a), Column::new("b", b)],
            None,
        )
        .unwrap();
        for combine in [Combine::Max, Combine::Mean] {
            let mut det = RollingZScore::from_window(20, combine);
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
            RollingZScore::from_window(5, Combine::Max).score_series(&series, &cancel),
            Err(DetectError::Cancelled)
        ));
    }
}
