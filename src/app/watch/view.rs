//! [`LiveView`]: the live plots of the focused stream. One plot per chosen value column, then
//! one per detector (score, online threshold), stacked and linked in x; ground-truth windows
//! shaded (labelled and injected told apart), detections shaded as true or false positives,
//! missed truth windows outlined, with a legend.
//!
//! Follow mode keeps the x range on the newest `follow_rows` rows; any drag, scroll, zoom or
//! double-click on a plot leaves it (free zoom/pan), and "Follow" returns to it. Each frame
//! draws a bounded number of points per line (about two per pixel column, from the
//! [`LiveBuffer`](super::buffer::LiveBuffer) pyramid) and of spans (neighbours closer than a
//! pixel merged), whatever the number of rows received.

use std::ops::Range;

use egui::{Color32, Id, RichText, Ui};
use egui_plot::{Corner, Legend, Line, Plot, PlotPoints, PlotUi, Span};

use super::WatchCommand;
use super::buffer::{LiveBuffer, Runs};
use super::live::LiveData;
use super::stream::{LiveStatus, LiveStream};
use crate::app::command::UiCommand;
use crate::app::plot::TimeAxis;
use crate::app::plot::time_axis::time_grid;
use crate::app::state::AppState;
use crate::app::theme;

/// Widths offered for follow mode, in rows.
pub const FOLLOW_ROWS: [usize; 5] = [500, 2_000, 10_000, 50_000, 200_000];

/// Smallest height of one live plot, in points.
const MIN_HEIGHT: f32 = 90.0;

/// The live plots' state.
#[derive(Clone, Debug)]
pub struct LiveView {
    /// Keep the x range on the newest rows.
    pub follow: bool,
    /// How many of the newest rows follow mode shows.
    pub follow_rows: usize,
    show_all: bool,
    /// Points handed to the plots in the last frame (the bench and tests check the bound).
    pub points_drawn: usize,
    /// Spans handed to the plots in the last frame.
    pub spans_drawn: usize,
}

impl Default for LiveView {
    fn default() -> Self {
        Self {
            follow: true,
            follow_rows: FOLLOW_ROWS[1],
            show_all: false,
            points_drawn: 0,
            spans_drawn: 0,
        }
    }
}

/// What one plot draws.
#[derive(Clone, Copy)]
enum Series<'a> {
    Column(usize),
    Detector(usize, &'a str),
}

impl LiveView {
    /// Draws the header (state, controls, legend) and the stacked plots of `stream`.
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        stream: &LiveStream,
        state: &AppState,
        cmds: &mut Vec<UiCommand>,
    ) {
        header_ui(ui, stream, cmds);
        self.controls_ui(ui);
        legend_ui(ui);
        if let Some(data) = stream.data() {
            self.plots_ui(ui, stream.key(), data, state);
        } else {
            self.points_drawn = 0;
            self.spans_drawn = 0;
            ui.centered_and_justified(|ui| {
                ui.spinner();
            });
        }
    }

    /// Draws the stacked plots of `data` (stream `key`): the chosen value columns, then one
    /// plot per detector.
    pub fn plots_ui(&mut self, ui: &mut Ui, key: u64, data: &LiveData, state: &AppState) {
        self.points_drawn = 0;
        self.spans_drawn = 0;
        let mut plots: Vec<Series<'_>> = (0..data.columns.len())
            .filter(|&c| state.column_visible(&data.columns[c]))
            .map(Series::Column)
            .collect();
        if plots.is_empty() {
            plots = (0..data.columns.len()).map(Series::Column).collect();
        }
        plots.extend(
            data.detectors
                .iter()
                .enumerate()
                .map(|(d, det)| Series::Detector(d, det.id.as_str())),
        );
        let spacing = ui.spacing().item_spacing.y;
        let height = ((ui.available_height() - spacing * plots.len() as f32)
            / plots.len().max(1) as f32)
            .max(MIN_HEIGHT);
        let link = Id::unique(("anomdet-live-link", key));
        let (first, last) = data.x_range();
        let axis = TimeAxis::for_range(first, last);
        let mut touched = false;
        egui::ScrollArea::vertical()
            .id_salt("anomdet-live-scroll")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                for (n, series) in plots.iter().enumerate() {
                    let last_plot = n + 1 == plots.len();
                    let id = match series {
                        Series::Column(c) => ("anomdet-live", key, 0, *c),
                        Series::Detector(d, _) => ("anomdet-live", key, 1, *d),
                    };
                    let plot = Plot::new(id)
                        .height(height - if last_plot { 0.0 } else { 8.0 })
                        .link_axis(link, [true, false])
                        .link_cursor(link, [true, false])
                        .allow_zoom([true, false])
                        .allow_scroll([true, false])
                        .allow_drag([true, false])
                        .allow_boxed_zoom(false)
                        .show_axes([last_plot, true])
                        .y_axis_min_width(56.0)
                        .x_grid_spacer(|input| time_grid(&input))
                        .x_axis_formatter(move |mark, _| {
                            axis.format_mark(mark.value, mark.step_size)
                        })
                        .legend(Legend::default().position(Corner::LeftTop));
                    let response = plot.show(ui, |plot_ui| {
                        self.draw(plot_ui, data, *series, state.show_labels);
                    });
                    let r = &response.response;
                    let wheel = r.hovered()
                        && ui.input(|i| {
                            i.smooth_scroll_delta != egui::Vec2::ZERO
                                || (i.zoom_delta() - 1.0).abs() > f32::EPSILON
                        });
                    touched |= r.dragged() || r.double_clicked() || wheel;
                }
            });
        self.show_all = false;
        if touched {
            self.follow = false;
        }
    }

    /// Leaves follow mode and zooms out to every row received (the "Show all rows" button).
    pub fn show_all(&mut self) {
        self.follow = false;
        self.show_all = true;
    }

    fn controls_ui(&mut self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            ui.checkbox(&mut self.follow, "Follow the stream")
                .on_hover_text("Keep the newest rows in view; drag or zoom a plot to leave");
            egui::ComboBox::from_label("rows in view")
                .selected_text(crate::app::panels::datasets::thousands(self.follow_rows))
                .show_ui(ui, |ui| {
                    for rows in FOLLOW_ROWS {
                        let text = crate::app::panels::datasets::thousands(rows);
                        if ui
                            .selectable_value(&mut self.follow_rows, rows, text)
                            .clicked()
                        {
                            self.follow = true;
                        }
                    }
                });
            if ui
                .button("Show all rows")
                .on_hover_text("Zoom out to every row received (leaves follow mode)")
                .clicked()
            {
                self.show_all();
            }
        });
    }

    /// The x range to draw, after applying follow mode or a "show all" request.
    fn view(&self, plot_ui: &mut PlotUi<'_>, data: &LiveData) -> (f64, f64) {
        let range = data.x_range();
        let n = data.len();
        if self.follow && n > 0 {
            let x0 = data.x[n.saturating_sub(self.follow_rows)];
            let mut x1 = data.x[n - 1];
            if x1 <= x0 {
                x1 = x0 + 1.0;
            }
            let margin = (x1 - x0) * 0.02;
            plot_ui.set_plot_bounds_x(x0..=x1 + margin);
            return (x0, x1 + margin);
        }
        if self.show_all {
            plot_ui.set_plot_bounds_x(range.0..=range.1);
            return range;
        }
        let bounds = plot_ui.plot_bounds();
        let (b0, b1) = (bounds.min()[0], bounds.max()[0]);
        if plot_ui.auto_bounds().x || b1.partial_cmp(&b0) != Some(std::cmp::Ordering::Greater) {
            range
        } else {
            (b0, b1)
        }
    }

    fn draw(
        &mut self,
        plot_ui: &mut PlotUi<'_>,
        data: &LiveData,
        series: Series<'_>,
        labels: bool,
    ) {
        let (x0, x1) = self.view(plot_ui, data);
        let pixels = plot_ui.transform().frame().width().max(100.0);
        let rows = data.rows_in(x0, x1);
        let gap = (rows.len() as f64 / f64::from(pixels)).ceil().max(1.0) as usize;
        // One pyramid cell per one or two pixel columns: about two points per pixel.
        let buckets = ((pixels / 2.0) as usize).max(16);
        let mut spans = SpanDrawer {
            plot_ui,
            data,
            drawn: 0,
        };
        if labels {
            spans.draw(
                &data.truth,
                &rows,
                gap,
                |r| !data.is_injected(r),
                "labelled",
                (theme::LABEL_FILL, theme::LABEL_BORDER, 0.5),
            );
            spans.draw(
                &data.truth,
                &rows,
                gap,
                |r| data.is_injected(r),
                "injected",
                (theme::INJECTED_FILL, theme::INJECTED_BORDER, 0.5),
            );
        }
        let mut y = YRange::default();
        match series {
            Series::Column(c) => {
                let name = data.columns.get(c).map_or("", String::as_str);
                if let Some(buffer) = data.values.get(c) {
                    self.points_drawn += line(
                        spans.plot_ui,
                        data,
                        buffer,
                        &rows,
                        buckets,
                        name,
                        theme::series_color(c),
                        &mut y,
                    );
                }
            }
            Series::Detector(d, id) => {
                let det = &data.detectors[d];
                let detections = &det.detections;
                spans.draw(
                    detections,
                    &rows,
                    gap,
                    |r| data.truth.overlaps(r),
                    "true positive",
                    (theme::HIT_FILL, theme::HIT_FILL, 0.5),
                );
                spans.draw(
                    detections,
                    &rows,
                    gap,
                    |r| !data.truth.overlaps(r),
                    "false positive",
                    (theme::FALSE_FILL, theme::FALSE_FILL, 0.5),
                );
                let open_truth = data.truth.open();
                spans.draw(
                    &data.truth,
                    &rows,
                    1,
                    |r| open_truth.as_ref() != Some(r) && !detections.overlaps(r),
                    "missed",
                    (Color32::TRANSPARENT, theme::MISS_BORDER, 2.0),
                );
                self.points_drawn += line(
                    spans.plot_ui,
                    data,
                    &det.scores,
                    &rows,
                    buckets,
                    &format!("score ({id})"),
                    theme::SCORE_LINE,
                    &mut y,
                );
                self.points_drawn += line(
                    spans.plot_ui,
                    data,
                    &det.thresholds,
                    &rows,
                    buckets,
                    "threshold",
                    theme::THRESHOLD_LINE,
                    &mut y,
                );
            }
        }
        self.spans_drawn += spans.drawn;
        if let Some((lo, hi)) = y.get() {
            let pad = if hi > lo {
                (hi - lo) * 0.06
            } else {
                lo.abs().max(1.0) * 0.1
            };
            spans.plot_ui.set_plot_bounds_y(lo - pad..=hi + pad);
        }
    }
}

/// Lowest and highest y drawn.
#[derive(Default)]
struct YRange(Option<(f64, f64)>);

impl YRange {
    fn add(&mut self, points: &[[f64; 2]]) {
        for p in points {
            self.0 = Some(match self.0 {
                None => (p[1], p[1]),
                Some((lo, hi)) => (lo.min(p[1]), hi.max(p[1])),
            });
        }
    }

    fn get(&self) -> Option<(f64, f64)> {
        self.0
    }
}

/// Draws one decimated line; returns the number of points.
#[expect(
    clippy::too_many_arguments,
    reason = "one call per line kind, all needed"
)]
fn line(
    plot_ui: &mut PlotUi<'_>,
    data: &LiveData,
    buffer: &LiveBuffer,
    rows: &Range<usize>,
    buckets: usize,
    name: &str,
    color: Color32,
    y: &mut YRange,
) -> usize {
    let mut points = Vec::with_capacity(4 * buckets + 64);
    buffer.points_into(&data.x, rows.clone(), buckets, &mut points);
    y.add(&points);
    let n = points.len();
    if n > 0 {
        plot_ui.line(
            Line::new(name, PlotPoints::from(points))
                .color(color)
                .width(theme::LINE_WIDTH),
        );
    }
    n
}

struct SpanDrawer<'p, 'a, 'd> {
    plot_ui: &'p mut PlotUi<'a>,
    data: &'d LiveData,
    drawn: usize,
}

impl SpanDrawer<'_, '_, '_> {
    fn draw(
        &mut self,
        runs: &Runs,
        rows: &Range<usize>,
        gap: usize,
        keep: impl FnMut(&Range<usize>) -> bool,
        name: &str,
        (fill, border, width): (Color32, Color32, f32),
    ) {
        for run in runs.visible(rows, gap, keep) {
            let [a, b] = self.data.span(&run);
            self.plot_ui.span(
                Span::new(name, a..=b)
                    .fill(fill)
                    .border_color(border)
                    .border_width(width),
            );
            self.drawn += 1;
        }
    }
}

fn header_ui(ui: &mut Ui, stream: &LiveStream, cmds: &mut Vec<UiCommand>) {
    let key = stream.key();
    ui.horizontal(|ui| {
        ui.label(RichText::new(&stream.info().title).strong());
        status_label(ui, stream);
        let (rows, total) = (stream.rows(), stream.rows_total());
        if total > 0 {
            let fraction = rows as f32 / total as f32;
            ui.add(
                egui::ProgressBar::new(fraction)
                    .desired_width(160.0)
                    .text(format!(
                        "{} / {} rows",
                        crate::app::panels::datasets::thousands(rows),
                        crate::app::panels::datasets::thousands(total)
                    )),
            );
        }
        if let Some(rate) = stream.rows_per_sec() {
            ui.label(format!("{} rows/s", format_rate(rate)));
        }
        if stream.is_controllable() {
            if stream.status() == LiveStatus::Paused {
                if ui
                    .button("Resume")
                    .on_hover_text("Continue the replay (Space)")
                    .clicked()
                {
                    cmds.push(UiCommand::Watch(WatchCommand::Resume(key)));
                }
            } else if ui
                .button("Pause")
                .on_hover_text("Hold the replay (Space)")
                .clicked()
            {
                cmds.push(UiCommand::Watch(WatchCommand::Pause(key)));
            }
            if ui
                .button("Cancel stream")
                .on_hover_text("Stop now; the rows received so far are kept")
                .clicked()
            {
                cmds.push(UiCommand::Watch(WatchCommand::Cancel(key)));
            }
        }
    });
    if let Some(error) = stream.error() {
        ui.colored_label(theme::ERROR_TEXT, error);
    }
    if let Some(data) = stream.data() {
        ui.horizontal_wrapped(|ui| {
            for (d, det) in data.detectors.iter().enumerate() {
                let (hits, false_alarms, missed) = data.counts(d);
                ui.label(
                    RichText::new(format!(
                        "{}: {} flagged · {hits} hit · {false_alarms} false · {missed} missed",
                        det.id, det.flagged
                    ))
                    .small(),
                );
            }
        });
    }
}

/// The status word, coloured by how it ended.
pub fn status_label(ui: &mut Ui, stream: &LiveStream) {
    let status = stream.status();
    let text = if stream.cancelling() {
        "cancelling".to_owned()
    } else {
        status.label().to_owned()
    };
    let color = match status {
        LiveStatus::Failed => theme::ERROR_TEXT,
        LiveStatus::Cancelled | LiveStatus::Paused => theme::WARNING_TEXT,
        _ => ui.visuals().text_color(),
    };
    ui.label(RichText::new(text).color(color).strong());
}

/// A throughput with thousands grouped.
pub fn format_rate(rate: f64) -> String {
    if rate >= 10.0 {
        crate::app::panels::datasets::thousands(rate.round() as usize)
    } else {
        format!("{rate:.1}")
    }
}

fn legend_ui(ui: &mut Ui) {
    ui.horizontal_wrapped(|ui| {
        let swatch = |ui: &mut Ui, color: Color32, text: &str| {
            let (rect, _) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
            ui.painter().rect_filled(rect, 2.0, color);
            ui.label(RichText::new(text).small());
        };
        swatch(ui, theme::LABEL_BORDER, "labelled window");
        swatch(ui, theme::INJECTED_BORDER, "injected window");
        swatch(ui, theme::HIT_FILL, "true positive");
        swatch(ui, theme::FALSE_FILL, "false positive");
        swatch(ui, theme::MISS_BORDER, "missed (outlined)");
        swatch(ui, theme::SCORE_LINE, "score");
        swatch(ui, theme::THRESHOLD_LINE, "threshold");
    });
}
