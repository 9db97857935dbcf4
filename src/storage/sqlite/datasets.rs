//! Dataset rows: summary in `datasets`, per-row data in `series_chunk`.

use rusqlite::{Connection, OptionalExtension as _, Row, TransactionBehavior, params};

use super::{backend, from_json, get, get_count, is_unique_violation, to_json};
use crate::model::{Series, Timestamp};
use crate::storage::codec::{self, SeriesAssembler, SeriesPart};
use crate::storage::{DatasetId, DatasetMeta, NewDataset, StorageError, shared, validate_name};

/// `SELECT <summary columns> FROM datasets <tail>`, built at compile time from literals only
/// (columns in the order [`read_meta`] reads them).
macro_rules! select_meta {
    ($tail:literal) => {
        concat!(
            "SELECT id, name, source, rows, columns_json, start_ns, end_ns, step_ns, has_labels, ",
            "label_count, warnings_json, parent_id, plan_json, created_ms FROM datasets ",
            $tail
        )
    };
}

const KIND_TIMESTAMPS: i64 = 0;
const KIND_VALUES: i64 = 1;
const KIND_LABELS: i64 = 2;

pub(super) fn put(
    conn: &mut Connection,
    new: &NewDataset,
    series: &Series,
) -> Result<DatasetMeta, StorageError> {
    const OP: &str = "store a dataset";
    validate_name(&new.name)?;
    let mut meta = shared::dataset_meta(DatasetId(0), new, series, shared::now_ms());
    let columns_json = to_json(&meta.columns, OP)?;
    let warnings_json = to_json(&meta.warnings, OP)?;
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(backend(OP))?;
    if let Some(parent) = new.parent {
        exists(&tx, parent)?;
    }
    tx.execute(
        "INSERT INTO datasets (name, source, rows, columns_json, start_ns, end_ns, step_ns, \
         has_labels, label_count, warnings_json, parent_id, plan_json, created_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        params![
            meta.name,
            meta.source,
            meta.rows as i64,
            columns_json,
            meta.start.map(|t| t.0),
            meta.end.map(|t| t.0),
            meta.step_ns,
            meta.has_labels,
            meta.label_count as i64,
            warnings_json,
            meta.parent.map(|p| p.0),
            meta.plan_json,
            meta.created_ms,
        ],
    )
    .map_err(|e| {
        if is_unique_violation(&e) {
            StorageError::NameTaken(new.name.clone())
        } else {
            backend(OP)(e)
        }
    })?;
    meta.id = DatasetId(tx.last_insert_rowid());
    {
        let mut insert = tx
            .prepare_cached(
                "INSERT INTO series_chunk (dataset_id, kind, column_index, chunk_index, bytes) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(backend(OP))?;
        codec::for_each_series_chunk(series, |part, chunk, bytes| {
            let (kind, column) = match part {
                SeriesPart::Timestamps => (KIND_TIMESTAMPS, 0),
                SeriesPart::Values(c) => (KIND_VALUES, c as i64),
                SeriesPart::Labels => (KIND_LABELS, 0),
            };
            insert
                .execute(params![meta.id.0, kind, column, chunk as i64, bytes])
                .map(drop)
                .map_err(backend(OP))
        })?;
    }
    tx.commit().map_err(backend(OP))?;
    Ok(meta)
}

pub(super) fn list(conn: &Connection) -> Result<Vec<DatasetMeta>, StorageError> {
    const OP: &str = "list datasets";
    let mut stmt = conn
        .prepare_cached(select_meta!("ORDER BY name, id"))
        .map_err(backend(OP))?;
    let mut rows = stmt.query([]).map_err(backend(OP))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(backend(OP))? {
        out.push(read_meta(row)?);
    }
    Ok(out)
}

pub(super) fn by_id(conn: &Connection, id: DatasetId) -> Result<DatasetMeta, StorageError> {
    let found = one_meta(conn, select_meta!("WHERE id = ?1"), &id.0)?;
    found.ok_or_else(|| StorageError::DatasetNotFound(id.to_string()))
}

pub(super) fn by_name(conn: &Connection, name: &str) -> Result<DatasetMeta, StorageError> {
    let found = one_meta(conn, select_meta!("WHERE name = ?1"), &name)?;
    found.ok_or_else(|| StorageError::DatasetNotFound(format!("{name:?}")))
}

/// One summary selected by a constant query with one bound parameter.
fn one_meta(
    conn: &Connection,
    sql: &'static str,
    param: &dyn rusqlite::ToSql,
) -> Result<Option<DatasetMeta>, StorageError> {
    const OP: &str = "read a dataset";
    let mut stmt = conn.prepare_cached(sql).map_err(backend(OP))?;
    let mut rows = stmt.query([param]).map_err(backend(OP))?;
    match rows.next().map_err(backend(OP))? {
        Some(row) => read_meta(row).map(Some),
        None => Ok(None),
    }
}

pub(super) fn load(conn: &Connection, id: DatasetId) -> Result<Series, StorageError> {
    const OP: &str = "load a dataset";
    // One read transaction, so the summary and the chunks come from the same snapshot even
    // if another process deletes the dataset meanwhile.
    let tx = conn.unchecked_transaction().map_err(backend(OP))?;
    let meta = by_id(&tx, id)?;
    let corrupt = |detail: String| StorageError::Corrupt {
        what: format!("dataset {:?} ({id})", meta.name),
        detail,
    };
    let mut assembler = SeriesAssembler::new(meta.rows, meta.columns.len(), meta.has_labels);
    {
        let mut stmt = tx
            .prepare_cached(
                "SELECT kind, column_index, chunk_index, bytes FROM series_chunk \
                 WHERE dataset_id = ?1 ORDER BY kind, column_index, chunk_index",
            )
            .map_err(backend(OP))?;
        let mut rows = stmt.query([id.0]).map_err(backend(OP))?;
        while let Some(row) = rows.next().map_err(backend(OP))? {
            let kind: i64 = get(row, 0, OP)?;
            let column: i64 = get(row, 1, OP)?;
            let chunk: i64 = get(row, 2, OP)?;
            let part = match (kind, usize::try_from(column)) {
                (KIND_TIMESTAMPS, Ok(0)) => SeriesPart::Timestamps,
                (KIND_VALUES, Ok(c)) => SeriesPart::Values(c),
                (KIND_LABELS, Ok(0)) => SeriesPart::Labels,
                _ => return Err(corrupt(format!("unknown chunk kind {kind}/{column}"))),
            };
            let bytes = row
                .get_ref(3)
                .map_err(backend(OP))?
                .as_blob()
                .map_err(|e| corrupt(format!("chunk is not a blob: {e}")))?;
            assembler.push(part, chunk, bytes).map_err(corrupt)?;
        }
    }
    // The read transaction ends (rolls back, nothing to undo) when `tx` drops.
    assembler.finish(&meta.columns).map_err(corrupt)
}

pub(super) fn delete(conn: &mut Connection, id: DatasetId) -> Result<(), StorageError> {
    const OP: &str = "delete a dataset";
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(backend(OP))?;
    // Chunks and runs go by ON DELETE CASCADE; copies keep existing with parent_id cleared.
    let deleted = tx
        .execute("DELETE FROM datasets WHERE id = ?1", [id.0])
        .map_err(backend(OP))?;
    if deleted == 0 {
        return Err(StorageError::DatasetNotFound(id.to_string()));
    }
    tx.commit().map_err(backend(OP))
}

/// `Ok` when the dataset exists, [`StorageError::DatasetNotFound`] otherwise.
pub(super) fn exists(conn: &Connection, id: DatasetId) -> Result<(), StorageError> {
    conn.prepare_cached("SELECT 1 FROM datasets WHERE id = ?1")
        .and_then(|mut stmt| stmt.query_row([id.0], |_| Ok(())).optional())
        .map_err(backend("look up a dataset"))?
        .ok_or_else(|| StorageError::DatasetNotFound(id.to_string()))
}

fn read_meta(row: &Row<'_>) -> Result<DatasetMeta, StorageError> {
    const OP: &str = "read a dataset";
    let id = DatasetId(get(row, 0, OP)?);
    let name: String = get(row, 1, OP)?;
    let what = || format!("dataset {name:?} ({id})");
    let columns_json: String = get(row, 4, OP)?;
    let warnings_json: String = get(row, 10, OP)?;
    Ok(DatasetMeta {
        id,
        source: get(row, 2, OP)?,
        rows: get_count(row, 3, OP)?,
        columns: from_json(&columns_json, what)?,
        start: get::<Option<i64>>(row, 5, OP)?.map(Timestamp),
        end: get::<Option<i64>>(row, 6, OP)?.map(Timestamp),
        step_ns: get(row, 7, OP)?,
        has_labels: get(row, 8, OP)?,
        label_count: get_count(row, 9, OP)?,
        warnings: from_json(&warnings_json, what)?,
        parent: get::<Option<i64>>(row, 11, OP)?.map(DatasetId),
        plan_json: get(row, 12, OP)?,
        created_ms: get(row, 13, OP)?,
        name,
    })
}
