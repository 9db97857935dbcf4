//! One robust random cut tree (Guha, Mishra, Roy & Schrijvers 2016), following the `rrcf`
//! package: points are inserted with a random cut drawn proportionally to the bounding-box
//! spans, forgotten by id, and scored by collusive displacement (CoDisp).
//!
//! Arena layout: nodes in a `Vec` with a free list; each node's bounding box (`min`, `max`, `dims`
//! values each) in one flat `Vec<f64>`; a leaf's box is its point. Ids are consecutive, so the
//! leaf of id `i` is found at `i % capacity`.

use rand::Rng as _;
use rand_chacha::ChaCha8Rng;

const NONE: u32 = u32::MAX;

#[derive(Clone, Copy, Debug)]
struct Node {
    parent: u32,
    left: u32,
    right: u32,
    cut_dim: u32,
    cut: f64,
    /// Points below (duplicates counted).
    n: u32,
    leaf: bool,
}

/// A robust random cut tree over points of `dims` values.
#[derive(Clone, Debug)]
pub(super) struct RcTree {
    dims: usize,
    nodes: Vec<Node>,
    boxes: Vec<f64>,
    free: Vec<u32>,
    root: u32,
    /// Leaf of each live id, at `id % capacity`.
    leaf_of: Vec<u32>,
    rng: ChaCha8Rng,
}

impl RcTree {
    /// An empty tree holding at most `capacity` ids at a time.
    pub(super) fn new(dims: usize, capacity: usize, rng: ChaCha8Rng) -> Self {
        Self {
            dims,
            nodes: Vec::new(),
            boxes: Vec::new(),
            free: Vec::new(),
            root: NONE,
            leaf_of: vec![NONE; capacity],
            rng,
        }
    }

    fn lo(&self, node: u32) -> &[f64] {
        let at = node as usize * 2 * self.dims;
        &self.boxes[at..at + self.dims]
    }

    fn hi(&self, node: u32) -> &[f64] {
        let at = node as usize * 2 * self.dims + self.dims;
        &self.boxes[at..at + self.dims]
    }

    fn alloc(&mut self, node: Node, lo: &[f64], hi: &[f64]) -> u32 {
        let d = self.dims;
        let id = if let Some(id) = self.free.pop() {
            self.nodes[id as usize] = node;
            id
        } else {
            self.nodes.push(node);
            self.boxes.resize(self.boxes.len() + 2 * d, 0.0);
            (self.nodes.len() - 1) as u32
        };
        let at = id as usize * 2 * d;
        self.boxes[at..at + d].copy_from_slice(lo);
        self.boxes[at + d..at + 2 * d].copy_from_slice(hi);
        id
    }

    /// Inserts `point` as `id` (ids must be consecutive, oldest forgotten first).
    pub(super) fn insert(&mut self, id: usize, point: &[f64]) {
        let slot = id % self.leaf_of.len();
        if self.root == NONE {
            let leaf = self.alloc(Self::leaf_node(NONE), point, point);
            self.root = leaf;
            self.leaf_of[slot] = leaf;
            return;
        }
        let mut node = self.root;
        loop {
            let n = self.nodes[node as usize];
            if n.leaf && self.lo(node) == point {
                // Duplicate: one more point in this leaf.
                self.leaf_of[slot] = node;
                self.add_upwards(node, point);
                return;
            }
            let (dim, cut) = self.random_cut(node, point);
            let separated_left = cut <= self.lo(node)[dim];
            if separated_left || cut >= self.hi(node)[dim] {
                let leaf = self.alloc(Self::leaf_node(NONE), point, point);
                let lo: Vec<f64> = self
                    .lo(node)
                    .iter()
                    .zip(point)
                    .map(|(a, b)| a.min(*b))
                    .collect();
                let hi: Vec<f64> = self
                    .hi(node)
                    .iter()
                    .zip(point)
                    .map(|(a, b)| a.max(*b))
                    .collect();
                let (left, right) = if separated_left {
                    (leaf, node)
                } else {
                    (node, leaf)
                };
                let branch = self.alloc(
                    Node {
                        parent: n.parent,
                        left,
                        right,
                        cut_dim: dim as u32,
                        cut,
                        n: n.n + 1,
                        leaf: false,
                    },
                    &lo,
                    &hi,
                );
                self.nodes[leaf as usize].parent = branch;
                self.nodes[node as usize].parent = branch;
                if n.parent == NONE {
                    self.root = branch;
                } else {
                    let p = &mut self.nodes[n.parent as usize];
                    if p.left == node {
                        p.left = branch;
                    } else {
                        p.right = branch;
                    }
                    self.add_upwards(n.parent, point);
                }
                self.leaf_of[slot] = leaf;
                return;
            }
            node = if point[n.cut_dim as usize] <= n.cut {
                n.left
            } else {
                n.right
            };
        }
    }

    fn leaf_node(parent: u32) -> Node {
        Node {
            parent,
            left: NONE,
            right: NONE,
            cut_dim: 0,
            cut: 0.0,
            n: 1,
            leaf: true,
        }
    }

    /// rrcf's `_insert_point_cut`: a cut uniform over the total span of box ∪ point.
    fn random_cut(&mut self, node: u32, point: &[f64]) -> (usize, f64) {
        let total: f64 = {
            let (lo, hi) = (self.lo(node), self.hi(node));
            (0..self.dims)
                .map(|i| hi[i].max(point[i]) - lo[i].min(point[i]))
                .sum()
        };
        let r = self.rng.random::<f64>() * total;
        let (lo, hi) = (self.lo(node), self.hi(node));
        let mut acc = 0.0;
        for i in 0..self.dims {
            let (a, b) = (lo[i].min(point[i]), hi[i].max(point[i]));
            acc += b - a;
            if acc >= r {
                return (i, a + acc - r);
            }
        }
        let last = self.dims - 1;
        (last, hi[last].max(point[last]))
    }

    /// From `node` up: one more point, boxes grown to include `point`.
    fn add_upwards(&mut self, mut node: u32, point: &[f64]) {
        let d = self.dims;
        while node != NONE {
            let at = node as usize * 2 * d;
            for (i, &x) in point.iter().enumerate() {
                self.boxes[at + i] = self.boxes[at + i].min(x);
                self.boxes[at + d + i] = self.boxes[at + d + i].max(x);
            }
            let n = &mut self.nodes[node as usize];
            n.n += 1;
            node = n.parent;
        }
    }

    /// Removes id `id` (must be live).
    pub(super) fn forget(&mut self, id: usize) {
        let slot = id % self.leaf_of.len();
        let leaf = std::mem::replace(&mut self.leaf_of[slot], NONE);
        if leaf == NONE {
            return;
        }
        if self.nodes[leaf as usize].n > 1 {
            let mut node = leaf;
            while node != NONE {
                let n = &mut self.nodes[node as usize];
                n.n -= 1;
                node = n.parent;
            }
            return;
        }
        let parent = self.nodes[leaf as usize].parent;
        self.free.push(leaf);
        if parent == NONE {
            self.root = NONE;
            return;
        }
        let p = self.nodes[parent as usize];
        let sibling = if p.left == leaf { p.right } else { p.left };
        let grand = p.parent;
        self.free.push(parent);
        self.nodes[sibling as usize].parent = grand;
        if grand == NONE {
            self.root = sibling;
            return;
        }
        let g = &mut self.nodes[grand as usize];
        if g.left == parent {
            g.left = sibling;
        } else {
            g.right = sibling;
        }
        // Counts down by one and boxes re-tightened from the grandparent up.
        let d = self.dims;
        let mut node = grand;
        while node != NONE {
            let n = self.nodes[node as usize];
            for i in 0..d {
                let lo = self.lo(n.left)[i].min(self.lo(n.right)[i]);
                let hi = self.hi(n.left)[i].max(self.hi(n.right)[i]);
                let at = node as usize * 2 * d;
                self.boxes[at + i] = lo;
                self.boxes[at + d + i] = hi;
            }
            self.nodes[node as usize].n -= 1;
            node = n.parent;
        }
    }

    /// CoDisp of id `id`: the largest `|sibling| / |subtree|` on its path to the root (0 alone).
    /// With `attribution`, adds this tree's CoDisp split over dimensions by how far the point
    /// lies outside the sibling's box at the displacing node.
    pub(super) fn codisp(&self, id: usize, attribution: Option<&mut [f64]>) -> f64 {
        let leaf = self.leaf_of[id % self.leaf_of.len()];
        if leaf == NONE {
            return 0.0;
        }
        let mut node = leaf;
        let (mut best, mut best_sibling) = (0.0, NONE);
        while self.nodes[node as usize].parent != NONE {
            let parent = self.nodes[node as usize].parent;
            let p = self.nodes[parent as usize];
            let sibling = if p.left == node { p.right } else { p.left };
            let ratio =
                f64::from(self.nodes[sibling as usize].n) / f64::from(self.nodes[node as usize].n);
            if ratio > best {
                best = ratio;
                best_sibling = sibling;
            }
            node = parent;
        }
        if let Some(out) = attribution
            && best_sibling != NONE
        {
            let x = self.lo(leaf);
            let (lo, hi) = (self.lo(best_sibling), self.hi(best_sibling));
            let gaps: Vec<f64> = (0..self.dims)
                .map(|i| (lo[i] - x[i]).max(0.0) + (x[i] - hi[i]).max(0.0))
                .collect();
            let total: f64 = gaps.iter().sum();
            for (o, g) in out.iter_mut().zip(&gaps) {
                *o += best
                    * if total > 0.0 {
                        g / total
                    } else {
                        1.0 / self.dims as f64
                    };
            }
        }
        best
    }

    /// Number of points held (duplicates counted).
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        if self.root == NONE {
            0
        } else {
            self.nodes[self.root as usize].n as usize
        }
    }

    /// Checks the structure (tests): counts add up, boxes contain their children.
    #[cfg(test)]
    pub(super) fn check(&self) {
        fn walk(t: &RcTree, node: u32) -> u32 {
            let n = t.nodes[node as usize];
            if n.leaf {
                return n.n;
            }
            for child in [n.left, n.right] {
                assert_eq!(t.nodes[child as usize].parent, node);
                for i in 0..t.dims {
                    assert!(t.lo(node)[i] <= t.lo(child)[i] && t.hi(node)[i] >= t.hi(child)[i]);
                }
            }
            let total = walk(t, n.left) + walk(t, n.right);
            assert_eq!(total, n.n);
            total
        }
        if self.root != NONE {
            walk(self, self.root);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::subseq::rng_stream;

    #[test]
    fn insert_forget_keep_the_structure_and_isolate_outliers() {
        let mut tree = RcTree::new(2, 64, rng_stream(1, 0));
        let mut rng = rng_stream(2, 0);
        for id in 0..300 {
            if id >= 64 {
                tree.forget(id - 64);
            }
            let mut p = [rng.random::<f64>(), rng.random::<f64>()];
            if id % 7 == 0 {
                p = [0.5, 0.5]; // duplicates
            }
            tree.insert(id, &p);
            tree.check();
            assert_eq!(tree.len(), (id + 1).min(64));
        }
        tree.forget(236);
        tree.insert(300, &[25.0, 0.5]);
        let mut attribution = [0.0; 2];
        let outlier = tree.codisp(300, Some(&mut attribution));
        assert!(outlier > 10.0, "{outlier}");
        assert!(attribution[0] > 0.99 * outlier && attribution[1] < 0.01 * outlier);
    }
}
