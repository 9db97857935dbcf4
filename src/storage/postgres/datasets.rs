//! Dataset rows: summary in `datasets`, timestamps and labels in `series_chunk`, values in the
//! narrow `samples` table (written with binary COPY).

use postgres::fallible_iterator::FallibleIterator as _;
use postgres::{GenericClient, IsolationLevel, Row, Transaction};

use super::blocks;
use super::conn::pg;
use super::copy::BinaryCopy;
use super::{count, from_json, get, to_json};
use crate::model::{Series, Timestamp};
use crate::storage::codec::{self, CHUNK_ROWS, SeriesAssembler, SeriesPart};
use crate::storage::{DatasetId, DatasetMeta, NewDataset, StorageError, shared, validate_name};

/// `SELECT <summary columns> FROM datasets <tail>`, from literals only (order of
/// [`read_meta`]).
macro_rules! select_meta {
    ($tail:literal) => {
        concat!(
            "SELECT id, name, source, rows, columns_json, start_ns, end_ns, step_ns, has_labels, ",
            "label_count, warnings_json, parent_id, plan_json, created_ms FROM datasets ",
            $tail
        )
    };
}

const KIND_TIMESTAMPS: i32 = 0;
const KIND_LABELS: i32 = 2;

pub(super) fn put(
    client: &mut postgres::Client,
    new: &NewDataset,
    series: &Series,
) -> Result<DatasetMeta, StorageError> {
    const OP: &str = "store a dataset";
    validate_name(&new.name)?;
    let too_big = |what: &str| {
        StorageError::InvalidRecord(format!(
            "{what}: the PostgreSQL backend stores at most {} rows and columns per dataset",
            i32::MAX
        ))
    };
    i32::try_from(series.len()).map_err(|_| too_big("too many rows"))?;
    i32::try_from(series.columns().len()).map_err(|_| too_big("too many columns"))?;
    let mut meta = shared::dataset_meta(DatasetId(0), new, series, shared::now_ms());
    let columns_json = to_json(&meta.columns, OP)?;
    let warnings_json = to_json(&meta.warnings, OP)?;
    let mut tx = client.transaction().map_err(pg(OP))?;
    if let Some(parent) = new.parent {
        exists(&mut tx, parent)?;
    }
    let inserted = tx.query_one(
        "INSERT INTO datasets (name, source, rows, columns_json, start_ns, end_ns, step_ns, \
         has_labels, label_count, warnings_json, parent_id, plan_json, created_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
        &[
            &meta.name,
            &meta.source,
            &(meta.rows as i64),
            &columns_json,
            &meta.start.map(|t| t.0),
            &meta.end.map(|t| t.0),
            &meta.step_ns,
            &meta.has_labels,
            &(meta.label_count as i64),
            &warnings_json,
            &meta.parent.map(|p| p.0),
            &meta.plan_json,
            &meta.created_ms,
        ],
    );
    let row = match inserted {
        Ok(row) => row,
        Err(e) if e.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION) => {
            return Err(StorageError::NameTaken(new.name.clone()));
        }
        Err(e) => return Err(pg(OP)(e)),
    };
    meta.id = DatasetId(get(&row, 0, OP)?);
    {
        let insert = tx
            .prepare(
                "INSERT INTO series_chunk (dataset_id, kind, column_index, chunk_index, bytes) \
                 VALUES ($1, $2, 0, $3, $4)",
            )
            .map_err(pg(OP))?;
        codec::for_each_series_chunk(series, |part, chunk, bytes| {
            let kind = match part {
                SeriesPart::Timestamps => KIND_TIMESTAMPS,
                SeriesPart::Labels => KIND_LABELS,
                // Values go to `samples` below.
                SeriesPart::Values(_) => return Ok(()),
            };
            tx.execute(&insert, &[&meta.id.0, &kind, &(chunk as i32), &bytes])
                .map(drop)
                .map_err(pg(OP))
        })?;
    }
    copy_samples(&mut tx, meta.id, series)?;
    blocks::copy_blocks(&mut tx, meta.id, series)?;
    tx.commit().map_err(pg(OP))?;
    Ok(meta)
}

/// Writes every value of `series` to `samples` with one binary COPY.
fn copy_samples(
    tx: &mut Transaction<'_>,
    id: DatasetId,
    series: &Series,
) -> Result<(), StorageError> {
    const OP: &str = "copy samples";
    if series.is_empty() || series.columns().is_empty() {
        return Ok(());
    }
    let sink = tx
        .copy_in("COPY samples (dataset_id, column_idx, row_idx, ts, value) FROM STDIN BINARY")
        .map_err(pg(OP))?;
    let mut copy = BinaryCopy::new(sink, OP);
    for (column_idx, column) in series.columns().iter().enumerate() {
        let column_idx = column_idx as i32;
        for (row_idx, (ts, &value)) in series.timestamps().iter().zip(&column.values).enumerate() {
            copy.row(5)?;
            copy.int8(id.0);
            copy.int4(column_idx);
            copy.int4(row_idx as i32);
            copy.int8(ts.0);
            copy.float8(value);
        }
    }
    copy.finish()?;
    Ok(())
}

pub(super) fn list(client: &mut impl GenericClient) -> Result<Vec<DatasetMeta>, StorageError> {
    const OP: &str = "list datasets";
    // Byte-wise name order, like the other backends (not the database's locale).
    client
        .query(select_meta!("ORDER BY name COLLATE \"C\", id"), &[])
        .map_err(pg(OP))?
        .iter()
        .map(read_meta)
        .collect()
}

pub(super) fn by_id(
    client: &mut impl GenericClient,
    id: DatasetId,
) -> Result<DatasetMeta, StorageError> {
    let row = client
        .query_opt(select_meta!("WHERE id = $1"), &[&id.0])
        .map_err(pg("read a dataset"))?;
    row.as_ref()
        .map(read_meta)
        .transpose()?
        .ok_or_else(|| StorageError::DatasetNotFound(id.to_string()))
}

pub(super) fn by_name(
    client: &mut impl GenericClient,
    name: &str,
) -> Result<DatasetMeta, StorageError> {
    let row = client
        .query_opt(select_meta!("WHERE name = $1"), &[&name])
        .map_err(pg("read a dataset"))?;
    row.as_ref()
        .map(read_meta)
        .transpose()?
        .ok_or_else(|| StorageError::DatasetNotFound(format!("{name:?}")))
}

pub(super) fn load(client: &mut postgres::Client, id: DatasetId) -> Result<Series, StorageError> {
    const OP: &str = "load a dataset";
    // One repeatable-read snapshot for the summary, the chunks and the samples.
    let mut tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .map_err(pg(OP))?;
    let meta = by_id(&mut tx, id)?;
    let corrupt = |detail: String| StorageError::Corrupt {
        what: format!("dataset {:?} ({id})", meta.name),
        detail,
    };
    let mut assembler = SeriesAssembler::new(meta.rows, meta.columns.len(), meta.has_labels);
    let chunks = tx
        .query(
            "SELECT kind, chunk_index, bytes FROM series_chunk WHERE dataset_id = $1 \
             ORDER BY kind, column_index, chunk_index",
            &[&id.0],
        )
        .map_err(pg(OP))?;
    for row in &chunks {
        let kind: i32 = get(row, 0, OP)?;
        let chunk: i32 = get(row, 1, OP)?;
        let bytes: &[u8] = get(row, 2, OP)?;
        let part = match kind {
            KIND_TIMESTAMPS => SeriesPart::Timestamps,
            KIND_LABELS => SeriesPart::Labels,
            _ => return Err(corrupt(format!("unknown chunk kind {kind}"))),
        };
        assembler
            .push(part, i64::from(chunk), bytes)
            .map_err(corrupt)?;
    }
    read_samples(&mut tx, id, meta.rows, &mut assembler, meta.columns.len()).map_err(
        |e| match e {
            SampleError::Backend(e) => e,
            SampleError::Corrupt(detail) => corrupt(detail),
        },
    )?;
    tx.commit().map_err(pg(OP))?;
    assembler.finish(&meta.columns).map_err(corrupt)
}

enum SampleError {
    Backend(StorageError),
    Corrupt(String),
}

/// Reads the dataset's values (in whatever order the server returns them: `samples` has no
/// ordered index, see `schema`), places each by its (column, row), checks that every cell
/// came exactly once, and hands the columns to `assembler` as codec chunks.
fn read_samples(
    tx: &mut Transaction<'_>,
    id: DatasetId,
    rows: usize,
    assembler: &mut SeriesAssembler,
    columns: usize,
) -> Result<(), SampleError> {
    const OP: &str = "load samples";
    let backend = |e| SampleError::Backend(pg(OP)(e));
    let mut values = vec![vec![0.0_f64; rows]; columns];
    let mut seen = vec![false; rows * columns];
    let mut found = 0_usize;
    let mut stream = tx
        .query_raw(
            "SELECT column_idx, row_idx, value FROM samples WHERE dataset_id = $1",
            [&id.0],
        )
        .map_err(backend)?;
    while let Some(row) = stream.next().map_err(backend)? {
        let typed = || -> Result<(i32, i32, f64), postgres::Error> {
            Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?))
        };
        let (c, r, value) = typed().map_err(backend)?;
        let cell = usize::try_from(c)
            .ok()
            .filter(|&c| c < columns)
            .zip(usize::try_from(r).ok().filter(|&r| r < rows));
        let Some((c, r)) = cell else {
            return Err(SampleError::Corrupt(format!(
                "a sample at column {c}, row {r} outside the dataset's {columns} columns \
                 and {rows} rows"
            )));
        };
        if std::mem::replace(&mut seen[c * rows + r], true) {
            return Err(SampleError::Corrupt(format!(
                "two samples for column {c}, row {r}"
            )));
        }
        values[c][r] = value;
        found += 1;
    }
    if found != rows * columns {
        return Err(SampleError::Corrupt(format!(
            "{found} samples stored where {} were expected",
            rows * columns
        )));
    }
    let mut bytes = Vec::with_capacity(CHUNK_ROWS * 8);
    for (c, column) in values.iter().enumerate() {
        for (chunk, part) in column.chunks(CHUNK_ROWS).enumerate() {
            bytes.clear();
            for v in part {
                bytes.extend_from_slice(&v.to_le_bytes());
            }
            assembler
                .push(SeriesPart::Values(c), chunk as i64, &bytes)
                .map_err(SampleError::Corrupt)?;
        }
    }
    Ok(())
}

pub(super) fn delete(client: &mut postgres::Client, id: DatasetId) -> Result<(), StorageError> {
    const OP: &str = "delete a dataset";
    // Chunks, runs and jobs go by ON DELETE CASCADE; copies keep existing with parent_id
    // cleared. Samples and their blocks carry no foreign key (checking one per COPY row
    // would cost more than the COPY), so they go explicitly, in the same transaction.
    let mut tx = client.transaction().map_err(pg(OP))?;
    let deleted = tx
        .execute("DELETE FROM datasets WHERE id = $1", &[&id.0])
        .map_err(pg(OP))?;
    if deleted == 0 {
        return Err(StorageError::DatasetNotFound(id.to_string()));
    }
    tx.execute("DELETE FROM samples WHERE dataset_id = $1", &[&id.0])
        .map_err(pg(OP))?;
    tx.execute("DELETE FROM sample_block WHERE dataset_id = $1", &[&id.0])
        .map_err(pg(OP))?;
    tx.commit().map_err(pg(OP))
}

/// `Ok` when the dataset exists, [`StorageError::DatasetNotFound`] otherwise. Takes a share
/// lock on the row, so a concurrent delete cannot slip in before the caller's insert.
pub(super) fn exists(client: &mut impl GenericClient, id: DatasetId) -> Result<(), StorageError> {
    client
        .query_opt(
            "SELECT 1 FROM datasets WHERE id = $1 FOR KEY SHARE",
            &[&id.0],
        )
        .map_err(pg("look up a dataset"))?
        .map(drop)
        .ok_or_else(|| StorageError::DatasetNotFound(id.to_string()))
}

fn read_meta(row: &Row) -> Result<DatasetMeta, StorageError> {
    const OP: &str = "read a dataset";
    let id = DatasetId(get(row, 0, OP)?);
    let name: String = get(row, 1, OP)?;
    let what = || format!("dataset {name:?} ({id})");
    let columns_json: String = get(row, 4, OP)?;
    let warnings_json: String = get(row, 10, OP)?;
    Ok(DatasetMeta {
        id,
        source: get(row, 2, OP)?,
        rows: count(row, 3, OP)?,
        columns: from_json(&columns_json, what)?,
        start: get::<Option<i64>>(row, 5, OP)?.map(Timestamp),
        end: get::<Option<i64>>(row, 6, OP)?.map(Timestamp),
        step_ns: get(row, 7, OP)?,
        has_labels: get(row, 8, OP)?,
        label_count: count(row, 9, OP)?,
        warnings: from_json(&warnings_json, what)?,
        parent: get::<Option<i64>>(row, 11, OP)?.map(DatasetId),
        plan_json: get(row, 12, OP)?,
        created_ms: get(row, 13, OP)?,
        name,
    })
}
