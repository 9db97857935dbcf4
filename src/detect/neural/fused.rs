//! A whole LSTM layer as ONE candle op ([`lstm_seq`]) with its own backward pass (BPTT), so
//! that candle's autograd and optimiser train it without building a graph of ~10 small tensor
//! ops per time step (which made an epoch ~6× slower than Keras; see docs/DETECTORS.md).
//!
//! The op takes the input and one packed weight tensor `P = [W_ihᵀ; W_hhᵀ; b]`
//! (`(I + H + 1) × 4H`, gates i, f, g, o) and runs the recurrence in plain Rust over
//! contiguous `f32` buffers: the input projection of all steps is one matrix product
//! (`ndarray` → `matrixmultiply`), each step one product vectorised across the batch
//! (`math::matmul_lanes`) and one pass of gate nonlinearities. The forward pass keeps the
//! gates, cell states and hidden states in the op (`Cache`); `bwd` walks back through time
//! from them and finishes the weight gradient with three large matrix products.
//!
//! Internal layout: "lane matrices", one row per feature, column `t·B + b` for step `t` of
//! batch item `b` (`TB = T·B` columns), so a step's state is a contiguous block of each row.

#![expect(
    clippy::inline_always,
    reason = "the kernels must inline into the AVX2-dispatched caller to be compiled for it"
)]
#![expect(
    clippy::many_single_char_names,
    clippy::similar_names,
    reason = "gate names i, f, g, o, c, h and W_ih / W_hh follow the LSTM literature"
)]

use candle_core::{CpuStorage, CustomOp2, Layout, Shape, Tensor};
use ndarray::linalg::general_mat_mul;
use ndarray::{ArrayView2, ArrayViewMut2, ShapeBuilder as _};
use parking_lot::Mutex;

use super::math::{Init, Kernel, cell_update, matmul_lanes, sigmoid_into, simd, tanh_into};

type CResult<T> = candle_core::Result<T>;

/// What one fused layer computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LstmSpec {
    /// Input features `I`.
    pub(crate) inp: usize,
    /// Hidden size `H`.
    pub(crate) hidden: usize,
    /// `None`: the input is a sequence `B × T × I`. `Some(T)`: the input is `B × I`, fed at each
    /// of `T` steps (the autoencoder's decoder reading the repeated code).
    pub(crate) repeat: Option<usize>,
    /// Output every hidden state (`B × T × H`) instead of the last one (`B × H`).
    pub(crate) all_steps: bool,
}

/// Runs one LSTM layer over `x` with packed weights `packed` (see module docs).
pub(crate) fn lstm_seq(x: &Tensor, packed: &Tensor, spec: LstmSpec) -> CResult<Tensor> {
    x.contiguous()?.apply_op2(
        &packed.contiguous()?,
        LstmSeq {
            spec,
            cache: Mutex::new(None),
        },
    )
}

/// The candle op: the spec plus what the forward pass kept for the backward pass.
struct LstmSeq {
    spec: LstmSpec,
    cache: Mutex<Option<Cache>>,
}

/// Forward-pass state, lane matrices over `TB` columns (`x`: `B` columns when repeated).
#[derive(Debug)]
pub(crate) struct Cache {
    batch: usize,
    steps: usize,
    x: Vec<f32>,
    /// Gate activations i, f, g, o: four `H × TB` blocks.
    acts: Vec<f32>,
    /// Cell states `c_t`.
    cs: Vec<f32>,
    /// `tanh c_t`.
    tcs: Vec<f32>,
    /// Hidden states `h_t`.
    hs: Vec<f32>,
}

pub(super) fn err(message: String) -> candle_core::Error {
    candle_core::Error::Msg(message)
}

pub(super) fn view(
    data: &[f32],
    shape: (usize, usize),
    strides: (usize, usize),
) -> CResult<ArrayView2<'_, f32>> {
    ArrayView2::from_shape(shape.strides(strides), data).map_err(|e| err(e.to_string()))
}

pub(super) fn view_mut(
    data: &mut [f32],
    shape: (usize, usize),
    strides: (usize, usize),
) -> CResult<ArrayViewMut2<'_, f32>> {
    ArrayViewMut2::from_shape(shape.strides(strides), data).map_err(|e| err(e.to_string()))
}

impl LstmSpec {
    /// `(batch, steps)` of an input of `dims`, checked against the spec.
    fn batch_steps(&self, dims: &[usize]) -> CResult<(usize, usize)> {
        match (self.repeat, dims) {
            (None, &[b, t, i]) if i == self.inp && t > 0 => Ok((b, t)),
            (Some(t), &[b, i]) if i == self.inp && t > 0 => Ok((b, t)),
            _ => Err(err(format!(
                "lstm_seq: input shape {dims:?} does not fit {self:?}"
            ))),
        }
    }

    fn packed_dims(&self) -> (usize, usize) {
        (self.inp + self.hidden + 1, 4 * self.hidden)
    }

    /// Forward pass over `x` (candle layout) with packed weights `p`; returns the state.
    pub(crate) fn forward(
        &self,
        p: &[f32],
        x: &[f32],
        batch: usize,
        steps: usize,
    ) -> CResult<Cache> {
        let (ni, nh) = (self.inp, self.hidden);
        let (ng, b, tb) = (4 * nh, batch, steps * batch);
        let cols = if self.repeat.is_some() { b } else { tb };
        // Input in lane layout.
        let mut xl = vec![0.0f32; ni * cols];
        for (row, xr) in x.chunks_exact(ni).enumerate() {
            let col = if self.repeat.is_some() {
                row
            } else {
                (row % steps) * b + row / steps
            };
            for (i, &v) in xr.iter().enumerate() {
                xl[i * cols + col] = v;
            }
        }
        // W_hh row-major (4H × H) for the step product; the bias row of P.
        let mut w_hh = vec![0.0f32; ng * nh];
        for k in 0..nh {
            for (j, &w) in p[(ni + k) * ng..(ni + k + 1) * ng].iter().enumerate() {
                w_hh[j * nh + k] = w;
            }
        }
        let bias = &p[(ni + nh) * ng..(ni + nh + 1) * ng];
        // Input projection of every step: pre = W_ih x + b.
        let mut pre = vec![0.0f32; ng * cols];
        for (row, &bj) in pre.chunks_exact_mut(cols).zip(bias) {
            row.fill(bj);
        }
        general_mat_mul(
            1.0,
            &view(&p[..ni * ng], (ng, ni), (1, ng))?,
            &view(&xl, (ni, cols), (cols, 1))?,
            1.0,
            &mut view_mut(&mut pre, (ng, cols), (cols, 1))?,
        );
        let mut acts = vec![0.0f32; ng * tb];
        let (mut cs, mut tcs, mut hs) = (
            vec![0.0f32; nh * tb],
            vec![0.0f32; nh * tb],
            vec![0.0f32; nh * tb],
        );
        let zeros = vec![0.0f32; nh * b];
        let mut gates = vec![0.0f32; ng * b];
        simd(ForwardSteps {
            spec: *self,
            batch: b,
            steps,
            w_hh: &w_hh,
            pre: &pre,
            zeros: &zeros,
            gates: &mut gates,
            acts: &mut acts,
            cs: &mut cs,
            tcs: &mut tcs,
            hs: &mut hs,
        });
        Ok(Cache {
            batch,
            steps,
            x: xl,
            acts,
            cs,
            tcs,
            hs,
        })
    }

    /// The op's output in candle layout.
    fn output(&self, cache: &Cache) -> (Vec<f32>, Shape) {
        let (b, steps, nh) = (cache.batch, cache.steps, self.hidden);
        let tb = steps * b;
        if self.all_steps {
            let mut out = vec![0.0f32; b * steps * nh];
            for (row, o) in out.chunks_exact_mut(nh).enumerate() {
                let (item, t) = (row / steps, row % steps);
                for (k, v) in o.iter_mut().enumerate() {
                    *v = cache.hs[k * tb + t * b + item];
                }
            }
            (out, Shape::from((b, steps, nh)))
        } else {
            let last = (steps - 1) * b;
            let mut out = vec![0.0f32; b * nh];
            for (item, o) in out.chunks_exact_mut(nh).enumerate() {
                for (k, v) in o.iter_mut().enumerate() {
                    *v = cache.hs[k * tb + last + item];
                }
            }
            (out, Shape::from((b, nh)))
        }
    }

    /// Backward pass: gradients of the input (candle layout, if `need_dx`) and of `P`, given
    /// the output gradient `grad` (candle layout).
    pub(crate) fn backward(
        &self,
        p: &[f32],
        cache: &Cache,
        grad: &[f32],
        need_dx: bool,
    ) -> CResult<(Option<Vec<f32>>, Vec<f32>)> {
        let (ni, nh) = (self.inp, self.hidden);
        let (b, steps) = (cache.batch, cache.steps);
        let (ng, tb) = (4 * nh, steps * b);
        // Output gradient in lane layout: H × TB (every step) or H × B (last step).
        let go_cols = if self.all_steps { tb } else { b };
        let mut go = vec![0.0f32; nh * go_cols];
        for (row, gr) in grad.chunks_exact(nh).enumerate() {
            let col = if self.all_steps {
                (row % steps) * b + row / steps
            } else {
                row
            };
            for (k, &v) in gr.iter().enumerate() {
                go[k * go_cols + col] = v;
            }
        }
        let w_hh_t = &p[ni * ng..(ni + nh) * ng];
        let mut dg = vec![0.0f32; ng * tb];
        let (mut dh, mut dc) = (vec![0.0f32; nh * b], vec![0.0f32; nh * b]);
        let mut blocks = cache.acts.chunks_exact(nh * tb);
        let (Some(ai), Some(af), Some(ag), Some(ao)) =
            (blocks.next(), blocks.next(), blocks.next(), blocks.next())
        else {
            return Err(err("lstm_seq: gate blocks".to_owned()));
        };
        simd(BackwardSteps {
            spec: *self,
            batch: b,
            steps,
            w_hh_t,
            go: &go,
            acts: [ai, af, ag, ao],
            cs: &cache.cs,
            tcs: &cache.tcs,
            dg: &mut dg,
            dh: &mut dh,
            dc: &mut dc,
        });
        // dP = [X; H_prev; 1] · DGᵀ, block by block.
        let mut dp = vec![0.0f32; (ni + nh + 1) * ng];
        let (dp_ih, rest) = dp.split_at_mut(ni * ng);
        let (dp_hh, db) = rest.split_at_mut(nh * ng);
        // Repeated input: its gradient sums the gate gradients over the steps.
        let summed;
        let (dg_x, x_cols, x_stride) = if self.repeat.is_some() {
            let mut s = vec![0.0f32; ng * b];
            for (srow, drow) in s.chunks_exact_mut(b).zip(dg.chunks_exact(tb)) {
                for step in drow.chunks_exact(b) {
                    for (a, &v) in srow.iter_mut().zip(step) {
                        *a += v;
                    }
                }
            }
            summed = s;
            (&summed[..], b, b)
        } else {
            (&dg[..], tb, tb)
        };
        general_mat_mul(
            1.0,
            &view(&cache.x, (ni, x_cols), (x_cols, 1))?,
            &view(dg_x, (x_cols, ng), (1, x_stride))?,
            0.0,
            &mut view_mut(dp_ih, (ni, ng), (ng, 1))?,
        );
        if steps > 1 {
            let n = tb - b;
            general_mat_mul(
                1.0,
                &view(&cache.hs, (nh, n), (tb, 1))?,
                &view(&dg[b..], (n, ng), (1, tb))?,
                0.0,
                &mut view_mut(dp_hh, (nh, ng), (ng, 1))?,
            );
        }
        for (d, row) in db.iter_mut().zip(dg.chunks_exact(tb)) {
            *d = row.iter().sum();
        }
        let dx = if need_dx {
            let mut dxl = vec![0.0f32; ni * x_cols];
            general_mat_mul(
                1.0,
                &view(&p[..ni * ng], (ni, ng), (ng, 1))?,
                &view(dg_x, (ng, x_cols), (x_stride, 1))?,
                0.0,
                &mut view_mut(&mut dxl, (ni, x_cols), (x_cols, 1))?,
            );
            let mut dx = vec![0.0f32; ni * x_cols];
            for (row, dr) in dx.chunks_exact_mut(ni).enumerate() {
                let col = if self.repeat.is_some() {
                    row
                } else {
                    (row % steps) * b + row / steps
                };
                for (i, v) in dr.iter_mut().enumerate() {
                    *v = dxl[i * x_cols + col];
                }
            }
            Some(dx)
        } else {
            None
        };
        Ok((dx, dp))
    }
}

/// The forward recurrence (one `simd` dispatch).
struct ForwardSteps<'a> {
    spec: LstmSpec,
    batch: usize,
    steps: usize,
    w_hh: &'a [f32],
    pre: &'a [f32],
    zeros: &'a [f32],
    gates: &'a mut [f32],
    acts: &'a mut [f32],
    cs: &'a mut [f32],
    tcs: &'a mut [f32],
    hs: &'a mut [f32],
}

impl Kernel for ForwardSteps<'_> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        let Self {
            spec,
            batch: b,
            steps,
            w_hh,
            pre,
            zeros,
            gates,
            acts,
            cs,
            tcs,
            hs,
        } = self;
        let (nh, tb) = (spec.hidden, steps * b);
        let ng = 4 * nh;
        for t in 0..steps {
            let c0 = t * b;
            let (h_prev, h_stride) = if t == 0 {
                (zeros, b)
            } else {
                (&hs[c0 - b..], tb)
            };
            let init = match spec.repeat {
                Some(_) => Init::Rows(pre, b),
                None => Init::Rows(&pre[c0..], tb),
            };
            matmul_lanes(w_hh, ng, nh, h_prev, h_stride, init, gates, b, b);
            for (j, row) in gates.chunks_exact(b).enumerate() {
                let out = &mut acts[j * tb + c0..][..b];
                if (2 * nh..3 * nh).contains(&j) {
                    tanh_into(row, out);
                } else {
                    sigmoid_into(row, out);
                }
            }
            for k in 0..nh {
                let at = k * tb + c0;
                let gate = |q: usize| &acts[q * nh * tb + at..][..b];
                let (before, now) = cs.split_at_mut(at);
                let c_prev = if t == 0 {
                    &zeros[..b]
                } else {
                    &before[at - b..]
                };
                cell_update(
                    [gate(0), gate(1), gate(2), gate(3)],
                    c_prev,
                    &mut now[..b],
                    &mut tcs[at..][..b],
                    &mut hs[at..][..b],
                );
            }
        }
    }
}

/// The backward recurrence (one `simd` dispatch).
struct BackwardSteps<'a> {
    spec: LstmSpec,
    batch: usize,
    steps: usize,
    w_hh_t: &'a [f32],
    go: &'a [f32],
    acts: [&'a [f32]; 4],
    cs: &'a [f32],
    tcs: &'a [f32],
    dg: &'a mut [f32],
    dh: &'a mut [f32],
    dc: &'a mut [f32],
}

impl Kernel for BackwardSteps<'_> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        let Self {
            spec,
            batch: b,
            steps,
            w_hh_t,
            go,
            acts: [ai, af, ag, ao],
            cs,
            tcs,
            dg,
            dh,
            dc,
        } = self;
        let (nh, tb) = (spec.hidden, steps * b);
        let ng = 4 * nh;
        let go_cols = if spec.all_steps { tb } else { b };
        let zeros = vec![0.0f32; b];
        for t in (0..steps).rev() {
            let c0 = t * b;
            if t + 1 == steps {
                let first = if spec.all_steps { c0 } else { 0 };
                for (k, row) in dh.chunks_exact_mut(b).enumerate() {
                    row.copy_from_slice(&go[k * go_cols + first..][..b]);
                }
            } else {
                let init = if spec.all_steps {
                    Init::Rows(&go[c0..], tb)
                } else {
                    Init::Zero
                };
                matmul_lanes(w_hh_t, nh, ng, &dg[c0 + b..], tb, init, dh, b, b);
            }
            let (di, rest) = dg.split_at_mut(nh * tb);
            let (df, rest) = rest.split_at_mut(nh * tb);
            let (dgg, dout) = rest.split_at_mut(nh * tb);
            for k in 0..nh {
                let at = k * tb + c0;
                let (i, f, g, o) = (
                    &ai[at..][..b],
                    &af[at..][..b],
                    &ag[at..][..b],
                    &ao[at..][..b],
                );
                let tc = &tcs[at..][..b];
                let c_prev = if t == 0 {
                    &zeros[..]
                } else {
                    &cs[at - b..][..b]
                };
                let (di, df, dgg, dout) = (
                    &mut di[at..][..b],
                    &mut df[at..][..b],
                    &mut dgg[at..][..b],
                    &mut dout[at..][..b],
                );
                let dh = &dh[k * b..][..b];
                let dc = &mut dc[k * b..][..b];
                for l in 0..b {
                    let d_c = dc[l] + dh[l] * o[l] * (1.0 - tc[l] * tc[l]);
                    dout[l] = dh[l] * tc[l] * (o[l] * (1.0 - o[l]));
                    di[l] = d_c * g[l] * (i[l] * (1.0 - i[l]));
                    df[l] = d_c * c_prev[l] * (f[l] * (1.0 - f[l]));
                    dgg[l] = d_c * i[l] * (1.0 - g[l] * g[l]);
                    dc[l] = d_c * f[l];
                }
            }
        }
    }
}

pub(super) fn f32_slice<'a>(
    storage: &'a CpuStorage,
    layout: &Layout,
    what: &str,
) -> CResult<&'a [f32]> {
    let CpuStorage::F32(values) = storage else {
        return Err(err(format!("lstm_seq: {what} must be f32")));
    };
    let (start, end) = layout
        .contiguous_offsets()
        .ok_or_else(|| err(format!("lstm_seq: {what} must be contiguous")))?;
    Ok(&values[start..end])
}

impl CustomOp2 for LstmSeq {
    fn name(&self) -> &'static str {
        "lstm_seq"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> CResult<(CpuStorage, Shape)> {
        let spec = self.spec;
        let (batch, steps) = spec.batch_steps(l1.dims())?;
        if l2.dims() != [spec.packed_dims().0, spec.packed_dims().1] {
            return Err(err(format!(
                "lstm_seq: packed weights {:?}, expected {:?}",
                l2.dims(),
                spec.packed_dims()
            )));
        }
        let x = f32_slice(s1, l1, "input")?;
        let p = f32_slice(s2, l2, "weights")?;
        let cache = spec.forward(p, x, batch, steps)?;
        let (out, shape) = spec.output(&cache);
        *self.cache.lock() = Some(cache);
        Ok((CpuStorage::F32(out), shape))
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
            .ok_or_else(|| err("lstm_seq: backward before forward".to_owned()))?;
        let p = arg2.flatten_all()?.to_vec1::<f32>()?;
        let grad = grad_res.flatten_all()?.to_vec1::<f32>()?;
        let (dx, dp) = self.spec.backward(&p, cache, &grad, arg1.track_op())?;
        let dx = dx
            .map(|dx| Tensor::from_vec(dx, arg1.shape(), arg1.device()))
            .transpose()?;
        let dp = Tensor::from_vec(dp, arg2.shape(), arg2.device())?;
        Ok((dx, Some(dp)))
    }
}
