//! What flows between a replay thread and its consumer: [`Command`]s in (bounded, sent with
//! `try_send` so a caller never blocks), [`StreamBatch`]es out (bounded: backpressure).

use std::fmt;
use std::ops::Range;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::eval::DelaySummary;
use crate::inject::InjectedWindow;
use crate::model::{AnomalyWindow, Timestamp};
use crate::storage::{JobId, RunId, RunStatus};

/// Slowest replay speed (a tenth of real time).
pub const MIN_SPEED: f64 = 0.1;
/// Fastest paced replay speed; beyond it use [`Speed::Max`].
pub const MAX_SPEED: f64 = 10_000.0;

/// How fast a stream replays its timestamps.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Speed {
    /// Real time × the factor, in [`MIN_SPEED`, `MAX_SPEED`].
    Factor(f64),
    /// As fast as the detectors and the consumer allow (no waiting).
    Max,
}

impl Speed {
    /// A checked speed factor.
    pub fn factor(factor: f64) -> Result<Self, String> {
        if (MIN_SPEED..=MAX_SPEED).contains(&factor) {
            Ok(Self::Factor(factor))
        } else {
            Err(format!(
                "speed {factor} must be in {MIN_SPEED}..={MAX_SPEED} (or `max`)"
            ))
        }
    }

    /// Checks a speed built by hand (e.g. deserialised).
    pub fn check(self) -> Result<Self, String> {
        match self {
            Self::Factor(f) => Self::factor(f),
            Self::Max => Ok(self),
        }
    }
}

impl Default for Speed {
    fn default() -> Self {
        Self::Factor(1.0)
    }
}

impl FromStr for Speed {
    type Err = String;

    /// `max`, `50`, `50x`, `0.5`.
    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("max") {
            return Ok(Self::Max);
        }
        let number = text.strip_suffix(['x', 'X']).unwrap_or(text);
        let factor: f64 = number
            .parse()
            .map_err(|_| format!("speed {text:?} is not a number or `max`"))?;
        Self::factor(factor)
    }
}

impl fmt::Display for Speed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Factor(x) => write!(f, "{x}x"),
            Self::Max => f.write_str("max"),
        }
    }
}

/// A request to a running stream. Sent with `try_send` on a bounded channel; cancellation
/// also sets a shared flag, so it works even when the channel is full.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Command {
    /// Hold the replay (the job shows as paused).
    Pause,
    /// Continue a paused replay from where it stopped.
    Resume,
    /// Jump forward to this row: rows in between are scored at once, without waiting.
    Seek(usize),
    /// Change the speed; the replay continues from the current row at the new pace.
    SetSpeed(Speed),
    /// Stop; partial results are kept and marked cancelled.
    Cancel,
}

/// Something that happened in a stream, carried inside a [`StreamBatch`] in row order.
#[derive(Clone, Debug, PartialEq)]
pub enum StreamEvent {
    /// The first message of every stream: what will come.
    Started {
        /// The job (negative ids are jobs that are not stored).
        job: JobId,
        /// Runs, one per detector, in detector order (empty when not stored).
        runs: Vec<RunId>,
        /// Detector ids, in the order of [`StreamBatch::scores`].
        detectors: Vec<String>,
        /// Value column names, in the order of [`StreamBatch::values`].
        columns: Vec<String>,
        /// Rows the stream will replay.
        rows_total: usize,
        /// Windows the injection plan will write (known ahead of the rows).
        planned: Vec<InjectedWindow>,
    },
    /// The detectors are being fitted (warm-up).
    WarmingUp,
    /// Fitting ended; the replay starts.
    WarmedUp {
        /// Seconds spent fitting all detectors.
        fit_secs: f64,
    },
    /// The job's state changed (running, paused).
    Status(RunStatus),
    /// The speed changed.
    SpeedChanged(Speed),
    /// The replay jumped forward to this row.
    Seeked {
        /// The next row replayed.
        to_row: usize,
    },
    /// A detector's flags went from normal to anomalous at this row.
    WindowOpened {
        /// Position of the detector in the stream's detector list.
        detector: usize,
        /// First flagged row.
        row: usize,
        /// Its timestamp.
        ts: Timestamp,
    },
    /// A detector's anomaly window closed (or the stream ended inside it).
    WindowClosed {
        /// Position of the detector.
        detector: usize,
        /// The closed window.
        window: AnomalyWindow,
    },
    /// A request that could not be honoured (e.g. seeking backwards).
    Notice(String),
    /// The last event of every stream.
    Finished(StreamOutcome),
}

/// A batch of replayed rows plus the events that happened while they passed. Column-major,
/// like [`Series`](crate::model::Series): one vector per value column and one per detector.
/// A batch may hold no rows and only events.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StreamBatch {
    /// The rows, as indices into the dataset.
    pub rows: Range<usize>,
    /// One timestamp per row.
    pub timestamps: Vec<Timestamp>,
    /// Values after live injection, one vector per column.
    pub values: Vec<Vec<f64>>,
    /// Ground truth per row: injected by the plan, or labelled in the dataset.
    pub labels: Vec<bool>,
    /// Scores, one vector per detector (NaN during a detector's warm-up).
    pub scores: Vec<Vec<f64>>,
    /// The online threshold each row was compared with, per detector (NaN while calibrating).
    pub thresholds: Vec<Vec<f64>>,
    /// Flags, per detector.
    pub flags: Vec<Vec<bool>>,
    /// Events, in the order they happened.
    pub events: Vec<StreamEvent>,
    /// Clock time when the first row of the batch was replayed (latency measurements).
    pub first_row_at: Duration,
}

impl StreamBatch {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when the batch only carries events.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// An empty batch shaped for `columns` value columns and `detectors` detectors, starting
    /// at `row`, with room for `capacity` rows.
    pub(crate) fn with_shape(
        row: usize,
        columns: usize,
        detectors: usize,
        capacity: usize,
    ) -> Self {
        let per =
            |n: usize| -> Vec<Vec<f64>> { (0..n).map(|_| Vec::with_capacity(capacity)).collect() };
        Self {
            rows: row..row,
            timestamps: Vec::with_capacity(capacity),
            values: per(columns),
            labels: Vec::with_capacity(capacity),
            scores: per(detectors),
            thresholds: per(detectors),
            flags: (0..detectors)
                .map(|_| Vec::with_capacity(capacity))
                .collect(),
            events: Vec::new(),
            first_row_at: Duration::ZERO,
        }
    }
}

/// What one detector did over a finished (or stopped) stream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DetectorOutcome {
    /// Detector id.
    pub detector: String,
    /// Its stored run, when the job is stored.
    pub run: Option<RunId>,
    /// Rows flagged.
    pub flagged: usize,
    /// Anomaly windows opened.
    pub windows: usize,
    /// Detection delay per true window (injected windows when there is a plan, else the
    /// dataset's labelled windows), over the rows replayed.
    pub delays: DelaySummary,
}

/// How a stream ended; also stored as the job's `summary_json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StreamOutcome {
    /// The job.
    pub job: JobId,
    /// Finished, cancelled or failed.
    pub status: RunStatus,
    /// Error text when failed.
    pub error: Option<String>,
    /// Rows replayed and scored.
    pub rows_done: usize,
    /// Rows in the dataset.
    pub rows_total: usize,
    /// Seconds spent fitting (warm-up).
    pub fit_secs: f64,
    /// Seconds from the first to the last row replayed (wall clock).
    pub replay_secs: f64,
    /// Rows per second over the replay (wall clock; paced streams are as slow as their speed).
    pub rows_per_sec: f64,
    /// Per detector, in stream order.
    pub detectors: Vec<DetectorOutcome>,
}
