//! Conformance cases for incremental runs (append, update) and jobs (state, interruption).

use super::datasets::put;
use super::runs::sample_run;
use super::{assert_same_bits, ok, sample_series};
use crate::storage::{
    JobId, JobUpdate, NewJob, RunId, RunStatus, RunUpdate, Storage, StorageError,
};

/// Stores a small dataset and returns its id.
fn dataset(store: &mut dyn Storage, name: &str) -> crate::storage::DatasetId {
    put(store, name, &sample_series(10, 1, false, 1)).id
}

/// A running stream job over `dataset` owned by process `owner_pid`.
pub fn sample_job(dataset: crate::storage::DatasetId, owner_pid: u32) -> NewJob {
    NewJob {
        dataset,
        kind: "stream".to_owned(),
        spec_json:
            r#"{"detectors":["rolling_zscore"],"speed":"max","name":"x'); DROP TABLE jobs;--"}"#
                .to_owned(),
        status: RunStatus::Running,
        rows_total: 1000,
        owner_pid,
        created_ms: None,
        finished_ms: None,
    }
}

/// Appending in uneven batches (crossing the 64 Ki-row chunk size several times) gives the
/// same run as storing it whole, bit for bit, and keeps `rows`/`flagged` in step.
pub fn appends_grow_a_run_across_chunks_bit_exact(store: &mut dyn Storage) {
    let dataset = dataset(store, "appended");
    let whole = sample_run(dataset, 150_000, 7);
    let mut empty = whole.clone();
    empty.scores.clear();
    empty.predicted.clear();
    empty.status = RunStatus::Running;
    let id = ok(store.put_run(&empty), "storing the empty run");
    let mut start = 0;
    for size in [1, 65_534, 3, 70_000, 14_462] {
        let end = start + size;
        ok(
            store.append_run(id, &whole.scores[start..end], &whole.predicted[start..end]),
            "appending",
        );
        let summary = ok(store.run(id), "reloading").summary;
        assert_eq!(summary.rows, end, "rows after appending up to {end}");
        start = end;
    }
    assert_eq!(start, whole.scores.len());
    let record = ok(store.run(id), "loading the appended run");
    assert_same_bits(&record.scores, &whole.scores, "appended scores");
    assert_eq!(record.predicted, whole.predicted, "appended predictions");
    let flagged = whole.predicted.iter().filter(|&&p| p).count();
    assert_eq!(record.summary.flagged, flagged);
    assert_eq!(record.summary.status, RunStatus::Running);
}

/// Appends with mismatched lengths or to unknown runs fail and change nothing.
pub fn append_checks_lengths_and_ids(store: &mut dyn Storage) {
    let dataset = dataset(store, "checked");
    let id = ok(store.put_run(&sample_run(dataset, 5, 1)), "storing a run");
    let mismatched = store.append_run(id, &[1.0, 2.0], &[true]);
    assert!(
        matches!(mismatched, Err(StorageError::InvalidRecord(_))),
        "mismatched append: {mismatched:?}"
    );
    assert_eq!(ok(store.run(id), "reloading").summary.rows, 5);
    let unknown = store.append_run(RunId(id.0 + 100), &[1.0], &[false]);
    assert!(
        matches!(unknown, Err(StorageError::RunNotFound(_))),
        "{unknown:?}"
    );
    ok(store.append_run(id, &[], &[]), "an empty append is a no-op");
    assert_eq!(ok(store.run(id), "reloading").scores.len(), 5);
}

/// `update_run` changes the given fields and keeps the rest.
pub fn update_run_changes_only_given_fields(store: &mut dyn Storage) {
    let dataset = dataset(store, "updated");
    let run = sample_run(dataset, 20, 2);
    let id = ok(store.put_run(&run), "storing a run");
    let metrics = r#"{"vus_pr":0.42}"#;
    let update = RunUpdate {
        metrics_json: Some(metrics.to_owned()),
        ..RunUpdate::default()
    };
    ok(store.update_run(id, &update), "setting metrics");
    let after = ok(store.run(id), "reloading").summary;
    assert_eq!(after.metrics_json, metrics);
    assert_eq!(after.status, run.status);
    assert_eq!(after.error, None);
    assert_eq!(after.fit_secs.to_bits(), run.fit_secs.to_bits());
    let failed = RunUpdate {
        status: Some(RunStatus::Failed),
        error: Some("connection lost".to_owned()),
        score_secs: Some(9.0),
        ..RunUpdate::default()
    };
    ok(store.update_run(id, &failed), "failing the run");
    let after = ok(store.run(id), "reloading").summary;
    assert_eq!(after.status, RunStatus::Failed);
    assert_eq!(after.error.as_deref(), Some("connection lost"));
    assert_eq!(after.metrics_json, metrics, "metrics kept");
    assert!((after.score_secs - 9.0).abs() < f64::EPSILON);
    let unknown = store.update_run(RunId(id.0 + 100), &update);
    assert!(
        matches!(unknown, Err(StorageError::RunNotFound(_))),
        "{unknown:?}"
    );
}

/// A job's fields round-trip, updates apply, terminal states stamp `finished_ms`, listings are
/// sorted by id, unknown ids are `JobNotFound`.
pub fn jobs_round_trip_and_update(store: &mut dyn Storage) {
    let dataset = dataset(store, "jobbed");
    assert!(ok(store.list_jobs(), "listing no jobs").is_empty());
    let new = sample_job(dataset, 4242);
    let first = ok(store.put_job(&new), "storing a job");
    let second = ok(store.put_job(&new), "storing a second job");
    assert!(second > first, "ids increase");
    let job = ok(store.job(first), "loading the job");
    assert_eq!(job.id, first);
    assert_eq!(job.dataset, dataset);
    assert_eq!(job.kind, "stream");
    assert_eq!(job.spec_json, new.spec_json, "hostile text stored as data");
    assert_eq!(job.status, RunStatus::Running);
    assert_eq!((job.rows_done, job.rows_total), (0, 1000));
    assert!(job.rows_per_sec.is_nan());
    assert_eq!(job.owner_pid, 4242);
    assert_eq!(job.finished_ms, None);
    let progress = JobUpdate {
        rows_done: Some(500),
        rows_per_sec: Some(2.5e7),
        status: Some(RunStatus::Paused),
        ..JobUpdate::default()
    };
    ok(store.update_job(first, &progress), "recording progress");
    let job = ok(store.job(first), "reloading");
    assert_eq!((job.rows_done, job.status), (500, RunStatus::Paused));
    assert!((job.rows_per_sec - 2.5e7).abs() < 1.0);
    assert_eq!(job.finished_ms, None, "paused is not terminal");
    let done = JobUpdate {
        status: Some(RunStatus::Finished),
        rows_done: Some(1000),
        summary_json: Some(r#"{"delays":[3,5]}"#.to_owned()),
        ..JobUpdate::default()
    };
    ok(store.update_job(first, &done), "finishing");
    let job = ok(store.job(first), "reloading");
    assert_eq!(job.status, RunStatus::Finished);
    assert_eq!(job.summary_json, r#"{"delays":[3,5]}"#);
    assert!(job.finished_ms.is_some_and(|t| t >= job.created_ms));
    let ids: Vec<JobId> = ok(store.list_jobs(), "listing")
        .iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(ids, vec![first, second]);
    let unknown = JobId(second.0 + 100);
    assert!(matches!(
        store.job(unknown),
        Err(StorageError::JobNotFound(_))
    ));
    assert!(matches!(
        store.update_job(unknown, &done),
        Err(StorageError::JobNotFound(_))
    ));
    let orphan = store.put_job(&sample_job(crate::storage::DatasetId(dataset.0 + 100), 1));
    assert!(
        matches!(orphan, Err(StorageError::DatasetNotFound(_))),
        "{orphan:?}"
    );
}

/// Runs stored with a job id list it back; an unknown job id is rejected.
pub fn job_runs_point_to_their_job(store: &mut dyn Storage) {
    let dataset = dataset(store, "with job");
    let job = ok(store.put_job(&sample_job(dataset, 1)), "storing a job");
    let mut run = sample_run(dataset, 10, 3);
    run.job = Some(job);
    let id = ok(store.put_run(&run), "storing a job's run");
    assert_eq!(ok(store.run(id), "loading").summary.job, Some(job));
    let listed = ok(store.list_runs(Some(dataset)), "listing");
    assert_eq!(listed[0].job, Some(job));
    run.job = Some(JobId(job.0 + 100));
    let unknown = store.put_run(&run);
    assert!(
        matches!(unknown, Err(StorageError::JobNotFound(_))),
        "{unknown:?}"
    );
}

/// `mark_interrupted` marks unfinished jobs of dead owners and their unfinished runs, and
/// leaves live owners' jobs, finished jobs and finished runs alone.
pub fn interrupted_jobs_are_those_of_dead_owners(store: &mut dyn Storage) {
    const DEAD: u32 = 11;
    const ALIVE: u32 = 22;
    let dataset = dataset(store, "restart");
    let dead_job = ok(
        store.put_job(&sample_job(dataset, DEAD)),
        "dead owner's job",
    );
    let live_job = ok(
        store.put_job(&sample_job(dataset, ALIVE)),
        "live owner's job",
    );
    let done_job = ok(store.put_job(&sample_job(dataset, DEAD)), "finished job");
    let finished = JobUpdate {
        status: Some(RunStatus::Finished),
        ..JobUpdate::default()
    };
    ok(store.update_job(done_job, &finished), "finishing");
    let mut run = sample_run(dataset, 10, 4);
    run.job = Some(dead_job);
    run.status = RunStatus::Running;
    let running_run = ok(store.put_run(&run), "running run");
    run.status = RunStatus::Finished;
    let finished_run = ok(store.put_run(&run), "finished run of the same job");
    run.job = Some(live_job);
    run.status = RunStatus::Running;
    let live_run = ok(store.put_run(&run), "live job's run");

    let marked = ok(store.mark_interrupted(&|pid| pid == ALIVE), "marking");
    assert_eq!(marked, 1);
    let status = |store: &dyn Storage, id| ok(store.job(id), "job").status;
    assert_eq!(status(store, dead_job), RunStatus::Interrupted);
    assert!(ok(store.job(dead_job), "job").finished_ms.is_some());
    assert_eq!(status(store, live_job), RunStatus::Running);
    assert_eq!(status(store, done_job), RunStatus::Finished);
    let run_status = |store: &dyn Storage, id| ok(store.run(id), "run").summary.status;
    assert_eq!(run_status(store, running_run), RunStatus::Interrupted);
    assert_eq!(run_status(store, finished_run), RunStatus::Finished);
    assert_eq!(run_status(store, live_run), RunStatus::Running);
    assert_eq!(
        ok(store.mark_interrupted(&|_| false), "again"),
        1,
        "live job now"
    );
    assert_eq!(ok(store.mark_interrupted(&|_| false), "idempotent"), 0);
}

/// Deleting a dataset removes its jobs with its runs.
pub fn deleting_a_dataset_removes_its_jobs(store: &mut dyn Storage) {
    let gone = dataset(store, "gone");
    let kept = dataset(store, "kept");
    let gone_job = ok(
        store.put_job(&sample_job(gone, 1)),
        "job of the deleted dataset",
    );
    let kept_job = ok(
        store.put_job(&sample_job(kept, 1)),
        "job of the kept dataset",
    );
    ok(store.delete_dataset(gone), "deleting");
    assert!(matches!(
        store.job(gone_job),
        Err(StorageError::JobNotFound(_))
    ));
    let ids: Vec<JobId> = ok(store.list_jobs(), "listing")
        .iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(ids, vec![kept_job]);
}

/// Creation and end times given with a record (a synced copy) are kept exactly, including
/// times far in the past; a job stored finished keeps its own end time, and a later update
/// to the same terminal status does not restamp it.
pub fn given_creation_times_are_kept(store: &mut dyn Storage) {
    let (made, ended) = (86_400_000_i64, 86_460_123_i64);
    let mut new = crate::storage::NewDataset::named("copied");
    new.created_ms = Some(made);
    let meta = ok(
        store.put_dataset(&new, &sample_series(4, 1, false, 1)),
        "put dataset",
    );
    assert_eq!(meta.created_ms, made);
    assert_eq!(ok(store.dataset(meta.id), "dataset").created_ms, made);
    let job = ok(
        store.put_job(&NewJob {
            status: RunStatus::Finished,
            created_ms: Some(made),
            finished_ms: Some(ended),
            ..sample_job(meta.id, 1)
        }),
        "put job",
    );
    let update = JobUpdate {
        status: Some(RunStatus::Finished),
        ..JobUpdate::default()
    };
    ok(store.update_job(job, &update), "update job");
    let record = ok(store.job(job), "job");
    assert_eq!((record.created_ms, record.finished_ms), (made, Some(ended)));
    let mut run = sample_run(meta.id, 4, 1);
    run.created_ms = Some(made + 5);
    let id = ok(store.put_run(&run), "put run");
    assert_eq!(ok(store.run(id), "run").summary.created_ms, made + 5);
    let fresh = ok(store.put_job(&sample_job(meta.id, 1)), "put job");
    assert!(
        ok(store.job(fresh), "job").created_ms > ended,
        "None stamps now"
    );
}
