//! Sub-sequence local outlier factor (Breunig et al. 2000) on sliding windows: how much sparser
//! a window's neighbourhood among the training windows is than its neighbours' own
//! neighbourhoods. Adapts to regions of different density, where a plain distance does not.
//!
//! `fit` builds the reference set of training windows (see `knn_windows`: standardised, blocks
//! of consecutive windows, subsampled deterministically above `max_train`) and computes each
//! reference window's k-distance and local reachability density among the others (windows
//! overlapping in time excluded). Causal definition: row `t` is scored by the window ending at
//! `t`, as PyOD's `decision_function` on new data: `lrd(q) = 1 / (mean reach-dist + 1e-10)`,
//! `LOF = mean(lrd(o) / lrd(q))` over its `k` nearest reference windows `o`. Scoring never
//! changes the model; batch runs the streaming code in parallel chunks (bit-identical).

use super::columns::{COMBINE_MAX, Combine};
use super::knn_windows::{QueryStream, Reference, TopK};
use super::registry::DetectorEntry;
use super::subseq::{ColumnCore, Columns, choose_window, delegate_columns};
use super::{DetectError, Detector, DetectorInfo, Family};
use crate::control::CancelToken;
use crate::model::{ParamKind, ParamSpec, Params, Timestamp};

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "window",
        kind: ParamKind::Int {
            min: 0,
            max: 10_000,
            default: 0,
        },
        help: "Sub-sequence length; 0 = the dominant period of the training data (100 if none).",
    },
    ParamSpec {
        name: "k",
        kind: ParamKind::Int {
            min: 1,
            max: 100,
            default: 20,
        },
        help: "Neighbours per window (PyOD's n_neighbors).",
    },
    ParamSpec {
        name: "max_train",
        kind: ParamKind::Int {
            min: 100,
            max: 200_000,
            default: 10_000,
        },
        help: "At most this many training windows are kept (evenly spaced blocks).",
    },
    COMBINE_MAX,
];

static INFO: DetectorInfo = DetectorInfo {
    id: "subsequence_lof",
    name: "Sub-sequence LOF",
    family: Family::Subsequence,
    multivariate: false,
    streaming: true,
    description: "Local outlier factor of each window against the training windows: density \
                  relative to its neighbours'. Catches unusual shapes in uneven data.",
    params: PARAMS,
};

/// Registry entry.
pub(super) const ENTRY: DetectorEntry = DetectorEntry { info: &INFO, build };

fn build(params: &Params, _seed: u64) -> Result<Box<dyn Detector>, DetectError> {
    Ok(Box::new(SubsequenceLof::new(
        params.usize("window"),
        params.usize("k"),
        params.usize("max_train"),
        Combine::from_param(params.text("combine")),
    )))
}

/// Sub-sequence LOF detector (see module docs), one [`LofColumn`] per column.
#[derive(Clone, Debug)]
pub struct SubsequenceLof(Columns<LofColumn>);

impl SubsequenceLof {
    /// Windows of `window` rows (0 = period found in `fit`), `k` neighbours among at most
    /// `max_train` training windows.
    pub fn new(window: usize, k: usize, max_train: usize, combine: Combine) -> Self {
        Self(Columns::new(
            &INFO,
            LofColumn {
                window,
                k: k.max(1),
                max_train,
                model: None,
                stream: QueryStream::new(),
            },
            combine,
        ))
    }
}

delegate_columns!(SubsequenceLof);

/// sklearn's guard against duplicate points (zero reachability distances).
const EPS: f64 = 1e-10;

#[derive(Clone, Debug)]
struct Model {
    reference: Reference,
    k_distance: Vec<f64>,
    lrd: Vec<f64>,
}

impl Model {
    fn lof(&self, top: &TopK) -> f64 {
        let (mut reach, mut ratio, mut count) = (0.0, 0.0, 0usize);
        for (d, o) in top.neighbours() {
            reach += d.max(self.k_distance[o]);
            ratio += self.lrd[o];
            count += 1;
        }
        if count == 0 {
            return f64::NAN;
        }
        let lrd_q = 1.0 / (reach / count as f64 + EPS);
        ratio / count as f64 / lrd_q
    }
}

/// One column: the fitted model and the streaming query state.
#[derive(Clone, Debug)]
pub struct LofColumn {
    window: usize,
    k: usize,
    max_train: usize,
    model: Option<Model>,
    stream: QueryStream,
}

impl ColumnCore for LofColumn {
    fn fit(&mut self, values: &[f64], ts: &[Timestamp]) -> Result<(), String> {
        let m = choose_window(self.window, Some(values));
        let reference = Reference::fit(values, ts, m, self.max_train, self.k + 2 * m)?;
        let lists = reference
            .self_join(self.k, &CancelToken::new())
            .map_err(|e| e.to_string())?;
        let k_distance: Vec<f64> = lists.iter().map(TopK::kth_distance).collect();
        let lrd = lists
            .iter()
            .map(|list| {
                let (sum, count) = list.neighbours().fold((0.0, 0usize), |(s, c), (d, o)| {
                    (s + d.max(k_distance[o]), c + 1)
                });
                1.0 / (sum / count.max(1) as f64 + EPS)
            })
            .collect();
        self.model = Some(Model {
            reference,
            k_distance,
            lrd,
        });
        self.reset();
        Ok(())
    }

    fn not_ready(&self) -> Option<String> {
        self.model
            .is_none()
            .then(|| "not fitted: call fit on training data first".to_owned())
    }

    fn reset(&mut self) {
        self.stream = QueryStream::new();
    }

    fn update(&mut self, x: f64, ts: Timestamp) -> f64 {
        let Some(model) = self.model.as_ref() else {
            return f64::NAN;
        };
        self.stream
            .push(&model.reference, x, ts, self.k)
            .map_or(f64::NAN, |top| model.lof(&top))
    }

    fn batch(
        &mut self,
        values: &[f64],
        ts: &[Timestamp],
        cancel: &CancelToken,
    ) -> Result<Vec<f64>, DetectError> {
        self.reset();
        let Some(model) = self.model.as_ref() else {
            return Ok(vec![f64::NAN; values.len()]);
        };
        let lists = model
            .reference
            .batch_neighbours(values, ts, self.k, false, cancel)?;
        Ok(lists
            .iter()
            .map(|l| l.as_ref().map_or(f64::NAN, |t| model.lof(t)))
            .collect())
    }

    fn warm_up_rows(&self) -> usize {
        self.model
            .as_ref()
            .map_or(self.window.max(1), |m| m.reference.window())
            - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::subseq::argmax_finite;
    use crate::testing::{bits, streamed};
    use crate::testing::{seasonal_series, seasonal_with_anomalies};

    #[test]
    fn batch_equals_streaming_and_anomalies_score_high() {
        let train = seasonal_series(3000, 40, 0.1, 1);
        let test = seasonal_with_anomalies(2400, 40, 700, 1500..1560, 2);
        let mut det = SubsequenceLof::new(0, 10, 2000, Combine::Max);
        det.fit(&train, &CancelToken::new()).unwrap();
        let batch = det.score_series(&test, &CancelToken::new()).unwrap();
        assert_eq!(bits(&batch), bits(&streamed(&mut det, &test)));
        assert!(batch[..39].iter().all(|s| s.is_nan()));
        assert!(batch[39..].iter().all(|s| s.is_finite()));
        let normal = batch[100..650].iter().copied().fold(0.0, f64::max);
        assert!(
            batch[700] > normal && batch[1530] > normal,
            "{} {} {normal}",
            batch[700],
            batch[1530]
        );
        // Normal windows sit at LOF ~ 1.
        let median = {
            let mut v = batch[100..650].to_vec();
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        assert!((0.8..1.3).contains(&median), "median LOF {median}");
    }

    #[test]
    fn same_data_fit_and_score_is_finite() {
        let series = seasonal_with_anomalies(1500, 30, 900, 3000..3000, 2);
        let mut det = SubsequenceLof::new(30, 20, 10_000, Combine::Max);
        det.fit(&series, &CancelToken::new()).unwrap();
        let scores = det.score_series(&series, &CancelToken::new()).unwrap();
        assert!(scores[29..].iter().all(|s| s.is_finite()));
        let top = argmax_finite(&scores);
        assert!((900..930).contains(&top), "top at {top}");
    }
}
