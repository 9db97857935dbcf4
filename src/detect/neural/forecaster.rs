//! LSTM forecaster (candle): an LSTM reads the `window` rows before row `t` and a dense head
//! predicts row `t`; the score is the squared forecast error, normalised per column and by the
//! validation 99th percentile (see `detector.rs`). TSB-AD's multivariate leaders are forecasters
//! of this kind. Multivariate, with per-column attribution; the first `window` rows are warm-up.

use super::detector::{NeuralConfig, NeuralDetector};
use super::lstm_ae::config_from;
use super::net::Arch;
use crate::detect::registry::DetectorEntry;
use crate::detect::{DetectError, Detector, DetectorInfo, Family};
use crate::model::{ParamSpec, Params};

/// Same parameters as the autoencoder except `score_on`.
const PARAMS: &[ParamSpec] = {
    let all = super::lstm_ae::PARAMS;
    all.split_at(all.len() - 1).0
};

static INFO: DetectorInfo = DetectorInfo {
    id: "lstm_forecaster",
    name: "LSTM forecaster",
    family: Family::Neural,
    multivariate: true,
    streaming: true,
    description: "An LSTM trained to predict each row from the previous `window` rows; the score \
                  is the forecast error, normalised per column and so that 1.0 is the 99th \
                  percentile on held-out training data. Catches spikes, shifts and broken \
                  patterns; per-column attribution.",
    params: PARAMS,
};

/// Registry entry.
pub(in crate::detect) const ENTRY: DetectorEntry = DetectorEntry { info: &INFO, build };

#[expect(
    clippy::unnecessary_wraps,
    reason = "the registry's build signature is fallible"
)]
fn build(params: &Params, seed: u64) -> Result<Box<dyn Detector>, DetectError> {
    Ok(Box::new(NeuralDetector::lstm_forecaster(
        config_from(params, "hidden"),
        seed,
    )))
}

impl NeuralDetector {
    /// A new, unfitted LSTM forecaster (see module docs).
    pub fn lstm_forecaster(config: NeuralConfig, seed: u64) -> Self {
        Self::new(&INFO, Arch::Forecaster, config, seed)
    }
}
