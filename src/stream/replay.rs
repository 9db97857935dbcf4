//! The replay loop, run on the thread `stream-<job>`: warm-up, then row by row in timestamp
//! order: wait until the row is due (or not at all at max speed), inject, score with every
//! detector's `update`, threshold online, append to the current batch; send batches to the
//! consumer and to the storage writer.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Select, Sender, TrySendError};

use super::clock::{Clock, Wake};
use super::delay::{DelayTracker, label_windows};
use super::handle::{JobMonitor, StartParts};
use super::pacer::Pacer;
use super::protocol::{Command, DetectorOutcome, StreamBatch, StreamEvent, StreamOutcome};
use super::threshold::OnlineThreshold;
use super::writer::WriterMsg;
use super::{Backpressure, Warmup};
use crate::control::CancelToken;
use crate::detect::{DetectError, Detector};
use crate::engine::Notifier;
use crate::error::{Error, Result};
use crate::eval::RowSpan;
use crate::inject::LiveInjector;
use crate::model::{AnomalyWindow, Column, Row, Series, Timestamp};
use crate::storage::{JobId, RunId, RunStatus};

mod block;

/// Rows between two looks at the command queue at full speed (the cancel flag is read every
/// row): far below 100 ms even for the slowest detectors worth streaming.
const COMMAND_POLL_ROWS: usize = 256;

/// How long a blocked send waits before looking at the cancel flag again.
const SEND_POLL: Duration = Duration::from_millis(50);

#[expect(
    clippy::struct_excessive_bools,
    reason = "independent states of the replay loop (paused, finishing, re-anchor, consumer gone)"
)]
pub(crate) struct Replay {
    job: JobId,
    runs: Vec<RunId>,
    detector_ids: Vec<String>,
    series: Arc<Series>,
    train: Option<Series>,
    warmup: Warmup,
    detectors: Vec<Box<dyn Detector>>,
    /// The first `to_fit` detectors are fitted by the warm-up; the rest are saved models.
    to_fit: usize,
    /// Rows in the next full-speed block (see `block.rs`), adapted to the detectors' speed.
    block_rows: usize,
    thresholds: Vec<OnlineThreshold>,
    open: Vec<Option<(usize, Timestamp)>>,
    flagged: Vec<usize>,
    windows: Vec<usize>,
    delays: Vec<DelayTracker>,
    injector: Option<LiveInjector>,
    clock: Arc<dyn Clock>,
    notifier: Notifier,
    events: Sender<StreamBatch>,
    consumer_gone: bool,
    commands: Receiver<Command>,
    cancel: CancelToken,
    writer: Option<Sender<WriterMsg>>,
    monitor: Arc<JobMonitor>,
    backpressure: Backpressure,
    coalesce_max_rows: usize,
    batch_rows: usize,
    flush_every: Duration,
    batch: StreamBatch,
    /// Rows of the current batch already handed to the writer (a coalescing batch is flushed
    /// to storage more than once).
    stored_upto: usize,
    pacer: Pacer,
    paused: bool,
    finishing: bool,
    fast_forward_to: usize,
    reanchor: bool,
    next: usize,
    buf: Vec<f64>,
    started: Option<Instant>,
    fit_secs: f64,
}

impl Replay {
    pub(crate) fn new(
        parts: StartParts,
        events: Sender<StreamBatch>,
        commands: Receiver<Command>,
        cancel: CancelToken,
        writer: Option<Sender<WriterMsg>>,
    ) -> Self {
        let StartParts {
            spec,
            job,
            runs,
            series,
            train,
            detectors,
            to_fit,
            injector,
            storage: _,
            monitor,
            options,
        } = parts;
        let rows = series.len();
        let truth = match &injector {
            Some(live) => live
                .planned_windows()
                .iter()
                .map(|w| {
                    (
                        RowSpan {
                            first: w.first_row,
                            last: w.last_row,
                        },
                        w.start,
                    )
                })
                .collect(),
            None => series
                .labels()
                .map(|labels| label_windows(labels, series.timestamps()))
                .unwrap_or_default(),
        };
        let n = detectors.len();
        let width = series.columns().len();
        let batch_rows = spec.batch_rows.max(1);
        let first_ts = series.timestamps().first().copied().unwrap_or(Timestamp(0));
        Self {
            job,
            runs,
            detector_ids: spec.detectors.iter().map(|d| d.id.clone()).collect(),
            train,
            warmup: spec.warmup,
            thresholds: (0..n)
                .map(|_| OnlineThreshold::new(spec.threshold, rows))
                .collect(),
            open: vec![None; n],
            flagged: vec![0; n],
            windows: vec![0; n],
            delays: vec![DelayTracker::new(truth); n],
            detectors,
            to_fit,
            block_rows: 16,
            injector,
            pacer: Pacer::new(spec.speed, options.clock.now(), first_ts),
            clock: options.clock,
            notifier: options.notifier,
            events,
            consumer_gone: false,
            commands,
            cancel,
            writer,
            monitor,
            backpressure: options.backpressure,
            coalesce_max_rows: options.coalesce_max_rows,
            batch_rows,
            flush_every: spec.flush_every,
            batch: StreamBatch::with_shape(0, width, n, batch_rows),
            stored_upto: 0,
            paused: false,
            finishing: false,
            fast_forward_to: 0,
            reanchor: false,
            next: 0,
            buf: Vec::with_capacity(width),
            started: None,
            fit_secs: 0.0,
            series,
        }
    }

    /// Runs the stream to its end and reports how it ended (errors become a failed outcome).
    pub(crate) fn run(mut self) -> StreamOutcome {
        let (status, error) = match self.main() {
            Ok(status) => (status, None),
            Err(Error::Cancelled) => (RunStatus::Cancelled, None),
            Err(e) => (RunStatus::Failed, Some(e.to_string())),
        };
        self.finish(status, error)
    }

    fn main(&mut self) -> Result<RunStatus> {
        self.batch.events.push(StreamEvent::Started {
            job: self.job,
            runs: self.runs.clone(),
            detectors: self.detector_ids.clone(),
            columns: self.series.column_names(),
            rows_total: self.series.len(),
            planned: self
                .injector
                .as_ref()
                .map(|l| l.planned_windows().to_vec())
                .unwrap_or_default(),
        });
        self.warm_up()?;
        self.set_status(RunStatus::Running);
        self.flush()?;
        self.started = Some(Instant::now());
        let rows = self.series.len();
        if let Some(&ts) = self.series.timestamps().first() {
            self.pacer.anchor(self.clock.now(), ts);
        }
        loop {
            if self.next.is_multiple_of(COMMAND_POLL_ROWS) {
                while let Ok(cmd) = self.commands.try_recv() {
                    self.apply(cmd);
                }
            }
            if self.cancel.is_cancelled() {
                return Ok(RunStatus::Cancelled);
            }
            if self.paused {
                self.flush()?;
                match self.clock.wait_until(Duration::MAX, &self.commands) {
                    Wake::Command(cmd) => self.apply(cmd),
                    Wake::Disconnected => self.cancel.cancel(),
                    Wake::Deadline => {}
                }
                continue;
            }
            if self.next >= rows {
                return Ok(RunStatus::Finished);
            }
            if self.next < self.fast_forward_to || self.pacer.is_max() {
                // Rows due at once: a block up to the next command poll, batch end or seek target.
                let poll = (self.next / COMMAND_POLL_ROWS + 1) * COMMAND_POLL_ROWS;
                let room = self.batch_rows.saturating_sub(self.batch.len()).max(1);
                let mut end = rows.min(poll).min(self.next + room.min(self.block_rows));
                if self.next < self.fast_forward_to {
                    end = end.min(self.fast_forward_to);
                }
                self.step_block(end)?;
            } else if self.wait_for_row()? {
                continue;
            } else {
                self.step()?;
            }
            if self.batch.len() >= self.batch_rows {
                self.flush()?;
            }
        }
    }

    /// Paced streams: waits until row `next` is due. Returns true when it waited (the caller
    /// re-checks commands and state), false when the row is due now.
    fn wait_for_row(&mut self) -> Result<bool> {
        let ts = self.series.timestamps()[self.next];
        if self.reanchor {
            self.reanchor = false;
            self.pacer.anchor(self.clock.now(), ts);
        }
        let Some(due) = self.pacer.due(ts) else {
            return Ok(false);
        };
        let now = self.clock.now();
        let flush_at = self.batch.first_row_at.saturating_add(self.flush_every);
        if now >= due {
            // Catching up: still honour the latency bound.
            if !self.batch.is_empty() && now >= flush_at {
                self.flush()?;
            }
            return Ok(false);
        }
        // The row is not due yet: send what we have if it would otherwise wait past its
        // flush deadline.
        if (!self.batch.is_empty() && due >= flush_at) || !self.batch.events.is_empty() {
            self.flush()?;
        }
        match self.clock.wait_until(due, &self.commands) {
            Wake::Deadline => {}
            Wake::Command(cmd) => self.apply(cmd),
            Wake::Disconnected => self.cancel.cancel(),
        }
        Ok(true)
    }

    fn warm_up(&mut self) -> Result<()> {
        let train: Option<Series> = match self.warmup {
            Warmup::FirstRows { rows: 0 } | Warmup::WholeDataset => None,
            Warmup::FirstRows { rows } => Some(head(&self.series, rows)?),
            Warmup::Dataset { .. } => self.train.take(),
        };
        let whole = Arc::clone(&self.series);
        let fit_on: Option<&Series> = match self.warmup {
            Warmup::WholeDataset => Some(&whole),
            _ => train.as_ref(),
        };
        let Some(fit_on) = fit_on else {
            for detector in &mut self.detectors {
                detector.reset();
            }
            return Ok(());
        };
        self.batch.events.push(StreamEvent::WarmingUp);
        self.flush()?;
        let started = Instant::now();
        for detector in self.detectors.iter_mut().take(self.to_fit) {
            match detector.fit(fit_on, &self.cancel) {
                Ok(()) => detector.reset(),
                Err(DetectError::Cancelled) => return Err(Error::Cancelled),
                Err(e) => return Err(e.into()),
            }
        }
        self.fit_secs = started.elapsed().as_secs_f64();
        self.batch.events.push(StreamEvent::WarmedUp {
            fit_secs: self.fit_secs,
        });
        Ok(())
    }

    /// Replays row `next`.
    #[inline]
    fn step(&mut self) -> Result<()> {
        let i = self.next;
        let ts = self.series.timestamps()[i];
        if self.series.row_into(i, &mut self.buf).is_none() {
            return Err(Error::Invalid(format!("row {i} is out of range")));
        }
        let mut label = self.series.labels().is_some_and(|l| l[i]);
        if let Some(live) = &mut self.injector {
            label |= live.apply_row(i, &mut self.buf)?;
        }
        let batch = &mut self.batch;
        if batch.rows.is_empty() {
            batch.rows = i..i;
            batch.first_row_at = self.clock.now();
        }
        batch.timestamps.push(ts);
        for (column, &v) in batch.values.iter_mut().zip(&self.buf) {
            column.push(v);
        }
        batch.labels.push(label);
        let row = Row {
            index: i,
            ts,
            values: &self.buf,
        };
        for d in 0..self.detectors.len() {
            let score = self.detectors[d].update(row)?;
            let (threshold, flag) = self.thresholds[d].update(score);
            batch.scores[d].push(score);
            batch.thresholds[d].push(threshold);
            batch.flags[d].push(flag);
            match (flag, self.open[d]) {
                (true, None) => {
                    self.open[d] = Some((i, ts));
                    self.windows[d] += 1;
                    batch.events.push(StreamEvent::WindowOpened {
                        detector: d,
                        row: i,
                        ts,
                    });
                }
                (false, Some((first_row, start))) => {
                    self.open[d] = None;
                    batch.events.push(StreamEvent::WindowClosed {
                        detector: d,
                        window: AnomalyWindow {
                            first_row,
                            last_row: i - 1,
                            start,
                            end: Some(self.series.timestamps()[i - 1]),
                        },
                    });
                }
                _ => {}
            }
            self.flagged[d] += usize::from(flag);
            self.delays[d].observe(i, ts, flag);
        }
        batch.rows.end = i + 1;
        self.next = i + 1;
        Ok(())
    }

    fn apply(&mut self, cmd: Command) {
        let rows = self.series.len();
        let now = self.clock.now();
        match cmd {
            Command::Pause if !self.paused => {
                self.paused = true;
                self.set_status(RunStatus::Paused);
            }
            Command::Resume if self.paused => {
                self.paused = false;
                self.pacer.anchor(now, self.previous_ts());
                self.set_status(RunStatus::Running);
            }
            Command::Pause | Command::Resume => {}
            Command::Seek(row) if row > self.next => {
                self.fast_forward_to = row.min(rows);
                self.reanchor = true;
                self.batch.events.push(StreamEvent::Seeked {
                    to_row: self.fast_forward_to,
                });
            }
            Command::Seek(row) => self.batch.events.push(StreamEvent::Notice(format!(
                "cannot seek back to row {row}: the stream is at row {} and stored runs hold \
                 one score per row in order (start a new stream to replay earlier rows)",
                self.next
            ))),
            Command::SetSpeed(speed) => {
                self.pacer.set_speed(speed);
                self.pacer.anchor(now, self.previous_ts());
                self.batch.events.push(StreamEvent::SpeedChanged(speed));
            }
            Command::Cancel => self.cancel.cancel(),
        }
    }

    /// The pace continues from the last row replayed (as if it had been replayed now), so
    /// the next row comes one gap later at the new pace, not at once.
    fn previous_ts(&self) -> Timestamp {
        let ts = self.series.timestamps();
        ts.get(self.next.saturating_sub(1))
            .or_else(|| ts.first())
            .copied()
            .unwrap_or(Timestamp(0))
    }

    fn set_status(&mut self, status: RunStatus) {
        self.monitor.set_status(status);
        self.batch.events.push(StreamEvent::Status(status));
        if let Some(writer) = &self.writer {
            // A writer that is gone reports its own error at join.
            writer.send(WriterMsg::Status(status)).ok();
        }
    }

    fn rows_per_sec(&self) -> f64 {
        match self.started {
            Some(t) if self.next > 0 => self.next as f64 / t.elapsed().as_secs_f64().max(1e-9),
            _ => f64::NAN,
        }
    }

    /// Sends the current batch: its new rows to the writer, the batch to the consumer.
    fn flush(&mut self) -> Result<()> {
        if self.batch.is_empty() && self.batch.events.is_empty() {
            return Ok(());
        }
        let rate = self.rows_per_sec();
        if let Some(writer) = &self.writer
            && self.batch.len() > self.stored_upto
        {
            let from = self.stored_upto;
            let message = WriterMsg::Rows {
                scores: self
                    .batch
                    .scores
                    .iter()
                    .map(|s| s[from..].to_vec())
                    .collect(),
                flags: self
                    .batch
                    .flags
                    .iter()
                    .map(|f| f[from..].to_vec())
                    .collect(),
                rows_done: self.batch.rows.end,
                rows_per_sec: rate,
            };
            if writer.send(message).is_err() {
                self.writer = None;
                return Err(Error::Invalid(
                    "the storage writer stopped (see the job's error)".into(),
                ));
            }
            self.stored_upto = self.batch.len();
        }
        self.monitor
            .set_rate(self.batch.rows.end.max(self.next), rate);
        let fresh = StreamBatch::with_shape(
            self.next,
            self.batch.values.len(),
            self.batch.scores.len(),
            self.batch_rows,
        );
        let batch = std::mem::replace(&mut self.batch, fresh);
        self.stored_upto = 0;
        if self.consumer_gone {
            return Ok(());
        }
        match self.backpressure {
            Backpressure::Coalesce if batch.len() < self.coalesce_max_rows && !self.finishing => {
                match self.events.try_send(batch) {
                    Ok(()) => self.notifier.notify(),
                    Err(TrySendError::Full(batch)) => {
                        // Keep growing it; what the writer has is remembered.
                        self.stored_upto = batch.len();
                        self.batch = batch;
                    }
                    Err(TrySendError::Disconnected(_)) => self.consumer_gone = true,
                }
            }
            _ => self.send_blocking(batch),
        }
        Ok(())
    }

    /// Sends a batch, blocking while the consumer is behind, but still obeying commands and
    /// the cancel flag. A cancelled stream drops the batch (or, for its last batch, waits at
    /// most a moment).
    fn send_blocking(&mut self, batch: StreamBatch) {
        if self.finishing && self.cancel.is_cancelled() {
            if let Err(e) = self.events.send_timeout(batch, SEND_POLL) {
                self.consumer_gone = e.is_disconnected();
            }
            self.notifier.notify();
            return;
        }
        let events = self.events.clone();
        let commands = self.commands.clone();
        let mut batch = Some(batch);
        while let Some(pending) = batch.take() {
            if self.cancel.is_cancelled() && !self.finishing {
                return;
            }
            let mut select = Select::new();
            let send_op = select.send(&events);
            select.recv(&commands);
            let Ok(op) = select.select_timeout(SEND_POLL) else {
                batch = Some(pending);
                continue;
            };
            if op.index() == send_op {
                if op.send(&events, pending).is_err() {
                    self.consumer_gone = true;
                }
                self.notifier.notify();
                return;
            }
            match op.recv(&commands) {
                Ok(cmd) => self.apply(cmd),
                Err(_) => self.cancel.cancel(),
            }
            batch = Some(pending);
        }
    }

    fn finish(mut self, status: RunStatus, error: Option<String>) -> StreamOutcome {
        self.finishing = true;
        let last = self.next.checked_sub(1);
        for d in 0..self.open.len() {
            if let (Some((first_row, start)), Some(last_row)) = (self.open[d].take(), last)
                && first_row <= last_row
            {
                self.batch.events.push(StreamEvent::WindowClosed {
                    detector: d,
                    window: AnomalyWindow {
                        first_row,
                        last_row,
                        start,
                        end: Some(self.series.timestamps()[last_row]),
                    },
                });
            }
        }
        let replay_secs = self.started.map_or(0.0, |t| t.elapsed().as_secs_f64());
        let mut outcome = StreamOutcome {
            job: self.job,
            status,
            error,
            rows_done: self.next,
            rows_total: self.series.len(),
            fit_secs: self.fit_secs,
            replay_secs,
            // 0 rather than NaN when nothing was replayed: the outcome is stored as JSON.
            rows_per_sec: Some(self.rows_per_sec())
                .filter(|r| r.is_finite())
                .unwrap_or(0.0),
            detectors: self
                .detector_ids
                .iter()
                .enumerate()
                .map(|(d, id)| DetectorOutcome {
                    detector: id.clone(),
                    run: self.runs.get(d).copied(),
                    flagged: self.flagged[d],
                    windows: self.windows[d],
                    delays: self.delays[d].summary(self.next),
                })
                .collect(),
        };
        // Rows not yet handed to the writer go now; a failing writer fails the job.
        let consumer_batch_events = std::mem::take(&mut self.batch.events);
        if let Err(e) = self.flush() {
            outcome.status = RunStatus::Failed;
            outcome.error.get_or_insert_with(|| e.to_string());
        }
        if let Some(writer) = self.writer.take() {
            writer
                .send(WriterMsg::Finish(Box::new(outcome.clone())))
                .ok();
        }
        self.monitor.finish(&outcome);
        self.batch.events = consumer_batch_events;
        self.batch
            .events
            .push(StreamEvent::Finished(outcome.clone()));
        if let Err(e) = self.flush() {
            log::warn!("job {}: {e}", self.job);
        }
        outcome
    }
}

/// The first `rows` rows of a series (all of them when it is shorter).
fn head(series: &Series, rows: usize) -> Result<Series> {
    let n = rows.min(series.len());
    let columns = series
        .columns()
        .iter()
        .map(|c| Column::new(c.name.clone(), c.values[..n].to_vec()))
        .collect();
    let labels = series.labels().map(|l| l[..n].to_vec());
    Series::new(series.timestamps()[..n].to_vec(), columns, labels)
        .map_err(|e| Error::Invalid(format!("warm-up rows: {e}")))
}
