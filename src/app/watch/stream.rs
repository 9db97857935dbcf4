//! [`LiveStream`]: one stream job as the GUI sees it, from the worker that prepares it
//! (`Engine::start_stream_with` loads and fits, so it never runs on the UI thread), through
//! its live [`StreamHandle`] (batches drained without blocking, pause/resume/cancel sent with
//! `try_send`), to a worker that joins its threads (a handle dropped on the UI thread would
//! wait for them).

use std::collections::VecDeque;
use std::ops::Range;
use std::time::{Duration, Instant};

use crossbeam_channel::TryRecvError;

use super::live::LiveData;
use crate::engine::{Notifier, Task};
use crate::storage::{DatasetId, JobId, RunId, RunStatus};
use crate::stream::{StreamEvent, StreamHandle, StreamOutcome};

/// Where a stream is, as the jobs panel shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LiveStatus {
    /// Loading the dataset and building the detectors.
    Starting,
    /// Fitting the detectors.
    WarmingUp,
    /// Replaying.
    Running,
    /// Held by the user.
    Paused,
    /// Replayed every row.
    Finished,
    /// Stopped by the user; the rows received so far are kept.
    Cancelled,
    /// Stopped by an error.
    Failed,
}

impl LiveStatus {
    /// The word shown.
    pub fn label(self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::WarmingUp => "warming up",
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Finished => "finished",
            Self::Cancelled => "cancelled",
            Self::Failed => "failed",
        }
    }

    /// True once the stream can change no more.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Finished | Self::Cancelled | Self::Failed)
    }

    fn from_run(status: RunStatus) -> Self {
        match status {
            RunStatus::Queued => Self::Starting,
            RunStatus::Running => Self::Running,
            RunStatus::Paused => Self::Paused,
            RunStatus::Finished => Self::Finished,
            RunStatus::Cancelled | RunStatus::Interrupted => Self::Cancelled,
            RunStatus::Failed => Self::Failed,
        }
    }
}

/// What a stream needs besides its spec: shown in the jobs panel and the live view.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamInfo {
    /// The dataset replayed.
    pub dataset: DatasetId,
    /// "dataset · detector, detector".
    pub title: String,
    /// Truth windows the dataset's stored injection plan made (drawn apart from labels).
    pub injected: Vec<Range<usize>>,
}

#[derive(Debug)]
enum Phase {
    Starting(Task<StreamHandle>),
    Live(StreamHandle),
    Joining(Task<StreamOutcome>),
    Done,
}

/// A stream job started from the GUI.
#[derive(Debug)]
pub struct LiveStream {
    key: u64,
    info: StreamInfo,
    phase: Phase,
    status: LiveStatus,
    data: Option<LiveData>,
    outcome: Option<StreamOutcome>,
    error: Option<String>,
    job: Option<JobId>,
    runs: Vec<RunId>,
    notices: Vec<String>,
    rate: VecDeque<(Instant, usize)>,
    cancel_sent: Option<Instant>,
    ended_reported: bool,
}

impl LiveStream {
    /// A stream being prepared by `start`.
    pub(crate) fn new(key: u64, info: StreamInfo, start: Task<StreamHandle>) -> Self {
        Self {
            key,
            info,
            phase: Phase::Starting(start),
            status: LiveStatus::Starting,
            data: None,
            outcome: None,
            error: None,
            job: None,
            runs: Vec::new(),
            notices: Vec::new(),
            rate: VecDeque::new(),
            cancel_sent: None,
            ended_reported: false,
        }
    }

    /// The GUI's key of this stream (not the job id, which is known only once it started).
    pub fn key(&self) -> u64 {
        self.key
    }

    /// What it replays.
    pub fn info(&self) -> &StreamInfo {
        &self.info
    }

    /// Its state.
    pub fn status(&self) -> LiveStatus {
        self.status
    }

    /// The rows and results received so far.
    pub fn data(&self) -> Option<&LiveData> {
        self.data.as_ref()
    }

    /// How it ended.
    pub fn outcome(&self) -> Option<&StreamOutcome> {
        self.outcome.as_ref()
    }

    /// Why it failed.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// The stored job (negative ids are not stored), once started.
    pub fn job(&self) -> Option<JobId> {
        self.job
    }

    /// Its stored runs, one per detector.
    pub fn runs(&self) -> &[RunId] {
        &self.runs
    }

    /// Notices the stream sent (a refused seek, ...).
    pub fn notices(&self) -> &[String] {
        &self.notices
    }

    /// Rows received.
    pub fn rows(&self) -> usize {
        self.data.as_ref().map_or(0, LiveData::len)
    }

    /// Rows the stream will replay (0 before it started).
    pub fn rows_total(&self) -> usize {
        self.data.as_ref().map_or(0, |d| d.rows_total)
    }

    /// True while its threads may still send or need joining.
    pub fn is_active(&self) -> bool {
        !matches!(self.phase, Phase::Done)
    }

    /// True while it can be paused, resumed or cancelled.
    pub fn is_controllable(&self) -> bool {
        matches!(self.phase, Phase::Live(_)) && !self.status.is_terminal()
    }

    /// Rows per second received over about the last second; the replay's own figure once
    /// it ended.
    pub fn rows_per_sec(&self) -> Option<f64> {
        if let Some(outcome) = &self.outcome {
            return outcome
                .rows_per_sec
                .is_finite()
                .then_some(outcome.rows_per_sec);
        }
        let (&(t0, r0), &(t1, r1)) = (self.rate.front()?, self.rate.back()?);
        let secs = t1.duration_since(t0).as_secs_f64();
        (secs >= 0.2).then(|| (r1 - r0) as f64 / secs)
    }

    /// Holds the replay.
    pub(crate) fn pause(&self) -> Result<(), String> {
        match &self.phase {
            Phase::Live(handle) if self.status != LiveStatus::Paused => {
                handle.pause().map_err(|e| e.to_string())
            }
            _ => Ok(()),
        }
    }

    /// Continues a paused replay.
    pub(crate) fn resume(&self) -> Result<(), String> {
        match &self.phase {
            Phase::Live(handle) if self.status == LiveStatus::Paused => {
                handle.resume().map_err(|e| e.to_string())
            }
            _ => Ok(()),
        }
    }

    /// Stops the stream (it ends within 100 ms); rows received so far stay.
    pub(crate) fn cancel(&mut self) {
        match &mut self.phase {
            Phase::Live(handle) => {
                handle.cancel();
                self.cancel_sent.get_or_insert_with(Instant::now);
            }
            Phase::Starting(task) => {
                // The worker drops (cancels and joins) the handle it was about to return.
                task.cancel();
                self.phase = Phase::Done;
                self.status = LiveStatus::Cancelled;
            }
            Phase::Joining(_) | Phase::Done => {}
        }
    }

    /// True once the user asked it to stop and it has not ended yet.
    pub fn cancelling(&self) -> bool {
        self.cancel_sent.is_some() && !self.status.is_terminal()
    }

    /// Collects what arrived, spending until `deadline` at most on batches. Never blocks.
    /// Returns true when the stream ended during this poll (once).
    pub(crate) fn poll(&mut self, deadline: Instant, notifier: &Notifier) -> bool {
        match &mut self.phase {
            Phase::Starting(task) => {
                if let Some(result) = task.poll() {
                    match result {
                        Ok(handle) => {
                            self.job = Some(handle.job());
                            self.runs = handle.runs().to_vec();
                            self.phase = Phase::Live(handle);
                        }
                        Err(error) => {
                            self.error = Some(error.to_string());
                            self.status = LiveStatus::Failed;
                            self.phase = Phase::Done;
                        }
                    }
                }
            }
            Phase::Live(_) => self.drain(deadline, notifier),
            Phase::Joining(task) => {
                if let Some(result) = task.poll() {
                    self.phase = Phase::Done;
                    match result {
                        Ok(outcome) => self.take_outcome(outcome),
                        Err(error) => {
                            self.error.get_or_insert_with(|| error.to_string());
                            self.status = LiveStatus::Failed;
                        }
                    }
                }
            }
            Phase::Done => {}
        }
        let now = Instant::now();
        if !self.status.is_terminal() {
            self.rate.push_back((now, self.rows()));
            while self
                .rate
                .front()
                .is_some_and(|(t, _)| now.duration_since(*t) > Duration::from_secs(1))
                && self.rate.len() > 2
            {
                self.rate.pop_front();
            }
        }
        if matches!(self.phase, Phase::Done) && !self.ended_reported {
            self.ended_reported = true;
            return true;
        }
        false
    }

    fn drain(&mut self, deadline: Instant, notifier: &Notifier) {
        let Phase::Live(handle) = &self.phase else {
            return;
        };
        let mut ended = false;
        let mut outcome = None;
        loop {
            match handle.events().try_recv() {
                Ok(batch) => {
                    for event in &batch.events {
                        if let StreamEvent::Started {
                            columns,
                            detectors,
                            rows_total,
                            planned,
                            ..
                        } = event
                        {
                            self.data = Some(LiveData::new(
                                columns.clone(),
                                detectors,
                                *rows_total,
                                planned,
                                &self.info.injected,
                            ));
                        }
                    }
                    if let Some(data) = &mut self.data {
                        data.apply(&batch);
                    }
                    for event in batch.events {
                        match event {
                            StreamEvent::WarmingUp => self.status = LiveStatus::WarmingUp,
                            StreamEvent::Status(status) => {
                                self.status = LiveStatus::from_run(status);
                            }
                            StreamEvent::Notice(text) => self.notices.push(text),
                            StreamEvent::Finished(end) => {
                                outcome = Some(end);
                                ended = true;
                            }
                            _ => {}
                        }
                    }
                    if ended || Instant::now() >= deadline {
                        break;
                    }
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    ended = true;
                    break;
                }
            }
        }
        let done = ended || (handle.is_finished() && handle.events().is_empty());
        if let Some(outcome) = outcome {
            self.take_outcome(outcome);
        }
        if done {
            self.join(notifier);
        }
    }

    /// Joins the stream's threads on a worker (the writer may still be storing).
    fn join(&mut self, notifier: &Notifier) {
        let Phase::Live(handle) = std::mem::replace(&mut self.phase, Phase::Done) else {
            return;
        };
        match Task::spawn("stream-join", notifier.clone(), move |_, _| handle.join()) {
            Ok(task) => self.phase = Phase::Joining(task),
            Err(error) => {
                // The handle went into the closure that failed to start: its drop joined.
                self.error = Some(error.to_string());
            }
        }
    }

    fn take_outcome(&mut self, outcome: StreamOutcome) {
        self.status = LiveStatus::from_run(outcome.status);
        if let Some(error) = &outcome.error {
            self.error.get_or_insert_with(|| error.clone());
        }
        self.outcome = Some(outcome);
    }
}

impl Drop for LiveStream {
    fn drop(&mut self) {
        // Never join on the UI thread: hand a live handle to a thread that cancels and joins.
        if let Phase::Live(handle) = std::mem::replace(&mut self.phase, Phase::Done) {
            handle.cancel();
            let reaper = std::thread::Builder::new()
                .name("stream-reaper".to_owned())
                .spawn(move || drop(handle));
            if let Err(error) = reaper {
                log::warn!("could not start a thread to join a stream: {error}");
            }
        }
    }
}
