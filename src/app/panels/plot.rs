//! The plot panel: the selected dataset's value columns as stacked plots linked in x
//! (zoom/pan in time moves them together), a column picker, and ground-truth shading.
//!
//! Owns the per-column decimation caches; they are dropped when another dataset is shown.

use egui::{RichText, Ui};

use crate::app::command::UiCommand;
use crate::app::plot::png::PngExport;
use crate::app::plot::{ColumnCache, ColumnPlot, PlotData};
use crate::app::state::AppState;
use crate::app::theme;
use crate::engine::Notifier;
use crate::model::format_duration_ns;
use crate::storage::DatasetId;

/// What the plot panel shows this frame.
#[derive(Clone, Copy, Debug)]
pub struct PlotView<'a> {
    /// The plotted dataset, once loaded.
    pub data: Option<&'a PlotData>,
    /// The dataset being loaded, if any.
    pub loading: bool,
    /// Column visibility and label shading.
    pub state: &'a AppState,
}

/// The plot panel's own state: decimation caches for the dataset on screen.
#[derive(Debug, Default)]
pub struct PlotPanel {
    caches: Vec<ColumnCache>,
    cached_for: Option<(DatasetId, usize, i64)>,
    png: PngExport,
}

impl PlotPanel {
    /// Draws the panel's contents.
    pub fn ui(&mut self, ui: &mut Ui, view: PlotView<'_>, cmds: &mut Vec<UiCommand>) {
        let Some(data) = view.data else {
            ui.centered_and_justified(|ui| {
                if view.loading {
                    ui.spinner();
                } else {
                    ui.label(
                        "Select a dataset on the left, or drop CSV files here to import them.",
                    );
                }
            });
            return;
        };
        let key = (data.meta.id, data.rows(), data.meta.created_ms);
        if self.cached_for != Some(key) || self.caches.len() != data.columns.len() {
            self.caches = data
                .columns
                .iter()
                .map(|_| ColumnCache::default())
                .collect();
            self.cached_for = Some(key);
        }
        let save_png = header_ui(ui, data, view, &self.png, cmds);
        let visible: Vec<usize> = (0..data.columns.len())
            .filter(|&i| view.state.column_visible(&data.columns[i].name))
            .collect();
        if visible.is_empty() {
            ui.label("All columns are hidden: tick one above to plot it.");
            return;
        }
        let spacing = ui.spacing().item_spacing.y;
        let available = ui.available_height() - spacing * visible.len() as f32;
        let height = (available / visible.len() as f32).max(theme::MIN_PLOT_HEIGHT);
        let show_labels = view.state.show_labels;
        let plots = egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| {
                for (n, &column) in visible.iter().enumerate() {
                    let last = n + 1 == visible.len();
                    // The bottom plot also carries the x axis labels.
                    let extra = if last { 0.0 } else { -8.0 };
                    ColumnPlot::new(data, column)
                        .height(height + extra)
                        .show_x_axis(last)
                        .show_labels(show_labels)
                        .show(ui, &mut self.caches[column]);
                }
            });
        if save_png || self.png.is_busy() {
            let ctx = ui.ctx().clone();
            let notifier = Notifier::new(move || ctx.request_repaint());
            if save_png {
                self.png.start(&notifier);
            }
            self.png.step(ui.ctx(), plots.inner_rect, &notifier);
        }
    }

    /// The PNG export of the plots (tests drive it with [`PngExport::start_to`]).
    pub fn png_export(&mut self) -> &mut PngExport {
        &mut self.png
    }

    /// Drops the decimated points, so the next frame recomputes them (benches use it to time
    /// the worst case, a frame of a continuous zoom).
    pub fn invalidate_caches(&mut self) {
        self.cached_for = None;
    }

    /// Moves every plot of the dataset on screen to the x range `[x0, x1]` on the next frame
    /// (benches pan and zoom with it; panels can zoom to a detection). Has no effect before
    /// the dataset's first frame.
    pub fn set_x_view(&mut self, x0: f64, x1: f64) {
        for cache in &mut self.caches {
            cache.request_view(x0, x1);
        }
    }

    /// Total decimation recomputations over all columns (benches and tests check caching).
    pub fn recomputations(&self) -> u64 {
        self.caches.iter().map(ColumnCache::recomputations).sum()
    }
}

/// The header; returns true when "Save PNG…" was clicked.
fn header_ui(
    ui: &mut Ui,
    data: &PlotData,
    view: PlotView<'_>,
    png: &PngExport,
    cmds: &mut Vec<UiCommand>,
) -> bool {
    let meta = &data.meta;
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new(format!("Plot: {}", meta.name)).strong());
        let mut facts = vec![format!("{} rows", super::datasets::thousands(meta.rows))];
        if let (Some(start), Some(end)) = (meta.start, meta.end) {
            facts.push(format!("span {}", format_duration_ns(end.0 - start.0)));
        }
        if let Some(step) = meta.step_ns {
            facts.push(format!("step {}", format_duration_ns(step)));
        }
        ui.label(facts.join(" · "));
        if view.loading {
            ui.spinner();
        }
    });
    ui.horizontal_wrapped(|ui| {
        ui.label("Columns:");
        for column in &data.columns {
            let mut visible = view.state.column_visible(&column.name);
            if ui.checkbox(&mut visible, column.name.as_str()).changed() {
                cmds.push(UiCommand::SetColumnVisible {
                    column: column.name.clone(),
                    visible,
                });
            }
        }
        if !data.label_spans.is_empty() {
            ui.separator();
            let mut show = view.state.show_labels;
            let text = RichText::new(format!("Ground truth ({} windows)", data.label_spans.len()))
                .color(theme::LABEL_BORDER);
            if ui.checkbox(&mut show, text).changed() {
                cmds.push(UiCommand::SetLabelsVisible(show));
            }
        }
    });
    ui.horizontal(|ui| {
        ui.label(
            RichText::new("Scroll or drag to zoom and pan in time, double-click to reset.")
                .small()
                .weak(),
        );
        png.button_ui(ui)
    })
    .inner
}

#[cfg(test)]
mod tests {
    use egui_kittest::{Harness, kittest::Queryable as _};

    use super::*;
    use crate::app::fixtures::meta;
    use crate::model::{Column, Series, Timestamp};

    struct State {
        panel: PlotPanel,
        data: PlotData,
        app: AppState,
        cmds: Vec<UiCommand>,
    }

    fn two_column_data() -> PlotData {
        let n = 5_000;
        let ts = (0..n)
            .map(|i| Timestamp(1_700_000_000_000_000_000 + i * 60_000_000_000))
            .collect();
        let a = (0..n).map(|i| (i as f64 / 50.0).sin()).collect();
        let b = (0..n)
            .map(|i| if i % 700 == 0 { f64::NAN } else { i as f64 })
            .collect();
        let labels = (0..n).map(|i| (1000..1010).contains(&i)).collect();
        let series = Series::new(
            ts,
            vec![Column::new("temp", a), Column::new("load", b)],
            Some(labels),
        )
        .unwrap();
        PlotData::new(meta("two", n as usize, &["temp", "load"]), series)
    }

    #[test]
    fn columns_can_be_hidden_and_plots_are_cached_between_frames() {
        let state = State {
            panel: PlotPanel::default(),
            data: two_column_data(),
            app: AppState::default(),
            cmds: Vec::new(),
        };
        let mut harness = Harness::builder().with_size([900.0, 600.0]).build_ui_state(
            |ui, s: &mut State| {
                let view = PlotView {
                    data: Some(&s.data),
                    loading: false,
                    state: &s.app,
                };
                s.panel.ui(ui, view, &mut s.cmds);
            },
            state,
        );
        harness.run_steps(4);
        let after_settle = harness.state().panel.recomputations();
        harness.run_steps(3);
        assert_eq!(
            harness.state().panel.recomputations(),
            after_settle,
            "a still view reuses its decimated points"
        );
        assert!(harness.query_by_label("Plot: two").is_some());
        // The first "load" checkbox is the column picker's; the plot legend has one too.
        harness
            .get_all_by_role_and_label(egui::accesskit::Role::CheckBox, "load")
            .next()
            .unwrap()
            .click();
        harness.run_steps(2);
        assert_eq!(
            harness.state().cmds,
            vec![UiCommand::SetColumnVisible {
                column: "load".to_owned(),
                visible: false
            }]
        );
    }
}
