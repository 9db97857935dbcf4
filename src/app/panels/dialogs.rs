//! What floats above the panels: the delete confirmation (a modal: Esc or a click outside
//! cancels) and the drop hint shown while files are dragged over the window.

use egui::{Align2, Context, Id, LayerId, Order, RichText};

use crate::app::command::UiCommand;
use crate::app::theme;
use crate::storage::DatasetId;

use super::datasets::thousands;

/// A dialog waiting for the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dialog {
    /// "Delete this dataset?"
    ConfirmDelete {
        /// The dataset.
        id: DatasetId,
        /// Its name, for the question.
        name: String,
        /// Its row count, so the user sees what is lost.
        rows: usize,
    },
}

/// Draws the open dialog.
pub fn dialog_ui(ctx: &Context, dialog: &Dialog, cmds: &mut Vec<UiCommand>) {
    match dialog {
        Dialog::ConfirmDelete { id, name, rows } => {
            let modal = egui::Modal::new(Id::unique("anomdet-confirm-delete")).show(ctx, |ui| {
                ui.set_max_width(380.0);
                ui.heading(format!("Delete dataset {name:?}?"));
                ui.label(format!(
                    "Its {} rows and every run on it are removed from the database. \
                     This cannot be undone.",
                    thousands(*rows)
                ));
                ui.add_space(8.0);
                ui.horizontal(|ui| {
                    if ui
                        .button(RichText::new("Delete").color(theme::ERROR_TEXT))
                        .clicked()
                    {
                        cmds.push(UiCommand::Delete(*id));
                    }
                    if ui.button("Cancel").clicked() {
                        cmds.push(UiCommand::CloseDialog);
                    }
                });
            });
            if modal.should_close() && !cmds.contains(&UiCommand::Delete(*id)) {
                cmds.push(UiCommand::CloseDialog);
            }
        }
    }
}

/// Dims the window and says what dropping will do, while files hover over it.
pub fn drop_hint_ui(ctx: &Context, files: usize) {
    let painter = ctx.layer_painter(LayerId::new(
        Order::Foreground,
        Id::unique("anomdet-drop-hint"),
    ));
    let rect = ctx.content_rect();
    painter.rect_filled(rect, 0.0, theme::DROP_BACKDROP);
    let text = match files {
        0 => "Drop CSV files to import them".to_owned(),
        1 => "Drop the file to import it".to_owned(),
        n => format!("Drop the {n} files to import them"),
    };
    painter.text(
        rect.center(),
        Align2::CENTER_CENTER,
        text,
        egui::FontId::proportional(26.0),
        theme::DROP_TEXT,
    );
}

#[cfg(test)]
mod tests {
    use egui_kittest::{Harness, kittest::Queryable as _};

    use super::*;

    fn harness() -> Harness<'static, Vec<UiCommand>> {
        let dialog = Dialog::ConfirmDelete {
            id: DatasetId(7),
            name: "old".to_owned(),
            rows: 12,
        };
        Harness::new_ui_state(
            move |ui, cmds: &mut Vec<UiCommand>| dialog_ui(ui.ctx(), &dialog, cmds),
            Vec::new(),
        )
    }

    #[test]
    fn confirming_deletes_and_escape_cancels() {
        let mut h = harness();
        h.run();
        assert!(h.query_by_label("Delete dataset \"old\"?").is_some());
        h.get_by_label("Delete").click();
        h.run();
        assert_eq!(h.state().as_slice(), [UiCommand::Delete(DatasetId(7))]);

        let mut h = harness();
        h.run();
        h.key_press(egui::Key::Escape);
        h.run();
        assert_eq!(h.state().as_slice(), [UiCommand::CloseDialog]);
    }
}
