//! Saved models in the engine: fit a detector once on chosen training rows and keep its state
//! ([`Engine::fit_model`]), then score other datasets ([`Engine::run_model`]) or warm a stream
//! ([`Engine::load_model`]) without retraining.
//!
//! Why this exists: the learned detectors (OCSVM, PCA, LSTM autoencoder, ...) take seconds to
//! minutes to train, and scoring must never re-fit on the data being judged (the original
//! system's bug). A model remembers the columns it was fitted on; scoring a dataset picks
//! those columns by name, in the model's order, and refuses a dataset that lacks one.

use std::ops::Range;
use std::time::Instant;

use super::{Engine, RunControl};
use crate::detect::{self, Detector, DetectorSpec, ThresholdRule};
use crate::error::{Error, Result};
use crate::model::{Column, Series};
use crate::storage::{DatasetId, ModelId, ModelSummary, NewModel, NewRun, RunStatus, RunSummary};

/// What to fit and save.
#[derive(Clone, Debug)]
pub struct FitRequest {
    /// The training dataset.
    pub dataset: DatasetId,
    /// The detector to fit.
    pub detector: DetectorSpec,
    /// Training rows (end exclusive); `None` for the whole dataset.
    pub train_rows: Option<Range<usize>>,
    /// Columns to fit on, in order; empty for every column.
    pub columns: Vec<String>,
    /// A label for people; empty gives "<detector> on <dataset>".
    pub name: String,
}

impl FitRequest {
    /// Fit `detector` on the whole of `dataset`, every column.
    pub fn whole(dataset: DatasetId, detector: DetectorSpec) -> Self {
        Self {
            dataset,
            detector,
            train_rows: None,
            columns: Vec::new(),
            name: String::new(),
        }
    }
}

/// A saved model rebuilt and ready to score.
#[derive(Debug)]
pub struct LoadedModel {
    /// What was saved.
    pub summary: ModelSummary,
    /// The spec that rebuilds it (id, saved parameters, seed).
    pub spec: DetectorSpec,
    /// The detector with its fitted state restored (as if `reset` was just called).
    pub detector: Box<dyn Detector>,
}

impl Engine {
    /// Fits a detector on the requested rows and columns and saves its state. Fails with a
    /// clear error for detectors that keep no state worth saving (the statistical ones refit
    /// in milliseconds) and for an empty training range.
    ///
    /// # Errors
    /// Unknown dataset or columns, bad parameters, a training range outside the dataset, a
    /// detector without saved state, a failed or cancelled fit, storage errors.
    pub fn fit_model(&self, request: &FitRequest, control: &RunControl) -> Result<ModelSummary> {
        let (_, params) = request.detector.resolve()?;
        let mut detector = request.detector.build()?;
        if detector.as_persist().is_none() {
            return Err(Error::Invalid(format!(
                "detector {} keeps no fitted state to save; models can be saved for: {}",
                request.detector.id,
                persistable_ids().join(", ")
            )));
        }
        let meta = self.dataset(request.dataset)?;
        let series = self.load_series(request.dataset)?;
        let series = if request.columns.is_empty() {
            series
        } else {
            series
                .select_columns(&request.columns)
                .map_err(|e| Error::Invalid(format!("dataset {:?}: {e}", meta.name)))?
        };
        let range = request.train_rows.clone().unwrap_or(0..series.len());
        if range.start >= range.end || range.end > series.len() {
            return Err(Error::Invalid(format!(
                "training rows {}..{} are not a non-empty part of dataset {:?} ({} rows)",
                range.start,
                range.end,
                meta.name,
                series.len()
            )));
        }
        let train = rows(&series, range.clone())?;
        control.progress.set_total(2);
        let started = Instant::now();
        detector.fit(&train, &control.cancel)?;
        log::info!(
            "fitted {} on {} rows of {:?} in {:.2} s",
            request.detector.id,
            train.len(),
            meta.name,
            started.elapsed().as_secs_f64()
        );
        control.progress.set_done(1);
        let state = match detector.as_persist() {
            Some(persist) => persist.save_state()?,
            None => Vec::new(),
        };
        let name = if request.name.trim().is_empty() {
            format!("{} on {}", request.detector.id, meta.name)
        } else {
            request.name.clone()
        };
        let id = self.storage.lock().put_model(&NewModel {
            name,
            detector: request.detector.id.clone(),
            params,
            seed: request.detector.seed,
            dataset: request.dataset,
            train_start: range.start,
            train_end: range.end,
            columns: series.column_names(),
            state,
        })?;
        control.progress.set_done(2);
        self.model(id)
    }

    /// Saved models, by id.
    ///
    /// # Errors
    /// Storage errors.
    pub fn list_models(&self) -> Result<Vec<ModelSummary>> {
        Ok(self.storage.lock().list_models()?)
    }

    /// One saved model's summary.
    ///
    /// # Errors
    /// Unknown id, storage errors.
    pub fn model(&self, id: ModelId) -> Result<ModelSummary> {
        Ok(self.storage.lock().model(id)?.summary)
    }

    /// Deletes a saved model (runs scored with it stay).
    ///
    /// # Errors
    /// Unknown id, storage errors.
    pub fn delete_model(&self, id: ModelId) -> Result<()> {
        Ok(self.storage.lock().delete_model(id)?)
    }

    /// Rebuilds a saved model: the detector from its saved id, parameters and seed, then its
    /// fitted state restored.
    ///
    /// # Errors
    /// Unknown id; a detector id this build does not know; a state this build cannot read.
    pub fn load_model(&self, id: ModelId) -> Result<LoadedModel> {
        let record = self.storage.lock().model(id)?;
        let summary = record.summary;
        let spec = DetectorSpec {
            id: summary.detector.clone(),
            params: summary.params.as_map().clone(),
            seed: summary.seed,
        };
        let mut detector = spec.build()?;
        let Some(persist) = detector.as_persist() else {
            return Err(Error::Invalid(format!(
                "model {id}: detector {} can no longer load a saved state",
                spec.id
            )));
        };
        persist
            .load_state(&record.state)
            .map_err(|e| Error::Invalid(format!("model {id}: {e}")))?;
        detector.reset();
        Ok(LoadedModel {
            summary,
            spec,
            detector,
        })
    }

    /// Scores a dataset with a saved model (no fitting), thresholds, and stores the run
    /// (mode `batch (model N)`).
    ///
    /// # Errors
    /// Unknown model or dataset, a dataset lacking one of the model's columns, a bad rule,
    /// a failed or cancelled scoring, storage errors.
    pub fn run_model(
        &self,
        dataset: DatasetId,
        model: ModelId,
        rule: ThresholdRule,
        control: &RunControl,
    ) -> Result<RunSummary> {
        rule.check().map_err(Error::Invalid)?;
        let mut loaded = self.load_model(model)?;
        let series = self.series_for_model(dataset, &loaded.summary)?;
        control.progress.set_total(1);
        let started = Instant::now();
        let outcome = loaded.detector.score_series(&series, &control.cancel);
        let score_secs = started.elapsed().as_secs_f64();
        let (scores, status, error) = match outcome {
            Ok(scores) => (scores, RunStatus::Finished, None),
            Err(detect::DetectError::Cancelled) => (Vec::new(), RunStatus::Cancelled, None),
            Err(e) => (Vec::new(), RunStatus::Failed, Some(e.to_string())),
        };
        let predicted = rule.apply(&scores);
        let id = self.storage.lock().put_run(&NewRun {
            dataset,
            detector: loaded.spec.id.clone(),
            params: loaded.summary.params.clone(),
            seed: loaded.spec.seed,
            threshold_json: serde_json::to_string(&rule).unwrap_or_default(),
            mode: format!("batch (model {model})"),
            status,
            error: error.clone(),
            scores,
            predicted,
            metrics_json: "{}".to_owned(),
            fit_secs: 0.0,
            score_secs,
            job: None,
            created_ms: None,
        })?;
        control.progress.set_done(1);
        if let Some(message) = error {
            return Err(Error::Invalid(format!("run {id} failed: {message}")));
        }
        if status == RunStatus::Cancelled {
            return Err(Error::Cancelled);
        }
        Ok(self.run(id)?.summary)
    }

    /// The dataset's columns the model was fitted on, in the model's order.
    pub(crate) fn series_for_model(
        &self,
        dataset: DatasetId,
        model: &ModelSummary,
    ) -> Result<Series> {
        let meta = self.dataset(dataset)?;
        let series = self.load_series(dataset)?;
        if series.column_names() == model.columns {
            return Ok(series);
        }
        series.select_columns(&model.columns).map_err(|e| {
            Error::Invalid(format!(
                "model {} was fitted on columns {:?}; dataset {:?} cannot supply them: {e}",
                model.id, model.columns, meta.name
            ))
        })
    }
}

/// Detector ids whose fitted state can be saved, for error messages and listings.
pub fn persistable_ids() -> Vec<&'static str> {
    detect::registry()
        .iter()
        .filter(|entry| {
            DetectorSpec::new(entry.info.id)
                .build()
                .is_ok_and(|mut d| d.as_persist().is_some())
        })
        .map(|entry| entry.info.id)
        .collect()
}

/// Rows `range` of `series` as a new series.
fn rows(series: &Series, range: Range<usize>) -> Result<Series> {
    let columns = series
        .columns()
        .iter()
        .map(|c| Column::new(c.name.clone(), c.values[range.clone()].to_vec()))
        .collect();
    let labels = series.labels().map(|l| l[range.clone()].to_vec());
    Series::new(series.timestamps()[range].to_vec(), columns, labels)
        .map_err(|e| Error::Invalid(format!("training rows: {e}")))
}
