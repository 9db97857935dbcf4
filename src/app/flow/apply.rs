//! [`Flow`]'s command application and per-frame polling: starting workers for panel
//! commands, and collecting their results without blocking.

use std::sync::Arc;

use super::report::{ExportInput, write_export};
use super::{
    BatchJob, BatchOutcome, Flow, FlowCommand, FlowOutput, MAX_OPEN_RUNS, Preview, RunMode, RunView,
};
use crate::app::state::{AppState, WorkflowTab};
use crate::control::Progress;
use crate::engine::{RunControl, Task};
use crate::storage::RunId;

impl Flow {
    /// Applies a workflow command (after layout).
    pub fn apply(&mut self, cmd: FlowCommand, state: &mut AppState) {
        match cmd {
            FlowCommand::SetTab(tab) => {
                if tab == WorkflowTab::Models && state.workflow_tab != tab {
                    self.refresh_models();
                }
                state.workflow_tab = tab;
            }
            FlowCommand::Generate { spec, name } => {
                let engine = self.engine.clone();
                self.generate_task =
                    self.spawn("generate", "Could not generate the series", move |_, _| {
                        let name = engine.unique_name(&name)?;
                        engine.generate_dataset(&spec, None, &name)
                    });
            }
            FlowCommand::SaveInjection { plan, name } => {
                let Some(source) = self.synced else {
                    return;
                };
                let engine = self.engine.clone();
                self.save_task = self.spawn(
                    "inject",
                    "Could not save the injected dataset",
                    move |_, _| {
                        let name = engine.unique_name(&name)?;
                        engine.inject_dataset(source, &plan, &name)
                    },
                );
            }
            FlowCommand::SetInjectRange { start, length } => self.inject.set_range(start, length),
            FlowCommand::RunDetectors { specs, rule, mode } => {
                self.run_detectors(specs, rule, mode);
            }
            FlowCommand::CancelDetectors => {
                if let Some(job) = &self.batch {
                    job.task.cancel();
                }
            }
            FlowCommand::Suggest { candidates } => {
                let Some(dataset) = self.synced else {
                    return;
                };
                let engine = self.engine.clone();
                self.suggestion = None;
                self.suggest_task = self.spawn(
                    "suggest",
                    "Could not rank the detectors",
                    move |cancel, progress| {
                        let config = crate::engine::SelectionConfig {
                            detectors: candidates,
                            ..crate::engine::SelectionConfig::default()
                        };
                        let control = RunControl {
                            cancel: cancel.clone(),
                            progress: progress.clone(),
                        };
                        engine.suggest_detectors(dataset, &config, &control)
                    },
                );
            }
            FlowCommand::RefreshRuns => self.refresh_runs(),
            FlowCommand::OpenRun(id) => self.open_run(id),
            FlowCommand::CloseRun(id) => {
                self.views.retain(|v| v.id() != id);
                self.open_tasks.retain(|(r, _)| *r != id);
            }
            FlowCommand::SetThreshold { run, value } => {
                if let Some(truth) = &self.truth
                    && let Some(view) = self.views.iter_mut().find(|v| v.id() == run)
                {
                    view.set_threshold(value, truth);
                }
            }
            FlowCommand::SelectDetection { run, index } => {
                if let Some(truth) = &self.truth
                    && let Some(view) = self.views.iter_mut().find(|v| v.id() == run)
                {
                    view.select(index, truth, &self.notifier);
                }
            }
            FlowCommand::Export { run, format, path } => self.export(run, format, path),
            FlowCommand::FitModel {
                spec,
                train_rows,
                name,
            } => self.fit_model(spec, train_rows, name),
            FlowCommand::CancelFit => self.cancel_fit(),
            FlowCommand::RefreshModels => self.refresh_models(),
            FlowCommand::RunModel { model, mode } => self.run_model(model, mode),
            FlowCommand::DeleteModel(model) => self.delete_model(model),
        }
    }

    fn run_detectors(
        &mut self,
        specs: Vec<crate::detect::DetectorSpec>,
        rule: crate::detect::ThresholdRule,
        mode: RunMode,
    ) {
        let Some(dataset) = self.synced else {
            return;
        };
        if self.batch.is_some() || specs.is_empty() {
            return;
        }
        if let RunMode::Stream { speed } = mode {
            self.run_stream(dataset, specs, rule, speed);
            return;
        }
        let names: Vec<String> = specs.iter().map(|s| s.id.clone()).collect();
        let inner = Progress::new();
        let worker_inner = inner.clone();
        let engine = self.engine.clone();
        let task = self.spawn(
            "detect",
            "Could not start the detectors",
            move |cancel, progress| {
                let total = specs.len() as u64;
                progress.set_total(total);
                let mut outcome = BatchOutcome::default();
                for (i, spec) in specs.iter().enumerate() {
                    if cancel.is_cancelled() {
                        outcome.cancelled = true;
                        break;
                    }
                    progress.set_done(i as u64);
                    worker_inner.set_total(0);
                    worker_inner.set_done(0);
                    let control = RunControl {
                        cancel: cancel.clone(),
                        progress: worker_inner.clone(),
                    };
                    match engine.run_batch(dataset, spec, rule, &control) {
                        Ok(summary) => outcome.runs.push(summary.id),
                        Err(_) if cancel.is_cancelled() => {
                            outcome.cancelled = true;
                            break;
                        }
                        Err(error) => outcome.failures.push(format!("{}: {error}", spec.id)),
                    }
                }
                progress.set_done(total);
                Ok(outcome)
            },
        );
        if let Some(task) = task {
            self.batch = Some(BatchJob {
                dataset,
                task,
                names,
                inner,
            });
        }
    }

    /// Hands a stream job to the Watch step, which starts it, draws it live and opens its
    /// runs when it ends.
    fn run_stream(
        &mut self,
        dataset: crate::storage::DatasetId,
        specs: Vec<crate::detect::DetectorSpec>,
        rule: crate::detect::ThresholdRule,
        speed: Option<f64>,
    ) {
        let truth = self.truth.as_deref().filter(|t| t.id() == dataset);
        self.outputs
            .push(FlowOutput::StartStream(crate::app::watch::StreamRequest {
                dataset,
                name: truth.map_or_else(|| dataset.to_string(), |t| t.meta.name.clone()),
                specs,
                models: Vec::new(),
                rule,
                speed,
                injected: truth.map(|t| t.injected_rows.clone()).unwrap_or_default(),
            }));
    }

    pub(super) fn open_run(&mut self, id: RunId) {
        if self.views.iter().any(|v| v.id() == id) || self.open_tasks.iter().any(|(r, _)| *r == id)
        {
            return;
        }
        let engine = self.engine.clone();
        if let Some(task) = self.spawn("open-run", "Could not open the run", move |_, _| {
            engine.run(id)
        }) {
            self.open_tasks.push((id, task));
        }
    }

    fn export(
        &mut self,
        run: RunId,
        format: super::ExportFormat,
        path: Option<std::path::PathBuf>,
    ) {
        let (Some(truth), Some(view)) = (&self.truth, self.views.iter().find(|v| v.id() == run))
        else {
            return;
        };
        let truth = Arc::clone(truth);
        let input = ExportInput {
            summary: view.summary.clone(),
            scores: Arc::clone(&view.scores),
            flags: view.flags.clone(),
            threshold: view.threshold,
            rethresholded: view.rethresholded,
        };
        self.export_task = self.spawn("export", "Could not export the run", move |_, _| {
            let ask = || {
                let ext = format.extension();
                rfd::FileDialog::new()
                    .set_title("Export run")
                    .set_file_name(format!("run-{}.{ext}", input.summary.id))
                    .add_filter(ext, &[ext])
                    .save_file()
            };
            let Some(path) = path.or_else(ask) else {
                return Ok(None);
            };
            write_export(&truth, &input, format, &path)?;
            Ok(Some(path))
        });
    }

    /// Collects finished work, keeps the preview and the metrics up to date with the
    /// settings, and returns what the shell must apply. Never blocks.
    pub fn poll(&mut self, tab: WorkflowTab) -> Vec<FlowOutput> {
        if let Some(result) = poll_slot(&mut self.truth_task) {
            match result {
                Ok(truth) => self.truth = Some(Arc::new(truth)),
                Err(error) => self.outputs.push(FlowOutput::Error(format!(
                    "Could not load the dataset: {error}"
                ))),
            }
        }
        if let Some(result) = poll_slot(&mut self.runs_task) {
            match result {
                Ok(runs) => self.runs = runs,
                Err(error) => self.outputs.push(FlowOutput::Error(format!(
                    "Could not list the runs: {error}"
                ))),
            }
        }
        self.poll_created();
        if let Some(result) = poll_slot(&mut self.suggest_task) {
            match result {
                Ok(ranking) => self.suggestion = Some(ranking),
                Err(error) => self.outputs.push(FlowOutput::Error(format!(
                    "Could not rank the detectors: {error}"
                ))),
            }
        }
        self.poll_batch();
        self.poll_models();
        self.poll_open();
        self.poll_preview(tab);
        if let Some(result) = poll_slot(&mut self.export_task) {
            self.outputs.push(match result {
                Ok(Some(path)) => FlowOutput::Note(format!("Exported to {}", path.display())),
                Ok(None) => FlowOutput::Note("Export cancelled".to_owned()),
                Err(error) => FlowOutput::Error(format!("Could not export: {error}")),
            });
        }
        if let Some(truth) = &self.truth {
            for view in &mut self.views {
                if let Some(problem) = view.poll(truth, &self.notifier) {
                    self.outputs.push(FlowOutput::Error(problem));
                }
            }
        }
        std::mem::take(&mut self.outputs)
    }

    fn poll_created(&mut self) {
        for (slot, what) in [
            (&mut self.save_task, "Saved injected dataset"),
            (&mut self.generate_task, "Generated"),
        ] {
            if let Some(result) = poll_slot(slot) {
                match result {
                    Ok(meta) => {
                        self.outputs.push(FlowOutput::Note(format!(
                            "{what} {:?} ({} rows, {} labelled)",
                            meta.name, meta.rows, meta.label_count
                        )));
                        self.outputs.push(FlowOutput::Created(meta));
                    }
                    Err(error) => self
                        .outputs
                        .push(FlowOutput::Error(format!("{what} failed: {error}"))),
                }
            }
        }
    }

    fn poll_batch(&mut self) {
        let Some(job) = &mut self.batch else {
            return;
        };
        let Some(result) = job.task.poll() else {
            return;
        };
        let dataset = job.dataset;
        self.batch = None;
        match result {
            Ok(outcome) => {
                let done = outcome.runs.len();
                let mut note = format!("{done} run{} finished", if done == 1 { "" } else { "s" });
                if outcome.cancelled {
                    note.push_str(", the rest cancelled");
                }
                self.outputs.push(FlowOutput::Note(note));
                if !outcome.failures.is_empty() {
                    self.outputs.push(FlowOutput::Error(format!(
                        "Some detectors failed: {}",
                        outcome.failures.join("; ")
                    )));
                }
                if Some(dataset) == self.synced {
                    for &run in &outcome.runs {
                        self.open_run(run);
                    }
                    self.refresh_runs();
                }
            }
            Err(error) => self
                .outputs
                .push(FlowOutput::Error(format!("The detectors failed: {error}"))),
        }
    }

    fn poll_open(&mut self) {
        let mut i = 0;
        while i < self.open_tasks.len() {
            if let Some(result) = self.open_tasks[i].1.poll() {
                self.open_tasks.remove(i);
                match result {
                    Ok(record) => self.pending.push(record),
                    Err(error) => self.outputs.push(FlowOutput::Error(format!(
                        "Could not open the run: {error}"
                    ))),
                }
            } else {
                i += 1;
            }
        }
        let Some(truth) = &self.truth else {
            return;
        };
        for record in std::mem::take(&mut self.pending) {
            if record.summary.dataset != truth.id() {
                continue;
            }
            if self.views.len() >= MAX_OPEN_RUNS {
                self.views.remove(0);
            }
            self.views.push(RunView::new(record, truth));
        }
    }

    fn poll_preview(&mut self, tab: WorkflowTab) {
        if let Some(result) = poll_slot(&mut self.preview_task) {
            match result {
                Ok(preview) => {
                    self.preview_error = None;
                    self.preview = Some(preview);
                }
                Err(error) => {
                    self.preview_error = Some(error.to_string());
                    self.preview = None;
                }
            }
        }
        let Some(truth) = &self.truth else {
            return;
        };
        if tab != WorkflowTab::Inject || self.preview_task.is_some() {
            return;
        }
        let plan = self.inject.plan();
        if self.preview_plan.as_ref() == Some(&plan) {
            return;
        }
        self.preview_plan = Some(plan.clone());
        let truth = Arc::clone(truth);
        self.preview_task =
            self.spawn("preview", "Could not preview the injection", move |_, _| {
                Preview::compute(&truth, plan)
            });
    }
}

pub(super) fn poll_slot<T: Send + 'static>(slot: &mut Option<Task<T>>) -> Option<crate::Result<T>> {
    let result = slot.as_mut()?.poll()?;
    *slot = None;
    Some(result)
}
