//! [`App`]: the main window. Holds what the UI knows (dataset list, plotted data, errors),
//! runs the frame in a fixed order, and applies panel commands after layout:
//!
//! 1. `logic`: collect finished [`Jobs`] results, read dropped files and shortcuts;
//! 2. `ui`: top bar, status bar, dataset panel, plot panel, dialogs (panels push commands);
//! 3. apply the commands (start jobs, change selection, open or close dialogs).
//!
//! Nothing in here blocks: engine work goes through [`Jobs`], whose workers wake the UI
//! through the [`Notifier`] built from the egui context.

use std::path::PathBuf;
use std::time::Duration;

use crate::engine::{Engine, Notifier};
use crate::error::Error;
use crate::storage::{DatasetId, DatasetMeta};

use super::command::UiCommand;
use super::flow::{Flow, FlowOutput};
use super::jobs::{JobEvent, Jobs, file_name};
use super::panels::datasets::{DatasetsView, datasets_ui};
use super::panels::dialogs::{Dialog, dialog_ui, drop_hint_ui};
use super::panels::plot::{PlotPanel, PlotView};
use super::panels::settings::{Settings, SettingsEvent};
use super::panels::status::{StatusView, status_ui};
use super::panels::tools::Tools;
use super::panels::top_bar::{shortcut_commands, top_bar_ui};
use super::plot::PlotData;
use super::state::{AppState, WorkflowTab};
use super::theme;
use super::watch::{DRAIN_BUDGET, LiveStatus, Watch, WatchOutput};

/// How often the UI redraws while an import runs, so its progress bar moves.
const PROGRESS_REPAINT: Duration = Duration::from_millis(100);

/// The desktop application.
#[derive(Debug)]
pub struct App {
    jobs: Jobs,
    state: AppState,
    datasets: Vec<DatasetMeta>,
    listed: bool,
    plotted: Option<Box<PlotData>>,
    plot_panel: PlotPanel,
    storage: Option<String>,
    error: Option<String>,
    note: Option<String>,
    dialog: Option<Dialog>,
    flow: Flow,
    tools: Tools,
    watch: Watch,
    cmds: Vec<UiCommand>,
}

impl App {
    /// The app over `engine`, restoring persisted state from eframe's storage, waking the UI
    /// through `cc`'s context, importing `open_files` and showing `startup_error` if set.
    pub fn new(
        cc: &eframe::CreationContext<'_>,
        engine: Engine,
        open_files: Vec<PathBuf>,
        startup_error: Option<String>,
    ) -> Self {
        let state = cc
            .storage
            .and_then(|s| eframe::get_value(s, AppState::STORAGE_KEY))
            .unwrap_or_default();
        let ctx = cc.egui_ctx.clone();
        // Workers may finish in bursts; asking for a repaint "within 10 ms" instead of
        // "now" lets egui coalesce them into one frame (rerun does the same).
        let notifier = Notifier::new(move || ctx.request_repaint_after(Duration::from_millis(10)));
        let mut app = Self::with_parts(engine, notifier, state);
        let settings: Settings = cc
            .storage
            .and_then(|s| eframe::get_value(s, Settings::STORAGE_KEY))
            .unwrap_or_default();
        app.tools.restore(settings, &cc.egui_ctx);
        app.error = startup_error;
        app.jobs.enqueue_imports(open_files);
        app
    }

    /// The app over `engine` with default state and no repaint hook: for tests, which step
    /// frames themselves.
    pub fn new_for_test(engine: Engine) -> Self {
        Self::with_parts(engine, Notifier::noop(), AppState::default())
    }

    fn with_parts(engine: Engine, notifier: Notifier, state: AppState) -> Self {
        let flow = Flow::new(engine.clone(), notifier.clone());
        let tools = Tools::new(engine.clone(), notifier.clone());
        let watch = Watch::new(engine.clone(), notifier.clone());
        let mut jobs = Jobs::new(engine, notifier);
        jobs.refresh_list();
        jobs.describe_storage();
        Self {
            jobs,
            state,
            datasets: Vec::new(),
            listed: false,
            plotted: None,
            plot_panel: PlotPanel::default(),
            storage: None,
            error: None,
            note: None,
            dialog: None,
            flow,
            tools,
            watch,
            cmds: Vec::new(),
        }
    }

    /// One whole frame (logic then layout) inside `ui`: what a kittest harness built with
    /// `Harness::new_ui_state` drives.
    pub fn frame_ui(&mut self, ui: &mut egui::Ui) {
        self.logic_step(ui.ctx());
        self.draw(ui);
    }

    // ---- accessors for tests and for panels of later issues ----

    /// Stored datasets as last listed, sorted by name.
    pub fn datasets(&self) -> &[DatasetMeta] {
        &self.datasets
    }

    /// The selected dataset.
    pub fn selected(&self) -> Option<DatasetId> {
        self.state.selected
    }

    /// The dataset on the plot, once loaded.
    pub fn plotted(&self) -> Option<&PlotData> {
        self.plotted.as_deref()
    }

    /// The error shown in the status bar.
    pub fn last_error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// The passing note shown in the status bar.
    pub fn last_note(&self) -> Option<&str> {
        self.note.as_deref()
    }

    /// The open dialog.
    pub fn dialog(&self) -> Option<&Dialog> {
        self.dialog.as_ref()
    }

    /// True while background work runs or waits.
    pub fn is_busy(&self) -> bool {
        self.jobs.is_busy() || self.flow.is_busy() || self.tools.is_busy() || self.watch.is_busy()
    }

    /// The workflow (inject, detect, judge, keep) state.
    pub fn flow(&self) -> &Flow {
        &self.flow
    }

    /// The workflow state, mutable (tests set panel fields the way a user would).
    pub fn flow_mut(&mut self) -> &mut Flow {
        &mut self.flow
    }

    /// The persisted part of the state.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The settings and comparison windows.
    pub fn tools(&self) -> &Tools {
        &self.tools
    }

    /// The settings and comparison windows, to open or feed them.
    pub fn tools_mut(&mut self) -> &mut Tools {
        &mut self.tools
    }

    /// The Watch step: live streams and the jobs panel.
    pub fn watch(&self) -> &Watch {
        &self.watch
    }

    /// The Watch step, mutable (tests give it a manual clock).
    pub fn watch_mut(&mut self) -> &mut Watch {
        &mut self.watch
    }

    /// Queues a command as if a panel had pushed it (applied at the end of the next frame).
    pub fn push_command(&mut self, cmd: UiCommand) {
        self.cmds.push(cmd);
    }

    // ---- frame steps ----

    fn logic_step(&mut self, ctx: &egui::Context) {
        for event in self.jobs.poll() {
            self.apply_event(event);
        }
        let selected = self
            .state
            .selected
            .and_then(|id| self.datasets.iter().find(|d| d.id == id));
        self.flow.sync(selected);
        for output in self.flow.poll(self.state.workflow_tab) {
            self.apply_flow_output(output);
        }
        // egui 0.37 hands dropped files over as handles; natively each has an absolute path.
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .collect()
        });
        if !dropped.is_empty() {
            self.cmds.push(UiCommand::ImportFiles(dropped));
        }
        self.cmds.extend(shortcut_commands(
            ctx,
            self.state.selected,
            self.dialog.is_some(),
        ));
        let visible = self.state.workflow_tab == WorkflowTab::Watch;
        for output in self.watch.poll(DRAIN_BUDGET, visible) {
            self.apply_watch_output(output);
        }
        if let Some(cmd) = self.watch.space_command(ctx, self.dialog.is_some()) {
            self.cmds.push(UiCommand::Watch(cmd));
        }
    }

    fn draw(&mut self, ui: &mut egui::Ui) {
        let mut cmds = std::mem::take(&mut self.cmds);
        let import = self.jobs.import_status();
        egui::Panel::top("anomdet-top-bar").show(ui, |ui| {
            ui.horizontal(|ui| {
                top_bar_ui(ui, import.as_ref(), &mut cmds);
                self.tools.buttons_ui(ui, self.state.selected);
            });
        });
        let selected_meta = self
            .state
            .selected
            .and_then(|id| self.datasets.iter().find(|d| d.id == id));
        egui::Panel::bottom("anomdet-status").show(ui, |ui| {
            let view = StatusView {
                storage: self.storage.as_deref(),
                error: self.error.as_deref(),
                note: self.note.as_deref(),
                warnings: selected_meta.map_or(&[][..], |m| &m.warnings[..]),
                warnings_of: selected_meta.map(|m| m.name.as_str()),
                warnings_open: self.state.warnings_open,
            };
            status_ui(ui, view, &mut cmds);
        });
        egui::Panel::left("anomdet-datasets")
            .resizable(true)
            .default_size(theme::DATASET_PANEL_WIDTH)
            .show(ui, |ui| {
                let view = DatasetsView {
                    datasets: &self.datasets,
                    selected: self.state.selected,
                    loading: self.jobs.loading(),
                    listing: !self.listed,
                };
                datasets_ui(ui, view, &mut cmds);
            });
        egui::Panel::right("anomdet-workflow")
            .resizable(true)
            .default_size(theme::WORKFLOW_PANEL_WIDTH)
            .show(ui, |ui| {
                self.flow
                    .workflow_ui(ui, self.state.workflow_tab, selected_meta, &mut cmds);
                if self.state.workflow_tab == WorkflowTab::Watch {
                    self.watch.panel_ui(ui, &mut cmds);
                }
            });
        egui::CentralPanel::default().show(ui, |ui| {
            let tab = self.state.workflow_tab;
            if tab == WorkflowTab::Watch && self.watch.has_streams() {
                self.watch.live_ui(ui, &self.state, &mut cmds);
                return;
            }
            if let Some(data) = self.plotted.as_deref()
                && self.flow.has_results(tab, Some(data))
            {
                egui::Panel::bottom("anomdet-results")
                    .resizable(true)
                    .default_size(theme::RESULTS_HEIGHT)
                    .show(ui, |ui| {
                        self.flow
                            .results_ui(ui, data, tab, self.state.show_labels, &mut cmds);
                    });
            }
            let view = PlotView {
                data: self.plotted.as_deref(),
                loading: self.jobs.loading().is_some(),
                state: &self.state,
            };
            self.plot_panel.ui(ui, view, &mut cmds);
        });
        let ctx = ui.ctx().clone();
        if let Some(dialog) = &self.dialog {
            dialog_ui(&ctx, dialog, &mut cmds);
        }
        for event in self.tools.show(&ctx) {
            if let SettingsEvent::StorageSwitched(description) = event {
                self.storage = Some(description);
                self.select(None);
                self.datasets.clear();
                self.listed = false;
                self.jobs.refresh_list();
            }
        }
        let hovered = ctx.input(|i| i.raw.hovered_files.len());
        if hovered > 0 {
            drop_hint_ui(&ctx, hovered);
        }
        for cmd in cmds {
            self.apply_command(cmd);
        }
        if self.jobs.import_status().is_some() || self.flow.batch_status().is_some() {
            ctx.request_repaint_after(PROGRESS_REPAINT);
        }
        if self.watch.is_streaming() {
            // Batches also wake the UI; this keeps the rate and the spinner moving between.
            ctx.request_repaint_after(super::watch::STREAM_REPAINT);
        }
    }

    fn apply_command(&mut self, cmd: UiCommand) {
        match cmd {
            UiCommand::OpenFileDialog => self.jobs.pick_files(),
            UiCommand::ImportFiles(paths) => {
                self.note = None;
                self.jobs.enqueue_imports(paths);
            }
            UiCommand::CancelImport => self.jobs.cancel_imports(),
            UiCommand::Select(id) => self.select(Some(id)),
            UiCommand::AskDelete(id) => {
                if let Some(meta) = self.datasets.iter().find(|d| d.id == id) {
                    self.dialog = Some(Dialog::ConfirmDelete {
                        id,
                        name: meta.name.clone(),
                        rows: meta.rows,
                    });
                }
            }
            UiCommand::Delete(id) => {
                self.dialog = None;
                self.jobs.delete(id);
            }
            UiCommand::CloseDialog => self.dialog = None,
            UiCommand::DismissError => self.error = None,
            UiCommand::ToggleWarnings => self.state.warnings_open = !self.state.warnings_open,
            UiCommand::SetColumnVisible { column, visible } => {
                if visible {
                    self.state.hidden_columns.remove(&column);
                } else {
                    self.state.hidden_columns.insert(column);
                }
            }
            UiCommand::SetLabelsVisible(show) => self.state.show_labels = show,
            UiCommand::CompareRuns { dataset, runs } => self.tools.compare_runs(dataset, &runs),
            UiCommand::Flow(cmd) => self.flow.apply(cmd, &mut self.state),
            UiCommand::Watch(cmd) => self.watch.apply(cmd),
        }
    }

    fn apply_watch_output(&mut self, output: WatchOutput) {
        match output {
            WatchOutput::Ended {
                dataset,
                runs,
                status,
                note,
            } => {
                self.note = Some(note);
                // A finished stream's runs open for judging like a batch job's.
                if status == LiveStatus::Finished && self.state.selected == Some(dataset) {
                    for run in runs {
                        self.flow
                            .apply(super::flow::FlowCommand::OpenRun(run), &mut self.state);
                    }
                }
                if self.state.selected == Some(dataset) {
                    self.flow
                        .apply(super::flow::FlowCommand::RefreshRuns, &mut self.state);
                }
            }
            WatchOutput::Error(error) => {
                log::warn!("{error}");
                self.error = Some(error);
            }
        }
    }

    fn apply_flow_output(&mut self, output: FlowOutput) {
        match output {
            FlowOutput::Created(meta) => {
                let id = meta.id;
                if !self.datasets.iter().any(|d| d.id == id) {
                    let at = self.datasets.partition_point(|d| d.name < meta.name);
                    self.datasets.insert(at, meta);
                }
                self.select(Some(id));
                self.jobs.refresh_list();
            }
            FlowOutput::Note(note) => self.note = Some(note),
            FlowOutput::StartStream(request) => {
                self.watch.start(request);
                self.state.workflow_tab = WorkflowTab::Watch;
            }
            FlowOutput::Error(error) => {
                log::warn!("{error}");
                self.error = Some(error);
            }
        }
    }

    /// Selects a dataset (or nothing) and starts loading it.
    fn select(&mut self, id: Option<DatasetId>) {
        self.state.selected = id;
        if self.plotted.as_ref().map(|p| p.meta.id) != id {
            self.plotted = None;
        }
        match id.and_then(|id| self.datasets.iter().find(|d| d.id == id)) {
            Some(meta) if self.plotted.is_none() => self.jobs.load(meta.clone()),
            Some(_) => {}
            None => self.jobs.cancel_load(),
        }
    }

    fn apply_event(&mut self, event: JobEvent) {
        match event {
            JobEvent::Listed(datasets) => {
                self.datasets = datasets;
                self.listed = true;
                let selected = self.state.selected;
                let still_there = selected.filter(|id| self.datasets.iter().any(|d| d.id == *id));
                if still_there != selected {
                    self.select(None);
                } else if let Some(id) = still_there
                    && self.plotted.is_none()
                    && self.jobs.loading() != Some(id)
                {
                    self.select(Some(id));
                }
            }
            JobEvent::Loaded(data) => {
                if self.state.selected == Some(data.meta.id) {
                    self.plotted = Some(data);
                }
            }
            JobEvent::Imported { path, outcome } => {
                let meta = outcome.meta;
                let warnings = outcome.warnings.len();
                self.note = Some(format!(
                    "Imported {} as {:?}: {} rows{}",
                    file_name(&path),
                    meta.name,
                    super::panels::datasets::thousands(meta.rows),
                    match warnings {
                        0 => String::new(),
                        1 => ", 1 warning".to_owned(),
                        n => format!(", {n} warnings"),
                    }
                ));
                let id = meta.id;
                let at = self.datasets.partition_point(|d| d.name < meta.name);
                self.datasets.insert(at, meta);
                self.select(Some(id));
                self.jobs.refresh_list();
            }
            JobEvent::Deleted(id) => {
                if let Some(at) = self.datasets.iter().position(|d| d.id == id) {
                    let meta = self.datasets.remove(at);
                    self.note = Some(format!("Deleted {:?}", meta.name));
                }
                if self.state.selected == Some(id) {
                    self.select(None);
                }
                self.jobs.refresh_list();
            }
            JobEvent::Picked(paths) => {
                if !paths.is_empty() {
                    self.jobs.enqueue_imports(paths);
                }
            }
            JobEvent::StorageDescribed(text) => self.storage = Some(text),
            JobEvent::Failed { what, error } => match error {
                Error::Cancelled => self.note = Some(what),
                error => {
                    log::warn!("{what}: {error}");
                    self.error = Some(format!("{what}: {error}"));
                }
            },
        }
    }
}

impl eframe::App for App {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.logic_step(ctx);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.draw(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, AppState::STORAGE_KEY, &self.state);
        eframe::set_value(storage, Settings::STORAGE_KEY, self.tools.persisted());
    }
}
