//! [`AppState`]: the part of the app's state that survives a restart (eframe persistence, next
//! to egui's own memory of panel sizes and the window geometry). Runtime state (tasks, loaded
//! data, errors) lives in the app and is never persisted.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::storage::DatasetId;

/// Persisted user choices. Unknown or missing fields fall back to defaults, so older saved
/// states keep loading.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AppState {
    /// The dataset selected when the app was closed; reselected at start if it still exists.
    pub selected: Option<DatasetId>,
    /// Value columns the user hid, by name (applies to every dataset with that column).
    pub hidden_columns: BTreeSet<String>,
    /// Whether ground-truth windows are shaded.
    pub show_labels: bool,
    /// Whether the import-warnings list in the status bar is expanded.
    pub warnings_open: bool,
    /// The tab shown in the workflow panel.
    pub workflow_tab: WorkflowTab,
}

/// The tabs of the workflow panel, in workflow order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkflowTab {
    /// Generate a synthetic series.
    Generate,
    /// Inject anomalies into the selected dataset.
    Inject,
    /// Run detectors.
    #[default]
    Detect,
    /// Fit, save and run models.
    Models,
    /// Live streams and the jobs panel.
    Watch,
    /// Stored runs of the selected dataset.
    Runs,
}

impl WorkflowTab {
    /// Every tab, in display order.
    pub const ALL: [Self; 6] = [
        Self::Generate,
        Self::Inject,
        Self::Detect,
        Self::Models,
        Self::Watch,
        Self::Runs,
    ];

    /// The tab's title.
    pub fn title(self) -> &'static str {
        match self {
            Self::Generate => "Generate",
            Self::Inject => "Inject",
            Self::Detect => "Detect",
            Self::Models => "Models",
            Self::Watch => "Watch",
            Self::Runs => "Runs",
        }
    }
}

impl Default for AppState {
    fn default() -> Self {
        Self {
            selected: None,
            hidden_columns: BTreeSet::new(),
            show_labels: true,
            warnings_open: false,
            workflow_tab: WorkflowTab::default(),
        }
    }
}

impl AppState {
    /// The key under which eframe stores it.
    pub const STORAGE_KEY: &'static str = "anomdet-app-state";

    /// Whether column `name` is plotted.
    pub fn column_visible(&self, name: &str) -> bool {
        !self.hidden_columns.contains(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_tolerates_missing_fields() {
        let mut state = AppState::default();
        state.hidden_columns.insert("b".to_owned());
        state.selected = Some(DatasetId(4));
        let text = serde_json::to_string(&state).unwrap();
        assert_eq!(serde_json::from_str::<AppState>(&text).unwrap(), state);
        let old: AppState = serde_json::from_str(r#"{"selected": 2}"#).unwrap();
        assert!(old.show_labels);
        assert!(old.column_visible("a"));
        assert!(!state.column_visible("b"));
    }
}
