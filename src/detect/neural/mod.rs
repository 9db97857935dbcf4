//! Neural detectors trained with candle on the CPU: an LSTM autoencoder, an LSTM forecaster and a
//! convolutional (1-D CNN) forecaster, all multivariate with per-column attribution, sharing one
//! `Detector` implementation ([`NeuralDetector`]).
//!
//! Owns: every candle type (only in `train.rs`, `fused.rs` and `fused_conv.rs`) and the
//! safetensors format of saved models.
//! Layout: `train.rs` (candle training), `fused.rs` (a whole LSTM layer as one candle op with
//! its own backward pass), `fused_conv.rs` (the same for a convolution layer), `math.rs` (the
//! lane-vectorised kernels both sides share), `net.rs` + `cell.rs` + `conv.rs` (the trained
//! network as plain data, used for scoring), `detector.rs` (scaler, validation normalisation,
//! `Detector`, `Persist`), `lstm_ae.rs` / `forecaster.rs` / `conv_forecaster.rs` (registry
//! entries).

mod cell;
mod conv;
pub(super) mod conv_forecaster;
mod detector;
pub(super) mod forecaster;
mod fused;
mod fused_conv;
#[cfg(test)]
mod fused_tests;
pub(super) mod lstm_ae;
mod math;
mod net;
mod train;

pub use detector::{NeuralConfig, NeuralDetector};
