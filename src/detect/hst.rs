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
//! training rows through the model; `reset` returns to that warmed state. The trees learn as they
//! go, so batch runs exactly the same sequence: each tree is independent, so `score_series` runs
//! groups of trees in parallel over the whole series and adds their integer masses (exact in any
//! order, hence bit-identical to `update`).
//!
//! Speed: the current window's points are kept, and at a swap the new reference masses are
//! computed by recursive partition only where they can be read (below a node whose mass is at
//! least the size limit), instead of incrementing every node on every path (15 levels).

use rayon::prelude::*;

use super::registry::DetectorEntry;
use super::subseq::{Filler, rng_stream};
use super::{DetectError, Detector, DetectorInfo, Family};
use crate::control::CancelToken;
use crate::model::{ParamKind, ParamSpec, Params, Row, Series};

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

/// river's split padding: split points are drawn from the middle 70 % of a node's range.
const PADDING: f64 = 0.15;

/// One tree: `2^height - 1` internal nodes then leaves, heap order.
#[derive(Clone, Debug)]
struct HsTree {
    feature: Vec<u32>,
    threshold: Vec<f64>,
    r_mass: Vec<u32>,
}

impl HsTree {
    fn grow(columns: usize, height: usize, rng: &mut impl rand::Rng) -> Self {
        let internal = (1usize << height) - 1;
        let mut tree = Self {
            feature: vec![0; internal],
            threshold: vec![0.0; internal],
            r_mass: vec![0; 2 * internal + 1],
        };
        // Tan et al.'s workspace: around a random point s of the (scaled) training range,
        // s ± 2·max(s, 1 - s), so values beyond the training range fall into half-spaces of
        // their own instead of sharing the extreme ones with the largest normal values.
        let mut limits: Vec<(f64, f64)> = (0..columns)
            .map(|_| {
                let s = rng.random::<f64>();
                let r = 2.0 * s.max(1.0 - s);
                (s - r, s + r)
            })
            .collect();
        tree.split(0, &mut limits, rng);
        tree
    }

    fn split(&mut self, node: usize, limits: &mut [(f64, f64)], rng: &mut impl rand::Rng) {
        if node >= self.feature.len() {
            return;
        }
        // Feature drawn with probability proportional to its current width (river).
        let total: f64 = limits.iter().map(|(a, b)| b - a).sum();
        let mut pick = rng.random::<f64>() * total;
        let mut feature = limits.len() - 1;
        for (f, (a, b)) in limits.iter().enumerate() {
            if pick < b - a {
                feature = f;
                break;
            }
            pick -= b - a;
        }
        let (a, b) = limits[feature];
        let at = a + PADDING * (b - a) + rng.random::<f64>() * (1.0 - 2.0 * PADDING) * (b - a);
        self.feature[node] = feature as u32;
        self.threshold[node] = at;
        limits[feature] = (a, at);
        self.split(2 * node + 1, limits, rng);
        limits[feature] = (at, b);
        self.split(2 * node + 2, limits, rng);
        limits[feature] = (a, b);
    }

    /// River's score of one point before normalisation (an exact integer).
    #[inline]
    fn walk(&self, x: &[f64], height: usize, size_limit: u32) -> u64 {
        let mut node = 0;
        let mut total = 0u64;
        for depth in 0..=height {
            let mass = self.r_mass[node];
            total += u64::from(mass) << depth;
            if mass < size_limit || depth == height {
                break;
            }
            let right = x[self.feature[node] as usize] >= self.threshold[node];
            node = 2 * node + 1 + usize::from(right);
        }
        total
    }

    /// Adds the walk totals of consecutive rows (row-major, `d` values each) to `out`; the same
    /// integers as [`Self::walk`]. Level-synchronous and branch-free: each pass moves every row
    /// one level down; a row whose walk has stopped keeps descending with its additions masked
    /// to zero, so data-dependent stops cost no mispredictions and the rows' loads overlap.
    /// Stops early once no row is still walking.
    fn walk_rows(
        &self,
        rows: &[f64],
        d: usize,
        height: usize,
        size_limit: u32,
        out: &mut [u64],
        scratch: &mut WalkScratch,
    ) {
        let WalkScratch { node, live } = scratch;
        node.clear();
        node.resize(out.len(), 0);
        live.clear();
        live.resize(out.len(), u64::MAX);
        for depth in 0..height {
            let mut any = 0u64;
            for (r, ((o, at), m)) in out
                .iter_mut()
                .zip(node.iter_mut())
                .zip(live.iter_mut())
                .enumerate()
            {
                let i = *at as usize;
                let mass = self.r_mass[i];
                *o += (u64::from(mass) << depth) & *m;
                *m = if mass >= size_limit { *m } else { 0 };
                any |= *m;
                let right = rows[r * d + self.feature[i] as usize] >= self.threshold[i];
                *at = (2 * i + 1 + usize::from(right)) as u32;
            }
            if any == 0 {
                return;
            }
        }
        for ((o, &at), &m) in out.iter_mut().zip(node.iter()).zip(live.iter()) {
            *o += (u64::from(self.r_mass[at as usize]) << height) & m;
        }
    }

    /// Makes `points` (one complete window, row-major) the new reference profile. Masses are
    /// only set where a walk can read them: below nodes holding at least `size_limit` points.
    fn swap(&mut self, points: &[f64], columns: usize, size_limit: u32, scratch: &mut Vec<u32>) {
        scratch.clear();
        scratch.extend(0..(points.len() / columns) as u32);
        self.assign(0, scratch, points, columns, size_limit);
    }

    fn assign(&mut self, node: usize, idx: &mut [u32], points: &[f64], d: usize, size_limit: u32) {
        let mass = idx.len() as u32;
        self.r_mass[node] = mass;
        if mass < size_limit || node >= self.feature.len() {
            return;
        }
        let (f, t) = (self.feature[node] as usize, self.threshold[node]);
        // Branch-free Lomuto partition (the comparisons are unpredictable).
        let mut split = 0;
        for k in 0..idx.len() {
            let v = idx[k];
            let left = points[v as usize * d + f] < t;
            idx[k] = idx[split];
            idx[split] = v;
            split += usize::from(left);
        }
        let (left, right) = idx.split_at_mut(split);
        self.assign(2 * node + 1, left, points, d, size_limit);
        self.assign(2 * node + 2, right, points, d, size_limit);
    }
}

/// Reusable buffers of [`HsTree::walk_rows`]: each row's node and still-walking mask.
#[derive(Debug, Default)]
struct WalkScratch {
    node: Vec<u32>,
    live: Vec<u64>,
}

/// Everything that changes while streaming, snapshot after `fit` for `reset`.
#[derive(Clone, Debug)]
struct Stream {
    masses: Vec<Vec<u32>>,
    /// Scaled points of the current (incomplete) window, row-major.
    window: Vec<f64>,
    fillers: Vec<Filler>,
    /// No reference window yet.
    first: bool,
}

/// The fitted model: scaling, trees and the warmed state.
#[derive(Clone, Debug)]
struct Model {
    columns: usize,
    low: Vec<f64>,
    inv_span: Vec<f64>,
    trees: Vec<HsTree>,
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
    /// always. Trees run in parallel groups; see module docs.
    fn run(
        &mut self,
        rows: &[f64],
        out: Option<&mut [f64]>,
        cancel: &CancelToken,
    ) -> Result<(), DetectError> {
        let (height, limit, w, max_total) = (
            self.height,
            self.size_limit(),
            self.window_size,
            self.max_total(),
        );
        let model = self.model.as_mut().ok_or_else(Self::not_fitted)?;
        let d = model.columns;
        let n = rows.len() / d;
        let mut combined = std::mem::take(&mut model.window);
        let c0 = combined.len() / d;
        combined.extend_from_slice(rows);
        // Rows scored: all when a reference exists, else those after the first completed window.
        let first_scored = if model.first { (w - c0).min(n) } else { 0 };
        let scoring = out.is_some();
        let groups = rayon::current_num_threads().max(1);
        let per_group = model.trees.len().div_ceil(groups);
        let totals: Vec<u64> = model
            .trees
            .par_chunks_mut(per_group)
            .map(|group| {
                let mut acc = vec![0u64; if scoring { n } else { 0 }];
                let mut scratch = Vec::new();
                let mut walk = WalkScratch::default();
                for tree in group {
                    if cancel.is_cancelled() {
                        break;
                    }
                    // Segments of rows that share one reference profile (between swaps).
                    let mut r0 = 0;
                    let mut next_swap = w - c0 % w; // rows until the current window completes
                    while r0 < n {
                        let r1 = (r0 + next_swap).min(n);
                        if scoring {
                            let from = r0.max(first_scored.min(r1));
                            tree.walk_rows(
                                &combined[(c0 + from) * d..(c0 + r1) * d],
                                d,
                                height,
                                limit,
                                &mut acc[from..r1],
                                &mut walk,
                            );
                        }
                        if r0 + next_swap <= n {
                            let k = c0 + r1 - 1;
                            tree.swap(
                                &combined[(k + 1 - w) * d..(k + 1) * d],
                                d,
                                limit,
                                &mut scratch,
                            );
                        }
                        r0 = r1;
                        next_swap = w;
                    }
                }
                acc
            })
            .reduce(Vec::new, |mut a, b| {
                if a.is_empty() {
                    return b;
                }
                for (x, y) in a.iter_mut().zip(b) {
                    *x += y;
                }
                a
            });
        if cancel.is_cancelled() {
            return Err(DetectError::Cancelled);
        }
        if let Some(out) = out {
            for (r, o) in out.iter_mut().enumerate() {
                *o = if r < first_scored {
                    f64::NAN
                } else {
                    1.0 - totals[r] as f64 / max_total
                };
            }
        }
        let total = c0 + n;
        if total >= w {
            model.first = false;
        }
        model.window = combined.split_off(total / w * w * d);
        Ok(())
    }

    fn restore(model: &mut Model) {
        let state = model.fitted_state.clone();
        for (tree, masses) in model.trees.iter_mut().zip(state.masses) {
            tree.r_mass = masses;
        }
        model.window = state.window;
        model.fillers = state.fillers;
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
        let empty = Stream {
            masses: Vec::new(),
            window: Vec::new(),
            fillers: vec![Filler::default(); d],
            first: true,
        };
        let mut model = Model {
            columns: d,
            low,
            inv_span,
            trees,
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
                masses: model.trees.iter().map(|t| t.r_mass.clone()).collect(),
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
        let (height, limit, w, max_total) = (
            self.height,
            self.size_limit(),
            self.window_size,
            self.max_total(),
        );
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
            let total: u64 = model.trees.iter().map(|t| t.walk(x, height, limit)).sum();
            1.0 - total as f64 / max_total
        };
        if model.window.len() == w * d {
            for tree in &mut model.trees {
                tree.swap(&model.window, d, limit, &mut self.scratch);
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
    use rand::Rng as _;

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
    fn lazy_masses_match_full_counting() {
        // Full counting (river's learn_one on every node) must give the same walk totals.
        let mut rng = rng_stream(3, 0);
        let mut tree = HsTree::grow(2, 6, &mut rng);
        let points: Vec<f64> = (0..200).map(|_| rng.random::<f64>()).collect();
        let mut full = vec![0u32; tree.r_mass.len()];
        for p in points.chunks(2) {
            let mut node = 0;
            loop {
                full[node] += 1;
                if node >= tree.feature.len() {
                    break;
                }
                node = 2 * node
                    + 1
                    + usize::from(p[tree.feature[node] as usize] >= tree.threshold[node]);
            }
        }
        tree.swap(&points, 2, 10, &mut Vec::new());
        let mut reference = tree.clone();
        reference.r_mass = full;
        for q in points
            .chunks(2)
            .chain([[0.5, 0.5].as_slice(), [2.0, -1.0].as_slice()])
        {
            assert_eq!(tree.walk(q, 6, 10), reference.walk(q, 6, 10));
        }
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
