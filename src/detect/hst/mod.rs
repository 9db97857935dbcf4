//! Half-space trees (Tan, Ting & Liu 2011), as river's `HalfSpaceTrees`: random complete trees
//! (features min-max scaled with limits learnt in `fit`; per tree the paper's randomly extended
//! workspace around the unit cube; river's padded random splits), each node counting
//! the points of the latest complete window (`r_mass`, the reference profile) while the current
//! window is collected; at every `window_size` rows the profiles are swapped.
//!
//! Score of row `t` (before it is learnt, as river's `score_one` then `learn_one`): per tree, walk
//! from the root adding `r_mass * 2^depth` and stop after the first node whose mass is below
//! `0.1 * window_size`; the result is `1 - total / max_total`, in `[0, 1]`, higher = more
//! anomalous. Rows before the first complete reference window score NaN (river returns 0).
//!
//! `fit` learns the scaling limits (training min/max per column), grows the trees and streams the
//! training rows through the model; `reset` returns to that warmed state.
//!
//! Speed: a reference profile depends only on the points of the latest complete window (every
//! swap recomputes it), so it is built from those points alone, in the walk form of the `tree`
//! module (branch-free walks of a fixed number of steps). Hence the rows of different windows
//! are independent once the series is known: `score_series` runs groups of windows in parallel,
//! each building the profile of its previous window per tree, and adds the trees' exact integer
//! totals, so batch equals streaming bit for bit.

mod tree;

use rayon::prelude::*;

use super::registry::DetectorEntry;
use super::subseq::{Filler, rng_stream};
use super::{DetectError, Detector, DetectorInfo, Family};
use crate::control::CancelToken;
use crate::model::{ParamKind, ParamSpec, Params, Row, Series};
use tree::{HsTree, Profile};

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "n_trees",
        kind: ParamKind::Int {
            min: 1,
            max: 200,
            default: 25,
        },
        help: "Number of half-space trees.",
    },
    ParamSpec {
        name: "height",
        kind: ParamKind::Int {
            min: 1,
            max: 15,
            default: 15,
        },
        help: "Depth of every tree.",
    },
    ParamSpec {
        name: "window_size",
        kind: ParamKind::Int {
            min: 2,
            max: 1_000_000,
            default: 250,
        },
        help: "Rows per mass window; the reference profile is swapped every window.",
    },
];

static INFO: DetectorInfo = DetectorInfo {
    id: "half_space_trees",
    name: "Half-space trees",
    family: Family::Trees,
    multivariate: true,
    streaming: true,
    description: "Streaming random half-space trees (as river's HalfSpaceTrees): rows falling \
                  in sparsely populated regions of the previous window score high. Learns as it \
                  goes; adapts to drift every window.",
    params: PARAMS,
};

/// Registry entry.
pub(super) const ENTRY: DetectorEntry = DetectorEntry { info: &INFO, build };

fn build(params: &Params, seed: u64) -> Result<Box<dyn Detector>, DetectError> {
    Ok(Box::new(HalfSpaceTrees::new(
        params.usize("n_trees"),
        params.usize("height"),
        params.usize("window_size"),
        seed,
    )))
}

/// Windows per parallel task of `score_series`.
const WINDOWS_PER_TASK: usize = 16;

/// Everything that changes while streaming, snapshot after `fit` for `reset`.
#[derive(Clone, Debug)]
struct Stream {
    profiles: Vec<Profile>,
    /// Scaled points of the current (incomplete) window, row-major.
    window: Vec<f64>,
    fillers: Vec<Filler>,
    /// No reference window yet.
    first: bool,
}

/// The fitted model: scaling, trees and the streaming state.
#[derive(Clone, Debug)]
struct Model {
    columns: usize,
    low: Vec<f64>,
    inv_span: Vec<f64>,
    trees: Vec<HsTree>,
    /// The current reference profile of each tree.
    profiles: Vec<Profile>,
    fitted_state: Stream,
    first: bool,
    window: Vec<f64>,
    fillers: Vec<Filler>,
}

/// Half-space trees detector (see module docs).
#[derive(Clone, Debug)]
pub struct HalfSpaceTrees {
    n_trees: usize,
    height: usize,
    window_size: usize,
    seed: u64,
    model: Option<Model>,
    scratch: Vec<u32>,
}

impl HalfSpaceTrees {
    /// `n_trees` trees of depth `height`, profiles swapped every `window_size` rows.
    pub fn new(n_trees: usize, height: usize, window_size: usize, seed: u64) -> Self {
        Self {
            n_trees: n_trees.max(1),
            height: height.clamp(1, 15),
            window_size: window_size.max(2),
            seed,
            model: None,
            scratch: Vec::new(),
        }
    }

    fn size_limit(&self) -> u32 {
        // river: size_limit = 0.1 * window_size, compared as `mass < size_limit`.
        (self.window_size as f64 * 0.1).ceil() as u32
    }

    fn max_total(&self) -> f64 {
        self.n_trees as f64 * self.window_size as f64 * ((1u64 << (self.height + 1)) - 1) as f64
    }

    fn not_fitted() -> DetectError {
        DetectError::Input {
            detector: INFO.id,
            message: "not fitted: call fit on training data first".to_owned(),
        }
    }

    /// Scales (and fills) the rows of `series` into a row-major buffer appended to `out`.
    fn scale_series(model: &mut Model, series: &Series, out: &mut Vec<f64>) {
        let d = model.columns;
        let start = out.len();
        out.resize(start + series.len() * d, 0.0);
        for (c, column) in series.columns().iter().enumerate() {
            let filler = &mut model.fillers[c];
            for (r, &x) in column.values.iter().enumerate() {
                out[start + r * d + c] = (filler.fill(x) - model.low[c]) * model.inv_span[c];
            }
        }
    }

    /// Runs `rows` (row-major, scaled) through the model: scores into `out` when given, learns
    /// always. Windows run in parallel groups; see module docs.
    fn run(
        &mut self,
        rows: &[f64],
        out: Option<&mut [f64]>,
        cancel: &CancelToken,
    ) -> Result<(), DetectError> {
        let (limit, w, max_total) = (self.size_limit(), self.window_size, self.max_total());
        let model = self.model.as_mut().ok_or_else(Self::not_fitted)?;
        let d = model.columns;
        let n = rows.len() / d;
        let mut combined = std::mem::take(&mut model.window);
        let c0 = combined.len() / d;
        combined.extend_from_slice(rows);
        let total = c0 + n;
        // Window k of `combined` is rows k*w .. (k+1)*w; its rows are scored against the
        // profile of window k - 1 (window 0: the current profiles, or NaN without a reference).
        let complete = total / w;
        if let Some(out) = out {
            let task_rows = WINDOWS_PER_TASK * w;
            let mut pieces = Vec::new();
            let mut rest = out;
            let mut start = c0;
            while !rest.is_empty() {
                let end = ((start / task_rows + 1) * task_rows).min(total);
                let (piece, tail) = std::mem::take(&mut rest).split_at_mut(end - start);
                pieces.push((start, piece));
                rest = tail;
                start = end;
            }
            let model = &*model;
            let combined = &combined;
            pieces.into_par_iter().try_for_each_init(
                || (Profile::default(), Vec::new(), Vec::new()),
                |(profile, idx, totals), (start, piece)| {
                    if cancel.is_cancelled() {
                        return Err(DetectError::Cancelled);
                    }
                    totals.clear();
                    totals.resize(piece.len(), 0u64);
                    let end = start + piece.len();
                    let mut from = start;
                    while from < end {
                        let k = from / w;
                        let to = ((k + 1) * w).min(end);
                        let rows = &combined[from * d..to * d];
                        let sums = &mut totals[from - start..to - start];
                        if k == 0 && model.first {
                            sums.fill(u64::MAX);
                        } else {
                            for (t, tree) in model.trees.iter().enumerate() {
                                let reference = if k == 0 {
                                    &model.profiles[t]
                                } else {
                                    let points = &combined[(k - 1) * w * d..k * w * d];
                                    tree.build(points, d, limit, profile, idx);
                                    &*profile
                                };
                                tree.walk_rows(reference, rows, d, sums);
                            }
                        }
                        from = to;
                    }
                    for (o, &t) in piece.iter_mut().zip(totals.iter()) {
                        *o = if t == u64::MAX {
                            f64::NAN
                        } else {
                            1.0 - t as f64 / max_total
                        };
                    }
                    Ok(())
                },
            )?;
        }
        if cancel.is_cancelled() {
            return Err(DetectError::Cancelled);
        }
        if complete > 0 {
            let points = &combined[(complete - 1) * w * d..complete * w * d];
            model
                .trees
                .par_iter()
                .zip(model.profiles.par_iter_mut())
                .for_each_init(Vec::new, |idx, (tree, profile)| {
                    tree.build(points, d, limit, profile, idx);
                });
            model.first = false;
        }
        model.window = combined.split_off(complete * w * d);
        Ok(())
    }

    fn restore(model: &mut Model) {
        let state = &model.fitted_state;
        for (profile, saved) in model.profiles.iter_mut().zip(&state.profiles) {
            profile.clone_from(saved);
        }
        model.window.clone_from(&state.window);
        model.fillers.clone_from(&state.fillers);
        model.first = state.first;
    }
}

impl Detector for HalfSpaceTrees {
    fn info(&self) -> &'static DetectorInfo {
        &INFO
    }

    fn fit(&mut self, train: &Series, cancel: &CancelToken) -> Result<(), DetectError> {
        if train.is_empty() {
            return Err(DetectError::Input {
                detector: INFO.id,
                message: "training data is empty".to_owned(),
            });
        }
        let d = train.columns().len();
        let mut low = Vec::with_capacity(d);
        let mut inv_span = Vec::with_capacity(d);
        for column in train.columns() {
            let (lo, hi) = column
                .values
                .iter()
                .filter(|x| x.is_finite())
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
                    (lo.min(x), hi.max(x))
                });
            // A constant column gets span 1; a column without finite values is treated as 0.
            let (lo, span) = match (lo.is_finite(), hi > lo) {
                (true, true) => (lo, hi - lo),
                (true, false) => (lo, 1.0),
                (false, _) => (0.0, 1.0),
            };
            low.push(lo);
            inv_span.push(1.0 / span);
        }
        let trees: Vec<HsTree> = (0..self.n_trees)
            .map(|t| HsTree::grow(d, self.height, &mut rng_stream(self.seed, t as u64)))
            .collect();
        let profiles: Vec<Profile> = trees.iter().map(HsTree::empty_profile).collect();
        let empty = Stream {
            profiles: profiles.clone(),
            window: Vec::new(),
            fillers: vec![Filler::default(); d],
            first: true,
        };
        let mut model = Model {
            columns: d,
            low,
            inv_span,
            trees,
            profiles,
            fitted_state: empty,
            first: true,
            window: Vec::new(),
            fillers: vec![Filler::default(); d],
        };
        let mut rows = Vec::new();
        Self::scale_series(&mut model, train, &mut rows);
        self.model = Some(model);
        self.run(&rows, None, cancel)?;
        if let Some(model) = self.model.as_mut() {
            model.fitted_state = Stream {
                profiles: model.profiles.clone(),
                window: model.window.clone(),
                fillers: model.fillers.clone(),
                first: model.first,
            };
        }
        Ok(())
    }

    fn reset(&mut self) {
        if let Some(model) = self.model.as_mut() {
            Self::restore(model);
        }
    }

    fn update(&mut self, row: Row<'_>) -> Result<f64, DetectError> {
        let (limit, w, max_total) = (self.size_limit(), self.window_size, self.max_total());
        let model = self.model.as_mut().ok_or_else(Self::not_fitted)?;
        let d = model.columns;
        if row.values.len() != d {
            return Err(DetectError::Input {
                detector: INFO.id,
                message: format!(
                    "row {} has {} values, the model was fitted on {d}",
                    row.index,
                    row.values.len()
                ),
            });
        }
        for (c, &x) in row.values.iter().enumerate() {
            let v = (model.fillers[c].fill(x) - model.low[c]) * model.inv_span[c];
            model.window.push(v);
        }
        let x = &model.window[model.window.len() - d..];
        let score = if model.first {
            f64::NAN
        } else {
            let total: u64 = model
                .trees
                .iter()
                .zip(&model.profiles)
                .map(|(tree, profile)| tree.walk(profile, x))
                .sum();
            1.0 - total as f64 / max_total
        };
        if model.window.len() == w * d {
            for (tree, profile) in model.trees.iter().zip(&mut model.profiles) {
                tree.build(&model.window, d, limit, profile, &mut self.scratch);
            }
            model.window.clear();
            model.first = false;
        }
        Ok(score)
    }

    fn warm_up_rows(&self) -> Option<usize> {
        let model = self.model.as_ref()?;
        let state = &model.fitted_state;
        Some(if state.first {
            self.window_size - state.window.len() / model.columns.max(1)
        } else {
            0
        })
    }

    fn score_series(
        &mut self,
        series: &Series,
        cancel: &CancelToken,
    ) -> Result<Vec<f64>, DetectError> {
        self.reset();
        let model = self.model.as_mut().ok_or_else(Self::not_fitted)?;
        if series.columns().len() != model.columns {
            return Err(DetectError::Input {
                detector: INFO.id,
                message: format!(
                    "series has {} columns, the model was fitted on {}",
                    series.columns().len(),
                    model.columns
                ),
            });
        }
        let mut rows = Vec::new();
        Self::scale_series(model, series, &mut rows);
        let mut scores = vec![f64::NAN; series.len()];
        self.run(&rows, Some(&mut scores), cancel)?;
        Ok(scores)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::subseq::argmax_finite;
    use crate::testing::{bits, streamed};
    use crate::testing::{seasonal_series, seasonal_with_anomalies};

    #[test]
    fn batch_equals_streaming_and_reset_replays() {
        let train = seasonal_series(730, 50, 0.1, 1);
        let test = seasonal_with_anomalies(2100, 50, 900, 1500..1560, 2);
        let mut det = HalfSpaceTrees::new(7, 8, 100, 4);
        det.fit(&train, &CancelToken::new()).unwrap();
        let batch = det.score_series(&test, &CancelToken::new()).unwrap();
        let stream = streamed(&mut det, &test);
        assert_eq!(bits(&batch), bits(&stream));
        assert!(
            batch
                .iter()
                .all(|s| s.is_finite() && (0.0..=1.0).contains(s))
        );
        assert_eq!(bits(&streamed(&mut det, &test)), bits(&stream));
        let mut again = HalfSpaceTrees::new(7, 8, 100, 4);
        again.fit(&train, &CancelToken::new()).unwrap();
        assert_eq!(
            bits(&again.score_series(&test, &CancelToken::new()).unwrap()),
            bits(&batch)
        );
    }

    #[test]
    fn multivariate_batch_equals_streaming() {
        let a = seasonal_with_anomalies(3000, 40, 1700, 2000..2050, 1);
        let b = seasonal_series(3000, 60, 0.2, 2);
        let series = Series::new(
            a.timestamps().to_vec(),
            vec![
                crate::model::Column::new("a", a.columns()[0].values.clone()),
                crate::model::Column::new("b", b.columns()[0].values.clone()),
            ],
            None,
        )
        .unwrap();
        let mut det = HalfSpaceTrees::new(6, 7, 64, 1);
        det.fit(&series, &CancelToken::new()).unwrap();
        let batch = det.score_series(&series, &CancelToken::new()).unwrap();
        assert_eq!(bits(&batch), bits(&streamed(&mut det, &series)));
        assert!(batch.iter().all(|s| s.is_finite()));
    }

    #[test]
    fn warm_up_is_nan_when_training_is_shorter_than_a_window() {
        let train = seasonal_series(30, 10, 0.1, 1);
        let test = seasonal_series(300, 10, 0.1, 2);
        let mut det = HalfSpaceTrees::new(5, 6, 100, 0);
        det.fit(&train, &CancelToken::new()).unwrap();
        let batch = det.score_series(&test, &CancelToken::new()).unwrap();
        assert!(batch[..70].iter().all(|s| s.is_nan()));
        assert!(batch[70..].iter().all(|s| s.is_finite()));
        assert_eq!(bits(&batch), bits(&streamed(&mut det, &test)));
    }

    #[test]
    fn spike_scores_highest() {
        let train = seasonal_series(1000, 50, 0.1, 1);
        let test = seasonal_with_anomalies(1000, 50, 600, 2000..2000, 2);
        let mut det = HalfSpaceTrees::new(25, 15, 250, 0);
        det.fit(&train, &CancelToken::new()).unwrap();
        let scores = det.score_series(&test, &CancelToken::new()).unwrap();
        let top = argmax_finite(&scores);
        // Beyond the training range a point shares the extreme half-spaces with the largest
        // normal values, so the spike is at the top but may tie with them.
        assert!(
            (scores[600] - scores[top]).abs() < 1e-12,
            "top at {top}: {} vs {}",
            scores[top],
            scores[600]
        );
    }

    #[test]
    fn unfitted_is_an_error() {
        let mut det = HalfSpaceTrees::new(5, 6, 100, 0);
        assert!(
            det.score_series(&seasonal_series(10, 5, 0.1, 1), &CancelToken::new())
                .is_err()
        );
    }
}
