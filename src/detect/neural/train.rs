//! Training with candle (CPU): the same networks as [`super::net::Net`], written with candle
//! tensors so that autograd and `AdamW` do the work, then copied out into a plain `Net`. Each
//! LSTM layer is one fused candle op with its own backward pass (`fused.rs`); the convolutions
//! likewise (`fused_conv.rs`); the dense head and the loss are ordinary candle ops.
//!
//! Determinism: weights are initialised from a seeded `ChaCha8Rng` (candle's own CPU RNG cannot
//! be seeded), mini-batches are shuffled with the same RNG, the fused op is single-threaded and
//! candle's CPU kernels split work by output element only, so the same seed gives the same
//! weights (tested).
//! Cancellation is checked before every mini-batch; progress counts finished epochs.

use candle_core::{Device, Tensor, Var};
use candle_nn::{AdamW, Optimizer as _, ParamsAdamW};
use rand::seq::SliceRandom as _;
use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;

use super::cell::{Dense, Lstm};
use super::conv::Conv;
use super::fused::{LstmSpec, lstm_seq};
use super::fused_conv::conv_relu;
use super::net::{Arch, Body, CONV_KERNEL, CONV_LAYERS, Net, Shape};
use crate::control::{CancelToken, Progress};
use crate::detect::DetectError;

/// Training settings.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TrainConfig {
    pub(crate) epochs: usize,
    pub(crate) batch: usize,
    pub(crate) learning_rate: f64,
    pub(crate) seed: u64,
}

/// One LSTM layer's trainable variables: one packed `(inp + H + 1) × 4H` tensor
/// `[W_ihᵀ; W_hhᵀ; b]` (see `fused.rs`).
struct CellVars {
    inp: usize,
    hidden: usize,
    packed: Var,
}

/// One convolution's trainable variables: one packed `(kernel · inp + 1) × out` tensor
/// `[Wᵀ; b]`, tap-major (see `fused_conv.rs`).
struct ConvVars {
    inp: usize,
    out: usize,
    packed: Var,
}

/// The trainable layers before the dense head (see [`Body`]).
enum BodyVars {
    Recurrent {
        enc: CellVars,
        dec: Option<CellVars>,
    },
    Convolutional(Vec<ConvVars>),
}

struct Model {
    shape: Shape,
    body: BodyVars,
    out_w: Var,
    out_b: Var,
}

type CResult<T> = candle_core::Result<T>;

fn uniform(rng: &mut ChaCha8Rng, n: usize, bound: f32) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(-bound..bound)).collect()
}

impl CellVars {
    #[expect(
        clippy::similar_names,
        reason = "W_ih and W_hh are the LSTM literature's names"
    )]
    fn new(rng: &mut ChaCha8Rng, inp: usize, hidden: usize) -> CResult<Self> {
        let bound = 1.0 / (hidden as f32).sqrt();
        let g = 4 * hidden;
        let w_ih = uniform(rng, g * inp, bound);
        let w_hh = uniform(rng, g * hidden, bound);
        // Forget-gate bias 1: the usual trick for keeping memory early in training.
        let bias: Vec<f32> = (0..g)
            .map(|k| {
                if (hidden..2 * hidden).contains(&k) {
                    1.0
                } else {
                    0.0
                }
            })
            .collect();
        let plain = Lstm {
            inp,
            hidden,
            w_ih,
            w_hh,
            b: bias,
        };
        Ok(Self {
            inp,
            hidden,
            packed: Var::from_vec(pack(&plain), (inp + hidden + 1, g), &Device::Cpu)?,
        })
    }

    fn spec(&self, repeat: Option<usize>, all_steps: bool) -> LstmSpec {
        LstmSpec {
            inp: self.inp,
            hidden: self.hidden,
            repeat,
            all_steps,
        }
    }

    fn to_plain(&self) -> CResult<Lstm> {
        let packed = self.packed.as_tensor().flatten_all()?.to_vec1::<f32>()?;
        Ok(unpack(self.inp, self.hidden, &packed))
    }
}

impl ConvVars {
    /// `PyTorch`'s default initialisation: uniform in ±1/√fan-in for weights and bias.
    fn new(rng: &mut ChaCha8Rng, inp: usize, out: usize) -> CResult<Self> {
        let depth = CONV_KERNEL * inp;
        let bound = 1.0 / (depth as f32).sqrt();
        let packed = uniform(rng, (depth + 1) * out, bound);
        Ok(Self {
            inp,
            out,
            packed: Var::from_vec(packed, (depth + 1, out), &Device::Cpu)?,
        })
    }

    /// `ReLU(conv(x) + b)` of a time-major `B × steps × inp` batch.
    fn forward(&self, x: &Tensor) -> CResult<Tensor> {
        conv_relu(x, self.packed.as_tensor(), CONV_KERNEL)
    }

    fn to_plain(&self) -> CResult<Conv> {
        let packed = self.packed.as_tensor().flatten_all()?.to_vec1::<f32>()?;
        Ok(Conv::from_packed(self.inp, self.out, CONV_KERNEL, &packed))
    }
}

/// `[W_ihᵀ; W_hhᵀ; b]` of a layer, row-major `(inp + H + 1) × 4H`.
fn pack(cell: &Lstm) -> Vec<f32> {
    let (inp, h) = (cell.inp, cell.hidden);
    let g = 4 * h;
    let mut packed = vec![0.0f32; (inp + h + 1) * g];
    for j in 0..g {
        for i in 0..inp {
            packed[i * g + j] = cell.w_ih[j * inp + i];
        }
        for k in 0..h {
            packed[(inp + k) * g + j] = cell.w_hh[j * h + k];
        }
        packed[(inp + h) * g + j] = cell.b[j];
    }
    packed
}

/// The inverse of [`pack`].
fn unpack(inp: usize, h: usize, packed: &[f32]) -> Lstm {
    let g = 4 * h;
    let mut cell = Lstm {
        inp,
        hidden: h,
        w_ih: vec![0.0; g * inp],
        w_hh: vec![0.0; g * h],
        b: packed[(inp + h) * g..(inp + h + 1) * g].to_vec(),
    };
    for j in 0..g {
        for i in 0..inp {
            cell.w_ih[j * inp + i] = packed[i * g + j];
        }
        for k in 0..h {
            cell.w_hh[j * h + k] = packed[(inp + k) * g + j];
        }
    }
    cell
}

impl Model {
    fn new(shape: Shape, seed: u64) -> CResult<Self> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (d, h) = (shape.columns, shape.hidden);
        let body = match shape.arch {
            Arch::Autoencoder | Arch::Forecaster => {
                let enc = CellVars::new(&mut rng, d, h)?;
                let dec = match shape.arch {
                    Arch::Autoencoder => Some(CellVars::new(&mut rng, h, h)?),
                    _ => None,
                };
                BodyVars::Recurrent { enc, dec }
            }
            Arch::ConvForecaster => BodyVars::Convolutional(
                (0..CONV_LAYERS)
                    .map(|j| ConvVars::new(&mut rng, if j == 0 { d } else { h }, h))
                    .collect::<CResult<_>>()?,
            ),
        };
        let head = shape.head_inputs();
        let bound = 1.0 / (head as f32).sqrt();
        let out_w = Var::from_vec(uniform(&mut rng, d * head, bound), (d, head), &Device::Cpu)?;
        let out_b = Var::from_vec(uniform(&mut rng, d, bound), d, &Device::Cpu)?;
        Ok(Self {
            shape,
            body,
            out_w,
            out_b,
        })
    }

    fn vars(&self) -> Vec<Var> {
        let mut vars = Vec::new();
        match &self.body {
            BodyVars::Recurrent { enc, dec } => {
                vars.push(enc.packed.clone());
                if let Some(dec) = dec {
                    vars.push(dec.packed.clone());
                }
            }
            BodyVars::Convolutional(convs) => {
                vars.extend(convs.iter().map(|conv| conv.packed.clone()));
            }
        }
        vars.extend([self.out_w.clone(), self.out_b.clone()]);
        vars
    }

    fn dense(&self, h: &Tensor) -> CResult<Tensor> {
        h.matmul(&self.out_w.as_tensor().t()?)?
            .broadcast_add(self.out_b.as_tensor())
    }

    /// Mean squared error of a batch: `input` B × w × d; `target` B × w × d (autoencoder,
    /// reversed window) or B × d (forecaster).
    fn loss(&self, input: &Tensor, target: &Tensor) -> CResult<Tensor> {
        let (enc, dec) = match &self.body {
            BodyVars::Recurrent { enc, dec } => (enc, dec),
            BodyVars::Convolutional(convs) => {
                // Time-major throughout, so the flattened output B × (steps · channels) is in
                // the order `conv.rs` reads.
                let mut x = input.clone();
                for conv in convs {
                    x = conv.forward(&x)?;
                }
                let flat = x.reshape((input.dim(0)?, self.shape.head_inputs()))?;
                return (self.dense(&flat)? - target)?.sqr()?.mean_all();
            }
        };
        let code = lstm_seq(input, enc.packed.as_tensor(), enc.spec(None, false))?;
        let pred = match dec {
            None => self.dense(&code)?,
            Some(dec) => {
                let (b, w, d) = input.dims3()?;
                let hs = lstm_seq(&code, dec.packed.as_tensor(), dec.spec(Some(w), true))?;
                let hs = hs.reshape((b * w, dec.hidden))?;
                self.dense(&hs)?.reshape((b, w, d))?
            }
        };
        (pred - target)?.sqr()?.mean_all()
    }

    fn to_net(&self) -> CResult<Net> {
        let flat = |v: &Var| v.as_tensor().flatten_all()?.to_vec1::<f32>();
        let body = match &self.body {
            BodyVars::Recurrent { enc, dec } => Body::Recurrent {
                enc: enc.to_plain()?,
                dec: dec.as_ref().map(CellVars::to_plain).transpose()?,
            },
            BodyVars::Convolutional(convs) => Body::Convolutional(
                convs
                    .iter()
                    .map(ConvVars::to_plain)
                    .collect::<CResult<_>>()?,
            ),
        };
        Ok(Net {
            shape: self.shape,
            body,
            out: Dense {
                inp: self.shape.head_inputs(),
                out: self.shape.columns,
                w: flat(&self.out_w)?,
                b: flat(&self.out_b)?,
            },
        })
    }
}

/// Builds the input and target tensors of one mini-batch from row-major samples.
fn batch_tensors(shape: Shape, samples: &[f64], picks: &[usize]) -> CResult<(Tensor, Tensor)> {
    let (w, d, span) = (shape.window, shape.columns, shape.span());
    let mut input = Vec::with_capacity(picks.len() * w * d);
    let mut target = Vec::with_capacity(picks.len() * w * d);
    for &p in picks {
        let sample = &samples[p * span * d..(p + 1) * span * d];
        input.extend(sample[..w * d].iter().map(|&v| v as f32));
        match shape.arch {
            Arch::Forecaster | Arch::ConvForecaster => {
                target.extend(sample[w * d..].iter().map(|&v| v as f32));
            }
            Arch::Autoencoder => {
                for row in sample[..w * d].chunks_exact(d).rev() {
                    target.extend(row.iter().map(|&v| v as f32));
                }
            }
        }
    }
    let b = picks.len();
    let input = Tensor::from_vec(input, (b, w, d), &Device::Cpu)?;
    let target = match shape.arch {
        Arch::Forecaster | Arch::ConvForecaster => Tensor::from_vec(target, (b, d), &Device::Cpu)?,
        Arch::Autoencoder => Tensor::from_vec(target, (b, w, d), &Device::Cpu)?,
    };
    Ok((input, target))
}

/// Trains a network on `n` samples (row-major, `span × d` scaled values each). Returns the net
/// and the mean training loss of each epoch.
pub(crate) fn train(
    detector: &'static str,
    shape: Shape,
    config: TrainConfig,
    samples: &[f64],
    n: usize,
    cancel: &CancelToken,
    progress: Option<&Progress>,
) -> Result<(Net, Vec<f64>), DetectError> {
    let backend = |e: candle_core::Error| DetectError::Backend {
        detector,
        message: e.to_string(),
    };
    let model = Model::new(shape, config.seed).map_err(backend)?;
    let params = ParamsAdamW {
        lr: config.learning_rate,
        weight_decay: 0.0,
        ..ParamsAdamW::default()
    };
    let mut optimizer = AdamW::new(model.vars(), params).map_err(backend)?;
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed ^ 0x5eed_5eed);
    let mut order: Vec<usize> = (0..n).collect();
    let mut losses = Vec::with_capacity(config.epochs);
    if let Some(p) = progress {
        p.set_total(config.epochs as u64);
        p.set_done(0);
    }
    for epoch in 0..config.epochs {
        order.shuffle(&mut rng);
        let mut total = 0.0;
        for picks in order.chunks(config.batch.max(1)) {
            if cancel.is_cancelled() {
                return Err(DetectError::Cancelled);
            }
            let (input, target) = batch_tensors(shape, samples, picks).map_err(backend)?;
            let loss = model.loss(&input, &target).map_err(backend)?;
            optimizer.backward_step(&loss).map_err(backend)?;
            total += f64::from(loss.to_scalar::<f32>().map_err(backend)?) * picks.len() as f64;
        }
        let mean = total / n.max(1) as f64;
        if !mean.is_finite() {
            return Err(DetectError::Backend {
                detector,
                message: format!("training diverged at epoch {}", epoch + 1),
            });
        }
        losses.push(mean);
        log::info!(
            "{detector}: epoch {}/{} loss {mean:.5}",
            epoch + 1,
            config.epochs
        );
        if let Some(p) = progress {
            p.set_done(epoch as u64 + 1);
        }
    }
    Ok((model.to_net().map_err(backend)?, losses))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::neural::net::Scratch;

    /// The plain-Rust network computes what the candle network trained: the per-column errors
    /// of a batch average to candle's loss.
    #[test]
    fn plain_inference_matches_candle() {
        for arch in [Arch::Autoencoder, Arch::Forecaster, Arch::ConvForecaster] {
            let shape = Shape {
                arch,
                window: 6,
                columns: 2,
                hidden: 5,
                last_only: false,
            };
            let model = Model::new(shape, 3).unwrap();
            let span = shape.span();
            let n = 4;
            let samples: Vec<f64> = (0..n * span * 2)
                .map(|i| ((i * 7 % 11) as f64 - 5.0) / 5.0)
                .collect();
            let picks: Vec<usize> = (0..n).collect();
            let (input, target) = batch_tensors(shape, &samples, &picks).unwrap();
            let candle_loss = f64::from(
                model
                    .loss(&input, &target)
                    .unwrap()
                    .to_scalar::<f32>()
                    .unwrap(),
            );
            let net = model.to_net().unwrap();
            let mut scratch = Scratch::default();
            let mut errors = vec![0.0; 2];
            let mut sum = 0.0;
            for p in 0..n {
                net.errors(
                    &samples[p * span * 2..(p + 1) * span * 2],
                    &mut scratch,
                    &mut errors,
                );
                sum += errors.iter().sum::<f64>();
            }
            let plain_loss = sum / (n * 2) as f64;
            assert!(
                (plain_loss - candle_loss).abs() < 1e-5 * (1.0 + candle_loss),
                "{arch:?}: {plain_loss} vs {candle_loss}"
            );
        }
    }
}
