//! The status bar: where the database lives, the last error (shown until dismissed, replaced
//! by the next one), and the selected dataset's import warnings (a count that expands into
//! the list).

use egui::{RichText, Ui};

use crate::app::command::UiCommand;
use crate::app::theme;

/// What the status bar shows.
#[derive(Clone, Copy, Debug, Default)]
pub struct StatusView<'a> {
    /// "SQLite at /path", once known.
    pub storage: Option<&'a str>,
    /// The last error, until dismissed.
    pub error: Option<&'a str>,
    /// A passing note ("Imported data.csv"), replaced by the next one.
    pub note: Option<&'a str>,
    /// Import warnings of the selected dataset.
    pub warnings: &'a [String],
    /// The dataset the warnings belong to.
    pub warnings_of: Option<&'a str>,
    /// Whether the warnings list is expanded.
    pub warnings_open: bool,
}

/// Draws the status bar's contents.
pub fn status_ui(ui: &mut Ui, view: StatusView<'_>, cmds: &mut Vec<UiCommand>) {
    if view.warnings_open && !view.warnings.is_empty() {
        warnings_list_ui(ui, view);
        ui.separator();
    }
    ui.horizontal(|ui| {
        let storage = view.storage.unwrap_or("…");
        ui.label(format!("Database: {storage}"))
            .on_hover_text("Change it with --db PATH or the ANOMDET_DB environment variable");
        if !view.warnings.is_empty() {
            ui.separator();
            let count = view.warnings.len();
            let plural = if count == 1 { "" } else { "s" };
            let verb = if view.warnings_open { "Hide" } else { "Show" };
            let text = RichText::new(format!("{verb} {count} import warning{plural}"))
                .color(theme::WARNING_TEXT);
            if ui
                .button(text)
                .on_hover_text("Show or hide the warnings of the selected dataset")
                .clicked()
            {
                cmds.push(UiCommand::ToggleWarnings);
            }
        }
        if let Some(note) = view.note {
            ui.separator();
            ui.label(note);
        }
        if let Some(error) = view.error {
            ui.separator();
            if ui
                .button("Dismiss")
                .on_hover_text("Hide this error")
                .clicked()
            {
                cmds.push(UiCommand::DismissError);
            }
            ui.label(RichText::new(error).color(theme::ERROR_TEXT));
        }
    });
}

fn warnings_list_ui(ui: &mut Ui, view: StatusView<'_>) {
    if let Some(name) = view.warnings_of {
        ui.label(RichText::new(format!("Import warnings of {name}")).strong());
    }
    egui::ScrollArea::vertical()
        .max_height(theme::WARNINGS_LIST_HEIGHT)
        .auto_shrink([false, true])
        .show(ui, |ui| {
            for warning in view.warnings {
                ui.label(RichText::new(warning).color(theme::WARNING_TEXT));
            }
        });
}

#[cfg(test)]
mod tests {
    use egui_kittest::{Harness, kittest::Queryable as _};

    use super::*;

    #[test]
    fn error_is_dismissable_and_warnings_expand() {
        let warnings = vec!["line 4: missing value in column \"a\"".to_owned()];
        let mut harness = Harness::new_ui_state(
            |ui, (open, cmds): &mut (bool, Vec<UiCommand>)| {
                let view = StatusView {
                    storage: Some("in memory"),
                    error: Some("Could not import x.csv: bad"),
                    warnings: &warnings,
                    warnings_of: Some("x"),
                    warnings_open: *open,
                    ..StatusView::default()
                };
                status_ui(ui, view, cmds);
            },
            (false, Vec::new()),
        );
        harness.run();
        assert!(harness.query_by_label("Database: in memory").is_some());
        assert!(
            harness
                .query_by_label("Could not import x.csv: bad")
                .is_some()
        );
        assert!(harness.query_by_label_contains("missing value").is_none());
        harness.get_by_label("Dismiss").click();
        harness.get_by_label("Show 1 import warning").click();
        harness.run();
        assert_eq!(
            harness.state().1,
            vec![UiCommand::DismissError, UiCommand::ToggleWarnings]
        );
        harness.state_mut().0 = true;
        harness.run();
        assert!(harness.query_by_label_contains("missing value").is_some());
    }
}
