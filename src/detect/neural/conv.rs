//! Inference side of the convolutional forecaster: a 1-D convolution over time followed by a
//! `ReLU`, in plain Rust over `f32` weights copied out of candle after training, run on a block
//! of `n` windows at once (the lanes of `math.rs`, as for the LSTM in `cell.rs`).
//!
//! Layout: activations are *time-major* lane matrices, step `t`, channel `c`, lane `l` at
//! `[(t · channels + c) · n + l]`, and the weights are *tap-major*, `w[o][k · inp + i]`. The
//! input rows of steps `t .. t + kernel` are then one contiguous lane matrix of
//! `kernel · inp` rows, so each output step is a single [`matmul_lanes`] whose per-lane
//! arithmetic does not depend on how many lanes run: a window scores the same bits alone (a
//! streaming `update`) as inside a block of 64 (`score_series`).

use super::math::{Init, matmul_lanes};

/// A valid (unpadded) 1-D convolution with stride 1 and a `ReLU`: `inp` channels in, `out`
/// channels out, `kernel` taps; `w` is row-major `out × (kernel · inp)`, tap-major.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Conv {
    pub(crate) inp: usize,
    pub(crate) out: usize,
    pub(crate) kernel: usize,
    pub(crate) w: Vec<f32>,
    pub(crate) b: Vec<f32>,
}

impl Conv {
    /// Output steps for `steps` input steps.
    pub(crate) fn steps_out(&self, steps: usize) -> usize {
        (steps + 1).saturating_sub(self.kernel)
    }

    /// `y = ReLU(conv(x) + b)` for `n` lanes: `x` is the time-major lane matrix of `steps`
    /// steps × `inp` channels, `y` becomes `steps_out(steps)` steps × `out` channels.
    #[expect(
        clippy::inline_always,
        reason = "must inline into the AVX2-dispatched caller to be compiled for it"
    )]
    #[inline(always)]
    pub(crate) fn forward(&self, x: &[f32], steps: usize, n: usize, y: &mut Vec<f32>) {
        let steps_out = self.steps_out(steps);
        y.clear();
        y.resize(steps_out * self.out * n, 0.0);
        for t in 0..steps_out {
            matmul_lanes(
                &self.w,
                self.out,
                self.kernel * self.inp,
                &x[t * self.inp * n..],
                n,
                Init::Bias(&self.b),
                &mut y[t * self.out * n..],
                n,
                n,
            );
        }
        for v in y.iter_mut() {
            *v = v.max(0.0);
        }
    }

    /// The layer from the packed training weights `[Wᵀ; b]`, `(kernel · inp + 1) × out`
    /// row-major (see `fused_conv.rs`).
    pub(crate) fn from_packed(inp: usize, out: usize, kernel: usize, packed: &[f32]) -> Self {
        let depth = kernel * inp;
        let mut w = vec![0.0; out * depth];
        for (k, row) in packed[..depth * out].chunks_exact(out).enumerate() {
            for (o, &v) in row.iter().enumerate() {
                w[o * depth + k] = v;
            }
        }
        Self {
            inp,
            out,
            kernel,
            w,
            b: packed[depth * out..][..out].to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vals(len: usize, s: f32) -> Vec<f32> {
        (0..len)
            .map(|i| ((i as f32 + 1.0) * s).sin() * 0.8)
            .collect()
    }

    /// The convolution is the textbook one (from the packed training weights, `ReLU`), and a
    /// lane alone gives the same bits as inside a block.
    #[test]
    fn matches_naive_and_lanes_are_independent() {
        let (inp, out, kernel, steps, n) = (3, 4, 3, 9, 13);
        let packed = vals((kernel * inp + 1) * out, 0.71);
        let conv = Conv::from_packed(inp, out, kernel, &packed);
        let x = vals(steps * inp * n, 0.43);
        let mut y = Vec::new();
        conv.forward(&x, steps, n, &mut y);
        let steps_out = steps - kernel + 1;
        assert_eq!(conv.steps_out(steps), steps_out);
        assert_eq!(y.len(), steps_out * out * n);
        for l in 0..n {
            let mut one_x = vec![0.0; steps * inp];
            for t in 0..steps {
                for i in 0..inp {
                    one_x[t * inp + i] = x[(t * inp + i) * n + l];
                }
            }
            let mut one = Vec::new();
            conv.forward(&one_x, steps, 1, &mut one);
            for t in 0..steps_out {
                for o in 0..out {
                    let naive = (conv.b[o]
                        + (0..kernel)
                            .flat_map(|k| (0..inp).map(move |i| (k, i)))
                            .map(|(k, i)| {
                                packed[(k * inp + i) * out + o] * one_x[(t + k) * inp + i]
                            })
                            .sum::<f32>())
                    .max(0.0);
                    let got = y[(t * out + o) * n + l];
                    assert!((got - naive).abs() < 1e-5, "{got} vs {naive}");
                    assert_eq!(one[t * out + o].to_bits(), got.to_bits());
                }
            }
        }
        assert!(
            y.contains(&0.0) && y.iter().any(|&v| v > 0.0),
            "the ReLU both clips and passes"
        );
    }
}
