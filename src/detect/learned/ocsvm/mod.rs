//! One-class SVM on sliding windows (RBF kernel). The SVM learns the support of normal
//! training windows; a window's score is how far it lies outside that support
//! (`rho - Σ αᵢ K(xᵢ, x)`, > 0 outside). Unlike the original's SVM, the scaler is fitted on the
//! training rows only and the training windows are subsampled evenly (at most `max_train`).
//!
//! Fitting uses our own SMO solver ([`solver`], libsvm's one-class algorithm, so the model is
//! scikit-learn's / PyOD's) with kernel rows computed on demand ([`kernel`], vectorised in
//! [`simd`]) and kept in a bounded cache. linfa-svm 0.8 stays available as `solver = linfa`,
//! for cross-checking: it builds the whole dense kernel (n² pairs, one thread) before solving,
//! ~20 s of CPU at 10k windows of 100 values against ~0.3 s here (`docs/DETECTORS.md`,
//! "Learned detectors"), and its kernel trait and one-class fit are private, so it cannot be
//! given on-demand rows. Both solvers stop at libsvm's tolerance 1e-3 and give the same model
//! (unit-tested). Scoring is a vectorised RBF sum over a copy of the support vectors, the same
//! function for batch and streaming scores.
//!
//! Values in a window are weighted by recency (`half_life` rows halve a weight): with equal
//! weights an RBF kernel saturates, and every window that contains a spike scores the same, so
//! the spike's own row is not singled out; with recency weights the newest row dominates.

mod cache;
mod kernel;
mod scoring;
mod simd;
mod slide;
mod solver;

use linfa::dataset::DatasetBase;
use linfa::traits::Fit as _;
use linfa_svm::Svm;
use ndarray::{Array2, ArrayView1};
use serde::{Deserialize, Serialize};

use self::slide::Slide;
use self::solver::{SmoError, SmoParams};

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
    ParamSpec {
        name: "solver",
        kind: ParamKind::Choice {
            options: &["smo", "linfa"],
            default: "smo",
        },
        help: "smo: our libsvm-style solver, kernel rows on demand (fast); linfa: linfa-svm, \
               which builds the whole n² kernel first (slow; for cross-checking).",
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
        .with_half_life(params.usize("half_life"))
        .with_solver(if params.text("solver") == "linfa" {
            SvmSolver::Linfa
        } else {
            SvmSolver::Smo
        }),
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
                solver: SvmSolver::Smo,
            },
        )
    }

    /// Recency weighting: a value's weight halves every `half_life` rows back (0 = none).
    #[must_use]
    pub fn with_half_life(mut self, half_life: usize) -> Self {
        self.config_mut().half_life = half_life;
        self
    }

    /// Which solver fits the SVM (both give the same model; see the module docs).
    #[must_use]
    pub fn with_solver(mut self, solver: SvmSolver) -> Self {
        self.config_mut().solver = solver;
        self
    }

    /// Number of support vectors of the fitted model (0 before `fit`).
    pub fn support_vectors(&self) -> usize {
        self.model().map_or(0, |m| match &m.svm {
            Some(svm) if m.coef.is_empty() => svm.nsupport(),
            _ => m.coef.len(),
        })
    }
}

/// The solver that fits a [`OneClassSvm`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SvmSolver {
    /// Our libsvm-style SMO with on-demand, cached kernel rows (the default).
    #[default]
    Smo,
    /// linfa-svm 0.8 (dense kernel built first; slow at large `max_train`).
    Linfa,
}

/// Hyper-parameters of [`SvmModel`].
#[derive(Clone, Debug)]
pub struct SvmConfig {
    nu: f64,
    gamma: f64,
    half_life: usize,
    solver: SvmSolver,
}

/// The fitted SVM: the support vectors (weighted windows), their dual coefficients and the
/// offset, whichever solver found them.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SvmModel {
    /// One weight per window value (recency).
    weights: Vec<f64>,
    /// RBF width: `K(x, s) = exp(-gamma·|x - s|²)`.
    #[serde(default)]
    gamma: f64,
    /// Offset: score = `rho - Σ αᵢ K(sᵢ, x)`.
    #[serde(default)]
    rho: f64,
    /// Support vectors (weighted windows), row-major.
    #[serde(default)]
    support: Vec<f64>,
    /// The dual coefficient `αᵢ` of each support vector.
    #[serde(default)]
    coef: Vec<f64>,
    /// linfa's model, only in states saved before our solver existed (their `rho`, and their
    /// support vectors when `support` is empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    svm: Option<Svm<f64, bool>>,
}

/// Solver tolerance: libsvm's (and so scikit-learn's and PyOD's) default `tol`; linfa's own
/// default (1e-7) iterates far past what changes a score.
const SOLVER_EPS: f64 = 1e-3;

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

impl SvmModel {
    /// The offset (linfa's, in states saved by linfa fits).
    fn rho(&self) -> f64 {
        self.svm.as_ref().map_or(self.rho, |svm| svm.rho)
    }
}

/// Support vectors `(rows, alphas, rho)` found by our solver.
fn fit_smo(
    records: &[f64],
    n: usize,
    dim: usize,
    gamma: f64,
    nu: f64,
    slide: Option<Slide>,
    cancel: &CancelToken,
) -> Result<(Vec<f64>, Vec<f64>, f64), DetectError> {
    let params = SmoParams {
        nu,
        eps: SOLVER_EPS,
        ..SmoParams::default()
    };
    let solution =
        solver::solve(records, n, dim, gamma, slide, &params, cancel).map_err(|e| match e {
            SmoError::Cancelled => DetectError::Cancelled,
            other => DetectError::Input {
                detector: INFO.id,
                message: other.to_string(),
            },
        })?;
    let runs = solution
        .alpha
        .windows(2)
        .filter(|pair| pair[1] > 0.0 && pair[0] <= 0.0)
        .count()
        + usize::from(solution.alpha.first().is_some_and(|&a| a > 0.0));
    log::debug!(
        "ocsvm: {n} windows, {} SMO iterations, {} kernel rows computed, {runs} runs of support vectors",
        solution.iterations,
        solution.rows_computed
    );
    let (mut support, mut coef) = (Vec::new(), Vec::new());
    for (row, &a) in records.chunks_exact(dim).zip(&solution.alpha) {
        if a > 0.0 {
            support.extend_from_slice(row);
            coef.push(a);
        }
    }
    Ok((support, coef, solution.rho))
}

/// Support vectors `(rows, alphas, rho)` found by linfa-svm.
fn fit_linfa(
    records: Vec<f64>,
    n: usize,
    dim: usize,
    gamma: f64,
    nu: f64,
) -> Result<(Vec<f64>, Vec<f64>, f64), DetectError> {
    let backend = |message: String| DetectError::Backend {
        detector: INFO.id,
        message,
    };
    let records = Array2::from_shape_vec((n, dim), records).map_err(|e| backend(e.to_string()))?;
    // linfa's Gaussian kernel is exp(-|x-y|² / eps). No shrinking: linfa 0.8's `solve` maps
    // alphas back as `alpha[active_set[i]]`, right only when its swap permutation is its own
    // inverse, which shrinking need not keep.
    let dataset = DatasetBase::from(records);
    let svm = Svm::<f64, linfa::dataset::Pr>::params()
        .nu_weight(nu)
        .gaussian_kernel(1.0 / gamma)
        .eps(SOLVER_EPS)
        .fit(&dataset)
        .map_err(|e| backend(e.to_string()))?;
    if !svm.rho.is_finite() || svm.alpha.len() != n || svm.alpha.iter().any(|a| !a.is_finite()) {
        return Err(backend(
            "the SVM solver did not converge to finite values".to_owned(),
        ));
    }
    // linfa's support vectors are the training rows whose |α| passes this cut (its
    // `nsupport` / `weighted_sum` rule), in training order.
    let (mut support, mut coef) = (Vec::new(), Vec::new());
    for (row, &a) in dataset.records().outer_iter().zip(&svm.alpha) {
        if a.abs() > 100.0 * f64::EPSILON {
            support.extend(row.iter());
            coef.push(a);
        }
    }
    Ok((support, coef, svm.rho))
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
        let weights = recency_weights(dim, width, config.half_life);
        let weighted: Vec<f64> = windows
            .chunks_exact(dim)
            .flat_map(|w| w.iter().zip(&weights).map(|(x, k)| x * k))
            .collect();
        // sklearn's gamma = 'scale' for standardised, weighted features: 1 / Σ weight².
        let gamma = if config.gamma > 0.0 {
            config.gamma
        } else {
            1.0 / weights.iter().map(|k| k * k).sum::<f64>().max(1e-12)
        };
        let nu = config.nu.clamp(1e-3, 1.0);
        let (support, coef, rho) = match config.solver {
            SvmSolver::Smo => {
                let slide = Slide::detect(windows, n, dim, width, &weights);
                fit_smo(&weighted, n, dim, gamma, nu, slide, cancel)?
            }
            SvmSolver::Linfa => fit_linfa(weighted, n, dim, gamma, nu)?,
        };
        Ok(Self {
            weights,
            gamma,
            rho,
            support,
            coef,
            svm: None,
        })
    }

    fn score(&self, window: &[f64]) -> f64 {
        let mut score = [0.0];
        self.score_many(&[window], &mut score);
        score[0]
    }

    fn score_many(&self, windows: &[&[f64]], out: &mut [f64]) {
        let dim = self.weights.len();
        let count = windows.len().min(out.len());
        let weighted: Vec<f64> = windows[..count]
            .iter()
            .flat_map(|w| w.iter().zip(&self.weights).map(|(x, k)| x * k))
            .collect();
        let out = &mut out[..count];
        match &self.svm {
            // States saved by linfa fits score through linfa's model.
            Some(svm) if self.coef.is_empty() => {
                for (k, score) in out.iter_mut().enumerate() {
                    let window = &weighted[k * dim..(k + 1) * dim];
                    *score = svm.rho - svm.weighted_sum(&ArrayView1::from(window));
                }
            }
            _ => {
                scoring::rbf_sums(&weighted, dim, &self.support, &self.coef, self.gamma, out);
                for score in out {
                    *score = self.rho() - *score;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
