//! The results area under the data plot. On the Inject tab: the injection preview (original
//! and injected values of the target columns, injected windows shaded) where dragging across
//! the plot places the window. Otherwise: one score plot per opened run, linked in x with the
//! data plots, with its threshold line and a threshold slider (re-thresholds without
//! re-scoring), detections shaded as true positives or false positives, missed truth windows
//! outlined, labelled and injected truth windows told apart; then the judge section.

use std::ops::Range;

use egui::{RichText, Ui};
use egui_plot::{Corner, HLine, Legend, Line, Plot, PlotPoints, PlotUi, Span};

use super::judge::judge_ui;
use crate::app::command::UiCommand;
use crate::app::flow::{FlowCommand, Preview, RunView, Truth};
use crate::app::plot::time_axis::time_grid;
use crate::app::plot::{ColumnPlot, PlotData};
use crate::app::theme;
use crate::app::widgets::trace::TraceCache;

/// Height of one score or preview plot, in points.
const PLOT_HEIGHT: f32 = 130.0;

/// Most columns previewed at once.
const MAX_PREVIEW_COLUMNS: usize = 3;

/// The results area's own state: line caches of the preview and the drag in progress.
#[derive(Debug, Default)]
pub struct ResultsPanel {
    preview_traces: Vec<(TraceCache, TraceCache)>,
    drag_from: Option<f64>,
    drag_to: Option<f64>,
}

/// What the preview plot shows.
#[derive(Clone, Debug)]
pub struct PreviewView<'a> {
    /// The data on the plots above (x axis, link group).
    pub data: &'a PlotData,
    /// The same dataset, loaded.
    pub truth: &'a Truth,
    /// The last computed preview.
    pub preview: Option<&'a Preview>,
    /// Columns the injection targets (indices).
    pub columns: &'a [usize],
    /// The row window being placed, when placing by rows.
    pub target: Option<Range<usize>>,
}

impl ResultsPanel {
    /// Draws the injection preview.
    pub fn preview_ui(&mut self, ui: &mut Ui, view: &PreviewView<'_>, cmds: &mut Vec<UiCommand>) {
        ui.horizontal(|ui| {
            ui.label(RichText::new("Injection preview").strong());
            ui.label(
                RichText::new(
                    "grey: original · colour: injected · drag across a plot to place the window",
                )
                .small()
                .weak(),
            );
        });
        let columns: Vec<usize> = view
            .columns
            .iter()
            .copied()
            .take(MAX_PREVIEW_COLUMNS)
            .collect();
        self.preview_traces
            .resize_with(columns.len(), Default::default);
        let mut dragged = None;
        for (n, &column) in columns.iter().enumerate() {
            let (orig_cache, new_cache) = &mut self.preview_traces[n];
            let Some(original) = view.truth.series.columns().get(column) else {
                continue;
            };
            let injected = view.preview.and_then(|p| p.column(column));
            let windows = view.preview.map_or(&[][..], |p| &p.windows[..]);
            let drag = match (self.drag_from, self.drag_to) {
                (Some(a), Some(b)) => Some([a.min(b), a.max(b)]),
                _ => None,
            };
            let name = original.name.clone();
            let response = base_plot(view.data, ("anomdet-preview", column))
                .allow_drag([false, false])
                .show(ui, |plot_ui| {
                    let (x0, x1, pixels) = visible(plot_ui, view.data);
                    for w in visible_rows(windows, view.truth, x0, x1) {
                        plot_ui.span(
                            Span::new("injected", view.truth.span(w)[0]..=view.truth.span(w)[1])
                                .fill(theme::INJECTED_FILL)
                                .border_color(theme::INJECTED_BORDER)
                                .border_width(0.5),
                        );
                    }
                    if let Some(target) = &view.target {
                        let [a, b] = view.truth.span(target);
                        plot_ui.span(
                            Span::new("target", a..=b)
                                .fill(theme::TARGET_FILL)
                                .border_color(theme::TARGET_BORDER)
                                .border_width(1.0),
                        );
                    }
                    if let Some([a, b]) = drag {
                        plot_ui.span(Span::new("placing", a..=b).fill(theme::TARGET_FILL));
                    }
                    let points =
                        orig_cache.points(&view.truth.x, &original.values, (x0, x1), pixels);
                    plot_ui.line(
                        Line::new(
                            format!("{name} (original)"),
                            PlotPoints::from(points.to_vec()),
                        )
                        .color(theme::ORIGINAL_LINE)
                        .width(theme::LINE_WIDTH),
                    );
                    if let Some(values) = injected {
                        let points = new_cache.points(&view.truth.x, values, (x0, x1), pixels);
                        plot_ui.line(
                            Line::new(
                                format!("{name} (injected)"),
                                PlotPoints::from(points.to_vec()),
                            )
                            .color(theme::series_color(column))
                            .width(theme::LINE_WIDTH),
                        );
                    }
                });
            let r = &response.response;
            let x_at = |pos: egui::Pos2| response.transform.value_from_position(pos).x;
            if r.drag_started()
                && let Some(pos) = r.interact_pointer_pos()
            {
                self.drag_from = Some(x_at(pos));
            }
            if r.dragged()
                && let Some(pos) = r.interact_pointer_pos()
            {
                self.drag_to = Some(x_at(pos));
            }
            if r.drag_stopped() {
                if let (Some(a), Some(b)) = (self.drag_from, self.drag_to) {
                    dragged = Some((a.min(b), a.max(b)));
                }
                self.drag_from = None;
                self.drag_to = None;
            }
        }
        if let Some((a, b)) = dragged {
            let start = view.truth.row_at(a);
            let end = view.truth.row_at(b).max(start);
            cmds.push(UiCommand::Flow(FlowCommand::SetInjectRange {
                start,
                length: end - start + 1,
            }));
        }
    }

    /// Draws the opened runs and the judge section.
    pub fn runs_ui(
        &mut self,
        ui: &mut Ui,
        data: &PlotData,
        truth: &Truth,
        views: &mut [RunView],
        show_labels: bool,
        cmds: &mut Vec<UiCommand>,
    ) {
        egui::ScrollArea::vertical()
            .id_salt("anomdet-results")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                for view in views.iter_mut() {
                    run_header_ui(ui, view, cmds);
                    score_plot_ui(ui, data, truth, view, show_labels, cmds);
                }
                ui.separator();
                judge_ui(ui, truth, views, cmds);
            });
    }
}

fn run_header_ui(ui: &mut Ui, view: &RunView, cmds: &mut Vec<UiCommand>) {
    let id = view.id();
    ui.horizontal(|ui| {
        ui.label(RichText::new(format!("#{id} {}", view.summary.detector)).strong())
            .on_hover_text(view.summary.params.summary());
        match (view.score_range, view.threshold) {
            (Some((lo, hi)), Some(mut t)) if hi > lo => {
                let slider = egui::Slider::new(&mut t, lo..=hi).text(format!("threshold #{id}"));
                let response = ui.add(slider).on_hover_text(
                    "Rows scoring at or above it are flagged; moving it never re-scores",
                );
                // Only a user's move counts: the slider may round a value it merely shows.
                let touched = response.dragged()
                    || response.drag_stopped()
                    || response.clicked()
                    || response.has_focus();
                if response.changed() && touched {
                    cmds.push(UiCommand::Flow(FlowCommand::SetThreshold {
                        run: id,
                        value: t,
                    }));
                }
            }
            _ => {
                ui.label(RichText::new("no finite score: nothing to threshold").weak());
            }
        }
        let hits = view.detections.iter().filter(|d| d.hit).count();
        ui.label(format!(
            "{} flagged · {hits} hit · {} false · {} missed",
            view.flagged(),
            view.detections.len() - hits,
            view.missed.len()
        ));
        if ui.small_button(format!("Close #{id}")).clicked() {
            cmds.push(UiCommand::Flow(FlowCommand::CloseRun(id)));
        }
    });
}

fn base_plot(data: &PlotData, id: impl std::hash::Hash + std::fmt::Debug) -> Plot<'static> {
    let link = ColumnPlot::link_group(data);
    let axis = data.axis;
    Plot::new(id)
        .height(PLOT_HEIGHT)
        .link_axis(link, [true, false])
        .link_cursor(link, [true, false])
        .allow_zoom([true, false])
        .allow_scroll([true, false])
        .allow_drag([true, false])
        .allow_boxed_zoom(false)
        .y_axis_min_width(56.0)
        .x_grid_spacer(|input| time_grid(&input))
        .x_axis_formatter(move |mark, _| axis.format_mark(mark.value, mark.step_size))
        .legend(Legend::default().position(Corner::LeftTop))
}

/// The visible x range (the whole series until the plot has bounds) and the pixel width.
fn visible(plot_ui: &PlotUi<'_>, data: &PlotData) -> (f64, f64, f32) {
    let range = data.x_range();
    let bounds = plot_ui.plot_bounds();
    let (b0, b1) = (bounds.min()[0], bounds.max()[0]);
    let pixels = plot_ui.transform().frame().width().max(100.0);
    if plot_ui.auto_bounds().x || b1 <= b0 || b1 < range.0 || b0 > range.1 {
        (range.0, range.1, pixels)
    } else {
        (b0, b1, pixels)
    }
}

/// The windows of a sorted list that intersect `[x0, x1]`.
fn visible_rows<'a>(
    windows: &'a [Range<usize>],
    truth: &'a Truth,
    x0: f64,
    x1: f64,
) -> impl Iterator<Item = &'a Range<usize>> + 'a {
    let first = windows.partition_point(|w| truth.span(w)[1] < x0);
    windows[first..]
        .iter()
        .take_while(move |w| truth.span(w)[0] <= x1)
}

fn score_plot_ui(
    ui: &mut Ui,
    data: &PlotData,
    truth: &Truth,
    view: &mut RunView,
    show_labels: bool,
    cmds: &mut Vec<UiCommand>,
) {
    let id = view.id();
    let (lo, hi) = view.score_range.unwrap_or((0.0, 1.0));
    let pad = if hi > lo { (hi - lo) * 0.06 } else { 1.0 };
    let hits: Vec<Range<usize>> = view
        .detections
        .iter()
        .filter(|d| d.hit)
        .map(|d| d.rows.clone())
        .collect();
    let false_alarms: Vec<Range<usize>> = view
        .detections
        .iter()
        .filter(|d| !d.hit)
        .map(|d| d.rows.clone())
        .collect();
    let selected = view
        .selected
        .and_then(|i| view.detections.get(i))
        .map(|d| d.rows.clone());
    let (labelled, injected): (Vec<Range<usize>>, Vec<Range<usize>>) = truth
        .truth_rows
        .iter()
        .cloned()
        .partition(|w| !truth.is_injected(w));
    let RunView {
        scores,
        threshold,
        missed,
        trace,
        summary,
        ..
    } = view;
    let response = base_plot(data, ("anomdet-score", id.0)).show(ui, |plot_ui| {
        let (x0, x1, pixels) = visible(plot_ui, data);
        let mut spans = |rows: &[Range<usize>], name: &str, fill, border, width: f32| {
            for w in visible_rows(rows, truth, x0, x1) {
                let [a, b] = truth.span(w);
                plot_ui.span(
                    Span::new(name, a..=b)
                        .fill(fill)
                        .border_color(border)
                        .border_width(width),
                );
            }
        };
        if show_labels {
            spans(
                &labelled,
                "labelled",
                theme::LABEL_FILL,
                theme::LABEL_BORDER,
                0.5,
            );
            spans(
                &injected,
                "injected",
                theme::INJECTED_FILL,
                theme::INJECTED_BORDER,
                0.5,
            );
        }
        spans(
            &hits,
            "true positive",
            theme::HIT_FILL,
            theme::HIT_FILL,
            0.5,
        );
        spans(
            &false_alarms,
            "false positive",
            theme::FALSE_FILL,
            theme::FALSE_FILL,
            0.5,
        );
        spans(
            missed,
            "missed",
            egui::Color32::TRANSPARENT,
            theme::MISS_BORDER,
            2.0,
        );
        if let Some(rows) = &selected {
            spans(
                std::slice::from_ref(rows),
                "selected",
                egui::Color32::TRANSPARENT,
                theme::SELECTED_BORDER,
                2.0,
            );
        }
        let points = trace.points(&truth.x, scores, (x0, x1), pixels);
        plot_ui.line(
            Line::new(
                format!("score ({})", summary.detector),
                PlotPoints::from(points.to_vec()),
            )
            .color(theme::SCORE_LINE)
            .width(theme::LINE_WIDTH),
        );
        if let Some(t) = *threshold {
            plot_ui.hline(HLine::new("threshold", t).color(theme::THRESHOLD_LINE));
        }
        plot_ui.set_plot_bounds_y(lo - pad..=hi + pad);
    });
    let r = &response.response;
    if r.clicked()
        && let Some(pos) = r.interact_pointer_pos()
    {
        let x = response.transform.value_from_position(pos).x;
        let tolerance = response.transform.dvalue_dpos()[0].abs() * 4.0;
        let index = view.detections.iter().position(|d| {
            let [a, b] = truth.span(&d.rows);
            x >= a - tolerance && x <= b + tolerance
        });
        cmds.push(UiCommand::Flow(FlowCommand::SelectDetection {
            run: id,
            index,
        }));
    }
}
