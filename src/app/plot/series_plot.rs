//! One value column as an `egui_plot` [`Plot`]: decimated line(s), ground-truth spans, a
//! date/time x axis, x-only zoom and pan (linked with the other stacked plots) and a y range
//! that follows the visible data.
//!
//! The decimated points live in a [`ColumnCache`] owned by the caller and are lent to `egui_plot`
//! with `PlotPoints::Borrowed`, so a frame that does not move the view copies nothing.

use egui::{Id, Response, Ui};
use egui_plot::{Corner, Legend, Line, Plot, PlotPoints, PlotUi, Span};

use super::PlotData;
use super::decimate::{BucketGrid, Decimated, decimate_with};
use super::time_axis::time_grid;
use crate::app::theme;

/// Pixel count assumed before a plot has been laid out once.
const FALLBACK_PIXELS: f32 = 1000.0;

/// The decimated points of one column for the current zoom level, recomputed only when the
/// view leaves the cached range or the zoom level changes (see [`BucketGrid`]).
#[derive(Debug, Default)]
pub struct ColumnCache {
    grid: Option<BucketGrid>,
    decimated: Decimated,
    recomputed: u64,
    pending_view: Option<(f64, f64)>,
}

impl ColumnCache {
    /// The points to draw for the view `[x0, x1]` on `pixels` pixel columns.
    pub fn points(
        &mut self,
        data: &PlotData,
        column: usize,
        view: (f64, f64),
        pixels: f32,
    ) -> &Decimated {
        let range = data.x_range();
        let needed = BucketGrid::needed(view.0, view.1, pixels, range);
        let hit = match (needed, self.grid) {
            (Some(needed), Some(cached)) => cached.covers(&needed),
            _ => false,
        };
        if !hit {
            let grid = BucketGrid::for_view(view.0, view.1, pixels, range)
                .or_else(|| BucketGrid::for_view(range.0, range.1, FALLBACK_PIXELS, range));
            let values = data.columns.get(column).map_or(&[][..], |c| &c.values[..]);
            self.decimated = grid
                .map(|g| decimate_with(&data.x, values, &g, data.pyramid(column)))
                .unwrap_or_default();
            self.grid = grid;
            self.recomputed += 1;
        }
        &self.decimated
    }

    /// How many times the points were recomputed (tests and benches check caching with it).
    pub fn recomputations(&self) -> u64 {
        self.recomputed
    }

    /// Moves the plot's x range to `[x0, x1]` on its next frame (zoom to a detection, follow
    /// a stream, benches that pan). Ignored unless `x0 < x1`.
    pub fn request_view(&mut self, x0: f64, x1: f64) {
        if x0 < x1 {
            self.pending_view = Some((x0, x1));
        }
    }
}

/// Builder for the plot of one column.
#[derive(Clone, Copy, Debug)]
pub struct ColumnPlot<'a> {
    data: &'a PlotData,
    column: usize,
    height: f32,
    show_x_axis: bool,
    show_labels: bool,
}

impl<'a> ColumnPlot<'a> {
    /// The plot of column `column` of `data`.
    pub fn new(data: &'a PlotData, column: usize) -> Self {
        Self {
            data,
            column,
            height: theme::MIN_PLOT_HEIGHT,
            show_x_axis: true,
            show_labels: true,
        }
    }

    /// Height in points.
    #[must_use]
    pub fn height(mut self, height: f32) -> Self {
        self.height = height;
        self
    }

    /// Whether to draw the x axis (only the bottom plot of a stack does).
    #[must_use]
    pub fn show_x_axis(mut self, show: bool) -> Self {
        self.show_x_axis = show;
        self
    }

    /// Whether to shade ground-truth windows.
    #[must_use]
    pub fn show_labels(mut self, show: bool) -> Self {
        self.show_labels = show;
        self
    }

    /// The id group that links the x axes (and cursors) of the plots of one dataset. A new
    /// dataset gets a new group, so it opens fully zoomed out.
    pub fn link_group(data: &PlotData) -> Id {
        Id::unique(("anomdet-plot-link", data.meta.id.0, data.rows()))
    }

    /// Draws the plot. Requests another frame when the view moved past the cached points, so
    /// the next frame draws at the right resolution.
    pub fn show(self, ui: &mut Ui, cache: &mut ColumnCache) -> Response {
        let Self {
            data,
            column,
            height,
            show_x_axis,
            show_labels,
        } = self;
        let link = Self::link_group(data);
        let axis = data.axis;
        let name = data
            .columns
            .get(column)
            .map_or_else(String::new, |c| c.name.clone());
        let plot = Plot::new(("anomdet-column", data.meta.id.0, column))
            .height(height)
            .link_axis(link, [true, false])
            .link_cursor(link, [true, false])
            .allow_zoom([true, false])
            .allow_scroll([true, false])
            .allow_drag([true, false])
            .show_axes([show_x_axis, true])
            .y_axis_min_width(56.0)
            .x_grid_spacer(|input| time_grid(&input))
            .x_axis_formatter(move |mark, _| axis.format_mark(mark.value, mark.step_size))
            .label_formatter(move |hover| Some(hover_text(axis, hover)))
            .legend(Legend::default().position(Corner::LeftTop));
        let response = plot.show(ui, |plot_ui| {
            draw_items(plot_ui, data, column, &name, cache, show_labels);
        });
        let bounds = response.transform.bounds();
        let pixels = response.transform.frame().width();
        let needed = BucketGrid::needed(bounds.min()[0], bounds.max()[0], pixels, data.x_range());
        if needed.is_some_and(|n| !cache.grid.is_some_and(|g| g.covers(&n))) {
            ui.ctx().request_repaint();
        }
        response.response
    }
}

fn draw_items<'a>(
    plot_ui: &mut PlotUi<'a>,
    data: &'a PlotData,
    column: usize,
    name: &str,
    cache: &'a mut ColumnCache,
    show_labels: bool,
) {
    let range = data.x_range();
    let bounds = plot_ui.plot_bounds();
    let (mut b0, mut b1) = (bounds.min()[0], bounds.max()[0]);
    let requested = cache.pending_view.take();
    if let Some((x0, x1)) = requested {
        plot_ui.set_plot_bounds_x(x0..=x1);
        (b0, b1) = (x0, x1);
    }
    let view = if (plot_ui.auto_bounds().x && requested.is_none())
        || b1.partial_cmp(&b0) != Some(std::cmp::Ordering::Greater)
        || b1 < range.0
        || b0 > range.1
    {
        range
    } else {
        (b0, b1)
    };
    let pixels = plot_ui.transform().frame().width();
    let pixels = if pixels >= 1.0 {
        pixels
    } else {
        FALLBACK_PIXELS
    };
    if show_labels && !data.label_spans.is_empty() {
        let min_gap = (view.1 - view.0) / f64::from(pixels);
        for [start, end] in data.visible_label_spans(view.0, view.1, min_gap) {
            plot_ui.span(
                Span::new("", start..=end)
                    .fill(theme::LABEL_FILL)
                    .border_color(theme::LABEL_BORDER)
                    .border_width(0.5),
            );
        }
    }
    let decimated: &'a Decimated = cache.points(data, column, view, pixels);
    let color = theme::series_color(column);
    for run in &decimated.runs {
        let points = &decimated.points[run.clone()];
        plot_ui.line(
            Line::new(name, PlotPoints::Borrowed(points))
                .color(color)
                .width(theme::LINE_WIDTH),
        );
    }
    if let Some((lo, hi)) = decimated.y_range(view.0, view.1) {
        let pad = if hi > lo {
            (hi - lo) * 0.06
        } else {
            lo.abs().max(1.0) * 0.1
        };
        plot_ui.set_plot_bounds_y(lo - pad..=hi + pad);
    }
}

fn hover_text(axis: super::TimeAxis, hover: &egui_plot::HoverPosition<'_>) -> String {
    match hover {
        egui_plot::HoverPosition::NearDataPoint {
            plot_name,
            position,
            ..
        } => format!(
            "{plot_name}: {}\n{}",
            format_value(position.y),
            axis.format_point(position.x)
        ),
        egui_plot::HoverPosition::Elsewhere { position } => axis.format_point(position.x),
    }
}

/// A value with about five significant digits, without trailing noise.
fn format_value(v: f64) -> String {
    if v != 0.0 && (v.abs() >= 1e6 || v.abs() < 1e-3) {
        format!("{v:.4e}")
    } else {
        let text = format!("{v:.4}");
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::fixtures::meta;
    use crate::model::Series;

    #[test]
    fn cache_is_reused_while_panning_and_rebuilt_on_zoom() {
        let series = crate::testing::seasonal_series(100_000, 500, 0.1, 3);
        let data = PlotData::new(meta("s", 100_000, &["value"]), series);
        let mut cache = ColumnCache::default();
        cache.points(&data, 0, (10_000.0, 20_000.0), 800.0);
        cache.points(&data, 0, (11_000.0, 21_000.0), 800.0);
        assert_eq!(cache.recomputations(), 1);
        cache.points(&data, 0, (10_000.0, 12_000.0), 800.0);
        assert_eq!(cache.recomputations(), 2);
    }

    #[test]
    fn values_read_well() {
        assert_eq!(format_value(1.5), "1.5");
        assert_eq!(format_value(0.0), "0");
        assert_eq!(format_value(12_345_678.0), "1.2346e7");
        let data = PlotData::new(meta("s", 3, &["v"]), Series::from_values("v", vec![1.0; 3]));
        assert_eq!(data.columns.len(), 1);
    }
}
