//! Robust random cut forest (Guha et al. 2016), streaming as in the `rrcf` package's example:
//! each row forms a shingle (the last `shingle` rows, all columns, oldest first); every tree
//! forgets its oldest point once it holds `tree_size`, inserts the new one, and the score is the
//! new point's collusive displacement (CoDisp) averaged over the trees. The forest learns as it
//! goes; rows before the first full shingle are NaN.
//!
//! Attribution: per tree, the CoDisp is split over the shingle's dimensions in proportion to how
//! far the point lies outside the box of the subtree it displaced (the node achieving the CoDisp);
//! dimensions are summed per column, so [`Detector::column_scores`] returns per-column
//! contributions of the last row that add up to its score.
//!
//! `fit` streams the last `tree_size + shingle - 1` training rows into a fresh forest (the point
//! set an endless stream would hold) and `reset` returns to that state. Batch runs the same
//! sequence: rows in chunks, trees in parallel within a chunk, CoDisp values added in tree order,
//! so it is bit-identical to `update`.

use rayon::prelude::*;

use super::registry::DetectorEntry;
use super::rrcf_tree::RcTree;
use super::subseq::{Filler, rng_stream};
use super::{CANCEL_CHECK_ROWS, DetectError, Detector, DetectorInfo, Family};
use crate::control::CancelToken;
use crate::model::{ParamKind, ParamSpec, Params, Row, Series};

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "n_trees",
        kind: ParamKind::Int {
            min: 1,
            max: 500,
            default: 50,
        },
        help: "Number of trees.",
    },
    ParamSpec {
        name: "tree_size",
        kind: ParamKind::Int {
            min: 4,
            max: 4096,
            default: 256,
        },
        help: "Points each tree keeps (the most recent ones).",
    },
    ParamSpec {
        name: "shingle",
        kind: ParamKind::Int {
            min: 1,
            max: 1000,
            default: 4,
        },
        help: "Consecutive rows that form one point.",
    },
];

static INFO: DetectorInfo = DetectorInfo {
    id: "rrcf",
    name: "Robust random cut forest",
    family: Family::Trees,
    multivariate: true,
    streaming: true,
    description: "Streaming forest of random cut trees over shingled rows; the score is the \
                  collusive displacement of the newest point. Explains itself per column.",
    params: PARAMS,
};

/// Registry entry.
pub(super) const ENTRY: DetectorEntry = DetectorEntry { info: &INFO, build };

fn build(params: &Params, seed: u64) -> Result<Box<dyn Detector>, DetectError> {
    Ok(Box::new(RobustRandomCutForest::new(
        params.usize("n_trees"),
        params.usize("tree_size"),
        params.usize("shingle"),
        seed,
    )))
}

/// Rows per batch chunk (trees run in parallel within a chunk).
const CHUNK: usize = 2048;

/// Everything that changes while streaming.
#[derive(Clone, Debug)]
struct State {
    columns: usize,
    trees: Vec<RcTree>,
    /// Mirrored ring of the last `shingle` rows (row-major).
    ring: Vec<f64>,
    fillers: Vec<Filler>,
    rows: usize,
    next_id: usize,
}

/// Robust random cut forest detector (see module docs).
#[derive(Clone, Debug)]
pub struct RobustRandomCutForest {
    n_trees: usize,
    tree_size: usize,
    shingle: usize,
    seed: u64,
    fitted: Option<State>,
    state: Option<State>,
    attribution: Vec<f64>,
}

impl RobustRandomCutForest {
    /// `n_trees` trees of `tree_size` points over shingles of `shingle` rows.
    pub fn new(n_trees: usize, tree_size: usize, shingle: usize, seed: u64) -> Self {
        Self {
            n_trees: n_trees.max(1),
            tree_size: tree_size.max(4),
            shingle: shingle.max(1),
            seed,
            fitted: None,
            state: None,
            attribution: Vec::new(),
        }
    }

    fn fresh(&self, columns: usize) -> State {
        let dims = columns * self.shingle;
        State {
            columns,
            trees: (0..self.n_trees)
                .map(|t| RcTree::new(dims, self.tree_size, rng_stream(self.seed, t as u64)))
                .collect(),
            ring: vec![0.0; 2 * self.shingle * columns],
            fillers: vec![Filler::default(); columns],
            rows: 0,
            next_id: 0,
        }
    }

    fn state_for(&mut self, columns: usize, row: usize) -> Result<&mut State, DetectError> {
        if self.state.is_none() {
            self.state = Some(self.fresh(columns));
        }
        match self.state.as_mut() {
            Some(state) if state.columns == columns => Ok(state),
            Some(state) => Err(DetectError::Input {
                detector: INFO.id,
                message: format!("row {row} has {columns} values, expected {}", state.columns),
            }),
            None => Err(DetectError::Input {
                detector: INFO.id,
                message: "no state".to_owned(),
            }),
        }
    }

    /// Adds a row to the shingle ring; the full shingle (oldest first) once there is one.
    fn push_row(state: &mut State, values: &[f64], shingle: usize) -> Option<Vec<f64>> {
        let d = state.columns;
        let slot = state.rows % shingle;
        for (c, (&x, filler)) in values.iter().zip(&mut state.fillers).enumerate() {
            let v = filler.fill(x);
            state.ring[slot * d + c] = v;
            state.ring[(slot + shingle) * d + c] = v;
        }
        state.rows += 1;
        if state.rows < shingle {
            return None;
        }
        let start = state.rows % shingle;
        Some(state.ring[start * d..(start + shingle) * d].to_vec())
    }

    /// The per-column attribution of the last scored row.
    pub fn last_attribution(&self) -> Option<&[f64]> {
        (!self.attribution.is_empty()).then_some(self.attribution.as_slice())
    }

    /// Sums shingle dimensions per column and averages over trees.
    fn fold_attribution(&mut self, dims: &[f64], columns: usize) {
        self.attribution = vec![0.0; columns];
        for (i, v) in dims.iter().enumerate() {
            self.attribution[i % columns] += v / self.n_trees as f64;
        }
    }
}

impl Detector for RobustRandomCutForest {
    fn info(&self) -> &'static DetectorInfo {
        &INFO
    }

    fn fit(&mut self, train: &Series, cancel: &CancelToken) -> Result<(), DetectError> {
        let columns = train.columns().len();
        self.state = Some(self.fresh(columns));
        let keep = self.tree_size + self.shingle - 1;
        let tail = Series::new(
            train.timestamps()[train.len().saturating_sub(keep)..].to_vec(),
            train
                .columns()
                .iter()
                .map(|c| {
                    crate::model::Column::new(
                        c.name.clone(),
                        c.values[c.values.len().saturating_sub(keep)..].to_vec(),
                    )
                })
                .collect(),
            None,
        )
        .map_err(|e| DetectError::Input {
            detector: INFO.id,
            message: e.to_string(),
        })?;
        self.run(&tail, cancel)?;
        self.fitted = self.state.clone();
        self.attribution.clear();
        Ok(())
    }

    fn reset(&mut self) {
        self.state = self.fitted.clone();
        self.attribution.clear();
    }

    fn update(&mut self, row: Row<'_>) -> Result<f64, DetectError> {
        let (shingle, tree_size) = (self.shingle, self.tree_size);
        let columns = row.values.len();
        let state = self.state_for(columns, row.index)?;
        let Some(point) = Self::push_row(state, row.values, shingle) else {
            self.attribution = vec![f64::NAN; columns];
            return Ok(f64::NAN);
        };
        let id = state.next_id;
        state.next_id += 1;
        let mut dims = vec![0.0; point.len()];
        let mut sum = 0.0;
        for tree in &mut state.trees {
            if id >= tree_size {
                tree.forget(id - tree_size);
            }
            tree.insert(id, &point);
            sum += tree.codisp(id, Some(&mut dims));
        }
        let score = sum / self.n_trees as f64;
        self.fold_attribution(&dims, columns);
        Ok(score)
    }

    fn score_series(
        &mut self,
        series: &Series,
        cancel: &CancelToken,
    ) -> Result<Vec<f64>, DetectError> {
        self.reset();
        self.run(series, cancel)
    }

    fn warm_up_rows(&self) -> Option<usize> {
        Some(self.shingle - 1)
    }

    fn column_scores(&self) -> Option<&[f64]> {
        self.last_attribution()
    }
}

impl RobustRandomCutForest {
    /// Streams `series` from the current state: chunks of rows, trees in parallel per chunk.
    fn run(&mut self, series: &Series, cancel: &CancelToken) -> Result<Vec<f64>, DetectError> {
        let (shingle, tree_size, n_trees) = (self.shingle, self.tree_size, self.n_trees);
        let columns = series.columns().len();
        let n = series.len();
        let mut scores = vec![f64::NAN; n];
        if n == 0 {
            return Ok(scores);
        }
        let state = self.state_for(columns, 0)?;
        let mut buf = Vec::with_capacity(columns);
        let mut last_dims = None;
        for start in (0..n).step_by(CHUNK) {
            if (start / CHUNK).is_multiple_of((CANCEL_CHECK_ROWS / CHUNK).max(1))
                && cancel.is_cancelled()
            {
                return Err(DetectError::Cancelled);
            }
            let end = (start + CHUNK).min(n);
            // Shingled points of the chunk, with their ids and rows.
            let mut points: Vec<(usize, usize, Vec<f64>)> = Vec::with_capacity(end - start);
            for index in start..end {
                if let Some(row) = series.row_into(index, &mut buf)
                    && let Some(point) = Self::push_row(state, row.values, shingle)
                {
                    points.push((index, state.next_id, point));
                    state.next_id += 1;
                }
            }
            let want_attribution = end == n;
            let per_tree: Vec<(Vec<f64>, Option<Vec<f64>>)> = state
                .trees
                .par_iter_mut()
                .map(|tree| {
                    let mut codisp = Vec::with_capacity(points.len());
                    let mut dims = None;
                    for (k, (_, id, point)) in points.iter().enumerate() {
                        if *id >= tree_size {
                            tree.forget(id - tree_size);
                        }
                        tree.insert(*id, point);
                        if want_attribution && k + 1 == points.len() {
                            let mut d = vec![0.0; point.len()];
                            codisp.push(tree.codisp(*id, Some(&mut d)));
                            dims = Some(d);
                        } else {
                            codisp.push(tree.codisp(*id, None));
                        }
                    }
                    (codisp, dims)
                })
                .collect();
            for (k, (index, _, _)) in points.iter().enumerate() {
                let mut sum = 0.0;
                for (codisp, _) in &per_tree {
                    sum += codisp[k];
                }
                scores[*index] = sum / n_trees as f64;
            }
            if want_attribution && !points.is_empty() {
                // Tree order, as `update` accumulates.
                let mut total = vec![0.0; points[0].2.len()];
                for (_, dims) in &per_tree {
                    if let Some(d) = dims {
                        for (t, v) in total.iter_mut().zip(d) {
                            *t += v;
                        }
                    }
                }
                last_dims = Some(total);
            }
        }
        match last_dims {
            Some(dims) => self.fold_attribution(&dims, columns),
            None => self.attribution = vec![f64::NAN; columns],
        }
        Ok(scores)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::subseq::argmax_finite;
    use crate::model::{Column, Timestamp};
    use crate::testing::bits;
    use crate::testing::{seasonal_series, seasonal_values, seasonal_with_anomalies};

    fn streamed(det: &mut RobustRandomCutForest, series: &Series) -> (Vec<f64>, Vec<f64>) {
        det.reset();
        let mut buf = Vec::new();
        let scores = (0..series.len())
            .map(|i| det.update(series.row_into(i, &mut buf).unwrap()).unwrap())
            .collect();
        (scores, det.column_scores().unwrap().to_vec())
    }

    #[test]
    fn batch_equals_streaming_fitted_and_not() {
        let train = seasonal_series(500, 40, 0.1, 1);
        let test = seasonal_with_anomalies(5000, 40, 3000, 4000..4050, 2);
        for fit in [false, true] {
            let mut det = RobustRandomCutForest::new(8, 64, 3, 5);
            if fit {
                det.fit(&train, &CancelToken::new()).unwrap();
            }
            let batch = det.score_series(&test, &CancelToken::new()).unwrap();
            let batch_attr = det.column_scores().unwrap().to_vec();
            let (stream, attr) = streamed(&mut det, &test);
            assert_eq!(bits(&batch), bits(&stream));
            assert_eq!(bits(&batch_attr), bits(&attr));
            let warm = if fit { 0 } else { 2 };
            assert!(batch[..warm].iter().all(|s| s.is_nan()));
            assert!(batch[warm..].iter().all(|s| s.is_finite()));
        }
    }

    #[test]
    fn spike_scores_highest_and_seed_repeats() {
        let train = seasonal_series(1000, 40, 0.1, 1);
        let test = seasonal_with_anomalies(1500, 40, 900, 3000..3000, 2);
        let mut det = RobustRandomCutForest::new(50, 256, 4, 0);
        det.fit(&train, &CancelToken::new()).unwrap();
        let scores = det.score_series(&test, &CancelToken::new()).unwrap();
        assert!(
            (900..904).contains(&argmax_finite(&scores)),
            "top at {}",
            argmax_finite(&scores)
        );
        let mut again = RobustRandomCutForest::new(50, 256, 4, 0);
        again.fit(&train, &CancelToken::new()).unwrap();
        assert_eq!(
            bits(&again.score_series(&test, &CancelToken::new()).unwrap()),
            bits(&scores)
        );
    }

    #[test]
    fn attribution_names_the_anomalous_column() {
        let a = seasonal_values(800, 40, 0.05, 1);
        let mut b = seasonal_values(800, 40, 0.05, 2);
        b[799] += 6.0;
        let series = Series::new(
            (0..800).map(Timestamp).collect(),
            vec![Column::new("a", a), Column::new("b", b)],
            None,
        )
        .unwrap();
        let mut det = RobustRandomCutForest::new(30, 128, 2, 0);
        let scores = det.score_series(&series, &CancelToken::new()).unwrap();
        let attr = det.column_scores().unwrap();
        assert!(attr[1] > 0.9 * scores[799], "{attr:?} vs {}", scores[799]);
        assert!((attr[0] + attr[1] - scores[799]).abs() < 1e-9);
    }
}
