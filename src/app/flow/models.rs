//! Saved models in the workflow (the Models tab): fitting and saving, listing, scoring the
//! selected dataset with a model (batch here, stream through the Watch step) and deleting,
//! each on a worker, polled each frame without blocking.

use super::apply::poll_slot;
use super::{Flow, FlowOutput, RunMode};
use crate::app::panels::models::{FitStatus, ModelsPanel, ModelsView};
use crate::app::watch::StreamRequest;
use crate::detect::DetectorSpec;
use crate::engine::{FitRequest, RunControl, Task};
use crate::storage::{DatasetId, ModelId, ModelSummary, RunSummary};

/// The Models tab's state and its workers.
#[derive(Debug, Default)]
pub struct ModelsWork {
    /// The tab's editing state.
    pub panel: ModelsPanel,
    list: Vec<ModelSummary>,
    list_task: Option<Task<Vec<ModelSummary>>>,
    fit: Option<(String, Task<ModelSummary>)>,
    score: Option<(DatasetId, Task<RunSummary>)>,
    delete: Option<Task<ModelId>>,
}

impl ModelsWork {
    /// True while any of its workers runs.
    pub fn is_busy(&self) -> bool {
        self.list_task.is_some()
            || self.fit.is_some()
            || self.score.is_some()
            || self.delete.is_some()
    }
}

impl Flow {
    /// Saved models, newest first (as last listed).
    pub fn models(&self) -> &[ModelSummary] {
        &self.models.list
    }

    /// Where the running fit is.
    pub fn fit_status(&self) -> Option<FitStatus> {
        let (detector, task) = self.models.fit.as_ref()?;
        Some(FitStatus {
            detector: detector.clone(),
            fraction: task.progress().fraction(),
        })
    }

    /// What the Models tab draws from.
    pub(super) fn models_view<'a>(
        &'a self,
        meta: Option<&'a crate::storage::DatasetMeta>,
        fitting: Option<&'a FitStatus>,
    ) -> ModelsView<'a> {
        ModelsView {
            meta,
            models: &self.models.list,
            listing: self.models.list_task.is_some(),
            fitting,
            scoring: self.models.score.is_some(),
            stream_available: self.stream_available(),
        }
    }

    /// Re-reads the saved models on a worker.
    pub(super) fn refresh_models(&mut self) {
        let engine = self.engine.clone();
        self.models.list_task = self.spawn("models", "Could not list the models", move |_, _| {
            let mut models = engine.list_models()?;
            models.sort_by_key(|m| std::cmp::Reverse(m.id));
            Ok(models)
        });
    }

    /// Fits and saves a model on rows of the selected dataset.
    pub(super) fn fit_model(
        &mut self,
        spec: DetectorSpec,
        train_rows: std::ops::Range<usize>,
        name: String,
    ) {
        let Some(dataset) = self.synced else {
            return;
        };
        if self.models.fit.is_some() {
            return;
        }
        let detector = spec.id.clone();
        let engine = self.engine.clone();
        let request = FitRequest {
            dataset,
            detector: spec,
            train_rows: Some(train_rows),
            columns: Vec::new(),
            name,
        };
        let task = self.spawn(
            "fit-model",
            "Could not fit the model",
            move |cancel, progress| {
                let control = RunControl {
                    cancel: cancel.clone(),
                    progress: progress.clone(),
                };
                engine.fit_model(&request, &control)
            },
        );
        self.models.fit = task.map(|t| (detector, t));
    }

    /// Cancels the running fit (nothing is saved).
    pub(super) fn cancel_fit(&self) {
        if let Some((_, task)) = &self.models.fit {
            task.cancel();
        }
    }

    /// Scores the selected dataset with a saved model: batch on a worker, or a stream handed
    /// to the Watch step.
    pub(super) fn run_model(&mut self, model: ModelId, mode: RunMode) {
        let Some(dataset) = self.synced else {
            return;
        };
        let rule = self.detect.rule();
        if let RunMode::Stream { speed } = mode {
            let truth = self.truth.as_deref().filter(|t| t.id() == dataset);
            self.outputs.push(FlowOutput::StartStream(StreamRequest {
                dataset,
                name: truth.map_or_else(|| dataset.to_string(), |t| t.meta.name.clone()),
                specs: Vec::new(),
                models: vec![model],
                rule,
                speed,
                injected: truth.map(|t| t.injected_rows.clone()).unwrap_or_default(),
            }));
            return;
        }
        if self.models.score.is_some() {
            return;
        }
        let engine = self.engine.clone();
        let task = self.spawn(
            "run-model",
            "Could not run the model",
            move |cancel, progress| {
                let control = RunControl {
                    cancel: cancel.clone(),
                    progress: progress.clone(),
                };
                engine.run_model(dataset, model, rule, &control)
            },
        );
        self.models.score = task.map(|t| (dataset, t));
    }

    /// Deletes a saved model on a worker.
    pub(super) fn delete_model(&mut self, model: ModelId) {
        if self.models.delete.is_some() {
            return;
        }
        let engine = self.engine.clone();
        self.models.delete =
            self.spawn("delete-model", "Could not delete the model", move |_, _| {
                engine.delete_model(model)?;
                Ok(model)
            });
    }

    /// Collects finished model work.
    pub(super) fn poll_models(&mut self) {
        if let Some(result) = poll_slot(&mut self.models.list_task) {
            match result {
                Ok(models) => self.models.list = models,
                Err(error) => self.note_error(format!("Could not list the models: {error}")),
            }
        }
        if let Some((detector, task)) = &mut self.models.fit
            && let Some(result) = task.poll()
        {
            let detector = detector.clone();
            self.models.fit = None;
            match result {
                Ok(model) => {
                    self.outputs.push(FlowOutput::Note(format!(
                        "Saved model #{} {:?} ({} training rows)",
                        model.id,
                        model.name,
                        model.train_end - model.train_start
                    )));
                    self.refresh_models();
                }
                Err(crate::Error::Cancelled) => self
                    .outputs
                    .push(FlowOutput::Note(format!("Fitting {detector} cancelled"))),
                Err(error) => self.note_error(format!("Could not fit {detector}: {error}")),
            }
        }
        self.poll_model_run();
        if let Some(result) = poll_slot(&mut self.models.delete) {
            match result {
                Ok(model) => {
                    self.outputs
                        .push(FlowOutput::Note(format!("Deleted model #{model}")));
                    self.refresh_models();
                }
                Err(error) => self.note_error(format!("Could not delete the model: {error}")),
            }
        }
    }

    fn poll_model_run(&mut self) {
        let Some((dataset, task)) = &mut self.models.score else {
            return;
        };
        let Some(result) = task.poll() else {
            return;
        };
        let dataset = *dataset;
        self.models.score = None;
        match result {
            Ok(run) => {
                self.outputs.push(FlowOutput::Note(format!(
                    "Run {} ({}) finished",
                    run.id, run.mode
                )));
                if Some(dataset) == self.synced {
                    self.open_run(run.id);
                    self.refresh_runs();
                }
            }
            Err(error) => self.note_error(format!("The model run failed: {error}")),
        }
    }

    fn note_error(&mut self, message: String) {
        self.outputs.push(FlowOutput::Error(message));
    }
}
