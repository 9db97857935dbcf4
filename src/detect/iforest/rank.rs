//! The isolation forest's fast batch kernel for univariate sliding windows: comparisons on
//! integer *ranks* instead of `f64` values, so the top levels of every tree are resolved for 8
//! windows per SSE2 instruction.
//!
//! Every distinct split threshold of the forest goes into one sorted list `S`. A value `x` is
//! replaced by its rank `r(x) = #{s in S : s <= x}` and the threshold `S[k]` by `k + 1`; then
//! `x >= S[k]` exactly when `r(x) >= k + 1`, so every comparison, hence every path and every
//! score, is the same as with the `f64` values (the streaming path keeps using them: batch ==
//! streaming bit for bit). Ranks fit an `i16` while the forest has fewer than 32767 distinct
//! thresholds (100 trees of 256 samples have at most 25 500).
//!
//! Why it is fast: feature `f` of window `j` is value `j + f`, so for one node the values of
//! consecutive windows are consecutive in memory. The first [`TOP`] levels (15 nodes) are
//! compared for all windows of a chunk with contiguous loads (LLVM vectorises the loop, 8
//! `i16` lanes) and the path is selected branch-free; the remaining levels walk 8 windows at a
//! time through packed nodes (`feature | threshold rank << 16`, one load per step).

use super::Tree;

/// Levels resolved by the vectorised pass.
const TOP: usize = 4;
/// Nodes in those levels.
const TOP_NODES: usize = (1 << TOP) - 1;
/// Windows walked together below the top levels (independent chains for the CPU to overlap).
const LANES: usize = 8;
/// Threshold rank of a split no value passes (padding nodes, `+inf`, NaN).
const NEVER: i16 = i16::MAX;

/// One tree: packed internal nodes and leaf path lengths (as in [`Tree`]).
#[derive(Clone, Debug)]
struct RankTree {
    nodes: Vec<u32>,
    leaf: Vec<f64>,
}

/// The forest in rank form (see module docs).
#[derive(Clone, Debug)]
pub(super) struct RankForest {
    /// Distinct finite thresholds, ascending.
    sorted: Vec<f64>,
    trees: Vec<RankTree>,
    depth: usize,
}

impl RankForest {
    /// The rank form of `trees` (complete trees of `depth` levels over windows of `width`
    /// values), or `None` when the kernel does not apply: too shallow, too wide a window or too
    /// many distinct thresholds.
    pub(super) fn new(trees: &[Tree], depth: usize, width: usize) -> Option<Self> {
        if !(TOP..=16).contains(&depth) || width > usize::from(u16::MAX) {
            return None;
        }
        let mut sorted: Vec<f64> = trees
            .iter()
            .flat_map(|t| t.threshold.iter().copied())
            .filter(|t| t.is_finite())
            .collect();
        sorted.sort_by(f64::total_cmp);
        sorted.dedup();
        if sorted.len() >= NEVER as usize {
            return None;
        }
        let rank_of_threshold = |t: f64| -> i16 {
            if t.is_nan() || t == f64::INFINITY {
                NEVER
            } else if t == f64::NEG_INFINITY {
                0
            } else {
                (sorted.partition_point(|&s| s < t) + 1) as i16
            }
        };
        let trees = trees
            .iter()
            .map(|tree| RankTree {
                nodes: tree
                    .feature
                    .iter()
                    .zip(&tree.threshold)
                    .map(|(&f, &t)| f | (u32::from(rank_of_threshold(t) as u16) << 16))
                    .collect(),
                leaf: tree.leaf.clone(),
            })
            .collect();
        Some(Self {
            sorted,
            trees,
            depth,
        })
    }

    /// The rank of a finite value: how many thresholds are at most `x`.
    #[inline]
    pub(super) fn rank(&self, x: f64) -> i16 {
        self.sorted.partition_point(|&s| s <= x) as i16
    }

    /// Sums over the trees (in tree order) of the path lengths of the `out.len()` consecutive
    /// windows of `window` ranks starting at `first`; `idx` is scratch.
    pub(super) fn path_sums(
        &self,
        ranks: &[i16],
        first: usize,
        window: usize,
        out: &mut [f64],
        idx: &mut Vec<u16>,
    ) {
        let n = out.len();
        if n == 0 {
            return;
        }
        let chunk = &ranks[first..first + n - 1 + window];
        out.fill(0.0);
        idx.clear();
        idx.resize(n, 0);
        let internal = (1usize << self.depth) - 1;
        let below = self.depth - TOP;
        for tree in &self.trees {
            top_levels(&tree.nodes, chunk, idx);
            let nodes = tree.nodes.as_slice();
            let leaf = tree.leaf.as_slice();
            let mut j = 0;
            while j + LANES <= n {
                let xs = &chunk[j..j + LANES - 1 + window];
                let mut at: [usize; LANES] = std::array::from_fn(|k| usize::from(idx[j + k]));
                for _ in 0..below {
                    for (k, i) in at.iter_mut().enumerate() {
                        let node = nodes[*i];
                        let right = xs[k + (node & 0xffff) as usize] >= (node >> 16) as i16;
                        *i = 2 * *i + 1 + usize::from(right);
                    }
                }
                for (sum, &i) in out[j..j + LANES].iter_mut().zip(&at) {
                    *sum += leaf[i - internal];
                }
                j += LANES;
            }
            for (k, sum) in out.iter_mut().enumerate().skip(j) {
                let xs = &chunk[k..k + window];
                let mut i = usize::from(idx[k]);
                for _ in 0..below {
                    let node = nodes[i];
                    let right = xs[(node & 0xffff) as usize] >= (node >> 16) as i16;
                    i = 2 * i + 1 + usize::from(right);
                }
                *sum += leaf[i - internal];
            }
        }
    }
}

/// Sets `idx[j]` to the node window `j` of `chunk` reaches after the first [`TOP`] levels.
/// All 15 comparisons are made for every window from contiguous loads (vectorised), and the
/// path is selected with branch-free multiplexers.
fn top_levels(nodes: &[u32], chunk: &[i16], idx: &mut [u16]) {
    let n = idx.len();
    let feature = |q: usize| (nodes[q] & 0xffff) as usize;
    let t: [i16; TOP_NODES] = std::array::from_fn(|q| (nodes[q] >> 16) as i16);
    let v: [&[i16]; TOP_NODES] = std::array::from_fn(|q| &chunk[feature(q)..feature(q) + n]);
    for (j, out) in idx.iter_mut().enumerate() {
        let c: [u16; TOP_NODES] = std::array::from_fn(|q| u16::from(v[q][j] >= t[q]));
        let b0 = c[0];
        let b1 = if b0 == 0 { c[1] } else { c[2] };
        let lo = if b1 == 0 { c[3] } else { c[4] };
        let hi = if b1 == 0 { c[5] } else { c[6] };
        let b2 = if b0 == 0 { lo } else { hi };
        let s00 = if b2 == 0 { c[7] } else { c[8] };
        let s01 = if b2 == 0 { c[9] } else { c[10] };
        let s10 = if b2 == 0 { c[11] } else { c[12] };
        let s11 = if b2 == 0 { c[13] } else { c[14] };
        let s0 = if b1 == 0 { s00 } else { s01 };
        let s1 = if b1 == 0 { s10 } else { s11 };
        let b3 = if b0 == 0 { s0 } else { s1 };
        *out = TOP_NODES as u16 + 8 * b0 + 4 * b1 + 2 * b2 + b3;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_preserve_every_comparison() {
        let tree = Tree {
            feature: vec![0; 15],
            threshold: vec![
                -1.0,
                0.5,
                0.5,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::NAN,
                2.0,
                -1.0,
                3.0,
                0.0,
                -0.0,
                1e300,
                -1e300,
                0.25,
                7.0,
            ],
            leaf: vec![0.0; 16],
        };
        let forest = RankForest::new(std::slice::from_ref(&tree), 4, 1).unwrap();
        let values = [
            -2.0, -1.0, -0.5, -0.0, 0.0, 0.25, 0.3, 0.5, 1.0, 2.0, 3.0, 7.0, 1e300, -1e300, 8.0,
        ];
        for &x in &values {
            for (k, &t) in tree.threshold.iter().enumerate() {
                let rank = (forest.trees[0].nodes[k] >> 16) as i16;
                assert_eq!(forest.rank(x) >= rank, x >= t, "x {x} t {t}");
            }
        }
    }
}
