//! The top bar: the app name, the Import button (Ctrl+O) and, while files import, a progress
//! indicator with a Cancel button; and the window-wide keyboard shortcuts
//! ([`shortcut_commands`]: Ctrl+O opens the file dialog, Delete asks to delete the selected
//! dataset). Esc is handled where it applies: the delete confirmation (an egui `Modal`), the
//! settings and comparison windows close on it.

use egui::{Key, KeyboardShortcut, Modifiers, Ui};

use crate::app::command::UiCommand;
use crate::app::jobs::ImportStatus;
use crate::storage::DatasetId;

/// Ctrl+O (Cmd+O on macOS): the file dialog.
pub const OPEN_SHORTCUT: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::O);

/// Reads (and consumes) the window-wide shortcuts of this frame: Ctrl+O always (even while a
/// text field has focus), Delete only with a dataset `selected`, no dialog open and no text
/// field focused (where Delete edits text).
pub fn shortcut_commands(
    ctx: &egui::Context,
    selected: Option<DatasetId>,
    dialog_open: bool,
) -> Vec<UiCommand> {
    let mut cmds = Vec::new();
    if ctx.input_mut(|i| i.consume_shortcut(&OPEN_SHORTCUT)) {
        cmds.push(UiCommand::OpenFileDialog);
    }
    if !dialog_open
        && !ctx.egui_wants_keyboard_input()
        && let Some(id) = selected
        && ctx.input_mut(|i| i.consume_key(Modifiers::NONE, Key::Delete))
    {
        cmds.push(UiCommand::AskDelete(id));
    }
    cmds
}

/// Draws the top bar's contents.
pub fn top_bar_ui(ui: &mut Ui, import: Option<&ImportStatus>, cmds: &mut Vec<UiCommand>) {
    ui.horizontal(|ui| {
        ui.heading("AnomDet");
        ui.separator();
        let import_button = ui
            .button("Import…")
            .on_hover_text("Import CSV files (Ctrl+O). You can also drop files on the window.");
        if import_button.clicked() {
            cmds.push(UiCommand::OpenFileDialog);
        }
        if let Some(status) = import {
            ui.separator();
            import_progress_ui(ui, status, cmds);
        }
    });
}

fn import_progress_ui(ui: &mut Ui, status: &ImportStatus, cmds: &mut Vec<UiCommand>) {
    ui.spinner();
    let batch = if status.total > 1 {
        format!(" ({} of {})", status.position, status.total)
    } else {
        String::new()
    };
    ui.label(format!("Importing {}{batch}", status.file));
    if let Some(fraction) = status.fraction {
        ui.add(
            egui::ProgressBar::new(fraction)
                .desired_width(160.0)
                .show_percentage(),
        );
    }
    if ui.button("Cancel import").clicked() {
        cmds.push(UiCommand::CancelImport);
    }
}

#[cfg(test)]
mod tests {
    use egui_kittest::{Harness, kittest::Queryable as _};

    use super::*;

    struct Keys {
        selected: Option<DatasetId>,
        dialog_open: bool,
        text: String,
        cmds: Vec<UiCommand>,
    }

    fn keys(selected: Option<DatasetId>, dialog_open: bool) -> Harness<'static, Keys> {
        let state = Keys {
            selected,
            dialog_open,
            text: String::new(),
            cmds: Vec::new(),
        };
        Harness::new_ui_state(
            |ui, s: &mut Keys| {
                let found = shortcut_commands(ui.ctx(), s.selected, s.dialog_open);
                s.cmds.extend(found);
                let label = ui.label("Name");
                ui.text_edit_singleline(&mut s.text).labelled_by(label.id);
            },
            state,
        )
    }

    #[test]
    fn ctrl_o_opens_the_file_dialog_and_delete_asks_for_the_selection() {
        let mut h = keys(Some(DatasetId(3)), false);
        h.run();
        h.key_press_modifiers(Modifiers::COMMAND, Key::O);
        h.run();
        assert_eq!(h.state().cmds, [UiCommand::OpenFileDialog]);
        h.key_press(Key::Delete);
        h.run();
        assert_eq!(
            h.state().cmds,
            [
                UiCommand::OpenFileDialog,
                UiCommand::AskDelete(DatasetId(3))
            ]
        );
        // A plain O is typing, not a shortcut.
        h.key_press(Key::O);
        h.run();
        assert_eq!(h.state().cmds.len(), 2);
    }

    #[test]
    fn delete_does_nothing_without_selection_in_a_dialog_or_while_typing() {
        let mut h = keys(None, false);
        h.run();
        h.key_press(Key::Delete);
        h.run();
        assert!(h.state().cmds.is_empty(), "nothing selected");

        let mut h = keys(Some(DatasetId(3)), true);
        h.run();
        h.key_press(Key::Delete);
        h.run();
        assert!(h.state().cmds.is_empty(), "a dialog is open");

        let mut h = keys(Some(DatasetId(3)), false);
        h.run();
        h.get_by_role_and_label(egui::accesskit::Role::TextInput, "Name")
            .focus();
        h.run();
        h.key_press(Key::Delete);
        h.run();
        assert!(h.state().cmds.is_empty(), "Delete edits the focused text");
        h.key_press_modifiers(Modifiers::COMMAND, Key::O);
        h.run();
        assert_eq!(h.state().cmds, [UiCommand::OpenFileDialog]);
    }

    #[test]
    fn import_button_and_cancel_push_commands() {
        let status = ImportStatus {
            file: "a.csv".to_owned(),
            position: 2,
            total: 3,
            fraction: Some(0.5),
        };
        let mut harness = Harness::new_ui_state(
            |ui, cmds: &mut Vec<UiCommand>| top_bar_ui(ui, Some(&status), cmds),
            Vec::new(),
        );
        harness.get_by_label("Import…").click();
        harness.run_steps(2);
        harness.get_by_label("Cancel import").click();
        harness.run_steps(2);
        assert!(harness.query_by_label("Importing a.csv (2 of 3)").is_some());
        assert_eq!(
            harness.state().as_slice(),
            [UiCommand::OpenFileDialog, UiCommand::CancelImport]
        );
    }
}
