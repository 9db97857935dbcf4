//! [`UiCommand`]: what panels ask for. Panels only read state and push commands; the app
//! applies them after layout (`egui_demo_app`'s `Command`, rerun's `CommandSender`), so no panel
//! starts a thread, touches storage or mutates another panel's state mid-frame.

use std::path::PathBuf;

use crate::storage::{DatasetId, RunId};

pub use super::flow::FlowCommand;

/// A request from a panel (or a keyboard shortcut) to the app.
#[derive(Clone, Debug, PartialEq)]
pub enum UiCommand {
    /// Show the native file dialog (on a worker) and import what the user picks.
    OpenFileDialog,
    /// Import these files, one after the other, on a worker.
    ImportFiles(Vec<PathBuf>),
    /// Stop the running import and drop the queued ones.
    CancelImport,
    /// Select a dataset and load it into the plot.
    Select(DatasetId),
    /// Ask the user to confirm deleting a dataset.
    AskDelete(DatasetId),
    /// Delete a dataset (already confirmed).
    Delete(DatasetId),
    /// Close the open dialog without doing anything.
    CloseDialog,
    /// Hide the error shown in the status bar.
    DismissError,
    /// Show or hide the import-warnings list in the status bar.
    ToggleWarnings,
    /// Show or hide one value column in the plot.
    SetColumnVisible {
        /// Column name.
        column: String,
        /// Whether it is plotted.
        visible: bool,
    },
    /// Show or hide the ground-truth shading.
    SetLabelsVisible(bool),
    /// Open the comparison window on these runs of a dataset (ticked in the Runs tab).
    CompareRuns {
        /// The dataset the runs scored.
        dataset: DatasetId,
        /// The runs, in the order they are shown.
        runs: Vec<RunId>,
    },
    /// A workflow request (generate, inject, detect, judge, keep).
    Flow(FlowCommand),
    /// A request of the Watch step (jobs panel, live view, Space).
    Watch(super::watch::WatchCommand),
}
