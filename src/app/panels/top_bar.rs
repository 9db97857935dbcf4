//! The top bar: the app name, the Import button (Ctrl+O) and, while files import, a progress
//! indicator with a Cancel button.

use egui::Ui;

use crate::app::command::UiCommand;
use crate::app::jobs::ImportStatus;

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
