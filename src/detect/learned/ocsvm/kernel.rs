//! RBF kernel rows of the training windows, computed on demand into the solver's cache
//! ([`super::cache`]).
//!
//! Why: the SMO solver only ever reads a few hundred to a few thousand of the `n` kernel rows
//! (those of the working pairs), so building the dense `n × n` kernel first, as linfa-svm 0.8
//! does, wastes most of the fit (10⁸ entries at 10k windows). A row is
//! `exp(-gamma · (|xᵢ|² + |xⱼ|² - 2 xᵢ·xⱼ))`: the norms are computed once, the dot products by
//! the vectorised block kernel of [`super::simd`], several rows at a time (a block reads each
//! training window once for all its rows) and split by columns over rayon's threads. When the
//! windows are consecutive, runs of consecutive rows come from [`super::slide`]'s recurrence
//! instead (a run's first row directly).
//!
//! Rows are always full length (`n`), indexed by the original training index, so the solver's
//! shrinking never has to permute cached rows.

use pulp::Arch;
use rayon::prelude::*;

use super::simd::{RbfBlock, exp_row, squared_norms};
use super::slide::{self, COLUMN_BLOCK, Slide, Step};

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
    /// Set when the windows are consecutive: rows in runs come from [`slide`]'s recurrence.
    slide: Option<Slide>,
}

impl<'a> RbfKernel<'a> {
    /// `x` is row-major, `n × dim` (checked by the caller); `slide` says how consecutive windows
    /// relate, when they do ([`Slide::detect`]).
    pub(super) fn new(
        x: &'a [f64],
        n: usize,
        dim: usize,
        gamma: f64,
        slide: Option<Slide>,
    ) -> Self {
        Self {
            x,
            n,
            dim,
            norms: squared_norms(x, dim),
            gamma,
            slide,
        }
    }

    /// Number of training windows (the length of a row).
    pub(super) fn len(&self) -> usize {
        self.n
    }

    /// Fills `out` (`rows.len() × n`, row-major) with the kernel rows `rows`.
    #[cfg(test)]
    pub(super) fn rows_into(&self, rows: &[usize], out: &mut [f64]) {
        self.rows_to(rows, out.chunks_mut(self.n.max(1)).collect());
    }

    /// Fills `out[k]` (`n` values each) with kernel row `rows[k]`.
    pub(super) fn rows_to(&self, rows: &[usize], out: Vec<&mut [f64]>) {
        let n = self.n;
        if rows.is_empty() || n == 0 {
            return;
        }
        let flops = rows.len() * n * self.dim;
        let blocks = n.div_ceil(COLUMN_BLOCK);
        let parts = if flops < PARALLEL_MIN_FLOPS {
            1
        } else {
            rayon::current_num_threads().clamp(1, 16).min(blocks)
        };
        // Column ranges on block boundaries; each part gets its segment of every output row.
        let bounds: Vec<usize> = (0..=parts)
            .map(|p| (p * blocks / parts * COLUMN_BLOCK).min(n))
            .collect();
        let mut segments: Vec<Vec<&mut [f64]>> =
            (0..parts).map(|_| Vec::with_capacity(rows.len())).collect();
        for row in out.into_iter().take(rows.len()) {
            let mut rest = row;
            for (p, seg) in segments.iter_mut().enumerate() {
                let (head, tail) = rest.split_at_mut(bounds[p + 1] - bounds[p]);
                seg.push(head);
                rest = tail;
            }
        }
        let runs = self
            .slide
            .as_ref()
            .map(|_| slide::runs(rows))
            .filter(|runs| runs.len() < rows.len());
        let block = |(p, out): (usize, Vec<&mut [f64]>)| match &runs {
            Some(runs) => self.slide_part(runs, bounds[p], out),
            None => self.direct_part(rows, bounds[p], out, false),
        };
        if parts == 1 {
            segments.into_iter().enumerate().for_each(block);
        } else {
            segments.into_par_iter().enumerate().for_each(block);
        }
    }

    /// Rows `rows` over columns `first_col..`, each computed from the windows (kernel entries,
    /// or squared distances when `raw`); consecutive windows are read from their series.
    fn direct_part(&self, rows: &[usize], first_col: usize, out: Vec<&mut [f64]>, raw: bool) {
        let dim = self.dim;
        let a_norms = rows.iter().map(|&i| self.norms[i]).collect();
        // With the series at hand a row is read from it, pre-multiplied by the squared weights.
        let scaled: Vec<Vec<f64>>;
        let (a, b, b_step): (Vec<&[f64]>, &[f64], usize) = if let Some(slide) = &self.slide {
            scaled = rows
                .iter()
                .map(|&i| {
                    let window = &slide.series[i * slide.width..i * slide.width + dim];
                    let weights = &slide.squared_weights;
                    window.iter().zip(weights).map(|(z, w)| z * w).collect()
                })
                .collect();
            let a = scaled.iter().map(Vec::as_slice).collect();
            (a, &slide.series, slide.width)
        } else {
            let a = rows
                .iter()
                .map(|&i| &self.x[i * dim..(i + 1) * dim])
                .collect();
            (a, self.x, dim)
        };
        Arch::new().dispatch(RbfBlock {
            a,
            a_norms,
            b,
            b_step,
            b_norms: &self.norms,
            dim,
            gamma: self.gamma,
            first_col,
            out,
            raw,
        });
    }

    /// Runs of consecutive rows over columns `first..`: each run's head directly, the rest by
    /// the recurrence; `out[k]` is the segment of `rows[k]`.
    fn slide_part(&self, runs: &[Vec<(usize, usize)>], first: usize, mut out: Vec<&mut [f64]>) {
        let Some(slide) = &self.slide else {
            return;
        };
        let len = out.first().map_or(0, |o| o.len());
        let heads: Vec<usize> = runs
            .iter()
            .filter_map(|run| run.first())
            .map(|h| h.1)
            .collect();
        let mut head_distances = vec![0.0; heads.len() * len];
        self.direct_part(
            &heads,
            first,
            head_distances.chunks_mut(len).collect(),
            true,
        );
        let mut next = vec![0.0; len];
        for (run, prev) in runs.iter().zip(head_distances.chunks_mut(len)) {
            for (step, &(k, row)) in run.iter().enumerate() {
                if step == 0 {
                    for (o, d) in out[k].iter_mut().zip(prev.iter()) {
                        *o = -self.gamma * d;
                    }
                    exp_row(out[k]);
                    continue;
                }
                let x_row = &self.x[row * self.dim..(row + 1) * self.dim];
                slide::dispatch(Step {
                    slide,
                    row,
                    first,
                    prev,
                    next: &mut next,
                    kernel: &mut *out[k],
                    gamma: self.gamma,
                    direct: |j| {
                        let other = &self.x[j * self.dim..(j + 1) * self.dim];
                        x_row
                            .iter()
                            .zip(other)
                            .map(|(a, b)| (a - b) * (a - b))
                            .sum()
                    },
                });
                prev.copy_from_slice(&next);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_split_over_threads_equal_one_block() {
        let (n, dim) = (300, 40);
        let x: Vec<f64> = (0..n * dim)
            .map(|k| ((k * 37 % 101) as f64).sqrt())
            .collect();
        let kernel = RbfKernel::new(&x, n, dim, 0.01, None);
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
