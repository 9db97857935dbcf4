//! The dataset browser: one row per stored dataset (name, rows, columns, labelled rows,
//! import warnings), click to select and plot, and a Delete button (also the Delete key).

use egui::{RichText, Ui};

use crate::app::command::UiCommand;
use crate::app::theme;
use crate::model::format_duration_ns;
use crate::storage::{DatasetId, DatasetMeta};

/// What the dataset panel shows.
#[derive(Clone, Copy, Debug)]
pub struct DatasetsView<'a> {
    /// Stored datasets, sorted by name.
    pub datasets: &'a [DatasetMeta],
    /// The selected dataset.
    pub selected: Option<DatasetId>,
    /// The dataset being loaded, if any (a spinner is shown beside it).
    pub loading: Option<DatasetId>,
    /// True until the first listing arrived.
    pub listing: bool,
}

/// Draws the dataset panel's contents.
pub fn datasets_ui(ui: &mut Ui, view: DatasetsView<'_>, cmds: &mut Vec<UiCommand>) {
    ui.horizontal(|ui| {
        ui.heading("Datasets");
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            let delete = ui
                .add_enabled(view.selected.is_some(), egui::Button::new("Delete…"))
                .on_hover_text("Delete the selected dataset and its runs (Delete key)");
            if delete.clicked()
                && let Some(id) = view.selected
            {
                cmds.push(UiCommand::AskDelete(id));
            }
        });
    });
    ui.separator();
    if view.datasets.is_empty() {
        if view.listing {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Reading the database…");
            });
        } else {
            ui.label("No datasets yet.");
            ui.label("Drop CSV files on this window, or click Import… (Ctrl+O).");
        }
        return;
    }
    egui::ScrollArea::both()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            egui::Grid::new("anomdet-datasets")
                .striped(true)
                .num_columns(5)
                .spacing([12.0, 4.0])
                .show(ui, |ui| {
                    for header in ["Name", "Rows", "Cols", "Labels", "Warnings"] {
                        ui.label(RichText::new(header).strong());
                    }
                    ui.end_row();
                    for meta in view.datasets {
                        dataset_row_ui(ui, meta, &view, cmds);
                        ui.end_row();
                    }
                });
        });
}

fn dataset_row_ui(
    ui: &mut Ui,
    meta: &DatasetMeta,
    view: &DatasetsView<'_>,
    cmds: &mut Vec<UiCommand>,
) {
    let selected = view.selected == Some(meta.id);
    ui.horizontal(|ui| {
        let response = ui
            .selectable_label(selected, meta.name.as_str())
            .on_hover_ui(|ui| dataset_details_ui(ui, meta));
        if response.clicked() && !selected {
            cmds.push(UiCommand::Select(meta.id));
        }
        if view.loading == Some(meta.id) {
            ui.spinner();
        }
    });
    ui.label(thousands(meta.rows));
    ui.label(meta.columns.len().to_string());
    ui.label(if meta.has_labels {
        thousands(meta.label_count)
    } else {
        "none".to_owned()
    });
    let warnings = meta.warnings.len();
    if warnings == 0 {
        ui.label("0");
    } else {
        ui.label(RichText::new(warnings.to_string()).color(theme::WARNING_TEXT))
            .on_hover_text(meta.warnings.join("\n"));
    }
}

fn dataset_details_ui(ui: &mut Ui, meta: &DatasetMeta) {
    ui.label(RichText::new(&meta.name).strong());
    ui.label(format!("Source: {}", meta.source));
    if let (Some(start), Some(end)) = (meta.start, meta.end) {
        ui.label(format!("From {start} to {end}"));
        ui.label(format!("Span: {}", format_duration_ns(end.0 - start.0)));
    }
    if let Some(step) = meta.step_ns {
        ui.label(format!("Sampling step: {}", format_duration_ns(step)));
    }
    ui.label(format!("Columns: {}", meta.columns.join(", ")));
}

/// `1234567` as `1 234 567` (thin spaces), readable at a glance.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{2009}');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use egui_kittest::{Harness, kittest::Queryable as _};

    use super::*;
    use crate::app::fixtures::meta;

    struct State {
        datasets: Vec<DatasetMeta>,
        selected: Option<DatasetId>,
        cmds: Vec<UiCommand>,
    }

    fn harness(selected: Option<DatasetId>) -> Harness<'static, State> {
        let mut second = meta("beta", 1_000_000, &["a", "b"]);
        second.id = DatasetId(2);
        second.warnings = vec!["line 3: missing value".to_owned()];
        let state = State {
            datasets: vec![meta("alpha", 10, &["value"]), second],
            selected,
            cmds: Vec::new(),
        };
        Harness::new_ui_state(
            |ui, s: &mut State| {
                let view = DatasetsView {
                    datasets: &s.datasets,
                    selected: s.selected,
                    loading: None,
                    listing: false,
                };
                datasets_ui(ui, view, &mut s.cmds);
            },
            state,
        )
    }

    #[test]
    fn clicking_a_row_selects_it() {
        let mut harness = harness(None);
        harness.run();
        harness.get_by_label("beta").click();
        harness.run();
        assert_eq!(harness.state().cmds, vec![UiCommand::Select(DatasetId(2))]);
    }

    #[test]
    fn delete_asks_for_the_selected_dataset_only() {
        let mut harness = harness(None);
        harness.run();
        harness.get_by_label("Delete…").click();
        harness.run();
        assert!(
            harness.state().cmds.is_empty(),
            "disabled without a selection"
        );
        harness.state_mut().selected = Some(DatasetId(1));
        harness.run();
        harness.get_by_label("Delete…").click();
        harness.run();
        assert_eq!(
            harness.state().cmds,
            vec![UiCommand::AskDelete(DatasetId(1))]
        );
    }

    #[test]
    fn big_numbers_are_grouped() {
        assert_eq!(thousands(1_000_000), "1\u{2009}000\u{2009}000");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(0), "0");
    }
}
