//! The Runs tab: every stored run of the selected dataset (detector, status, flagged rows,
//! when), newest first; Open puts a run's scores, detections and metrics under the data plot
//! again, Close removes them.

use egui::{RichText, Ui};

use crate::app::command::UiCommand;
use crate::app::flow::FlowCommand;
use crate::storage::{DatasetMeta, RunId, RunStatus, RunSummary};

/// What the Runs tab shows.
#[derive(Clone, Copy, Debug)]
pub struct RunsView<'a> {
    /// The selected dataset.
    pub meta: Option<&'a DatasetMeta>,
    /// Its runs, newest first.
    pub runs: &'a [RunSummary],
    /// True while the list is read.
    pub listing: bool,
    /// Runs opened under the plot.
    pub opened: &'a [RunId],
}

/// Draws the tab.
pub fn runs_ui(ui: &mut Ui, view: RunsView<'_>, cmds: &mut Vec<UiCommand>) {
    let Some(meta) = view.meta else {
        ui.label("Select a dataset to see its runs.");
        return;
    };
    ui.horizontal(|ui| {
        ui.label(RichText::new(format!("Runs on {}", meta.name)).strong());
        if view.listing {
            ui.spinner();
        } else if ui.small_button("Refresh").clicked() {
            cmds.push(UiCommand::Flow(FlowCommand::RefreshRuns));
        }
    });
    if view.runs.is_empty() {
        if !view.listing {
            ui.label("No runs yet: run detectors in the Detect tab.");
        }
        return;
    }
    egui::ScrollArea::vertical()
        .id_salt("anomdet-runs")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            egui::Grid::new("anomdet-runs-grid")
                .striped(true)
                .num_columns(5)
                .show(ui, |ui| {
                    for header in ["Run", "Detector", "Status", "Flagged", ""] {
                        ui.label(RichText::new(header).strong());
                    }
                    ui.end_row();
                    for run in view.runs {
                        run_row_ui(ui, run, view.opened.contains(&run.id), cmds);
                        ui.end_row();
                    }
                });
        });
}

fn run_row_ui(ui: &mut Ui, run: &RunSummary, opened: bool, cmds: &mut Vec<UiCommand>) {
    ui.label(format!("#{}", run.id));
    ui.label(run.detector.as_str()).on_hover_text(format!(
        "{}\nthreshold {}\nmode {}, fit {:.2} s, score {:.2} s",
        run.params.summary(),
        run.threshold_json,
        run.mode,
        run.fit_secs,
        run.score_secs
    ));
    let status = run.status.to_string();
    if run.status == RunStatus::Finished {
        ui.label(status);
    } else {
        ui.label(RichText::new(status).color(crate::app::theme::WARNING_TEXT))
            .on_hover_text(run.error.as_deref().unwrap_or("no error recorded"));
    }
    ui.label(format!("{} / {}", run.flagged, run.rows));
    let id = run.id;
    if opened {
        if ui.button(format!("Close #{id}")).clicked() {
            cmds.push(UiCommand::Flow(FlowCommand::CloseRun(id)));
        }
    } else if ui.button(format!("Open #{id}")).clicked() {
        cmds.push(UiCommand::Flow(FlowCommand::OpenRun(id)));
    }
}
