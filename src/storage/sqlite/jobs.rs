//! Job rows in `jobs`: one per batch or stream execution; its runs point to it by `job_id`.

use rusqlite::{Connection, OptionalExtension, Row, Transaction, TransactionBehavior, params};

use super::{backend, datasets, get, get_count};
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

/// Fails with [`StorageError::JobNotFound`] unless job `id` exists.
pub(super) fn exists(tx: &Transaction<'_>, id: JobId) -> Result<(), StorageError> {
    tx.query_row("SELECT 1 FROM jobs WHERE id = ?1", [id.0], |_| Ok(()))
        .optional()
        .map_err(backend("look up a job"))?
        .ok_or(StorageError::JobNotFound(id.0))
}

pub(super) fn put(conn: &mut Connection, job: &NewJob) -> Result<JobId, StorageError> {
    const OP: &str = "store a job";
    let record = shared::job_record(JobId(0), job, shared::now_ms());
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(backend(OP))?;
    datasets::exists(&tx, job.dataset)?;
    tx.execute(
        "INSERT INTO jobs (dataset_id, kind, spec_json, status, error, rows_done, rows_total, \
         rows_per_sec, summary_json, owner_pid, created_ms, finished_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            record.dataset.0,
            record.kind,
            record.spec_json,
            record.status.as_str(),
            record.error,
            record.rows_done as i64,
            record.rows_total as i64,
            record.rows_per_sec,
            record.summary_json,
            i64::from(record.owner_pid),
            record.created_ms,
            record.finished_ms,
        ],
    )
    .map_err(backend(OP))?;
    let id = JobId(tx.last_insert_rowid());
    tx.commit().map_err(backend(OP))?;
    Ok(id)
}

pub(super) fn update(
    conn: &mut Connection,
    id: JobId,
    update: &JobUpdate,
) -> Result<(), StorageError> {
    const OP: &str = "update a job";
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(backend(OP))?;
    let mut job = read_one(&tx, id)?;
    shared::apply_job_update(&mut job, update, shared::now_ms());
    write_state(&tx, &job)?;
    tx.commit().map_err(backend(OP))
}

pub(super) fn get_job(conn: &Connection, id: JobId) -> Result<JobRecord, StorageError> {
    read_one(conn, id)
}

pub(super) fn list(conn: &Connection) -> Result<Vec<JobRecord>, StorageError> {
    const OP: &str = "list jobs";
    let mut stmt = conn
        .prepare_cached(select_job!("ORDER BY id"))
        .map_err(backend(OP))?;
    let mut rows = stmt.query([]).map_err(backend(OP))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(backend(OP))? {
        out.push(read_job(row)?);
    }
    Ok(out)
}

pub(super) fn mark_interrupted(
    conn: &mut Connection,
    is_alive: &dyn Fn(u32) -> bool,
) -> Result<usize, StorageError> {
    const OP: &str = "mark interrupted jobs";
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(backend(OP))?;
    let open: Vec<JobRecord> = {
        let mut stmt = tx
            .prepare_cached(select_job!(
                "WHERE status IN ('queued', 'running', 'paused') ORDER BY id"
            ))
            .map_err(backend(OP))?;
        let mut rows = stmt.query([]).map_err(backend(OP))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(backend(OP))? {
            out.push(read_job(row)?);
        }
        out
    };
    let now = shared::now_ms();
    let interrupted = JobUpdate {
        status: Some(RunStatus::Interrupted),
        ..JobUpdate::default()
    };
    let mut marked = 0;
    for mut job in open.into_iter().filter(|job| !is_alive(job.owner_pid)) {
        shared::apply_job_update(&mut job, &interrupted, now);
        write_state(&tx, &job)?;
        tx.execute(
            "UPDATE runs SET status = 'interrupted' WHERE job_id = ?1 \
             AND status IN ('queued', 'running', 'paused')",
            [job.id.0],
        )
        .map_err(backend(OP))?;
        marked += 1;
    }
    tx.commit().map_err(backend(OP))?;
    Ok(marked)
}

fn read_one(conn: &Connection, id: JobId) -> Result<JobRecord, StorageError> {
    const OP: &str = "load a job";
    let mut stmt = conn
        .prepare_cached(select_job!("WHERE id = ?1"))
        .map_err(backend(OP))?;
    let mut rows = stmt.query([id.0]).map_err(backend(OP))?;
    match rows.next().map_err(backend(OP))? {
        Some(row) => read_job(row),
        None => Err(StorageError::JobNotFound(id.0)),
    }
}

/// Writes the mutable fields of `job` back.
fn write_state(conn: &Connection, job: &JobRecord) -> Result<(), StorageError> {
    conn.execute(
        "UPDATE jobs SET status = ?2, error = ?3, rows_done = ?4, rows_per_sec = ?5, \
         summary_json = ?6, finished_ms = ?7 WHERE id = ?1",
        params![
            job.id.0,
            job.status.as_str(),
            job.error,
            job.rows_done as i64,
            job.rows_per_sec,
            job.summary_json,
            job.finished_ms,
        ],
    )
    .map(drop)
    .map_err(backend("update a job"))
}

fn read_job(row: &Row<'_>) -> Result<JobRecord, StorageError> {
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
        rows_done: get_count(row, 6, OP)?,
        rows_total: get_count(row, 7, OP)?,
        rows_per_sec: get::<Option<f64>>(row, 8, OP)?.unwrap_or(f64::NAN),
        summary_json: get(row, 9, OP)?,
        owner_pid: u32::try_from(owner).map_err(|_| StorageError::Corrupt {
            what: format!("job {id}"),
            detail: format!("owner process id {owner} out of range"),
        })?,
        created_ms: get(row, 11, OP)?,
        finished_ms: get(row, 12, OP)?,
    })
}
