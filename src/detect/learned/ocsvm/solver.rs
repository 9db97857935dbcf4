//! The one-class SVM dual, solved by SMO exactly as libsvm's `Solver` does for `ONE_CLASS`
//! (so scikit-learn's and PyOD's `OneClassSVM` find the same model): minimise `½ αᵀQα` subject
//! to `0 ≤ αᵢ ≤ 1`, `Σ αᵢ = ν·n`, with `Qᵢⱼ = K(xᵢ, xⱼ)`.
//!
//! - start: the first `⌊ν·n⌋` alphas are 1, the next one takes the fraction left, the rest 0;
//!   the gradient `G = Qα` comes from the rows of the nonzero alphas, computed as blocks;
//! - working set: libsvm's second-order selection (WSS3, Fan, Chen & Lin 2005); stop when the
//!   maximal violation `max(-Gᵢ, i not at 1) + max(Gⱼ, j not at 0)` is below `eps` (libsvm's
//!   `tol`, 1e-3 by default);
//! - optional shrinking (libsvm's rule and gradient reconstruction); shrunk indices leave the
//!   active list, cached rows keep full length;
//! - `rho`: the mean gradient over free alphas (libsvm's `calculate_rho`); the decision value
//!   is `Σ αᵢ K(xᵢ, x) - rho`.
//!
//! Why our own solver: linfa-svm 0.8 builds the whole dense kernel serially before solving
//! (~20 s at 10k windows of 100) and its `Permutable` kernel trait and `fit_one_class` are
//! private, so it cannot be given on-demand rows. Kernel rows here come from
//! [`super::kernel`]: computed when first needed, several at a time (a miss also prefetches the
//! rows most likely to be needed next), kept in a bounded LRU cache.

use super::cache::RowCache;
use super::kernel::RbfKernel;
use super::slide::Slide;
use crate::control::CancelToken;

/// libsvm's `TAU`: the curvature used when `Qᵢᵢ + Qⱼⱼ - 2Qᵢⱼ` is not positive.
const TAU: f64 = 1e-12;

/// Solver settings (libsvm's names).
#[derive(Clone, Debug)]
pub struct SmoParams {
    /// Upper bound on the fraction of outliers, in `(0, 1]`.
    pub nu: f64,
    /// Stopping tolerance on the maximal KKT violation (libsvm's `tol`/`eps`), > 0.
    pub eps: f64,
    /// Bytes of kernel rows to keep (libsvm's `cache_size`); at least two rows are kept.
    pub cache_bytes: usize,
    /// libsvm's shrinking heuristic.
    pub shrinking: bool,
    /// Rows computed per cache miss (the missing row plus likely next ones), at least 1.
    pub prefetch: usize,
}

impl Default for SmoParams {
    fn default() -> Self {
        Self {
            nu: 0.5,
            eps: 1e-3,
            cache_bytes: 200 << 20,
            shrinking: true,
            prefetch: 16,
        }
    }
}

/// Why the solver refused its input.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SmoError {
    /// A parameter is out of range.
    #[error("solver parameter {name} = {value} is out of range ({expected})")]
    Param {
        /// Parameter name.
        name: &'static str,
        /// The value given.
        value: f64,
        /// The valid range.
        expected: &'static str,
    },
    /// No training windows, or a matrix whose size is not `n × dim`.
    #[error("training matrix has {values} values, expected {n} windows × {dim} (n > 0)")]
    Shape {
        /// Values given.
        values: usize,
        /// Windows.
        n: usize,
        /// Values per window.
        dim: usize,
    },
    /// A training value is NaN or infinite.
    #[error("training value {index} is not finite")]
    NonFinite {
        /// Flat index of the value.
        index: usize,
    },
    /// The cancel token was set.
    #[error("cancelled")]
    Cancelled,
}

/// The solution of the dual.
#[derive(Clone, Debug)]
pub struct SmoSolution {
    /// One alpha per training window, in `[0, 1]`, summing to `ν·n`.
    pub alpha: Vec<f64>,
    /// Offset: decision value `Σ αᵢ K(xᵢ, x) - rho`.
    pub rho: f64,
    /// SMO iterations.
    pub iterations: usize,
    /// Kernel rows computed (cache misses and prefetched rows).
    pub rows_computed: usize,
}

/// Where an alpha sits in its box.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bound {
    Lower,
    Upper,
    Free,
}

fn bound(alpha: f64) -> Bound {
    if alpha >= 1.0 {
        Bound::Upper
    } else if alpha <= 0.0 {
        Bound::Lower
    } else {
        Bound::Free
    }
}

/// Solves the one-class dual on `n` windows of `dim` values (row-major `x`) with the RBF
/// kernel of width `gamma`. When the windows are consecutive, `slide` (from
/// [`Slide::detect`]) lets runs of consecutive kernel rows come from the sliding recurrence of
/// [`super::slide`].
pub(super) fn solve(
    x: &[f64],
    n: usize,
    dim: usize,
    gamma: f64,
    slide: Option<Slide>,
    params: &SmoParams,
    cancel: &CancelToken,
) -> Result<SmoSolution, SmoError> {
    let check = |name, value: f64, ok: bool, expected| {
        if ok {
            Ok(())
        } else {
            Err(SmoError::Param {
                name,
                value,
                expected,
            })
        }
    };
    check(
        "nu",
        params.nu,
        params.nu > 0.0 && params.nu <= 1.0,
        "(0, 1]",
    )?;
    check(
        "eps",
        params.eps,
        params.eps > 0.0 && params.eps.is_finite(),
        "> 0",
    )?;
    check("gamma", gamma, gamma > 0.0 && gamma.is_finite(), "> 0")?;
    check(
        "prefetch",
        params.prefetch as f64,
        params.prefetch >= 1,
        ">= 1",
    )?;
    if n == 0 || dim == 0 || x.len() != n * dim {
        return Err(SmoError::Shape {
            values: x.len(),
            n,
            dim,
        });
    }
    if let Some(index) = x.iter().position(|v| !v.is_finite()) {
        return Err(SmoError::NonFinite { index });
    }
    let kernel = RbfKernel::new(x, n, dim, gamma, slide);
    let mut smo = Smo::start(&kernel, params, cancel)?;
    let iterations = smo.run(cancel)?;
    let rho = smo.rho();
    Ok(SmoSolution {
        alpha: smo.alpha,
        rho,
        iterations,
        rows_computed: smo.cache.computed,
    })
}

/// Solver state; every vector is indexed by training window.
struct Smo<'k> {
    kernel: &'k RbfKernel<'k>,
    cache: RowCache,
    eps: f64,
    shrinking: bool,
    /// Rows computed per miss.
    batch: usize,
    alpha: Vec<f64>,
    status: Vec<Bound>,
    /// Gradient `Qα` (stale outside the active set while shrunk).
    g: Vec<f64>,
    /// `Σ Qᵢⱼ` over alphas at the upper bound (for reconstructing the gradient).
    g_bar: Vec<f64>,
    /// Indices not shrunk, increasing.
    active: Vec<usize>,
    unshrink: bool,
}

impl<'k> Smo<'k> {
    /// Initial alphas (libsvm's) and the gradient from the rows of the nonzero ones.
    fn start(
        kernel: &'k RbfKernel<'k>,
        params: &SmoParams,
        cancel: &CancelToken,
    ) -> Result<Self, SmoError> {
        let n = kernel.len();
        let total = params.nu * n as f64;
        let whole = (total as usize).min(n);
        let mut alpha = vec![0.0; n];
        alpha[..whole].fill(1.0);
        if whole < n {
            alpha[whole] = total - whole as f64;
        }
        let cache = RowCache::new(n, params.cache_bytes);
        let batch = params.prefetch.min((cache.capacity() / 2).max(1));
        let mut smo = Self {
            kernel,
            cache,
            eps: params.eps,
            shrinking: params.shrinking,
            batch,
            status: alpha.iter().map(|&a| bound(a)).collect(),
            alpha,
            g: vec![0.0; n],
            g_bar: vec![0.0; n],
            active: (0..n).collect(),
            unshrink: false,
        };
        let nonzero: Vec<usize> = (0..n).filter(|&i| smo.alpha[i] > 0.0).collect();
        // Blocks of 64 rows: large enough for the block kernel, small enough for the cache.
        for block in nonzero.chunks(64.min(smo.cache.capacity())) {
            if cancel.is_cancelled() {
                return Err(SmoError::Cancelled);
            }
            kernel.rows_to(block, smo.cache.claim(block, None));
            smo.cache.computed += block.len();
            for &i in block {
                let (a, row) = (smo.alpha[i], smo.cache.row(i));
                for (g, q) in smo.g.iter_mut().zip(row) {
                    *g += a * q;
                }
                if smo.status[i] == Bound::Upper {
                    for (g, q) in smo.g_bar.iter_mut().zip(row) {
                        *g += q;
                    }
                }
            }
        }
        Ok(smo)
    }

    /// Makes row `i` cached without evicting `keep`; on a miss also computes up to
    /// `batch - 1` uncached active rows from `candidates` (most likely next first).
    fn ensure(&mut self, i: usize, keep: Option<usize>, upward: bool) {
        if self.cache.get(i).is_some() {
            return;
        }
        let mut rows = self.prefetch_candidates(i, keep, upward);
        // `i` goes last, so it is the most recently used row.
        rows.push(i);
        self.kernel.rows_to(&rows, self.cache.claim(&rows, keep));
        self.cache.computed += rows.len();
    }

    /// Uncached active rows likely to be a working-set member soon: for an upward miss (the
    /// `i` of a pair) the smallest gradients among alphas below 1, otherwise the largest among
    /// alphas above 0.
    fn prefetch_candidates(&self, i: usize, keep: Option<usize>, upward: bool) -> Vec<usize> {
        let want = self.batch - 1;
        if want == 0 {
            return Vec::new();
        }
        let mut pool: Vec<(f64, usize)> = self
            .active
            .iter()
            .filter(|&&t| t != i && Some(t) != keep && !self.cache.contains(t))
            .filter_map(|&t| match (upward, self.status[t]) {
                (true, Bound::Upper) | (false, Bound::Lower) => None,
                (true, _) => Some((self.g[t], t)),
                (false, _) => Some((-self.g[t], t)),
            })
            .collect();
        if pool.len() > want {
            pool.select_nth_unstable_by(want, |a, b| a.0.total_cmp(&b.0));
            pool.truncate(want);
        }
        pool.into_iter().map(|(_, t)| t).collect()
    }

    /// libsvm's `Solve` loop; returns the iteration count.
    fn run(&mut self, cancel: &CancelToken) -> Result<usize, SmoError> {
        let n = self.kernel.len();
        let max_iter = 10_000_000_usize.max(n.saturating_mul(100));
        let mut counter = n.min(1000) + 1;
        let mut iter = 0;
        while iter < max_iter {
            counter -= 1;
            if counter == 0 {
                counter = n.min(1000);
                if self.shrinking {
                    self.shrink();
                }
                if cancel.is_cancelled() {
                    return Err(SmoError::Cancelled);
                }
            }
            let (i, j) = if let Some(pair) = self.select_working_set() {
                pair
            } else {
                self.reconstruct_gradient();
                let Some(pair) = self.select_working_set() else {
                    break;
                };
                counter = 1;
                pair
            };
            iter += 1;
            self.step(i, j);
        }
        self.reconstruct_gradient();
        Ok(iter)
    }

    /// WSS3 over the active set; `None` when optimal within `eps`.
    fn select_working_set(&mut self) -> Option<(usize, usize)> {
        let (mut gmax, mut gmax_idx) = (f64::NEG_INFINITY, None);
        for &t in &self.active {
            if self.status[t] != Bound::Upper && -self.g[t] >= gmax {
                gmax = -self.g[t];
                gmax_idx = Some(t);
            }
        }
        let i = gmax_idx?;
        self.ensure(i, None, true);
        let qi = self.cache.row(i);
        let (mut gmax2, mut gmin_idx, mut obj_min) = (f64::NEG_INFINITY, None, f64::INFINITY);
        for &j in &self.active {
            if self.status[j] == Bound::Lower {
                continue;
            }
            let gj = self.g[j];
            if gj >= gmax2 {
                gmax2 = gj;
            }
            let grad_diff = gmax + gj;
            if grad_diff > 0.0 {
                // Qᵢᵢ = Qⱼⱼ = 1 for the RBF kernel.
                let quad = 2.0 - 2.0 * qi[j];
                let obj = -(grad_diff * grad_diff) / if quad > 0.0 { quad } else { TAU };
                if obj <= obj_min {
                    gmin_idx = Some(j);
                    obj_min = obj;
                }
            }
        }
        match gmin_idx {
            Some(j) if gmax + gmax2 >= self.eps => Some((i, j)),
            _ => None,
        }
    }

    /// One SMO step on the pair `(i, j)`: moves mass between the two alphas, updates the
    /// gradient over the active set and `g_bar` where a bound changed.
    fn step(&mut self, i: usize, j: usize) {
        self.ensure(i, None, true);
        self.ensure(j, Some(i), false);
        let (old_i, old_j) = (self.alpha[i], self.alpha[j]);
        let qij = self.cache.row(i)[j];
        let quad = 2.0 - 2.0 * qij;
        let delta = (self.g[i] - self.g[j]) / if quad > 0.0 { quad } else { TAU };
        let sum = old_i + old_j;
        let (mut ai, mut aj) = (old_i - delta, old_j + delta);
        if sum > 1.0 {
            if ai > 1.0 {
                ai = 1.0;
                aj = sum - 1.0;
            }
        } else if aj < 0.0 {
            aj = 0.0;
            ai = sum;
        }
        if sum > 1.0 {
            if aj > 1.0 {
                aj = 1.0;
                ai = sum - 1.0;
            }
        } else if ai < 0.0 {
            ai = 0.0;
            aj = sum;
        }
        self.alpha[i] = ai;
        self.alpha[j] = aj;
        let (di, dj) = (ai - old_i, aj - old_j);
        let (qi, qj) = (self.cache.row(i), self.cache.row(j));
        if self.active.len() == self.g.len() {
            for ((g, a), b) in self.g.iter_mut().zip(qi).zip(qj) {
                *g += a * di + b * dj;
            }
        } else {
            for &k in &self.active {
                self.g[k] += qi[k] * di + qj[k] * dj;
            }
        }
        for (t, q) in [(i, qi), (j, qj)] {
            let was_upper = self.status[t] == Bound::Upper;
            self.status[t] = bound(self.alpha[t]);
            let is_upper = self.status[t] == Bound::Upper;
            if was_upper != is_upper {
                let sign = if was_upper { -1.0 } else { 1.0 };
                for (g, v) in self.g_bar.iter_mut().zip(q) {
                    *g += sign * v;
                }
            }
        }
    }

    /// libsvm's `be_shrunk`.
    fn shrinkable(&self, t: usize, gmax1: f64, gmax2: f64) -> bool {
        match self.status[t] {
            Bound::Upper => -self.g[t] > gmax1,
            Bound::Lower => self.g[t] > gmax2,
            Bound::Free => false,
        }
    }

    /// libsvm's `do_shrinking`: drops bound alphas that cannot move at the current violation;
    /// once close to optimal, reconstructs the gradient and starts over from the full set.
    fn shrink(&mut self) {
        let (mut gmax1, mut gmax2) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
        for &t in &self.active {
            if self.status[t] != Bound::Upper {
                gmax1 = gmax1.max(-self.g[t]);
            }
            if self.status[t] != Bound::Lower {
                gmax2 = gmax2.max(self.g[t]);
            }
        }
        if !self.unshrink && gmax1 + gmax2 <= self.eps * 10.0 {
            self.unshrink = true;
            self.reconstruct_gradient();
        }
        let mut active = std::mem::take(&mut self.active);
        active.retain(|&t| !self.shrinkable(t, gmax1, gmax2));
        self.active = active;
    }

    /// Recomputes the gradient of the shrunk indices (`g_bar` plus the free alphas' rows) and
    /// makes every index active again.
    fn reconstruct_gradient(&mut self) {
        let n = self.g.len();
        if self.active.len() == n {
            return;
        }
        let mut is_active = vec![false; n];
        for &t in &self.active {
            is_active[t] = true;
        }
        let inactive: Vec<usize> = (0..n).filter(|&t| !is_active[t]).collect();
        for &t in &inactive {
            self.g[t] = self.g_bar[t];
        }
        let free: Vec<usize> = self
            .active
            .iter()
            .copied()
            .filter(|&t| self.status[t] == Bound::Free)
            .collect();
        for &i in &free {
            self.ensure(i, None, true);
            let (a, q) = (self.alpha[i], self.cache.row(i));
            for &t in &inactive {
                self.g[t] += a * q[t];
            }
        }
        self.active = (0..n).collect();
    }

    /// libsvm's `calculate_rho` for one class (all labels +1).
    fn rho(&self) -> f64 {
        let (mut ub, mut lb, mut sum, mut free) = (f64::INFINITY, f64::NEG_INFINITY, 0.0, 0);
        for &t in &self.active {
            let g = self.g[t];
            match self.status[t] {
                Bound::Upper => lb = lb.max(g),
                Bound::Lower => ub = ub.min(g),
                Bound::Free => {
                    free += 1;
                    sum += g;
                }
            }
        }
        if free > 0 {
            sum / f64::from(free)
        } else {
            f64::midpoint(ub, lb)
        }
    }
}

#[cfg(test)]
#[path = "solver_tests.rs"]
mod tests;
