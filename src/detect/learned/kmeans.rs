//! k-means sub-sequence distance (linfa-clustering): training windows are clustered into `k`
//! shapes; a window's score is its distance to the nearest centroid, divided by the mean such
//! distance over the training windows (so ~1 is typical, ≫ 1 is a shape never seen in training).

use linfa::dataset::DatasetBase;
use linfa::traits::Fit as _;
use linfa_clustering::KMeans;
use ndarray::Array2;
use rand_xoshiro::Xoshiro256Plus;
use rand_xoshiro::rand_core::SeedableRng as _;
use serde::{Deserialize, Serialize};

use super::super::registry::DetectorEntry;
use super::super::{DetectError, Detector, DetectorInfo, Family};
use super::window::{SCORE_ON, WindowDetector, WindowModel, nearest_index, tail_squared_distance};
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
        name: "clusters",
        kind: ParamKind::Int {
            min: 1,
            max: 256,
            default: 8,
        },
        help: "Number of k-means centroids (typical shapes).",
    },
    ParamSpec {
        name: "max_train",
        kind: ParamKind::Int {
            min: 10,
            max: 1_000_000,
            default: 2000,
        },
        help: "At most this many training windows (evenly spaced) are clustered.",
    },
    SCORE_ON,
];

static INFO: DetectorInfo = DetectorInfo {
    id: "kmeans_subsequence",
    name: "k-means sub-sequence distance",
    family: Family::Learned,
    multivariate: true,
    streaming: true,
    description: "Clusters standardised training sub-sequences with k-means; the score is the \
                  distance of each window to its nearest centroid relative to the training mean. \
                  Catches shapes unlike any seen in training.",
    params: PARAMS,
};

/// Registry entry.
pub(in crate::detect) const ENTRY: DetectorEntry = DetectorEntry { info: &INFO, build };

#[expect(
    clippy::unnecessary_wraps,
    reason = "the registry's build signature is fallible"
)]
fn build(params: &Params, seed: u64) -> Result<Box<dyn Detector>, DetectError> {
    Ok(Box::new(
        KMeansDistance::new(
            params.usize("window"),
            params.usize("clusters"),
            params.usize("max_train"),
            seed,
        )
        .with_last_only(params.text("score_on") == "last"),
    ))
}

/// k-means sub-sequence detector (see module docs).
pub type KMeansDistance = WindowDetector<KMeansModel>;

impl KMeansDistance {
    /// A detector over windows of `window` rows with `clusters` centroids, seeded.
    pub fn new(window: usize, clusters: usize, max_train: usize, seed: u64) -> Self {
        WindowDetector::from_parts(
            &INFO,
            window,
            max_train,
            KMeansConfig {
                clusters: clusters.max(1),
                seed,
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

/// Hyper-parameters of [`KMeansModel`].
#[derive(Clone, Debug)]
pub struct KMeansConfig {
    clusters: usize,
    seed: u64,
    last_only: bool,
}

/// Fitted centroids (row-major `k × dim`) and the training mean distance.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KMeansModel {
    dim: usize,
    width: usize,
    last_only: bool,
    centroids: Vec<f64>,
    scale: f64,
}

impl KMeansModel {
    /// Distance to the nearest centroid: of the newest row only, or of the whole window.
    fn nearest(&self, window: &[f64]) -> f64 {
        let k = nearest_index(&self.centroids, self.dim, window);
        let centroid = &self.centroids[k * self.dim..(k + 1) * self.dim];
        let width = if self.last_only { self.width } else { self.dim };
        tail_squared_distance(window, centroid, width).sqrt()
    }
}

impl WindowModel for KMeansModel {
    type Config = KMeansConfig;

    fn fit(
        config: &KMeansConfig,
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
        let records = Array2::from_shape_vec((n, dim), windows.to_vec())
            .map_err(|e| backend(e.to_string()))?;
        let k = config.clusters.min(n);
        let rng = Xoshiro256Plus::seed_from_u64(config.seed);
        let fitted = KMeans::params_with_rng(k, rng)
            .n_runs(2)
            .max_n_iterations(100)
            .tolerance(1e-5)
            .fit(&DatasetBase::from(records))
            .map_err(|e| backend(e.to_string()))?;
        let centroids: Vec<f64> = fitted.centroids().iter().copied().collect();
        if centroids.iter().any(|c| !c.is_finite()) {
            return Err(backend("k-means produced non-finite centroids".to_owned()));
        }
        let mut model = Self {
            dim,
            width,
            last_only: config.last_only,
            centroids,
            scale: 1.0,
        };
        let mean = windows
            .chunks_exact(dim)
            .map(|w| model.nearest(w))
            .sum::<f64>()
            / n as f64;
        model.scale = if mean > 1e-9 { mean } else { 1.0 };
        Ok(model)
    }

    fn score(&self, window: &[f64]) -> f64 {
        self.nearest(window) / self.scale
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::persist::Persist as _;
    use crate::testing::{assert_all_close, seasonal_series, seasonal_with_anomalies};

    #[test]
    fn spike_is_far_from_centroids_and_seed_repeats() {
        let train = seasonal_series(500, 20, 0.05, 3);
        let test = seasonal_with_anomalies(300, 20, 150, 0..0, 4);
        let run = |seed| {
            let mut det = KMeansDistance::new(20, 6, 1000, seed);
            det.fit(&train, &CancelToken::new()).unwrap();
            (det.score_series(&test, &CancelToken::new()).unwrap(), det)
        };
        let (scores, det) = run(7);
        let normal = scores[19..145].iter().copied().fold(f64::MIN, f64::max);
        assert!(scores[150] > 2.0 * normal, "{} vs {normal}", scores[150]);
        assert_all_close(&run(7).0, &scores, 0.0);
        let mut loaded = KMeansDistance::new(2, 1, 10, 0);
        loaded.load_state(&det.save_state().unwrap()).unwrap();
        assert_all_close(
            &loaded.score_series(&test, &CancelToken::new()).unwrap(),
            &scores,
            0.0,
        );
    }
}
