//! The comparison window: two to [`MAX_RUNS`] stored runs of one dataset side by side
//! (detector, parameters, threshold, flagged rows, timings and every metric in one column per
//! run; their score plots stacked and linked in x, flagged rows shaded), and below them the
//! robustness matrix ([`RobustnessPanel`]: computed on a worker, shown as a heatmap).
//!
//! Owns its workers: listing the dataset's runs and loading the picked runs (scores, the
//! dataset's timestamps, a min/max pyramid per score vector, so a 10M-row run pans as freely
//! as the data plot). Opened from the top bar (newest two runs) or by
//! [`ComparePanel::compare`] with the runs ticked in the Runs tab.

use egui::{RichText, Ui};
use egui_plot::{Line, Plot, PlotPoints, Span};

use super::robustness::RobustnessPanel;
use crate::app::plot::{BucketGrid, MinMaxPyramid, TimeAxis, decimate_with};
use crate::app::theme;
use crate::app::widgets::heatmap::HeatmapData;
use crate::engine::{Engine, Notifier, Task};
use crate::model::Timestamp;
use crate::storage::{DatasetId, RunId, RunRecord, RunSummary};

/// One loaded run, ready to show.
#[derive(Clone, Debug)]
pub struct CompareSide {
    /// The run's summary.
    pub summary: RunSummary,
    /// Metrics from the run's stored report, `name = value`, in the report's order.
    pub metrics: Vec<(String, f64)>,
    scores: Vec<f64>,
    pyramid: Option<MinMaxPyramid>,
    flagged: Vec<[f64; 2]>,
}

impl CompareSide {
    /// Prepares `record` for drawing over `x` (one x per row; row numbers when the lengths
    /// differ, as for a cancelled run).
    pub fn new(record: RunRecord, x: &[f64]) -> Self {
        let RunRecord {
            summary,
            scores,
            predicted,
        } = record;
        let pyramid = MinMaxPyramid::build(&scores);
        let x_of = |row: usize| {
            if x.len() == scores.len() {
                x.get(row).copied().unwrap_or(row as f64)
            } else {
                row as f64
            }
        };
        let mut flagged = Vec::new();
        let mut start = None;
        for (row, &flag) in predicted.iter().chain([&false]).enumerate() {
            match (flag, start) {
                (true, None) => start = Some(row),
                (false, Some(s)) => {
                    flagged.push([x_of(s), x_of(row.saturating_sub(1))]);
                    start = None;
                }
                _ => {}
            }
        }
        let metrics = flatten_metrics(&summary.metrics_json);
        Self {
            summary,
            metrics,
            scores,
            pyramid,
            flagged,
        }
    }

    /// Number of flagged windows (runs of consecutive flagged rows).
    pub fn flagged_windows(&self) -> usize {
        self.flagged.len()
    }
}

/// The numbers of a metrics report: top-level numbers as they are, nested objects one level
/// deep as `outer.inner`.
fn flatten_metrics(json: &str) -> Vec<(String, f64)> {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(json) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, value) in &map {
        match value {
            serde_json::Value::Number(n) => out.extend(n.as_f64().map(|v| (key.clone(), v))),
            serde_json::Value::Object(inner) => {
                for (k, v) in inner {
                    if let Some(v) = v.as_f64() {
                        out.push((format!("{key}.{k}"), v));
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// Most runs the window compares at once (more would make the score plots unreadably thin).
pub const MAX_RUNS: usize = 6;

/// The compared runs and the x axis they share.
#[derive(Clone, Debug)]
pub struct CompareData {
    /// The x of every row, seconds since the epoch (row numbers if the dataset is gone).
    pub x: Vec<f64>,
    /// How to label x.
    pub axis: TimeAxis,
    /// The runs, left to right, in the order they were picked.
    pub sides: Vec<CompareSide>,
}

impl CompareData {
    /// The runs over the dataset's timestamps.
    pub fn new(records: Vec<RunRecord>, timestamps: &[Timestamp]) -> Self {
        let x: Vec<f64> = timestamps.iter().map(|t| t.as_secs_f64()).collect();
        let axis = match (x.first(), x.last()) {
            (Some(&first), Some(&last)) => TimeAxis::for_range(first, last),
            _ => TimeAxis::Elapsed,
        };
        let sides = records
            .into_iter()
            .map(|r| CompareSide::new(r, &x))
            .collect();
        Self { x, axis, sides }
    }

    /// The ids of the runs shown, in order.
    pub fn run_ids(&self) -> Vec<RunId> {
        self.sides.iter().map(|s| s.summary.id).collect()
    }
}

/// The comparison window's state.
#[derive(Debug, Default)]
pub struct ComparePanel {
    /// Whether the window is shown.
    pub open: bool,
    dataset: Option<DatasetId>,
    runs: Vec<RunSummary>,
    listing: Option<Task<Vec<RunSummary>>>,
    picks: Vec<RunId>,
    loading: Option<(Vec<RunId>, Task<CompareData>)>,
    data: Option<CompareData>,
    /// The robustness matrix section (form, worker, heatmap).
    pub robustness: RobustnessPanel,
    error: Option<String>,
    failed: Option<Vec<RunId>>,
}

impl ComparePanel {
    /// Opens the window on `dataset`'s runs (listing them on a worker when it changed).
    pub fn show_dataset(&mut self, engine: &Engine, notifier: &Notifier, dataset: DatasetId) {
        self.open = true;
        if self.dataset != Some(dataset) {
            *self = Self {
                open: true,
                robustness: std::mem::take(&mut self.robustness),
                ..Self::default()
            };
            self.dataset = Some(dataset);
        }
        // Listed again on every opening: runs may have been stored since.
        if self.listing.is_none() {
            self.refresh(engine, notifier);
        }
    }

    /// Opens the window comparing `runs` of `dataset` (the first [`MAX_RUNS`], in order).
    pub fn compare(
        &mut self,
        engine: &Engine,
        notifier: &Notifier,
        dataset: DatasetId,
        runs: &[RunId],
    ) {
        self.show_dataset(engine, notifier, dataset);
        self.picks = runs.iter().copied().take(MAX_RUNS).collect();
        self.failed = None;
        self.load(engine, notifier);
    }

    /// Shows already loaded runs (tests, and callers that hold the records).
    pub fn set_data(&mut self, data: CompareData) {
        self.open = true;
        self.picks = data.run_ids();
        self.data = Some(data);
    }

    /// Sets (or clears) the robustness matrix shown under the runs (one computed elsewhere,
    /// a stored report).
    pub fn set_robustness(&mut self, matrix: Option<HeatmapData>) {
        self.robustness.set_external(matrix);
    }

    /// The loaded comparison, if any.
    pub fn data(&self) -> Option<&CompareData> {
        self.data.as_ref()
    }

    /// The runs picked for comparison, in order.
    pub fn picks(&self) -> &[RunId] {
        &self.picks
    }

    /// True while runs are listed or loaded, or the robustness matrix is computed.
    pub fn is_busy(&self) -> bool {
        self.listing.is_some() || self.loading.is_some() || self.robustness.is_busy()
    }

    /// The last failure, in words.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    fn refresh(&mut self, engine: &Engine, notifier: &Notifier) {
        let Some(dataset) = self.dataset else {
            return;
        };
        let engine = engine.clone();
        match Task::spawn("compare-list", notifier.clone(), move |_, _| {
            engine.list_runs(Some(dataset))
        }) {
            Ok(task) => self.listing = Some(task),
            Err(error) => self.error = Some(format!("Could not list the runs: {error}")),
        }
    }

    fn load(&mut self, engine: &Engine, notifier: &Notifier) {
        if self.picks.len() < 2 {
            return;
        }
        let ids = self.picks.clone();
        if self.failed.as_ref() == Some(&ids)
            || self
                .loading
                .as_ref()
                .is_some_and(|(loading, _)| *loading == ids)
            || self.data.as_ref().is_some_and(|d| d.run_ids() == ids)
        {
            return;
        }
        let engine = engine.clone();
        let wanted = ids.clone();
        match Task::spawn("compare-load", notifier.clone(), move |cancel, _| {
            let mut records = Vec::with_capacity(wanted.len());
            for &id in &wanted {
                if cancel.is_cancelled() {
                    return Err(crate::error::Error::Cancelled);
                }
                records.push(engine.run(id)?);
            }
            let timestamps = records
                .first()
                .and_then(|r| engine.load_series(r.summary.dataset).ok())
                .map(|s| s.timestamps().to_vec())
                .unwrap_or_default();
            Ok(CompareData::new(records, &timestamps))
        }) {
            Ok(task) => self.loading = Some((ids, task)),
            Err(error) => self.error = Some(format!("Could not load the runs: {error}")),
        }
    }

    fn poll(&mut self) {
        if let Some(task) = &mut self.listing
            && let Some(result) = task.poll()
        {
            self.listing = None;
            match result {
                Ok(runs) => {
                    if self.picks.is_empty() {
                        // Newest two, oldest left, so opening the window shows something at
                        // once.
                        let mut newest: Vec<&RunSummary> = runs.iter().collect();
                        newest.sort_by_key(|r| std::cmp::Reverse((r.created_ms, r.id.0)));
                        self.picks = newest.iter().take(2).rev().map(|r| r.id).collect();
                    }
                    self.runs = runs;
                }
                Err(error) => self.error = Some(format!("Could not list the runs: {error}")),
            }
        }
        if let Some((ids, task)) = &mut self.loading
            && let Some(result) = task.poll()
        {
            let ids = std::mem::take(ids);
            self.loading = None;
            match result {
                Ok(data) => {
                    self.error = None;
                    self.data = Some(data);
                }
                Err(error) => {
                    self.failed = Some(ids);
                    self.error = Some(format!("Could not load the runs: {error}"));
                }
            }
        }
    }

    /// Draws the window when open and collects finished work. Esc closes it (an open modal
    /// dialog, drawn first, consumes Esc before it gets here).
    pub fn show(&mut self, ctx: &egui::Context, engine: &Engine, notifier: &Notifier) {
        self.poll();
        self.robustness.poll();
        if !self.open {
            return;
        }
        let mut open = true;
        egui::Window::new("Compare runs")
            .open(&mut open)
            .default_size([900.0, 560.0])
            .vscroll(true)
            .show(ctx, |ui| self.ui(ui, engine, notifier));
        let escape = ctx.input_mut(|i| i.consume_key(egui::Modifiers::NONE, egui::Key::Escape));
        if !open || escape {
            self.open = false;
        }
    }

    /// The window's contents (tests call it inside a harness).
    pub fn ui(&mut self, ui: &mut Ui, engine: &Engine, notifier: &Notifier) {
        self.poll();
        if !self.runs.is_empty() {
            let before = self.picks.clone();
            self.picks_ui(ui);
            if self.picks != before {
                self.failed = None;
            }
            // Idempotent: starts only when the picked runs are neither loaded, loading, nor
            // failed already.
            self.load(engine, notifier);
        } else if self.listing.is_some() {
            ui.spinner();
        } else if self.data.is_none() && self.dataset.is_some() {
            ui.label("This dataset has no stored runs yet: run a detector first.");
        }
        if let Some(error) = &self.error {
            ui.label(RichText::new(error.as_str()).color(theme::ERROR_TEXT));
        }
        if self.loading.is_some() {
            ui.spinner();
        }
        match &self.data {
            Some(data) => compare_ui(ui, data),
            None if self.dataset.is_none() => {
                ui.label("Select a dataset with at least two runs to compare them.");
            }
            None => {}
        }
        ui.separator();
        self.robustness.ui(ui, engine, notifier, self.dataset);
    }

    /// One checkbox per stored run; ticking adds the run at the right end.
    fn picks_ui(&mut self, ui: &mut Ui) {
        ui.horizontal_wrapped(|ui| {
            ui.label(format!("Runs to compare (2 to {MAX_RUNS}):"));
            for run in &self.runs {
                let mut picked = self.picks.contains(&run.id);
                let full = !picked && self.picks.len() >= MAX_RUNS;
                let response = ui
                    .add_enabled(!full, egui::Checkbox::new(&mut picked, run_title(run)))
                    .on_disabled_hover_text(format!("At most {MAX_RUNS} runs at once"));
                if response.changed() {
                    if picked {
                        self.picks.push(run.id);
                    } else {
                        self.picks.retain(|&id| id != run.id);
                    }
                }
            }
        });
        if self.picks.len() < 2 {
            ui.label(RichText::new("Tick at least two runs.").weak());
        }
    }
}

fn run_title(run: &RunSummary) -> String {
    format!("#{} {} ({} flagged)", run.id.0, run.detector, run.flagged)
}

/// Draws the runs side by side: one column per run (summary, then every metric any of them
/// has, the best value of each metric row in bold), then their score plots linked in x.
pub fn compare_ui(ui: &mut Ui, data: &CompareData) {
    summary_grid_ui(ui, data);
    ui.separator();
    let n = data.sides.len().max(1) as f32;
    let height = ((ui.available_height() - 40.0) / n).clamp(90.0, 220.0);
    let ids: Vec<i64> = data.sides.iter().map(|s| s.summary.id.0).collect();
    let link = egui::Id::unique(("anomdet-compare-link", ids));
    for (i, side) in data.sides.iter().enumerate() {
        score_plot_ui(ui, data, side, i, link, height);
    }
}

/// The rows of the summary table that are not metrics: name and one text per run.
fn summary_rows(side: &CompareSide) -> [(&'static str, String); 5] {
    let s = &side.summary;
    let params = s
        .params
        .as_map()
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ");
    [
        (
            "Parameters",
            if params.is_empty() {
                "defaults".to_owned()
            } else {
                params
            },
        ),
        ("Threshold", s.threshold_json.clone()),
        ("Status", format!("{} ({})", s.status, s.mode)),
        (
            "Flagged",
            format!("{} rows in {} windows", s.flagged, side.flagged_windows()),
        ),
        (
            "Time",
            format!("fit {:.2} s, score {:.2} s", s.fit_secs, s.score_secs),
        ),
    ]
}

/// Every metric name of any run, in first-seen order.
pub fn metric_names(data: &CompareData) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for side in &data.sides {
        for (name, _) in &side.metrics {
            if !names.contains(&name.as_str()) {
                names.push(name);
            }
        }
    }
    names
}

/// Whether a larger value of metric `name` is better (delays, false alarms and errors are
/// better small).
fn higher_is_better(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    !["delay", "false", "fpr", "error", "loss", "secs", "time"]
        .iter()
        .any(|w| name.contains(w))
}

fn summary_grid_ui(ui: &mut Ui, data: &CompareData) {
    let names = metric_names(data);
    egui::ScrollArea::horizontal()
        .id_salt("anomdet-compare-summary-scroll")
        .show(ui, |ui| {
            egui::Grid::new("anomdet-compare-summary")
                .num_columns(data.sides.len() + 1)
                .striped(true)
                .show(ui, |ui| {
                    ui.label("");
                    for side in &data.sides {
                        let s = &side.summary;
                        ui.label(
                            RichText::new(format!("Run #{}: {}", s.id.0, s.detector)).strong(),
                        );
                    }
                    ui.end_row();
                    let rows: Vec<[(&str, String); 5]> =
                        data.sides.iter().map(summary_rows).collect();
                    for r in 0..5 {
                        ui.label(rows.first().map_or("", |row| row[r].0));
                        for row in &rows {
                            ui.label(row[r].1.as_str());
                        }
                        ui.end_row();
                    }
                    for name in &names {
                        ui.label(*name);
                        let values: Vec<Option<f64>> = data
                            .sides
                            .iter()
                            .map(|s| s.metrics.iter().find(|(n, _)| n == name).map(|m| m.1))
                            .collect();
                        let finite = values.iter().flatten().copied().filter(|v| v.is_finite());
                        let best = if higher_is_better(name) {
                            finite.fold(None, |b: Option<f64>, v| Some(b.map_or(v, |b| b.max(v))))
                        } else {
                            finite.fold(None, |b: Option<f64>, v| Some(b.map_or(v, |b| b.min(v))))
                        };
                        for value in values {
                            match value {
                                Some(v) if values_tie(Some(v), best) && data.sides.len() > 1 => {
                                    ui.label(RichText::new(format!("{v:.4}")).strong())
                                        .on_hover_text("best of the compared runs");
                                }
                                Some(v) => {
                                    ui.label(format!("{v:.4}"));
                                }
                                None => {
                                    ui.label(RichText::new("—").weak());
                                }
                            }
                        }
                        ui.end_row();
                    }
                });
        });
    if names.is_empty() {
        ui.label(
            RichText::new("None of these runs was evaluated yet (no metrics stored).")
                .small()
                .weak(),
        );
    }
}

fn values_tie(a: Option<f64>, b: Option<f64>) -> bool {
    matches!((a, b), (Some(a), Some(b)) if (a - b).abs() <= f64::EPSILON * a.abs().max(1.0))
}

fn score_plot_ui(
    ui: &mut Ui,
    data: &CompareData,
    side: &CompareSide,
    index: usize,
    link: egui::Id,
    height: f32,
) {
    let axis = data.axis;
    let x: Vec<f64>;
    let xs: &[f64] = if data.x.len() == side.scores.len() {
        &data.x
    } else {
        x = (0..side.scores.len()).map(|i| i as f64).collect();
        &x
    };
    let (first, last) = match (xs.first(), xs.last()) {
        (Some(&a), Some(&b)) if b > a => (a, b),
        _ => (0.0, 1.0),
    };
    let name = format!("#{} {} score", side.summary.id.0, side.summary.detector);
    Plot::new(("anomdet-compare-plot", index))
        .height(height)
        .link_axis(link, [true, false])
        .link_cursor(link, [true, false])
        .allow_zoom([true, false])
        .allow_scroll([true, false])
        .y_axis_min_width(56.0)
        .x_axis_formatter(move |mark, _| axis.format_mark(mark.value, mark.step_size))
        .show(ui, |plot_ui| {
            let bounds = plot_ui.plot_bounds();
            let (b0, b1) = (bounds.min()[0], bounds.max()[0]);
            let view = if plot_ui.auto_bounds().x || b1 <= b0 {
                (first, last)
            } else {
                (b0, b1)
            };
            let pixels = plot_ui.transform().frame().width().max(100.0);
            for [start, end] in &side.flagged {
                if *end >= view.0 && *start <= view.1 {
                    plot_ui.span(Span::new("", *start..=*end).fill(theme::LABEL_FILL));
                }
            }
            if let Some(grid) = BucketGrid::for_view(view.0, view.1, pixels, (first, last)) {
                let d = decimate_with(xs, &side.scores, &grid, side.pyramid.as_ref());
                for run in &d.runs {
                    plot_ui.line(
                        Line::new(
                            name.as_str(),
                            PlotPoints::from(
                                d.points[run.clone()]
                                    .iter()
                                    .map(|p| [p.x, p.y])
                                    .collect::<Vec<_>>(),
                            ),
                        )
                        .color(theme::series_color(index + 3))
                        .width(theme::LINE_WIDTH),
                    );
                }
            }
        });
}
