//! One half-space tree (random complete tree over the scaled workspace) and its reference
//! profile in *walk form*.
//!
//! River's walk adds `mass(node) << depth` from the root down and stops after the first node
//! whose mass is below the size limit (or at the bottom). A profile depends only on the points
//! of the latest complete window, so [`HsTree::build`] computes it from those points alone:
//! for every node a walk can reach, the walk's running total there and whether it goes on.
//! Walks are then a fixed number of branch-free steps (the deepest stop of the profile); a
//! stopped walk stays on its node. Totals are exact integers, so any order of summation gives
//! the same score.

/// river's split padding: split points are drawn from the middle 70 % of a node's range.
const PADDING: f64 = 0.15;
/// Rows walked together (independent chains for the CPU to overlap).
const LANES: usize = 8;

/// One tree: `2^height - 1` internal nodes in heap order (leaves are implicit).
#[derive(Clone, Debug)]
pub(super) struct HsTree {
    feature: Vec<u32>,
    threshold: Vec<f64>,
    height: usize,
}

/// A reference profile in walk form (see module docs).
#[derive(Clone, Debug, Default)]
pub(super) struct Profile {
    /// Per node a walk can reach (heap order, leaves included): `total << 1 | goes_on`. Other
    /// entries are stale and never read.
    state: Vec<u64>,
    /// Steps of a walk: the depth of the deepest node where a walk stops.
    reach: usize,
}

impl HsTree {
    pub(super) fn grow(columns: usize, height: usize, rng: &mut impl rand::Rng) -> Self {
        let internal = (1usize << height) - 1;
        let mut tree = Self {
            feature: vec![0; internal],
            threshold: vec![0.0; internal],
            height,
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

    /// An empty profile for this tree (no reference yet: walks read only the root, total 0).
    pub(super) fn empty_profile(&self) -> Profile {
        Profile {
            state: vec![0; 2 * self.feature.len() + 1],
            reach: 0,
        }
    }

    /// Makes `points` (one complete window, row-major, `d` values per row) the reference
    /// profile, written into `profile`; `idx` is scratch. Only nodes a walk can reach are
    /// visited: below nodes holding at least `size_limit` points.
    pub(super) fn build(
        &self,
        points: &[f64],
        d: usize,
        size_limit: u32,
        profile: &mut Profile,
        idx: &mut Vec<u32>,
    ) {
        profile.state.resize(2 * self.feature.len() + 1, 0);
        profile.reach = 0;
        idx.clear();
        idx.extend(0..(points.len() / d) as u32);
        let mut builder = Builder {
            tree: self,
            points,
            d,
            size_limit,
            profile,
        };
        builder.assign(0, 0, 0, idx);
    }

    /// River's score of one point before normalisation (an exact integer).
    #[inline]
    pub(super) fn walk(&self, profile: &Profile, x: &[f64]) -> u64 {
        let state = profile.state.as_slice();
        let mut i = 0usize;
        for _ in 0..profile.reach {
            let on = (state[i] & 1) as usize;
            let right = x[self.feature[i] as usize] >= self.threshold[i];
            i += on * (i + 1 + usize::from(right));
        }
        state[i] >> 1
    }

    /// Adds the walk totals of consecutive rows (row-major, `d` values each) to `out`: the same
    /// integers as [`Self::walk`], [`LANES`] rows at a time.
    pub(super) fn walk_rows(&self, profile: &Profile, rows: &[f64], d: usize, out: &mut [u64]) {
        let state = profile.state.as_slice();
        let (feature, threshold) = (self.feature.as_slice(), self.threshold.as_slice());
        let mut blocks = out.chunks_exact_mut(LANES);
        let mut r = 0;
        if d == 1 {
            // One column: every split is on it, so each row's value is loaded once.
            for block in &mut blocks {
                let x: [f64; LANES] = std::array::from_fn(|k| rows[r + k]);
                let mut at = [0usize; LANES];
                for _ in 0..profile.reach {
                    for (i, &x) in at.iter_mut().zip(&x) {
                        let next = 2 * *i + 1 + usize::from(x >= threshold[*i]);
                        *i = if state[*i] & 1 == 0 { *i } else { next };
                    }
                }
                for (o, &i) in block.iter_mut().zip(&at) {
                    *o += state[i] >> 1;
                }
                r += LANES;
            }
        }
        for block in &mut blocks {
            let x = &rows[r * d..(r + LANES) * d];
            let mut at = [0usize; LANES];
            for _ in 0..profile.reach {
                for (k, i) in at.iter_mut().enumerate() {
                    let right = x[k * d + feature[*i] as usize] >= threshold[*i];
                    let next = 2 * *i + 1 + usize::from(right);
                    *i = if state[*i] & 1 == 0 { *i } else { next };
                }
            }
            for (o, &i) in block.iter_mut().zip(&at) {
                *o += state[i] >> 1;
            }
            r += LANES;
        }
        for (k, o) in blocks.into_remainder().iter_mut().enumerate() {
            let row = r + k;
            *o += self.walk(profile, &rows[row * d..(row + 1) * d]);
        }
    }
}

/// The recursion of [`HsTree::build`].
struct Builder<'a> {
    tree: &'a HsTree,
    points: &'a [f64],
    d: usize,
    size_limit: u32,
    profile: &'a mut Profile,
}

impl Builder<'_> {
    fn assign(&mut self, node: usize, depth: usize, above: u64, idx: &mut [u32]) {
        let mass = idx.len() as u32;
        let total = above + (u64::from(mass) << depth);
        let goes_on = mass >= self.size_limit && depth < self.tree.height;
        self.profile.state[node] = total << 1 | u64::from(goes_on);
        if !goes_on {
            self.profile.reach = self.profile.reach.max(depth);
            return;
        }
        let (f, t) = (self.tree.feature[node] as usize, self.tree.threshold[node]);
        // Branch-free Lomuto partition (the comparisons are unpredictable).
        let mut split = 0;
        for k in 0..idx.len() {
            let v = idx[k];
            let left = self.points[v as usize * self.d + f] < t;
            idx[k] = idx[split];
            idx[split] = v;
            split += usize::from(left);
        }
        let (left, right) = idx.split_at_mut(split);
        self.assign(2 * node + 1, depth + 1, total, left);
        self.assign(2 * node + 2, depth + 1, total, right);
    }
}

#[cfg(test)]
mod tests {
    use rand::Rng as _;

    use super::*;
    use crate::detect::subseq::rng_stream;

    /// River's `learn_one` on every node of every path, then river's `score_one` walk.
    fn river_total(tree: &HsTree, points: &[f64], d: usize, limit: u32, q: &[f64]) -> u64 {
        let internal = tree.feature.len();
        let mut mass = vec![0u32; 2 * internal + 1];
        for p in points.chunks(d) {
            let mut node = 0;
            loop {
                mass[node] += 1;
                if node >= internal {
                    break;
                }
                node = 2 * node
                    + 1
                    + usize::from(p[tree.feature[node] as usize] >= tree.threshold[node]);
            }
        }
        let (mut node, mut total) = (0, 0u64);
        for depth in 0..=tree.height {
            total += u64::from(mass[node]) << depth;
            if mass[node] < limit || depth == tree.height {
                break;
            }
            node =
                2 * node + 1 + usize::from(q[tree.feature[node] as usize] >= tree.threshold[node]);
        }
        total
    }

    #[test]
    fn walk_form_matches_full_counting() {
        let mut rng = rng_stream(3, 0);
        for (d, height, limit) in [(2, 6, 10), (2, 3, 2), (2, 8, 1), (1, 8, 25), (1, 5, 3)] {
            let tree = HsTree::grow(d, height, &mut rng);
            let points: Vec<f64> = (0..250 * d).map(|_| rng.random::<f64>()).collect();
            let mut profile = tree.empty_profile();
            tree.build(&points, d, limit, &mut profile, &mut Vec::new());
            let queries: Vec<f64> = points
                .iter()
                .copied()
                .chain([0.5, 0.5, 2.0, -1.0, 0.01, 0.99, -5.0, 5.0, 0.3, 0.7])
                .collect();
            let mut batch = vec![0u64; queries.len() / d];
            tree.walk_rows(&profile, &queries, d, &mut batch);
            for (q, &b) in queries.chunks(d).zip(&batch) {
                let expected = river_total(&tree, &points, d, limit, q);
                assert_eq!(tree.walk(&profile, q), expected);
                assert_eq!(b, expected);
            }
        }
    }
}
