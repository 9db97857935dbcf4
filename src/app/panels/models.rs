//! The Models tab: fit a detector once on chosen rows of the selected dataset and save it
//! (its fitted state goes to storage), then score any dataset with a saved model, in batch or
//! as a stream, without retraining; delete models no longer needed.
//!
//! Why a tab of its own: the learned detectors take seconds to minutes to train, and a model
//! trained on clean rows should judge other rows or other datasets, never the data it was
//! fitted on. Training rows default to the first half of the dataset for that reason.

use std::collections::BTreeMap;
use std::ops::Range;

use egui::{DragValue, RichText, Ui};

use crate::app::command::UiCommand;
use crate::app::flow::{FlowCommand, RunMode};
use crate::app::widgets::param_form::param_form_ui;
use crate::detect::{DetectorSpec, registry};
use crate::engine::persistable_ids;
use crate::model::ParamValue;
use crate::storage::{DatasetId, DatasetMeta, ModelId, ModelSummary};

/// Sub-sequence PCA: TSB-AD's best univariate method, fitted in milliseconds.
const DEFAULT_DETECTOR: &str = "pca_subsequence";

/// The Models tab's editing state.
#[derive(Debug)]
pub struct ModelsPanel {
    /// The detector to fit (one whose state can be saved).
    pub detector: &'static str,
    /// Its parameters (others take defaults).
    pub params: BTreeMap<String, ParamValue>,
    /// Seed of randomised detectors.
    pub seed: u64,
    /// First training row.
    pub train_start: usize,
    /// End of the training rows (exclusive).
    pub train_end: usize,
    /// Name of the model; empty = "<detector> on <dataset>".
    pub name: String,
    /// The dataset the training range was set for (reset when another is selected).
    ranged_for: Option<DatasetId>,
    /// Detectors whose state can be saved (built once: listing builds every detector).
    choices: Vec<&'static str>,
}

impl Default for ModelsPanel {
    fn default() -> Self {
        let choices = persistable_ids();
        Self {
            detector: choices
                .iter()
                .copied()
                .find(|&id| id == DEFAULT_DETECTOR)
                .or_else(|| choices.first().copied())
                .unwrap_or(DEFAULT_DETECTOR),
            params: BTreeMap::new(),
            seed: 0,
            train_start: 0,
            train_end: 0,
            name: String::new(),
            ranged_for: None,
            choices,
        }
    }
}

/// Where a fit in progress is.
#[derive(Clone, Debug, PartialEq)]
pub struct FitStatus {
    /// The detector being fitted.
    pub detector: String,
    /// Fraction done.
    pub fraction: f32,
}

/// What the Models tab shows besides its own state.
#[derive(Clone, Copy, Debug)]
pub struct ModelsView<'a> {
    /// The selected dataset.
    pub meta: Option<&'a DatasetMeta>,
    /// Saved models, newest first.
    pub models: &'a [ModelSummary],
    /// True while the list is read.
    pub listing: bool,
    /// The fit running, if any.
    pub fitting: Option<&'a FitStatus>,
    /// True while a saved model scores a dataset.
    pub scoring: bool,
    /// Whether stream runs can be started.
    pub stream_available: bool,
}

impl ModelsPanel {
    /// The spec to fit.
    pub fn spec(&self) -> DetectorSpec {
        DetectorSpec {
            id: self.detector.to_owned(),
            params: self.params.clone(),
            seed: self.seed,
        }
    }

    /// The training rows, clamped to a dataset of `rows` rows.
    pub fn train_rows(&self, rows: usize) -> Range<usize> {
        let end = self.train_end.min(rows);
        self.train_start.min(end)..end
    }

    /// Sets the training range to the first half of a newly selected dataset.
    fn range_for(&mut self, meta: &DatasetMeta) {
        if self.ranged_for != Some(meta.id) {
            self.ranged_for = Some(meta.id);
            self.train_start = 0;
            self.train_end = (meta.rows / 2).max(1).min(meta.rows);
        }
    }

    /// Draws the tab.
    pub fn ui(&mut self, ui: &mut Ui, view: ModelsView<'_>, cmds: &mut Vec<UiCommand>) {
        if let Some(meta) = view.meta {
            self.range_for(meta);
            self.fit_ui(ui, meta, view.fitting, cmds);
        } else {
            ui.label("Select a dataset to fit a model on it.");
        }
        ui.separator();
        saved_ui(ui, &view, cmds);
    }

    fn fit_ui(
        &mut self,
        ui: &mut Ui,
        meta: &DatasetMeta,
        fitting: Option<&FitStatus>,
        cmds: &mut Vec<UiCommand>,
    ) {
        ui.label(RichText::new(format!("Fit a model on {}", meta.name)).strong());
        let ids = self.choices.clone();
        egui::ComboBox::from_label("Detector")
            .selected_text(display_name(self.detector))
            .show_ui(ui, |ui| {
                for id in ids {
                    if ui
                        .selectable_label(id == self.detector, display_name(id))
                        .clicked()
                        && id != self.detector
                    {
                        self.detector = id;
                        self.params.clear();
                    }
                }
            });
        if let Some(entry) = registry().iter().find(|e| e.info.id == self.detector) {
            ui.indent("anomdet-model-params", |ui| {
                param_form_ui(ui, "model-params", entry.info.params, &mut self.params);
            });
        }
        let rows = meta.rows;
        ui.horizontal(|ui| {
            let label = ui.label("Training rows");
            ui.add(DragValue::new(&mut self.train_start).range(0..=rows.saturating_sub(1)))
                .labelled_by(label.id);
            let to = ui.label("to");
            ui.add(DragValue::new(&mut self.train_end).range(1..=rows))
                .labelled_by(to.id)
                .on_hover_text("End row, exclusive");
        });
        ui.horizontal(|ui| {
            let label = ui.label("Seed");
            ui.add(DragValue::new(&mut self.seed)).labelled_by(label.id);
            let name = ui.label("Name");
            ui.add(
                egui::TextEdit::singleline(&mut self.name)
                    .hint_text("detector on dataset")
                    .desired_width(160.0),
            )
            .labelled_by(name.id);
        });
        let range = self.train_rows(rows);
        if let Some(status) = fitting {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(format!("Fitting {}", status.detector));
                ui.add(
                    egui::ProgressBar::new(status.fraction)
                        .desired_width(120.0)
                        .show_percentage(),
                );
                if ui.button("Cancel fit").clicked() {
                    cmds.push(UiCommand::Flow(FlowCommand::CancelFit));
                }
            });
            return;
        }
        let fit = ui
            .add_enabled(!range.is_empty(), egui::Button::new("Fit and save"))
            .on_hover_text("Fit on the training rows on a worker and store the fitted state")
            .on_disabled_hover_text("The training rows are empty");
        if fit.clicked() {
            cmds.push(UiCommand::Flow(FlowCommand::FitModel {
                spec: self.spec(),
                train_rows: range,
                name: self.name.trim().to_owned(),
            }));
        }
    }
}

/// The detector's display name.
fn display_name(id: &str) -> &str {
    registry()
        .iter()
        .find(|e| e.info.id == id)
        .map_or(id, |e| e.info.name)
}

/// The saved models with their actions.
fn saved_ui(ui: &mut Ui, view: &ModelsView<'_>, cmds: &mut Vec<UiCommand>) {
    ui.horizontal(|ui| {
        ui.label(RichText::new("Saved models").strong());
        if view.listing {
            ui.spinner();
        } else if ui.small_button("Refresh").clicked() {
            cmds.push(UiCommand::Flow(FlowCommand::RefreshModels));
        }
    });
    if view.models.is_empty() {
        if !view.listing {
            ui.label("No saved models yet.");
        }
        return;
    }
    let target = view.meta.map(|m| m.name.as_str());
    egui::ScrollArea::vertical()
        .id_salt("anomdet-models-scroll")
        .auto_shrink([false, true])
        .show(ui, |ui| {
            for model in view.models {
                model_row(ui, model, target, view, cmds);
                ui.separator();
            }
        });
}

fn model_row(
    ui: &mut Ui,
    model: &ModelSummary,
    target: Option<&str>,
    view: &ModelsView<'_>,
    cmds: &mut Vec<UiCommand>,
) {
    ui.label(RichText::new(format!("#{} {}", model.id, model.name)).strong());
    ui.label(
        RichText::new(format!(
            "{} · trained on {} rows {}..{} · columns {} · {}",
            display_name(&model.detector),
            model.dataset_name,
            model.train_start,
            model.train_end,
            model.columns.join(", "),
            human_bytes(model.state_bytes),
        ))
        .weak(),
    );
    ui.horizontal(|ui| {
        let free = !view.scoring && target.is_some();
        let hint = target.map_or_else(String::new, |t| format!("Score {t} with this model"));
        if ui
            .add_enabled(free, egui::Button::new(format!("Run model #{}", model.id)))
            .on_hover_text(&hint)
            .on_disabled_hover_text("Select a dataset (and wait for the running model)")
            .clicked()
        {
            cmds.push(run(model.id, RunMode::Batch));
        }
        if ui
            .add_enabled(
                target.is_some() && view.stream_available,
                egui::Button::new(format!("Stream model #{}", model.id)),
            )
            .on_hover_text("Replay the selected dataset through this model in the Watch tab")
            .clicked()
        {
            cmds.push(run(model.id, RunMode::Stream { speed: None }));
        }
        if ui
            .button(format!("Delete model #{}", model.id))
            .on_hover_text("Remove the model and its fitted state from storage")
            .clicked()
        {
            cmds.push(UiCommand::Flow(FlowCommand::DeleteModel(model.id)));
        }
    });
}

fn run(model: ModelId, mode: RunMode) -> UiCommand {
    UiCommand::Flow(FlowCommand::RunModel { model, mode })
}

/// `1.2 MB`-style sizes.
fn human_bytes(bytes: usize) -> String {
    let b = bytes as f64;
    if b >= 1e6 {
        format!("{:.1} MB", b / 1e6)
    } else if b >= 1e3 {
        format!("{:.1} kB", b / 1e3)
    } else {
        format!("{bytes} B")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_detector_can_be_saved() {
        let panel = ModelsPanel::default();
        assert!(persistable_ids().contains(&panel.detector));
        assert_eq!(panel.spec().id, panel.detector);
    }

    #[test]
    fn training_rows_are_clamped_to_the_dataset() {
        let panel = ModelsPanel {
            train_start: 80,
            train_end: 500,
            ..ModelsPanel::default()
        };
        assert_eq!(panel.train_rows(300), 80..300);
        assert_eq!(panel.train_rows(50), 50..50);
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(human_bytes(12), "12 B");
        assert_eq!(human_bytes(2_500), "2.5 kB");
        assert_eq!(human_bytes(3_100_000), "3.1 MB");
    }
}
