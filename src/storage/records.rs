//! The records stored by every backend.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::model::{Params, Timestamp};

/// Identifies a stored dataset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DatasetId(pub i64);

/// Identifies a stored run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunId(pub i64);

/// Identifies a stored job (one batch or stream execution of one or more detectors).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(pub i64);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for DatasetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// What the caller supplies when storing a dataset (the series itself is passed beside it).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NewDataset {
    /// Unique, user-chosen name.
    pub name: String,
    /// Where it came from (a file path, "generated", "inject of #3").
    pub source: String,
    /// Import warnings the user should keep seeing.
    pub warnings: Vec<String>,
    /// The dataset this one was derived from (an injected copy's original).
    pub parent: Option<DatasetId>,
    /// The JSON injection plan that produced it, for reproduction.
    pub plan_json: Option<String>,
    /// Creation time to keep (milliseconds since the epoch), e.g. when `anomdet sync` copies
    /// a dataset; `None` stamps the time of storing.
    #[serde(default)]
    pub created_ms: Option<i64>,
}

impl NewDataset {
    /// A dataset with just a name.
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }
}

/// A stored dataset's summary, cheap to list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DatasetMeta {
    /// Its id.
    pub id: DatasetId,
    /// Unique name.
    pub name: String,
    /// Origin (path, "generated", ...).
    pub source: String,
    /// Number of rows.
    pub rows: usize,
    /// Value column names in order.
    pub columns: Vec<String>,
    /// First timestamp (None when empty).
    pub start: Option<Timestamp>,
    /// Last timestamp (None when empty).
    pub end: Option<Timestamp>,
    /// Median sampling step in nanoseconds.
    pub step_ns: Option<i64>,
    /// Whether the dataset has a ground-truth label column.
    pub has_labels: bool,
    /// Number of rows labelled anomalous.
    pub label_count: usize,
    /// Import warnings.
    pub warnings: Vec<String>,
    /// Parent dataset for derived copies.
    pub parent: Option<DatasetId>,
    /// Injection plan JSON for derived copies.
    pub plan_json: Option<String>,
    /// When it was stored (milliseconds since the epoch).
    pub created_ms: i64,
}

/// Lifecycle of a run. Stored as its snake_case name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Waiting for a worker.
    Queued,
    /// Being computed.
    Running,
    /// A stream job held by the user; resumes where it stopped.
    Paused,
    /// Completed with all scores.
    Finished,
    /// Stopped by an error; `error` says why.
    Failed,
    /// Stopped by the user; partial results kept.
    Cancelled,
    /// The process died while it ran (found on restart).
    Interrupted,
}

impl RunStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Finished => "finished",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Interrupted => "interrupted",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "queued" => Self::Queued,
            "running" => Self::Running,
            "paused" => Self::Paused,
            "finished" => Self::Finished,
            "failed" => Self::Failed,
            "cancelled" => Self::Cancelled,
            "interrupted" => Self::Interrupted,
            _ => return None,
        })
    }
}

impl RunStatus {
    /// True once nothing will change any more (finished, failed, cancelled, interrupted).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Finished | Self::Failed | Self::Cancelled | Self::Interrupted
        )
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A run to store: a detector applied to a dataset.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewRun {
    /// The dataset scored.
    pub dataset: DatasetId,
    /// Detector id (snake_case, from the registry).
    pub detector: String,
    /// The detector's checked parameters.
    pub params: Params,
    /// Seed used (for randomised detectors).
    pub seed: u64,
    /// Threshold rule as JSON (see `detect::ThresholdRule`).
    pub threshold_json: String,
    /// `batch` or `stream`.
    pub mode: String,
    /// Current status.
    pub status: RunStatus,
    /// Error text for failed runs.
    pub error: Option<String>,
    /// One score per row (NaN during warm-up).
    pub scores: Vec<f64>,
    /// One predicted flag per row.
    pub predicted: Vec<bool>,
    /// Metrics as JSON (empty object until evaluated).
    pub metrics_json: String,
    /// Time spent fitting, in seconds.
    pub fit_secs: f64,
    /// Time spent scoring, in seconds.
    pub score_secs: f64,
    /// The job this run belongs to (stream and multi-detector jobs); `None` for a lone run.
    pub job: Option<JobId>,
    /// Creation time to keep (a synced copy); `None` stamps the time of storing.
    #[serde(default)]
    pub created_ms: Option<i64>,
}

/// A run's summary without the per-row vectors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// Run id.
    pub id: RunId,
    /// The dataset scored.
    pub dataset: DatasetId,
    /// Detector id.
    pub detector: String,
    /// Parameters.
    pub params: Params,
    /// Seed.
    pub seed: u64,
    /// Threshold rule JSON.
    pub threshold_json: String,
    /// `batch` or `stream`.
    pub mode: String,
    /// Status.
    pub status: RunStatus,
    /// Error text.
    pub error: Option<String>,
    /// Number of scored rows.
    pub rows: usize,
    /// Number of rows flagged anomalous.
    pub flagged: usize,
    /// Metrics JSON.
    pub metrics_json: String,
    /// Fit time, seconds.
    pub fit_secs: f64,
    /// Scoring time, seconds.
    pub score_secs: f64,
    /// Creation time, milliseconds since the epoch.
    pub created_ms: i64,
    /// The job this run belongs to.
    pub job: Option<JobId>,
}

/// A full run: summary plus per-row scores and predictions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The summary.
    pub summary: RunSummary,
    /// One score per row.
    pub scores: Vec<f64>,
    /// One predicted flag per row.
    pub predicted: Vec<bool>,
}

/// A change to a stored run's summary; `None` fields are left as they are. Scores are added
/// with `Storage::append_run`, never through this.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunUpdate {
    /// New status.
    pub status: Option<RunStatus>,
    /// Error text (set with a failed status).
    pub error: Option<String>,
    /// Evaluation metrics as JSON (see `eval::EvalReport`).
    pub metrics_json: Option<String>,
    /// Fit time, seconds.
    pub fit_secs: Option<f64>,
    /// Scoring time, seconds.
    pub score_secs: Option<f64>,
}

/// A job to store. Its runs (one per detector) are stored with `NewRun::job` pointing here.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewJob {
    /// The dataset replayed or scored.
    pub dataset: DatasetId,
    /// `batch` or `stream`.
    pub kind: String,
    /// The job's full specification as JSON (detectors, plan, speed, threshold), so it can be
    /// shown and repeated.
    pub spec_json: String,
    /// Initial status (usually queued or running).
    pub status: RunStatus,
    /// Rows the job will process in total.
    pub rows_total: usize,
    /// Process id of the program running it: on restart, a job still "running" whose owner
    /// is gone was interrupted (see `Storage::mark_interrupted`).
    pub owner_pid: u32,
    /// Creation time to keep (a synced copy); `None` stamps the time of storing.
    #[serde(default)]
    pub created_ms: Option<i64>,
    /// End time to keep for a job stored already finished (a synced copy); `None` stamps
    /// the creation time when `status` is terminal.
    #[serde(default)]
    pub finished_ms: Option<i64>,
}

/// A stored job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    /// Job id.
    pub id: JobId,
    /// The dataset.
    pub dataset: DatasetId,
    /// `batch` or `stream`.
    pub kind: String,
    /// Specification JSON.
    pub spec_json: String,
    /// Current status.
    pub status: RunStatus,
    /// Error text for failed jobs.
    pub error: Option<String>,
    /// Rows processed so far (flushed to storage).
    pub rows_done: usize,
    /// Rows in total.
    pub rows_total: usize,
    /// Throughput in rows per second (NaN until measured).
    pub rows_per_sec: f64,
    /// Results of the whole job as JSON (detection delays per injected window, ...).
    pub summary_json: String,
    /// Owner process id.
    pub owner_pid: u32,
    /// Creation time, milliseconds since the epoch.
    pub created_ms: i64,
    /// When it reached a terminal status, milliseconds since the epoch.
    pub finished_ms: Option<i64>,
}

/// A change to a stored job; `None` fields are left as they are. Moving to a terminal status
/// also records `finished_ms`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct JobUpdate {
    /// New status.
    pub status: Option<RunStatus>,
    /// Error text.
    pub error: Option<String>,
    /// Rows processed so far.
    pub rows_done: Option<usize>,
    /// Throughput, rows per second.
    pub rows_per_sec: Option<f64>,
    /// Whole-job results JSON.
    pub summary_json: Option<String>,
}
