//! [`StreamHandle`]: the caller's side of a running stream (events, controls, join), and
//! [`JobMonitor`]: a live job's state, shared by its threads, its handle and the engine's job
//! list, readable without blocking.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded, never};
use parking_lot::Mutex;

use super::StreamOptions;
use super::StreamSpec;
use super::protocol::{Command, Speed, StreamBatch, StreamOutcome};
use super::replay::Replay;
use super::writer::{Writer, WriterMsg};
use crate::control::{CancelToken, Progress};
use crate::detect::Detector;
use crate::error::{Error, Result};
use crate::inject::LiveInjector;
use crate::model::Series;
use crate::storage::{DatasetId, JobId, JobRecord, RunId, RunStatus, Storage};

/// A live job's state: status, progress and throughput, updated by its threads.
#[derive(Debug)]
pub struct JobMonitor {
    id: JobId,
    dataset: DatasetId,
    kind: &'static str,
    spec_json: String,
    persisted: bool,
    created_ms: i64,
    progress: Progress,
    state: Mutex<MonitorState>,
}

#[derive(Debug, Clone)]
struct MonitorState {
    status: RunStatus,
    error: Option<String>,
    rows_per_sec: f64,
    summary_json: String,
    finished_ms: Option<i64>,
}

impl JobMonitor {
    /// A monitor for a new job.
    pub(crate) fn new(
        id: JobId,
        dataset: DatasetId,
        kind: &'static str,
        spec_json: String,
        persisted: bool,
        rows_total: usize,
    ) -> Self {
        let progress = Progress::new();
        progress.set_total(rows_total as u64);
        Self {
            id,
            dataset,
            kind,
            spec_json,
            persisted,
            created_ms: now_ms(),
            progress,
            state: Mutex::new(MonitorState {
                status: RunStatus::Queued,
                error: None,
                rows_per_sec: f64::NAN,
                summary_json: "{}".to_owned(),
                finished_ms: None,
            }),
        }
    }

    /// The job id (negative for jobs that are not stored).
    pub fn id(&self) -> JobId {
        self.id
    }

    /// True when the job is stored.
    pub fn is_persisted(&self) -> bool {
        self.persisted
    }

    /// Rows done out of rows total.
    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// Current status.
    pub fn status(&self) -> RunStatus {
        self.state.lock().status
    }

    /// The job as a record, as storage would list it (with live figures).
    pub fn record(&self) -> JobRecord {
        let state = self.state.lock().clone();
        let (done, total) = self.progress.get();
        JobRecord {
            id: self.id,
            dataset: self.dataset,
            kind: self.kind.to_owned(),
            spec_json: self.spec_json.clone(),
            status: state.status,
            error: state.error,
            rows_done: done as usize,
            rows_total: total as usize,
            rows_per_sec: state.rows_per_sec,
            summary_json: state.summary_json,
            owner_pid: std::process::id(),
            created_ms: self.created_ms,
            finished_ms: state.finished_ms,
        }
    }

    pub(crate) fn set_status(&self, status: RunStatus) {
        let mut state = self.state.lock();
        state.status = status;
        if status.is_terminal() && state.finished_ms.is_none() {
            state.finished_ms = Some(now_ms());
        }
    }

    pub(crate) fn set_rate(&self, rows_done: usize, rows_per_sec: f64) {
        self.progress.set_done(rows_done as u64);
        self.state.lock().rows_per_sec = rows_per_sec;
    }

    pub(crate) fn finish(&self, outcome: &StreamOutcome) {
        let mut state = self.state.lock();
        state.error.clone_from(&outcome.error);
        state.rows_per_sec = outcome.rows_per_sec;
        state.summary_json = serde_json::to_string(outcome).unwrap_or_else(|_| "{}".to_owned());
        drop(state);
        self.progress.set_done(outcome.rows_done as u64);
        self.set_status(outcome.status);
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Everything the engine prepared for a stream (checked spec, built detectors, stored job).
pub(crate) struct StartParts {
    pub(crate) spec: StreamSpec,
    pub(crate) job: JobId,
    pub(crate) runs: Vec<RunId>,
    pub(crate) series: Arc<Series>,
    /// Training set for [`Warmup::Dataset`](super::Warmup::Dataset).
    pub(crate) train: Option<Series>,
    pub(crate) detectors: Vec<Box<dyn Detector>>,
    /// How many of `detectors` (the first ones) the warm-up fits; the rest were loaded from
    /// saved models.
    pub(crate) to_fit: usize,
    pub(crate) injector: Option<LiveInjector>,
    /// Set when the job is stored.
    pub(crate) storage: Option<Arc<Mutex<Box<dyn Storage>>>>,
    pub(crate) monitor: Arc<JobMonitor>,
    pub(crate) options: StreamOptions,
}

/// Starts the replay thread (and the writer thread for a stored job).
pub(crate) fn spawn(parts: StartParts) -> Result<StreamHandle> {
    let (events_tx, events_rx) = bounded(parts.options.capacity.max(1));
    let (commands_tx, commands_rx) = bounded(64);
    let cancel = CancelToken::new();
    let job = parts.job;
    let runs = parts.runs.clone();
    let monitor = Arc::clone(&parts.monitor);
    let mut writer_tx = None;
    let writer = match &parts.storage {
        Some(storage) => {
            let (tx, rx) = bounded::<WriterMsg>(16);
            writer_tx = Some(tx);
            let writer = Writer {
                storage: Arc::clone(storage),
                job,
                runs: parts.runs.clone(),
                rx,
                every_rows: parts.spec.store_every_rows,
                every: parts.spec.store_every,
            };
            Some(
                std::thread::Builder::new()
                    .name(format!("stream-writer-{job}"))
                    .spawn(move || writer.run())
                    .map_err(|source| Error::Io {
                        context: format!("starting the storage writer of job {job}"),
                        source,
                    })?,
            )
        }
        None => None,
    };
    let replay = Replay::new(parts, events_tx, commands_rx, cancel.clone(), writer_tx);
    let replay = std::thread::Builder::new()
        .name(format!("stream-{job}"))
        .spawn(move || replay.run())
        .map_err(|source| Error::Io {
            context: format!("starting the replay thread of job {job}"),
            source,
        })?;
    Ok(StreamHandle {
        job,
        runs,
        events: events_rx,
        commands: commands_tx,
        cancel,
        monitor,
        replay: Some(replay),
        writer,
    })
}

/// A running stream. Read [`events`](Self::events) (batches of scored rows and events), steer
/// it with the control methods (never blocking), and [`join`](Self::join) it. Dropping the
/// handle cancels the stream and joins its threads.
#[derive(Debug)]
pub struct StreamHandle {
    job: JobId,
    runs: Vec<RunId>,
    events: Receiver<StreamBatch>,
    commands: Sender<Command>,
    cancel: CancelToken,
    monitor: Arc<JobMonitor>,
    replay: Option<JoinHandle<StreamOutcome>>,
    writer: Option<JoinHandle<Result<()>>>,
}

impl StreamHandle {
    /// The job id (negative when the job is not stored).
    pub fn job(&self) -> JobId {
        self.job
    }

    /// The stored runs, one per detector in spec order (empty when not stored).
    pub fn runs(&self) -> &[RunId] {
        &self.runs
    }

    /// Batches of scored rows and events. Drain with `try_recv` (GUI) or `recv` (CLI); the
    /// channel closes after the batch carrying [`StreamEvent::Finished`](super::StreamEvent).
    pub fn events(&self) -> &Receiver<StreamBatch> {
        &self.events
    }

    /// Status, progress and throughput, live.
    pub fn monitor(&self) -> &JobMonitor {
        &self.monitor
    }

    /// Rows replayed out of rows total.
    pub fn progress(&self) -> &Progress {
        self.monitor.progress()
    }

    /// Holds the replay.
    ///
    /// # Errors
    /// [`Error::Invalid`] when the command queue is full ("busy") or the stream has ended.
    pub fn pause(&self) -> Result<()> {
        self.send(Command::Pause)
    }

    /// Continues a paused replay.
    ///
    /// # Errors
    /// As [`pause`](Self::pause).
    pub fn resume(&self) -> Result<()> {
        self.send(Command::Resume)
    }

    /// Jumps forward to `row` (rows in between are scored at once). Seeking backwards is
    /// refused with a [`StreamEvent::Notice`](super::StreamEvent): stored runs hold one score
    /// per row, in order.
    ///
    /// # Errors
    /// As [`pause`](Self::pause).
    pub fn seek(&self, row: usize) -> Result<()> {
        self.send(Command::Seek(row))
    }

    /// Changes the speed.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a speed outside 0.1..=10000, or as [`pause`](Self::pause).
    pub fn set_speed(&self, speed: Speed) -> Result<()> {
        let speed = speed.check().map_err(Error::Invalid)?;
        self.send(Command::SetSpeed(speed))
    }

    /// Stops the stream (within 100 ms); results so far are kept and marked cancelled.
    /// Never blocks; [`join`](Self::join) waits for the threads.
    pub fn cancel(&self) {
        self.cancel.cancel();
        // A full queue already wakes the replay; the flag does the rest.
        self.commands.try_send(Command::Cancel).ok();
    }

    /// True once the replay thread has ended (its outcome is ready for `join`).
    pub fn is_finished(&self) -> bool {
        self.replay.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Waits for the stream to end (it runs to completion unless cancelled; events not read
    /// any more are dropped) and for its results to be stored.
    ///
    /// # Errors
    /// A storage failure of the writer, or a thread that panicked.
    pub fn join(mut self) -> Result<StreamOutcome> {
        self.join_threads()
    }

    fn join_threads(&mut self) -> Result<StreamOutcome> {
        // Nobody reads events any more: let the replay run on without them.
        drop(std::mem::replace(&mut self.events, never()));
        let outcome = match self.replay.take() {
            Some(thread) => thread.join().map_err(|_| {
                Error::Invalid(format!("the replay thread of job {} panicked", self.job))
            })?,
            None => {
                return Err(Error::Invalid(format!(
                    "job {} was already joined",
                    self.job
                )));
            }
        };
        if let Some(writer) = self.writer.take() {
            writer.join().map_err(|_| {
                Error::Invalid(format!("the storage writer of job {} panicked", self.job))
            })??;
        }
        Ok(outcome)
    }

    fn send(&self, command: Command) -> Result<()> {
        match self.commands.try_send(command) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => Err(Error::Invalid(format!(
                "job {} is busy; try again",
                self.job
            ))),
            Err(TrySendError::Disconnected(_)) => {
                Err(Error::Invalid(format!("job {} has ended", self.job)))
            }
        }
    }
}

impl Drop for StreamHandle {
    fn drop(&mut self) {
        if self.replay.is_some() {
            self.cancel();
            self.join_threads().ok();
        }
    }
}
