//! Sub-sequence PCA reconstruction error, the best univariate method in TSB-AD. The principal
//! sub-space of standardised training windows is learned once; a window's score is the squared
//! distance between it and its projection onto that sub-space, divided by the mean over the
//! training windows (so ~1 is typical).
//!
//! The components come from a symmetric eigendecomposition of the window covariance
//! (linfa-linalg, the linear algebra under linfa). linfa-reduction 0.8's `Pca` was tried first:
//! its randomised LOBPCG panics ("NaN values in array") on the low-rank window matrices that
//! smooth seasonal data produce, which is the common case here.

use linfa_linalg::eigh::Eigh as _;
use ndarray::{Array2, Axis};
use serde::{Deserialize, Serialize};

use super::super::registry::DetectorEntry;
use super::super::{DetectError, Detector, DetectorInfo, Family};
use super::window::{SCORE_ON, WindowDetector, WindowModel};
use crate::control::CancelToken;
use crate::model::{ParamKind, ParamSpec, Params};

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "window",
        kind: ParamKind::Int {
            min: 2,
            max: 4096,
            default: 32,
        },
        help: "Rows per sub-sequence; the window ending at a row scores that row.",
    },
    ParamSpec {
        name: "components",
        kind: ParamKind::Int {
            min: 1,
            max: 256,
            default: 4,
        },
        help: "Principal components kept (clamped below window · columns).",
    },
    ParamSpec {
        name: "max_train",
        kind: ParamKind::Int {
            min: 10,
            max: 1_000_000,
            default: 20_000,
        },
        help: "At most this many training windows (evenly spaced) are used.",
    },
    SCORE_ON,
];

static INFO: DetectorInfo = DetectorInfo {
    id: "pca_subsequence",
    name: "Sub-sequence PCA reconstruction",
    family: Family::Learned,
    multivariate: true,
    streaming: true,
    description: "Projects each standardised sub-sequence onto the principal components of the \
                  training windows; the score is the reconstruction error. TSB-AD's best \
                  univariate method; catches shape changes, spikes and level shifts.",
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
        PcaReconstruction::new(
            params.usize("window"),
            params.usize("components"),
            params.usize("max_train"),
        )
        .with_last_only(params.text("score_on") == "last"),
    ))
}

/// Sub-sequence PCA detector (see module docs).
pub type PcaReconstruction = WindowDetector<PcaModel>;

impl PcaReconstruction {
    /// A detector over windows of `window` rows keeping `components` principal components.
    pub fn new(window: usize, components: usize, max_train: usize) -> Self {
        WindowDetector::from_parts(
            &INFO,
            window,
            max_train,
            PcaConfig {
                components: components.max(1),
                last_only: true,
            },
        )
    }

    /// Scores each row by its own residual (true, the default) or the whole window's.
    #[must_use]
    pub fn with_last_only(mut self, last_only: bool) -> Self {
        self.config_mut().last_only = last_only;
        self
    }
}

/// Hyper-parameters of [`PcaModel`].
#[derive(Clone, Debug)]
pub struct PcaConfig {
    components: usize,
    last_only: bool,
}

/// Training mean, orthonormal components (row-major `k × dim`) and the training mean error.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PcaModel {
    mean: Vec<f64>,
    components: Vec<f64>,
    /// Values of the residual that count: the newest row's (`width`) or all.
    tail: usize,
    scale: f64,
}

impl PcaModel {
    fn error(&self, window: &[f64]) -> f64 {
        let dim = self.mean.len();
        let centered: Vec<f64> = window.iter().zip(&self.mean).map(|(x, m)| x - m).collect();
        let mut residual = centered.clone();
        for v in self.components.chunks_exact(dim) {
            let p: f64 = v.iter().zip(&centered).map(|(a, b)| a * b).sum();
            for (r, a) in residual.iter_mut().zip(v) {
                *r -= p * a;
            }
        }
        let from = dim.saturating_sub(self.tail);
        residual[from..].iter().map(|r| r * r).sum()
    }
}

impl WindowModel for PcaModel {
    type Config = PcaConfig;

    fn fit(
        config: &PcaConfig,
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
        if n < 2 {
            return Err(DetectError::Input {
                detector: INFO.id,
                message: format!("PCA needs at least 2 training windows, got {n}"),
            });
        }
        let k = config
            .components
            .min(dim.saturating_sub(1))
            .min(n - 1)
            .max(1);
        let records = Array2::from_shape_vec((n, dim), windows.to_vec())
            .map_err(|e| backend(e.to_string()))?;
        let mean = records
            .mean_axis(Axis(0))
            .ok_or_else(|| backend("no training windows".to_owned()))?;
        let centered = &records - &mean;
        let covariance = centered.t().dot(&centered) / (n - 1) as f64;
        if covariance.iter().any(|v| !v.is_finite()) {
            return Err(backend("the window covariance is not finite".to_owned()));
        }
        if cancel.is_cancelled() {
            return Err(DetectError::Cancelled);
        }
        let (values, vectors) = covariance.eigh().map_err(|e| backend(e.to_string()))?;
        // Largest eigenvalues first; ties broken by index so the order is deterministic.
        let mut order: Vec<usize> = (0..values.len()).collect();
        order.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));
        let components: Vec<f64> = order[..k]
            .iter()
            .flat_map(|&j| vectors.column(j).to_vec())
            .collect();
        let mean: Vec<f64> = mean.to_vec();
        if components.len() != k * dim || components.iter().chain(&mean).any(|v| !v.is_finite()) {
            return Err(backend(
                "PCA produced an unexpected or non-finite basis".to_owned(),
            ));
        }
        let mut model = Self {
            mean,
            components,
            tail: if config.last_only { width } else { dim },
            scale: 1.0,
        };
        let mean_error = windows
            .chunks_exact(dim)
            .map(|w| model.error(w))
            .sum::<f64>()
            / n as f64;
        model.scale = if mean_error > 1e-12 { mean_error } else { 1.0 };
        Ok(model)
    }

    fn score(&self, window: &[f64]) -> f64 {
        self.error(window) / self.scale
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::persist::Persist as _;
    use crate::testing::{assert_all_close, seasonal_series, seasonal_with_anomalies};

    #[test]
    fn spike_and_shift_score_high_and_round_trip() {
        let train = seasonal_series(600, 24, 0.05, 5);
        let test = seasonal_with_anomalies(400, 24, 150, 300..320, 6);
        let mut det = PcaReconstruction::new(24, 3, 5000);
        det.fit(&train, &CancelToken::new()).unwrap();
        let scores = det.score_series(&test, &CancelToken::new()).unwrap();
        assert!(scores[..23].iter().all(|s| s.is_nan()));
        let normal = scores[23..145].iter().copied().fold(f64::MIN, f64::max);
        assert!(scores[150] > 3.0 * normal, "{} vs {normal}", scores[150]);
        assert!(scores[300] > 3.0 * normal);
        let mut loaded = PcaReconstruction::new(5, 1, 10);
        loaded.load_state(&det.save_state().unwrap()).unwrap();
        assert_all_close(
            &loaded.score_series(&test, &CancelToken::new()).unwrap(),
            &scores,
            0.0,
        );
    }

    #[test]
    fn tiny_windows_clamp_components() {
        let train = seasonal_series(100, 10, 0.1, 1);
        let mut det = PcaReconstruction::new(2, 8, 100);
        det.fit(&train, &CancelToken::new()).unwrap();
        let scores = det.score_series(&train, &CancelToken::new()).unwrap();
        assert!(scores[1..].iter().all(|s| s.is_finite()));
    }
}
