//! The storage writer thread of a stored stream: appends each run's scores and flags in
//! batched transactions (every `store_every_rows` rows or `store_every` of wall time, whichever
//! comes first) and keeps the job record's progress, status and summary current.
//!
//! Kept off the replay thread so a slow disk never delays a row; the bounded channel between
//! them still bounds memory (the replay blocks if the writer falls 16 batches behind). A
//! crash loses at most the rows not yet flushed: each `append_run` is one transaction, and the
//! job's `rows_done` is only advanced after every run's append.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};
use parking_lot::Mutex;

use super::protocol::StreamOutcome;
use crate::error::Result;
use crate::storage::{JobId, JobUpdate, RunId, RunStatus, RunUpdate, Storage};

/// A message from the replay thread to the writer.
#[derive(Debug)]
pub(crate) enum WriterMsg {
    /// New rows: per detector, scores and flags, in row order after the previous message's.
    Rows {
        scores: Vec<Vec<f64>>,
        flags: Vec<Vec<bool>>,
        rows_done: usize,
        rows_per_sec: f64,
    },
    /// The job's status changed (paused, running).
    Status(RunStatus),
    /// The stream ended: flush, store the outcome, exit.
    Finish(Box<StreamOutcome>),
}

pub(crate) struct Writer {
    pub(crate) storage: Arc<Mutex<Box<dyn Storage>>>,
    pub(crate) job: JobId,
    pub(crate) runs: Vec<RunId>,
    pub(crate) rx: Receiver<WriterMsg>,
    pub(crate) every_rows: usize,
    pub(crate) every: Duration,
}

#[derive(Default)]
struct Pending {
    scores: Vec<Vec<f64>>,
    flags: Vec<Vec<bool>>,
    rows: usize,
    rows_done: usize,
    rows_per_sec: f64,
}

impl Writer {
    /// Runs until the replay sends `Finish` or goes away.
    pub(crate) fn run(self) -> Result<()> {
        let mut pending = Pending {
            scores: vec![Vec::new(); self.runs.len()],
            flags: vec![Vec::new(); self.runs.len()],
            rows_per_sec: f64::NAN,
            ..Pending::default()
        };
        let mut last_flush = Instant::now();
        loop {
            let wait = self.every.saturating_sub(last_flush.elapsed());
            match self.rx.recv_timeout(wait) {
                Ok(WriterMsg::Rows {
                    scores,
                    flags,
                    rows_done,
                    rows_per_sec,
                }) => {
                    for (all, new) in pending.scores.iter_mut().zip(scores) {
                        all.extend(new);
                    }
                    let mut added = 0;
                    for (all, new) in pending.flags.iter_mut().zip(flags) {
                        added = new.len();
                        all.extend(new);
                    }
                    pending.rows += added;
                    pending.rows_done = rows_done;
                    pending.rows_per_sec = rows_per_sec;
                    if pending.rows >= self.every_rows || last_flush.elapsed() >= self.every {
                        self.flush(&mut pending)?;
                        last_flush = Instant::now();
                    }
                }
                Ok(WriterMsg::Status(status)) => {
                    self.flush(&mut pending)?;
                    last_flush = Instant::now();
                    self.storage.lock().update_job(
                        self.job,
                        &JobUpdate {
                            status: Some(status),
                            ..JobUpdate::default()
                        },
                    )?;
                }
                Ok(WriterMsg::Finish(outcome)) => {
                    self.flush(&mut pending)?;
                    return self.finish(&outcome);
                }
                Err(RecvTimeoutError::Timeout) => {
                    self.flush(&mut pending)?;
                    last_flush = Instant::now();
                }
                Err(RecvTimeoutError::Disconnected) => {
                    // The replay thread died without finishing (a panic): keep what we have.
                    self.flush(&mut pending)?;
                    let failed = JobUpdate {
                        status: Some(RunStatus::Failed),
                        error: Some("the replay thread stopped unexpectedly".into()),
                        ..JobUpdate::default()
                    };
                    let mut storage = self.storage.lock();
                    storage.update_job(self.job, &failed)?;
                    for &run in &self.runs {
                        storage.update_run(
                            run,
                            &RunUpdate {
                                status: Some(RunStatus::Failed),
                                error: failed.error.clone(),
                                ..RunUpdate::default()
                            },
                        )?;
                    }
                    return Ok(());
                }
            }
        }
    }

    fn flush(&self, pending: &mut Pending) -> Result<()> {
        if pending.rows == 0 {
            return Ok(());
        }
        let mut storage = self.storage.lock();
        for ((&run, scores), flags) in self.runs.iter().zip(&pending.scores).zip(&pending.flags) {
            storage.append_run(run, scores, flags)?;
        }
        storage.update_job(
            self.job,
            &JobUpdate {
                rows_done: Some(pending.rows_done),
                rows_per_sec: pending
                    .rows_per_sec
                    .is_finite()
                    .then_some(pending.rows_per_sec),
                ..JobUpdate::default()
            },
        )?;
        drop(storage);
        for v in &mut pending.scores {
            v.clear();
        }
        for v in &mut pending.flags {
            v.clear();
        }
        pending.rows = 0;
        Ok(())
    }

    fn finish(&self, outcome: &StreamOutcome) -> Result<()> {
        let summary_json = serde_json::to_string(outcome).unwrap_or_else(|_| "{}".to_owned());
        let mut storage = self.storage.lock();
        for (&run, detector) in self.runs.iter().zip(&outcome.detectors) {
            let metrics = serde_json::json!({ "detection_delay": detector.delays });
            storage.update_run(
                run,
                &RunUpdate {
                    status: Some(outcome.status),
                    error: outcome.error.clone(),
                    metrics_json: Some(metrics.to_string()),
                    fit_secs: Some(outcome.fit_secs),
                    score_secs: Some(outcome.replay_secs),
                },
            )?;
        }
        storage.update_job(
            self.job,
            &JobUpdate {
                status: Some(outcome.status),
                error: outcome.error.clone(),
                rows_done: Some(outcome.rows_done),
                rows_per_sec: outcome
                    .rows_per_sec
                    .is_finite()
                    .then_some(outcome.rows_per_sec),
                summary_json: Some(summary_json),
            },
        )?;
        Ok(())
    }
}
