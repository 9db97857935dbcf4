//! [`FlowCommand`]: what the workflow panels (generate, inject, detect, runs, results) ask
//! the app for; carried inside [`UiCommand::Flow`](crate::app::UiCommand::Flow) and applied
//! after layout like every other command.

use std::ops::Range;
use std::path::PathBuf;

use crate::app::state::WorkflowTab;
use crate::detect::{DetectorSpec, ThresholdRule};
use crate::inject::{GenerateSpec, InjectionPlan};
use crate::storage::{ModelId, RunId};

/// How detectors run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RunMode {
    /// Score the whole dataset at once on a worker, store the runs.
    Batch,
    /// Replay the dataset row by row through the streaming jobs engine, each detector's
    /// online `update` scoring every row, the runs stored as they go.
    Stream {
        /// Replay speed: real time × this factor, in
        /// [`MIN_SPEED`](crate::stream::MIN_SPEED)..=[`MAX_SPEED`](crate::stream::MAX_SPEED);
        /// `None` = as fast as possible.
        speed: Option<f64>,
    },
}

/// A file format for exporting a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// Timestamp, values, score, flag at the current threshold, label.
    ScoresCsv,
    /// The metrics report as a Markdown table.
    ReportMarkdown,
    /// The metrics report (every metric, baselines) as JSON.
    ReportJson,
}

impl ExportFormat {
    /// File extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::ScoresCsv => "csv",
            Self::ReportMarkdown => "md",
            Self::ReportJson => "json",
        }
    }
}

/// A request from a workflow panel.
#[derive(Clone, Debug, PartialEq)]
pub enum FlowCommand {
    /// Show another tab of the workflow panel.
    SetTab(WorkflowTab),
    /// Generate a synthetic series and store it under (a unique variant of) `name`.
    Generate {
        /// What to generate.
        spec: GenerateSpec,
        /// Dataset name.
        name: String,
    },
    /// Store the selected dataset with `plan` applied as a new dataset.
    SaveInjection {
        /// The injections.
        plan: InjectionPlan,
        /// Name of the new dataset (made unique).
        name: String,
    },
    /// Place the injection being edited on rows `start .. start + length`.
    SetInjectRange {
        /// First row.
        start: usize,
        /// Number of rows (at least 1).
        length: usize,
    },
    /// Run detectors on the selected dataset.
    RunDetectors {
        /// One spec per detector.
        specs: Vec<DetectorSpec>,
        /// How scores become flags.
        rule: ThresholdRule,
        /// Batch or stream.
        mode: RunMode,
    },
    /// Cancel the running detectors.
    CancelDetectors,
    /// Rank `candidates` on the selected dataset without its labels (self-injection: see
    /// `eval::DetectorRanking`) and suggest the best one.
    Suggest {
        /// Detectors to compare.
        candidates: Vec<DetectorSpec>,
    },
    /// Reload the runs list of the selected dataset.
    RefreshRuns,
    /// Open a stored run (scores, detections, metrics).
    OpenRun(RunId),
    /// Close an opened run.
    CloseRun(RunId),
    /// Re-threshold an opened run (no re-scoring).
    SetThreshold {
        /// The run.
        run: RunId,
        /// Rows with `score >= value` are flagged.
        value: f64,
    },
    /// Select a detection of an opened run (for attribution), or none.
    SelectDetection {
        /// The run.
        run: RunId,
        /// Index into its detections.
        index: Option<usize>,
    },
    /// Export an opened run at its current threshold; `path: None` asks with a save dialog
    /// (on a worker).
    Export {
        /// The run.
        run: RunId,
        /// What to write.
        format: ExportFormat,
        /// Where; `None` = ask.
        path: Option<PathBuf>,
    },
    /// Fit a detector on rows of the selected dataset and save it as a model.
    FitModel {
        /// The detector.
        spec: DetectorSpec,
        /// Training rows (end exclusive).
        train_rows: Range<usize>,
        /// Model name; empty = "<detector> on <dataset>".
        name: String,
    },
    /// Cancel the running fit.
    CancelFit,
    /// Reload the saved models.
    RefreshModels,
    /// Score the selected dataset with a saved model (threshold rule of the Detect tab).
    RunModel {
        /// The model.
        model: ModelId,
        /// Batch or stream.
        mode: RunMode,
    },
    /// Delete a saved model.
    DeleteModel(ModelId),
}
