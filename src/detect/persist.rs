//! Saving and loading a fitted detector's state, so that a model trained once can score new data
//! or a stream later without retraining (`anomdet run --model ID`).
//!
//! Owns: the [`Persist`] trait and the byte format helpers. The bytes are opaque to storage:
//! storage keeps them next to the detector's spec (id, parameters, seed), the dataset id and the
//! training range. Two encodings are used, both self-describing and versioned:
//! - linfa detectors: JSON (scaler, window, support vectors / centroids / components);
//! - candle detectors: a safetensors file whose tensors are the network weights (`F32`) and whose
//!   `__metadata__` holds the same kind of JSON header (scaler, sizes, score normalisation).
//!
//! Every state carries the detector id and a format version; loading a state saved by another
//! detector, or by an incompatible version, is a [`DetectError::Input`].

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::DetectError;

/// Version of the saved-state formats; bumped when a state layout changes incompatibly.
pub const STATE_VERSION: u32 = 1;

/// A detector whose fitted state can be saved and restored.
///
/// Contract: after `b.load_state(&a.save_state()?)`, `b` scores every series exactly as `a`
/// does (tested for each implementation). Streaming state (windows) is not saved: a loaded
/// detector starts as if `reset` had been called.
pub trait Persist {
    /// The fitted state as bytes (JSON or safetensors, see the module docs).
    ///
    /// # Errors
    /// [`DetectError::Input`] when the detector has not been fitted.
    fn save_state(&self) -> Result<Vec<u8>, DetectError>;

    /// Replaces the fitted state with one saved by [`save_state`](Self::save_state) from a
    /// detector with the same id. Hyper-parameters that shape the model (window, sizes) come
    /// from the saved state.
    ///
    /// # Errors
    /// [`DetectError::Input`] when the bytes are not a state of this detector or are corrupt.
    fn load_state(&mut self, bytes: &[u8]) -> Result<(), DetectError>;
}

/// The envelope every JSON state is wrapped in.
#[derive(Serialize, Deserialize)]
struct Envelope<T> {
    detector: String,
    version: u32,
    state: T,
}

/// Serialises `state` as JSON with the detector id and format version.
pub(crate) fn to_json<T: Serialize>(
    detector: &'static str,
    state: &T,
) -> Result<Vec<u8>, DetectError> {
    serde_json::to_vec(&Envelope {
        detector: detector.to_owned(),
        version: STATE_VERSION,
        state,
    })
    .map_err(|e| input_error(detector, format!("cannot encode state: {e}")))
}

/// Reads a JSON state written by [`to_json`] for the same detector.
pub(crate) fn from_json<T: DeserializeOwned>(
    detector: &'static str,
    bytes: &[u8],
) -> Result<T, DetectError> {
    let envelope: Envelope<T> = serde_json::from_slice(bytes)
        .map_err(|e| input_error(detector, format!("not a saved state of this detector: {e}")))?;
    check_header(detector, &envelope.detector, envelope.version)?;
    Ok(envelope.state)
}

/// Checks that a saved state belongs to `detector` and has a readable version.
pub(crate) fn check_header(
    detector: &'static str,
    saved_by: &str,
    version: u32,
) -> Result<(), DetectError> {
    if saved_by != detector {
        return Err(input_error(
            detector,
            format!("the saved state belongs to detector {saved_by:?}"),
        ));
    }
    if version != STATE_VERSION {
        return Err(input_error(
            detector,
            format!("saved state version {version} is not supported (expected {STATE_VERSION})"),
        ));
    }
    Ok(())
}

/// The error for "use `fit` (or `load_state`) before scoring or saving".
pub(crate) fn not_fitted(detector: &'static str) -> DetectError {
    input_error(
        detector,
        "not fitted: call fit (or load a saved model) first".to_owned(),
    )
}

pub(crate) fn input_error(detector: &'static str, message: String) -> DetectError {
    DetectError::Input { detector, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_and_header_checks() {
        let bytes = to_json("a", &vec![1.5, 2.0]).unwrap();
        let back: Vec<f64> = from_json("a", &bytes).unwrap();
        assert_eq!(back, vec![1.5, 2.0]);
        assert!(matches!(
            from_json::<Vec<f64>>("b", &bytes),
            Err(DetectError::Input { .. })
        ));
        assert!(matches!(
            from_json::<Vec<f64>>("a", b"junk"),
            Err(DetectError::Input { .. })
        ));
        let future = serde_json::to_vec(&Envelope {
            detector: "a".into(),
            version: 99,
            state: 1,
        })
        .unwrap();
        assert!(matches!(
            from_json::<i32>("a", &future),
            Err(DetectError::Input { .. })
        ));
    }
}
