//! The workflow after import (issue 8 steps 1–3, 5, 6): generate, inject, detect, judge,
//! keep. [`Flow`] holds the state these steps share (the selected dataset loaded as a
//! [`Truth`], the injection preview, the running batch job, the opened runs with their
//! thresholds and metrics, the runs list), the editing state of the workflow tabs, and every
//! worker it starts. The shell calls [`Flow::sync`] and [`Flow::poll`] each frame, draws the
//! tabs and the results through it, and hands it the [`FlowCommand`]s panels push.
//!
//! Nothing here blocks the UI thread: loading, previewing, saving, scoring, evaluating,
//! attributing and exporting each run on a [`Task`]; evaluations and previews keep at most
//! one worker in flight and catch up with the latest settings when it finishes.
//!
//! Files: `apply.rs` (commands and polling), `ui.rs` (drawing through the panels),
//! `command.rs`, `truth.rs`, `run_view.rs`, `report.rs` (table cells and exports),
//! `preview.rs` (the injection preview worker).

mod apply;
pub mod command;
pub mod models;
pub mod preview;
pub mod report;
pub mod run_view;
pub mod truth;
mod ui;

use std::sync::Arc;

pub use command::{ExportFormat, FlowCommand, RunMode};
pub use preview::Preview;
pub use run_view::RunView;
pub use truth::Truth;

use crate::control::Progress;
use crate::engine::{Engine, Notifier, Task};
use crate::inject::InjectionPlan;
use crate::storage::{DatasetId, DatasetMeta, RunId, RunRecord, RunSummary};

use super::panels::detect::DetectPanel;
use super::panels::generate::GeneratePanel;
use super::panels::inject::InjectPanel;
use super::panels::results::ResultsPanel;

/// Most runs shown under the plot at once; opening another closes the oldest.
pub const MAX_OPEN_RUNS: usize = 4;

/// What the shell should do after a workflow worker finished.
#[derive(Clone, Debug, PartialEq)]
pub enum FlowOutput {
    /// A dataset was stored (generated or injected): list and select it.
    Created(DatasetMeta),
    /// A passing note for the status bar.
    Note(String),
    /// An error for the status bar.
    Error(String),
    /// Start a stream job (the Watch step runs and draws it).
    StartStream(crate::app::watch::StreamRequest),
}

/// Where the running batch job is, for the Detect tab.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchStatus {
    /// Detectors finished.
    pub done: usize,
    /// Detectors in the job.
    pub total: usize,
    /// The detector running now.
    pub current: String,
    /// Overall fraction done.
    pub fraction: f32,
}

/// What a batch job returns.
#[derive(Debug, Default)]
struct BatchOutcome {
    runs: Vec<RunId>,
    failures: Vec<String>,
    cancelled: bool,
}

#[derive(Debug)]
struct BatchJob {
    dataset: DatasetId,
    task: Task<BatchOutcome>,
    names: Vec<String>,
    inner: Progress,
}

/// The workflow state and its workers.
#[derive(Debug)]
pub struct Flow {
    engine: Engine,
    notifier: Notifier,
    /// The Generate tab.
    pub generate: GeneratePanel,
    /// The Inject tab.
    pub inject: InjectPanel,
    /// The Detect tab.
    pub detect: DetectPanel,
    /// The Models tab and its workers.
    pub models: models::ModelsWork,
    results: ResultsPanel,
    synced: Option<DatasetId>,
    truth: Option<Arc<Truth>>,
    truth_task: Option<Task<Truth>>,
    runs: Vec<RunSummary>,
    runs_task: Option<Task<Vec<RunSummary>>>,
    views: Vec<RunView>,
    open_tasks: Vec<(RunId, Task<RunRecord>)>,
    pending: Vec<RunRecord>,
    batch: Option<BatchJob>,
    preview: Option<Preview>,
    preview_task: Option<Task<Preview>>,
    preview_plan: Option<InjectionPlan>,
    preview_error: Option<String>,
    save_task: Option<Task<DatasetMeta>>,
    generate_task: Option<Task<DatasetMeta>>,
    export_task: Option<Task<Option<std::path::PathBuf>>>,
    suggest_task: Option<Task<crate::eval::DetectorRanking>>,
    suggestion: Option<crate::eval::DetectorRanking>,
    outputs: Vec<FlowOutput>,
}

impl Flow {
    /// The workflow over `engine`; `notifier` wakes the UI when a worker finishes.
    pub fn new(engine: Engine, notifier: Notifier) -> Self {
        Self {
            engine,
            notifier,
            generate: GeneratePanel::default(),
            inject: InjectPanel::default(),
            detect: DetectPanel::default(),
            models: models::ModelsWork::default(),
            results: ResultsPanel::default(),
            synced: None,
            truth: None,
            truth_task: None,
            runs: Vec::new(),
            runs_task: None,
            views: Vec::new(),
            open_tasks: Vec::new(),
            pending: Vec::new(),
            batch: None,
            preview: None,
            preview_task: None,
            preview_plan: None,
            preview_error: None,
            save_task: None,
            generate_task: None,
            export_task: None,
            suggest_task: None,
            suggestion: None,
            outputs: Vec::new(),
        }
    }

    /// The selected dataset, loaded (once its worker finished).
    pub fn truth(&self) -> Option<&Truth> {
        self.truth.as_deref()
    }

    /// Stored runs of the selected dataset, newest first.
    pub fn runs(&self) -> &[RunSummary] {
        &self.runs
    }

    /// Runs opened under the plot, oldest first.
    pub fn opened(&self) -> &[RunView] {
        &self.views
    }

    /// An opened run.
    pub fn opened_run(&self, id: RunId) -> Option<&RunView> {
        self.views.iter().find(|v| v.id() == id)
    }

    /// The injection preview on screen.
    pub fn preview(&self) -> Option<&Preview> {
        self.preview.as_ref()
    }

    /// Why the current injection plan cannot be applied.
    pub fn preview_error(&self) -> Option<&str> {
        self.preview_error.as_deref()
    }

    /// The running batch job.
    pub fn batch_status(&self) -> Option<BatchStatus> {
        let job = self.batch.as_ref()?;
        let (done, total) = job.task.progress().get();
        let done = usize::try_from(done).unwrap_or(0);
        let total = usize::try_from(total)
            .unwrap_or(0)
            .max(job.names.len())
            .max(1);
        let inner = f64::from(job.inner.fraction());
        Some(BatchStatus {
            done: done.min(total - 1),
            total,
            current: job
                .names
                .get(done)
                .or(job.names.last())
                .cloned()
                .unwrap_or_default(),
            fraction: ((done as f64 + inner) / total as f64).clamp(0.0, 1.0) as f32,
        })
    }

    /// Whether stream runs can be started (the jobs engine of `crate::stream` is wired).
    pub fn stream_available(&self) -> bool {
        true
    }

    /// The label-free detector ranking of the selected dataset, once computed (best first).
    pub fn suggestion(&self) -> Option<&crate::eval::DetectorRanking> {
        self.suggestion.as_ref()
    }

    /// True while the suggestion is being computed.
    pub fn suggesting(&self) -> bool {
        self.suggest_task.is_some()
    }

    /// True while any workflow worker runs or waits (tests step frames until it is false).
    pub fn is_busy(&self) -> bool {
        self.truth_task.is_some()
            || self.runs_task.is_some()
            || !self.open_tasks.is_empty()
            || !self.pending.is_empty()
            || self.batch.is_some()
            || self.preview_task.is_some()
            || self.save_task.is_some()
            || self.generate_task.is_some()
            || self.export_task.is_some()
            || self.suggest_task.is_some()
            || self.models.is_busy()
            || self.views.iter().any(RunView::is_busy)
    }

    /// Follows the dataset selection: a new dataset drops what belonged to the old one and
    /// starts loading the new one and its runs.
    pub fn sync(&mut self, selected: Option<&DatasetMeta>) {
        let id = selected.map(|m| m.id);
        if id == self.synced {
            return;
        }
        self.synced = id;
        self.truth = None;
        self.truth_task = None;
        self.runs.clear();
        self.runs_task = None;
        self.views.clear();
        self.open_tasks.clear();
        self.pending.clear();
        self.preview = None;
        self.preview_task = None;
        self.preview_plan = None;
        self.preview_error = None;
        self.suggestion = None;
        self.suggest_task = None;
        self.results = ResultsPanel::default();
        if let Some(meta) = selected {
            self.inject.reset_for(meta);
            let engine = self.engine.clone();
            let id = meta.id;
            self.truth_task = self.spawn("truth", "Could not load the dataset", move |_, _| {
                Truth::load(&engine, id)
            });
            self.refresh_runs();
        }
    }

    fn spawn<T: Send + 'static>(
        &mut self,
        name: &str,
        what: &str,
        work: impl FnOnce(&crate::control::CancelToken, &Progress) -> crate::Result<T> + Send + 'static,
    ) -> Option<Task<T>> {
        match Task::spawn(name, self.notifier.clone(), work) {
            Ok(task) => Some(task),
            Err(error) => {
                self.outputs
                    .push(FlowOutput::Error(format!("{what}: {error}")));
                None
            }
        }
    }

    fn refresh_runs(&mut self) {
        let Some(id) = self.synced else {
            return;
        };
        let engine = self.engine.clone();
        self.runs_task = self.spawn("runs", "Could not list the runs", move |_, _| {
            let mut runs = engine.list_runs(Some(id))?;
            runs.sort_by_key(|r| std::cmp::Reverse(r.id));
            Ok(runs)
        });
    }
}
