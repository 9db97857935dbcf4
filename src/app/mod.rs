//! The desktop GUI (feature `gui`): an eframe/egui window over the same [`Engine`] the CLI
//! uses. An edge: nothing depends on it, and it never computes anything itself.
//!
//! Owns: the window ([`run_native`]), the app shell ([`App`], in `shell.rs`: frame order and
//! command application), the background work it starts ([`jobs`]), the persisted UI state
//! ([`state`]), one file per panel ([`panels`]), plotting helpers ([`plot`]: decimation, time
//! axis) and colours ([`theme`]).
//!
//! Threading (STYLE.md B6): the UI thread never blocks. Import, load, list, delete and the file
//! dialog run on [`Task`](crate::engine::Task)s; the app polls them each frame, and workers wake
//! it through a [`Notifier`](crate::engine::Notifier) that requests a repaint. Panels push
//! [`UiCommand`]s that the app applies after layout.

pub mod command;
pub mod flow;
pub mod jobs;
pub mod panels;
pub mod plot;
mod shell;
pub mod state;
pub mod theme;
pub mod watch;
pub mod widgets;

use std::path::PathBuf;

use crate::engine::{DbLocation, Engine};
use crate::error::{Error, Result};

pub use command::UiCommand;
pub use shell::App;
pub use state::AppState;

/// The window icon (a series with a flagged spike), also used by the desktop entry.
pub const ICON_PNG: &[u8] = include_bytes!("../../assets/icon.png");

/// How the app starts.
#[derive(Debug)]
pub struct AppOptions {
    /// Database location.
    pub db: DbLocation,
    /// Files to import at start (command-line arguments, "Open with" from a file manager).
    pub open_files: Vec<PathBuf>,
}

/// Opens the main window and runs until it is closed.
///
/// The database is opened first; if that fails the app still opens, on an in-memory
/// database, with the error in the status bar (a user who double-clicked the app has no
/// terminal to read it in).
pub fn run_native(options: AppOptions) -> Result<()> {
    let AppOptions { db, open_files } = options;
    let use_saved_db = db == DbLocation::default_local();
    let (engine, startup_error) = match Engine::open(&db) {
        Ok(engine) => (engine, None),
        Err(error) => {
            log::error!("opening the database failed: {error}");
            (
                Engine::in_memory(),
                Some(format!(
                    "Could not open the database ({error}); working in memory, nothing will \
                     be saved. Choose another file with --db PATH."
                )),
            )
        }
    };
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("AnomDet")
        .with_app_id("anomdet")
        .with_inner_size([1200.0, 760.0])
        .with_min_inner_size([640.0, 400.0])
        .with_drag_and_drop(true);
    match eframe::icon_data::from_png_bytes(ICON_PNG) {
        Ok(icon) => viewport = viewport.with_icon(icon),
        Err(error) => log::warn!("the window icon could not be decoded: {error}"),
    }
    let native = eframe::NativeOptions {
        viewport,
        persist_window: true,
        ..eframe::NativeOptions::default()
    };
    eframe::run_native(
        "AnomDet",
        native,
        Box::new(move |cc| {
            let mut app = App::new(cc, engine, open_files, startup_error);
            // The database chosen in Settings wins over the platform default, never over an
            // explicit `--db`/`ANOMDET_DB` (unless that names the default file itself).
            if use_saved_db {
                app.tools_mut().open_saved_database();
            }
            Ok(Box::new(app))
        }),
    )
    .map_err(|error| Error::Invalid(format!("could not open the window: {error}")))
}

/// Shared fixtures for the app's in-module tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use crate::model::Timestamp;
    use crate::storage::{DatasetId, DatasetMeta};

    /// A dataset summary with id 1, one-second steps and no warnings.
    pub(crate) fn meta(name: &str, rows: usize, columns: &[&str]) -> DatasetMeta {
        DatasetMeta {
            id: DatasetId(1),
            name: name.to_owned(),
            source: "test".to_owned(),
            rows,
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            start: None,
            end: None,
            step_ns: Some(Timestamp::NANOS_PER_SEC),
            has_labels: true,
            label_count: 0,
            warnings: Vec::new(),
            parent: None,
            plan_json: None,
            created_ms: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn icon_decodes_to_a_square_image() {
        let icon = eframe::icon_data::from_png_bytes(super::ICON_PNG).unwrap();
        assert_eq!((icon.width, icon.height), (256, 256));
    }
}
