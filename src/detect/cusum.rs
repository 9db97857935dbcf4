//! Two-sided CUSUM (Page 1954) on standardized residuals. Each column's value is compared with
//! an exponentially weighted baseline (its forecast), the residual is divided by the running
//! residual spread, and the upper and lower cumulative sums
//! `S⁺ = max(0, S⁺ + r - k)`, `S⁻ = max(0, S⁻ - r - k)` accumulate evidence of a change;
//! the score is `max(S⁺, S⁻)`.
//!
//! `fit` starts the baseline at the training median and the spread at the residual spread the
//! recursion settles to on the training data; streamed without `fit`, the first `⌈4/alpha⌉`
//! values (20..=10 000) play that role (scores NaN meanwhile). The spread is updated with residuals winsorised at ±4
//! spreads and four times slower than the baseline, so a shift does not explain itself away
//! before it has been scored. The allowance `k` defaults to 1 spread: a sinusoid's residual
//! never exceeds √2 spreads, so seasonality alone accumulates little.

use super::columns::{COMBINE_MAX, Combine, PerColumn, Univariate};
use super::ewma::robust_location_scale;
use super::registry::DetectorEntry;
use super::{DetectError, Detector, DetectorInfo, Family};
use crate::model::{ParamKind, ParamSpec, Params};

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "alpha",
        kind: ParamKind::Float {
            min: 0.0001,
            max: 1.0,
            default: 0.05,
        },
        help: "Weight of the newest value in the baseline the residuals are taken from \
               (small = slow baseline, long memory).",
    },
    ParamSpec {
        name: "k",
        kind: ParamKind::Float {
            min: 0.0,
            max: 10.0,
            default: 1.0,
        },
        help: "Allowance in residual spreads: residuals smaller than this are forgiven.",
    },
    COMBINE_MAX,
];

static INFO: DetectorInfo = DetectorInfo {
    id: "cusum",
    name: "CUSUM (two-sided)",
    family: Family::Statistical,
    multivariate: false,
    streaming: true,
    description: "Cumulative sums of standardized residuals above and below an exponentially \
                  weighted baseline. Catches level shifts and sustained small changes; a spike \
                  scores high for a few rows after it.",
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
        CusumColumn::new(params.float("alpha"), params.float("k")),
        Combine::from_param(params.text("combine")),
    )))
}

/// One column: baseline, spread and the two cumulative sums.
#[derive(Clone, Debug)]
pub struct CusumColumn {
    alpha: f64,
    k: f64,
    /// Fitted starting point of the baseline and the residual variance.
    start: (f64, f64),
    mean: f64,
    variance: f64,
    upper: f64,
    lower: f64,
}

impl CusumColumn {
    /// Baseline weight `alpha` in (0, 1], allowance `k` ≥ 0. Unfitted.
    pub fn new(alpha: f64, k: f64) -> Self {
        Self {
            alpha: alpha.clamp(1e-6, 1.0),
            k: k.max(0.0),
            start: (0.0, 1.0),
            mean: 0.0,
            variance: 1.0,
            upper: 0.0,
            lower: 0.0,
        }
    }

    /// Advances baseline and spread with `x`; returns the standardized residual.
    #[inline]
    fn advance(&mut self, x: f64) -> f64 {
        let spread = self.variance.sqrt().max(1e-9 * (self.mean.abs() + 1.0));
        let residual = (x - self.mean) / spread;
        let clipped = residual.clamp(-4.0, 4.0) * spread;
        let beta = self.alpha / 4.0;
        self.variance = (1.0 - beta) * self.variance + beta * clipped * clipped;
        self.mean += self.alpha * (x - self.mean);
        residual
    }
}

impl Univariate for CusumColumn {
    /// Starts the baseline at the training median and the spread at the residual spread the
    /// recursion settles to over the training data (so seasonality is part of "normal").
    fn fit(&mut self, train: &[f64]) -> Result<(), String> {
        let (centre, sigma) =
            robust_location_scale(train).ok_or("needs at least 3 finite training values")?;
        self.mean = centre;
        self.variance = sigma * sigma;
        // Twice over the training data: the first pass settles the spread, the second
        // measures it from a settled baseline.
        for _ in 0..2 {
            self.mean = centre;
            let mut sum_sq = 0.0;
            let mut count = 0usize;
            for &x in train.iter().filter(|x| x.is_finite()) {
                let residual = self.advance(x).clamp(-4.0, 4.0);
                let spread = self.variance.sqrt();
                sum_sq += (residual * spread).powi(2);
                count += 1;
            }
            self.variance = (sum_sq / count.max(1) as f64).max(f64::MIN_POSITIVE);
        }
        self.start = (centre, self.variance);
        self.reset();
        Ok(())
    }

    fn bootstrap_rows(&self) -> Option<usize> {
        Some(((4.0 / self.alpha).ceil() as usize).clamp(20, 10_000))
    }

    fn reset(&mut self) {
        (self.mean, self.variance) = self.start;
        self.upper = 0.0;
        self.lower = 0.0;
    }

    #[inline]
    fn update(&mut self, x: f64) -> f64 {
        if !x.is_finite() {
            return f64::NAN;
        }
        let residual = self.advance(x);
        self.upper = (self.upper + residual - self.k).max(0.0);
        self.lower = (self.lower - residual - self.k).max(0.0);
        self.upper.max(self.lower)
    }

    fn warm_up_rows(&self) -> usize {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(i: usize) -> f64 {
        ((i * 7919) % 101) as f64 / 101.0 - 0.5
    }

    fn fitted() -> CusumColumn {
        let mut col = CusumColumn::new(0.05, 1.0);
        col.fit(&(0..300).map(noise).collect::<Vec<_>>()).unwrap();
        col
    }

    #[test]
    fn level_shift_accumulates_both_ways() {
        let mut col = fitted();
        let normal: f64 = (0..300).map(|i| col.update(noise(i))).fold(0.0, f64::max);
        let up: f64 = (300..330)
            .map(|i| col.update(noise(i) + 2.0))
            .fold(0.0, f64::max);
        assert!(up > 5.0 * normal.max(1.0), "normal {normal} up {up}");
        let mut col = fitted();
        let down: f64 = (300..330)
            .map(|i| col.update(noise(i) - 2.0))
            .fold(0.0, f64::max);
        assert!(down > 5.0 * normal.max(1.0), "down {down}");
    }

    #[test]
    fn fitted_scores_from_the_first_row_and_reset_restarts() {
        let mut col = fitted();
        let first: Vec<f64> = (0..20).map(|i| col.update(noise(i))).collect();
        assert!(first.iter().all(|s| s.is_finite()));
        assert!(col.update(f64::NAN).is_nan());
        col.reset();
        let again: Vec<f64> = (0..20).map(|i| col.update(noise(i))).collect();
        assert_eq!(first, again);
        assert_eq!(CusumColumn::new(0.5, 1.0).bootstrap_rows(), Some(20));
    }
}
