//! The two networks as plain data ([`Net`]): an LSTM encoder plus either an LSTM decoder
//! (autoencoder, reconstructs the window in reverse order, Malhotra et al. 2016) or nothing
//! (forecaster, a dense head predicts the next row). Computes per-column squared errors for one
//! sample, and converts the weights to and from safetensors tensors.

use std::collections::HashMap;

use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde::{Deserialize, Serialize};

use super::cell::{Dense, Lstm, LstmState};

/// Which network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Arch {
    /// Encoder → repeated code → decoder → dense, reconstructing the window reversed.
    Autoencoder,
    /// Encoder → dense, predicting the row after the window.
    Forecaster,
}

impl Arch {
    /// Rows a sample spans beyond the input window (the forecast target).
    pub(crate) fn extra_rows(self) -> usize {
        match self {
            Self::Autoencoder => 0,
            Self::Forecaster => 1,
        }
    }
}

/// Shapes of a network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Shape {
    pub(crate) arch: Arch,
    pub(crate) window: usize,
    pub(crate) columns: usize,
    pub(crate) hidden: usize,
    /// Autoencoder only: score on the last row's reconstruction (true) or the whole window.
    pub(crate) last_only: bool,
}

impl Shape {
    /// Rows per sample (`window` + target rows).
    pub(crate) fn span(&self) -> usize {
        self.window + self.arch.extra_rows()
    }
}

/// A trained network.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Net {
    pub(crate) shape: Shape,
    pub(crate) enc: Lstm,
    pub(crate) dec: Option<Lstm>,
    pub(crate) out: Dense,
}

/// Scratch buffers for [`Net::errors`], reused across samples.
#[derive(Clone, Debug, Default)]
pub(crate) struct Scratch {
    input: Vec<f32>,
    enc: LstmState,
    dec: LstmState,
    proj: Vec<f32>,
    y: Vec<f32>,
}

impl Net {
    /// Per-column squared error of one sample (`span` scaled rows, row-major) into `errors`.
    pub(crate) fn errors(&self, sample: &[f64], scratch: &mut Scratch, errors: &mut [f64]) {
        let (w, d) = (self.shape.window, self.shape.columns);
        scratch.input.clear();
        scratch.input.extend(sample.iter().map(|&v| v as f32));
        scratch.y.clear();
        scratch.y.resize(d, 0.0);
        errors.fill(0.0);
        self.enc.run(&scratch.input[..w * d], &mut scratch.enc);
        match &self.dec {
            None => {
                self.out.forward(&scratch.enc.h, &mut scratch.y);
                for ((e, y), x) in errors.iter_mut().zip(&scratch.y).zip(&sample[w * d..]) {
                    *e = (f64::from(*y) - x).powi(2);
                }
            }
            Some(dec) => {
                scratch.proj.clear();
                scratch.proj.resize(4 * dec.hidden, 0.0);
                dec.project(&scratch.enc.h, &mut scratch.proj);
                dec.start(&mut scratch.dec);
                let steps = if self.shape.last_only { 1 } else { w };
                for s in 0..steps {
                    dec.step_projected(&scratch.proj, &mut scratch.dec);
                    self.out.forward(&scratch.dec.h, &mut scratch.y);
                    let row = &sample[(w - 1 - s) * d..(w - s) * d];
                    for ((e, y), x) in errors.iter_mut().zip(&scratch.y).zip(row) {
                        *e += (f64::from(*y) - x).powi(2);
                    }
                }
                for e in errors.iter_mut() {
                    *e /= steps as f64;
                }
            }
        }
    }

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
        lstm(&mut out, "enc", &self.enc);
        if let Some(dec) = &self.dec {
            lstm(&mut out, "dec", dec);
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
        let enc = lstm("enc", d)?;
        let dec = match shape.arch {
            Arch::Autoencoder => Some(lstm("dec", h)?),
            Arch::Forecaster => None,
        };
        let out = Dense {
            inp: h,
            out: d,
            w: read("out.w", &[d, h])?,
            b: read("out.b", &[d])?,
        };
        Ok(Self {
            shape,
            enc,
            dec,
            out,
        })
    }
}
