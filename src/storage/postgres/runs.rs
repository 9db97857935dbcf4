//! Run rows: summary in `runs`, scores and predictions as codec chunks in `run_chunk`.

use postgres::{GenericClient, IsolationLevel, Row};

use super::conn::pg;
use super::{count, datasets, from_json, get, jobs, to_json};
use crate::storage::codec::{self, CHUNK_ROWS, RunAssembler, RunPart};
use crate::storage::{
    DatasetId, JobId, NewRun, RunId, RunRecord, RunStatus, RunSummary, RunUpdate, StorageError,
    shared,
};

/// `SELECT <summary columns> FROM runs <tail>`, from literals only (order of
/// [`read_summary`]).
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

const KIND_SCORES: i32 = 0;
const KIND_PREDICTED: i32 = 1;

fn kind_of(part: RunPart) -> i32 {
    match part {
        RunPart::Scores => KIND_SCORES,
        RunPart::Predicted => KIND_PREDICTED,
    }
}

/// Writes the chunks of `scores`/`predicted` starting at chunk `first_chunk`, replacing any
/// chunk already there.
fn write_chunks(
    client: &mut impl GenericClient,
    id: RunId,
    first_chunk: usize,
    scores: &[f64],
    predicted: &[bool],
    op: &'static str,
) -> Result<(), StorageError> {
    let upsert = client
        .prepare(
            "INSERT INTO run_chunk (run_id, kind, chunk_index, bytes) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (run_id, kind, chunk_index) DO UPDATE SET bytes = EXCLUDED.bytes",
        )
        .map_err(pg(op))?;
    codec::for_each_run_chunk(scores, predicted, |part, chunk, bytes| {
        let index = (first_chunk + chunk) as i32;
        client
            .execute(&upsert, &[&id.0, &kind_of(part), &index, &bytes])
            .map(drop)
            .map_err(pg(op))
    })
}

pub(super) fn put(client: &mut postgres::Client, run: &NewRun) -> Result<RunId, StorageError> {
    const OP: &str = "store a run";
    shared::check_run(run)?;
    let summary = shared::run_summary(RunId(0), run, shared::now_ms());
    let params_json = to_json(&summary.params, OP)?;
    let mut tx = client.transaction().map_err(pg(OP))?;
    datasets::exists(&mut tx, run.dataset)?;
    if let Some(job) = run.job {
        jobs::exists(&mut tx, job)?;
    }
    let row = tx
        .query_one(
            "INSERT INTO runs (dataset_id, detector, params_json, seed, threshold_json, mode, \
             status, error, rows, flagged, metrics_json, fit_secs, score_secs, created_ms, \
             job_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
             RETURNING id",
            &[
                &summary.dataset.0,
                &summary.detector,
                &params_json,
                // The same 64 bits; read back with the inverse cast.
                &(summary.seed as i64),
                &summary.threshold_json,
                &summary.mode,
                &summary.status.as_str(),
                &summary.error,
                &(summary.rows as i64),
                &(summary.flagged as i64),
                &summary.metrics_json,
                &summary.fit_secs,
                &summary.score_secs,
                &summary.created_ms,
                &summary.job.map(|job| job.0),
            ],
        )
        .map_err(pg(OP))?;
    let id = RunId(get(&row, 0, OP)?);
    write_chunks(&mut tx, id, 0, &run.scores, &run.predicted, OP)?;
    tx.commit().map_err(pg(OP))?;
    Ok(id)
}

pub(super) fn list(
    client: &mut postgres::Client,
    dataset: Option<DatasetId>,
) -> Result<Vec<RunSummary>, StorageError> {
    const OP: &str = "list runs";
    let mut tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .map_err(pg(OP))?;
    let rows = match dataset {
        Some(id) => {
            datasets::by_id(&mut tx, id)?;
            tx.query(
                select_summary!("WHERE dataset_id = $1 ORDER BY id"),
                &[&id.0],
            )
        }
        None => tx.query(select_summary!("ORDER BY id"), &[]),
    }
    .map_err(pg(OP))?;
    let out = rows
        .iter()
        .map(read_summary)
        .collect::<Result<Vec<_>, _>>()?;
    tx.commit().map_err(pg(OP))?;
    Ok(out)
}

pub(super) fn get_run(client: &mut postgres::Client, id: RunId) -> Result<RunRecord, StorageError> {
    const OP: &str = "load a run";
    let mut tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .map_err(pg(OP))?;
    let summary = tx
        .query_opt(select_summary!("WHERE id = $1"), &[&id.0])
        .map_err(pg(OP))?
        .as_ref()
        .map(read_summary)
        .transpose()?
        .ok_or(StorageError::RunNotFound(id.0))?;
    let corrupt = |detail: String| StorageError::Corrupt {
        what: format!("run {id}"),
        detail,
    };
    let mut assembler = RunAssembler::new(summary.rows);
    let chunks = tx
        .query(
            "SELECT kind, chunk_index, bytes FROM run_chunk WHERE run_id = $1 \
             ORDER BY kind, chunk_index",
            &[&id.0],
        )
        .map_err(pg(OP))?;
    for row in &chunks {
        let kind: i32 = get(row, 0, OP)?;
        let chunk: i32 = get(row, 1, OP)?;
        let bytes: &[u8] = get(row, 2, OP)?;
        let part = match kind {
            KIND_SCORES => RunPart::Scores,
            KIND_PREDICTED => RunPart::Predicted,
            _ => return Err(corrupt(format!("unknown chunk kind {kind}"))),
        };
        assembler
            .push(part, i64::from(chunk), bytes)
            .map_err(corrupt)?;
    }
    tx.commit().map_err(pg(OP))?;
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

pub(super) fn delete(client: &mut postgres::Client, id: RunId) -> Result<(), StorageError> {
    let deleted = client
        .execute("DELETE FROM runs WHERE id = $1", &[&id.0])
        .map_err(pg("delete a run"))?;
    if deleted == 0 {
        return Err(StorageError::RunNotFound(id.0));
    }
    Ok(())
}

pub(super) fn append(
    client: &mut postgres::Client,
    id: RunId,
    scores: &[f64],
    predicted: &[bool],
) -> Result<(), StorageError> {
    const OP: &str = "append to a run";
    shared::check_append(scores, predicted)?;
    let corrupt = |detail: String| StorageError::Corrupt {
        what: format!("run {id}"),
        detail,
    };
    let mut tx = client.transaction().map_err(pg(OP))?;
    // FOR UPDATE: two appenders to one run queue up instead of overwriting each other.
    let row = tx
        .query_opt(
            "SELECT rows, flagged FROM runs WHERE id = $1 FOR UPDATE",
            &[&id.0],
        )
        .map_err(pg(OP))?
        .ok_or(StorageError::RunNotFound(id.0))?;
    let rows = count(&row, 0, OP)?;
    let flagged = count(&row, 1, OP)?;
    // Chunks hold CHUNK_ROWS rows except the last: re-read a partial last chunk and write it
    // again with the new rows after it, so the layout stays the one `put` writes.
    let first_chunk = rows / CHUNK_ROWS;
    let kept = rows % CHUNK_ROWS;
    let mut tail_scores = Vec::with_capacity(kept + scores.len());
    let mut tail_flags = Vec::with_capacity(kept + predicted.len());
    if kept > 0 {
        let mut assembler = RunAssembler::new(kept);
        let found = tx
            .query(
                "SELECT kind, bytes FROM run_chunk WHERE run_id = $1 AND chunk_index = $2 \
                 ORDER BY kind",
                &[&id.0, &(first_chunk as i32)],
            )
            .map_err(pg(OP))?;
        for row in &found {
            let kind: i32 = get(row, 0, OP)?;
            let bytes: &[u8] = get(row, 1, OP)?;
            let part = match kind {
                KIND_SCORES => RunPart::Scores,
                KIND_PREDICTED => RunPart::Predicted,
                _ => return Err(corrupt(format!("unknown chunk kind {kind}"))),
            };
            assembler.push(part, 0, bytes).map_err(corrupt)?;
        }
        (tail_scores, tail_flags) = assembler.finish().map_err(corrupt)?;
    }
    tail_scores.extend_from_slice(scores);
    tail_flags.extend_from_slice(predicted);
    write_chunks(&mut tx, id, first_chunk, &tail_scores, &tail_flags, OP)?;
    let added = predicted.iter().filter(|&&p| p).count();
    tx.execute(
        "UPDATE runs SET rows = $2, flagged = $3 WHERE id = $1",
        &[
            &id.0,
            &((rows + scores.len()) as i64),
            &((flagged + added) as i64),
        ],
    )
    .map_err(pg(OP))?;
    tx.commit().map_err(pg(OP))
}

pub(super) fn update(
    client: &mut postgres::Client,
    id: RunId,
    update: &RunUpdate,
) -> Result<(), StorageError> {
    let changed = client
        .execute(
            "UPDATE runs SET status = COALESCE($2, status), error = COALESCE($3, error), \
             metrics_json = COALESCE($4, metrics_json), fit_secs = COALESCE($5, fit_secs), \
             score_secs = COALESCE($6, score_secs) WHERE id = $1",
            &[
                &id.0,
                &update.status.map(RunStatus::as_str),
                &update.error,
                &update.metrics_json,
                &update.fit_secs,
                &update.score_secs,
            ],
        )
        .map_err(pg("update a run"))?;
    if changed == 0 {
        return Err(StorageError::RunNotFound(id.0));
    }
    Ok(())
}

fn read_summary(row: &Row) -> Result<RunSummary, StorageError> {
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
        rows: count(row, 9, OP)?,
        flagged: count(row, 10, OP)?,
        metrics_json: get(row, 11, OP)?,
        fit_secs: get(row, 12, OP)?,
        score_secs: get(row, 13, OP)?,
        created_ms: get(row, 14, OP)?,
        job: get::<Option<i64>>(row, 15, OP)?.map(JobId),
    })
}
