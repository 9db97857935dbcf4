//! Sub-sequence kNN distance: the score of a window is its Euclidean distance (after
//! standardising with the training mean and standard deviation) to its `k`-th nearest training
//! window. Catches shapes and levels never seen in training; `k > 1` keeps a rare but repeated
//! training pattern from hiding a real anomaly... and a single odd training window from
//! vouching for an anomalous one.
//!
//! Causal definition: row `t` is scored by the window ending at `t` against the reference set
//! fitted in `fit` (see `knn_windows`: blocks of consecutive windows, subsampled
//! deterministically above `max_train`, windows overlapping the query in time excluded). The
//! reference never changes while scoring; batch runs the streaming code in parallel chunks that
//! start at recomputation anchors, so both are bit-identical.

use super::columns::{COMBINE_MAX, Combine};
use super::knn_windows::{QueryStream, Reference};
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
            default: 10,
        },
        help: "The score is the distance to the k-th nearest training window.",
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
    id: "subsequence_knn",
    name: "Sub-sequence kNN distance",
    family: Family::Subsequence,
    multivariate: false,
    streaming: true,
    description: "Distance of each window to its k-th nearest training window. Catches \
                  unseen shapes and levels; exact search, O(1) per window pair.",
    params: PARAMS,
};

/// Registry entry.
pub(super) const ENTRY: DetectorEntry = DetectorEntry { info: &INFO, build };

fn build(params: &Params, _seed: u64) -> Result<Box<dyn Detector>, DetectError> {
    Ok(Box::new(SubsequenceKnn::new(
        params.usize("window"),
        params.usize("k"),
        params.usize("max_train"),
        Combine::from_param(params.text("combine")),
    )))
}

/// Sub-sequence kNN detector (see module docs), one [`KnnColumn`] per column.
#[derive(Clone, Debug)]
pub struct SubsequenceKnn(Columns<KnnColumn>);

impl SubsequenceKnn {
    /// Windows of `window` rows (0 = period found in `fit`), distance to the `k`-th nearest of
    /// at most `max_train` training windows.
    pub fn new(window: usize, k: usize, max_train: usize, combine: Combine) -> Self {
        Self(Columns::new(
            &INFO,
            KnnColumn {
                window,
                k: k.max(1),
                max_train,
                reference: None,
                stream: QueryStream::new(),
            },
            combine,
        ))
    }
}

delegate_columns!(SubsequenceKnn);

/// One column: the fitted reference and the streaming query state.
#[derive(Clone, Debug)]
pub struct KnnColumn {
    window: usize,
    k: usize,
    max_train: usize,
    reference: Option<Reference>,
    stream: QueryStream,
}

impl ColumnCore for KnnColumn {
    fn fit(&mut self, values: &[f64], ts: &[Timestamp]) -> Result<(), String> {
        let m = choose_window(self.window, Some(values));
        // Enough references for k neighbours even when the query overlaps 2m-1 of them.
        self.reference = Some(Reference::fit(
            values,
            ts,
            m,
            self.max_train,
            self.k + 2 * m,
        )?);
        self.reset();
        Ok(())
    }

    fn not_ready(&self) -> Option<String> {
        self.reference
            .is_none()
            .then(|| "not fitted: call fit on training data first".to_owned())
    }

    fn reset(&mut self) {
        self.stream = QueryStream::new();
    }

    fn update(&mut self, x: f64, ts: Timestamp) -> f64 {
        let Some(reference) = self.reference.as_ref() else {
            return f64::NAN;
        };
        self.stream
            .push(reference, x, ts, self.k)
            .map_or(f64::NAN, |top| top.kth_distance())
    }

    fn batch(
        &mut self,
        values: &[f64],
        ts: &[Timestamp],
        cancel: &CancelToken,
    ) -> Result<Vec<f64>, DetectError> {
        self.reset();
        let Some(reference) = self.reference.as_ref() else {
            return Ok(vec![f64::NAN; values.len()]);
        };
        let lists = reference.batch_neighbours(values, ts, self.k, false, cancel)?;
        Ok(lists
            .iter()
            .map(|l| {
                l.as_ref()
                    .map_or(f64::NAN, super::knn_windows::TopK::kth_distance)
            })
            .collect())
    }

    fn warm_up_rows(&self) -> usize {
        self.reference
            .as_ref()
            .map_or(self.window.max(1), Reference::window)
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
    fn batch_equals_streaming_and_finds_both_anomalies() {
        let train = seasonal_series(3000, 40, 0.1, 1);
        let test = seasonal_with_anomalies(2400, 40, 700, 1500..1560, 2);
        let mut det = SubsequenceKnn::new(0, 5, 1000, Combine::Max);
        det.fit(&train, &CancelToken::new()).unwrap();
        assert_eq!(det.warm_up_rows(), Some(39));
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
    }

    #[test]
    fn fitting_on_the_scored_data_excludes_trivial_matches() {
        let series = seasonal_with_anomalies(2000, 40, 1200, 3000..3000, 2);
        let mut det = SubsequenceKnn::new(40, 3, 10_000, Combine::Max);
        det.fit(&series, &CancelToken::new()).unwrap();
        let scores = det.score_series(&series, &CancelToken::new()).unwrap();
        let top = argmax_finite(&scores);
        assert!((1200..1240).contains(&top), "top at {top}");
    }

    #[test]
    fn unfitted_and_too_short_are_errors() {
        let series = seasonal_series(100, 10, 0.1, 1);
        let mut det = SubsequenceKnn::new(10, 5, 1000, Combine::Max);
        assert!(det.score_series(&series, &CancelToken::new()).is_err());
        assert!(
            det.fit(&seasonal_series(20, 10, 0.1, 1), &CancelToken::new())
                .is_err()
        );
    }
}
