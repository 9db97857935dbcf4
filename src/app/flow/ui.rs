//! Drawing the workflow through its panels: the tabbed workflow panel and the results area
//! under the data plot.

use super::{Flow, FlowCommand};
use crate::app::command::UiCommand;
use crate::app::panels::detect::DetectView;
use crate::app::panels::inject::{InjectView, Placement};
use crate::app::panels::results::PreviewView;
use crate::app::panels::runs::{RunsView, runs_ui};
use crate::app::plot::PlotData;
use crate::app::state::WorkflowTab;
use crate::storage::{DatasetMeta, RunId};

impl Flow {
    /// Draws the workflow panel: tab strip, then the tab.
    pub fn workflow_ui(
        &mut self,
        ui: &mut egui::Ui,
        tab: WorkflowTab,
        meta: Option<&DatasetMeta>,
        cmds: &mut Vec<UiCommand>,
    ) {
        ui.horizontal(|ui| {
            for t in WorkflowTab::ALL {
                if ui.selectable_label(t == tab, t.title()).clicked() && t != tab {
                    cmds.push(UiCommand::Flow(FlowCommand::SetTab(t)));
                }
            }
        });
        ui.separator();
        match tab {
            WorkflowTab::Generate => {
                let busy = self.generate_task.is_some();
                egui::ScrollArea::vertical()
                    .id_salt("anomdet-generate-scroll")
                    .show(ui, |ui| self.generate.ui(ui, busy, cmds));
            }
            WorkflowTab::Inject => {
                let view = InjectView {
                    meta,
                    previewing: self.preview_task.is_some(),
                    preview_error: self.preview_error.as_deref(),
                    preview_windows: self.preview.as_ref().map(|p| p.windows.len()),
                    saving: self.save_task.is_some(),
                };
                egui::ScrollArea::vertical()
                    .id_salt("anomdet-inject-scroll")
                    .show(ui, |ui| self.inject.ui(ui, view, cmds));
            }
            WorkflowTab::Detect => {
                let batch = self.batch_status();
                let view = DetectView {
                    meta,
                    batch: batch.as_ref(),
                    stream_available: self.stream_available(),
                    suggestion: self.suggestion.as_ref(),
                    suggesting: self.suggest_task.is_some(),
                };
                self.detect.ui(ui, view, cmds);
            }
            WorkflowTab::Models => {
                let fitting = self.fit_status();
                let mut panel = std::mem::take(&mut self.models.panel);
                let view = self.models_view(meta, fitting.as_ref());
                egui::ScrollArea::vertical()
                    .id_salt("anomdet-models-tab")
                    .show(ui, |ui| panel.ui(ui, view, cmds));
                self.models.panel = panel;
            }
            // The shell draws the jobs panel under the tab strip.
            WorkflowTab::Watch => {}
            WorkflowTab::Runs => {
                let opened: Vec<RunId> = self.views.iter().map(super::RunView::id).collect();
                let view = RunsView {
                    meta,
                    runs: &self.runs,
                    listing: self.runs_task.is_some(),
                    opened: &opened,
                };
                runs_ui(ui, view, cmds);
            }
        }
    }

    /// Whether the results area has something to show under `data`.
    pub fn has_results(&self, tab: WorkflowTab, data: Option<&PlotData>) -> bool {
        let same = match (data, &self.truth) {
            (Some(d), Some(t)) => d.meta.id == t.id() && d.rows() == t.x.len(),
            _ => false,
        };
        same && (tab == WorkflowTab::Inject || !self.views.is_empty())
    }

    /// Draws the results area (call only when [`has_results`](Self::has_results)).
    pub fn results_ui(
        &mut self,
        ui: &mut egui::Ui,
        data: &PlotData,
        tab: WorkflowTab,
        show_labels: bool,
        cmds: &mut Vec<UiCommand>,
    ) {
        let Some(truth) = self.truth.clone() else {
            return;
        };
        if tab == WorkflowTab::Inject {
            let names = truth.series.column_names();
            let columns: Vec<usize> = if self.inject.columns.is_empty() {
                (0..names.len()).collect()
            } else {
                (0..names.len())
                    .filter(|&i| self.inject.columns.contains(&names[i]))
                    .collect()
            };
            let target = (self.inject.placement == Placement::Rows)
                .then(|| {
                    self.inject.start
                        ..(self.inject.start + self.inject.length.max(1)).min(truth.x.len())
                })
                .filter(|r| r.start < r.end);
            let view = PreviewView {
                data,
                truth: &truth,
                preview: self.preview.as_ref(),
                columns: &columns,
                target,
            };
            self.results.preview_ui(ui, &view, cmds);
        } else {
            self.results
                .runs_ui(ui, data, &truth, &mut self.views, show_labels, cmds);
        }
    }
}
