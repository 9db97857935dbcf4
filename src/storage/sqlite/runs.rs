//! Run rows: summary in `runs`, scores and predictions in `run_chunk`.

use rusqlite::{Connection, Row, TransactionBehavior, params};

use super::{backend, datasets, from_json, get, get_count, to_json};
use crate::storage::codec::{self, RunAssembler, RunPart};
use crate::storage::{
    DatasetId, NewRun, RunId, RunRecord, RunStatus, RunSummary, StorageError, shared,
};

/// `SELECT <summary columns> FROM runs <tail>`, from literals only (order of [`read_summary`]).
macro_rules! select_summary {
    ($tail:literal) => {
        concat!(
            "SELECT id, dataset_id, detector, params_json, seed, threshold_json, mode, status, ",
            "error, rows, flagged, metrics_json, fit_secs, score_secs, created_ms FROM runs ",
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
    tx.execute(
        "INSERT INTO runs (dataset_id, detector, params_json, seed, threshold_json, mode, \
         status, error, rows, flagged, metrics_json, fit_secs, score_secs, created_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
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

fn read_summary(row: &Row<'_>) -> Result<RunSummary, StorageError> {
    const OP: &str = "read a run";
    let id = RunId(get(row, 0, OP)?);
    let what = || format!("run {id}");
    let params_json: String = get(row, 3, OP)?;
    let status: String = get(row, 7, OP)?;
    let status = RunStatus::parse(&status).ok_or_else(|| StorageError::Corrupt {
        what: what(),
        detail: format!("unknown status {status:?}"),
    })?;
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
    })
}
