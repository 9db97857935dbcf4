//! Kernel rows of consecutive sliding windows by a one-row recurrence (the matrix profile's
//! trick, applied to weighted squared distances).
//!
//! When window `i + 1` is window `i` moved on by one row of `width` values, and the recency
//! weights grow by the same factor `s` from each row to the next, the weighted squared distance
//! `d(i, j) = |xᵢ - xⱼ|²` obeys
//!
//! `d(i+1, j+1) = r · (d(i, j) - |oldest(i) - oldest(j)|²) + |newest(i+1) - newest(j+1)|²`
//!
//! with `r = s²`, `oldest` the first and `newest` the last `width` values of a (weighted)
//! window. A row of `n` distances then costs `O(n · width)` instead of `O(n · dim)`. This is
//! the common case of a fit that keeps every training window (at most `max_train` of them):
//! the solver's start alone needs the `ν·n` consecutive rows of the initial alphas, about half
//! of all the rows it computes at 10k windows of 100 values.
//!
//! Why it is exact enough: with recency weights (`r < 1`) a rounding error shrinks by `r` at
//! every step; without (`r = 1`) it adds up over at most [`RUN`] rows, each adding about one
//! ulp of the distance. Kernel entries agree with the direct computation to ~1e-14, far below
//! the solver's tolerance (unit tests). Column `j` is computed directly whenever `j` is a
//! multiple of [`COLUMN_BLOCK`] (so threads can split a row at those columns and a value never
//! depends on the number of threads); a run starts with a directly computed head row.

#![expect(
    clippy::inline_always,
    reason = "pulp compiles with AVX2 only the code inlined into `with_simd`"
)]

use pulp::{Arch, Simd, WithSimd};

use super::simd::exp_in_place;

/// Most rows computed from one directly computed head row.
pub(super) const RUN: usize = 64;

/// Columns between two directly computed columns; threads split rows at multiples of it.
pub(super) const COLUMN_BLOCK: usize = 1024;

/// How consecutive training windows relate (see the module docs), and the series they come
/// from.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Slide {
    /// Values per row of a window (the series' columns).
    pub width: usize,
    /// Squared weight ratio `r` between a row and the next newer one (1 without weights).
    pub ratio: f64,
    /// The unweighted series the windows slide over, time-major (window `j` is
    /// `series[j · width..j · width + dim]`).
    pub series: Vec<f64>,
    /// The square of each value's weight in a window.
    pub squared_weights: Vec<f64>,
    /// The oldest `width` weighted values of every window, column-major (`[c · n + j]`), so a
    /// recurrence step reads them contiguously.
    oldest: Vec<f64>,
    /// The newest `width` weighted values of every window, column-major.
    newest: Vec<f64>,
    /// Number of windows.
    n: usize,
}

impl Slide {
    /// `Some` when the unweighted `windows` (`n × dim`, row-major, `width` values per row) are
    /// consecutive sliding windows and `weights` (one per value) are the same within a row and
    /// geometric across rows; `None` otherwise (the solver then computes every row directly).
    pub(super) fn detect(
        windows: &[f64],
        n: usize,
        dim: usize,
        width: usize,
        weights: &[f64],
    ) -> Option<Self> {
        if width == 0 || !dim.is_multiple_of(width) || dim / width < 2 || n < 2 {
            return None;
        }
        if windows.len() != n * dim || weights.len() != dim {
            return None;
        }
        let consecutive = windows
            .chunks_exact(dim)
            .zip(windows.chunks_exact(dim).skip(1))
            .all(|(older, newer)| older[width..] == newer[..dim - width]);
        if !consecutive {
            return None;
        }
        let row_weight: Vec<f64> = weights.chunks_exact(width).map(|w| w[0]).collect();
        let same_in_row = weights
            .chunks_exact(width)
            .all(|w| w.iter().all(|v| v.to_bits() == w[0].to_bits()));
        let rows = row_weight.len();
        let newest = row_weight[rows - 1];
        let factor = row_weight[rows - 2] / newest;
        let geometric = row_weight
            .windows(2)
            .all(|pair| (pair[0] - factor * pair[1]).abs() <= 1e-12 * pair[0].abs());
        let positive = row_weight.iter().all(|&w| w > 0.0 && w.is_finite());
        if !(same_in_row && geometric && positive && factor <= 1.0) {
            return None;
        }
        let mut series = windows[..dim].to_vec();
        for window in windows.chunks_exact(dim).skip(1) {
            series.extend_from_slice(&window[dim - width..]);
        }
        // The weighted end values, as the solver's weighted matrix has them (`value · weight`).
        let mut oldest = vec![0.0; width * n];
        let mut newest = vec![0.0; width * n];
        for (j, window) in windows.chunks_exact(dim).enumerate() {
            for c in 0..width {
                let last = dim - width + c;
                oldest[c * n + j] = window[c] * weights[c];
                newest[c * n + j] = window[last] * weights[last];
            }
        }
        Some(Self {
            width,
            ratio: factor * factor,
            series,
            squared_weights: weights.iter().map(|w| w * w).collect(),
            oldest,
            newest,
            n,
        })
    }
}

/// One recurrence step over columns `first..first + next.len()`: `next` receives `d(i, ·)` from
/// `prev = d(i - 1, ·)` (same columns); columns that are multiples of [`COLUMN_BLOCK`] are
/// computed directly (`direct(j)`); `kernel` receives `exp(-gamma · max(0, d))`.
pub(super) struct Step<'a, D: Fn(usize) -> f64> {
    /// How the windows relate.
    pub slide: &'a Slide,
    /// The row being computed (`i ≥ 1`).
    pub row: usize,
    /// First column of this part (a multiple of [`COLUMN_BLOCK`]).
    pub first: usize,
    /// `d(i - 1, ·)` over the part's columns.
    pub prev: &'a [f64],
    /// `d(i, ·)` over the part's columns.
    pub next: &'a mut [f64],
    /// The kernel entries of row `i` over the part's columns.
    pub kernel: &'a mut [f64],
    /// RBF width.
    pub gamma: f64,
    /// A squared distance `d(i, j)` computed from the windows themselves.
    pub direct: D,
}

impl<D: Fn(usize) -> f64> WithSimd for Step<'_, D> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let Self {
            slide,
            row,
            first,
            prev,
            next,
            kernel,
            gamma,
            direct,
        } = self;
        let n = slide.n;
        let len = next.len();
        let mut start = 0;
        while start < len {
            // One block: its first column directly, the rest from `prev` shifted by one.
            let end = (start + COLUMN_BLOCK - (first + start) % COLUMN_BLOCK).min(len);
            let absolute = first + start;
            next[start] = direct(absolute);
            let out = &mut next[start + 1..end];
            out.copy_from_slice(&prev[start..end - 1]);
            for c in 0..slide.width {
                let column = &slide.oldest[c * n..(c + 1) * n];
                let own = column[row - 1];
                for (t, v) in out.iter_mut().zip(&column[absolute..first + end - 1]) {
                    let d = own - v;
                    *t -= d * d;
                }
            }
            for t in out.iter_mut() {
                *t *= slide.ratio;
            }
            for c in 0..slide.width {
                let column = &slide.newest[c * n..(c + 1) * n];
                let own = column[row];
                for (t, v) in out.iter_mut().zip(&column[absolute + 1..first + end]) {
                    let d = own - v;
                    *t += d * d;
                }
            }
            start = end;
        }
        for (k, d) in kernel.iter_mut().zip(next.iter()) {
            *k = -gamma * d.max(0.0);
        }
        exp_in_place(simd, kernel);
    }
}

/// Runs `step` with the best instruction set of this CPU.
pub(super) fn dispatch<D: Fn(usize) -> f64>(step: Step<'_, D>) {
    Arch::new().dispatch(step);
}

/// The requested rows grouped into runs of consecutive indices (at most [`RUN`] long): each
/// run is `(position in rows, row)` pairs, increasing by row.
pub(super) fn runs(rows: &[usize]) -> Vec<Vec<(usize, usize)>> {
    let mut sorted: Vec<(usize, usize)> = rows.iter().copied().enumerate().collect();
    sorted.sort_unstable_by_key(|&(_, row)| row);
    let mut runs: Vec<Vec<(usize, usize)>> = Vec::new();
    for (k, row) in sorted {
        match runs.last_mut() {
            Some(run)
                if run.len() < RUN && run.last().is_some_and(|&(_, last)| last + 1 == row) =>
            {
                run.push((k, row));
            }
            _ => runs.push(vec![(k, row)]),
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use rand::{Rng as _, SeedableRng as _};
    use rand_chacha::ChaCha8Rng;

    use super::super::kernel::RbfKernel;
    use super::super::recency_weights;
    use super::super::solver::{SmoParams, solve};
    use super::*;
    use crate::control::CancelToken;

    /// All `n` consecutive windows of `rows` rows over a random walk of `width` columns
    /// (unweighted), and the recency weights of `half_life`.
    fn windows(n: usize, rows: usize, width: usize, half_life: usize) -> (Vec<f64>, Vec<f64>) {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut level = vec![0.0; width];
        let series: Vec<Vec<f64>> = (0..n + rows - 1)
            .map(|t| {
                for v in &mut level {
                    *v += rng.random::<f64>() - 0.5;
                }
                let spike = if t % 97 == 0 { 3.0 } else { 0.0 };
                level.iter().map(|v| v + spike).collect()
            })
            .collect();
        let x = (0..n)
            .flat_map(|i| series[i..i + rows].iter().flatten().copied())
            .collect();
        (x, recency_weights(rows * width, width, half_life))
    }

    fn weighted(x: &[f64], weights: &[f64]) -> Vec<f64> {
        x.chunks_exact(weights.len())
            .flat_map(|w| w.iter().zip(weights).map(|(v, k)| v * k))
            .collect()
    }

    #[test]
    fn detects_consecutive_geometric_windows_only() {
        let (x, weights) = windows(50, 8, 2, 4);
        let slide = Slide::detect(&x, 50, 16, 2, &weights).unwrap();
        assert_eq!(slide.width, 2);
        assert!((slide.ratio - 0.5_f64.powf(0.5)).abs() < 1e-12);
        let flat = vec![1.0; 16];
        assert!((Slide::detect(&x, 50, 16, 2, &flat).unwrap().ratio - 1.0).abs() < f64::EPSILON);
        // Every other window (a subsample), other weights, other widths: not slidable.
        let every_other: Vec<f64> = x.chunks_exact(16).step_by(2).flatten().copied().collect();
        assert!(Slide::detect(&every_other, 25, 16, 2, &weights).is_none());
        let mut bumpy = weights.clone();
        bumpy[5] *= 1.01;
        assert!(Slide::detect(&x, 50, 16, 2, &bumpy).is_none());
        assert!(Slide::detect(&x, 50, 16, 3, &weights).is_none());
        assert!(Slide::detect(&x[..16], 1, 16, 2, &weights).is_none());
    }

    #[test]
    fn recurrence_rows_match_direct_rows() {
        // More columns than a block (direct columns inside a row) and enough work to split the
        // rows over threads; with and without recency weights, one and three columns.
        for (width, rows, half_life) in [(1, 40, 4), (1, 40, 0), (3, 12, 2), (3, 12, 0)] {
            let n = 2 * COLUMN_BLOCK + 300;
            let dim = rows * width;
            let (x, weights) = windows(n, rows, width, half_life);
            let slide = Slide::detect(&x, n, dim, width, &weights).unwrap();
            assert_eq!(slide.series.len(), (n + rows - 1) * width);
            let wx = weighted(&x, &weights);
            let gamma = 1.0 / weights.iter().map(|k| k * k).sum::<f64>();
            let direct = RbfKernel::new(&wx, n, dim, gamma, None);
            let sliding = RbfKernel::new(&wx, n, dim, gamma, Some(slide));
            // Two full runs, a short one, and stragglers, in scrambled order.
            let mut wanted: Vec<usize> = (100..100 + RUN + 20).chain([5, 7, 8, n - 1]).collect();
            wanted.reverse();
            let (mut want, mut got) = (vec![0.0; wanted.len() * n], vec![0.0; wanted.len() * n]);
            direct.rows_into(&wanted, &mut want);
            sliding.rows_into(&wanted, &mut got);
            let worst = want
                .iter()
                .zip(&got)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            assert!(
                worst < 1e-12,
                "width {width} half-life {half_life}: {worst}"
            );
            // A run's head is the row computed alone, bit for bit.
            let head = wanted.iter().position(|&r| r == 100).unwrap();
            let mut alone = vec![0.0; n];
            sliding.rows_into(&[100], &mut alone);
            assert_eq!(alone, got[head * n..(head + 1) * n]);
        }
    }

    #[test]
    fn solver_finds_the_same_model_with_the_recurrence() {
        let (n, rows, width) = (600, 20, 1);
        let (x, weights) = windows(n, rows, width, 4);
        let slide = Slide::detect(&x, n, rows, width, &weights);
        assert!(slide.is_some());
        let wx = weighted(&x, &weights);
        let gamma = 1.0 / weights.iter().map(|k| k * k).sum::<f64>();
        let params = SmoParams {
            nu: 0.1,
            eps: 1e-10,
            ..SmoParams::default()
        };
        let cancel = CancelToken::new();
        let direct = solve(&wx, n, rows, gamma, None, &params, &cancel).unwrap();
        let sliding = solve(&wx, n, rows, gamma, slide, &params, &cancel).unwrap();
        assert!(
            (direct.rho - sliding.rho).abs() < 1e-9,
            "{} vs {}",
            direct.rho,
            sliding.rho
        );
        for (a, b) in direct.alpha.iter().zip(&sliding.alpha) {
            assert!((a - b).abs() < 1e-7, "{a} vs {b}");
        }
    }
}
