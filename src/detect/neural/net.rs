//! The three networks as plain data ([`Net`]): an LSTM encoder plus either an LSTM decoder
//! (autoencoder, reconstructs the window in reverse order, Malhotra et al. 2016) or nothing
//! (forecaster, a dense head predicts the next row), or two 1-D convolutions whose flattened
//! output feeds the dense head (convolutional forecaster, the CNN of TSB-AD). Computes
//! per-column squared errors for one sample, and converts the weights to and from safetensors
//! tensors.

use std::collections::HashMap;

use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde::{Deserialize, Serialize};

use super::cell::{Dense, Lstm, LstmState};
use super::conv::Conv;
use super::math::{Kernel, simd};

/// Convolution layers of the convolutional forecaster.
pub(crate) const CONV_LAYERS: usize = 2;
/// Taps per convolution: two layers of 3 see 5 consecutive rows per output step.
pub(crate) const CONV_KERNEL: usize = 3;

/// Which network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Arch {
    /// Encoder → repeated code → decoder → dense, reconstructing the window reversed.
    Autoencoder,
    /// Encoder → dense, predicting the row after the window.
    Forecaster,
    /// Convolutions → flattened → dense, predicting the row after the window.
    ConvForecaster,
}

impl Arch {
    /// Rows a sample spans beyond the input window (the forecast target).
    pub(crate) fn extra_rows(self) -> usize {
        match self {
            Self::Autoencoder => 0,
            Self::Forecaster | Self::ConvForecaster => 1,
        }
    }

    /// The smallest input window the network can read (the convolutions shorten it).
    pub(crate) fn min_window(self) -> usize {
        match self {
            Self::Autoencoder | Self::Forecaster => 1,
            Self::ConvForecaster => CONV_LAYERS * (CONV_KERNEL - 1) + 1,
        }
    }
}

/// Shapes of a network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Shape {
    pub(crate) arch: Arch,
    pub(crate) window: usize,
    pub(crate) columns: usize,
    /// LSTM hidden size, or channels per convolution.
    pub(crate) hidden: usize,
    /// Autoencoder only: score on the last row's reconstruction (true) or the whole window.
    pub(crate) last_only: bool,
}

impl Shape {
    /// Rows per sample (`window` + target rows).
    pub(crate) fn span(&self) -> usize {
        self.window + self.arch.extra_rows()
    }

    /// Output steps of the last convolution (convolutional forecaster).
    pub(crate) fn conv_steps(&self) -> usize {
        (self.window + 1).saturating_sub(self.arch.min_window())
    }

    /// Inputs of the dense head: the last hidden state, or the flattened convolution output.
    pub(crate) fn head_inputs(&self) -> usize {
        match self.arch {
            Arch::Autoencoder | Arch::Forecaster => self.hidden,
            Arch::ConvForecaster => self.conv_steps() * self.hidden,
        }
    }
}

/// The layers before the dense head.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Body {
    /// The LSTM encoder, plus the decoder of the autoencoder.
    Recurrent { enc: Lstm, dec: Option<Lstm> },
    /// [`CONV_LAYERS`] convolutions, input side first.
    Convolutional(Vec<Conv>),
}

/// A trained network.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Net {
    pub(crate) shape: Shape,
    pub(crate) body: Body,
    pub(crate) out: Dense,
}

/// Scratch buffers for [`Net::errors_block`], reused across blocks.
#[derive(Clone, Debug, Default)]
pub(crate) struct Scratch {
    input: Vec<f32>,
    enc: LstmState,
    dec: LstmState,
    proj: Vec<f32>,
    conv: [Vec<f32>; 2],
    y: Vec<f32>,
}

impl Net {
    /// Per-column squared error of one sample (`span` scaled rows, row-major) into `errors`.
    pub(crate) fn errors(&self, sample: &[f64], scratch: &mut Scratch, errors: &mut [f64]) {
        self.errors_block(sample, 0, 1, scratch, errors);
    }

    /// Per-column squared errors of `n` samples, sample `l` being
    /// `data[l · step..][..span · columns]`, into `errors[l · columns..][..columns]`. Each
    /// sample's errors have the same bits as [`Net::errors`] of that sample alone (see
    /// `cell.rs`).
    pub(crate) fn errors_block(
        &self,
        data: &[f64],
        step: usize,
        n: usize,
        scratch: &mut Scratch,
        errors: &mut [f64],
    ) {
        simd(ErrorsBlock {
            net: self,
            data,
            step,
            n,
            scratch,
            errors,
        });
    }
}

/// [`Net::errors_block`] as one `simd` dispatch.
struct ErrorsBlock<'a> {
    net: &'a Net,
    data: &'a [f64],
    step: usize,
    n: usize,
    scratch: &'a mut Scratch,
    errors: &'a mut [f64],
}

impl Kernel for ErrorsBlock<'_> {
    type Output = ();

    #[expect(
        clippy::inline_always,
        reason = "must inline into the AVX2-dispatched caller to be compiled for it"
    )]
    #[inline(always)]
    fn run(self) {
        let Self {
            net: this,
            data,
            step,
            n,
            scratch,
            errors,
        } = self;
        let (w, d) = (this.shape.window, this.shape.columns);
        let sample = |l: usize| &data[l * step..][..this.shape.span() * d];
        // The dense head's forecast (`scratch.y`, `d × n`) against the row after each window.
        let forecast_errors = |y: &[f32], errors: &mut [f64]| {
            for l in 0..n {
                let target = &sample(l)[w * d..];
                for (c, (e, x)) in errors[l * d..][..d].iter_mut().zip(target).enumerate() {
                    *e = (f64::from(y[c * n + l]) - x).powi(2);
                }
            }
        };
        errors[..n * d].fill(0.0);
        let (enc, dec) = match &this.body {
            Body::Recurrent { enc, dec } => (enc, dec),
            Body::Convolutional(convs) => {
                let samples = (0..n).map(|l| &sample(l)[..w * d]);
                let flat = convolve(
                    convs,
                    samples,
                    (w, d, n),
                    &mut scratch.input,
                    &mut scratch.conv,
                );
                this.out.forward(flat, n, &mut scratch.y);
                forecast_errors(&scratch.y, errors);
                return;
            }
        };
        // Lane matrix of the inputs: feature i, step t, sample l at [i][t · n + l].
        scratch.input.clear();
        scratch.input.resize(d * w * n, 0.0);
        for l in 0..n {
            for (t, row) in sample(l)[..w * d].chunks_exact(d).enumerate() {
                for (i, &v) in row.iter().enumerate() {
                    scratch.input[i * w * n + t * n + l] = v as f32;
                }
            }
        }
        enc.run(&scratch.input, w, n, &mut scratch.enc);
        match dec {
            None => {
                this.out.forward(&scratch.enc.h, n, &mut scratch.y);
                forecast_errors(&scratch.y, errors);
            }
            Some(dec) => {
                dec.project(&scratch.enc.h, n, n, &mut scratch.proj);
                dec.start(n, &mut scratch.dec);
                let steps = if this.shape.last_only { 1 } else { w };
                for s in 0..steps {
                    dec.step_projected(&scratch.proj, n, &mut scratch.dec);
                    this.out.forward(&scratch.dec.h, n, &mut scratch.y);
                    for l in 0..n {
                        let row = &sample(l)[(w - 1 - s) * d..(w - s) * d];
                        for (c, (e, x)) in errors[l * d..][..d].iter_mut().zip(row).enumerate() {
                            *e += (f64::from(scratch.y[c * n + l]) - x).powi(2);
                        }
                    }
                }
                for e in &mut errors[..n * d] {
                    *e /= steps as f64;
                }
            }
        }
    }
}

/// Runs the `n` windows of `samples` (`w` rows × `d` columns each) through the convolutions;
/// returns their flattened output, the time-major lane matrix the dense head reads.
#[expect(
    clippy::inline_always,
    reason = "must inline into the AVX2-dispatched caller to be compiled for it"
)]
#[inline(always)]
fn convolve<'s, 'a>(
    convs: &[Conv],
    samples: impl Iterator<Item = &'a [f64]>,
    (w, d, n): (usize, usize, usize),
    input: &'s mut Vec<f32>,
    buffers: &'s mut [Vec<f32>; 2],
) -> &'s [f32] {
    // Step t, feature i, sample l at [(t · d + i) · n + l] (see `conv.rs`).
    input.clear();
    input.resize(w * d * n, 0.0);
    for (l, sample) in samples.enumerate() {
        for (k, &v) in sample.iter().enumerate() {
            input[k * n + l] = v as f32;
        }
    }
    // Each layer reads `read` (the input for the first) and writes `write`; then they swap.
    let [read, write] = buffers;
    let mut steps = w;
    for (j, conv) in convs.iter().enumerate() {
        conv.forward(if j == 0 { input } else { read }, steps, n, write);
        steps = conv.steps_out(steps);
        std::mem::swap(read, write);
    }
    if convs.is_empty() { input } else { read }
}

impl Net {
    /// The weights as named `(shape, values)` tensors.
    pub(crate) fn tensors(&self) -> Vec<(String, Vec<usize>, &[f32])> {
        fn lstm<'a>(out: &mut Vec<(String, Vec<usize>, &'a [f32])>, prefix: &str, cell: &'a Lstm) {
            let g = 4 * cell.hidden;
            out.push((format!("{prefix}.w_ih"), vec![g, cell.inp], &cell.w_ih[..]));
            out.push((
                format!("{prefix}.w_hh"),
                vec![g, cell.hidden],
                &cell.w_hh[..],
            ));
            out.push((format!("{prefix}.b"), vec![g], &cell.b[..]));
        }
        let mut out = Vec::new();
        match &self.body {
            Body::Recurrent { enc, dec } => {
                lstm(&mut out, "enc", enc);
                if let Some(dec) = dec {
                    lstm(&mut out, "dec", dec);
                }
            }
            Body::Convolutional(convs) => {
                for (j, conv) in convs.iter().enumerate() {
                    // Tap-major, as `conv.rs` runs it.
                    let shape = vec![conv.out, conv.kernel, conv.inp];
                    out.push((format!("conv{j}.w"), shape, &conv.w[..]));
                    out.push((format!("conv{j}.b"), vec![conv.out], &conv.b[..]));
                }
            }
        }
        out.push((
            "out.w".to_owned(),
            vec![self.out.out, self.out.inp],
            &self.out.w[..],
        ));
        out.push(("out.b".to_owned(), vec![self.out.out], &self.out.b[..]));
        out
    }

    /// Serialises the weights as safetensors with `metadata` in the header.
    pub(crate) fn to_safetensors(
        &self,
        metadata: HashMap<String, String>,
    ) -> Result<Vec<u8>, String> {
        let tensors = self.tensors();
        let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
            .into_iter()
            .map(|(name, shape, values)| {
                (
                    name,
                    shape,
                    values.iter().flat_map(|v| v.to_le_bytes()).collect(),
                )
            })
            .collect();
        let views = bytes
            .iter()
            .map(|(name, shape, data)| {
                TensorView::new(Dtype::F32, shape.clone(), data)
                    .map(|v| (name.clone(), v))
                    .map_err(|e| e.to_string())
            })
            .collect::<Result<Vec<_>, _>>()?;
        safetensors::serialize(views, Some(metadata)).map_err(|e| e.to_string())
    }

    /// Rebuilds a network of `shape` from safetensors bytes, checking every tensor's shape.
    pub(crate) fn from_safetensors(shape: Shape, file: &SafeTensors<'_>) -> Result<Self, String> {
        let read = |name: &str, expect: &[usize]| -> Result<Vec<f32>, String> {
            let view = file
                .tensor(name)
                .map_err(|e| format!("tensor {name}: {e}"))?;
            if view.dtype() != Dtype::F32 || view.shape() != expect {
                return Err(format!(
                    "tensor {name} has {:?} {:?}, expected F32 {expect:?}",
                    view.dtype(),
                    view.shape()
                ));
            }
            let values: Vec<f32> = view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            if values.iter().any(|v| !v.is_finite()) {
                return Err(format!("tensor {name} holds non-finite weights"));
            }
            Ok(values)
        };
        let (d, h) = (shape.columns, shape.hidden);
        let lstm = |prefix: &str, inp: usize| -> Result<Lstm, String> {
            Ok(Lstm {
                inp,
                hidden: h,
                w_ih: read(&format!("{prefix}.w_ih"), &[4 * h, inp])?,
                w_hh: read(&format!("{prefix}.w_hh"), &[4 * h, h])?,
                b: read(&format!("{prefix}.b"), &[4 * h])?,
            })
        };
        let body = match shape.arch {
            Arch::Autoencoder => Body::Recurrent {
                enc: lstm("enc", d)?,
                dec: Some(lstm("dec", h)?),
            },
            Arch::Forecaster => Body::Recurrent {
                enc: lstm("enc", d)?,
                dec: None,
            },
            Arch::ConvForecaster => Body::Convolutional(
                (0..CONV_LAYERS)
                    .map(|j| {
                        let inp = if j == 0 { d } else { h };
                        Ok(Conv {
                            inp,
                            out: h,
                            kernel: CONV_KERNEL,
                            w: read(&format!("conv{j}.w"), &[h, CONV_KERNEL, inp])?,
                            b: read(&format!("conv{j}.b"), &[h])?,
                        })
                    })
                    .collect::<Result<_, String>>()?,
            ),
        };
        let head = shape.head_inputs();
        let out = Dense {
            inp: head,
            out: d,
            w: read("out.w", &[d, head])?,
            b: read("out.b", &[d])?,
        };
        Ok(Self { shape, body, out })
    }
}
