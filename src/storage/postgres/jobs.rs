//! Job rows in `jobs`: one per batch or stream execution; its runs point to it by `job_id`.

use postgres::{GenericClient, Row};

use super::conn::pg;
use super::{count, datasets, get};
use crate::storage::{
    DatasetId, JobId, JobRecord, JobUpdate, NewJob, RunStatus, StorageError, shared,
};

/// `SELECT <job columns> FROM jobs <tail>`, from literals only (order of [`read_job`]).
macro_rules! select_job {
    ($tail:literal) => {
        concat!(
            "SELECT id, dataset_id, kind, spec_json, status, error, rows_done, rows_total, ",
            "rows_per_sec, summary_json, owner_pid, created_ms, finished_ms FROM jobs ",
            $tail
        )
    };
}

/// Fails with [`StorageError::JobNotFound`] unless job `id` exists (and share-locks it).
pub(super) fn exists(client: &mut impl GenericClient, id: JobId) -> Result<(), StorageError> {
    client
        .query_opt("SELECT 1 FROM jobs WHERE id = $1 FOR KEY SHARE", &[&id.0])
        .map_err(pg("look up a job"))?
        .map(drop)
        .ok_or(StorageError::JobNotFound(id.0))
}

pub(super) fn put(client: &mut postgres::Client, job: &NewJob) -> Result<JobId, StorageError> {
    const OP: &str = "store a job";
    let record = shared::job_record(JobId(0), job, shared::now_ms());
    let mut tx = client.transaction().map_err(pg(OP))?;
    datasets::exists(&mut tx, job.dataset)?;
    let row = tx
        .query_one(
            "INSERT INTO jobs (dataset_id, kind, spec_json, status, error, rows_done, \
             rows_total, rows_per_sec, summary_json, owner_pid, created_ms, finished_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
            &[
                &record.dataset.0,
                &record.kind,
                &record.spec_json,
                &record.status.as_str(),
                &record.error,
                &(record.rows_done as i64),
                &(record.rows_total as i64),
                &record.rows_per_sec,
                &record.summary_json,
                &i64::from(record.owner_pid),
                &record.created_ms,
                &record.finished_ms,
            ],
        )
        .map_err(pg(OP))?;
    let id = JobId(get(&row, 0, OP)?);
    tx.commit().map_err(pg(OP))?;
    Ok(id)
}

pub(super) fn update(
    client: &mut postgres::Client,
    id: JobId,
    update: &JobUpdate,
) -> Result<(), StorageError> {
    const OP: &str = "update a job";
    let mut tx = client.transaction().map_err(pg(OP))?;
    let mut job = read_one(&mut tx, id, true)?;
    shared::apply_job_update(&mut job, update, shared::now_ms());
    write_state(&mut tx, &job)?;
    tx.commit().map_err(pg(OP))
}

pub(super) fn get_job(client: &mut postgres::Client, id: JobId) -> Result<JobRecord, StorageError> {
    read_one(client, id, false)
}

pub(super) fn list(client: &mut postgres::Client) -> Result<Vec<JobRecord>, StorageError> {
    client
        .query(select_job!("ORDER BY id"), &[])
        .map_err(pg("list jobs"))?
        .iter()
        .map(read_job)
        .collect()
}

pub(super) fn mark_interrupted(
    client: &mut postgres::Client,
    is_alive: &dyn Fn(u32) -> bool,
) -> Result<usize, StorageError> {
    const OP: &str = "mark interrupted jobs";
    let mut tx = client.transaction().map_err(pg(OP))?;
    let open = tx
        .query(
            select_job!("WHERE status IN ('queued', 'running', 'paused') ORDER BY id FOR UPDATE"),
            &[],
        )
        .map_err(pg(OP))?
        .iter()
        .map(read_job)
        .collect::<Result<Vec<_>, _>>()?;
    let now = shared::now_ms();
    let interrupted = JobUpdate {
        status: Some(RunStatus::Interrupted),
        ..JobUpdate::default()
    };
    let mut marked = 0;
    for mut job in open.into_iter().filter(|job| !is_alive(job.owner_pid)) {
        shared::apply_job_update(&mut job, &interrupted, now);
        write_state(&mut tx, &job)?;
        tx.execute(
            "UPDATE runs SET status = 'interrupted' WHERE job_id = $1 \
             AND status IN ('queued', 'running', 'paused')",
            &[&job.id.0],
        )
        .map_err(pg(OP))?;
        marked += 1;
    }
    tx.commit().map_err(pg(OP))?;
    Ok(marked)
}

fn read_one(
    client: &mut impl GenericClient,
    id: JobId,
    for_update: bool,
) -> Result<JobRecord, StorageError> {
    let sql = if for_update {
        select_job!("WHERE id = $1 FOR UPDATE")
    } else {
        select_job!("WHERE id = $1")
    };
    client
        .query_opt(sql, &[&id.0])
        .map_err(pg("load a job"))?
        .as_ref()
        .map(read_job)
        .transpose()?
        .ok_or(StorageError::JobNotFound(id.0))
}

/// Writes the mutable fields of `job` back.
fn write_state(client: &mut impl GenericClient, job: &JobRecord) -> Result<(), StorageError> {
    client
        .execute(
            "UPDATE jobs SET status = $2, error = $3, rows_done = $4, rows_per_sec = $5, \
             summary_json = $6, finished_ms = $7 WHERE id = $1",
            &[
                &job.id.0,
                &job.status.as_str(),
                &job.error,
                &(job.rows_done as i64),
                &job.rows_per_sec,
                &job.summary_json,
                &job.finished_ms,
            ],
        )
        .map(drop)
        .map_err(pg("update a job"))
}

fn read_job(row: &Row) -> Result<JobRecord, StorageError> {
    const OP: &str = "read a job";
    let id = JobId(get(row, 0, OP)?);
    let status: String = get(row, 4, OP)?;
    let status = shared::parse_status(&status, || format!("job {id}"))?;
    let owner: i64 = get(row, 10, OP)?;
    Ok(JobRecord {
        id,
        dataset: DatasetId(get(row, 1, OP)?),
        kind: get(row, 2, OP)?,
        spec_json: get(row, 3, OP)?,
        status,
        error: get(row, 5, OP)?,
        rows_done: count(row, 6, OP)?,
        rows_total: count(row, 7, OP)?,
        rows_per_sec: get(row, 8, OP)?,
        summary_json: get(row, 9, OP)?,
        owner_pid: u32::try_from(owner).map_err(|_| StorageError::Corrupt {
            what: format!("job {id}"),
            detail: format!("owner process id {owner} out of range"),
        })?,
        created_ms: get(row, 11, OP)?,
        finished_ms: get(row, 12, OP)?,
    })
}
