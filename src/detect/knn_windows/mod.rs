//! Exact k-nearest-neighbour search of sliding windows against a reference set of training
//! windows, shared by the sub-sequence kNN and LOF detectors.
//!
//! Reference set: the training column is standardised (training mean and standard deviation)
//! and cut into windows of `m` rows. When there are more than `max_train` windows, the set is
//! `B` evenly spaced *blocks of consecutive windows* (deterministic subsampling that keeps local
//! variety and keeps the sliding structure).
//!
//! Why blocks: the dot product of the query window ending at `t` with reference window `s` of a
//! block follows from the pair `(t-1, s-1)` in O(1) (`dot - out*y[s-1] + in*y[s-1+m]`), so a
//! query costs O(reference size), not O(reference size × m). The dots are recomputed directly
//! at every [`ANCHOR`]-th query (bounds rounding drift), which also makes the batch path
//! parallel: chunks of `ANCHOR` queries start from an anchor and run exactly the streaming code,
//! so batch and streaming are bit-identical by construction.
//!
//! The inner loop (advance the products, compare the distances, keep the best `k`) is one pass
//! per block in `knn_kernel`, run under runtime SIMD dispatch (AVX2 where available; the same
//! IEEE operations on every version, so results do not depend on it). Each query starts its
//! list with a bound guessed from the previous query's neighbours shifted along their
//! diagonals, which skips almost all insertions; when fewer than `k` windows beat the guess,
//! the stored products are scanned again without a bound, so the result is always the exact
//! one. The batch path advances `TILE` consecutive queries per reference block while the
//! block is in the L1 cache; the per-pair operations are those of the streaming path.
//!
//! Trivial matches: a reference window that overlaps the query in time (by timestamps) is never
//! a neighbour, so fitting and scoring the same data behaves like a self-join (as a matrix
//! profile's exclusion zone), while training data disjoint from the scored data is unaffected.

use pulp::{Simd, WithSimd};
use rayon::prelude::*;

use super::DetectError;
pub(super) use super::knn_kernel::TopK;
use super::knn_kernel::{Step, advance, advance_offer, dot, offer_run};
use super::subseq::{Filler, filled};
use crate::control::CancelToken;
use crate::model::Timestamp;

mod tile;

/// Queries between two direct recomputations of the dot products (and batch chunk size).
pub(super) const ANCHOR: usize = 1024;

/// The bound of a query's list when the shifted neighbours cannot give one (see
/// [`Reference::bound`]): the previous query's k-th squared distance times this. A guess only:
/// too small costs a second scan, too large some insertions.
const HINT_SLACK: f64 = 1.05;

/// Queries advanced together block by block in the batch path (see [`Reference::query_tile`]).
const TILE: usize = 16;

/// Standardisation learnt from the training column.
#[derive(Clone, Copy, Debug)]
struct Scale {
    mean: f64,
    inv_std: f64,
}

impl Scale {
    fn from_values(values: &[f64]) -> Self {
        let n = values.len().max(1) as f64;
        let mean = values.iter().sum::<f64>() / n;
        let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
        let std = var.sqrt();
        Self {
            mean,
            inv_std: if std > 1e-12 * (1.0 + mean.abs()) {
                1.0 / std
            } else {
                1.0
            },
        }
    }

    #[inline]
    fn apply(self, x: f64) -> f64 {
        (x - self.mean) * self.inv_std
    }
}

/// Consecutive reference windows: rows `y` (standardised), windows `s = 0..count`.
#[derive(Clone, Debug)]
struct Block {
    y: Vec<f64>,
    norm2: Vec<f64>,
    start_ts: Vec<Timestamp>,
    end_ts: Vec<Timestamp>,
    /// Global id of window 0.
    first_id: usize,
}

impl Block {
    fn count(&self) -> usize {
        self.norm2.len()
    }

    /// Windows overlapping `[start, end]` in time: a contiguous range.
    #[inline]
    fn excluded(&self, start: Timestamp, end: Timestamp) -> (usize, usize) {
        let count = self.count();
        if count == 0 || self.end_ts[count - 1] < start || self.start_ts[0] > end {
            return (0, 0);
        }
        let lo = self.end_ts.partition_point(|&e| e < start);
        let hi = self.start_ts.partition_point(|&s| s <= end);
        (lo, hi.max(lo))
    }
}

/// The fitted reference set (see module docs).
#[derive(Clone, Debug)]
pub(super) struct Reference {
    m: usize,
    scale: Scale,
    blocks: Vec<Block>,
    total: usize,
}

impl Reference {
    /// Builds the reference from a training column: windows of `m` rows, at most `max_train`
    /// (raised to `min_refs` so that enough non-overlapping neighbours always exist).
    #[expect(
        clippy::many_single_char_names,
        reason = "textbook notation: n rows, m window, k neighbours, x/y/z values"
    )]
    pub(super) fn fit(
        values: &[f64],
        ts: &[Timestamp],
        m: usize,
        max_train: usize,
        min_refs: usize,
    ) -> Result<Self, String> {
        let n = values.len();
        if n < m || n - m + 1 < min_refs {
            return Err(format!(
                "training data has {n} rows; window {m} needs at least {} rows",
                min_refs + m - 1
            ));
        }
        let x = filled(values);
        let scale = Scale::from_values(&x);
        let z: Vec<f64> = x.iter().map(|&v| scale.apply(v)).collect();
        let windows = n - m + 1;
        let budget = max_train.max(min_refs);
        let spans: Vec<(usize, usize)> = if windows <= budget {
            vec![(0, windows)]
        } else {
            let len = (4 * m).max(256).min(budget);
            let blocks = (budget / len).max(1);
            (0..blocks)
                .map(|b| {
                    let start = if blocks == 1 {
                        (windows - len) / 2
                    } else {
                        b * (windows - len) / (blocks - 1)
                    };
                    (start, len)
                })
                .collect()
        };
        let mut blocks = Vec::with_capacity(spans.len());
        let mut total = 0;
        for (start, count) in spans {
            let y = z[start..start + count + m - 1].to_vec();
            let norm2 = (0..count)
                .map(|s| dot(&y[s..s + m], &y[s..s + m]))
                .collect();
            blocks.push(Block {
                y,
                norm2,
                start_ts: ts[start..start + count].to_vec(),
                end_ts: ts[start + m - 1..start + m - 1 + count].to_vec(),
                first_id: total,
            });
            total += count;
        }
        Ok(Self {
            m,
            scale,
            blocks,
            total,
        })
    }

    /// Window length.
    pub(super) fn window(&self) -> usize {
        self.m
    }

    /// Number of reference windows.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.total
    }

    /// Feeds each block's own rows as queries (with their timestamps): the reference's
    /// neighbours among itself, for LOF. Returns the lists in global id order.
    pub(super) fn self_join(
        &self,
        k: usize,
        cancel: &CancelToken,
    ) -> Result<Vec<TopK>, DetectError> {
        let per_block = self
            .blocks
            .par_iter()
            .map(|block| {
                // Row timestamps of the block: the window starts, then the last window's rows.
                let rows_ts: Vec<Timestamp> = (0..block.y.len())
                    .map(|r| {
                        if r < block.count() {
                            block.start_ts[r]
                        } else {
                            block.end_ts[r + 1 - self.m]
                        }
                    })
                    .collect();
                let lists = self.batch_neighbours(&block.y, &rows_ts, k, true, cancel)?;
                Ok(lists
                    .into_iter()
                    .skip(self.m - 1)
                    .map(|l| l.unwrap_or_else(|| TopK::new(k, f64::INFINITY)))
                    .collect::<Vec<_>>())
            })
            .collect::<Result<Vec<_>, DetectError>>()?;
        let mut out = Vec::with_capacity(self.total);
        for lists in per_block {
            out.extend(lists);
        }
        Ok(out)
    }

    /// Neighbour lists of every query window of a column (index = end row; `None` while the
    /// first window fills). Parallel over chunks of [`ANCHOR`] queries.
    pub(super) fn batch_neighbours(
        &self,
        values: &[f64],
        ts: &[Timestamp],
        k: usize,
        prescaled: bool,
        cancel: &CancelToken,
    ) -> Result<Vec<Option<TopK>>, DetectError> {
        let m = self.m;
        let n = values.len();
        let mut out: Vec<Option<TopK>> = vec![None; n];
        if n < m {
            return Ok(out);
        }
        let z: Vec<f64> = if prescaled {
            values.to_vec()
        } else {
            filled(values)
                .iter()
                .map(|&v| self.scale.apply(v))
                .collect()
        };
        out[m - 1..]
            .par_chunks_mut(ANCHOR)
            .enumerate()
            .try_for_each(|(chunk, lists)| {
                if cancel.is_cancelled() {
                    return Err(DetectError::Cancelled);
                }
                let mut dots = Dots::new(self);
                let u0 = chunk * ANCHOR;
                let (first, rest) = lists.split_at_mut(1);
                first[0] = Some(self.query(&mut dots, &Query::of(&z, ts, u0, m, k)));
                for (t, tile) in rest.chunks_mut(TILE).enumerate() {
                    self.query_tile(&mut dots, (&z, ts), u0 + 1 + t * TILE, k, tile);
                }
                Ok(())
            })?;
        Ok(out)
    }

    /// One query: advances the dot products and returns the `k` nearest non-overlapping
    /// reference windows, under runtime SIMD dispatch (see `knn_kernel`).
    fn query(&self, dots: &mut Dots, query: &Query<'_>) -> TopK {
        pulp::Arch::new().dispatch(QueryOp {
            reference: self,
            dots,
            query,
        })
    }

    /// The body of [`Reference::query`], inlined into each dispatched version.
    #[expect(
        clippy::inline_always,
        reason = "must inline into pulp's target-feature context to be vectorised for it"
    )]
    #[inline(always)]
    fn query_inline(&self, dots: &mut Dots, q: &Query<'_>) -> TopK {
        let m = self.m;
        let window = q.window;
        let anchor = q.u.is_multiple_of(ANCHOR);
        let step = Step {
            left: q.left,
            right: window[m - 1],
            qn: dot(window, window),
        };
        let mut bound = [0.0];
        self.bounds(&dots.last, std::slice::from_ref(q), &[step], &mut bound);
        let mut top = TopK::new(q.k, bound[0]);
        for (block, (cur, prev)) in self
            .blocks
            .iter()
            .zip(dots.cur.iter_mut().zip(&mut dots.prev))
        {
            std::mem::swap(cur, prev);
            if anchor {
                let (y, norm2, id0) = (&block.y, &block.norm2, block.first_id);
                let (lo, hi) = block.excluded(q.span.0, q.span.1);
                for (s, c) in cur.iter_mut().enumerate() {
                    *c = dot(window, &y[s..s + m]);
                }
                offer_run(step.qn, &norm2[..lo], &cur[..lo], id0, &mut top);
                offer_run(step.qn, &norm2[hi..], &cur[hi..], id0 + hi, &mut top);
                continue;
            }
            self.advance_block(block, cur, prev, q, step, &mut top);
        }
        if !top.complete() {
            // Fewer than k windows beat the guessed bound: rescan the stored products.
            top = TopK::new(q.k, f64::INFINITY);
            for (block, cur) in self.blocks.iter().zip(&dots.cur) {
                let (lo, hi) = block.excluded(q.span.0, q.span.1);
                let (norm2, id0) = (&block.norm2, block.first_id);
                offer_run(step.qn, &norm2[..lo], &cur[..lo], id0, &mut top);
                offer_run(step.qn, &norm2[hi..], &cur[hi..], id0 + hi, &mut top);
            }
        }
        dots.last.clear();
        dots.last.extend_from_slice(top.items());
        top
    }

    /// Advances one block's dot products from the previous query's (`prev`) to this query's
    /// (`cur`) and offers the windows not overlapping the query to `top`, in id order.
    #[expect(
        clippy::inline_always,
        reason = "part of the query, inlined into pulp's target-feature context"
    )]
    #[expect(
        clippy::many_single_char_names,
        reason = "textbook notation: m window, y rows, p/o/w previous/old/new"
    )]
    #[inline(always)]
    fn advance_block(
        &self,
        block: &Block,
        cur: &mut [f64],
        prev: &[f64],
        q: &Query<'_>,
        step: Step,
        top: &mut TopK,
    ) {
        let m = self.m;
        let (y, norm2, id0) = (&block.y, &block.norm2, block.first_id);
        let count = block.count();
        let (lo, hi) = block.excluded(q.span.0, q.span.1);
        cur[0] = dot(q.window, &y[..m]);
        if lo > 0 || hi == 0 {
            offer_run(step.qn, &norm2[..1], &cur[..1], id0, top);
        }
        // Windows 1..count in three runs: before, inside and after the excluded range.
        let (a, b) = (lo.max(1), hi.max(1));
        let inputs = |from: usize, to: usize| {
            (
                &prev[from - 1..to - 1],
                &y[from - 1..to - 1],
                &y[m + from - 1..m + to - 1],
                &norm2[from..to],
            )
        };
        advance_offer(&mut cur[1..a], inputs(1, a), step, id0 + 1, top);
        let (p, o, w, _) = inputs(a, b);
        advance(&mut cur[a..b], p, o, w, step);
        advance_offer(&mut cur[b..count], inputs(b, count), step, id0 + b, top);
    }

    /// Guesses of the k-th squared distance of consecutive queries that directly follow the
    /// query whose neighbours are `last`, almost always just above the true ones: a neighbour
    /// `s` at squared distance `d2` gives the window `s + j + 1` (same diagonal) at
    /// `d2 + sum of (right - y[..+m])^2 - (left - y[..])^2` for the `j`-th query, so the
    /// largest over the `k` neighbours bounds the k-th (up to rounding, hence a small slack).
    /// Where a diagonal leaves its block or overlaps the query, the guess falls back to the
    /// largest of the others (at least the previous k-th) times [`HINT_SLACK`]. No neighbours:
    /// no bound (infinity).
    #[expect(
        clippy::inline_always,
        reason = "part of the query, inlined into pulp's target-feature context"
    )]
    #[inline(always)]
    fn bounds(
        &self,
        last: &[(f64, usize)],
        queries: &[Query<'_>],
        steps: &[Step],
        out: &mut [f64],
    ) {
        let k = queries.first().map_or(0, |q| q.k);
        if k == 0 || last.len() < k {
            out.fill(f64::INFINITY);
            return;
        }
        // Largest over the diagonals still valid, and over all with ended ones frozen.
        let mut worst = [0.0f64; TILE];
        let mut guess = [0.0f64; TILE];
        let mut alive = [0usize; TILE];
        for &(d2, id) in last {
            let block = &self.blocks[self.blocks.partition_point(|b| b.first_id <= id) - 1];
            let (mut s, mut d, mut live) = (id - block.first_id, d2, true);
            for (j, (q, step)) in queries.iter().zip(steps).enumerate() {
                s += 1;
                live = live
                    && s < block.count()
                    && (block.start_ts[s] > q.span.1 || block.end_ts[s] < q.span.0);
                if live {
                    let out = step.left - block.y[s - 1];
                    let inn = step.right - block.y[s - 1 + self.m];
                    d = d - out * out + inn * inn;
                    worst[j] = worst[j].max(d);
                    alive[j] += 1;
                }
                guess[j] = guess[j].max(d);
            }
        }
        for (j, (b, step)) in out.iter_mut().zip(steps).enumerate() {
            *b = if alive[j] == k {
                worst[j] * (1.0 + 1e-9) + 1e-12 * step.qn + f64::MIN_POSITIVE
            } else {
                guess[j] * HINT_SLACK + 1e-12 * step.qn + f64::MIN_POSITIVE
            };
        }
    }
}

/// One query window: its values, the value just before it (`left`, leaving the window), its
/// index `u` since the start, its time span and the number of neighbours wanted.
#[derive(Clone, Copy, Debug)]
struct Query<'a> {
    window: &'a [f64],
    left: f64,
    u: usize,
    span: (Timestamp, Timestamp),
    k: usize,
}

impl<'a> Query<'a> {
    /// The window of `m` rows starting at row `u` of a standardised column.
    fn of(z: &'a [f64], ts: &[Timestamp], u: usize, m: usize, k: usize) -> Self {
        Self {
            window: &z[u..u + m],
            left: if u == 0 { 0.0 } else { z[u - 1] },
            u,
            span: (ts[u], ts[u + m - 1]),
            k,
        }
    }
}

/// [`Reference::query_inline`] as a `pulp` operation.
struct QueryOp<'a> {
    reference: &'a Reference,
    dots: &'a mut Dots,
    query: &'a Query<'a>,
}

impl WithSimd for QueryOp<'_> {
    type Output = TopK;

    #[expect(
        clippy::inline_always,
        reason = "the query must inline into pulp's target-feature context"
    )]
    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) -> TopK {
        self.reference.query_inline(self.dots, self.query)
    }
}

/// Dot products of the current query with every reference window (and the previous query's),
/// and the previous query's neighbours (the next bound guess; none at first).
#[derive(Clone, Debug)]
struct Dots {
    cur: Vec<Vec<f64>>,
    prev: Vec<Vec<f64>>,
    last: Vec<(f64, usize)>,
    /// Intermediate products of a tile (block length).
    scratch: [Vec<f64>; 2],
}

impl Dots {
    fn new(reference: &Reference) -> Self {
        let cur: Vec<Vec<f64>> = reference
            .blocks
            .iter()
            .map(|b| vec![0.0; b.count()])
            .collect();
        let longest = cur.iter().map(Vec::len).max().unwrap_or(0);
        Self {
            prev: cur.clone(),
            cur,
            last: Vec::new(),
            scratch: [vec![0.0; longest], vec![0.0; longest]],
        }
    }
}

/// Streaming queries against a reference: the last `m` standardised values and timestamps.
#[derive(Clone, Debug)]
pub(super) struct QueryStream {
    ring: Vec<f64>,
    ts: Vec<Timestamp>,
    seen: usize,
    filler: Filler,
    dots: Option<Dots>,
}

impl QueryStream {
    /// An empty stream.
    pub(super) fn new() -> Self {
        Self {
            ring: Vec::new(),
            ts: Vec::new(),
            seen: 0,
            filler: Filler::default(),
            dots: None,
        }
    }

    /// Adds a value; once a window is complete, its `k` nearest reference windows.
    #[expect(
        clippy::many_single_char_names,
        reason = "textbook notation: n rows, m window, k neighbours, x/y/z values"
    )]
    pub(super) fn push(
        &mut self,
        reference: &Reference,
        x: f64,
        ts: Timestamp,
        k: usize,
    ) -> Option<TopK> {
        let m = reference.m;
        if self.ring.len() != 2 * m {
            self.ring = vec![0.0; 2 * m];
            self.ts = vec![Timestamp(0); 2 * m];
        }
        let v = reference.scale.apply(self.filler.fill(x));
        let slot = self.seen % m;
        // The value leaving the window is the one this row overwrites.
        let left = self.ring[slot];
        for at in [slot, slot + m] {
            self.ring[at] = v;
            self.ts[at] = ts;
        }
        self.seen += 1;
        if self.seen < m {
            return None;
        }
        let start = self.seen % m;
        let u = self.seen - m;
        let dots = self.dots.get_or_insert_with(|| Dots::new(reference));
        let query = Query {
            window: &self.ring[start..start + m],
            left,
            u,
            span: (self.ts[start], self.ts[start + m - 1]),
            k,
        };
        Some(reference.query(dots, &query))
    }
}

#[cfg(test)]
mod tests;
