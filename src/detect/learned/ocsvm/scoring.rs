//! The SVM's decision sum `Σ coef[s] · exp(-gamma · |x - support[s]|²)`, for one window
//! (streaming) or a block of windows (batch), with the same bits either way.
//!
//! Why blocks: at 10k training windows of 100 values the support vectors take ~400 KB, more
//! than stays in a core's L2 next to everything else, so scoring one window at a time streams
//! them from L3 once per window; four windows at a time read them once per four windows and
//! keep four windows' distances in registers (`4 × 2` window × support-vector tiles).
//! Every distance is accumulated in the same order whatever the tile ([`sq_dists`]), `exp`
//! does not depend on a value's position, and each window's sum runs in support-vector order,
//! so batch scores equal streaming scores bit for bit (unit test and the detector invariants).

#![expect(
    clippy::inline_always,
    reason = "pulp compiles with AVX2/FMA only the code inlined into `with_simd`"
)]

use pulp::{Arch, Simd, WithSimd};

use super::simd::{exp_in_place, sq_dists};

/// Support vectors whose exponents are collected before one vectorised `exp`.
const SV_BLOCK: usize = 64;

/// Windows scored together against each support vector.
const WINDOWS: usize = 4;

/// `Σ coef[s] · exp(-gamma · |x - support[s]|²)` over the support vectors (row-major,
/// `x.len()` wide), summed in support-vector order: [`rbf_sums`] of one window, the reference
/// the block tests compare with.
#[cfg(test)]
pub(super) fn rbf_sum(x: &[f64], support: &[f64], coef: &[f64], gamma: f64) -> f64 {
    let mut out = [0.0];
    rbf_sums(x, x.len(), support, coef, gamma, &mut out);
    out[0]
}

/// `Σ coef[s] · exp(-gamma · |x - support[s]|²)` over the support vectors (row-major, `dim`
/// wide), summed in support-vector order, for every window `x` of `xs` (row-major, `dim`
/// wide) into `out`, one per window.
pub(super) fn rbf_sums(
    xs: &[f64],
    dim: usize,
    support: &[f64],
    coef: &[f64],
    gamma: f64,
    out: &mut [f64],
) {
    if dim == 0 {
        // Every distance is 0 and every kernel value 1.
        out.fill(coef.iter().sum());
        return;
    }
    Arch::new().dispatch(Sums {
        xs,
        dim,
        support,
        coef,
        gamma,
        out,
    });
}

struct Sums<'a> {
    xs: &'a [f64],
    dim: usize,
    support: &'a [f64],
    coef: &'a [f64],
    gamma: f64,
    out: &'a mut [f64],
}

impl WithSimd for Sums<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let Self {
            xs,
            dim,
            support,
            coef,
            gamma,
            out,
        } = self;
        let mut groups = xs.chunks_exact(WINDOWS * dim);
        let mut outs = out.chunks_exact_mut(WINDOWS);
        for (group, o) in groups.by_ref().zip(outs.by_ref()) {
            let x: [&[f64]; WINDOWS] = std::array::from_fn(|r| &group[r * dim..(r + 1) * dim]);
            o.copy_from_slice(&tile_sums(simd, x, support, coef, gamma));
        }
        for (x, o) in groups
            .remainder()
            .chunks_exact(dim)
            .zip(outs.into_remainder())
        {
            *o = tile_sums(simd, [x], support, coef, gamma)[0];
        }
    }
}

/// The sums of `R` windows, support vectors two at a time.
#[inline(always)]
fn tile_sums<S: Simd, const R: usize>(
    simd: S,
    x: [&[f64]; R],
    support: &[f64],
    coef: &[f64],
    gamma: f64,
) -> [f64; R] {
    let dim = x[0].len();
    let mut sums = [0.0; R];
    let mut args = [[0.0; SV_BLOCK]; R];
    for (block, block_coef) in support.chunks(SV_BLOCK * dim).zip(coef.chunks(SV_BLOCK)) {
        let mut k = 0;
        let mut pairs = block.chunks_exact(2 * dim);
        for pair in pairs.by_ref() {
            let d = sq_dists::<S, R, 2>(simd, x, [&pair[..dim], &pair[dim..]]);
            for r in 0..R {
                args[r][k] = -gamma * d[r][0];
                args[r][k + 1] = -gamma * d[r][1];
            }
            k += 2;
        }
        for s in pairs.remainder().chunks_exact(dim) {
            let d = sq_dists::<S, R, 1>(simd, x, [s]);
            for r in 0..R {
                args[r][k] = -gamma * d[r][0];
            }
            k += 1;
        }
        for (sum, row) in sums.iter_mut().zip(args.iter_mut()) {
            let row = &mut row[..k];
            exp_in_place(simd, row);
            for (a, e) in block_coef.iter().zip(row.iter()) {
                *sum += a * e;
            }
        }
    }
    sums
}

#[cfg(test)]
mod tests {
    use super::super::simd::tests::data;
    use super::*;

    #[test]
    fn rbf_sum_matches_a_plain_loop() {
        let dim = 11;
        let support = data(7, dim);
        let coef: Vec<f64> = (0..7).map(|k| 0.1 + f64::from(k)).collect();
        let x: Vec<f64> = (0..dim).map(|k| (k as f64 * 0.3).cos()).collect();
        let plain: f64 = support
            .chunks_exact(dim)
            .zip(&coef)
            .map(|(s, a)| {
                let d: f64 = s.iter().zip(&x).map(|(p, q)| (p - q) * (p - q)).sum();
                a * (-0.2 * d).exp()
            })
            .sum();
        let fast = rbf_sum(&x, &support, &coef, 0.2);
        assert!((fast - plain).abs() < 1e-12, "{fast} vs {plain}");
    }

    #[test]
    fn a_block_of_windows_scores_each_window_bit_for_bit() {
        // Odd sizes everywhere: a ragged lane tail, a remainder window group, an odd support
        // vector left after the pairs, more support vectors than one exponent block.
        let (dim, windows, svs) = (13, 11, SV_BLOCK + 7);
        let support = data(svs, dim);
        let coef: Vec<f64> = (0..svs).map(|k| 1.0 / (1.0 + k as f64)).collect();
        let xs: Vec<f64> = data(windows + 3, dim)[3 * dim..].to_vec();
        let mut block = vec![0.0; windows];
        rbf_sums(&xs, dim, &support, &coef, 0.05, &mut block);
        for (x, got) in xs.chunks_exact(dim).zip(&block) {
            let alone = rbf_sum(x, &support, &coef, 0.05);
            assert_eq!(alone.to_bits(), got.to_bits());
        }
        let mut empty = [0.0; 2];
        rbf_sums(&[], 0, &[], &[0.5, 0.25], 0.05, &mut empty);
        assert!(empty.iter().all(|v| (v - 0.75).abs() < 1e-15), "{empty:?}");
    }
}
