//! LSTM autoencoder on sliding windows (candle): the original `AnomDet`'s Keras model, done
//! right. An LSTM encodes the window of standardised rows; a second LSTM fed the code at every
//! step reconstructs the window in reverse; the score is the reconstruction error of the
//! window's last row (or the whole window), normalised per column and by the validation 99th
//! percentile (see `detector.rs`). Multivariate, with per-column attribution.

use super::detector::{NeuralConfig, NeuralDetector};
use super::net::Arch;
use crate::detect::registry::DetectorEntry;
use crate::detect::{DetectError, Detector, DetectorInfo, Family};
use crate::model::{ParamKind, ParamSpec, Params};

const WINDOW: ParamSpec = ParamSpec {
    name: "window",
    kind: ParamKind::Int {
        min: 2,
        max: 1024,
        default: 32,
    },
    help: "Rows per window; the window ending at a row scores that row.",
};

const HIDDEN: ParamSpec = ParamSpec {
    name: "hidden",
    kind: ParamKind::Int {
        min: 1,
        max: 512,
        default: 16,
    },
    help: "LSTM hidden size.",
};

/// The training settings every neural detector shares (the CNN forecaster too): `EPOCHS`,
/// `BATCH`, `LEARNING_RATE`, `MAX_TRAIN`.
pub(super) const EPOCHS: ParamSpec = ParamSpec {
    name: "epochs",
    kind: ParamKind::Int {
        min: 1,
        max: 1000,
        default: 6,
    },
    help: "Passes over the training windows.",
};

pub(super) const BATCH: ParamSpec = ParamSpec {
    name: "batch",
    kind: ParamKind::Int {
        min: 1,
        max: 4096,
        default: 64,
    },
    help: "Windows per gradient step.",
};

pub(super) const LEARNING_RATE: ParamSpec = ParamSpec {
    name: "learning_rate",
    kind: ParamKind::Float {
        min: 1e-6,
        max: 1.0,
        default: 0.01,
    },
    help: "AdamW learning rate.",
};

pub(super) const MAX_TRAIN: ParamSpec = ParamSpec {
    name: "max_train",
    kind: ParamKind::Int {
        min: 2,
        max: 1_000_000,
        default: 512,
    },
    help: "At most this many training windows (evenly spaced); 20% are held out for validation.",
};

const SCORE_ON: ParamSpec = ParamSpec {
    name: "score_on",
    kind: ParamKind::Choice {
        options: &["last", "window"],
        default: "last",
    },
    help: "Score a row by the reconstruction of the last row of its window, or of the whole window.",
};

pub(super) const PARAMS: &[ParamSpec] = &[
    WINDOW,
    HIDDEN,
    EPOCHS,
    BATCH,
    LEARNING_RATE,
    MAX_TRAIN,
    SCORE_ON,
];

static INFO: DetectorInfo = DetectorInfo {
    id: "lstm_autoencoder",
    name: "LSTM autoencoder",
    family: Family::Neural,
    multivariate: true,
    streaming: true,
    description: "An LSTM encoder-decoder trained to reconstruct windows of normal data; the \
                  score is the reconstruction error, normalised per column and so that 1.0 is the \
                  99th percentile on held-out training data. Catches shape, level and \
                  cross-column anomalies; per-column attribution.",
    params: PARAMS,
};

/// Registry entry.
pub(in crate::detect) const ENTRY: DetectorEntry = DetectorEntry { info: &INFO, build };

#[expect(
    clippy::unnecessary_wraps,
    reason = "the registry's build signature is fallible"
)]
fn build(params: &Params, seed: u64) -> Result<Box<dyn Detector>, DetectError> {
    Ok(Box::new(NeuralDetector::lstm_autoencoder(
        config_from(params, "hidden"),
        seed,
    )))
}

/// Reads the shared neural parameters; `size` names the layer-size parameter (`hidden` for the
/// LSTMs, `channels` for the CNN; no `score_on` means last-row scoring).
pub(super) fn config_from(params: &Params, size: &str) -> NeuralConfig {
    NeuralConfig {
        window: params.usize("window"),
        hidden: params.usize(size),
        epochs: params.usize("epochs"),
        batch: params.usize("batch"),
        learning_rate: params.float("learning_rate"),
        max_train: params.usize("max_train"),
        last_only: params.text("score_on") != "window",
    }
}

impl NeuralDetector {
    /// A new, unfitted LSTM autoencoder (see module docs).
    pub fn lstm_autoencoder(config: NeuralConfig, seed: u64) -> Self {
        Self::new(&INFO, Arch::Autoencoder, config, seed)
    }
}
