//! The two inner loops of the one-class SVM, vectorised: dot products between a few training
//! windows at once (kernel rows for the solver) and squared distances between a few windows and
//! a few support vectors at once (scoring, in [`super::scoring`]).
//!
//! Why here and why `pulp`: the crate forbids `unsafe`, so `std::arch` intrinsics and
//! `#[target_feature]` calls are out; `pulp` (already in the tree through candle's `gemm`)
//! picks AVX2 + FMA at run time when the CPU has them and a portable scalar path otherwise,
//! behind a safe API. Each function is one `WithSimd` operation, dispatched once per block of
//! work, so the per-call detection cost is amortised over thousands of multiply-adds.
//!
//! Invariant: every dot product / distance is accumulated in the same order whatever block
//! shape it was computed in (lane `l` of the vector accumulator takes elements `l, l + L, ...`,
//! then the lanes are reduced, then the scalar tail is added), so a kernel entry or a score does
//! not depend on how rows were batched, cached or split between threads.

#![expect(
    clippy::inline_always,
    reason = "pulp compiles with AVX2/FMA only the code inlined into `with_simd`"
)]
#![expect(
    clippy::many_single_char_names,
    reason = "the maths' names (x, k, r, p, t; i, j, r, c, a, d)"
)]

use pulp::{Arch, Simd, WithSimd};

/// `R × C` dot products `a[r] · b[c]`; all slices have the same length.
#[inline(always)]
fn dots<S: Simd, const R: usize, const C: usize>(
    simd: S,
    a: [&[f64]; R],
    b: [&[f64]; C],
) -> [[f64; C]; R] {
    let ah: [(&[S::f64s], &[f64]); R] = a.map(|s| S::as_simd_f64s(s));
    let bh: [(&[S::f64s], &[f64]); C] = b.map(|s| S::as_simd_f64s(s));
    let lanes = bh.first().map_or(0, |h| h.0.len());
    let mut acc = [[simd.splat_f64s(0.0); C]; R];
    for k in 0..lanes {
        let bk: [S::f64s; C] = bh.map(|h| h.0[k]);
        for r in 0..R {
            let ar = ah[r].0[k];
            for c in 0..C {
                acc[r][c] = simd.mul_add_e_f64s(ar, bk[c], acc[r][c]);
            }
        }
    }
    let mut out = [[0.0; C]; R];
    for r in 0..R {
        for c in 0..C {
            let tail: f64 = ah[r].1.iter().zip(bh[c].1).map(|(x, y)| x * y).sum();
            out[r][c] = simd.reduce_sum_f64s(acc[r][c]) + tail;
        }
    }
    out
}

/// `R × C` squared distances `|x[r] - s[c]|²`; all slices have the same length. A distance
/// is accumulated in the same order whatever `R` and `C` are, so a window scored alone and in
/// a block gets the same bits.
#[inline(always)]
pub(super) fn sq_dists<S: Simd, const R: usize, const C: usize>(
    simd: S,
    x: [&[f64]; R],
    s: [&[f64]; C],
) -> [[f64; C]; R] {
    let xh: [(&[S::f64s], &[f64]); R] = x.map(|v| S::as_simd_f64s(v));
    let sh: [(&[S::f64s], &[f64]); C] = s.map(|v| S::as_simd_f64s(v));
    let lanes = sh.first().map_or(0, |h| h.0.len());
    let mut acc = [[simd.splat_f64s(0.0); C]; R];
    for k in 0..lanes {
        let sk: [S::f64s; C] = sh.map(|h| h.0[k]);
        for r in 0..R {
            let xk = xh[r].0[k];
            for c in 0..C {
                let d = simd.sub_f64s(xk, sk[c]);
                acc[r][c] = simd.mul_add_e_f64s(d, d, acc[r][c]);
            }
        }
    }
    let mut out = [[0.0; C]; R];
    for r in 0..R {
        for c in 0..C {
            let tail: f64 = xh[r]
                .1
                .iter()
                .zip(sh[c].1)
                .map(|(a, b)| (a - b) * (a - b))
                .sum();
            out[r][c] = simd.reduce_sum_f64s(acc[r][c]) + tail;
        }
    }
    out
}

/// `ln 2` split in a part with trailing zero bits and the rest (Cody-Waite reduction).
const LN2_HI: f64 = 6.931_471_803_691_238e-1;
const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
/// `1.5 · 2⁵²`: adding it rounds to an integer held in the low mantissa bits.
const ROUND_MAGIC: f64 = 6_755_399_441_055_744.0;
/// Below this, `exp` is under `f64::MIN_POSITIVE` and returns 0.
const EXP_MIN: f64 = -708.0;

/// `exp` of every value in place, vectorised (`exp(r)·2ᵏ` with `|r| ≤ ln2/2`, a degree-13
/// Taylor polynomial: within 2 ulp of libm for the kernel's range `x ≤ 0`; 0 below -708).
/// A short tail goes through the same vector code (padded), so a value's result does not
/// depend on its position in the slice.
#[inline(always)]
pub(super) fn exp_in_place<S: Simd>(simd: S, xs: &mut [f64]) {
    let (head, tail) = S::as_mut_simd_f64s(xs);
    for v in head {
        *v = exp_vec(simd, *v);
    }
    if !tail.is_empty() {
        let mut pad = [0.0; 16];
        let pad = &mut pad[..tail.len().next_multiple_of(S::F64_LANES.max(1))];
        pad[..tail.len()].copy_from_slice(tail);
        for v in S::as_mut_simd_f64s(pad).0 {
            *v = exp_vec(simd, *v);
        }
        tail.copy_from_slice(&pad[..tail.len()]);
    }
}

/// `exp` of every value in place ([`exp_in_place`] with the best instruction set of this CPU).
pub(super) fn exp_row(xs: &mut [f64]) {
    struct Exp<'a>(&'a mut [f64]);
    impl WithSimd for Exp<'_> {
        type Output = ();
        #[inline(always)]
        fn with_simd<S: Simd>(self, simd: S) {
            exp_in_place(simd, self.0);
        }
    }
    Arch::new().dispatch(Exp(xs));
}

#[inline(always)]
fn exp_vec<S: Simd>(simd: S, x: S::f64s) -> S::f64s {
    let splat = |v: f64| simd.splat_f64s(v);
    let under = simd.less_than_f64s(x, splat(EXP_MIN));
    let x = simd.max_f64s(x, splat(EXP_MIN));
    let t = simd.mul_add_e_f64s(x, splat(std::f64::consts::LOG2_E), splat(ROUND_MAGIC));
    let k = simd.sub_f64s(t, splat(ROUND_MAGIC));
    let r = simd.mul_add_e_f64s(simd.neg_f64s(k), splat(LN2_HI), x);
    let r = simd.mul_add_e_f64s(simd.neg_f64s(k), splat(LN2_LO), r);
    // Horner: Σ rⁿ/n!, n = 0..=13.
    let mut p = splat(1.0 / 6_227_020_800.0);
    for inv in [
        1.0 / 479_001_600.0,
        1.0 / 39_916_800.0,
        1.0 / 3_628_800.0,
        1.0 / 362_880.0,
        1.0 / 40_320.0,
        1.0 / 5040.0,
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ] {
        p = simd.mul_add_e_f64s(p, r, splat(inv));
    }
    // 2ᵏ: (k + 1023) in the exponent field; k is in the low bits of t.
    let bits = simd.sub_u64s(
        simd.transmute_u64s_f64s(t),
        simd.splat_u64s(ROUND_MAGIC.to_bits() - 1023),
    );
    let scale = simd.transmute_f64s_u64s(simd.mul_u64s(bits, simd.splat_u64s(1 << 52)));
    simd.select_f64s(under, splat(0.0), simd.mul_f64s(p, scale))
}

/// RBF kernel entries `exp(-gamma · max(0, |aₖ|² + |bⱼ|² - 2 aₖ·bⱼ))` for the row vectors `a`
/// and the column windows `b` from `first_col` on; `out[k]` receives row `k`, one value per
/// column.
///
/// Column `j` is `b[j · b_step..j · b_step + dim]`: `b_step = dim` reads the training matrix;
/// for consecutive windows `b` can instead be the (unweighted) series with `b_step` its width,
/// and `a` the rows pre-multiplied by the squared weights: the same dot products from a
/// series that stays in L2, where the matrix (8 MB at 10k windows of 100) streams from memory.
#[derive(Debug)]
pub(super) struct RbfBlock<'a> {
    /// One vector per output row, `dim` values each.
    pub a: Vec<&'a [f64]>,
    /// `|xᵢ|²` of the training window of each output row.
    pub a_norms: Vec<f64>,
    /// The column windows (see the type's docs).
    pub b: &'a [f64],
    /// Values between the starts of two consecutive column windows.
    pub b_step: usize,
    /// `|xⱼ|²` of every training window.
    pub b_norms: &'a [f64],
    /// Values per window.
    pub dim: usize,
    /// RBF width.
    pub gamma: f64,
    /// First column of this block; `out[k].len()` columns are computed.
    pub first_col: usize,
    /// One output slice per entry of `a`, all of the same length.
    pub out: Vec<&'a mut [f64]>,
    /// Writes the squared distances `max(0, |xᵢ|² + |xⱼ|² - 2 xᵢ·xⱼ)` instead of the kernel
    /// entries (the start of [`super::slide`]'s recurrence).
    pub raw: bool,
}

/// Columns per tile: a tile of training windows (32 × 100 values = 25 KB) stays in L1 while
/// every row of the block is multiplied with it.
const TILE_COLS: usize = 32;

impl WithSimd for RbfBlock<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let Self {
            a,
            a_norms,
            b,
            b_step,
            b_norms,
            dim,
            gamma,
            first_col,
            mut out,
            raw,
        } = self;
        let cols = out.first().map_or(0, |o| o.len());
        let column = |j: usize| &b[j * b_step..j * b_step + dim];
        // The exponent (or the distance when `raw`); `exp_in_place` runs once per tile row.
        let scale = if raw { 1.0 } else { -gamma };
        let entry =
            |k: usize, j: usize, dot: f64| scale * (a_norms[k] + b_norms[j] - 2.0 * dot).max(0.0);
        let finish = |row: &mut [f64]| {
            if !raw {
                exp_in_place(simd, row);
            }
        };
        for tile in (0..cols).step_by(TILE_COLS) {
            let tile_end = (tile + TILE_COLS).min(cols);
            let mut r = 0;
            while r < a.len() {
                if a.len() - r >= 4 {
                    let ar = [a[r], a[r + 1], a[r + 2], a[r + 3]];
                    let mut c = tile;
                    while c < tile_end {
                        if tile_end - c >= 2 {
                            let (j0, j1) = (first_col + c, first_col + c + 1);
                            let d = dots::<S, 4, 2>(simd, ar, [column(j0), column(j1)]);
                            for k in 0..4 {
                                out[r + k][c] = entry(r + k, j0, d[k][0]);
                                out[r + k][c + 1] = entry(r + k, j1, d[k][1]);
                            }
                            c += 2;
                        } else {
                            let j = first_col + c;
                            let d = dots::<S, 4, 1>(simd, ar, [column(j)]);
                            for k in 0..4 {
                                out[r + k][c] = entry(r + k, j, d[k][0]);
                            }
                            c += 1;
                        }
                    }
                    for o in &mut out[r..r + 4] {
                        finish(&mut o[tile..tile_end]);
                    }
                    r += 4;
                } else {
                    for (c, o) in out[r][tile..tile_end].iter_mut().enumerate() {
                        let j = first_col + tile + c;
                        *o = entry(r, j, dots::<S, 1, 1>(simd, [a[r]], [column(j)])[0][0]);
                    }
                    finish(&mut out[r][tile..tile_end]);
                    r += 1;
                }
            }
        }
    }
}

/// `|xᵢ|²` of every row of `x` (row-major, `dim` wide).
pub(super) fn squared_norms(x: &[f64], dim: usize) -> Vec<f64> {
    struct Norms<'a>(&'a [f64], usize);
    impl WithSimd for Norms<'_> {
        type Output = Vec<f64>;
        #[inline(always)]
        fn with_simd<S: Simd>(self, simd: S) -> Vec<f64> {
            self.0
                .chunks_exact(self.1)
                .map(|w| dots::<S, 1, 1>(simd, [w], [w])[0][0])
                .collect()
        }
    }
    Arch::new().dispatch(Norms(x, dim.max(1)))
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// `n` rows of `dim` deterministic, varied values.
    pub(in super::super) fn data(n: usize, dim: usize) -> Vec<f64> {
        (0..n * dim)
            .map(|k| ((k as f64) * 0.731).sin() * (1.0 + (k % 7) as f64))
            .collect()
    }

    #[test]
    fn block_shapes_give_identical_entries() {
        let (n, dim) = (23, 13);
        let x = data(n, dim);
        let norms = squared_norms(&x, dim);
        let rows = [5, 0, 22, 7, 9, 11];
        let compute = |rows: &[usize], first: usize, len: usize| {
            let mut buf = vec![0.0; rows.len() * len];
            let out = buf.chunks_mut(len).collect();
            Arch::new().dispatch(RbfBlock {
                a: rows.iter().map(|&i| &x[i * dim..(i + 1) * dim]).collect(),
                a_norms: rows.iter().map(|&i| norms[i]).collect(),
                b: &x,
                b_step: dim,
                b_norms: &norms,
                dim,
                gamma: 0.05,
                first_col: first,
                out,
                raw: false,
            });
            buf
        };
        let all = compute(&rows, 0, n);
        for (k, &i) in rows.iter().enumerate() {
            let one = compute(&[i], 0, n);
            assert_eq!(&all[k * n..(k + 1) * n], one.as_slice(), "row {i}");
            let part = compute(&[i], 3, n - 3);
            assert_eq!(
                &all[k * n + 3..(k + 1) * n],
                part.as_slice(),
                "row {i} from 3"
            );
            for j in 0..n {
                let d: f64 = (0..dim)
                    .map(|t| (x[i * dim + t] - x[j * dim + t]).powi(2))
                    .sum();
                let want = (-0.05 * d).exp();
                assert!((all[k * n + j] - want).abs() < 1e-12, "{i},{j}");
            }
        }
    }

    #[test]
    fn vector_exp_is_within_two_ulp_of_libm() {
        struct Exp<'a>(&'a mut [f64]);
        impl WithSimd for Exp<'_> {
            type Output = ();
            fn with_simd<S: Simd>(self, simd: S) {
                exp_in_place(simd, self.0);
            }
        }
        let xs: Vec<f64> = (0..20_000)
            .map(|k| -f64::from(k) * 0.0371 + 0.3)
            .chain([0.0, -1e-300, -707.9, -708.5, -1e6])
            .collect();
        let mut ys = xs.clone();
        Arch::new().dispatch(Exp(&mut ys));
        for (x, y) in xs.iter().zip(&ys) {
            let want = if *x < EXP_MIN { 0.0 } else { x.exp() };
            let ulp = (want.to_bits() as i64 - y.to_bits() as i64).abs();
            assert!(ulp <= 2, "exp({x}) = {y}, libm {want}");
        }
        // Position in the slice (vector body or padded tail) does not change a result.
        let mut one = [xs[3]];
        Arch::new().dispatch(Exp(&mut one));
        assert_eq!(one[0].to_bits(), ys[3].to_bits());
    }
}
