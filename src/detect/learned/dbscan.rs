//! DBSCAN noise / cluster distance (linfa-clustering). DBSCAN has no `predict`, so training
//! windows are clustered once and the windows that belong to a cluster are kept; a new window's
//! score is its distance to the nearest kept window divided by the DBSCAN radius `eps`
//! (> 1: it would have been noise). `eps = 0` picks the radius from the training data: the 90th
//! percentile of each window's distance to its `min_points`-th neighbour.
//!
//! With `score_on = last` (the default) the nearest kept window is still chosen on the whole
//! window, but the score is the distance of the newest rows only, in units of `eps / √window`
//! (eps spread evenly over the rows), so a spike is flagged at its own row and not at the
//! `window - 1` rows after it.

use linfa::traits::Transformer as _;
use linfa_clustering::Dbscan;
use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::super::registry::DetectorEntry;
use super::super::{DetectError, Detector, DetectorInfo, Family};
use super::window::{
    SCORE_ON, WindowDetector, WindowModel, nearest_index, squared_distance, tail_squared_distance,
};
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
        name: "eps",
        kind: ParamKind::Float {
            min: 0.0,
            max: 1e6,
            default: 0.0,
        },
        help: "DBSCAN radius in standardised units; 0 = 90th percentile of the k-distance of training windows.",
    },
    ParamSpec {
        name: "min_points",
        kind: ParamKind::Int {
            min: 2,
            max: 1000,
            default: 5,
        },
        help: "Neighbours within eps needed for a window to be a core point.",
    },
    ParamSpec {
        name: "max_train",
        kind: ParamKind::Int {
            min: 10,
            max: 20_000,
            default: 500,
        },
        help: "At most this many training windows (evenly spaced) are clustered and kept.",
    },
    SCORE_ON,
];

static INFO: DetectorInfo = DetectorInfo {
    id: "dbscan_subsequence",
    name: "DBSCAN cluster distance",
    family: Family::Learned,
    multivariate: true,
    streaming: true,
    description: "Clusters standardised training sub-sequences with DBSCAN; the score is the \
                  distance to the nearest clustered training window in units of eps (> 1 = noise). \
                  Catches rare shapes; cost per row grows with `max_train`.",
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
        DbscanDistance::new(
            params.usize("window"),
            params.float("eps"),
            params.usize("min_points"),
            params.usize("max_train"),
        )
        .with_last_only(params.text("score_on") == "last"),
    ))
}

/// DBSCAN window detector (see module docs).
pub type DbscanDistance = WindowDetector<DbscanModel>;

impl DbscanDistance {
    /// A detector over windows of `window` rows; `eps = 0` picks the radius from the data.
    pub fn new(window: usize, eps: f64, min_points: usize, max_train: usize) -> Self {
        WindowDetector::from_parts(
            &INFO,
            window,
            max_train,
            DbscanConfig {
                eps,
                min_points: min_points.max(2),
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

    /// The DBSCAN radius used (learned or given), once fitted.
    pub fn eps(&self) -> Option<f64> {
        self.model().map(|m| m.eps)
    }
}

/// Hyper-parameters of [`DbscanModel`].
#[derive(Clone, Debug)]
pub struct DbscanConfig {
    eps: f64,
    min_points: usize,
    last_only: bool,
}

/// The clustered training windows (row-major) and the radius.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DbscanModel {
    dim: usize,
    /// Values that are scored: the newest row's (`width`) or the whole window's (`dim`).
    tail: usize,
    members: Vec<f64>,
    eps: f64,
}

/// The 90th percentile of each window's distance to its `k`-th nearest other window.
fn auto_eps(
    windows: &[f64],
    dim: usize,
    k: usize,
    cancel: &CancelToken,
) -> Result<f64, DetectError> {
    let rows: Vec<&[f64]> = windows.chunks_exact(dim).collect();
    let mut kth = Vec::with_capacity(rows.len());
    let mut dists = Vec::with_capacity(rows.len());
    for (i, a) in rows.iter().enumerate() {
        if i % 256 == 0 && cancel.is_cancelled() {
            return Err(DetectError::Cancelled);
        }
        dists.clear();
        dists.extend(
            rows.iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, b)| squared_distance(a, b)),
        );
        let k = k.min(dists.len()).max(1) - 1;
        if dists.is_empty() {
            break;
        }
        let (_, d, _) = dists.select_nth_unstable_by(k, f64::total_cmp);
        kth.push(d.sqrt());
    }
    if kth.is_empty() {
        return Ok(1.0);
    }
    let at = ((kth.len() - 1) as f64 * 0.9).round() as usize;
    let (_, eps, _) = kth.select_nth_unstable_by(at, f64::total_cmp);
    Ok(if *eps > 1e-9 { *eps } else { 1e-9 })
}

impl WindowModel for DbscanModel {
    type Config = DbscanConfig;

    fn fit(
        config: &DbscanConfig,
        windows: &[f64],
        n: usize,
        dim: usize,
        width: usize,
        cancel: &CancelToken,
    ) -> Result<Self, DetectError> {
        let eps = if config.eps > 0.0 {
            config.eps
        } else {
            auto_eps(windows, dim, config.min_points, cancel)?
        };
        if cancel.is_cancelled() {
            return Err(DetectError::Cancelled);
        }
        let backend = |message: String| DetectError::Backend {
            detector: INFO.id,
            message,
        };
        let records = Array2::from_shape_vec((n, dim), windows.to_vec())
            .map_err(|e| backend(e.to_string()))?;
        let labels = Dbscan::params(config.min_points)
            .tolerance(eps)
            .transform(&records)
            .map_err(|e| backend(e.to_string()))?;
        let mut members: Vec<f64> = labels
            .iter()
            .zip(windows.chunks_exact(dim))
            .filter(|(label, _)| label.is_some())
            .flat_map(|(_, w)| w.iter().copied())
            .collect();
        if members.is_empty() {
            // No cluster at all: every training window is kept, so the score is the plain
            // nearest-neighbour distance in units of eps.
            members = windows.to_vec();
        }
        let tail = if config.last_only { width } else { dim };
        Ok(Self {
            dim,
            tail,
            members,
            eps,
        })
    }

    fn score(&self, window: &[f64]) -> f64 {
        let k = nearest_index(&self.members, self.dim, window);
        let member = &self.members[k * self.dim..(k + 1) * self.dim];
        // eps covers the whole window; its share for `tail` of `dim` values.
        let radius = self.eps * (self.tail as f64 / self.dim as f64).sqrt();
        tail_squared_distance(window, member, self.tail).sqrt() / radius
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::persist::Persist as _;
    use crate::testing::{assert_all_close, seasonal_series, seasonal_with_anomalies};

    #[test]
    fn spike_is_noise_and_round_trips() {
        let train = seasonal_series(500, 20, 0.05, 8);
        let test = seasonal_with_anomalies(300, 20, 150, 0..0, 9);
        let mut det = DbscanDistance::new(20, 0.0, 5, 400);
        det.fit(&train, &CancelToken::new()).unwrap();
        assert!(det.eps().unwrap() > 0.0);
        let scores = det.score_series(&test, &CancelToken::new()).unwrap();
        assert!(
            scores[150] > 1.0,
            "spike window should be DBSCAN noise: {}",
            scores[150]
        );
        let normal = scores[19..145].iter().copied().fold(f64::MIN, f64::max);
        assert!(scores[150] > normal);
        let mut loaded = DbscanDistance::new(3, 1.0, 2, 10);
        loaded.load_state(&det.save_state().unwrap()).unwrap();
        assert_all_close(
            &loaded.score_series(&test, &CancelToken::new()).unwrap(),
            &scores,
            0.0,
        );
    }
}
