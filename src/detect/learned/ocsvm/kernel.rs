//! RBF kernel rows of the training windows, computed on demand, and the bounded LRU cache that
//! keeps them (libsvm's `Cache`).
//!
//! Why: the SMO solver only ever reads a few hundred to a few thousand of the `n` kernel rows
//! (those of the working pairs), so building the dense `n × n` kernel first, as linfa-svm 0.8
//! does, wastes most of the fit (10⁸ entries at 10k windows). A row is
//! `exp(-gamma · (|xᵢ|² + |xⱼ|² - 2 xᵢ·xⱼ))`: the norms are computed once, the dot products by
//! the vectorised block kernel of [`super::simd`], several rows at a time (a block reads each
//! training window once for all its rows) and split by columns over rayon's threads.
//!
//! Rows are always full length (`n`), indexed by the original training index, so the solver's
//! shrinking never has to permute cached rows.

use pulp::Arch;
use rayon::prelude::*;

use super::simd::{RbfBlock, squared_norms};

/// Multiply-adds below which a block is computed on the calling thread (splitting costs more).
const PARALLEL_MIN_FLOPS: usize = 1 << 20;

/// The training windows and the RBF width: computes kernel rows.
#[derive(Debug)]
pub(super) struct RbfKernel<'a> {
    x: &'a [f64],
    n: usize,
    dim: usize,
    norms: Vec<f64>,
    gamma: f64,
}

impl<'a> RbfKernel<'a> {
    /// `x` is row-major, `n × dim` (checked by the caller).
    pub(super) fn new(x: &'a [f64], n: usize, dim: usize, gamma: f64) -> Self {
        Self {
            x,
            n,
            dim,
            norms: squared_norms(x, dim),
            gamma,
        }
    }

    /// Number of training windows (the length of a row).
    pub(super) fn len(&self) -> usize {
        self.n
    }

    /// Fills `out` (`rows.len() × n`, row-major) with the kernel rows `rows`.
    pub(super) fn rows_into(&self, rows: &[usize], out: &mut [f64]) {
        let n = self.n;
        if rows.is_empty() || n == 0 {
            return;
        }
        let flops = rows.len() * n * self.dim;
        let parts = if flops < PARALLEL_MIN_FLOPS {
            1
        } else {
            rayon::current_num_threads().clamp(1, 16).min(n)
        };
        // Column ranges of equal width; each part gets its segment of every output row.
        let bounds: Vec<usize> = (0..=parts).map(|p| p * n / parts).collect();
        let mut segments: Vec<Vec<&mut [f64]>> =
            (0..parts).map(|_| Vec::with_capacity(rows.len())).collect();
        for row in out.chunks_mut(n).take(rows.len()) {
            let mut rest = row;
            for (p, seg) in segments.iter_mut().enumerate() {
                let (head, tail) = rest.split_at_mut(bounds[p + 1] - bounds[p]);
                seg.push(head);
                rest = tail;
            }
        }
        let block = |(p, out): (usize, Vec<&mut [f64]>)| {
            Arch::new().dispatch(RbfBlock {
                x: self.x,
                dim: self.dim,
                norms: &self.norms,
                gamma: self.gamma,
                rows,
                first_col: bounds[p],
                out,
            });
        };
        if parts == 1 {
            segments.into_iter().enumerate().for_each(block);
        } else {
            segments.into_par_iter().enumerate().for_each(block);
        }
    }
}

/// No slot.
const EMPTY: u32 = u32::MAX;

/// Kernel rows kept between solver iterations, least recently used evicted first, at most
/// `capacity` rows (libsvm's `cache_size`, in bytes, divided by a row's size).
#[derive(Debug)]
pub(super) struct RowCache {
    capacity: usize,
    /// Slot of each training row, or [`EMPTY`].
    slot_of: Vec<u32>,
    /// Training row held by each slot.
    owner: Vec<usize>,
    /// Last use of each slot (a counter, higher = more recent).
    used: Vec<u64>,
    clock: u64,
    /// One row per slot, allocated when the slot is first used (no up-front `capacity` rows).
    data: Vec<Box<[f64]>>,
    /// Rows computed so far (cache misses plus prefetched rows).
    pub(super) computed: usize,
}

impl RowCache {
    /// A cache of at most `bytes` (never fewer than two rows: the solver needs a pair).
    pub(super) fn new(n: usize, bytes: usize) -> Self {
        let row_bytes = (n * size_of::<f64>()).max(1);
        Self {
            capacity: (bytes / row_bytes).clamp(2, n.max(2)),
            slot_of: vec![EMPTY; n],
            owner: Vec::new(),
            used: Vec::new(),
            clock: 0,
            data: Vec::new(),
            computed: 0,
        }
    }

    /// Most rows it holds at once.
    pub(super) fn capacity(&self) -> usize {
        self.capacity
    }

    /// True when row `i` is cached.
    pub(super) fn contains(&self, i: usize) -> bool {
        self.slot_of[i] != EMPTY
    }

    /// Row `i` if cached, marking it as just used.
    pub(super) fn get(&mut self, i: usize) -> Option<&[f64]> {
        let slot = self.slot_of[i];
        if slot == EMPTY {
            return None;
        }
        self.clock += 1;
        self.used[slot as usize] = self.clock;
        Some(self.peek(slot as usize))
    }

    /// Row `i`; empty when not cached (callers [`insert`](Self::insert) first).
    pub(super) fn row(&self, i: usize) -> &[f64] {
        match self.slot_of[i] {
            EMPTY => &[],
            slot => self.peek(slot as usize),
        }
    }

    fn peek(&self, slot: usize) -> &[f64] {
        &self.data[slot]
    }

    /// Stores row `i` (`n` values), evicting the least recently used row other than
    /// `keep`; the stored row counts as just used.
    pub(super) fn insert(&mut self, i: usize, row: &[f64], keep: Option<usize>) {
        let slot = if self.slot_of[i] != EMPTY {
            self.slot_of[i] as usize
        } else if self.owner.len() < self.capacity {
            self.owner.push(i);
            self.used.push(0);
            self.data.push(row.into());
            self.owner.len() - 1
        } else {
            let keep_slot = keep.map_or(EMPTY, |k| self.slot_of[k]);
            let victim = (0..self.owner.len())
                .filter(|&s| s as u32 != keep_slot)
                .min_by_key(|&s| self.used[s])
                .unwrap_or(0);
            self.slot_of[self.owner[victim]] = EMPTY;
            self.owner[victim] = i;
            victim
        };
        self.slot_of[i] = slot as u32;
        self.clock += 1;
        self.used[slot] = self.clock;
        if self.data[slot].as_ptr() != row.as_ptr() {
            self.data[slot].copy_from_slice(row);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_least_recently_used_but_never_the_kept_row() {
        let n = 4;
        let mut cache = RowCache::new(n, 3 * n * 8);
        assert_eq!(cache.capacity(), 3);
        for i in 0..3 {
            cache.insert(i, &[i as f64; 4], None);
        }
        assert!(cache.get(0).is_some());
        cache.insert(3, &[3.0; 4], None);
        assert!(!cache.contains(1), "row 1 was the least recently used");
        assert_eq!(cache.row(0), &[0.0; 4]);
        // Row 2 is now the oldest; keeping it evicts row 0 instead.
        cache.insert(1, &[1.0; 4], Some(2));
        assert!(cache.contains(2) && !cache.contains(0));
        assert_eq!(cache.row(1), &[1.0; 4]);
        assert!(cache.row(0).is_empty());
    }

    #[test]
    fn rows_split_over_threads_equal_one_block() {
        let (n, dim) = (300, 40);
        let x: Vec<f64> = (0..n * dim)
            .map(|k| ((k * 37 % 101) as f64).sqrt())
            .collect();
        let kernel = RbfKernel::new(&x, n, dim, 0.01);
        let rows: Vec<usize> = (0..n).step_by(3).collect();
        let mut all = vec![0.0; rows.len() * n];
        kernel.rows_into(&rows, &mut all);
        for (k, &i) in rows.iter().enumerate().step_by(17) {
            let mut one = vec![0.0; n];
            kernel.rows_into(&[i], &mut one);
            assert_eq!(&all[k * n..(k + 1) * n], one.as_slice(), "row {i}");
            assert!((one[i] - 1.0).abs() < 1e-12, "K(i, i) = 1");
        }
    }
}
