//! Run rows: summary in `runs`, scores and predictions in `run_chunk`.

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use super::{backend, datasets, from_json, get, get_count, to_json};
use crate::storage::codec::{self, CHUNK_ROWS, RunAssembler, RunPart};
use crate::storage::{
    DatasetId, JobId, NewRun, RunId, RunRecord, RunStatus, RunSummary, RunUpdate, StorageError,
    shared,
};

/// `SELECT <summary columns> FROM runs <tail>`, from literals only (order of [`read_summary`]).
macro_rules! select_summary {
    ($tail:literal) => {
        concat!(
            "SELECT id, dataset_id, detector, params_json, seed, threshold_json, mode, status, ",
            "error, rows, flagged, metrics_json, fit_secs, score_secs, created_ms, job_id ",
            "FROM runs ",
            $tail
        )
    };
}

const KIND_SCORES: i64 = 0;
const KIND_PREDICTED: i64 = 1;

pub(super) fn put(conn: &mut Connection, run: &NewRun) -> Result<RunId, StorageError> {
    const OP: &str = "store a run";
    shared::check_run(run)?;
    let summary = shared::run_summary(RunId(0), run, shared::now_ms());
    let params_json = to_json(&summary.params, OP)?;
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(backend(OP))?;
    datasets::exists(&tx, run.dataset)?;
    if let Some(job) = run.job {
        super::jobs::exists(&tx, job)?;
    }
    tx.execute(
        "INSERT INTO runs (dataset_id, detector, params_json, seed, threshold_json, mode, \
         status, error, rows, flagged, metrics_json, fit_secs, score_secs, created_ms, job_id) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        params![
            summary.dataset.0,
            summary.detector,
            params_json,
            // Stored as the same 64 bits; read back with the inverse cast.
            summary.seed as i64,
            summary.threshold_json,
            summary.mode,
            summary.status.as_str(),
            summary.error,
            summary.rows as i64,
            summary.flagged as i64,
            summary.metrics_json,
            // SQLite stores NaN as NULL; NULL reads back as NaN.
            summary.fit_secs,
            summary.score_secs,
            summary.created_ms,
            summary.job.map(|job| job.0),
        ],
    )
    .map_err(backend(OP))?;
    let id = RunId(tx.last_insert_rowid());
    {
        let mut insert = tx
            .prepare_cached(
                "INSERT INTO run_chunk (run_id, kind, chunk_index, bytes) VALUES (?1, ?2, ?3, ?4)",
            )
            .map_err(backend(OP))?;
        codec::for_each_run_chunk(&run.scores, &run.predicted, |part, chunk, bytes| {
            let kind = match part {
                RunPart::Scores => KIND_SCORES,
                RunPart::Predicted => KIND_PREDICTED,
            };
            insert
                .execute(params![id.0, kind, chunk as i64, bytes])
                .map(drop)
                .map_err(backend(OP))
        })?;
    }
    tx.commit().map_err(backend(OP))?;
    Ok(id)
}

pub(super) fn list(
    conn: &Connection,
    dataset: Option<DatasetId>,
) -> Result<Vec<RunSummary>, StorageError> {
    const OP: &str = "list runs";
    let tx = conn.unchecked_transaction().map_err(backend(OP))?;
    if let Some(id) = dataset {
        datasets::exists(&tx, id)?;
    }
    let mut stmt = tx
        .prepare_cached(select_summary!(
            "WHERE ?1 IS NULL OR dataset_id = ?1 ORDER BY id"
        ))
        .map_err(backend(OP))?;
    let mut rows = stmt.query([dataset.map(|d| d.0)]).map_err(backend(OP))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(backend(OP))? {
        out.push(read_summary(row)?);
    }
    Ok(out)
}

pub(super) fn get_run(conn: &Connection, id: RunId) -> Result<RunRecord, StorageError> {
    const OP: &str = "load a run";
    let tx = conn.unchecked_transaction().map_err(backend(OP))?;
    let summary = {
        let mut stmt = tx
            .prepare_cached(select_summary!("WHERE id = ?1"))
            .map_err(backend(OP))?;
        let mut rows = stmt.query([id.0]).map_err(backend(OP))?;
        match rows.next().map_err(backend(OP))? {
            Some(row) => read_summary(row)?,
            None => return Err(StorageError::RunNotFound(id.0)),
        }
    };
    let corrupt = |detail: String| StorageError::Corrupt {
        what: format!("run {id}"),
        detail,
    };
    let mut assembler = RunAssembler::new(summary.rows);
    {
        let mut stmt = tx
            .prepare_cached(
                "SELECT kind, chunk_index, bytes FROM run_chunk WHERE run_id = ?1 \
                 ORDER BY kind, chunk_index",
            )
            .map_err(backend(OP))?;
        let mut rows = stmt.query([id.0]).map_err(backend(OP))?;
        while let Some(row) = rows.next().map_err(backend(OP))? {
            let kind: i64 = get(row, 0, OP)?;
            let chunk: i64 = get(row, 1, OP)?;
            let part = match kind {
                KIND_SCORES => RunPart::Scores,
                KIND_PREDICTED => RunPart::Predicted,
                _ => return Err(corrupt(format!("unknown chunk kind {kind}"))),
            };
            let bytes = row
                .get_ref(2)
                .map_err(backend(OP))?
                .as_blob()
                .map_err(|e| corrupt(format!("chunk is not a blob: {e}")))?;
            assembler.push(part, chunk, bytes).map_err(corrupt)?;
        }
    }
    let (scores, predicted) = assembler.finish().map_err(corrupt)?;
    let flagged = predicted.iter().filter(|&&p| p).count();
    if flagged != summary.flagged {
        return Err(corrupt(format!(
            "{flagged} rows flagged but the summary says {}",
            summary.flagged
        )));
    }
    Ok(RunRecord {
        summary,
        scores,
        predicted,
    })
}

pub(super) fn delete(conn: &mut Connection, id: RunId) -> Result<(), StorageError> {
    const OP: &str = "delete a run";
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(backend(OP))?;
    let deleted = tx
        .execute("DELETE FROM runs WHERE id = ?1", [id.0])
        .map_err(backend(OP))?;
    if deleted == 0 {
        return Err(StorageError::RunNotFound(id.0));
    }
    tx.commit().map_err(backend(OP))
}

pub(super) fn append(
    conn: &mut Connection,
    id: RunId,
    scores: &[f64],
    predicted: &[bool],
) -> Result<(), StorageError> {
    const OP: &str = "append to a run";
    shared::check_append(scores, predicted)?;
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(backend(OP))?;
    let (rows, flagged): (i64, i64) = tx
        .query_row(
            "SELECT rows, flagged FROM runs WHERE id = ?1",
            [id.0],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()
        .map_err(backend(OP))?
        .ok_or(StorageError::RunNotFound(id.0))?;
    let rows = usize::try_from(rows).map_err(|_| StorageError::Corrupt {
        what: format!("run {id}"),
        detail: format!("{rows} rows"),
    })?;
    // Chunks hold CHUNK_ROWS rows except the last: re-read a partial last chunk and write it
    // again with the new rows after it, so the layout stays the one `put` writes.
    let first_chunk = rows / CHUNK_ROWS;
    let kept = rows % CHUNK_ROWS;
    let mut tail_scores = Vec::with_capacity(kept + scores.len());
    let mut tail_flags = Vec::with_capacity(kept + predicted.len());
    if kept > 0 {
        let mut assembler = RunAssembler::new(kept);
        let mut stmt = tx
            .prepare_cached(
                "SELECT kind, bytes FROM run_chunk WHERE run_id = ?1 AND chunk_index = ?2 \
                 ORDER BY kind",
            )
            .map_err(backend(OP))?;
        let mut found = stmt
            .query(params![id.0, first_chunk as i64])
            .map_err(backend(OP))?;
        while let Some(row) = found.next().map_err(backend(OP))? {
            let kind: i64 = get(row, 0, OP)?;
            let bytes: Vec<u8> = get(row, 1, OP)?;
            let part = if kind == KIND_SCORES {
                RunPart::Scores
            } else {
                RunPart::Predicted
            };
            assembler
                .push(part, 0, &bytes)
                .map_err(|detail| StorageError::Corrupt {
                    what: format!("run {id}"),
                    detail,
                })?;
        }
        let (s, p) = assembler.finish().map_err(|detail| StorageError::Corrupt {
            what: format!("run {id}"),
            detail,
        })?;
        tail_scores = s;
        tail_flags = p;
    }
    tail_scores.extend_from_slice(scores);
    tail_flags.extend_from_slice(predicted);
    {
        let mut upsert = tx
            .prepare_cached(
                "INSERT OR REPLACE INTO run_chunk (run_id, kind, chunk_index, bytes) \
                 VALUES (?1, ?2, ?3, ?4)",
            )
            .map_err(backend(OP))?;
        codec::for_each_run_chunk(&tail_scores, &tail_flags, |part, chunk, bytes| {
            let kind = match part {
                RunPart::Scores => KIND_SCORES,
                RunPart::Predicted => KIND_PREDICTED,
            };
            upsert
                .execute(params![id.0, kind, (first_chunk + chunk) as i64, bytes])
                .map(drop)
                .map_err(backend(OP))
        })?;
    }
    let added_flags = predicted.iter().filter(|&&p| p).count() as i64;
    tx.execute(
        "UPDATE runs SET rows = ?2, flagged = ?3 WHERE id = ?1",
        params![id.0, (rows + scores.len()) as i64, flagged + added_flags],
    )
    .map_err(backend(OP))?;
    tx.commit().map_err(backend(OP))
}

pub(super) fn update(
    conn: &mut Connection,
    id: RunId,
    update: &RunUpdate,
) -> Result<(), StorageError> {
    const OP: &str = "update a run";
    let changed = conn
        .execute(
            "UPDATE runs SET status = COALESCE(?2, status), error = COALESCE(?3, error), \
             metrics_json = COALESCE(?4, metrics_json), fit_secs = COALESCE(?5, fit_secs), \
             score_secs = COALESCE(?6, score_secs) WHERE id = ?1",
            params![
                id.0,
                update.status.map(RunStatus::as_str),
                update.error,
                update.metrics_json,
                update.fit_secs,
                update.score_secs,
            ],
        )
        .map_err(backend(OP))?;
    if changed == 0 {
        return Err(StorageError::RunNotFound(id.0));
    }
    Ok(())
}

fn read_summary(row: &Row<'_>) -> Result<RunSummary, StorageError> {
    const OP: &str = "read a run";
    let id = RunId(get(row, 0, OP)?);
    let what = || format!("run {id}");
    let params_json: String = get(row, 3, OP)?;
    let status: String = get(row, 7, OP)?;
    let status = shared::parse_status(&status, what)?;
    Ok(RunSummary {
        id,
        dataset: DatasetId(get(row, 1, OP)?),
        detector: get(row, 2, OP)?,
        params: from_json(&params_json, what)?,
        seed: get::<i64>(row, 4, OP)? as u64,
        threshold_json: get(row, 5, OP)?,
        mode: get(row, 6, OP)?,
        status,
        error: get(row, 8, OP)?,
        rows: get_count(row, 9, OP)?,
        flagged: get_count(row, 10, OP)?,
        metrics_json: get(row, 11, OP)?,
        fit_secs: get::<Option<f64>>(row, 12, OP)?.unwrap_or(f64::NAN),
        score_secs: get::<Option<f64>>(row, 13, OP)?.unwrap_or(f64::NAN),
        created_ms: get(row, 14, OP)?,
        job: get::<Option<i64>>(row, 15, OP)?.map(JobId),
    })
}
