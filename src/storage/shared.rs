//! Rules every backend applies the same way: what a stored dataset's summary contains, what a
//! run's summary contains, which runs are acceptable, and the clock for `created_ms`.
//! Keeping them here means the backends cannot drift apart on derived fields.

use std::time::{SystemTime, UNIX_EPOCH};

use super::{DatasetId, DatasetMeta, NewDataset, NewRun, RunId, RunSummary, StorageError};
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
        created_ms,
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
        created_ms,
    }
}
