//! Jobs in the engine: stream jobs ([`Engine::start_stream`], run by `crate::stream`), batch
//! jobs of several detectors ([`Engine::run_batch_job`]), the job list ([`Engine::jobs`]) and
//! the start-up sweep that marks jobs of dead processes as interrupted.
//!
//! Every job is stored (unless a stream says `persist: false`) before its threads start, with
//! the owner's process id; live jobs also have a [`JobMonitor`] that the list reads without
//! touching storage for their progress.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Instant;

use serde::Serialize;

use super::{Engine, RunControl};
use crate::detect::{DetectorSpec, ThresholdRule};
use crate::error::{Error, Result};
use crate::inject::LiveInjector;
use crate::storage::{
    DatasetId, JobId, JobRecord, JobUpdate, NewJob, NewRun, RunStatus, RunSummary,
};
use crate::stream::{
    self, JobMonitor, StartParts, StreamHandle, StreamOptions, StreamSpec, Warmup,
};

/// Ids of jobs that are not stored count down from -1.
static NEXT_UNSTORED: AtomicI64 = AtomicI64::new(-1);

/// Live monitors kept after their job ended when it is not stored (the rest is in storage).
const KEEP_UNSTORED: usize = 32;

/// True when a process with this id is running. On Linux: `/proc/<pid>` exists; elsewhere
/// only this process is known to be alive (other pids count as alive too, so nothing of a
/// process that may still run is marked interrupted).
pub fn pid_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    if cfg!(target_os = "linux") {
        std::path::Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
}

/// What a batch job of several detectors produced.
#[derive(Clone, Debug, Serialize)]
pub struct BatchJobOutcome {
    /// The stored job.
    pub job: JobId,
    /// One run per detector that ran, in spec order.
    pub runs: Vec<RunSummary>,
    /// Finished, cancelled or failed.
    pub status: RunStatus,
    /// Error text of a failed detector.
    pub error: Option<String>,
    /// Rows scored per second over all detectors.
    pub rows_per_sec: f64,
}

impl Engine {
    /// Marks stored jobs whose owner process is gone as interrupted (called by
    /// [`Engine::open`]). Returns how many were marked.
    pub fn mark_interrupted_jobs(&self) -> Result<usize> {
        Ok(self.storage.lock().mark_interrupted(&pid_alive)?)
    }

    /// Starts a stream job on the wall clock with default options. See
    /// [`start_stream_with`](Self::start_stream_with).
    pub fn start_stream(&self, spec: StreamSpec) -> Result<StreamHandle> {
        self.start_stream_with(spec, StreamOptions::default())
    }

    /// Starts a stream job: checks the spec, loads the dataset (and training set), builds the
    /// detectors and the live injector, stores the job and one run per detector (when
    /// `spec.persist`), and starts the replay thread. Blocks only for that preparation; the
    /// GUI calls it from a task.
    ///
    /// # Errors
    /// A bad spec (no detectors, bad speed or threshold, unknown detector or parameters), a
    /// missing or empty dataset, a plan that does not fit the dataset, storage, threads.
    pub fn start_stream_with(
        &self,
        spec: StreamSpec,
        options: StreamOptions,
    ) -> Result<StreamHandle> {
        let mut spec = spec;
        spec.check().map_err(Error::Invalid)?;
        let mut detectors = Vec::with_capacity(spec.detectors.len());
        let mut params = Vec::with_capacity(spec.detectors.len());
        for detector in &spec.detectors {
            params.push(detector.resolve()?.1);
            detectors.push(detector.build()?);
        }
        let to_fit = detectors.len();
        let mut series = self.load_series(spec.dataset)?;
        for &id in &spec.models {
            let loaded = self.load_model(id)?;
            // Every detector of the stream sees the models' columns, in the models' order.
            if series.column_names() != loaded.summary.columns {
                if detectors.len() > to_fit {
                    return Err(Error::Invalid(format!(
                        "the models of one stream must share their columns; model {id} was \
                         fitted on {:?}, an earlier one on {:?}",
                        loaded.summary.columns,
                        series.column_names()
                    )));
                }
                series = self.series_for_model(spec.dataset, &loaded.summary)?;
            }
            params.push(loaded.summary.params.clone());
            detectors.push(loaded.detector);
            spec.detectors.push(loaded.spec);
        }
        if series.is_empty() {
            return Err(Error::Invalid(format!(
                "dataset {} has no rows to stream",
                spec.dataset
            )));
        }
        let train = match spec.warmup {
            Warmup::Dataset { id } => Some(self.load_series(id)?),
            _ => None,
        };
        let injector = match &spec.plan {
            Some(plan) => Some(LiveInjector::new(
                plan,
                series.timestamps(),
                &series.column_names(),
            )?),
            None => None,
        };
        let spec_json = serde_json::to_string(&spec).unwrap_or_else(|_| "{}".to_owned());
        let threshold_json = serde_json::to_string(&spec.threshold).unwrap_or_default();
        let (job, runs) = if spec.persist {
            let mut storage = self.storage.lock();
            let job = storage.put_job(&NewJob {
                dataset: spec.dataset,
                kind: "stream".to_owned(),
                spec_json: spec_json.clone(),
                status: RunStatus::Queued,
                rows_total: series.len(),
                owner_pid: std::process::id(),
                created_ms: None,
                finished_ms: None,
            })?;
            let mut runs = Vec::with_capacity(spec.detectors.len());
            for (index, (detector, params)) in spec.detectors.iter().zip(params).enumerate() {
                runs.push(storage.put_run(&NewRun {
                    dataset: spec.dataset,
                    detector: detector.id.clone(),
                    params,
                    seed: detector.seed,
                    threshold_json: threshold_json.clone(),
                    mode: match (index >= to_fit).then(|| spec.models[index - to_fit]) {
                        Some(model) => format!("stream (model {model})"),
                        None => "stream".to_owned(),
                    },
                    status: RunStatus::Running,
                    error: None,
                    scores: Vec::new(),
                    predicted: Vec::new(),
                    metrics_json: "{}".to_owned(),
                    fit_secs: 0.0,
                    score_secs: 0.0,
                    job: Some(job),
                    created_ms: None,
                })?);
            }
            (job, runs)
        } else {
            (
                JobId(NEXT_UNSTORED.fetch_sub(1, Ordering::Relaxed)),
                Vec::new(),
            )
        };
        let monitor = Arc::new(JobMonitor::new(
            job,
            spec.dataset,
            "stream",
            spec_json,
            spec.persist,
            series.len(),
        ));
        self.register_live(&monitor);
        stream::spawn(StartParts {
            storage: spec.persist.then(|| Arc::clone(&self.storage)),
            spec,
            job,
            runs,
            series: Arc::new(series),
            train,
            detectors,
            to_fit,
            injector,
            monitor,
            options,
        })
    }

    /// Runs several detectors over one dataset as one stored batch job (its runs point to
    /// it), one after the other, with shared progress (detectors done / total) and
    /// cancellation. A failed detector fails the job; runs already stored are kept.
    ///
    /// # Errors
    /// A bad rule or detector, storage; cancellation and detector failures are reported in
    /// the outcome (and the job record), not as errors.
    pub fn run_batch_job(
        &self,
        dataset: DatasetId,
        specs: &[DetectorSpec],
        rule: ThresholdRule,
        control: &RunControl,
    ) -> Result<BatchJobOutcome> {
        rule.check().map_err(Error::Invalid)?;
        if specs.is_empty() {
            return Err(Error::Invalid(
                "a batch job needs at least one detector".into(),
            ));
        }
        for spec in specs {
            spec.resolve()?;
        }
        let meta = self.dataset(dataset)?;
        let spec_json = serde_json::json!({ "detectors": specs, "threshold": rule }).to_string();
        let job = self.storage.lock().put_job(&NewJob {
            dataset,
            kind: "batch".to_owned(),
            spec_json: spec_json.clone(),
            status: RunStatus::Running,
            rows_total: meta.rows * specs.len(),
            owner_pid: std::process::id(),
            created_ms: None,
            finished_ms: None,
        })?;
        let monitor = Arc::new(JobMonitor::new(
            job,
            dataset,
            "batch",
            spec_json,
            true,
            meta.rows * specs.len(),
        ));
        monitor.set_status(RunStatus::Running);
        self.register_live(&monitor);
        control.progress.set_total(specs.len() as u64);
        let started = Instant::now();
        let mut runs = Vec::new();
        let mut status = RunStatus::Finished;
        let mut error = None;
        for (i, spec) in specs.iter().enumerate() {
            if control.cancel.is_cancelled() {
                status = RunStatus::Cancelled;
                break;
            }
            let inner = RunControl {
                cancel: control.cancel.clone(),
                progress: crate::control::Progress::new(),
            };
            match self.run_batch_in_job(dataset, spec, rule, &inner, Some(job)) {
                Ok(run) => runs.push(run),
                Err(Error::Cancelled) => {
                    status = RunStatus::Cancelled;
                    break;
                }
                Err(e) => {
                    status = RunStatus::Failed;
                    error = Some(format!("{}: {e}", spec.id));
                    break;
                }
            }
            control.progress.set_done(i as u64 + 1);
            let done = meta.rows * (i + 1);
            let rate = done as f64 / started.elapsed().as_secs_f64().max(1e-9);
            monitor.set_rate(done, rate);
            self.storage.lock().update_job(
                job,
                &JobUpdate {
                    rows_done: Some(done),
                    rows_per_sec: Some(rate),
                    ..JobUpdate::default()
                },
            )?;
        }
        let rows_done = meta.rows * runs.len();
        let rows_per_sec = rows_done as f64 / started.elapsed().as_secs_f64().max(1e-9);
        let outcome = BatchJobOutcome {
            job,
            runs,
            status,
            error: error.clone(),
            rows_per_sec,
        };
        let summary_json = serde_json::to_string(&outcome).unwrap_or_else(|_| "{}".to_owned());
        self.storage.lock().update_job(
            job,
            &JobUpdate {
                status: Some(status),
                error,
                rows_done: Some(rows_done),
                rows_per_sec: Some(rows_per_sec),
                summary_json: Some(summary_json),
            },
        )?;
        monitor.set_rate(rows_done, rows_per_sec);
        monitor.set_status(status);
        Ok(outcome)
    }

    /// Every job: stored ones (sorted by id) with live figures for those still running here,
    /// then live jobs that are not stored (negative ids).
    pub fn jobs(&self) -> Result<Vec<JobRecord>> {
        let live: Vec<JobRecord> = self.live.lock().iter().map(|m| m.record()).collect();
        let mut stored = self.storage.lock().list_jobs()?;
        for record in &mut stored {
            if let Some(fresh) = live
                .iter()
                .find(|l| l.id == record.id && !l.status.is_terminal())
            {
                *record = fresh.clone();
            }
        }
        stored.extend(live.into_iter().filter(|l| l.id.0 < 0));
        Ok(stored)
    }

    /// One job (live figures when it runs in this process).
    pub fn job(&self, id: JobId) -> Result<JobRecord> {
        if let Some(m) = self.live.lock().iter().find(|m| m.id() == id)
            && (!m.status().is_terminal() || !m.is_persisted())
        {
            return Ok(m.record());
        }
        Ok(self.storage.lock().job(id)?)
    }

    /// Monitors of the jobs started by this engine that are still listed live.
    pub fn live_jobs(&self) -> Vec<Arc<JobMonitor>> {
        self.live.lock().clone()
    }

    fn register_live(&self, monitor: &Arc<JobMonitor>) {
        let mut live = self.live.lock();
        live.retain(|m| !(m.is_persisted() && m.status().is_terminal()));
        let ended = live.iter().filter(|m| m.status().is_terminal()).count();
        if ended >= KEEP_UNSTORED
            && let Some(pos) = live.iter().position(|m| m.status().is_terminal())
        {
            live.remove(pos);
        }
        live.push(Arc::clone(monitor));
    }
}
