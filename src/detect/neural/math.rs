//! The numeric kernels shared by LSTM training (`fused.rs`) and scoring (`cell.rs`): a small
//! matrix product vectorised across *lanes* (windows of a batch) and `exp`, sigmoid and `tanh`
//! written with plain `f32` arithmetic so that the compiler vectorises them across lanes too.
//!
//! Layout: a "lane matrix" holds one row per feature and one column per lane (window), row `r`
//! starting at `r * stride`; lanes are contiguous, so one SIMD register holds several windows.
//!
//! Batch == streaming, bit for bit: every lane's value is computed by the same sequence of
//! IEEE operations whatever the number of lanes (one accumulator per output and lane, summed in
//! `k` order; Rust never contracts `a * b + c` into a fused multiply-add nor reassociates), so
//! scoring one window alone gives exactly what it gets inside a block of 64.

#![expect(
    clippy::inline_always,
    reason = "the kernels must inline into the AVX2-dispatched caller to be compiled for it"
)]
#![expect(
    clippy::many_single_char_names,
    reason = "GEMM and polynomial names (m, v, r, x, n, p, ...) follow the maths"
)]

/// Lanes handled per vector block; a remainder is handled one lane at a time.
pub(crate) const LANES: usize = 8;
/// Rows accumulated together (register tile).
const ROWS: usize = 4;

/// Initial value of each output of [`matmul_lanes`].
#[derive(Clone, Copy, Debug)]
pub(crate) enum Init<'a> {
    /// Zero.
    Zero,
    /// `init[r]` for every lane of row `r` (a bias).
    Bias(&'a [f32]),
    /// A lane matrix `(values, stride)`: row `r`, lane `l` at `values[r * stride + l]`.
    Rows(&'a [f32], usize),
}

impl Init<'_> {
    #[inline(always)]
    fn fill<const L: usize>(self, r: usize, lane: usize, acc: &mut [f32; L]) {
        match self {
            Self::Zero => *acc = [0.0; L],
            Self::Bias(b) => *acc = [b[r]; L],
            Self::Rows(v, stride) => acc.copy_from_slice(&v[r * stride + lane..][..L]),
        }
    }
}

/// `out[r][l] = init[r][l] + Σ_k m[r][k] · v[k][l]` for `rows` rows and lanes `0..n`, with `m`
/// row-major (`rows × depth`), `v` a lane matrix of `depth` rows (`v_stride`) and `out` a lane
/// matrix (`out_stride`). The sum runs in `k` order into one accumulator per output.
#[expect(
    clippy::too_many_arguments,
    reason = "a strided GEMM: shapes and strides"
)]
#[inline(always)]
pub(crate) fn matmul_lanes(
    m: &[f32],
    rows: usize,
    depth: usize,
    v: &[f32],
    v_stride: usize,
    init: Init<'_>,
    out: &mut [f32],
    out_stride: usize,
    n: usize,
) {
    let mut lane = 0;
    while lane + LANES <= n {
        block::<LANES>(m, rows, depth, (v, v_stride), init, (out, out_stride), lane);
        lane += LANES;
    }
    while lane < n {
        block::<1>(m, rows, depth, (v, v_stride), init, (out, out_stride), lane);
        lane += 1;
    }
}

#[inline(always)]
fn block<const L: usize>(
    m: &[f32],
    rows: usize,
    depth: usize,
    (v, vs): (&[f32], usize),
    init: Init<'_>,
    (out, os): (&mut [f32], usize),
    lane: usize,
) {
    let mut r = 0;
    while r + ROWS <= rows {
        let mut acc = [[0.0f32; L]; ROWS];
        for (q, a) in acc.iter_mut().enumerate() {
            init.fill(r + q, lane, a);
        }
        let w = &m[r * depth..(r + ROWS) * depth];
        let (w0, rest) = w.split_at(depth);
        let (w1, rest) = rest.split_at(depth);
        let (w2, w3) = rest.split_at(depth);
        for (k, (((&a, &b), &c), &d)) in w0.iter().zip(w1).zip(w2).zip(w3).enumerate() {
            let mut x = [0.0f32; L];
            x.copy_from_slice(&v[k * vs + lane..][..L]);
            for l in 0..L {
                acc[0][l] += a * x[l];
                acc[1][l] += b * x[l];
                acc[2][l] += c * x[l];
                acc[3][l] += d * x[l];
            }
        }
        for (q, a) in acc.iter().enumerate() {
            out[(r + q) * os + lane..][..L].copy_from_slice(a);
        }
        r += ROWS;
    }
    while r < rows {
        let mut acc = [0.0f32; L];
        init.fill(r, lane, &mut acc);
        for (k, &a) in m[r * depth..(r + 1) * depth].iter().enumerate() {
            let x = &v[k * vs + lane..][..L];
            for l in 0..L {
                acc[l] += a * x[l];
            }
        }
        out[r * os + lane..][..L].copy_from_slice(&acc);
        r += 1;
    }
}

/// `e^x` to about 2 ulp (Cephes `expf`), clamped to the finite range, branch-free.
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0; // 1.5 · 2^23: adding it rounds to an integer
    let x = x.clamp(-87.0, 88.0);
    let t = x * std::f32::consts::LOG2_E + MAGIC;
    let n = t - MAGIC;
    let r = (x - n * 0.693_359_4) - n * -2.121_944_4e-4;
    let p = ((((1.987_569_1e-4 * r + 1.398_2e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 0.166_666_65)
        * r
        + 0.5;
    let y = (p * (r * r) + r) + 1.0;
    // t's mantissa holds 2^22 + n: rebuild 2^n from it.
    let bits = (t.to_bits().wrapping_sub(MAGIC.to_bits()).wrapping_add(127)) << 23;
    y * f32::from_bits(bits)
}

/// Logistic sigmoid `1 / (1 + e^-x)`.
#[inline(always)]
pub(crate) fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// `tanh x`: an odd polynomial near 0 (Cephes `tanhf`), `1 - 2 / (e^{2|x|} + 1)` elsewhere.
#[inline(always)]
pub(crate) fn tanh(x: f32) -> f32 {
    let a = x.abs();
    let big = (1.0 - 2.0 / (exp(a + a) + 1.0)).copysign(x);
    let z = x * x;
    let small = ((((-5.704_988_7e-3 * z + 2.063_909e-2) * z - 5.373_971_6e-2) * z + 0.133_314_42)
        * z
        - 0.333_332_8)
        * z
        * x
        + x;
    if a < 0.625 { small } else { big }
}

/// `out[l] = sigmoid(x[l])`, one simple loop so that it vectorises.
#[inline(always)]
pub(crate) fn sigmoid_into(x: &[f32], out: &mut [f32]) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = sigmoid(v);
    }
}

/// `out[l] = tanh(x[l])`.
#[inline(always)]
pub(crate) fn tanh_into(x: &[f32], out: &mut [f32]) {
    for (o, &v) in out.iter_mut().zip(x) {
        *o = tanh(v);
    }
}

/// LSTM state update of one hidden unit over lanes, from activated gates:
/// `c = f·c_prev + i·g`, `tc = tanh c`, `h = o·tc`.
#[expect(
    clippy::many_single_char_names,
    reason = "gate names i, f, g, o, c, h follow the LSTM literature"
)]
#[inline(always)]
pub(crate) fn cell_update(
    [i, f, g, o]: [&[f32]; 4],
    c_prev: &[f32],
    c: &mut [f32],
    tc: &mut [f32],
    h: &mut [f32],
) {
    let n = c.len();
    let (i, f, g, o, c_prev) = (&i[..n], &f[..n], &g[..n], &o[..n], &c_prev[..n]);
    for l in 0..n {
        c[l] = f[l] * c_prev[l] + i[l] * g[l];
    }
    tanh_into(c, &mut tc[..n]);
    let h = &mut h[..n];
    for l in 0..n {
        h[l] = o[l] * tc[l];
    }
}

/// A piece of work to compile for several instruction sets (see [`simd`]); `run` must be
/// `#[inline(always)]`, as must everything it calls, to be compiled for the chosen one.
pub(crate) trait Kernel {
    type Output;
    fn run(self) -> Self::Output;
}

struct Dispatch<K>(K);

impl<K: Kernel> pulp::WithSimd for Dispatch<K> {
    type Output = K::Output;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) -> K::Output {
        self.0.run()
    }
}

/// Runs `kernel` compiled for the best instruction set of this CPU (AVX2 where present). The
/// results do not depend on the instruction set: no fused multiply-adds, same operations.
pub(crate) fn simd<K: Kernel>(kernel: K) -> K::Output {
    pulp::Arch::new().dispatch(Dispatch(kernel))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonlinearities_match_std() {
        let mut worst = [0.0f64; 3];
        for i in -4000..=4000 {
            let x = i as f32 * 0.01;
            let e = f64::from(x).exp();
            let rel =
                |ours: f32, exact: f64| (f64::from(ours) - exact).abs() / exact.abs().max(1e-30);
            worst[0] = worst[0].max(rel(exp(x), e));
            worst[1] = worst[1].max(rel(sigmoid(x), 1.0 / (1.0 + (-f64::from(x)).exp())));
            let t = f64::from(x).tanh();
            if t != 0.0 {
                worst[2] = worst[2].max(rel(tanh(x), t));
            }
        }
        assert!(worst.iter().all(|&w| w < 1e-6), "{worst:?}");
        assert!(exp(-200.0) >= 0.0 && exp(-200.0) < 1e-37);
        assert!(exp(200.0).is_finite());
        assert!((tanh(50.0) - 1.0).abs() < 1e-7 && (tanh(-50.0) + 1.0).abs() < 1e-7);
        assert_eq!(tanh(0.0).to_bits(), 0);
        assert!(sigmoid(f32::NAN).is_nan());
    }

    /// The product is the naive one, and each lane's bits do not depend on how many lanes run.
    #[test]
    fn matmul_lanes_matches_naive_and_is_lane_independent() {
        let (rows, depth, n) = (7, 5, 11);
        let m: Vec<f32> = (0..rows * depth).map(|i| (i as f32 * 0.37).sin()).collect();
        let v: Vec<f32> = (0..depth * n).map(|i| (i as f32 * 0.91).cos()).collect();
        let bias: Vec<f32> = (0..rows).map(|r| r as f32 * 0.1).collect();
        let mut out = vec![0.0; rows * n];
        matmul_lanes(&m, rows, depth, &v, n, Init::Bias(&bias), &mut out, n, n);
        for r in 0..rows {
            for l in 0..n {
                let naive: f32 = bias[r]
                    + (0..depth)
                        .map(|k| m[r * depth + k] * v[k * n + l])
                        .sum::<f32>();
                assert!((out[r * n + l] - naive).abs() < 1e-5);
                // The same lane alone (a one-lane matrix) gives the same bits.
                let col: Vec<f32> = (0..depth).map(|k| v[k * n + l]).collect();
                let mut one = vec![0.0; rows];
                matmul_lanes(&m, rows, depth, &col, 1, Init::Bias(&bias), &mut one, 1, 1);
                assert_eq!(one[r].to_bits(), out[r * n + l].to_bits());
            }
        }
    }
}
