//! Neural detectors trained with candle on the CPU: an LSTM autoencoder and an LSTM forecaster,
//! both multivariate with per-column attribution, sharing one `Detector` implementation
//! ([`NeuralDetector`]).
//!
//! Owns: every candle type (only in `train.rs`) and the safetensors format of saved models.
//! Layout: `train.rs` (candle training), `net.rs` + `cell.rs` (the trained network as plain
//! data, used for scoring), `detector.rs` (scaler, validation normalisation, `Detector`,
//! `Persist`), `lstm_ae.rs` / `forecaster.rs` (registry entries).

mod cell;
mod detector;
pub(super) mod forecaster;
pub(super) mod lstm_ae;
mod net;
mod train;

pub use detector::{NeuralConfig, NeuralDetector};
