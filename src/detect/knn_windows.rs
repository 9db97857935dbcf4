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
//! Trivial matches: a reference window that overlaps the query in time (by timestamps) is never
//! a neighbour, so fitting and scoring the same data behaves like a self-join (as a matrix
//! profile's exclusion zone), while training data disjoint from the scored data is unaffected.

use rayon::prelude::*;

use super::DetectError;
use super::subseq::{Filler, filled};
use crate::control::CancelToken;
use crate::model::Timestamp;

/// Queries between two direct recomputations of the dot products (and batch chunk size).
pub(super) const ANCHOR: usize = 1024;

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
    fn excluded(&self, start: Timestamp, end: Timestamp) -> (usize, usize) {
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

/// Direct dot product; the one formula used at anchors on both paths.
#[inline]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
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
        let mut out = Vec::with_capacity(self.total);
        for block in &self.blocks {
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
            out.extend(
                lists
                    .into_iter()
                    .skip(self.m - 1)
                    .map(|l| l.unwrap_or_else(|| TopK::new(k))),
            );
        }
        Ok(out)
    }

    /// Neighbour lists of every query window of a column (index = end row; `None` while the
    /// first window fills). Parallel over chunks of [`ANCHOR`] queries.
    #[expect(
        clippy::many_single_char_names,
        reason = "textbook notation: n rows, m window, k neighbours, x/y/z values"
    )]
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
                for (offset, slot) in lists.iter_mut().enumerate() {
                    let u = chunk * ANCHOR + offset;
                    let window = &z[u..u + m];
                    let left = if u == 0 { 0.0 } else { z[u - 1] };
                    let mut top = TopK::new(k);
                    self.query(&mut dots, window, left, u, (ts[u], ts[u + m - 1]), &mut top);
                    *slot = Some(top);
                }
                Ok(())
            })?;
        Ok(out)
    }

    /// One query (window index `u` since the start): advances the dot products and collects
    /// the `k` nearest non-overlapping reference windows into `top`.
    fn query(
        &self,
        dots: &mut Dots,
        window: &[f64],
        left: f64,
        u: usize,
        span: (Timestamp, Timestamp),
        top: &mut TopK,
    ) {
        let m = self.m;
        let anchor = u.is_multiple_of(ANCHOR);
        let right = window[m - 1];
        let qn = dot(window, window);
        for (block, (cur, prev)) in self
            .blocks
            .iter()
            .zip(dots.cur.iter_mut().zip(&mut dots.prev))
        {
            std::mem::swap(cur, prev);
            let y = &block.y;
            if anchor {
                for (s, c) in cur.iter_mut().enumerate() {
                    *c = dot(window, &y[s..s + m]);
                }
            } else {
                cur[0] = dot(window, &y[..m]);
                let count = cur.len();
                for ((c, &p), (&y_old, &y_new)) in cur[1..]
                    .iter_mut()
                    .zip(&prev[..count - 1])
                    .zip(y[..count - 1].iter().zip(&y[m..m + count - 1]))
                {
                    *c = p - left * y_old + right * y_new;
                }
            }
            let (lo, hi) = block.excluded(span.0, span.1);
            for range in [0..lo, hi..block.count()] {
                scan(
                    qn,
                    &block.norm2[range.clone()],
                    &cur[range.clone()],
                    block.first_id + range.start,
                    top,
                );
            }
        }
    }
}

/// Squared distance from the dot product, clamped at 0 (rounding); the one formula of both paths.
#[inline]
fn distance2(qn: f64, norm2: f64, dot: f64) -> f64 {
    let d2 = qn + norm2 - 2.0 * dot;
    if d2 > 0.0 { d2 } else { 0.0 }
}

/// Offers reference windows `first_id..` (squared norms `norm2`, dot products `dots`) to `top`
/// in ascending order. Blocks of [`SCAN`] distances are computed branch-free (vectorised) and
/// only a block whose minimum beats the current k-th distance is offered one by one, so the
/// common case costs no unpredictable branch; the result is the same as offering every window.
fn scan(qn: f64, norm2: &[f64], dots: &[f64], first_id: usize, top: &mut TopK) {
    const SCAN: usize = 8;
    let mut id = first_id;
    let mut n8 = norm2.chunks_exact(SCAN);
    let mut d8 = dots.chunks_exact(SCAN);
    for (n, d) in (&mut n8).zip(&mut d8) {
        let mut d2 = [0.0; SCAN];
        for t in 0..SCAN {
            d2[t] = distance2(qn, n[t], d[t]);
        }
        let least = d2
            .iter()
            .fold(f64::INFINITY, |a, &b| if b < a { b } else { a });
        if least < top.worst() {
            for (t, &x) in d2.iter().enumerate() {
                if x < top.worst() {
                    top.insert(x, id + t);
                }
            }
        }
        id += SCAN;
    }
    for (&n, &d) in n8.remainder().iter().zip(d8.remainder()) {
        let x = distance2(qn, n, d);
        if x < top.worst() {
            top.insert(x, id);
        }
        id += 1;
    }
}

/// The `k` smallest squared distances seen, ascending, with reference ids.
#[derive(Clone, Debug)]
pub(super) struct TopK {
    k: usize,
    items: Vec<(f64, usize)>,
}

impl TopK {
    fn new(k: usize) -> Self {
        Self {
            k,
            items: Vec::with_capacity(k),
        }
    }

    #[inline]
    fn worst(&self) -> f64 {
        if self.items.len() < self.k {
            f64::INFINITY
        } else {
            self.items[self.k - 1].0
        }
    }

    fn insert(&mut self, d2: f64, id: usize) {
        let at = self.items.partition_point(|&(d, _)| d <= d2);
        if self.items.len() == self.k {
            self.items.pop();
        }
        self.items.insert(at, (d2, id));
    }

    /// `(distance, reference id)` of the neighbours, nearest first (fewer than `k` only when
    /// the reference has fewer non-overlapping windows).
    pub(super) fn neighbours(&self) -> impl Iterator<Item = (f64, usize)> + '_ {
        self.items.iter().map(|&(d2, id)| (d2.sqrt(), id))
    }

    /// Distance to the farthest kept neighbour (the k-th), NaN when there is none.
    pub(super) fn kth_distance(&self) -> f64 {
        self.items.last().map_or(f64::NAN, |&(d2, _)| d2.sqrt())
    }
}

/// Dot products of the current query with every reference window (and the previous query's).
#[derive(Clone, Debug)]
struct Dots {
    cur: Vec<Vec<f64>>,
    prev: Vec<Vec<f64>>,
}

impl Dots {
    fn new(reference: &Reference) -> Self {
        let cur: Vec<Vec<f64>> = reference
            .blocks
            .iter()
            .map(|b| vec![0.0; b.count()])
            .collect();
        Self {
            prev: cur.clone(),
            cur,
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
        let mut top = TopK::new(k);
        let window = &self.ring[start..start + m];
        reference.query(
            dots,
            window,
            left,
            u,
            (self.ts[start], self.ts[start + m - 1]),
            &mut top,
        );
        Some(top)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::seasonal_values;

    fn stamps(n: usize, offset: i64) -> Vec<Timestamp> {
        (0..n as i64).map(|i| Timestamp(i + offset)).collect()
    }

    /// Brute force: every reference window, no sliding tricks.
    fn brute(
        train: &[f64],
        test: &[f64],
        m: usize,
        k: usize,
        test_offset: i64,
    ) -> Vec<Vec<(f64, usize)>> {
        let scale = Scale::from_values(train);
        let zt: Vec<f64> = train.iter().map(|&v| scale.apply(v)).collect();
        let zq: Vec<f64> = test.iter().map(|&v| scale.apply(v)).collect();
        (0..=test.len() - m)
            .map(|u| {
                let mut all: Vec<(f64, usize)> = (0..=train.len() - m)
                    .filter(|&s| {
                        let (qs, qe) = (u as i64 + test_offset, (u + m - 1) as i64 + test_offset);
                        ((s + m - 1) as i64) < qs || s as i64 > qe
                    })
                    .map(|s| {
                        let d2: f64 = (0..m).map(|i| (zq[u + i] - zt[s + i]).powi(2)).sum();
                        (d2.sqrt(), s)
                    })
                    .collect();
                all.sort_by(|a, b| a.0.total_cmp(&b.0));
                all.truncate(k);
                all
            })
            .collect()
    }

    #[test]
    fn matches_brute_force_with_and_without_overlap() {
        let train = seasonal_values(3000, 40, 0.3, 1);
        let test = seasonal_values(2500, 40, 0.3, 2);
        for offset in [0, 100_000] {
            let reference = Reference::fit(&train, &stamps(3000, 0), 16, 100_000, 5).unwrap();
            let got = reference
                .batch_neighbours(&test, &stamps(2500, offset), 5, false, &CancelToken::new())
                .unwrap();
            let want = brute(&train, &test, 16, 5, offset);
            for (u, w) in want.iter().enumerate() {
                let g: Vec<(f64, usize)> = got[u + 15].as_ref().unwrap().neighbours().collect();
                assert_eq!(g.len(), w.len());
                for (a, b) in g.iter().zip(w) {
                    assert!((a.0 - b.0).abs() < 1e-6, "query {u}: {a:?} vs {b:?}");
                }
            }
        }
    }

    #[test]
    fn streaming_equals_batch_with_blocks() {
        let train = seasonal_values(5000, 40, 0.3, 1);
        let test = seasonal_values(2500, 40, 0.3, 2);
        let reference = Reference::fit(&train, &stamps(5000, 0), 16, 1000, 5).unwrap();
        assert!(reference.blocks.len() > 1);
        assert_eq!(reference.len(), 768);
        let ts = stamps(2500, 7000);
        let batch = reference
            .batch_neighbours(&test, &ts, 5, false, &CancelToken::new())
            .unwrap();
        let mut stream = QueryStream::new();
        for (i, (&x, &t)) in test.iter().zip(&ts).enumerate() {
            let got = stream.push(&reference, x, t, 5);
            match (got, &batch[i]) {
                (None, None) => {}
                (Some(a), Some(b)) => {
                    assert_eq!(a.items.len(), b.items.len());
                    for (p, q) in a.items.iter().zip(&b.items) {
                        assert_eq!((p.0.to_bits(), p.1), (q.0.to_bits(), q.1));
                    }
                }
                _ => panic!("row {i}: warm-up differs"),
            }
        }
    }

    #[test]
    fn self_join_excludes_overlapping_windows() {
        let train = seasonal_values(600, 30, 0.2, 1);
        let reference = Reference::fit(&train, &stamps(600, 0), 10, 100_000, 3).unwrap();
        let lists = reference.self_join(3, &CancelToken::new()).unwrap();
        assert_eq!(lists.len(), reference.len());
        for (id, list) in lists.iter().enumerate() {
            for (_, other) in list.neighbours() {
                assert!(other.abs_diff(id) >= 10, "{id} matched {other}");
            }
        }
    }

    #[test]
    fn too_short_training_is_an_error() {
        assert!(Reference::fit(&[1.0; 10], &stamps(10, 0), 8, 100, 5).is_err());
    }
}
