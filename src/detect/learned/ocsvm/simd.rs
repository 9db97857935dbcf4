//! The two inner loops of the one-class SVM, vectorised: dot products between a few training
//! windows at once (kernel rows for the solver) and squared distances from one window to a few
//! support vectors at once (scoring).
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

/// `C` squared distances `|x - s[c]|²`; all slices have the same length.
#[inline(always)]
fn sq_dists<S: Simd, const C: usize>(simd: S, x: &[f64], s: [&[f64]; C]) -> [f64; C] {
    let (xh, xt) = S::as_simd_f64s(x);
    let sh: [(&[S::f64s], &[f64]); C] = s.map(|v| S::as_simd_f64s(v));
    let mut acc = [simd.splat_f64s(0.0); C];
    for (k, &xk) in xh.iter().enumerate() {
        for c in 0..C {
            let d = simd.sub_f64s(xk, sh[c].0[k]);
            acc[c] = simd.mul_add_e_f64s(d, d, acc[c]);
        }
    }
    let mut out = [0.0; C];
    for c in 0..C {
        let tail: f64 = xt.iter().zip(sh[c].1).map(|(a, b)| (a - b) * (a - b)).sum();
        out[c] = simd.reduce_sum_f64s(acc[c]) + tail;
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

/// RBF kernel entries `exp(-gamma · max(0, |xᵢ|² + |xⱼ|² - 2 xᵢ·xⱼ))` for rows `rows` and
/// columns `cols.start..` of the training matrix `x` (row-major, `dim` wide); `out[k]` receives
/// row `rows[k]`, one value per column.
#[derive(Debug)]
pub(super) struct RbfBlock<'a> {
    /// Training matrix, row-major.
    pub x: &'a [f64],
    /// Values per training window.
    pub dim: usize,
    /// `|xⱼ|²` of every training window.
    pub norms: &'a [f64],
    /// RBF width.
    pub gamma: f64,
    /// The kernel rows to compute.
    pub rows: &'a [usize],
    /// First column of this block; `out[k].len()` columns are computed.
    pub first_col: usize,
    /// One output slice per entry of `rows`, all of the same length.
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
            x,
            dim,
            norms,
            gamma,
            rows,
            first_col,
            mut out,
            raw,
        } = self;
        let cols = out.first().map_or(0, |o| o.len());
        let window = |i: usize| &x[i * dim..(i + 1) * dim];
        // The exponent (or the distance when `raw`); `exp_in_place` runs once per tile row.
        let scale = if raw { 1.0 } else { -gamma };
        let entry =
            |i: usize, j: usize, dot: f64| scale * (norms[i] + norms[j] - 2.0 * dot).max(0.0);
        let finish = |row: &mut [f64]| {
            if !raw {
                exp_in_place(simd, row);
            }
        };
        for tile in (0..cols).step_by(TILE_COLS) {
            let tile_end = (tile + TILE_COLS).min(cols);
            let mut r = 0;
            while r < rows.len() {
                if rows.len() - r >= 4 {
                    let ri = [rows[r], rows[r + 1], rows[r + 2], rows[r + 3]];
                    let a = ri.map(window);
                    let mut c = tile;
                    while c < tile_end {
                        if tile_end - c >= 2 {
                            let (j0, j1) = (first_col + c, first_col + c + 1);
                            let d = dots::<S, 4, 2>(simd, a, [window(j0), window(j1)]);
                            for k in 0..4 {
                                out[r + k][c] = entry(ri[k], j0, d[k][0]);
                                out[r + k][c + 1] = entry(ri[k], j1, d[k][1]);
                            }
                            c += 2;
                        } else {
                            let j = first_col + c;
                            let d = dots::<S, 4, 1>(simd, a, [window(j)]);
                            for k in 0..4 {
                                out[r + k][c] = entry(ri[k], j, d[k][0]);
                            }
                            c += 1;
                        }
                    }
                    for o in &mut out[r..r + 4] {
                        finish(&mut o[tile..tile_end]);
                    }
                    r += 4;
                } else {
                    let i = rows[r];
                    let a = [window(i)];
                    for (c, o) in out[r][tile..tile_end].iter_mut().enumerate() {
                        let j = first_col + tile + c;
                        *o = entry(i, j, dots::<S, 1, 1>(simd, a, [window(j)])[0][0]);
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

/// `Σ coef[s] · exp(-gamma · |x - support[s]|²)` over the support vectors (row-major, `x.len()`
/// wide), summed in support-vector order.
pub(super) fn rbf_sum(x: &[f64], support: &[f64], coef: &[f64], gamma: f64) -> f64 {
    struct Sum<'a> {
        x: &'a [f64],
        support: &'a [f64],
        coef: &'a [f64],
        gamma: f64,
    }
    impl WithSimd for Sum<'_> {
        type Output = f64;
        #[inline(always)]
        fn with_simd<S: Simd>(self, simd: S) -> f64 {
            let dim = self.x.len();
            let mut sum = 0.0;
            // Exponents of up to 64 support vectors, then their `exp` at once.
            let mut buf = [0.0; 64];
            for (block, coef) in self.support.chunks(64 * dim).zip(self.coef.chunks(64)) {
                let args = &mut buf[..coef.len()];
                let mut groups = block.chunks_exact(4 * dim);
                let mut k = 0;
                for group in groups.by_ref() {
                    let s: [&[f64]; 4] = std::array::from_fn(|c| &group[c * dim..(c + 1) * dim]);
                    for d in sq_dists::<S, 4>(simd, self.x, s) {
                        args[k] = -self.gamma * d;
                        k += 1;
                    }
                }
                for s in groups.remainder().chunks_exact(dim) {
                    args[k] = -self.gamma * sq_dists::<S, 1>(simd, self.x, [s])[0];
                    k += 1;
                }
                exp_in_place(simd, args);
                for (a, e) in coef.iter().zip(args.iter()) {
                    sum += a * e;
                }
            }
            sum
        }
    }
    if x.is_empty() {
        return coef.iter().sum();
    }
    Arch::new().dispatch(Sum {
        x,
        support,
        coef,
        gamma,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize, dim: usize) -> Vec<f64> {
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
                x: &x,
                dim,
                norms: &norms,
                gamma: 0.05,
                rows,
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
}
