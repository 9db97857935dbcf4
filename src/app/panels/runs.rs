//! The Runs tab: every stored run of the selected dataset (detector, status, flagged rows,
//! when), newest first; Open puts a run's scores, detections and metrics under the data plot
//! again, Close removes them. Ticking two or more runs and pressing "Compare" opens them side
//! by side in the comparison window (the ticks live in egui's memory, per dataset).

use egui::{RichText, Ui};

use crate::app::command::UiCommand;
use crate::app::flow::FlowCommand;
use crate::storage::{DatasetId, DatasetMeta, RunId, RunStatus, RunSummary};

use super::compare::MAX_RUNS;

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
    let ticks_id = ticks_id(meta.id);
    let mut ticked: Vec<RunId> = ui.data(|d| d.get_temp(ticks_id)).unwrap_or_default();
    ticked.retain(|id| view.runs.iter().any(|r| r.id == *id));
    // One run has nothing to be compared with: no ticks, no button.
    let comparable = view.runs.len() >= 2;
    if comparable {
        ui.horizontal(|ui| {
            let enough = ticked.len() >= 2;
            let compare = ui
                .add_enabled(
                    enough,
                    egui::Button::new(format!("Compare {} runs…", ticked.len())),
                )
                .on_hover_text("Open the ticked runs side by side with their metrics")
                .on_disabled_hover_text(format!("Tick 2 to {MAX_RUNS} runs to compare them"));
            if compare.clicked() {
                cmds.push(UiCommand::CompareRuns {
                    dataset: meta.id,
                    runs: ticked.clone(),
                });
            }
            if !ticked.is_empty() && ui.small_button("Clear ticks").clicked() {
                ticked.clear();
            }
        });
    }
    egui::ScrollArea::vertical()
        .id_salt("anomdet-runs")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            egui::Grid::new("anomdet-runs-grid")
                .striped(true)
                .num_columns(6)
                .show(ui, |ui| {
                    for header in ["Run", "Detector", "Status", "Flagged", "", ""] {
                        ui.label(RichText::new(header).strong());
                    }
                    ui.end_row();
                    for run in view.runs {
                        run_row_ui(ui, run, view.opened.contains(&run.id), cmds);
                        if comparable {
                            tick_ui(ui, run.id, &mut ticked);
                        }
                        ui.end_row();
                    }
                });
        });
    ui.data_mut(|d| d.insert_temp(ticks_id, ticked));
}

/// Where the ticked runs of `dataset` are kept between frames.
fn ticks_id(dataset: DatasetId) -> egui::Id {
    egui::Id::unique(("anomdet-runs-ticked", dataset.0))
}

/// The "compare" tick of one run (disabled once [`MAX_RUNS`] are ticked).
fn tick_ui(ui: &mut Ui, id: RunId, ticked: &mut Vec<RunId>) {
    let mut on = ticked.contains(&id);
    let full = !on && ticked.len() >= MAX_RUNS;
    let response = ui
        .add_enabled(
            !full,
            egui::Checkbox::new(&mut on, format!("Compare #{id}")),
        )
        .on_disabled_hover_text(format!("At most {MAX_RUNS} runs at once"));
    if response.changed() {
        if on {
            ticked.push(id);
        } else {
            ticked.retain(|r| *r != id);
        }
    }
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
