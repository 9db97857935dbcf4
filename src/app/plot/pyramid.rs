//! [`MinMaxPyramid`]: per-column min/max over aligned blocks of rows at every power-of-two
//! size, built once on the worker that loads a dataset, so that decimating a view costs
//! O(buckets · log rows) instead of O(rows in view).
//!
//! Level 0 holds one node per full block of [`LEAF_ROWS`] rows; level `k` holds one node per
//! `LEAF_ROWS << k` rows (two children of level `k - 1`). A row range is answered like a
//! segment-tree query: the partial blocks at its two ends are scanned directly (fewer than
//! `2 · LEAF_ROWS` contiguous rows), the aligned middle is covered by at most two nodes per
//! level. Nodes keep the row index of their min and max (the decimated point needs its x) and
//! the value itself (so a query never touches the 80 MB value column at random).
//!
//! The answer equals a sequential scan exactly, including which row wins a tie (the first)
//! and the NaN contract of [`decimate`](super::decimate): non-finite values are ignored, a
//! range with no finite value has no min and no max. A property test checks this.
//!
//! Memory: 24 bytes per node, `2 · rows / LEAF_ROWS` nodes at most: 0.75 bytes per row, about
//! 7.5 MB for a 10M-row column (the column itself is 80 MB).

use std::ops::Range;

use super::decimate::MinMax;

/// Rows per level-0 block. Larger leaves use less memory but scan more rows per bucket edge;
/// 64 rows are one cache-friendly half kilobyte of `f64`s.
pub const LEAF_ROWS: usize = 64;

/// Index marking a node whose rows are all non-finite.
const NONE: u32 = u32::MAX;

/// Min and max (value and row) of one block.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Node {
    min: f64,
    max: f64,
    imin: u32,
    imax: u32,
}

impl Node {
    const EMPTY: Self = Self {
        min: f64::NAN,
        max: f64::NAN,
        imin: NONE,
        imax: NONE,
    };

    fn from_min_max(m: &MinMax) -> Self {
        match (m.min, m.max) {
            (Some((imin, min)), Some((imax, max))) => Self {
                min,
                max,
                imin: imin as u32,
                imax: imax as u32,
            },
            _ => Self::EMPTY,
        }
    }

    /// `self` then `later` (rows of `later` come after those of `self`): strict comparisons
    /// keep the earlier row on ties, as a sequential scan does.
    fn then(self, later: Self) -> Self {
        if later.imin == NONE {
            return self;
        }
        if self.imin == NONE {
            return later;
        }
        let (min, imin) = if later.min < self.min {
            (later.min, later.imin)
        } else {
            (self.min, self.imin)
        };
        let (max, imax) = if later.max > self.max {
            (later.max, later.imax)
        } else {
            (self.max, self.imax)
        };
        Self {
            min,
            max,
            imin,
            imax,
        }
    }
}

/// Multi-resolution min/max of one value column. See the module docs.
#[derive(Clone, Debug, Default)]
pub struct MinMaxPyramid {
    rows: usize,
    levels: Vec<Vec<Node>>,
}

impl MinMaxPyramid {
    /// Builds the pyramid of `values`. `None` when the column has more rows than a `u32` can
    /// index (decimation then scans rows directly).
    pub fn build(values: &[f64]) -> Option<Self> {
        if u32::try_from(values.len()).is_err() {
            return None;
        }
        let mut base: Vec<Node> = values
            .chunks_exact(LEAF_ROWS)
            .enumerate()
            .map(|(block, chunk)| {
                let mut m = MinMax::default();
                for (i, &v) in chunk.iter().enumerate() {
                    m.add(block * LEAF_ROWS + i, v);
                }
                Node::from_min_max(&m)
            })
            .collect();
        base.shrink_to_fit();
        let mut levels = Vec::new();
        let mut current = base;
        while !current.is_empty() {
            let next: Vec<Node> = current
                .chunks_exact(2)
                .map(|pair| pair[0].then(pair[1]))
                .collect();
            levels.push(current);
            current = next;
        }
        Some(Self {
            rows: values.len(),
            levels,
        })
    }

    /// Number of rows the pyramid was built for; a column of another length must not use it.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of levels (0 for columns shorter than one leaf).
    pub fn levels(&self) -> usize {
        self.levels.len()
    }

    /// Bytes held on the heap.
    pub fn heap_bytes(&self) -> usize {
        self.levels
            .iter()
            .map(|l| l.capacity() * size_of::<Node>())
            .sum::<usize>()
            + self.levels.capacity() * size_of::<Vec<Node>>()
    }

    /// Min and max (first row on ties, finite values only) of `values[rows]`, where `values`
    /// is the column the pyramid was built from.
    pub fn min_max(&self, values: &[f64], rows: Range<usize>) -> MinMax {
        let Range { start, end } = rows;
        let end = end.min(values.len());
        if start >= end {
            return MinMax::default();
        }
        let first_block = start.div_ceil(LEAF_ROWS);
        let last_block = (end / LEAF_ROWS).min(self.levels.first().map_or(0, Vec::len));
        if values.len() != self.rows || first_block >= last_block {
            return MinMax::scan(values, start..end);
        }
        let head = MinMax::scan(values, start..first_block * LEAF_ROWS);
        let tail = MinMax::scan(values, last_block * LEAF_ROWS..end);
        let mut left = Node::from_min_max(&head);
        let mut right = Node::EMPTY;
        let (mut i, mut j) = (first_block, last_block);
        for level in &self.levels {
            if i >= j {
                break;
            }
            if i & 1 == 1 {
                left = left.then(level[i]);
                i += 1;
            }
            if j & 1 == 1 {
                j -= 1;
                right = level[j].then(right);
            }
            i >>= 1;
            j >>= 1;
        }
        let middle = left.then(right);
        let mut out = MinMax {
            rows: 0,
            min: (middle.imin != NONE).then_some((middle.imin as usize, middle.min)),
            max: (middle.imax != NONE).then_some((middle.imax as usize, middle.max)),
        };
        out.merge_later(&tail);
        out.rows = end - start;
        out
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn values(n: usize, seed: u64) -> Vec<f64> {
        let mut v = crate::testing::seasonal_values(n, 97, 0.5, seed);
        for (i, x) in v.iter_mut().enumerate() {
            // Ties, NaN stretches and infinities, the cases where a pyramid could drift
            // from a scan.
            if i % 13 == 0 {
                *x = 1.0;
            }
            if (i / 50) % 17 == 3 {
                *x = f64::NAN;
            }
            if i % 211 == 0 {
                *x = f64::INFINITY;
            }
        }
        v
    }

    #[test]
    fn every_range_of_a_small_column_matches_a_scan() {
        let v = values(700, 3);
        let p = MinMaxPyramid::build(&v).unwrap();
        assert_eq!(p.levels(), 4, "700 rows: 10, 5, 2, 1 blocks");
        for start in (0..700).step_by(7) {
            for end in (start..=700).step_by(11) {
                assert_eq!(
                    p.min_max(&v, start..end),
                    MinMax::scan(&v, start..end),
                    "{start}..{end}"
                );
            }
        }
    }

    #[test]
    fn an_all_nan_range_has_no_extremes_and_memory_is_under_a_byte_per_row() {
        let v = vec![f64::NAN; 10_000];
        let p = MinMaxPyramid::build(&v).unwrap();
        let m = p.min_max(&v, 5..9_000);
        assert_eq!((m.rows, m.min, m.max), (8_995, None, None));
        assert!(p.heap_bytes() < v.len(), "{} bytes", p.heap_bytes());
        assert!(MinMaxPyramid::build(&[]).unwrap().levels() == 0);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn pyramid_queries_equal_scans(
            n in 1usize..20_000,
            seed in 0u64..1000,
            a in 0.0f64..1.0,
            b in 0.0f64..1.0,
        ) {
            let v = values(n, seed);
            let p = MinMaxPyramid::build(&v).unwrap();
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            let range = (lo * n as f64) as usize..(hi * n as f64).ceil() as usize;
            prop_assert_eq!(p.min_max(&v, range.clone()), MinMax::scan(&v, range));
        }
    }
}
