//! HBOS, histogram-based outlier score (Goldstein and Dengel 2012): `fit` builds one
//! equal-width histogram per column; a value's score is `-ln(h + α)` where `h` is the height
//! of its bin relative to the tallest bin, so values in rare ranges score high. Columns are
//! combined by mean by default (HBOS sums the per-feature log-densities, the mean orders rows
//! the same way). Values outside the training range score like an empty bin plus
//! `ln(1 + distance in bin widths)`, so farther is worse.
//!
//! It ignores time order entirely: it catches values that are rare overall (spikes, a level
//! shift to an unusual range), not values unusual for their context.

use super::columns::{COMBINE_MEAN, Combine, PerColumn, Univariate};
use super::registry::DetectorEntry;
use super::{DetectError, Detector, DetectorInfo, Family};
use crate::model::{ParamKind, ParamSpec, Params};

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "bins",
        kind: ParamKind::Int {
            min: 0,
            max: 10_000,
            default: 0,
        },
        help: "Number of histogram bins per column; 0 = √n clamped to 10..=50.",
    },
    ParamSpec {
        name: "alpha",
        kind: ParamKind::Float {
            min: 1e-9,
            max: 1.0,
            default: 1e-3,
        },
        help: "Regulariser added to the relative bin height before the logarithm (the score of \
               an empty bin is -ln(alpha)).",
    },
    COMBINE_MEAN,
];

static INFO: DetectorInfo = DetectorInfo {
    id: "hbos",
    name: "HBOS (histogram)",
    family: Family::Statistical,
    multivariate: false,
    streaming: true,
    description: "-log of the fitted histogram density of each value, per column. Catches values \
                  that are rare overall (spikes, shifts into unusual ranges); blind to context. \
                  Fitted in `fit`.",
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
        HbosColumn::new(params.usize("bins"), params.float("alpha")),
        Combine::from_param(params.text("combine")),
    )))
}

/// Values a streamed, unfitted HBOS learns its histogram from.
const BOOTSTRAP_ROWS: usize = 500;

/// One column's fitted histogram.
#[derive(Clone, Debug)]
pub struct HbosColumn {
    bins: usize,
    alpha: f64,
    low: f64,
    width: f64,
    /// `-ln(relative height + alpha)` per bin.
    scores: Vec<f64>,
}

impl HbosColumn {
    /// Unfitted: `bins` (0 = auto) and regulariser `alpha`.
    pub fn new(bins: usize, alpha: f64) -> Self {
        Self {
            bins,
            alpha: alpha.max(1e-300),
            low: 0.0,
            width: 1.0,
            scores: Vec::new(),
        }
    }
}

impl Univariate for HbosColumn {
    fn fit(&mut self, train: &[f64]) -> Result<(), String> {
        let finite: Vec<f64> = train.iter().copied().filter(|x| x.is_finite()).collect();
        if finite.len() < 2 {
            return Err("needs at least 2 finite training values".into());
        }
        let bins = match self.bins {
            0 => ((finite.len() as f64).sqrt().ceil() as usize).clamp(10, 50),
            b => b,
        };
        let (low, high) = finite
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
                (lo.min(x), hi.max(x))
            });
        let span = high - low;
        let width = if span > 0.0 {
            span / bins as f64
        } else {
            1e-9 * (low.abs() + 1.0)
        };
        let mut counts = vec![0usize; bins];
        for &x in &finite {
            let bin = (((x - low) / width) as usize).min(bins - 1);
            counts[bin] += 1;
        }
        let tallest = counts.iter().copied().max().unwrap_or(1).max(1) as f64;
        self.scores = counts
            .iter()
            .map(|&c| -(c as f64 / tallest + self.alpha).ln())
            .collect();
        self.low = low;
        self.width = width;
        Ok(())
    }

    fn bootstrap_rows(&self) -> Option<usize> {
        Some(BOOTSTRAP_ROWS)
    }

    fn reset(&mut self) {}

    #[inline]
    fn update(&mut self, x: f64) -> f64 {
        if !x.is_finite() || self.scores.is_empty() {
            return f64::NAN;
        }
        let position = (x - self.low) / self.width;
        let bins = self.scores.len() as f64;
        if position < 0.0 {
            -self.alpha.ln() + (-position).ln_1p()
        } else if position > bins {
            -self.alpha.ln() + (position - bins).ln_1p()
        } else {
            self.scores[(position as usize).min(self.scores.len() - 1)]
        }
    }

    fn warm_up_rows(&self) -> usize {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rare_values_score_higher_and_outside_grows() {
        let mut train: Vec<f64> = (0..1000).map(|i| f64::from(i % 10) / 10.0).collect();
        train.extend([5.0, 5.0]);
        let mut col = HbosColumn::new(10, 1e-3);
        col.fit(&train).unwrap();
        let common = col.update(0.3);
        let rare = col.update(5.0);
        let empty = col.update(2.5);
        assert!(rare > common && empty > rare, "{common} {rare} {empty}");
        assert!(col.update(20.0) > col.update(8.0));
        assert!(col.update(-20.0) > col.update(-1.0));
        assert!(col.update(f64::NAN).is_nan());
    }

    #[test]
    fn constant_training_does_not_divide_by_zero() {
        let mut col = HbosColumn::new(0, 1e-3);
        col.fit(&[2.0; 100]).unwrap();
        assert!(col.update(2.0).is_finite());
        assert!(col.update(3.0) > col.update(2.0));
        assert!(HbosColumn::new(0, 1e-3).fit(&[f64::NAN; 4]).is_err());
    }
}
