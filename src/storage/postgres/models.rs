//! Saved models in `models`: one row per fitted detector, its state in one `bytea`.

use postgres::{Client, Row};

use super::conn::pg;
use super::{count, from_json, get, to_json};
use crate::storage::{
    DatasetId, ModelId, ModelRecord, ModelSummary, NewModel, StorageError, models, shared,
};

/// `SELECT <summary columns> FROM models <tail>`, from literals only (order of
/// [`read_summary`]); `state` is appended last where the bytes are wanted.
macro_rules! select_model {
    ($extra:literal, $tail:literal) => {
        concat!(
            "SELECT id, name, detector, params_json, seed, dataset_id, dataset_name, ",
            "train_start, train_end, columns_json, octet_length(state)::bigint, created_ms",
            $extra,
            " FROM models ",
            $tail
        )
    };
}

pub(super) fn put(client: &mut Client, model: &NewModel) -> Result<ModelId, StorageError> {
    const OP: &str = "save a model";
    models::check_model(model)?;
    let params_json = to_json(&model.params, OP)?;
    let columns_json = to_json(&model.columns, OP)?;
    let mut tx = client.transaction().map_err(pg(OP))?;
    let dataset_name: String = tx
        .query_opt(
            "SELECT name FROM datasets WHERE id = $1 FOR KEY SHARE",
            &[&model.dataset.0],
        )
        .map_err(pg(OP))?
        .ok_or_else(|| StorageError::DatasetNotFound(model.dataset.to_string()))
        .and_then(|row| get(&row, 0, OP))?;
    let row = tx
        .query_one(
            "INSERT INTO models (name, detector, params_json, seed, dataset_id, dataset_name, \
             train_start, train_end, columns_json, state, created_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            &[
                &model.name,
                &model.detector,
                &params_json,
                // Stored as the same 64 bits; read back with the inverse cast.
                &(model.seed as i64),
                &model.dataset.0,
                &dataset_name,
                &(model.train_start as i64),
                &(model.train_end as i64),
                &columns_json,
                &model.state,
                &shared::now_ms(),
            ],
        )
        .map_err(pg(OP))?;
    let id = ModelId(get(&row, 0, OP)?);
    tx.commit().map_err(pg(OP))?;
    Ok(id)
}

pub(super) fn list(client: &mut Client) -> Result<Vec<ModelSummary>, StorageError> {
    const OP: &str = "list models";
    client
        .query(select_model!("", "ORDER BY id"), &[])
        .map_err(pg(OP))?
        .iter()
        .map(read_summary)
        .collect()
}

pub(super) fn get_model(client: &mut Client, id: ModelId) -> Result<ModelRecord, StorageError> {
    const OP: &str = "load a model";
    let row = client
        .query_opt(select_model!(", state", "WHERE id = $1"), &[&id.0])
        .map_err(pg(OP))?
        .ok_or(StorageError::ModelNotFound(id.0))?;
    Ok(ModelRecord {
        summary: read_summary(&row)?,
        state: get(&row, 12, OP)?,
    })
}

pub(super) fn delete(client: &mut Client, id: ModelId) -> Result<(), StorageError> {
    let deleted = client
        .execute("DELETE FROM models WHERE id = $1", &[&id.0])
        .map_err(pg("delete a model"))?;
    if deleted == 0 {
        return Err(StorageError::ModelNotFound(id.0));
    }
    Ok(())
}

fn read_summary(row: &Row) -> Result<ModelSummary, StorageError> {
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
        train_start: count(row, 7, OP)?,
        train_end: count(row, 8, OP)?,
        columns: from_json(&columns_json, what)?,
        state_bytes: count(row, 10, OP)?,
        created_ms: get(row, 11, OP)?,
    })
}
