//! Watch (issue 8 step 4): stream jobs started from the Detect tab, drawn live, and the jobs
//! panel.
//!
//! [`Watch`] owns every [`LiveStream`] the GUI started, the focused one (what the live view
//! draws and Space pauses), the stored jobs list (read on a worker every few seconds while
//! the Watch tab shows) and the live view's follow/zoom state. Each frame the shell calls
//! [`Watch::poll`], which drains stream batches within a time budget
//! ([`DRAIN_BUDGET`]): a stream that sends faster than the UI applies keeps its rows in the
//! channel (the GUI starts streams with coalescing backpressure, so they merge into bigger
//! batches instead of stalling the replay) and the next frame continues.
//!
//! Files: `buffer.rs` (appendable min/max pyramid, flag runs), `live.rs` (a stream's data and
//! its detections classified against the truth), `stream.rs` (a stream's lifecycle:
//! start on a worker, drain, control, join on a worker), `view.rs` (the live plots),
//! `panel.rs` (the jobs panel).

pub mod buffer;
pub mod live;
pub mod panel;
pub mod stream;
pub mod view;

use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use live::{DetectionItem, LiveData};
pub use stream::{LiveStatus, LiveStream, StreamInfo};
pub use view::LiveView;

use crate::detect::{DetectorSpec, ThresholdRule};
use crate::engine::{Engine, Notifier, Task};
use crate::error::Error;
use crate::storage::{DatasetId, JobRecord, ModelId, RunId};
use crate::stream::{Backpressure, Clock, Speed, StreamOptions, StreamSpec, Warmup};

/// Time spent applying stream batches per frame, at most (a frame has about 16 ms).
pub const DRAIN_BUDGET: Duration = Duration::from_millis(4);

/// Longest time between two frames while a stream runs (about 60 frames/s).
pub const STREAM_REPAINT: Duration = Duration::from_millis(16);

/// How often the stored jobs list is re-read while the Watch tab shows.
const JOBS_REFRESH: Duration = Duration::from_secs(2);

/// Streams kept in the panel; starting another drops the oldest ended one.
const MAX_STREAMS: usize = 8;

/// A request to start a stream (the Detect tab's "Run as stream").
#[derive(Clone, Debug, PartialEq)]
pub struct StreamRequest {
    /// The dataset to replay.
    pub dataset: DatasetId,
    /// Its name, for titles.
    pub name: String,
    /// Detectors scored side by side.
    pub specs: Vec<DetectorSpec>,
    /// Saved models scored beside them (no fitting).
    pub models: Vec<ModelId>,
    /// How scores become flags (online).
    pub rule: ThresholdRule,
    /// Real time × this factor; `None` = as fast as possible.
    pub speed: Option<f64>,
    /// Truth windows the dataset's stored injection plan made.
    pub injected: Vec<Range<usize>>,
}

/// What the jobs panel and the live view ask for; applied after layout.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum WatchCommand {
    /// Pause the focused stream if it runs, resume it if it is paused (Space).
    TogglePause,
    /// Hold a stream.
    Pause(u64),
    /// Continue a paused stream.
    Resume(u64),
    /// Stop a stream, keeping what it sent.
    Cancel(u64),
    /// Show a stream in the live view.
    Focus(u64),
    /// Remove an ended stream from the panel.
    Close(u64),
    /// Follow the newest rows (true) or leave the view where the user put it.
    Follow(bool),
    /// Width of the followed window, in rows.
    FollowRows(usize),
    /// Re-read the stored jobs.
    RefreshJobs,
}

/// What the shell must do after a stream changed.
#[derive(Clone, Debug, PartialEq)]
pub enum WatchOutput {
    /// A stream ended; its runs are stored.
    Ended {
        /// The dataset it replayed.
        dataset: DatasetId,
        /// Its stored runs.
        runs: Vec<RunId>,
        /// How it ended.
        status: LiveStatus,
        /// A line for the status bar.
        note: String,
    },
    /// An error for the status bar.
    Error(String),
}

/// The Watch step's state.
#[derive(Debug)]
pub struct Watch {
    engine: Engine,
    notifier: Notifier,
    streams: Vec<LiveStream>,
    focused: Option<u64>,
    next_key: u64,
    clock: Option<Arc<dyn Clock>>,
    stored: Vec<JobRecord>,
    jobs_task: Option<Task<Vec<JobRecord>>>,
    jobs_read: Option<Instant>,
    outputs: Vec<WatchOutput>,
    /// The live plots' follow and zoom state.
    pub view: LiveView,
}

impl Watch {
    /// The Watch step over `engine`; `notifier` wakes the UI when a batch arrives.
    pub fn new(engine: Engine, notifier: Notifier) -> Self {
        Self {
            engine,
            notifier,
            streams: Vec::new(),
            focused: None,
            next_key: 1,
            clock: None,
            stored: Vec::new(),
            jobs_task: None,
            jobs_read: None,
            outputs: Vec::new(),
            view: LiveView::default(),
        }
    }

    /// Streams started from now on run on `clock` instead of the wall clock (tests replay
    /// deterministically with a [`ManualClock`](crate::stream::ManualClock)).
    pub fn use_clock(&mut self, clock: Arc<dyn Clock>) {
        self.clock = Some(clock);
    }

    /// Every stream in the panel, oldest first.
    pub fn streams(&self) -> &[LiveStream] {
        &self.streams
    }

    /// The stream shown in the live view.
    pub fn focused(&self) -> Option<&LiveStream> {
        let key = self.focused?;
        self.streams.iter().find(|s| s.key() == key)
    }

    /// Stored jobs as last read (those of this window's live streams included).
    pub fn stored_jobs(&self) -> &[JobRecord] {
        &self.stored
    }

    /// True while a stream starts, runs or is being joined.
    pub fn is_busy(&self) -> bool {
        self.streams.iter().any(LiveStream::is_active)
    }

    /// True when Space means something: the focused stream can be paused or resumed.
    pub fn wants_space(&self) -> bool {
        self.focused().is_some_and(LiveStream::is_controllable)
    }

    /// Space pauses or resumes the focused stream, unless a dialog is open or a text field
    /// has the keyboard (there Space types a space). Consumes the key only when it acts.
    pub fn space_command(&self, ctx: &egui::Context, dialog_open: bool) -> Option<WatchCommand> {
        if dialog_open || !self.wants_space() || ctx.egui_wants_keyboard_input() {
            return None;
        }
        ctx.input_mut(|i| i.consume_key(egui::Modifiers::NONE, egui::Key::Space))
            .then_some(WatchCommand::TogglePause)
    }

    /// Starts a stream on a worker (loading and fitting take time) and focuses it.
    pub fn start(&mut self, request: StreamRequest) {
        let StreamRequest {
            dataset,
            name,
            specs,
            models,
            rule,
            speed,
            injected,
        } = request;
        let title = format!(
            "{name} · {}",
            specs
                .iter()
                .map(|s| s.id.clone())
                .chain(models.iter().map(|m| format!("model #{m}")))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let engine = self.engine.clone();
        let options = StreamOptions {
            clock: self
                .clock
                .clone()
                .unwrap_or_else(|| StreamOptions::default().clock),
            notifier: self.notifier.clone(),
            backpressure: Backpressure::Coalesce,
            ..StreamOptions::default()
        };
        let task = Task::spawn("stream-start", self.notifier.clone(), move |_, _| {
            let mut spec = StreamSpec::new(dataset, specs);
            spec.models = models;
            spec.threshold = rule;
            spec.warmup = Warmup::WholeDataset;
            spec.speed = match speed {
                Some(factor) => Speed::factor(factor).map_err(Error::Invalid)?,
                None => Speed::Max,
            };
            engine.start_stream_with(spec, options)
        });
        match task {
            Ok(task) => {
                let key = self.next_key;
                self.next_key += 1;
                if self.streams.len() >= MAX_STREAMS
                    && let Some(at) = self.streams.iter().position(|s| !s.is_active())
                {
                    self.streams.remove(at);
                }
                let info = StreamInfo {
                    dataset,
                    title,
                    injected,
                };
                self.streams.push(LiveStream::new(key, info, task));
                self.focused = Some(key);
                self.view.follow = true;
            }
            Err(error) => self.outputs.push(WatchOutput::Error(format!(
                "Could not start the stream: {error}"
            ))),
        }
    }

    /// Applies a command from the panel, the live view or the keyboard.
    pub fn apply(&mut self, cmd: WatchCommand) {
        let result = match cmd {
            WatchCommand::TogglePause => match self.focused() {
                Some(s) if s.status() == LiveStatus::Paused => s.resume(),
                Some(s) => s.pause(),
                None => Ok(()),
            },
            WatchCommand::Pause(key) => self.stream(key).map_or(Ok(()), LiveStream::pause),
            WatchCommand::Resume(key) => self.stream(key).map_or(Ok(()), LiveStream::resume),
            WatchCommand::Cancel(key) => {
                if let Some(s) = self.streams.iter_mut().find(|s| s.key() == key) {
                    s.cancel();
                }
                Ok(())
            }
            WatchCommand::Focus(key) => {
                if self.stream(key).is_some() && self.focused != Some(key) {
                    self.focused = Some(key);
                    self.view.follow = true;
                }
                Ok(())
            }
            WatchCommand::Close(key) => {
                // Only ended streams close; a live one is cancelled first.
                self.streams.retain(|s| s.key() != key || s.is_active());
                if self.focused == Some(key) && self.stream(key).is_none() {
                    self.focused = self.streams.last().map(LiveStream::key);
                }
                Ok(())
            }
            WatchCommand::Follow(on) => {
                self.view.follow = on;
                Ok(())
            }
            WatchCommand::FollowRows(rows) => {
                self.view.follow_rows = rows.max(2);
                self.view.follow = true;
                Ok(())
            }
            WatchCommand::RefreshJobs => {
                self.read_jobs();
                Ok(())
            }
        };
        if let Err(error) = result {
            self.outputs.push(WatchOutput::Error(error));
        }
    }

    fn stream(&self, key: u64) -> Option<&LiveStream> {
        self.streams.iter().find(|s| s.key() == key)
    }

    fn read_jobs(&mut self) {
        if self.jobs_task.is_some() {
            return;
        }
        let engine = self.engine.clone();
        self.jobs_read = Some(Instant::now());
        match Task::spawn("jobs", self.notifier.clone(), move |_, _| engine.jobs()) {
            Ok(task) => self.jobs_task = Some(task),
            Err(error) => self.outputs.push(WatchOutput::Error(format!(
                "Could not list the jobs: {error}"
            ))),
        }
    }

    /// Collects what the streams sent (batches within `budget`), stream starts and ends, and
    /// the jobs list (re-read every few seconds while `visible`). Never blocks.
    pub fn poll(&mut self, budget: Duration, visible: bool) -> Vec<WatchOutput> {
        let deadline = Instant::now() + budget;
        let mut ended = false;
        for stream in &mut self.streams {
            if stream.poll(deadline, &self.notifier) {
                ended = true;
                let rows = stream.rows();
                let status = stream.status();
                let mut note = format!(
                    "Stream {} {}: {rows} of {} rows",
                    stream.info().title,
                    status.label(),
                    stream.rows_total()
                );
                if let Some(error) = stream.error() {
                    note = format!("{note} ({error})");
                }
                self.outputs.push(WatchOutput::Ended {
                    dataset: stream.info().dataset,
                    runs: stream.runs().to_vec(),
                    status,
                    note,
                });
            }
        }
        if let Some(task) = &mut self.jobs_task
            && let Some(result) = task.poll()
        {
            self.jobs_task = None;
            match result {
                Ok(jobs) => self.stored = jobs,
                Err(error) => self.outputs.push(WatchOutput::Error(format!(
                    "Could not list the jobs: {error}"
                ))),
            }
        }
        let stale = self.jobs_read.is_none_or(|t| t.elapsed() >= JOBS_REFRESH);
        if ended || (visible && stale) {
            self.read_jobs();
        }
        std::mem::take(&mut self.outputs)
    }

    /// True when the panel lists a stream (the live view has something to draw).
    pub fn has_streams(&self) -> bool {
        !self.streams.is_empty()
    }

    /// Draws the live view of the focused stream.
    pub fn live_ui(
        &mut self,
        ui: &mut egui::Ui,
        state: &crate::app::state::AppState,
        cmds: &mut Vec<crate::app::command::UiCommand>,
    ) {
        let Self {
            view,
            streams,
            focused,
            ..
        } = self;
        match focused.and_then(|key| streams.iter().find(|s| s.key() == key)) {
            Some(stream) => view.ui(ui, stream, state, cmds),
            None => {
                ui.label("Pick a stream in the jobs panel on the right.");
            }
        }
    }

    /// True while a stream sends rows (the UI keeps repainting).
    pub fn is_streaming(&self) -> bool {
        self.streams
            .iter()
            .any(|s| s.is_active() && s.status() != LiveStatus::Paused)
    }
}
