//! Copying datasets with their runs and jobs from one store to another (`anomdet sync`,
//! e.g. the local SQLite file to a team's PostgreSQL server and back).
//!
//! Works through the [`Storage`] trait only, so any two backends pair up. A dataset whose
//! name already exists in the target is skipped (with its runs): syncing twice copies
//! nothing new, and nothing in the target is ever overwritten. Each copied dataset is stored
//! with its jobs and runs; if one of those fails, the dataset is removed from the target
//! again, so a failed sync leaves no half-copied dataset behind and can simply be repeated.
//! Ids are the target's own; parent links and run → job links are translated. Creation
//! times and a job's `finished_ms` are kept (the `New*` records carry them). Saved models are
//! not copied: their state belongs to the build that wrote it.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::storage::{
    DatasetId, DatasetMeta, JobId, JobUpdate, NewDataset, NewJob, NewRun, Storage, StorageError,
};

/// What a sync did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    /// Datasets copied, by name, in copy order.
    pub copied: Vec<String>,
    /// Datasets left out because the target has one of that name.
    pub skipped: Vec<String>,
    /// Runs copied.
    pub runs: usize,
    /// Jobs copied.
    pub jobs: usize,
}

/// Copies the datasets named in `names` (all when empty), with their runs and jobs, from
/// `from` to `to`.
///
/// # Errors
/// [`StorageError::DatasetNotFound`] for a name `from` does not have (before anything is
/// copied); any error of either backend (datasets copied before it stay copied).
pub fn sync(
    from: &dyn Storage,
    to: &mut dyn Storage,
    names: &[String],
) -> Result<SyncReport, StorageError> {
    let all = from.list_datasets()?;
    let mut chosen: Vec<DatasetMeta> = if names.is_empty() {
        all
    } else {
        names
            .iter()
            .map(|name| {
                all.iter()
                    .find(|meta| &meta.name == name)
                    .cloned()
                    .ok_or_else(|| StorageError::DatasetNotFound(format!("{name:?}")))
            })
            .collect::<Result<_, _>>()?
    };
    // Parents were stored before their copies, so id order copies parents first.
    chosen.sort_by_key(|meta| meta.id);
    chosen.dedup_by_key(|meta| meta.id);
    let jobs = from.list_jobs()?;
    let mut report = SyncReport::default();
    let mut ids: BTreeMap<DatasetId, DatasetId> = BTreeMap::new();
    for meta in &chosen {
        match to.dataset_by_name(&meta.name) {
            Ok(existing) => {
                ids.insert(meta.id, existing.id);
                report.skipped.push(meta.name.clone());
                continue;
            }
            Err(StorageError::DatasetNotFound(_)) => {}
            Err(e) => return Err(e),
        }
        let parent = match meta.parent {
            Some(p) => parent_in_target(from, &*to, &ids, p)?,
            None => None,
        };
        let series = from.load_series(meta.id)?;
        let new = NewDataset {
            name: meta.name.clone(),
            source: meta.source.clone(),
            warnings: meta.warnings.clone(),
            parent,
            plan_json: meta.plan_json.clone(),
            created_ms: Some(meta.created_ms),
        };
        let stored = to.put_dataset(&new, &series)?;
        ids.insert(meta.id, stored.id);
        let own_jobs = jobs.iter().filter(|job| job.dataset == meta.id);
        match copy_children(from, to, meta.id, stored.id, own_jobs) {
            Ok((runs, jobs)) => {
                report.runs += runs;
                report.jobs += jobs;
                report.copied.push(meta.name.clone());
            }
            Err(e) => {
                // Leave no half-copied dataset: the sync can then be repeated as is.
                to.delete_dataset(stored.id).ok();
                return Err(e);
            }
        }
    }
    Ok(report)
}

/// The target id of source dataset `parent`: copied in this sync, or present by name.
fn parent_in_target(
    from: &dyn Storage,
    to: &dyn Storage,
    ids: &BTreeMap<DatasetId, DatasetId>,
    parent: DatasetId,
) -> Result<Option<DatasetId>, StorageError> {
    if let Some(&id) = ids.get(&parent) {
        return Ok(Some(id));
    }
    let name = match from.dataset(parent) {
        Ok(meta) => meta.name,
        Err(StorageError::DatasetNotFound(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    match to.dataset_by_name(&name) {
        Ok(meta) => Ok(Some(meta.id)),
        Err(StorageError::DatasetNotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Copies the jobs and runs of source dataset `source` to target dataset `target`; returns
/// (runs, jobs) copied.
fn copy_children<'a>(
    from: &dyn Storage,
    to: &mut dyn Storage,
    source: DatasetId,
    target: DatasetId,
    jobs: impl Iterator<Item = &'a crate::storage::JobRecord>,
) -> Result<(usize, usize), StorageError> {
    let mut job_ids: BTreeMap<JobId, JobId> = BTreeMap::new();
    for job in jobs {
        let id = to.put_job(&NewJob {
            dataset: target,
            kind: job.kind.clone(),
            spec_json: job.spec_json.clone(),
            status: job.status,
            rows_total: job.rows_total,
            owner_pid: job.owner_pid,
            created_ms: Some(job.created_ms),
            finished_ms: job.finished_ms,
        })?;
        to.update_job(
            id,
            &JobUpdate {
                status: Some(job.status),
                error: job.error.clone(),
                rows_done: Some(job.rows_done),
                rows_per_sec: Some(job.rows_per_sec),
                summary_json: Some(job.summary_json.clone()),
            },
        )?;
        job_ids.insert(job.id, id);
    }
    let mut runs = 0;
    for summary in from.list_runs(Some(source))? {
        let record = from.run(summary.id)?;
        let s = record.summary;
        to.put_run(&NewRun {
            dataset: target,
            detector: s.detector,
            params: s.params,
            seed: s.seed,
            threshold_json: s.threshold_json,
            mode: s.mode,
            status: s.status,
            error: s.error,
            scores: record.scores,
            predicted: record.predicted,
            metrics_json: s.metrics_json,
            fit_secs: s.fit_secs,
            score_secs: s.score_secs,
            job: s.job.and_then(|job| job_ids.get(&job).copied()),
            created_ms: Some(s.created_ms),
        })?;
        runs += 1;
    }
    Ok((runs, job_ids.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Series;
    use crate::storage::{MemoryStorage, RunStatus};

    fn run_of(dataset: DatasetId, job: Option<JobId>) -> NewRun {
        NewRun {
            dataset,
            detector: "zscore".to_owned(),
            params: crate::model::Params::default(),
            seed: 7,
            threshold_json: "{}".to_owned(),
            mode: "batch".to_owned(),
            status: RunStatus::Finished,
            error: None,
            scores: vec![f64::NAN, 1.0, -0.0],
            predicted: vec![false, true, false],
            metrics_json: "{}".to_owned(),
            fit_secs: 0.5,
            score_secs: 0.25,
            job,
            created_ms: None,
        }
    }

    #[test]
    fn copies_datasets_runs_jobs_and_links_once() {
        let mut from = MemoryStorage::default();
        let series = Series::from_values("v", vec![1.0, f64::NAN, 3.0]);
        let a = from.put_dataset(&NewDataset::named("a"), &series).unwrap();
        let mut child = NewDataset::named("a injected");
        child.parent = Some(a.id);
        let b = from.put_dataset(&child, &series).unwrap();
        let job = from
            .put_job(&NewJob {
                dataset: b.id,
                kind: "stream".to_owned(),
                spec_json: "{}".to_owned(),
                status: RunStatus::Finished,
                rows_total: 3,
                owner_pid: 1,
                created_ms: Some(1_000),
                finished_ms: Some(2_000),
            })
            .unwrap();
        let mut old_run = run_of(b.id, Some(job));
        old_run.created_ms = Some(3_000);
        from.put_run(&old_run).unwrap();
        from.put_run(&run_of(a.id, None)).unwrap();

        let mut to = MemoryStorage::default();
        let report = sync(&from, &mut to, &[]).unwrap();
        assert_eq!(report.copied, ["a", "a injected"]);
        assert_eq!((report.runs, report.jobs), (2, 1), "{report:?}");
        let b2 = to.dataset_by_name("a injected").unwrap();
        let a2 = to.dataset_by_name("a").unwrap();
        assert_eq!(b2.parent, Some(a2.id), "parent link translated");
        let runs = to.list_runs(Some(b2.id)).unwrap();
        let job2 = to.list_jobs().unwrap()[0].clone();
        assert_eq!(runs[0].job, Some(job2.id), "run → job link translated");
        let source_job = from.list_jobs().unwrap()[0].clone();
        assert_eq!(
            (job2.created_ms, job2.finished_ms),
            (1_000, Some(2_000)),
            "job times kept: {source_job:?}"
        );
        assert_eq!(runs[0].created_ms, 3_000, "run time kept");
        assert_eq!(a2.created_ms, from.dataset(a.id).unwrap().created_ms);
        let again = sync(&from, &mut to, &[]).unwrap();
        assert!(again.copied.is_empty(), "second sync copies nothing");
        assert_eq!(again.skipped.len(), 2, "{again:?}");
        let missing = sync(&from, &mut to, &["nope".to_owned()]);
        assert!(
            matches!(missing, Err(StorageError::DatasetNotFound(_))),
            "{missing:?}"
        );
    }
}
