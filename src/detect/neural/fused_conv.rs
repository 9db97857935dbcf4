//! A convolution layer with its `ReLU` as ONE candle op ([`conv_relu`]) with its own backward
//! pass, for two reasons. Candle 0.11.1's CPU `conv1d` gave wrong gradients here (the input
//! gradient of every batch item after the first disagreed with finite differences, the weight
//! gradient with the definition; see the tests). And it was slow: channels-first, so the
//! time-major network needed transposes around it, its im2col, transposed convolution and
//! bias broadcast are separate ops, 15 ms per 64-window step at the 100k-point benchmark's
//! sizes, 2.4× Keras. Here the whole layer is three matrix products (`ndarray` →
//! `matrixmultiply`) over one im2col buffer.
//!
//! Layout: the input is time-major, `B × L × I`, so the `K` rows a convolution step reads are
//! contiguous and the im2col row of step `t` of item `b` is a copy of `K · I` consecutive
//! values. The weights are one packed `(K · I + 1) × O` tensor `[Wᵀ; b]`, tap-major (row
//! `k · I + i`), the layout `conv.rs` scores with. The output is `B × L' × O`, `L' = L − K + 1`.

use candle_core::{CpuStorage, CustomOp2, Layout, Shape, Tensor};
use ndarray::linalg::general_mat_mul;
use parking_lot::Mutex;

use super::fused::{err, f32_slice, view, view_mut};

type CResult<T> = candle_core::Result<T>;

/// `ReLU(conv(x) + b)` over a time-major `B × L × I` input with `kernel` taps and packed
/// weights `[Wᵀ; b]` (see module docs).
pub(crate) fn conv_relu(x: &Tensor, packed: &Tensor, kernel: usize) -> CResult<Tensor> {
    x.contiguous()?.apply_op2(
        &packed.contiguous()?,
        ConvRelu {
            kernel,
            cache: Mutex::new(None),
        },
    )
}

struct ConvRelu {
    kernel: usize,
    cache: Mutex<Option<Cache>>,
}

/// What the backward pass needs from the forward pass.
struct Cache {
    batch: usize,
    steps: usize,
    inp: usize,
    /// im2col rows, `(B · L') × (K · I)`.
    cols: Vec<f32>,
    /// The layer's output (after the `ReLU`), `(B · L') × O`.
    out: Vec<f32>,
}

impl ConvRelu {
    /// `(batch, steps, inp, out)` of the two arguments, checked.
    fn dims(&self, input: &[usize], packed: &[usize]) -> CResult<(usize, usize, usize, usize)> {
        match (input, packed) {
            (&[batch, steps, inp], &[rows, out])
                if steps >= self.kernel && rows == self.kernel * inp + 1 =>
            {
                Ok((batch, steps, inp, out))
            }
            _ => Err(err(format!(
                "conv_relu: input {input:?} and weights {packed:?} do not fit {} taps",
                self.kernel
            ))),
        }
    }
}

impl CustomOp2 for ConvRelu {
    fn name(&self) -> &'static str {
        "conv_relu"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> CResult<(CpuStorage, Shape)> {
        let (batch, steps, inp, out_ch) = self.dims(l1.dims(), l2.dims())?;
        let x = f32_slice(s1, l1, "input")?;
        let packed = f32_slice(s2, l2, "weights")?;
        let (steps_out, depth) = (steps + 1 - self.kernel, self.kernel * inp);
        let rows = batch * steps_out;
        let mut cols = Vec::with_capacity(rows * depth);
        for b in 0..batch {
            for t in 0..steps_out {
                cols.extend_from_slice(&x[(b * steps + t) * inp..][..depth]);
            }
        }
        let (w_t, bias) = packed.split_at(depth * out_ch);
        let mut out = Vec::with_capacity(rows * out_ch);
        for _ in 0..rows {
            out.extend_from_slice(bias);
        }
        general_mat_mul(
            1.0,
            &view(&cols, (rows, depth), (depth, 1))?,
            &view(w_t, (depth, out_ch), (out_ch, 1))?,
            1.0,
            &mut view_mut(&mut out, (rows, out_ch), (out_ch, 1))?,
        );
        for v in &mut out {
            *v = v.max(0.0);
        }
        let result = out.clone();
        *self.cache.lock() = Some(Cache {
            batch,
            steps,
            inp,
            cols,
            out,
        });
        Ok((
            CpuStorage::F32(result),
            Shape::from((batch, steps_out, out_ch)),
        ))
    }

    fn bwd(
        &self,
        arg1: &Tensor,
        arg2: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> CResult<(Option<Tensor>, Option<Tensor>)> {
        let guard = self.cache.lock();
        let cache = guard
            .as_ref()
            .ok_or_else(|| err("conv_relu: backward before forward".to_owned()))?;
        let Cache {
            batch,
            steps,
            inp,
            ref cols,
            ref out,
        } = *cache;
        let (steps_out, depth) = (steps + 1 - self.kernel, self.kernel * inp);
        let rows = batch * steps_out;
        let out_ch = out.len() / rows.max(1);
        // The ReLU passes the gradient where it passed the value.
        let mut g = grad_res.flatten_all()?.to_vec1::<f32>()?;
        for (g, &y) in g.iter_mut().zip(out) {
            if y <= 0.0 {
                *g = 0.0;
            }
        }
        let g_view = view(&g, (rows, out_ch), (out_ch, 1))?;
        // d[Wᵀ; b]: colsᵀ · g, then the column sums of g.
        let mut d_packed = vec![0.0f32; (depth + 1) * out_ch];
        let (d_w_t, d_bias) = d_packed.split_at_mut(depth * out_ch);
        general_mat_mul(
            1.0,
            &view(cols, (depth, rows), (1, depth))?,
            &g_view,
            0.0,
            &mut view_mut(d_w_t, (depth, out_ch), (out_ch, 1))?,
        );
        for row in g.chunks_exact(out_ch) {
            for (d, &v) in d_bias.iter_mut().zip(row) {
                *d += v;
            }
        }
        let d_x = if arg1.track_op() {
            // d cols = g · W, scattered back onto the rows each im2col row copied (col2im).
            let packed = arg2.flatten_all()?.to_vec1::<f32>()?;
            let mut d_cols = vec![0.0f32; rows * depth];
            general_mat_mul(
                1.0,
                &g_view,
                &view(&packed[..depth * out_ch], (out_ch, depth), (1, out_ch))?,
                0.0,
                &mut view_mut(&mut d_cols, (rows, depth), (depth, 1))?,
            );
            let mut d_x = vec![0.0f32; batch * steps * inp];
            for b in 0..batch {
                for t in 0..steps_out {
                    let row = &d_cols[(b * steps_out + t) * depth..][..depth];
                    let target = &mut d_x[(b * steps + t) * inp..][..depth];
                    for (d, &v) in target.iter_mut().zip(row) {
                        *d += v;
                    }
                }
            }
            Some(Tensor::from_vec(d_x, arg1.shape(), arg1.device())?)
        } else {
            None
        };
        let d_packed = Tensor::from_vec(d_packed, arg2.shape(), arg2.device())?;
        Ok((d_x, Some(d_packed)))
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Var};

    use super::*;

    fn vals(len: usize, s: f32) -> Vec<f32> {
        (0..len)
            .map(|i| ((i as f32 + 1.0) * s).sin() * 0.7)
            .collect()
    }

    /// The same layer from candle's own ops: channels-first `conv1d`, bias broadcast, `ReLU`.
    fn reference(x: &Tensor, packed: &Tensor, kernel: usize) -> CResult<Tensor> {
        let (rows, out) = packed.dims2()?;
        let inp = (rows - 1) / kernel;
        let w_t = packed.narrow(0, 0, kernel * inp)?;
        let bias = packed.narrow(0, kernel * inp, 1)?.reshape((1, out, 1))?;
        // Tap-major Wᵀ (k · I + i, o) → candle's (o, i, k).
        let w = w_t
            .reshape((kernel, inp, out))?
            .permute((2, 1, 0))?
            .contiguous()?;
        x.transpose(1, 2)?
            .contiguous()?
            .conv1d(&w, 0, 1, 1, 1)?
            .broadcast_add(&bias)?
            .relu()?
            .transpose(1, 2)?
            .contiguous()
    }

    /// Both gradients by the definition, with `g` the upstream gradient where the output is
    /// positive: `dx[b][t + k][i] += Σ_o g[b][t][o] · W[o][k][i]`,
    /// `dWᵀ[k · I + i][o] = Σ_{b,t} g[b][t][o] · x[b][t + k][i]`, `db[o] = Σ_{b,t} g[b][t][o]`.
    fn naive_gradients(
        (batch, steps, inp, out, kernel): (usize, usize, usize, usize, usize),
        (x, packed): (&[f32], &[f32]),
        y: &[f32],
        upstream: &[f32],
    ) -> (Vec<f32>, Vec<f32>) {
        let steps_out = steps - kernel + 1;
        let depth = kernel * inp;
        let mut dx = vec![0.0f32; batch * steps * inp];
        let mut dp = vec![0.0f32; (depth + 1) * out];
        for b in 0..batch {
            for t in 0..steps_out {
                for o in 0..out {
                    let at = (b * steps_out + t) * out + o;
                    if y[at] <= 0.0 {
                        continue;
                    }
                    let g = upstream[at];
                    dp[depth * out + o] += g;
                    for k in 0..kernel {
                        for i in 0..inp {
                            let xi = (b * steps + t + k) * inp + i;
                            let wi = (k * inp + i) * out + o;
                            dx[xi] += g * packed[wi];
                            dp[wi] += g * x[xi];
                        }
                    }
                }
            }
        }
        (dx, dp)
    }

    /// The output equals candle's own convolution's and both gradients the definition (which
    /// candle's `conv1d` gradients do not: see the module docs).
    #[test]
    fn matches_candle_conv1d_and_the_definition() {
        let dims = (3, 9, 2, 4, 3);
        let (batch, steps, inp, out, kernel) = dims;
        let dev = Device::Cpu;
        let x_values = vals(batch * steps * inp, 0.53);
        let x = Var::from_vec(x_values.clone(), (batch, steps, inp), &dev).unwrap();
        let packed_values = vals((kernel * inp + 1) * out, 1.7);
        let packed = Var::from_vec(packed_values.clone(), (kernel * inp + 1, out), &dev).unwrap();
        // A weighted sum, so every output element has its own gradient.
        let upstream = vals(batch * (steps - kernel + 1) * out, 0.29);
        let weights =
            Tensor::from_vec(upstream.clone(), (batch, steps - kernel + 1, out), &dev).unwrap();
        let run = |f: &dyn Fn(&Tensor, &Tensor) -> CResult<Tensor>| {
            let y = f(x.as_tensor(), packed.as_tensor()).unwrap();
            let loss = (&y * &weights).unwrap().sum_all().unwrap();
            let grads = loss.backward().unwrap();
            let flat = |t: &Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            (
                flat(&y),
                flat(grads.get(x.as_tensor()).unwrap()),
                flat(grads.get(packed.as_tensor()).unwrap()),
            )
        };
        let ours = run(&|x, p| conv_relu(x, p, kernel));
        let theirs = run(&|x, p| reference(x, p, kernel));
        assert!(ours.0.contains(&0.0) && ours.0.iter().any(|&v| v > 0.0));
        let (dx, dp) = naive_gradients(dims, (&x_values, &packed_values), &ours.0, &upstream);
        for (what, a, b) in [
            ("output", &ours.0, &theirs.0),
            ("input gradient", &ours.1, &dx),
            ("weight gradient", &ours.2, &dp),
        ] {
            assert_eq!(a.len(), b.len(), "{what}");
            for (u, v) in a.iter().zip(b) {
                assert!((u - v).abs() < 1e-5 * (1.0 + v.abs()), "{what}: {u} vs {v}");
            }
        }
    }

    /// The first layer's input is data: no gradient is computed for it.
    #[test]
    fn data_input_gets_no_gradient() {
        let dev = Device::Cpu;
        let x = Tensor::from_vec(vals(2 * 5, 0.4), (1, 5, 2), &dev).unwrap();
        let packed = Var::from_vec(vals(7 * 3, 0.9), (7, 3), &dev).unwrap();
        let loss = conv_relu(&x, packed.as_tensor(), 3)
            .unwrap()
            .sum_all()
            .unwrap();
        let grads = loss.backward().unwrap();
        assert!(grads.get(&x).is_none());
        assert!(grads.get(packed.as_tensor()).is_some());
    }
}
