//! The comparison window: two stored runs of one dataset side by side (detector, parameters,
//! threshold, flagged rows, timings and metrics in two columns; their score plots stacked and
//! linked in x, flagged rows shaded), and below them the robustness matrix as a heatmap when
//! one was computed.
//!
//! Owns its workers: listing the dataset's runs and loading the two picked runs (scores, the
//! dataset's timestamps, a min/max pyramid per score vector, so a 10M-row run pans as freely
//! as the data plot). Opened from the top bar or by [`ComparePanel::compare`] from a runs list.

use egui::{RichText, Ui};
use egui_plot::{Line, Plot, PlotPoints, Span};

use crate::app::plot::{BucketGrid, MinMaxPyramid, TimeAxis, decimate_with};
use crate::app::theme;
use crate::app::widgets::heatmap::{HeatmapData, heatmap_ui};
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

/// Both runs and the x axis they share.
#[derive(Clone, Debug)]
pub struct CompareData {
    /// The x of every row, seconds since the epoch (row numbers if the dataset is gone).
    pub x: Vec<f64>,
    /// How to label x.
    pub axis: TimeAxis,
    /// The two runs, left and right.
    pub sides: [CompareSide; 2],
}

impl CompareData {
    /// Both runs over the dataset's timestamps.
    pub fn new(a: RunRecord, b: RunRecord, timestamps: &[Timestamp]) -> Self {
        let x: Vec<f64> = timestamps.iter().map(|t| t.as_secs_f64()).collect();
        let axis = match (x.first(), x.last()) {
            (Some(&first), Some(&last)) => TimeAxis::for_range(first, last),
            _ => TimeAxis::Elapsed,
        };
        let sides = [CompareSide::new(a, &x), CompareSide::new(b, &x)];
        Self { x, axis, sides }
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
    picks: [Option<RunId>; 2],
    loading: Option<([RunId; 2], Task<CompareData>)>,
    data: Option<CompareData>,
    robustness: Option<HeatmapData>,
    error: Option<String>,
    failed: Option<[RunId; 2]>,
}

impl ComparePanel {
    /// Opens the window on `dataset`'s runs (listing them on a worker when it changed).
    pub fn show_dataset(&mut self, engine: &Engine, notifier: &Notifier, dataset: DatasetId) {
        self.open = true;
        if self.dataset != Some(dataset) {
            *self = Self {
                open: true,
                robustness: self.robustness.take(),
                ..Self::default()
            };
            self.dataset = Some(dataset);
        }
        // Listed again on every opening: runs may have been stored since.
        if self.listing.is_none() {
            self.refresh(engine, notifier);
        }
    }

    /// Opens the window comparing runs `a` and `b` of `dataset`.
    pub fn compare(
        &mut self,
        engine: &Engine,
        notifier: &Notifier,
        dataset: DatasetId,
        runs: [RunId; 2],
    ) {
        self.show_dataset(engine, notifier, dataset);
        self.picks = [Some(runs[0]), Some(runs[1])];
        self.load(engine, notifier);
    }

    /// Shows two already loaded runs (tests, and callers that hold the records).
    pub fn set_data(&mut self, data: CompareData) {
        self.open = true;
        self.picks = [
            Some(data.sides[0].summary.id),
            Some(data.sides[1].summary.id),
        ];
        self.data = Some(data);
    }

    /// Sets (or clears) the robustness matrix shown under the runs.
    pub fn set_robustness(&mut self, matrix: Option<HeatmapData>) {
        self.robustness = matrix;
    }

    /// The loaded comparison, if any.
    pub fn data(&self) -> Option<&CompareData> {
        self.data.as_ref()
    }

    /// True while runs are listed or loaded.
    pub fn is_busy(&self) -> bool {
        self.listing.is_some() || self.loading.is_some()
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
        let [Some(a), Some(b)] = self.picks else {
            return;
        };
        if self.failed == Some([a, b]) {
            return;
        }
        if self.loading.as_ref().is_some_and(|(ids, _)| *ids == [a, b])
            || self
                .data
                .as_ref()
                .is_some_and(|d| [d.sides[0].summary.id, d.sides[1].summary.id] == [a, b])
        {
            return;
        }
        let engine = engine.clone();
        match Task::spawn("compare-load", notifier.clone(), move |_, _| {
            let (ra, rb) = (engine.run(a)?, engine.run(b)?);
            let timestamps = engine
                .load_series(ra.summary.dataset)
                .map(|s| s.timestamps().to_vec())
                .unwrap_or_default();
            Ok(CompareData::new(ra, rb, &timestamps))
        }) {
            Ok(task) => self.loading = Some(([a, b], task)),
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
                    if self.picks == [None, None] {
                        // Newest two first, so opening the window shows something at once.
                        let mut newest: Vec<&RunSummary> = runs.iter().collect();
                        newest.sort_by_key(|r| std::cmp::Reverse((r.created_ms, r.id.0)));
                        self.picks = [newest.get(1).map(|r| r.id), newest.first().map(|r| r.id)];
                    }
                    self.runs = runs;
                }
                Err(error) => self.error = Some(format!("Could not list the runs: {error}")),
            }
        }
        if let Some((ids, task)) = &mut self.loading
            && let Some(result) = task.poll()
        {
            let ids = *ids;
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

    /// Draws the window when open and collects finished work.
    pub fn show(&mut self, ctx: &egui::Context, engine: &Engine, notifier: &Notifier) {
        self.poll();
        if !self.open {
            return;
        }
        let mut open = true;
        egui::Window::new("Compare runs")
            .open(&mut open)
            .default_size([900.0, 560.0])
            .show(ctx, |ui| self.ui(ui, engine, notifier));
        if !open {
            self.open = false;
        }
    }

    /// The window's contents (tests call it inside a harness).
    pub fn ui(&mut self, ui: &mut Ui, engine: &Engine, notifier: &Notifier) {
        self.poll();
        if !self.runs.is_empty() {
            let before = self.picks;
            ui.horizontal(|ui| {
                for (side, name) in [(0, "Left run"), (1, "Right run")] {
                    self.pick_ui(ui, side, name);
                }
            });
            if self.picks != before {
                self.failed = None;
            }
            // Idempotent: starts only when the picked pair is neither loaded, loading, nor
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
        egui::CollapsingHeader::new("Robustness matrix")
            .default_open(self.robustness.is_some())
            .show(ui, |ui| match &self.robustness {
                Some(matrix) => {
                    heatmap_ui(ui, matrix);
                }
                None => {
                    ui.label("No robustness matrix computed yet (`anomdet robustness`).");
                }
            });
    }

    fn pick_ui(&mut self, ui: &mut Ui, side: usize, name: &str) {
        let current = self.picks[side]
            .and_then(|id| self.runs.iter().find(|r| r.id == id))
            .map_or_else(|| "choose…".to_owned(), run_title);
        ui.label(name);
        egui::ComboBox::from_id_salt(("anomdet-compare-pick", side))
            .selected_text(current)
            .width(260.0)
            .show_ui(ui, |ui| {
                for run in &self.runs {
                    ui.selectable_value(&mut self.picks[side], Some(run.id), run_title(run));
                }
            });
    }
}

fn run_title(run: &RunSummary) -> String {
    format!("#{} {} ({} flagged)", run.id.0, run.detector, run.flagged)
}

/// Draws two runs side by side: summaries in two columns, then both score plots linked in x.
pub fn compare_ui(ui: &mut Ui, data: &CompareData) {
    ui.columns(2, |columns| {
        for (ui, side) in columns.iter_mut().zip(&data.sides) {
            summary_ui(ui, side);
        }
    });
    ui.separator();
    let height = ((ui.available_height() - 140.0) / 2.0).clamp(90.0, 260.0);
    let link = egui::Id::unique((
        "anomdet-compare-link",
        data.sides[0].summary.id.0,
        data.sides[1].summary.id.0,
    ));
    for (i, side) in data.sides.iter().enumerate() {
        score_plot_ui(ui, data, side, i, link, height);
    }
}

fn summary_ui(ui: &mut Ui, side: &CompareSide) {
    let s = &side.summary;
    ui.heading(format!("Run #{}: {}", s.id.0, s.detector));
    egui::Grid::new(("anomdet-compare-summary", s.id.0))
        .num_columns(2)
        .striped(true)
        .show(ui, |ui| {
            let params = s
                .params
                .as_map()
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ");
            let rows: Vec<(&str, String)> = vec![
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
            ];
            for (name, value) in rows {
                ui.label(name);
                ui.label(value);
                ui.end_row();
            }
            for (name, value) in &side.metrics {
                ui.label(name.as_str());
                ui.label(format!("{value:.4}"));
                ui.end_row();
            }
        });
    if side.metrics.is_empty() {
        ui.label(RichText::new("Not evaluated yet.").small().weak());
    }
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
