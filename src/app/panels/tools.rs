//! [`Tools`]: the windows opened from the top bar's right end, bundled so the app shell holds
//! one field for them: [`settings`](super::settings) (database, theme) and
//! [`compare`](super::compare) (runs side by side, robustness heatmap).
//!
//! Owns an engine handle and a notifier for their workers; returns [`SettingsEvent`]s for the
//! shell to apply (a database switch reloads the dataset list).

use egui::Ui;

use super::compare::ComparePanel;
use super::settings::{Settings, SettingsEvent, SettingsPanel};
use crate::engine::{Engine, Notifier};
use crate::storage::DatasetId;

/// The settings and comparison windows.
#[derive(Debug)]
pub struct Tools {
    engine: Engine,
    notifier: Notifier,
    /// The settings window.
    pub settings: SettingsPanel,
    /// The comparison window.
    pub compare: ComparePanel,
}

impl Tools {
    /// The windows over `engine`, closed, with default settings.
    pub fn new(engine: Engine, notifier: Notifier) -> Self {
        Self {
            engine,
            notifier,
            settings: SettingsPanel::new(Settings::default()),
            compare: ComparePanel::default(),
        }
    }

    /// Replaces the settings with persisted ones and applies their theme.
    pub fn restore(&mut self, settings: Settings, ctx: &egui::Context) {
        self.settings = SettingsPanel::new(settings);
        self.settings.apply_theme(ctx);
    }

    /// Switches to the database saved in the settings (at start, when the command line named
    /// none), on a worker.
    pub fn open_saved_database(&mut self) {
        self.settings.open_saved(&self.engine, &self.notifier);
    }

    /// The settings to persist.
    pub fn persisted(&self) -> &Settings {
        self.settings.settings()
    }

    /// The buttons that open the windows ("Compare runs…" needs a selected dataset).
    pub fn buttons_ui(&mut self, ui: &mut Ui, selected: Option<DatasetId>) {
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if ui
                .button("Settings…")
                .on_hover_text("Database location and theme")
                .clicked()
            {
                self.settings.open = !self.settings.open;
            }
            let compare = ui
                .add_enabled(selected.is_some(), egui::Button::new("Compare runs…"))
                .on_hover_text(
                    "Runs of the selected dataset side by side, and their robustness matrix",
                )
                .on_disabled_hover_text("Select a dataset first");
            if compare.clicked()
                && let Some(dataset) = selected
            {
                self.compare
                    .show_dataset(&self.engine, &self.notifier, dataset);
            }
        });
    }

    /// Opens the comparison window on `runs` of `dataset` (loaded on a worker).
    pub fn compare_runs(&mut self, dataset: DatasetId, runs: &[crate::storage::RunId]) {
        self.compare
            .compare(&self.engine, &self.notifier, dataset, runs);
    }

    /// Draws the open windows and collects their workers' results.
    pub fn show(&mut self, ctx: &egui::Context) -> Vec<SettingsEvent> {
        self.compare.show(ctx, &self.engine, &self.notifier);
        self.settings.show(ctx, &self.engine, &self.notifier)
    }

    /// True while any of their workers runs.
    pub fn is_busy(&self) -> bool {
        self.settings.is_busy() || self.compare.is_busy()
    }
}
