//! The Inject tab: pick an injector kind from the registry, edit its parameters in the
//! generated form, choose the columns and the position (a row range, set by dragging on the
//! preview plot, or a number of random windows), the seed; collect several injections into a
//! plan; the preview below the data plot updates as the settings change; "Save as new
//! dataset" stores the injected copy.

use std::collections::{BTreeMap, BTreeSet};

use egui::{DragValue, RichText, Ui};

use crate::app::command::UiCommand;
use crate::app::flow::FlowCommand;
use crate::app::widgets::param_form::param_form_ui;
use crate::inject::{InjectionPlan, InjectionSpec, Target, registry};
use crate::model::ParamValue;
use crate::storage::{DatasetId, DatasetMeta};

/// Where the injection being edited goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// One window of rows (set by dragging on the preview plot or by hand).
    Rows,
    /// `count` windows at random positions drawn from the seed.
    Random,
}

/// The Inject tab's editing state.
#[derive(Debug)]
pub struct InjectPanel {
    /// Kind id being edited.
    pub kind: &'static str,
    /// Parameters the user set (others take defaults).
    pub params: BTreeMap<String, ParamValue>,
    /// Columns to change; empty = every column.
    pub columns: BTreeSet<String>,
    /// Placement mode.
    pub placement: Placement,
    /// First row of the window (placement `Rows`).
    pub start: usize,
    /// Rows in the window (placement `Rows`).
    pub length: usize,
    /// Number of random windows.
    pub count: usize,
    /// Rows per random window.
    pub random_length: usize,
    /// Untouched rows between random windows.
    pub min_gap: usize,
    /// Seed of every random draw of the plan.
    pub seed: u64,
    /// Injections already added to the plan (the one being edited comes last).
    pub added: Vec<InjectionSpec>,
    /// Name of the dataset to save.
    pub name: String,
    for_dataset: Option<DatasetId>,
}

impl Default for InjectPanel {
    fn default() -> Self {
        Self {
            kind: registry().first().map_or("spike", |e| e.info.id),
            params: BTreeMap::new(),
            columns: BTreeSet::new(),
            placement: Placement::Rows,
            start: 0,
            length: 1,
            count: 3,
            random_length: 5,
            min_gap: 20,
            seed: 1,
            added: Vec::new(),
            name: String::new(),
            for_dataset: None,
        }
    }
}

/// What the Inject tab shows besides its own state.
#[derive(Clone, Copy, Debug)]
pub struct InjectView<'a> {
    /// The selected dataset.
    pub meta: Option<&'a DatasetMeta>,
    /// True while the preview is computed.
    pub previewing: bool,
    /// Why the current plan cannot be applied.
    pub preview_error: Option<&'a str>,
    /// Injected windows of the preview on screen.
    pub preview_windows: Option<usize>,
    /// True while a dataset is being saved.
    pub saving: bool,
}

impl InjectPanel {
    /// Adapts to a newly selected dataset: a window in its middle, a default name, an empty
    /// plan (the columns of the old dataset may not exist here).
    pub fn reset_for(&mut self, meta: &DatasetMeta) {
        if self.for_dataset == Some(meta.id) {
            return;
        }
        self.for_dataset = Some(meta.id);
        self.length = (meta.rows / 100).clamp(1, 50);
        self.start = (meta.rows / 2).min(meta.rows.saturating_sub(self.length));
        self.columns.clear();
        self.added.clear();
        self.name = format!("{}+{}", meta.name, self.kind);
    }

    /// The injection being edited.
    pub fn draft(&self) -> InjectionSpec {
        let target = match self.placement {
            Placement::Rows => Target::Rows {
                start: to_i64(self.start),
                length: to_i64(self.length.max(1)),
            },
            Placement::Random => Target::Random {
                count: to_i64(self.count.max(1)),
                length: to_i64(self.random_length.max(1)),
                min_gap: to_i64(self.min_gap),
            },
        };
        InjectionSpec {
            kind: self.kind.to_owned(),
            params: self.params.clone(),
            target,
            columns: self.columns.iter().cloned().collect(),
        }
    }

    /// The plan to preview and save: the added injections, then the draft.
    pub fn plan(&self) -> InjectionPlan {
        let mut injections = self.added.clone();
        injections.push(self.draft());
        InjectionPlan {
            seed: self.seed,
            injections,
        }
    }

    /// Places the draft on rows `start .. start + length` (from a drag on the plot).
    pub fn set_range(&mut self, start: usize, length: usize) {
        self.placement = Placement::Rows;
        self.start = start;
        self.length = length.max(1);
    }

    /// Sets the kind being edited (its parameters reset to defaults).
    pub fn set_kind(&mut self, kind: &'static str) {
        if self.kind != kind {
            let old = self.kind;
            self.kind = kind;
            self.params.clear();
            if let Some(base) = self.name.strip_suffix(old) {
                self.name = format!("{base}{kind}");
            }
        }
    }

    /// Draws the tab.
    pub fn ui(&mut self, ui: &mut Ui, view: InjectView<'_>, cmds: &mut Vec<UiCommand>) {
        let Some(meta) = view.meta else {
            ui.label("Select a dataset to inject anomalies into it.");
            return;
        };
        ui.label(RichText::new(format!("Inject anomalies into {}", meta.name)).strong());
        self.kind_ui(ui);
        if meta.columns.len() > 1 {
            ui.horizontal_wrapped(|ui| {
                ui.label("Columns (none ticked = all):");
                for column in &meta.columns {
                    let mut on = self.columns.contains(column);
                    if ui.checkbox(&mut on, column.as_str()).changed() {
                        if on {
                            self.columns.insert(column.clone());
                        } else {
                            self.columns.remove(column);
                        }
                    }
                }
            });
        }
        ui.separator();
        self.position_ui(ui, meta.rows);
        ui.separator();
        self.plan_ui(ui, view);
        ui.separator();
        ui.horizontal(|ui| {
            let label = ui.label("Name");
            ui.text_edit_singleline(&mut self.name)
                .labelled_by(label.id);
        });
        let can_save = !view.saving && view.preview_error.is_none() && !self.name.trim().is_empty();
        ui.horizontal(|ui| {
            let save = ui
                .add_enabled(can_save, egui::Button::new("Save as new dataset"))
                .on_hover_text("Store the injected copy; its labels mark every injected row");
            if save.clicked() {
                cmds.push(UiCommand::Flow(FlowCommand::SaveInjection {
                    plan: self.plan(),
                    name: self.name.trim().to_owned(),
                }));
            }
            if view.saving {
                ui.spinner();
            }
        });
    }

    fn kind_ui(&mut self, ui: &mut Ui) {
        let entry = registry().iter().find(|e| e.info.id == self.kind);
        let shown = entry.map_or(self.kind, |e| e.info.name);
        let mut picked = None;
        egui::ComboBox::from_label("Kind")
            .selected_text(shown)
            .show_ui(ui, |ui| {
                for e in registry() {
                    let on = e.info.id == self.kind;
                    if ui
                        .selectable_label(on, e.info.name)
                        .on_hover_text(e.info.description)
                        .clicked()
                    {
                        picked = Some(e.info.id);
                    }
                }
            });
        if let Some(kind) = picked {
            self.set_kind(kind);
        }
        if let Some(entry) = registry().iter().find(|e| e.info.id == self.kind) {
            ui.label(RichText::new(entry.info.description).small().weak());
            param_form_ui(
                ui,
                ("inject-params", self.kind),
                entry.info.params,
                &mut self.params,
            );
        }
    }

    fn position_ui(&mut self, ui: &mut Ui, rows: usize) {
        ui.horizontal(|ui| {
            ui.radio_value(&mut self.placement, Placement::Rows, "Rows")
                .on_hover_text("One window; drag across the preview plot to place it");
            ui.radio_value(&mut self.placement, Placement::Random, "Random windows");
        });
        let last = rows.saturating_sub(1);
        match self.placement {
            Placement::Rows => {
                ui.horizontal(|ui| {
                    labelled_drag(ui, "Start row", &mut self.start, 0..=last);
                    let room = rows.saturating_sub(self.start).max(1);
                    labelled_drag(ui, "Length", &mut self.length, 1..=room);
                });
                ui.label(
                    RichText::new("Drag across the preview plot below to place the window.")
                        .small()
                        .weak(),
                );
            }
            Placement::Random => {
                ui.horizontal(|ui| {
                    labelled_drag(ui, "Count", &mut self.count, 1..=10_000);
                    labelled_drag(ui, "Rows each", &mut self.random_length, 1..=rows.max(1));
                    labelled_drag(ui, "Min gap", &mut self.min_gap, 0..=rows);
                });
            }
        }
        ui.horizontal(|ui| {
            let label = ui.label("Seed");
            ui.add(DragValue::new(&mut self.seed)).labelled_by(label.id);
        });
    }

    fn plan_ui(&mut self, ui: &mut Ui, view: InjectView<'_>) {
        let mut remove = None;
        for (i, spec) in self.added.iter().enumerate() {
            ui.horizontal(|ui| {
                ui.label(format!(
                    "{}. {} {}",
                    i + 1,
                    spec.kind,
                    target_text(&spec.target)
                ));
                if ui.small_button(format!("Remove {}", i + 1)).clicked() {
                    remove = Some(i);
                }
            });
        }
        if let Some(i) = remove {
            self.added.remove(i);
        }
        ui.horizontal(|ui| {
            if ui
                .button("Add another")
                .on_hover_text("Keep this injection in the plan and edit a new one")
                .clicked()
            {
                self.added.push(self.draft());
            }
            if view.previewing {
                ui.spinner();
                ui.label("Previewing…");
            } else if let Some(error) = view.preview_error {
                ui.label(RichText::new(error).color(crate::app::theme::ERROR_TEXT));
            } else if let Some(n) = view.preview_windows {
                ui.label(format!(
                    "Preview: {n} injected window{}",
                    if n == 1 { "" } else { "s" }
                ));
            }
        });
    }
}

fn labelled_drag(
    ui: &mut Ui,
    text: &str,
    value: &mut usize,
    range: std::ops::RangeInclusive<usize>,
) {
    let label = ui.label(text);
    ui.add(DragValue::new(value).range(range))
        .labelled_by(label.id);
}

fn target_text(target: &Target) -> String {
    match target {
        Target::Rows { start, length } => format!("at rows {start}..{}", start + length),
        Target::Time { start, end } => format!("from {start} to {end}"),
        Target::Random { count, length, .. } => format!("×{count} random ({length} rows)"),
    }
}

fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::fixtures::meta;

    #[test]
    fn plan_follows_edits() {
        let mut panel = InjectPanel::default();
        panel.reset_for(&meta("base", 1000, &["a", "b"]));
        assert_eq!((panel.start, panel.length), (500, 10));
        panel.set_kind("level_shift");
        assert_eq!(panel.name, "base+level_shift");
        panel.set_range(100, 20);
        panel.added.push(panel.draft());
        panel.placement = Placement::Random;
        let plan = panel.plan();
        assert_eq!(plan.injections.len(), 2);
        assert_eq!(
            plan.injections[0].target,
            Target::Rows {
                start: 100,
                length: 20
            }
        );
        assert!(matches!(
            plan.injections[1].target,
            Target::Random { count: 3, .. }
        ));
        plan.check().unwrap();
    }
}
