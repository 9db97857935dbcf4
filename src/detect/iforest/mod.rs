//! Isolation forest (Liu, Ting & Zhou 2008) on raw rows (`window = 1`) or on sliding windows of
//! `window` rows flattened over all columns (the peers' layout), fitted on training data.
//!
//! Causal definition: row `t` is scored by the window of rows `t-window+1 ..= t` (its end row),
//! against trees grown in `fit` only; scoring never changes the forest, so streaming and batch
//! agree bit for bit (the per-tree path lengths are summed in tree order in both).
//!
//! Speed: every tree is stored as a *complete* binary tree of depth `ceil(log2(sample_size))`
//! (8 for 256 samples). An external node above the depth limit is padded with pass-through
//! nodes whose leaves all hold its value `depth + c(size)`, so each lookup is exactly `depth`
//! branch-free steps (`child = 2i + 1 + (x >= threshold)`). Batch scoring walks a chunk of
//! windows level by level through one tree at a time (independent iterations, no per-window
//! dependent chain). Fit (trees) and batch scoring (chunks of windows) run in parallel on rayon.
//! Univariate batch scoring uses the faster integer-rank kernel of the `rank` module (exactly
//! the same comparisons, so the same scores).

use rayon::prelude::*;

mod rank;

use super::registry::DetectorEntry;
use super::subseq::{Filler, choose_window, filled, rng_stream};
use super::{DetectError, Detector, DetectorInfo, Family};
use crate::control::CancelToken;
use crate::model::{ParamKind, ParamSpec, Params, Row, Series};

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "window",
        kind: ParamKind::Int {
            min: 0,
            max: 10_000,
            default: 0,
        },
        help: "Rows per sliding window; 1 = score single rows; 0 = the dominant period of the \
               training data (100 if none).",
    },
    ParamSpec {
        name: "n_trees",
        kind: ParamKind::Int {
            min: 1,
            max: 1000,
            default: 100,
        },
        help: "Number of isolation trees.",
    },
    ParamSpec {
        name: "sample_size",
        kind: ParamKind::Int {
            min: 2,
            max: 4096,
            default: 256,
        },
        help: "Training windows drawn (without replacement) to grow each tree.",
    },
];

static INFO: DetectorInfo = DetectorInfo {
    id: "isolation_forest",
    name: "Isolation forest",
    family: Family::Trees,
    multivariate: true,
    streaming: true,
    description: "Random trees isolate unusual windows (or rows) in few splits; the score is \
                  2^(-E[path]/c(n)). Fitted on training data, scores each new window causally.",
    params: PARAMS,
};

/// Registry entry.
pub(super) const ENTRY: DetectorEntry = DetectorEntry { info: &INFO, build };

fn build(params: &Params, seed: u64) -> Result<Box<dyn Detector>, DetectError> {
    Ok(Box::new(IsolationForest::new(
        params.usize("window"),
        params.usize("n_trees"),
        params.usize("sample_size"),
        seed,
    )))
}

/// Windows scored together per parallel task in batch mode (their values, node indices and
/// one tree stay in L1/L2 cache).
const CHUNK: usize = 2048;

/// Average path length of an unsuccessful search in a binary search tree of `n` points.
fn c_factor(n: usize) -> f64 {
    match n {
        0 | 1 => 0.0,
        2 => 1.0,
        _ => {
            let m = (n - 1) as f64;
            2.0 * (m.ln() + 0.577_215_664_901_532_9) - 2.0 * m / n as f64
        }
    }
}

/// One tree in complete-binary-tree layout: `2^depth - 1` internal nodes, `2^depth` leaves.
#[derive(Clone, Debug)]
struct Tree {
    feature: Vec<u32>,
    threshold: Vec<f64>,
    leaf: Vec<f64>,
}

impl Tree {
    /// Path length (with the `c(size)` correction) of one window.
    #[inline]
    fn path(&self, x: &[f64], depth: usize) -> f64 {
        let mut i = 0usize;
        for _ in 0..depth {
            let go_right = x[self.feature[i] as usize] >= self.threshold[i];
            i = 2 * i + 1 + usize::from(go_right);
        }
        self.leaf[i - self.feature.len()]
    }
}

impl Tree {
    /// Sets `idx[j]` to the node window `j` of `chunk` reaches after the top levels (up to 3),
    /// which have only 7 nodes: all their comparisons are made from fixed offsets (no gather)
    /// and the path is selected arithmetically. Returns the number of levels done.
    fn top_levels(&self, chunk: &[f64], d: usize, idx: &mut [u32]) -> usize {
        let node = |k: usize| (self.feature[k] as usize, self.threshold[k]);
        if self.feature.len() < 7 {
            let (f0, t0) = node(0);
            for (j, i) in idx.iter_mut().enumerate() {
                *i = 1 + u32::from(chunk[j * d + f0] >= t0);
            }
            return 1;
        }
        let n: [(usize, f64); 7] = std::array::from_fn(node);
        for (j, i) in idx.iter_mut().enumerate() {
            let x = |k: usize| u32::from(chunk[j * d + n[k].0] >= n[k].1);
            let (c0, c1, c2, c3, c4, c5, c6) = (x(0), x(1), x(2), x(3), x(4), x(5), x(6));
            let c_1 = if c0 == 1 { c2 } else { c1 };
            let low = if c_1 == 1 { c4 } else { c3 };
            let high = if c_1 == 1 { c6 } else { c5 };
            let c_2 = if c0 == 1 { high } else { low };
            *i = 7 + 4 * c0 + 2 * c_1 + c_2;
        }
        3
    }
}

/// Grows one tree from the sampled windows (`rows` are window start rows in `data`).
struct Grower<'a> {
    data: &'a [f64],
    width: usize,
    columns: usize,
    depth: usize,
    tree: Tree,
}

impl Grower<'_> {
    fn value(&self, start: usize, feature: usize) -> f64 {
        self.data[start * self.columns + feature]
    }

    fn grow(&mut self, node: usize, level: usize, rows: &mut [usize], rng: &mut impl rand::Rng) {
        if level < self.depth
            && rows.len() > 1
            && let Some((feature, lo, hi)) = self.pick_feature(rows, rng)
        {
            {
                let threshold = lo + rng.random::<f64>() * (hi - lo);
                let mut split = 0;
                for k in 0..rows.len() {
                    if self.value(rows[k], feature) < threshold {
                        rows.swap(k, split);
                        split += 1;
                    }
                }
                self.tree.feature[node] = feature as u32;
                self.tree.threshold[node] = threshold;
                let (left, right) = rows.split_at_mut(split);
                self.grow(2 * node + 1, level + 1, left, rng);
                self.grow(2 * node + 2, level + 1, right, rng);
                return;
            }
        }
        // External node: pad the subtree below it so every leaf under it holds its value.
        let value = level as f64 + c_factor(rows.len());
        let (mut first, mut count) = (node, 1usize);
        for _ in level..self.depth {
            for n in first..first + count {
                self.tree.feature[n] = 0;
                self.tree.threshold[n] = f64::INFINITY;
            }
            first = 2 * first + 1;
            count *= 2;
        }
        let internal = self.tree.feature.len();
        self.tree.leaf[first - internal..first - internal + count].fill(value);
    }

    /// A random feature that is not constant over `rows`, with its range.
    fn pick_feature(&self, rows: &[usize], rng: &mut impl rand::Rng) -> Option<(usize, f64, f64)> {
        let range = |f: usize| {
            rows.iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &r| {
                    let v = self.value(r, f);
                    (lo.min(v), hi.max(v))
                })
        };
        // A few random draws, then a scan from a random start (all features constant → leaf).
        for _ in 0..8 {
            let f = rng.random_range(0..self.width);
            let (lo, hi) = range(f);
            if hi > lo {
                return Some((f, lo, hi));
            }
        }
        let start = rng.random_range(0..self.width);
        (0..self.width)
            .map(|k| (start + k) % self.width)
            .find_map(|f| {
                let (lo, hi) = range(f);
                (hi > lo).then_some((f, lo, hi))
            })
    }
}

/// The fitted model.
#[derive(Clone, Debug)]
struct Forest {
    window: usize,
    columns: usize,
    depth: usize,
    trees: Vec<Tree>,
    /// `c(sample_size)`: the normaliser of the mean path length.
    norm: f64,
    /// The rank form of the trees for univariate batch scoring (`rank` module), when it applies.
    rank: Option<rank::RankForest>,
}

impl Forest {
    fn score_from_sum(&self, sum: f64) -> f64 {
        (-(sum / self.trees.len() as f64) / self.norm).exp2()
    }

    /// Scores the consecutive windows starting at rows `first_start ..` of the row-major `data`
    /// into `out`. Tree-major and level-synchronous: every window of the chunk takes one step
    /// down the tree per pass, so the passes are independent loads the CPU overlaps freely
    /// (no dependent chain per window). Per window the leaf values are added in tree order, as
    /// `update` does, so the sums are bit-identical.
    fn score_chunk(&self, data: &[f64], first_start: usize, out: &mut [f64], idx: &mut Vec<u32>) {
        let d = self.columns;
        let n = out.len();
        let width = self.window * d;
        let chunk = &data[first_start * d..(first_start + n - 1) * d + width];
        idx.clear();
        idx.resize(n, 0);
        out.fill(0.0);
        for tree in &self.trees {
            let top = tree.top_levels(chunk, d, idx);
            for _ in top..self.depth {
                for (j, i) in idx.iter_mut().enumerate() {
                    let node = *i as usize;
                    let go_right =
                        chunk[j * d + tree.feature[node] as usize] >= tree.threshold[node];
                    *i = 2 * *i + 1 + u32::from(go_right);
                }
            }
            let leaves = &tree.leaf;
            let internal = tree.feature.len();
            for (sum, &i) in out.iter_mut().zip(idx.iter()) {
                *sum += leaves[i as usize - internal];
            }
        }
        for s in out.iter_mut() {
            *s = self.score_from_sum(*s);
        }
    }
}

/// Row-major copy of a series with missing values filled (see `subseq::Filler`).
fn row_major(series: &Series) -> Vec<f64> {
    let d = series.columns().len();
    let mut data = vec![0.0; series.len() * d];
    for (c, column) in series.columns().iter().enumerate() {
        let mut filler = Filler::default();
        for (r, &x) in column.values.iter().enumerate() {
            data[r * d + c] = filler.fill(x);
        }
    }
    data
}

/// Isolation forest detector (see module docs).
#[derive(Clone, Debug)]
pub struct IsolationForest {
    window_param: usize,
    n_trees: usize,
    sample_size: usize,
    seed: u64,
    forest: Option<Forest>,
    /// Mirrored ring of the last `window` rows: every row is stored twice, `window` rows apart,
    /// so the current window is always one contiguous slice.
    ring: Vec<f64>,
    fillers: Vec<Filler>,
    seen: usize,
}

impl IsolationForest {
    /// A forest of `n_trees` trees grown on `sample_size` windows of `window` rows each
    /// (`0` = dominant period of the training data), seeded by `seed`.
    pub fn new(window: usize, n_trees: usize, sample_size: usize, seed: u64) -> Self {
        Self {
            window_param: window,
            n_trees: n_trees.max(1),
            sample_size: sample_size.max(2),
            seed,
            forest: None,
            ring: Vec::new(),
            fillers: Vec::new(),
            seen: 0,
        }
    }

    /// The window in use (known after `fit`).
    pub fn window(&self) -> Option<usize> {
        self.forest.as_ref().map(|f| f.window)
    }

    fn fitted(&self) -> Result<&Forest, DetectError> {
        self.forest.as_ref().ok_or_else(|| DetectError::Input {
            detector: INFO.id,
            message: "not fitted: call fit on training data first".to_owned(),
        })
    }

    /// Appends a row to the ring; true once a whole window is available.
    fn push(&mut self, values: &[f64], w: usize, d: usize) -> bool {
        let slot = self.seen % w;
        for (c, (&x, filler)) in values.iter().zip(&mut self.fillers).enumerate() {
            let v = filler.fill(x);
            self.ring[slot * d + c] = v;
            self.ring[(slot + w) * d + c] = v;
        }
        self.seen += 1;
        self.seen >= w
    }

    fn check_width(forest: &Forest, width: usize, row: usize) -> Result<(), DetectError> {
        if width == forest.columns {
            Ok(())
        } else {
            Err(DetectError::Input {
                detector: INFO.id,
                message: format!(
                    "row {row} has {width} values, the model was fitted on {}",
                    forest.columns
                ),
            })
        }
    }
}

impl Detector for IsolationForest {
    fn info(&self) -> &'static DetectorInfo {
        &INFO
    }

    fn fit(&mut self, train: &Series, cancel: &CancelToken) -> Result<(), DetectError> {
        let first = train.columns().first().map(|c| c.values.as_slice());
        let window = choose_window(self.window_param, first);
        let columns = train.columns().len();
        if train.len() < window + 1 {
            return Err(DetectError::Input {
                detector: INFO.id,
                message: format!(
                    "training data has {} rows, need at least {}",
                    train.len(),
                    window + 1
                ),
            });
        }
        let data = row_major(train);
        let n_windows = train.len() - window + 1;
        let sample = self.sample_size.min(n_windows);
        let depth = (usize::BITS - (sample - 1).leading_zeros()).max(1) as usize;
        let width = window * columns;
        let trees: Vec<Tree> = (0..self.n_trees)
            .into_par_iter()
            .map(|t| {
                if cancel.is_cancelled() {
                    return Err(DetectError::Cancelled);
                }
                let mut rng = rng_stream(self.seed, t as u64);
                let mut rows = rand::seq::index::sample(&mut rng, n_windows, sample).into_vec();
                let internal = (1usize << depth) - 1;
                let mut grower = Grower {
                    data: &data,
                    width,
                    columns,
                    depth,
                    tree: Tree {
                        feature: vec![0; internal],
                        threshold: vec![f64::INFINITY; internal],
                        leaf: vec![0.0; internal + 1],
                    },
                };
                grower.grow(0, 0, &mut rows, &mut rng);
                Ok(grower.tree)
            })
            .collect::<Result<_, _>>()?;
        let rank = if columns == 1 {
            rank::RankForest::new(&trees, depth, width)
        } else {
            None
        };
        self.forest = Some(Forest {
            window,
            columns,
            depth,
            trees,
            norm: c_factor(sample),
            rank,
        });
        self.reset();
        Ok(())
    }

    fn reset(&mut self) {
        let (window, columns) = self
            .forest
            .as_ref()
            .map_or((0, 0), |f| (f.window, f.columns));
        self.ring = vec![0.0; 2 * window * columns];
        self.fillers = vec![Filler::default(); columns];
        self.seen = 0;
    }

    fn update(&mut self, row: Row<'_>) -> Result<f64, DetectError> {
        let forest = self.fitted()?;
        Self::check_width(forest, row.values.len(), row.index)?;
        let (w, d, depth) = (forest.window, forest.columns, forest.depth);
        if !self.push(row.values, w, d) {
            return Ok(f64::NAN);
        }
        let Some(forest) = self.forest.as_ref() else {
            return Ok(f64::NAN);
        };
        let start = self.seen % w;
        let x = &self.ring[start * d..(start + w) * d];
        let mut sum = 0.0;
        for tree in &forest.trees {
            sum += tree.path(x, depth);
        }
        Ok(forest.score_from_sum(sum))
    }

    fn warm_up_rows(&self) -> Option<usize> {
        self.forest.as_ref().map(|f| f.window - 1)
    }

    /// Parallel over chunks of windows, tree-major inside a chunk; per window the path lengths
    /// are added in tree order exactly as `update` does, so the result is bit-identical.
    fn score_series(
        &mut self,
        series: &Series,
        cancel: &CancelToken,
    ) -> Result<Vec<f64>, DetectError> {
        let forest = self.fitted()?;
        Self::check_width(forest, series.columns().len(), 0)?;
        let w = forest.window;
        let n = series.len();
        let mut scores = vec![f64::NAN; n];
        if n >= w
            && let Some(ranked) = forest.rank.as_ref()
            && let [column] = series.columns()
        {
            // Univariate: the rank kernel (same comparisons, so the same bits as `update`).
            let filled = filled(&column.values);
            let ranks: Vec<i16> = filled.par_iter().map(|&x| ranked.rank(x)).collect();
            scores[w - 1..]
                .par_chunks_mut(CHUNK)
                .enumerate()
                .try_for_each_init(Vec::new, |idx, (chunk, out)| {
                    if cancel.is_cancelled() {
                        return Err(DetectError::Cancelled);
                    }
                    ranked.path_sums(&ranks, chunk * CHUNK, w, out, idx);
                    for s in out.iter_mut() {
                        *s = forest.score_from_sum(*s);
                    }
                    Ok(())
                })?;
        } else if n >= w {
            let data = row_major(series);
            scores[w - 1..]
                .par_chunks_mut(CHUNK)
                .enumerate()
                .try_for_each_init(Vec::new, |idx, (chunk, out)| {
                    if cancel.is_cancelled() {
                        return Err(DetectError::Cancelled);
                    }
                    forest.score_chunk(&data, chunk * CHUNK, out, idx);
                    Ok(())
                })?;
        }
        // Leave the streaming state as if the rows had been fed one by one.
        self.reset();
        let mut buf = Vec::new();
        for index in n.saturating_sub(w)..n {
            if let Some(row) = series.row_into(index, &mut buf) {
                self.push(row.values, w, row.values.len());
            }
        }
        Ok(scores)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{bits, streamed};
    use crate::testing::{seasonal_series, seasonal_with_anomalies};

    #[test]
    fn c_factor_known_values() {
        assert!((c_factor(256) - 10.244_770_920_116_851).abs() < 1e-9);
        assert!((c_factor(2) - 1.0).abs() < f64::EPSILON);
    }

    #[test]
    fn batch_equals_streaming_and_seed_repeats() {
        let series = seasonal_with_anomalies(1500, 40, 900, 1200..1230, 3);
        for window in [1, 16] {
            let mut det = IsolationForest::new(window, 20, 64, 9);
            det.fit(&series, &CancelToken::new()).unwrap();
            let batch = det.score_series(&series, &CancelToken::new()).unwrap();
            let stream = streamed(&mut det, &series);
            assert_eq!(bits(&batch), bits(&stream));
            assert!(batch[..window - 1].iter().all(|s| s.is_nan()));
            assert!(
                batch[window - 1..]
                    .iter()
                    .all(|s| s.is_finite() && *s > 0.0 && *s < 1.0)
            );
            let mut again = IsolationForest::new(window, 20, 64, 9);
            again.fit(&series, &CancelToken::new()).unwrap();
            assert_eq!(
                bits(&again.score_series(&series, &CancelToken::new()).unwrap()),
                bits(&batch)
            );
        }
    }

    #[test]
    fn rank_kernel_equals_streaming_over_many_chunks() {
        // More windows than one chunk, a tail that is not a multiple of the lanes, a NaN.
        let mut series = seasonal_with_anomalies(CHUNK * 2 + 157, 37, 3000, 900..960, 5);
        let mut values = series.columns()[0].values.clone();
        values[1234] = f64::NAN;
        series = Series::from_values("v", values);
        let mut det = IsolationForest::new(30, 25, 128, 3);
        det.fit(&series, &CancelToken::new()).unwrap();
        assert!(det.forest.as_ref().unwrap().rank.is_some());
        let batch = det.score_series(&series, &CancelToken::new()).unwrap();
        assert_eq!(bits(&batch), bits(&streamed(&mut det, &series)));
    }

    #[test]
    fn spike_ranks_in_the_top_percent_in_point_mode() {
        // Values beyond the training range share the extreme leaves (as in scikit-learn), so a
        // spike ranks with the most extreme normal values rather than strictly above them.
        let train = seasonal_series(2000, 50, 0.1, 1);
        let test = seasonal_with_anomalies(1000, 50, 500, 2000..2000, 2);
        let mut det = IsolationForest::new(1, 100, 256, 0);
        det.fit(&train, &CancelToken::new()).unwrap();
        let scores = det.score_series(&test, &CancelToken::new()).unwrap();
        let above = scores.iter().filter(|&&s| s > scores[500]).count();
        assert!(above <= 10, "{above} rows score above the spike");
    }

    #[test]
    fn windows_catch_a_level_shift() {
        let train = seasonal_series(3000, 50, 0.1, 1);
        let test = seasonal_with_anomalies(1500, 50, 2000, 800..900, 2);
        let mut det = IsolationForest::new(0, 100, 256, 0);
        det.fit(&train, &CancelToken::new()).unwrap();
        assert_eq!(det.window(), Some(50));
        let scores = det.score_series(&test, &CancelToken::new()).unwrap();
        let shifted = scores[820..900]
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min);
        let normal = scores[100..700].iter().copied().fold(0.0, f64::max);
        assert!(shifted > normal, "{shifted} <= {normal}");
    }

    #[test]
    fn unfitted_or_wrong_width_is_an_error() {
        let series = seasonal_series(300, 20, 0.1, 1);
        let mut det = IsolationForest::new(4, 10, 32, 0);
        assert!(det.score_series(&series, &CancelToken::new()).is_err());
        assert!(
            det.fit(&Series::from_values("v", vec![1.0; 3]), &CancelToken::new())
                .is_err()
        );
        det.fit(&series, &CancelToken::new()).unwrap();
        let row = Row {
            index: 0,
            ts: crate::model::Timestamp(0),
            values: &[1.0, 2.0],
        };
        assert!(det.update(row).is_err());
    }

    #[test]
    fn constant_training_data_gives_finite_scores() {
        let series = Series::from_values("v", vec![5.0; 200]);
        let mut det = IsolationForest::new(1, 10, 32, 0);
        det.fit(&series, &CancelToken::new()).unwrap();
        let scores = det.score_series(&series, &CancelToken::new()).unwrap();
        assert!(scores.iter().all(|s| s.is_finite()));
    }
}
