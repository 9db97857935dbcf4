//! Rules every backend applies the same way: what a stored dataset's summary contains, what a
//! run's summary contains, which runs are acceptable, and the clock for `created_ms`.
//! Keeping them here means the backends cannot drift apart on derived fields.

use std::time::{SystemTime, UNIX_EPOCH};

use super::{
    DatasetId, DatasetMeta, JobId, JobRecord, JobUpdate, NewDataset, NewJob, NewRun, RunId,
    RunStatus, RunSummary, RunUpdate, StorageError,
};
use crate::model::Series;

/// Milliseconds since the Unix epoch (0 if the clock is before 1970).
pub(super) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The summary stored beside a dataset; `id` is filled in by the backend once known.
pub(super) fn dataset_meta(
    id: DatasetId,
    new: &NewDataset,
    series: &Series,
    created_ms: i64,
) -> DatasetMeta {
    DatasetMeta {
        id,
        name: new.name.clone(),
        source: new.source.clone(),
        rows: series.len(),
        columns: series.column_names(),
        start: series.timestamps().first().copied(),
        end: series.timestamps().last().copied(),
        step_ns: series.median_step_ns(),
        has_labels: series.labels().is_some(),
        label_count: series.label_count(),
        warnings: new.warnings.clone(),
        parent: new.parent,
        plan_json: new.plan_json.clone(),
        created_ms: new.created_ms.unwrap_or(created_ms),
    }
}

/// Rejects runs that break the record rules (checked before anything is written).
pub(super) fn check_run(run: &NewRun) -> Result<(), StorageError> {
    if run.predicted.len() != run.scores.len() {
        return Err(StorageError::InvalidRecord(format!(
            "a run needs one prediction per score, got {} predictions for {} scores",
            run.predicted.len(),
            run.scores.len()
        )));
    }
    Ok(())
}

/// The summary of a run as stored.
pub(super) fn run_summary(id: RunId, run: &NewRun, created_ms: i64) -> RunSummary {
    RunSummary {
        id,
        dataset: run.dataset,
        detector: run.detector.clone(),
        params: run.params.clone(),
        seed: run.seed,
        threshold_json: run.threshold_json.clone(),
        mode: run.mode.clone(),
        status: run.status,
        error: run.error.clone(),
        rows: run.scores.len(),
        flagged: run.predicted.iter().filter(|&&p| p).count(),
        metrics_json: run.metrics_json.clone(),
        fit_secs: run.fit_secs,
        score_secs: run.score_secs,
        created_ms: run.created_ms.unwrap_or(created_ms),
        job: run.job,
    }
}

/// Applies `update` to a run summary in place (the Memory backend; SQL backends do the same
/// with `COALESCE`).
pub(super) fn apply_run_update(summary: &mut RunSummary, update: &RunUpdate) {
    if let Some(status) = update.status {
        summary.status = status;
    }
    if let Some(error) = &update.error {
        summary.error = Some(error.clone());
    }
    if let Some(metrics) = &update.metrics_json {
        summary.metrics_json.clone_from(metrics);
    }
    if let Some(fit) = update.fit_secs {
        summary.fit_secs = fit;
    }
    if let Some(score) = update.score_secs {
        summary.score_secs = score;
    }
}

/// Applies `update` to a job in place, stamping `finished_ms` on a move to a terminal status.
pub(super) fn apply_job_update(job: &mut JobRecord, update: &JobUpdate, now_ms: i64) {
    if let Some(status) = update.status {
        if status.is_terminal() && !job.status.is_terminal() {
            job.finished_ms = Some(now_ms);
        }
        job.status = status;
    }
    if let Some(error) = &update.error {
        job.error = Some(error.clone());
    }
    if let Some(rows) = update.rows_done {
        job.rows_done = rows;
    }
    if let Some(rate) = update.rows_per_sec {
        job.rows_per_sec = rate;
    }
    if let Some(summary) = &update.summary_json {
        job.summary_json.clone_from(summary);
    }
}

/// The record of a newly stored job.
pub(super) fn job_record(id: JobId, job: &NewJob, now_ms: i64) -> JobRecord {
    let created_ms = job.created_ms.unwrap_or(now_ms);
    JobRecord {
        id,
        dataset: job.dataset,
        kind: job.kind.clone(),
        spec_json: job.spec_json.clone(),
        status: job.status,
        error: None,
        rows_done: 0,
        rows_total: job.rows_total,
        rows_per_sec: f64::NAN,
        summary_json: "{}".to_owned(),
        owner_pid: job.owner_pid,
        created_ms,
        finished_ms: job
            .status
            .is_terminal()
            .then(|| job.finished_ms.unwrap_or(created_ms)),
    }
}

/// Checks an append: one prediction per score.
pub(super) fn check_append(scores: &[f64], predicted: &[bool]) -> Result<(), StorageError> {
    if predicted.len() == scores.len() {
        Ok(())
    } else {
        Err(StorageError::InvalidRecord(format!(
            "an append needs one prediction per score, got {} predictions for {} scores",
            predicted.len(),
            scores.len()
        )))
    }
}

/// Parses a stored status name; an unknown one means the record `what` is corrupt.
pub(super) fn parse_status(
    text: &str,
    what: impl FnOnce() -> String,
) -> Result<RunStatus, StorageError> {
    RunStatus::parse(text).ok_or_else(|| StorageError::Corrupt {
        what: what(),
        detail: format!("unknown status {text:?}"),
    })
}
