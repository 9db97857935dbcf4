//! Saved models: a fitted detector's state, stored so that it can score new data or a stream
//! later without retraining (`anomdet fit`, `anomdet run --model ID`).
//!
//! Storage keeps the state bytes opaque (JSON or safetensors, see `detect::Persist`) next to
//! what is needed to rebuild and trust the detector: its id, parameters and seed, the training
//! dataset and row range, and the columns it was fitted on (a model fitted on `cpu,mem` must
//! not silently score a series whose columns are `mem,cpu`). A model outlives its training
//! dataset: deleting the dataset clears the link (`dataset: None`) but keeps the model and the
//! dataset's name as it was when fitted.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{DatasetId, StorageError};
use crate::model::Params;

/// Identifies a saved model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ModelId(pub i64);

impl fmt::Display for ModelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A fitted detector to save.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewModel {
    /// A label for people (not unique; may be empty).
    pub name: String,
    /// Detector id (from the registry).
    pub detector: String,
    /// The detector's checked parameters.
    pub params: Params,
    /// Seed used when fitting.
    pub seed: u64,
    /// The dataset it was fitted on.
    pub dataset: DatasetId,
    /// First training row (inclusive).
    pub train_start: usize,
    /// End of the training rows (exclusive).
    pub train_end: usize,
    /// Columns it was fitted on, in order.
    pub columns: Vec<String>,
    /// The fitted state (`detect::Persist::save_state`).
    pub state: Vec<u8>,
}

/// A saved model without its state bytes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelSummary {
    /// Model id.
    pub id: ModelId,
    /// Label.
    pub name: String,
    /// Detector id.
    pub detector: String,
    /// Parameters.
    pub params: Params,
    /// Seed.
    pub seed: u64,
    /// The training dataset; `None` once that dataset was deleted.
    pub dataset: Option<DatasetId>,
    /// The training dataset's name when the model was saved.
    pub dataset_name: String,
    /// First training row (inclusive).
    pub train_start: usize,
    /// End of the training rows (exclusive).
    pub train_end: usize,
    /// Columns it was fitted on.
    pub columns: Vec<String>,
    /// Size of the state in bytes.
    pub state_bytes: usize,
    /// Creation time, milliseconds since the epoch.
    pub created_ms: i64,
}

/// A saved model with its state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelRecord {
    /// The summary.
    pub summary: ModelSummary,
    /// The fitted state.
    pub state: Vec<u8>,
}

/// The rules every backend applies before storing a model.
pub(super) fn check_model(model: &NewModel) -> Result<(), StorageError> {
    let invalid = |why: String| Err(StorageError::InvalidRecord(why));
    if model.detector.trim().is_empty() {
        return invalid("a model needs a detector id".to_owned());
    }
    if model.state.is_empty() {
        return invalid(format!(
            "the {} model has no fitted state (fit it first)",
            model.detector
        ));
    }
    if model.train_start > model.train_end {
        return invalid(format!(
            "training range {}..{} is reversed",
            model.train_start, model.train_end
        ));
    }
    if model.columns.is_empty() {
        return invalid("a model needs the columns it was fitted on".to_owned());
    }
    Ok(())
}

/// The summary of `model` stored as `id` on `dataset_name` at `created_ms`.
pub(super) fn model_summary(
    id: ModelId,
    model: &NewModel,
    dataset_name: &str,
    created_ms: i64,
) -> ModelSummary {
    ModelSummary {
        id,
        name: model.name.clone(),
        detector: model.detector.clone(),
        params: model.params.clone(),
        seed: model.seed,
        dataset: Some(model.dataset),
        dataset_name: dataset_name.to_owned(),
        train_start: model.train_start,
        train_end: model.train_end,
        columns: model.columns.clone(),
        state_bytes: model.state.len(),
        created_ms,
    }
}
