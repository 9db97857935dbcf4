//! Robust z-score: how many robust standard deviations (1.4826 · MAD) a value lies from the
//! median of the previous `window` values of its column. Like the rolling z-score but a few
//! outliers inside the window neither move the centre nor inflate the spread, so a second
//! spike right after the first is still seen. Falls back to the mean absolute deviation
//! (· 1.2533) when more than half the window is identical (MAD = 0, common with quantised
//! sensors), as in the modified z-score of Iglewicz and Hoaglin.

use super::columns::{COMBINE_MAX, Combine, PerColumn, Univariate};
use super::registry::DetectorEntry;
use super::{DetectError, Detector, DetectorInfo, Family};
use crate::model::{ParamKind, ParamSpec, Params};

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "window",
        kind: ParamKind::Int {
            min: 3,
            max: 100_000,
            default: 100,
        },
        help: "Number of previous values the median and MAD are taken over.",
    },
    COMBINE_MAX,
];

static INFO: DetectorInfo = DetectorInfo {
    id: "robust_zscore",
    name: "Robust z-score (median/MAD)",
    family: Family::Statistical,
    multivariate: false,
    streaming: true,
    description: "|x - median| / (1.4826 · MAD) over the previous `window` values of each \
                  column. Catches spikes and shifts like the z-score, but outliers already in \
                  the window do not mask new ones.",
    params: PARAMS,
};

/// Registry entry.
pub(super) const ENTRY: DetectorEntry = DetectorEntry { info: &INFO, build };

#[expect(
    clippy::unnecessary_wraps,
    reason = "the registry's build signature is fallible"
)]
fn build(params: &Params, _seed: u64) -> Result<Box<dyn Detector>, DetectError> {
    Ok(Box::new(PerColumn::new(
        &INFO,
        RobustZColumn::new(params.usize("window")),
        Combine::from_param(params.text("combine")),
    )))
}

/// One column's window: arrival order (ring) plus a sorted copy for the median.
#[derive(Clone, Debug, Default)]
pub struct RobustZColumn {
    window: usize,
    ring: Vec<f64>,
    next: usize,
    sorted: Vec<f64>,
}

impl RobustZColumn {
    /// An empty state over the previous `window` values (at least 3).
    pub fn new(window: usize) -> Self {
        Self {
            window: window.max(3),
            ring: Vec::new(),
            next: 0,
            sorted: Vec::new(),
        }
    }

    fn median(&self) -> f64 {
        let n = self.sorted.len();
        if n % 2 == 1 {
            self.sorted[n / 2]
        } else {
            0.5 * (self.sorted[n / 2 - 1] + self.sorted[n / 2])
        }
    }

    /// MAD of the sorted window around `median`: the deviations form two sorted runs walking
    /// outwards from the median, merged until the middle one.
    fn mad(&self, median: f64) -> f64 {
        let n = self.sorted.len();
        let split = self.sorted.partition_point(|&v| v < median);
        let (mut left, mut right) = (split, split);
        let target = (n - 1) / 2;
        let mut previous = 0.0;
        for k in 0..=target + usize::from(n.is_multiple_of(2)) {
            let from_left = left.checked_sub(1).map(|i| median - self.sorted[i]);
            let from_right = self.sorted.get(right).map(|v| v - median);
            let d = match (from_left, from_right) {
                (Some(l), Some(r)) if l <= r => {
                    left -= 1;
                    l
                }
                (_, Some(r)) => {
                    right += 1;
                    r
                }
                (Some(l), None) => {
                    left -= 1;
                    l
                }
                (None, None) => break,
            };
            if k == target + 1 {
                return 0.5 * (previous + d);
            }
            previous = d;
        }
        previous
    }
}

impl Univariate for RobustZColumn {
    fn reset(&mut self) {
        *self = Self::new(self.window);
    }

    fn update(&mut self, x: f64) -> f64 {
        if !x.is_finite() {
            return f64::NAN;
        }
        let score = if self.ring.len() < self.window {
            f64::NAN
        } else {
            let median = self.median();
            let mut spread = 1.4826 * self.mad(median);
            if spread <= 0.0 {
                let mean_ad = self.sorted.iter().map(|v| (v - median).abs()).sum::<f64>()
                    / self.sorted.len() as f64;
                spread = 1.2533 * mean_ad;
            }
            let floor = 1e-9 * (median.abs() + 1.0);
            (x - median).abs() / spread.max(floor)
        };
        if self.ring.len() < self.window {
            self.ring.push(x);
        } else {
            let old = std::mem::replace(&mut self.ring[self.next], x);
            self.next = (self.next + 1) % self.window;
            let at = self.sorted.partition_point(|&v| v < old);
            self.sorted.remove(at);
        }
        let at = self.sorted.partition_point(|&v| v < x);
        self.sorted.insert(at, x);
        score
    }

    fn warm_up_rows(&self) -> usize {
        self.window
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(window: &[f64]) -> (f64, f64) {
        let mut v = window.to_vec();
        v.sort_by(f64::total_cmp);
        let med = |v: &[f64]| {
            let n = v.len();
            if n % 2 == 1 {
                v[n / 2]
            } else {
                0.5 * (v[n / 2 - 1] + v[n / 2])
            }
        };
        let m = med(&v);
        let mut d: Vec<f64> = v.iter().map(|x| (x - m).abs()).collect();
        d.sort_by(f64::total_cmp);
        (m, med(&d))
    }

    #[test]
    fn median_and_mad_match_naive_computation() {
        for window in [3, 4, 7, 10] {
            let mut col = RobustZColumn::new(window);
            let values: Vec<f64> = (0..60)
                .map(|i| f64::from((i * 37) % 17) - 3.0 * f64::from(i % 2))
                .collect();
            for (i, &x) in values.iter().enumerate() {
                if i >= window {
                    let (m, mad) = naive(&values[i - window..i]);
                    assert!((col.median() - m).abs() < 1e-12, "median at {i}");
                    assert!((col.mad(m) - mad).abs() < 1e-12, "mad at {i} w {window}");
                }
                col.update(x);
            }
        }
    }

    #[test]
    fn outlier_in_window_does_not_mask_the_next() {
        let mut col = RobustZColumn::new(20);
        let mut scores = Vec::new();
        for i in 0..60 {
            let x = if i == 40 || i == 42 {
                50.0
            } else {
                f64::from(i % 3)
            };
            scores.push(col.update(x));
        }
        assert!(scores[42] > 20.0, "{}", scores[42]);
    }

    #[test]
    fn constant_window_uses_mean_deviation_fallback() {
        let mut col = RobustZColumn::new(10);
        for i in 0..10 {
            col.update(if i == 3 { 2.0 } else { 1.0 });
        }
        // MAD 0, mean absolute deviation 0.1 → spread 0.12533; x = 2 → 1 / 0.12533.
        let s = col.update(2.0);
        assert!((s - 1.0 / 0.12533).abs() < 1e-9, "{s}");
    }
}
