//! The judge section under the score plots: the metrics table (one row per opened run at its
//! current threshold, each followed by the random-score baseline at the same alarm budget),
//! the detections of each run with per-column attribution of the selected one, and the
//! export buttons (scores CSV, report Markdown/JSON) of each run.

use egui::{RichText, Ui};

use crate::app::command::UiCommand;
use crate::app::flow::report::{METRIC_HEADERS, PA_NOTE, metric_cells};
use crate::app::flow::run_view::Attribution;
use crate::app::flow::{ExportFormat, FlowCommand, RunView, Truth};

/// Draws the judge section.
pub fn judge_ui(ui: &mut Ui, truth: &Truth, views: &[RunView], cmds: &mut Vec<UiCommand>) {
    ui.label(RichText::new("Metrics at the current thresholds").strong());
    egui::Grid::new("anomdet-metrics")
        .striped(true)
        .num_columns(METRIC_HEADERS.len() + 2)
        .show(ui, |ui| {
            ui.label(RichText::new("Run").strong());
            for header in METRIC_HEADERS {
                ui.label(RichText::new(header).strong());
            }
            ui.label(RichText::new("flagged").strong());
            ui.end_row();
            for view in views {
                metrics_rows_ui(ui, view);
            }
        });
    ui.label(RichText::new(PA_NOTE).small().weak());
    for view in views {
        ui.separator();
        detections_ui(ui, truth, view, cmds);
        export_ui(ui, view, cmds);
    }
}

fn metrics_rows_ui(ui: &mut Ui, view: &RunView) {
    let id = view.id();
    ui.horizontal(|ui| {
        ui.label(format!("#{id} {}", view.summary.detector));
        if !view.metrics_current() && view.eval_error.is_none() {
            ui.spinner();
        }
    });
    if let Some(error) = &view.eval_error {
        ui.label(RichText::new(error).color(crate::app::theme::WARNING_TEXT));
        ui.end_row();
        return;
    }
    let Some((_, report)) = &view.report else {
        ui.label(RichText::new("computing…").weak());
        ui.end_row();
        return;
    };
    for cell in metric_cells(&report.metrics) {
        ui.label(cell);
    }
    ui.label(format!("{} / {}", report.flagged_rows, report.rows));
    ui.end_row();
    if let Some(baselines) = &report.baselines {
        ui.label(RichText::new("   random baseline").weak());
        for cell in metric_cells(&baselines.random) {
            ui.label(RichText::new(cell).weak());
        }
        ui.label(RichText::new("same budget").weak());
        ui.end_row();
    }
}

fn detection_text(truth: &Truth, view: &RunView, index: usize) -> String {
    let Some(d) = view.detections.get(index) else {
        return String::new();
    };
    let when = truth
        .series
        .timestamps()
        .get(d.rows.start)
        .map(ToString::to_string)
        .unwrap_or_default();
    let kind = if d.hit { "hit" } else { "false alarm" };
    format!(
        "{}: rows {}–{} ({kind}) at {when}",
        index + 1,
        d.rows.start,
        d.rows.end - 1
    )
}

fn detections_ui(ui: &mut Ui, truth: &Truth, view: &RunView, cmds: &mut Vec<UiCommand>) {
    let id = view.id();
    if view.detections.is_empty() {
        ui.label(format!("#{id}: nothing flagged at this threshold."));
        return;
    }
    let shown = view.selected.map_or_else(
        || "pick one (or click it on the score plot)".to_owned(),
        |i| detection_text(truth, view, i),
    );
    let mut picked = None;
    egui::ComboBox::from_label(format!("Detection of #{id}"))
        .selected_text(shown)
        .width(320.0)
        .show_ui(ui, |ui| {
            for i in 0..view.detections.len().min(500) {
                if ui
                    .selectable_label(view.selected == Some(i), detection_text(truth, view, i))
                    .clicked()
                {
                    picked = Some(i);
                }
            }
        });
    if let Some(index) = picked {
        cmds.push(UiCommand::Flow(FlowCommand::SelectDetection {
            run: id,
            index: Some(index),
        }));
    }
    if view.selected.is_none() {
        return;
    }
    match &view.attribution {
        Attribution::None => {}
        Attribution::Computing(_) => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Computing per-column scores…");
            });
        }
        Attribution::Unsupported => {
            ui.label("This detector scores all columns jointly: no per-column attribution.");
        }
        Attribution::Failed(error) => {
            ui.label(
                RichText::new(format!("Attribution failed: {error}"))
                    .color(crate::app::theme::ERROR_TEXT),
            );
        }
        Attribution::Ready(_) => {
            if let Some(parts) = view.contributions(truth) {
                let top = parts.iter().map(|(_, s)| *s).fold(0.0_f64, f64::max);
                ui.label("Per-column score over the detection (highest = most responsible):");
                for (name, score) in parts {
                    let fraction = if top > 0.0 {
                        (score / top).clamp(0.0, 1.0)
                    } else {
                        0.0
                    };
                    ui.add(
                        egui::ProgressBar::new(fraction as f32)
                            .desired_width(260.0)
                            .text(format!("{name}: {score:.3}")),
                    );
                }
            }
        }
    }
}

fn export_ui(ui: &mut Ui, view: &RunView, cmds: &mut Vec<UiCommand>) {
    let id = view.id();
    ui.horizontal(|ui| {
        ui.label(format!("Export #{id}:"));
        for (text, format, hover) in [
            (
                "Scores CSV…",
                ExportFormat::ScoresCsv,
                "Timestamp, values, score, flag at this threshold, label",
            ),
            (
                "Report Markdown…",
                ExportFormat::ReportMarkdown,
                "The metrics table with baselines",
            ),
            (
                "Report JSON…",
                ExportFormat::ReportJson,
                "Every metric, the run and the threshold",
            ),
        ] {
            if ui
                .button(format!("{text} #{id}"))
                .on_hover_text(hover)
                .clicked()
            {
                cmds.push(UiCommand::Flow(FlowCommand::Export {
                    run: id,
                    format,
                    path: None,
                }));
            }
        }
    });
}
