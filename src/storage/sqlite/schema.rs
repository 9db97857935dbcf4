//! The `SQLite` schema as an ordered list of embedded migrations, tracked by
//! `PRAGMA user_version`.
//!
//! Migration `i` (0-based) takes a database from version `i` to `i + 1`. On open, every
//! missing migration runs inside one `IMMEDIATE` transaction together with the version bump,
//! so a crash mid-upgrade leaves the old version intact. Never edit a released migration:
//! append a new one.
//!
//! Layout: datasets keep their summary in `datasets` and their per-row data column-wise in
//! `series_chunk` (see `storage::codec`: ~64 Ki rows per blob). Runs keep their summary in
//! `runs` and their scores and predictions in `run_chunk`; jobs keep their state in `jobs`;
//! saved models their state in one BLOB in `models`. Every child row is removed with its
//! parent by `ON DELETE CASCADE`; a derived dataset's `parent_id` is cleared when the parent
//! goes. Tables are `STRICT`, so a wrong type is an error instead of a silent conversion.

use rusqlite::{Connection, TransactionBehavior};

use super::backend;
use crate::storage::StorageError;

/// The embedded migrations, oldest first. The schema version is their count.
const MIGRATIONS: &[&str] = &[
    // 1: datasets, their chunked columns, runs and their chunked vectors.
    "
    CREATE TABLE datasets (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        name          TEXT    NOT NULL UNIQUE,
        source        TEXT    NOT NULL,
        rows          INTEGER NOT NULL CHECK (rows >= 0),
        columns_json  TEXT    NOT NULL,
        start_ns      INTEGER,
        end_ns        INTEGER,
        step_ns       INTEGER,
        has_labels    INTEGER NOT NULL CHECK (has_labels IN (0, 1)),
        label_count   INTEGER NOT NULL CHECK (label_count >= 0),
        warnings_json TEXT    NOT NULL,
        parent_id     INTEGER REFERENCES datasets(id) ON DELETE SET NULL,
        plan_json     TEXT,
        created_ms    INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX datasets_by_parent ON datasets(parent_id);

    -- kind: 0 = timestamps (i64 LE), 1 = value column `column_index` (f64 LE), 2 = labels (u8).
    CREATE TABLE series_chunk (
        dataset_id   INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
        kind         INTEGER NOT NULL,
        column_index INTEGER NOT NULL,
        chunk_index  INTEGER NOT NULL,
        bytes        BLOB    NOT NULL,
        PRIMARY KEY (dataset_id, kind, column_index, chunk_index)
    ) STRICT;

    CREATE TABLE runs (
        id             INTEGER PRIMARY KEY AUTOINCREMENT,
        dataset_id     INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
        detector       TEXT    NOT NULL,
        params_json    TEXT    NOT NULL,
        seed           INTEGER NOT NULL,
        threshold_json TEXT    NOT NULL,
        mode           TEXT    NOT NULL,
        status         TEXT    NOT NULL,
        error          TEXT,
        rows           INTEGER NOT NULL CHECK (rows >= 0),
        flagged        INTEGER NOT NULL CHECK (flagged >= 0),
        metrics_json   TEXT    NOT NULL,
        fit_secs       REAL,
        score_secs     REAL,
        created_ms     INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX runs_by_dataset ON runs(dataset_id, id);

    -- kind: 0 = scores (f64 LE), 1 = predicted flags (u8).
    CREATE TABLE run_chunk (
        run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        kind        INTEGER NOT NULL,
        chunk_index INTEGER NOT NULL,
        bytes       BLOB    NOT NULL,
        PRIMARY KEY (run_id, kind, chunk_index)
    ) STRICT;
    ",
    // 2: jobs (batch or stream executions of one or more detectors); runs point to their job.
    "
    CREATE TABLE jobs (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        dataset_id   INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
        kind         TEXT    NOT NULL,
        spec_json    TEXT    NOT NULL,
        status       TEXT    NOT NULL,
        error        TEXT,
        rows_done    INTEGER NOT NULL CHECK (rows_done >= 0),
        rows_total   INTEGER NOT NULL CHECK (rows_total >= 0),
        rows_per_sec REAL,
        summary_json TEXT    NOT NULL,
        owner_pid    INTEGER NOT NULL,
        created_ms   INTEGER NOT NULL,
        finished_ms  INTEGER
    ) STRICT;
    CREATE INDEX jobs_by_status ON jobs(status);
    ALTER TABLE runs ADD COLUMN job_id INTEGER REFERENCES jobs(id) ON DELETE SET NULL;
    CREATE INDEX runs_by_job ON runs(job_id);
    ",
    // 3: saved models (fitted detector states); a model outlives its training dataset.
    "
    CREATE TABLE models (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        name         TEXT    NOT NULL,
        detector     TEXT    NOT NULL,
        params_json  TEXT    NOT NULL,
        seed         INTEGER NOT NULL,
        dataset_id   INTEGER REFERENCES datasets(id) ON DELETE SET NULL,
        dataset_name TEXT    NOT NULL,
        train_start  INTEGER NOT NULL CHECK (train_start >= 0),
        train_end    INTEGER NOT NULL CHECK (train_end >= train_start),
        columns_json TEXT    NOT NULL,
        state        BLOB    NOT NULL,
        created_ms   INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX models_by_dataset ON models(dataset_id);
    ",
];

/// The schema version this build writes.
pub(super) fn supported_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Brings the database up to [`supported_version`], or refuses a newer one.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), StorageError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(backend("start the schema upgrade"))?;
    // Read inside the write lock so two processes opening a new file cannot both migrate.
    let found: i64 = tx
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(backend("read the schema version"))?;
    let supported = supported_version();
    if found > supported {
        return Err(StorageError::SchemaTooNew { found, supported });
    }
    let start = usize::try_from(found).map_err(|_| StorageError::Corrupt {
        what: "the database header".to_owned(),
        detail: format!("schema version {found} is negative"),
    })?;
    if start == MIGRATIONS.len() {
        return Ok(());
    }
    for sql in &MIGRATIONS[start..] {
        tx.execute_batch(sql)
            .map_err(backend("apply a schema migration"))?;
    }
    tx.pragma_update(None, "user_version", supported)
        .map_err(backend("record the schema version"))?;
    tx.commit().map_err(backend("commit the schema upgrade"))
}
