//! Saved models in `models`: one row per fitted detector, its state in one BLOB (states are
//! small next to series: kilobytes to a few megabytes of weights).

use rusqlite::{Connection, Row, TransactionBehavior, params};

use super::{backend, from_json, get, get_count, to_json};
use crate::storage::{
    DatasetId, ModelId, ModelRecord, ModelSummary, NewModel, StorageError, models, shared,
};

/// `SELECT <summary columns> FROM models <tail>`, from literals only (order of
/// [`read_summary`]); `state` is appended last where the bytes are wanted.
macro_rules! select_model {
    ($extra:literal, $tail:literal) => {
        concat!(
            "SELECT id, name, detector, params_json, seed, dataset_id, dataset_name, ",
            "train_start, train_end, columns_json, length(state), created_ms",
            $extra,
            " FROM models ",
            $tail
        )
    };
}

pub(super) fn put(conn: &mut Connection, model: &NewModel) -> Result<ModelId, StorageError> {
    const OP: &str = "save a model";
    models::check_model(model)?;
    let params_json = to_json(&model.params, OP)?;
    let columns_json = to_json(&model.columns, OP)?;
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(backend(OP))?;
    let dataset_name: String = tx
        .query_row(
            "SELECT name FROM datasets WHERE id = ?1",
            [model.dataset.0],
            |row| row.get(0),
        )
        .map_err(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => {
                StorageError::DatasetNotFound(model.dataset.to_string())
            }
            other => backend(OP)(other),
        })?;
    tx.execute(
        "INSERT INTO models (name, detector, params_json, seed, dataset_id, dataset_name, \
         train_start, train_end, columns_json, state, created_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            model.name,
            model.detector,
            params_json,
            // Stored as the same 64 bits; read back with the inverse cast.
            model.seed as i64,
            model.dataset.0,
            dataset_name,
            model.train_start as i64,
            model.train_end as i64,
            columns_json,
            model.state,
            shared::now_ms(),
        ],
    )
    .map_err(backend(OP))?;
    let id = ModelId(tx.last_insert_rowid());
    tx.commit().map_err(backend(OP))?;
    Ok(id)
}

pub(super) fn list(conn: &Connection) -> Result<Vec<ModelSummary>, StorageError> {
    const OP: &str = "list models";
    let mut stmt = conn
        .prepare_cached(select_model!("", "ORDER BY id"))
        .map_err(backend(OP))?;
    let mut rows = stmt.query([]).map_err(backend(OP))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(backend(OP))? {
        out.push(read_summary(row)?);
    }
    Ok(out)
}

pub(super) fn get_model(conn: &Connection, id: ModelId) -> Result<ModelRecord, StorageError> {
    const OP: &str = "load a model";
    let mut stmt = conn
        .prepare_cached(select_model!(", state", "WHERE id = ?1"))
        .map_err(backend(OP))?;
    let mut rows = stmt.query([id.0]).map_err(backend(OP))?;
    let Some(row) = rows.next().map_err(backend(OP))? else {
        return Err(StorageError::ModelNotFound(id.0));
    };
    Ok(ModelRecord {
        summary: read_summary(row)?,
        state: get(row, 12, OP)?,
    })
}

pub(super) fn delete(conn: &mut Connection, id: ModelId) -> Result<(), StorageError> {
    let deleted = conn
        .execute("DELETE FROM models WHERE id = ?1", [id.0])
        .map_err(backend("delete a model"))?;
    if deleted == 0 {
        return Err(StorageError::ModelNotFound(id.0));
    }
    Ok(())
}

fn read_summary(row: &Row<'_>) -> Result<ModelSummary, StorageError> {
    const OP: &str = "read a model";
    let id = ModelId(get(row, 0, OP)?);
    let what = || format!("model {id}");
    let params_json: String = get(row, 3, OP)?;
    let columns_json: String = get(row, 9, OP)?;
    Ok(ModelSummary {
        id,
        name: get(row, 1, OP)?,
        detector: get(row, 2, OP)?,
        params: from_json(&params_json, what)?,
        seed: get::<i64>(row, 4, OP)? as u64,
        dataset: get::<Option<i64>>(row, 5, OP)?.map(DatasetId),
        dataset_name: get(row, 6, OP)?,
        train_start: get_count(row, 7, OP)?,
        train_end: get_count(row, 8, OP)?,
        columns: from_json(&columns_json, what)?,
        state_bytes: get_count(row, 10, OP)?,
        created_ms: get(row, 11, OP)?,
    })
}
