//! One-class SVM on sliding windows (linfa-svm, RBF kernel). The SVM learns the support of
//! normal training windows; a window's score is how far it lies outside that support
//! (`rho - Σ αᵢ K(xᵢ, x)`, > 0 outside). Unlike the original's SVM, the scaler is fitted on the
//! training rows only and the training windows are subsampled evenly (at most `max_train`), so
//! the kernel matrix stays small and fitting takes well under a second by default. linfa builds
//! the whole dense kernel (n² pairs, one thread) before solving: at `max_train` = 10k windows of
//! 100 values that is ~20 s of CPU (see `docs/DETECTORS.md`, "Learned detectors"). Scoring uses
//! a copy of the support vectors and a vectorised RBF sum instead of linfa's `weighted_sum`.
//!
//! Values in a window are weighted by recency (`half_life` rows halve a weight): with equal
//! weights an RBF kernel saturates, and every window that contains a spike scores the same, so
//! the spike's own row is not singled out; with recency weights the newest row dominates.

use linfa::dataset::DatasetBase;
use linfa::traits::Fit as _;
use linfa_svm::Svm;
use ndarray::{Array2, ArrayView1};
use serde::{Deserialize, Serialize};

use super::super::registry::DetectorEntry;
use super::super::{DetectError, Detector, DetectorInfo, Family};
use super::window::{WindowDetector, WindowModel};
use crate::control::CancelToken;
use crate::model::{ParamKind, ParamSpec, Params};

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "window",
        kind: ParamKind::Int {
            min: 1,
            max: 4096,
            default: 32,
        },
        help: "Rows per sub-sequence; the window ending at a row scores that row.",
    },
    ParamSpec {
        name: "nu",
        kind: ParamKind::Float {
            min: 0.001,
            max: 1.0,
            default: 0.05,
        },
        help: "Upper bound on the fraction of training windows treated as outliers.",
    },
    ParamSpec {
        name: "gamma",
        kind: ParamKind::Float {
            min: 0.0,
            max: 1000.0,
            default: 0.0,
        },
        help: "RBF kernel width exp(-gamma·|x-y|²); 0 = 1 / (window · columns), sklearn's 'scale' on standardised data.",
    },
    ParamSpec {
        name: "max_train",
        kind: ParamKind::Int {
            min: 10,
            max: 100_000,
            default: 1000,
        },
        help: "At most this many training windows (evenly spaced) are used to fit.",
    },
    ParamSpec {
        name: "half_life",
        kind: ParamKind::Int {
            min: 0,
            max: 4096,
            default: 4,
        },
        help: "Rows over which a value's weight in the window halves (0 = all rows weigh the same).",
    },
];

static INFO: DetectorInfo = DetectorInfo {
    id: "ocsvm",
    name: "One-class SVM (windows)",
    family: Family::Learned,
    multivariate: true,
    streaming: true,
    description: "A one-class SVM with an RBF kernel learns the region of normal standardised \
                  sub-sequences; the score is the distance outside it. Catches shape and level \
                  anomalies; training cost grows with the square of `max_train`.",
    params: PARAMS,
};

/// Registry entry.
pub(in crate::detect) const ENTRY: DetectorEntry = DetectorEntry { info: &INFO, build };

#[expect(
    clippy::unnecessary_wraps,
    reason = "the registry's build signature is fallible"
)]
fn build(params: &Params, _seed: u64) -> Result<Box<dyn Detector>, DetectError> {
    Ok(Box::new(
        OneClassSvm::new(
            params.usize("window"),
            params.float("nu"),
            params.float("gamma"),
            params.usize("max_train"),
        )
        .with_half_life(params.usize("half_life")),
    ))
}

/// One-class SVM window detector (see module docs).
pub type OneClassSvm = WindowDetector<SvmModel>;

impl OneClassSvm {
    /// A detector over windows of `window` rows; `gamma = 0` picks `1 / (window · columns)`.
    pub fn new(window: usize, nu: f64, gamma: f64, max_train: usize) -> Self {
        WindowDetector::from_parts(
            &INFO,
            window,
            max_train,
            SvmConfig {
                nu,
                gamma,
                half_life: 4,
            },
        )
    }

    /// Recency weighting: a value's weight halves every `half_life` rows back (0 = none).
    #[must_use]
    pub fn with_half_life(mut self, half_life: usize) -> Self {
        self.config_mut().half_life = half_life;
        self
    }

    /// Number of support vectors of the fitted model (0 before `fit`).
    pub fn support_vectors(&self) -> usize {
        self.model().map_or(0, |m| m.svm.nsupport())
    }
}

/// Hyper-parameters of [`SvmModel`].
#[derive(Clone, Debug)]
pub struct SvmConfig {
    nu: f64,
    gamma: f64,
    half_life: usize,
}

/// The fitted SVM (linfa's type, kept private), plus a copy of its support vectors laid out for
/// fast scoring (linfa keeps them private).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SvmModel {
    svm: Svm<f64, bool>,
    /// One weight per window value (recency).
    weights: Vec<f64>,
    /// RBF width: `K(x, s) = exp(-gamma·|x - s|²)`.
    #[serde(default)]
    gamma: f64,
    /// Support vectors (weighted windows), row-major; empty in states saved before they were
    /// kept, which then score through linfa's `weighted_sum`.
    #[serde(default)]
    support: Vec<f64>,
    /// The dual coefficient `αᵢ` of each support vector.
    #[serde(default)]
    coef: Vec<f64>,
}

/// Solver tolerance: libsvm's (and so scikit-learn's and PyOD's) default `tol`; linfa's own
/// default (1e-7) iterates far past what changes a score.
const SOLVER_EPS: f64 = 1e-3;

/// `Σ (w·x - s)²` over one window `x`, recency weights `w` and support vector `s`, with eight
/// independent accumulators so that the compiler vectorises it.
#[inline]
fn weighted_sq_distance(x: &[f64], w: &[f64], s: &[f64]) -> f64 {
    let mut acc = [0.0f64; 8];
    let (cx, cw, cs) = (x.chunks_exact(8), w.chunks_exact(8), s.chunks_exact(8));
    let (rx, rw, rs) = (cx.remainder(), cw.remainder(), cs.remainder());
    for ((x, w), s) in cx.zip(cw).zip(cs) {
        for lane in 0..8 {
            let d = x[lane] * w[lane] - s[lane];
            acc[lane] += d * d;
        }
    }
    let mut sum = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for ((x, w), s) in rx.iter().zip(rw).zip(rs) {
        let d = x * w - s;
        sum += d * d;
    }
    sum
}

/// Recency weights for a window of `dim` values, `width` per row.
fn recency_weights(dim: usize, width: usize, half_life: usize) -> Vec<f64> {
    let rows = dim / width.max(1);
    (0..dim)
        .map(|i| {
            if half_life == 0 {
                return 1.0;
            }
            let age = rows.saturating_sub(1 + i / width.max(1));
            0.5_f64.powf(age as f64 / half_life as f64)
        })
        .collect()
}

impl WindowModel for SvmModel {
    type Config = SvmConfig;

    fn fit(
        config: &SvmConfig,
        windows: &[f64],
        n: usize,
        dim: usize,
        width: usize,
        cancel: &CancelToken,
    ) -> Result<Self, DetectError> {
        if cancel.is_cancelled() {
            return Err(DetectError::Cancelled);
        }
        let backend = |message: String| DetectError::Backend {
            detector: INFO.id,
            message,
        };
        let weights = recency_weights(dim, width, config.half_life);
        let weighted: Vec<f64> = windows
            .chunks_exact(dim)
            .flat_map(|w| w.iter().zip(&weights).map(|(x, k)| x * k))
            .collect();
        let records =
            Array2::from_shape_vec((n, dim), weighted).map_err(|e| backend(e.to_string()))?;
        // sklearn's gamma = 'scale' for standardised, weighted features: 1 / Σ weight².
        let gamma = if config.gamma > 0.0 {
            config.gamma
        } else {
            1.0 / weights.iter().map(|k| k * k).sum::<f64>().max(1e-12)
        };
        // linfa's Gaussian kernel is exp(-|x-y|² / eps).
        let nu = config.nu.clamp(1e-3, 1.0);
        // No shrinking: linfa 0.8's `solve` maps alphas back as `alpha[active_set[i]]`, right
        // only when its swap permutation is its own inverse, which shrinking need not keep.
        let dataset = DatasetBase::from(records);
        let svm = Svm::<f64, linfa::dataset::Pr>::params()
            .nu_weight(nu)
            .gaussian_kernel(1.0 / gamma)
            .eps(SOLVER_EPS)
            .fit(&dataset)
            .map_err(|e| backend(e.to_string()))?;
        if !svm.rho.is_finite() || svm.alpha.iter().any(|a| !a.is_finite()) {
            return Err(backend(
                "the SVM solver did not converge to finite values".to_owned(),
            ));
        }
        // linfa's support vectors are the training rows whose |α| passes this cut (its
        // `nsupport` / `weighted_sum` rule), in training order.
        let (mut support, mut coef) = (Vec::new(), Vec::new());
        if svm.alpha.len() == n {
            for (row, &a) in dataset.records().outer_iter().zip(&svm.alpha) {
                if a.abs() > 100.0 * f64::EPSILON {
                    support.extend(row.iter());
                    coef.push(a);
                }
            }
        }
        Ok(Self {
            svm,
            weights,
            gamma,
            support,
            coef,
        })
    }

    fn score(&self, window: &[f64]) -> f64 {
        if !self.coef.is_empty() && window.len() == self.weights.len() {
            let sum: f64 = self
                .support
                .chunks_exact(window.len())
                .zip(&self.coef)
                .map(|(s, a)| {
                    a * (-self.gamma * weighted_sq_distance(window, &self.weights, s)).exp()
                })
                .sum();
            return self.svm.rho - sum;
        }
        let weighted: Vec<f64> = window
            .iter()
            .zip(&self.weights)
            .map(|(x, k)| x * k)
            .collect();
        self.svm.rho
            - self
                .svm
                .weighted_sum(&ArrayView1::from(weighted.as_slice()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::persist::Persist as _;
    use crate::testing::{seasonal_series, seasonal_with_anomalies};

    #[test]
    fn flags_the_spike_window_and_round_trips() {
        let train = seasonal_series(400, 25, 0.05, 1);
        let test = seasonal_with_anomalies(300, 25, 200, 0..0, 2);
        let mut det = OneClassSvm::new(10, 0.05, 0.0, 300);
        det.fit(&train, &CancelToken::new()).unwrap();
        assert!(det.support_vectors() > 0);
        let scores = det.score_series(&test, &CancelToken::new()).unwrap();
        assert!(scores[..9].iter().all(|s| s.is_nan()));
        let normal = scores[9..190].iter().copied().fold(f64::MIN, f64::max);
        assert!(scores[200] > normal, "{} vs {normal}", scores[200]);

        let mut loaded = OneClassSvm::new(3, 0.5, 0.0, 10);
        loaded.load_state(&det.save_state().unwrap()).unwrap();
        assert_eq!(loaded.window(), 10);
        let again = loaded.score_series(&test, &CancelToken::new()).unwrap();
        crate::testing::assert_all_close(&again, &scores, 0.0);
    }

    /// The vectorised decision function equals linfa's `weighted_sum` (up to summation order).
    #[test]
    fn fast_scoring_matches_linfa() {
        let train = seasonal_series(300, 25, 0.05, 3);
        let mut det = OneClassSvm::new(8, 0.1, 0.0, 300);
        det.fit(&train, &CancelToken::new()).unwrap();
        let fast = det.model().unwrap().clone();
        assert_eq!(fast.coef.len(), fast.svm.nsupport());
        assert_eq!(fast.support.len(), fast.coef.len() * 8);
        let slow = SvmModel {
            support: Vec::new(),
            coef: Vec::new(),
            ..fast.clone()
        };
        for k in 0..50_u32 {
            let window: Vec<f64> = (0..8_u32)
                .map(|i| (f64::from(k * 8 + i) * 0.37).sin() * (1.0 + f64::from(k) / 10.0))
                .collect();
            let (a, b) = (fast.score(&window), slow.score(&window));
            assert!((a - b).abs() <= 1e-9 * (1.0 + b.abs()), "{k}: {a} vs {b}");
        }
    }

    #[test]
    fn unfitted_is_an_error() {
        let mut det = OneClassSvm::new(4, 0.1, 0.0, 100);
        let series = seasonal_series(20, 5, 0.0, 0);
        assert!(matches!(
            det.score_series(&series, &CancelToken::new()),
            Err(DetectError::Input { .. })
        ));
        assert!(det.save_state().is_err());
    }
}
