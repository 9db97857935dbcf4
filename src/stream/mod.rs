//! Replay streams and live jobs: a dataset replayed in timestamp order at real time × speed
//! (or as fast as possible), each row injected live, scored by every chosen detector's
//! `update` and thresholded online, with events sent to a consumer in batches over a bounded
//! channel and results written to storage incrementally.
//!
//! Owns: the replay thread (`replay`), the storage writer thread (`writer`), pacing against a
//! [`Clock`] (`clock`, `pacer`), the online threshold (`threshold`), detection-delay tracking
//! (`delay`), the channel protocol (`protocol`) and the caller's [`StreamHandle`] (`handle`).
//! No egui: the GUI, the CLI and the tests use it the same way, through
//! [`Engine::start_stream`](crate::engine::Engine::start_stream).
//!
//! Threads (all named, all joined by [`StreamHandle::join`] or its `Drop`):
//! ```text
//!  caller (GUI / CLI / test)          "stream-<job>"                      "stream-writer-<job>"
//!  handle.pause()/seek()/cancel() ──► cmd channel (bounded 64, try_send)
//!                                     loop: wait for the row's due time on the Clock (a
//!                                       command wakes it) → inject → update() per detector
//!                                       → online threshold → append to the batch
//!  handle.events() ◄── StreamBatch ── every `batch_rows` rows or `flush_every` of clock time
//!   (bounded `capacity` batches)       (blocks when full: backpressure, or coalesces)
//!                                     scores/flags of each batch ─► bounded 16 ─► append_run
//!                                                                   every N rows / T ms, one
//!                                                                   transaction per run;
//!                                                                   update_job(progress)
//! ```
//!
//! Backpressure policy: with [`Backpressure::Block`] (the default, for the CLI and tests) the
//! replay blocks when the consumer has `capacity` batches unread, so memory is bounded by
//! `capacity × batch_rows` rows and a slow consumer slows the replay (paced streams then catch
//! up at full speed). With [`Backpressure::Coalesce`] (for the GUI) a batch that does not fit
//! keeps growing instead, up to `coalesce_max_rows`, then the replay blocks too: a frame that is late
//! now and then does not stall the replay, and memory stays bounded.
//!
//! Cancellation: [`StreamHandle::cancel`] sets a flag and sends a command; a waiting or blocked
//! replay wakes at once, a busy one sees it within 256 rows, so it stops well within 100 ms.
//! Results replayed so far are flushed and marked cancelled.

mod clock;
mod delay;
mod handle;
mod pacer;
mod protocol;
mod replay;
mod threshold;
mod writer;

pub use clock::{Clock, ManualClock, Wake, WallClock};
pub use delay::DelayTracker;
pub use handle::{JobMonitor, StreamHandle};
pub use protocol::{
    Command, DetectorOutcome, MAX_SPEED, MIN_SPEED, Speed, StreamBatch, StreamEvent, StreamOutcome,
};
pub use threshold::OnlineThreshold;

pub(crate) use handle::{StartParts, spawn};

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::detect::{DetectorSpec, ThresholdRule};
use crate::engine::Notifier;
use crate::inject::InjectionPlan;
use crate::storage::{DatasetId, ModelId};

/// How the detectors learn before the replay starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum Warmup {
    /// Fit on the first `rows` rows of the dataset (as stored, before injection); the replay
    /// then starts at row 0, so those rows are scored in-sample. `rows: 0` fits nothing
    /// (only for detectors that need no fitting).
    FirstRows {
        /// Rows to fit on.
        rows: usize,
    },
    /// Fit on the whole stored dataset, as a batch run does: the stream's scores then equal
    /// the batch run's.
    WholeDataset,
    /// Fit on another stored dataset (a clean training set).
    Dataset {
        /// The training dataset.
        id: DatasetId,
    },
}

impl Default for Warmup {
    fn default() -> Self {
        Self::FirstRows { rows: 1000 }
    }
}

/// What to do when the consumer has not read the last `capacity` batches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backpressure {
    /// Block the replay until the consumer reads (no row is ever dropped).
    #[default]
    Block,
    /// Keep growing the pending batch up to [`StreamOptions::coalesce_max_rows`] rows, then
    /// block.
    Coalesce,
}

/// A stream job as data (stored as the job's `spec_json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StreamSpec {
    /// The dataset replayed.
    pub dataset: DatasetId,
    /// Detectors scored side by side (at least one detector or model in all), fitted as
    /// [`warmup`](Self::warmup) says.
    pub detectors: Vec<DetectorSpec>,
    /// Saved models scored beside `detectors` with no warm-up fit: their fitted state is
    /// loaded (`anomdet fit`). The dataset must have the models' columns.
    #[serde(default)]
    pub models: Vec<ModelId>,
    /// How scores become flags, online (SPOT/DSPOT and fixed are online by nature; quantile
    /// and MAD calibrate on the first scores, then stay fixed).
    pub threshold: ThresholdRule,
    /// Anomalies injected live as rows pass.
    #[serde(default)]
    pub plan: Option<InjectionPlan>,
    /// Replay speed.
    #[serde(default)]
    pub speed: Speed,
    /// How detectors are fitted before the replay.
    #[serde(default)]
    pub warmup: Warmup,
    /// Store the job and its runs (incrementally). Off: nothing is written (benches, demos).
    #[serde(default = "yes")]
    pub persist: bool,
    /// Largest batch sent to the consumer, in rows.
    #[serde(default = "default_batch_rows")]
    pub batch_rows: usize,
    /// A batch is sent at the latest this much clock time after its first row (latency bound).
    #[serde(default = "default_flush_every")]
    pub flush_every: Duration,
    /// Storage flushes after this many rows...
    #[serde(default = "default_store_rows")]
    pub store_every_rows: usize,
    /// ... or after this much wall time, whichever comes first.
    #[serde(default = "default_store_every")]
    pub store_every: Duration,
}

fn yes() -> bool {
    true
}
fn default_batch_rows() -> usize {
    4096
}
fn default_flush_every() -> Duration {
    // At 10 000 rows/s: ~50-row batches, 200 a second; keeps p99 latency well under 20 ms.
    Duration::from_millis(5)
}
fn default_store_rows() -> usize {
    65_536
}
fn default_store_every() -> Duration {
    Duration::from_millis(250)
}

impl StreamSpec {
    /// A spec with defaults: real-time speed, MAD threshold, warm-up on the first 1000 rows,
    /// stored, 4096-row batches flushed within 5 ms, storage every 64 Ki rows or 250 ms.
    pub fn new(dataset: DatasetId, detectors: Vec<DetectorSpec>) -> Self {
        Self {
            dataset,
            detectors,
            models: Vec::new(),
            threshold: ThresholdRule::default(),
            plan: None,
            speed: Speed::default(),
            warmup: Warmup::default(),
            persist: true,
            batch_rows: default_batch_rows(),
            flush_every: default_flush_every(),
            store_every_rows: default_store_rows(),
            store_every: default_store_every(),
        }
    }

    /// Checks everything that can be checked without the dataset.
    pub fn check(&self) -> Result<(), String> {
        if self.detectors.is_empty() && self.models.is_empty() {
            return Err("a stream needs at least one detector or saved model".into());
        }
        self.threshold.check()?;
        self.speed.check()?;
        if self.batch_rows == 0 || self.store_every_rows == 0 {
            return Err("batch_rows and store_every_rows must be at least 1".into());
        }
        Ok(())
    }
}

/// How a stream runs, beside its spec: not data, so not stored.
#[derive(Clone, Debug)]
pub struct StreamOptions {
    /// Time source; [`WallClock`] except in tests.
    pub clock: Arc<dyn Clock>,
    /// Called after every batch sent (the GUI's repaint request).
    pub notifier: Notifier,
    /// Batches the consumer may leave unread before backpressure applies.
    pub capacity: usize,
    /// What backpressure does.
    pub backpressure: Backpressure,
    /// Largest batch [`Backpressure::Coalesce`] grows to before blocking.
    pub coalesce_max_rows: usize,
}

impl Default for StreamOptions {
    fn default() -> Self {
        Self {
            clock: Arc::new(WallClock::new()),
            notifier: Notifier::noop(),
            capacity: 64,
            backpressure: Backpressure::Block,
            coalesce_max_rows: 65_536,
        }
    }
}

impl StreamOptions {
    /// Default options on the given clock.
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            ..Self::default()
        }
    }
}
