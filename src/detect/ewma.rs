//! EWMA control chart (Roberts 1959): the exponentially weighted moving average
//! `z_t = λ·x_t + (1 - λ)·z_{t-1}` of each column, in units of its own standard deviation
//! `σ·sqrt(λ / (2 - λ))` around the in-control mean. Smoothing makes it sensitive to small
//! sustained shifts that a point-wise z-score misses, at the cost of a short delay.
//!
//! Phase I / phase II as in process control: `fit` learns the in-control mean and σ robustly
//! (median and 1.4826 · MAD, so anomalies in the training data barely move them). Streamed without `fit`, the first `baseline` values play
//! the phase I role (scores NaN meanwhile).

use super::columns::{COMBINE_MAX, Combine, PerColumn, Univariate};
use super::registry::DetectorEntry;
use super::{DetectError, Detector, DetectorInfo, Family};
use crate::model::{ParamKind, ParamSpec, Params};

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "lambda",
        kind: ParamKind::Float {
            min: 0.001,
            max: 1.0,
            default: 0.2,
        },
        help: "Smoothing weight of the newest value (small = smoother, catches smaller shifts \
               later; 1 = Shewhart chart).",
    },
    ParamSpec {
        name: "baseline",
        kind: ParamKind::Int {
            min: 10,
            max: 1_000_000,
            default: 200,
        },
        help: "Values used as the in-control baseline when the detector is streamed without \
               being fitted.",
    },
    COMBINE_MAX,
];

static INFO: DetectorInfo = DetectorInfo {
    id: "ewma",
    name: "EWMA control chart",
    family: Family::Statistical,
    multivariate: false,
    streaming: true,
    description: "Distance of the exponentially weighted moving average from the in-control \
                  mean, in units of its standard deviation. Catches small sustained shifts and \
                  drifts; spikes show up damped by lambda.",
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
        EwmaColumn::new(params.float("lambda"), params.usize("baseline")),
        Combine::from_param(params.text("combine")),
    )))
}

/// Robust centre and scale of a training column: the median and 1.4826 · MAD, falling back to
/// the MAD of first differences ÷ √2 (quantised data with MAD 0) and then to a tiny floor.
pub(super) fn robust_location_scale(train: &[f64]) -> Option<(f64, f64)> {
    let mut values: Vec<f64> = train.iter().copied().filter(|x| x.is_finite()).collect();
    if values.len() < 3 {
        return None;
    }
    let mut diffs: Vec<f64> = values.windows(2).map(|w| (w[1] - w[0]).abs()).collect();
    let centre = median(&mut values);
    let mut deviations: Vec<f64> = values.iter().map(|v| (v - centre).abs()).collect();
    let mut sigma = 1.4826 * median(&mut deviations);
    if sigma <= 0.0 {
        sigma = 1.4826 * median(&mut diffs) / std::f64::consts::SQRT_2;
    }
    if sigma <= 0.0 {
        sigma = 1e-9 * (centre.abs() + 1.0);
    }
    Some((centre, sigma))
}

/// Median by selection (reorders `values`); NaN when empty.
pub(super) fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let len = values.len();
    let (lower, upper, _) = values.select_nth_unstable_by(len / 2, f64::total_cmp);
    if len % 2 == 1 {
        *upper
    } else {
        let below = lower.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        0.5 * (below + *upper)
    }
}

/// One column: the fitted baseline and the running EWMA.
#[derive(Clone, Debug)]
pub struct EwmaColumn {
    lambda: f64,
    baseline: usize,
    centre: f64,
    sigma: f64,
    z: Option<f64>,
}

impl EwmaColumn {
    /// Smoothing `lambda` in (0, 1]; `baseline` values for phase I when not fitted.
    pub fn new(lambda: f64, baseline: usize) -> Self {
        Self {
            lambda: lambda.clamp(1e-6, 1.0),
            baseline: baseline.max(3),
            centre: f64::NAN,
            sigma: f64::NAN,
            z: None,
        }
    }
}

impl Univariate for EwmaColumn {
    fn fit(&mut self, train: &[f64]) -> Result<(), String> {
        let (centre, sigma) =
            robust_location_scale(train).ok_or("needs at least 3 finite training values")?;
        self.centre = centre;
        self.sigma = sigma;
        Ok(())
    }

    fn bootstrap_rows(&self) -> Option<usize> {
        Some(self.baseline)
    }

    fn reset(&mut self) {
        self.z = None;
    }

    #[inline]
    fn update(&mut self, x: f64) -> f64 {
        if !x.is_finite() {
            return f64::NAN;
        }
        // The chart starts at the in-control mean (z_0 = μ_0), as in process control.
        let previous = self.z.unwrap_or(self.centre);
        let z = self.lambda * x + (1.0 - self.lambda) * previous;
        self.z = Some(z);
        let spread = self.sigma * (self.lambda / (2.0 - self.lambda)).sqrt();
        (z - self.centre).abs() / spread
    }

    fn warm_up_rows(&self) -> usize {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_sustained_shift_grows_the_score() {
        let mut col = EwmaColumn::new(0.1, 50);
        let noise = |i: i32| f64::from((i * 7919) % 13) / 13.0 - 0.5;
        let train: Vec<f64> = (0..500).map(noise).collect();
        col.fit(&train).unwrap();
        let before: f64 = (0..200).map(|i| col.update(noise(i))).fold(0.0, f64::max);
        let after: Vec<f64> = (200..260).map(|i| col.update(noise(i) + 0.6)).collect();
        assert!(
            after[50] > 2.0 * before,
            "before {before} after {}",
            after[50]
        );
    }

    #[test]
    fn robust_scale_ignores_an_outlier() {
        let mut values: Vec<f64> = (0..1000)
            .map(|i| (f64::from(i) * 0.05).sin() * 10.0)
            .collect();
        values[500] = 1e6;
        let (centre, sigma) = robust_location_scale(&values).unwrap();
        assert!(centre.abs() < 1.0, "{centre}");
        assert!(sigma > 5.0 && sigma < 15.0, "{sigma}");
        assert!(robust_location_scale(&[1.0, f64::NAN]).is_none());
        assert!(robust_location_scale(&[2.0; 10]).unwrap().1 > 0.0);
    }

    #[test]
    fn median_even_and_odd() {
        assert!((median(&mut [3.0, 1.0, 2.0]) - 2.0).abs() < 1e-12);
        assert!((median(&mut [4.0, 1.0, 3.0, 2.0]) - 2.5).abs() < 1e-12);
        assert!(median(&mut []).is_nan());
    }
}
