//! Convolutional (1-D CNN) forecaster (candle): two convolutions over time (3 taps each, `ReLU`)
//! read the `window` rows before row `t`, their flattened output feeds a dense head that
//! predicts row `t`, and the score is the squared forecast error, normalised per column and by
//! the validation 99th percentile (see `detector.rs`). TSB-AD ranks a CNN forecaster of this
//! kind among its best multivariate methods. Beside the LSTM forecaster it fits and scores
//! about 3× faster at the defaults (no recurrence: every window position is one product) and
//! ranks higher on the labelled series (`docs/DETECTORS.md`). Multivariate, with per-column
//! attribution; the first `window` rows are warm-up.

use super::detector::{NeuralConfig, NeuralDetector};
use super::lstm_ae::{BATCH, EPOCHS, LEARNING_RATE, MAX_TRAIN, config_from};
use super::net::Arch;
use crate::detect::registry::DetectorEntry;
use crate::detect::{DetectError, Detector, DetectorInfo, Family};
use crate::model::{ParamKind, ParamSpec, Params};

const WINDOW: ParamSpec = ParamSpec {
    name: "window",
    kind: ParamKind::Int {
        min: 5,
        max: 1024,
        default: 32,
    },
    help: "Rows before a row that predict it (at least 5: the two convolutions see 5 rows).",
};

const CHANNELS: ParamSpec = ParamSpec {
    name: "channels",
    kind: ParamKind::Int {
        min: 1,
        max: 256,
        default: 16,
    },
    help: "Channels (filters) per convolution.",
};

const PARAMS: &[ParamSpec] = &[WINDOW, CHANNELS, EPOCHS, BATCH, LEARNING_RATE, MAX_TRAIN];

static INFO: DetectorInfo = DetectorInfo {
    id: "cnn_forecaster",
    name: "CNN forecaster",
    family: Family::Neural,
    multivariate: true,
    streaming: true,
    description: "A 1-D convolutional network trained to predict each row from the previous \
                  `window` rows; the score is the forecast error, normalised per column and so \
                  that 1.0 is the 99th percentile on held-out training data. Catches spikes, \
                  shifts and broken patterns; per-column attribution.",
    params: PARAMS,
};

/// Registry entry.
pub(in crate::detect) const ENTRY: DetectorEntry = DetectorEntry { info: &INFO, build };

#[expect(
    clippy::unnecessary_wraps,
    reason = "the registry's build signature is fallible"
)]
fn build(params: &Params, seed: u64) -> Result<Box<dyn Detector>, DetectError> {
    Ok(Box::new(NeuralDetector::cnn_forecaster(
        config_from(params, "channels"),
        seed,
    )))
}

impl NeuralDetector {
    /// A new, unfitted convolutional forecaster (see module docs); `config.hidden` is the
    /// number of channels per convolution.
    pub fn cnn_forecaster(config: NeuralConfig, seed: u64) -> Self {
        Self::new(&INFO, Arch::ConvForecaster, config, seed)
    }
}
