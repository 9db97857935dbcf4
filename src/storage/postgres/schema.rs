//! The PostgreSQL schema: ordered migrations tracked in `anomdet_schema`, and the storage mode
//! (TimescaleDB hypertable or plain tables) chosen when the schema is first created.
//!
//! Layout (the same records as the `SQLite` backend, see `storage::sqlite::schema`):
//! - `datasets`, `runs`, `jobs`: one row per record, user text in `text` columns;
//! - `series_chunk`: a dataset's timestamps and labels as `storage::codec` chunks (`bytea`);
//! - `samples`: the narrow typed table of values, one row per (dataset, column, row) with the
//!   timestamp (`bigint` nanoseconds: `timestamptz` has neither the nanoseconds nor the range
//!   of `model::Timestamp`) and the value (`float8`, written by binary COPY, which keeps every
//!   bit: NaN payloads and `-0.0` survive). A TimescaleDB hypertable on `ts` when the
//!   extension is there, else a plain table; either way a BRIN index on (dataset, `ts`) and
//!   no btree or foreign key (migration 3 says why);
//! - `sample_block`: summaries of 32-row blocks of `samples` for downsampled reads;
//! - `run_chunk`: a run's scores and predictions as codec chunks;
//! - `models`: saved detector states (`bytea`), kept when their training dataset goes.
//!
//! Migrations run in one transaction under an advisory lock, so two clients connecting to a
//! fresh database at once cannot both create the schema. Never edit a released migration:
//! append one.

use postgres::Client;

use super::conn::pg;
use crate::storage::StorageError;

/// Key of the advisory lock held while migrating (any constant unique to AnomDet).
const MIGRATION_LOCK: i64 = 0x616e_6f6d_6465_7401;

/// How `samples` is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PgMode {
    /// The `timescaledb` extension: `samples` is a hypertable, plots use `time_bucket`.
    Timescale,
    /// Plain PostgreSQL: `samples` is a table with a BRIN index on time, plots bucket with
    /// integer arithmetic (`date_bin`'s rule on nanosecond integers).
    Plain,
}

impl PgMode {
    /// The stored name.
    fn as_str(self) -> &'static str {
        match self {
            Self::Timescale => "timescale",
            Self::Plain => "plain",
        }
    }

    /// What the app shows: "TimescaleDB" or "PostgreSQL (plain tables)".
    pub fn label(self) -> &'static str {
        match self {
            Self::Timescale => "TimescaleDB",
            Self::Plain => "PostgreSQL (plain tables)",
        }
    }
}

/// The migrations, oldest first; the schema version is their count.
const MIGRATIONS: &[&str] = &[
    "
    CREATE TABLE datasets (
        id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        name          text    NOT NULL UNIQUE,
        source        text    NOT NULL,
        rows          bigint  NOT NULL CHECK (rows >= 0),
        columns_json  text    NOT NULL,
        start_ns      bigint,
        end_ns        bigint,
        step_ns       bigint,
        has_labels    boolean NOT NULL,
        label_count   bigint  NOT NULL CHECK (label_count >= 0),
        warnings_json text    NOT NULL,
        parent_id     bigint REFERENCES datasets(id) ON DELETE SET NULL,
        plan_json     text,
        created_ms    bigint  NOT NULL
    );
    CREATE INDEX datasets_by_parent ON datasets(parent_id);

    -- kind: 0 = timestamps (i64 LE), 2 = labels (u8); values live in `samples`.
    CREATE TABLE series_chunk (
        dataset_id   bigint  NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
        kind         integer NOT NULL,
        column_index integer NOT NULL,
        chunk_index  integer NOT NULL,
        bytes        bytea   NOT NULL,
        PRIMARY KEY (dataset_id, kind, column_index, chunk_index)
    );

    CREATE TABLE samples (
        dataset_id bigint  NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
        column_idx integer NOT NULL,
        row_idx    integer NOT NULL,
        ts         bigint  NOT NULL,
        value      float8  NOT NULL
    );
    CREATE INDEX samples_by_row ON samples (dataset_id, column_idx, row_idx);

    CREATE TABLE jobs (
        id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        dataset_id   bigint NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
        kind         text   NOT NULL,
        spec_json    text   NOT NULL,
        status       text   NOT NULL,
        error        text,
        rows_done    bigint NOT NULL CHECK (rows_done >= 0),
        rows_total   bigint NOT NULL CHECK (rows_total >= 0),
        rows_per_sec float8 NOT NULL,
        summary_json text   NOT NULL,
        owner_pid    bigint NOT NULL,
        created_ms   bigint NOT NULL,
        finished_ms  bigint
    );
    CREATE INDEX jobs_by_status ON jobs(status);
    CREATE INDEX jobs_by_dataset ON jobs(dataset_id);

    CREATE TABLE runs (
        id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        dataset_id     bigint NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
        detector       text   NOT NULL,
        params_json    text   NOT NULL,
        seed           bigint NOT NULL,
        threshold_json text   NOT NULL,
        mode           text   NOT NULL,
        status         text   NOT NULL,
        error          text,
        rows           bigint NOT NULL CHECK (rows >= 0),
        flagged        bigint NOT NULL CHECK (flagged >= 0),
        metrics_json   text   NOT NULL,
        fit_secs       float8 NOT NULL,
        score_secs     float8 NOT NULL,
        created_ms     bigint NOT NULL,
        job_id         bigint REFERENCES jobs(id) ON DELETE SET NULL
    );
    CREATE INDEX runs_by_dataset ON runs(dataset_id, id);
    CREATE INDEX runs_by_job ON runs(job_id);

    -- kind: 0 = scores (f64 LE), 1 = predicted flags (u8).
    CREATE TABLE run_chunk (
        run_id      bigint  NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        kind        integer NOT NULL,
        chunk_index integer NOT NULL,
        bytes       bytea   NOT NULL,
        PRIMARY KEY (run_id, kind, chunk_index)
    );
    ",
    // 2: saved models (fitted detector states); a model outlives its training dataset.
    "
    CREATE TABLE models (
        id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        name         text   NOT NULL,
        detector     text   NOT NULL,
        params_json  text   NOT NULL,
        seed         bigint NOT NULL,
        dataset_id   bigint REFERENCES datasets(id) ON DELETE SET NULL,
        dataset_name text   NOT NULL,
        train_start  bigint NOT NULL CHECK (train_start >= 0),
        train_end    bigint NOT NULL CHECK (train_end >= train_start),
        columns_json text   NOT NULL,
        state        bytea  NOT NULL,
        created_ms   bigint NOT NULL
    );
    CREATE INDEX models_by_dataset ON models(dataset_id);
    ",
    // 3: bulk writes and plot reads (issue 9 speed). Per COPY row, a foreign-key check cost
    // ~10 us and the (dataset, column, row) btree ~2 us, several times the insert itself:
    // `samples` keeps neither. Its rows are deleted with their dataset by the backend (same
    // transaction), loads place each value by (column, row) instead of reading in index
    // order, and one BRIN index on (dataset_id, ts) finds a dataset's pages and serves time
    // ranges. `sample_block` summarises every 32 rows of a column (see `blocks.rs`) for
    // downsampled reads; existing datasets get theirs here.
    "
    ALTER TABLE samples DROP CONSTRAINT IF EXISTS samples_dataset_id_fkey;
    DROP INDEX IF EXISTS samples_by_row;
    DROP INDEX IF EXISTS samples_by_time;
    CREATE INDEX samples_by_time ON samples USING brin (dataset_id, ts)
        WITH (autosummarize = on);

    CREATE TABLE sample_block (
        dataset_id bigint   NOT NULL,
        column_idx integer  NOT NULL,
        first_row  integer  NOT NULL,
        rows       integer  NOT NULL CHECK (rows > 0),
        min_ts     bigint   NOT NULL,
        max_ts     bigint   NOT NULL,
        non_nan    integer  NOT NULL CHECK (non_nan >= 0),
        min        float8,
        max        float8,
        sum        float8   NOT NULL,
        ts         bigint[] NOT NULL,
        vals       float8[] NOT NULL,
        PRIMARY KEY (dataset_id, column_idx, first_row)
    );
    INSERT INTO sample_block
    SELECT dataset_id, column_idx, row_idx / 32 * 32, count(*), min(ts), max(ts),
           count(*) FILTER (WHERE value <> 'NaN'::float8),
           min(value) FILTER (WHERE value <> 'NaN'::float8),
           max(value) FILTER (WHERE value <> 'NaN'::float8),
           coalesce(sum(value) FILTER (WHERE value <> 'NaN'::float8), 0),
           array_agg(ts ORDER BY row_idx), array_agg(value ORDER BY row_idx)
    FROM samples GROUP BY dataset_id, column_idx, row_idx / 32;
    ",
];

// Migration 3 derives blocks of this size for existing datasets.
const _: () = assert!(
    super::blocks::BLOCK_ROWS == 32,
    "migration 3 writes 32-row blocks"
);

/// Set-up that depends on the mode, run once right after the first migration.
const PLAIN_SETUP: &str = "CREATE INDEX samples_by_time ON samples USING brin (ts);";
/// One week of nanoseconds per hypertable chunk.
const TIMESCALE_SETUP: &str = "SELECT create_hypertable('samples', 'ts', \
     chunk_time_interval => 604800000000000::bigint, create_default_indexes => false)";

/// The schema version this build writes.
pub fn supported_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Creates or upgrades the schema and returns the storage mode. `allow_timescale: false`
/// keeps a new schema on plain tables even when the extension is available.
pub(super) fn migrate(client: &mut Client, allow_timescale: bool) -> Result<PgMode, StorageError> {
    const OP: &str = "create or upgrade the schema";
    let mut tx = client.transaction().map_err(pg(OP))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(pg(OP))?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS anomdet_schema (
             singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
             version   bigint  NOT NULL,
             mode      text    NOT NULL
         )",
    )
    .map_err(pg(OP))?;
    let found = tx
        .query_opt("SELECT version, mode FROM anomdet_schema", &[])
        .map_err(pg(OP))?;
    let supported = supported_version();
    let (version, mode) = if let Some(row) = found {
        let version: i64 = row.try_get(0).map_err(pg(OP))?;
        let mode: String = row.try_get(1).map_err(pg(OP))?;
        let mode = match mode.as_str() {
            "timescale" => PgMode::Timescale,
            "plain" => PgMode::Plain,
            other => {
                return Err(StorageError::Corrupt {
                    what: "the anomdet_schema table".to_owned(),
                    detail: format!("unknown storage mode {other:?}"),
                });
            }
        };
        (version, mode)
    } else {
        let mode = if allow_timescale && enable_timescale(&mut tx)? {
            PgMode::Timescale
        } else {
            PgMode::Plain
        };
        (0, mode)
    };
    if version > supported {
        return Err(StorageError::SchemaTooNew {
            found: version,
            supported,
        });
    }
    let start = usize::try_from(version).map_err(|_| StorageError::Corrupt {
        what: "the anomdet_schema table".to_owned(),
        detail: format!("schema version {version} is negative"),
    })?;
    if start == MIGRATIONS.len() {
        tx.commit().map_err(pg(OP))?;
        return Ok(mode);
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(start) {
        tx.batch_execute(sql)
            .map_err(pg("apply a schema migration"))?;
        // The mode's set-up belongs to the schema of migration 1, so later migrations see
        // the same tables whether the schema is new or upgraded.
        if index == 0 {
            let setup = match mode {
                PgMode::Timescale => TIMESCALE_SETUP,
                PgMode::Plain => PLAIN_SETUP,
            };
            tx.batch_execute(setup)
                .map_err(pg("set up the samples table"))?;
        }
    }
    tx.execute(
        "INSERT INTO anomdet_schema (version, mode) VALUES ($1, $2) \
         ON CONFLICT (singleton) DO UPDATE SET version = EXCLUDED.version",
        &[&supported, &mode.as_str()],
    )
    .map_err(pg(OP))?;
    tx.commit().map_err(pg("commit the schema upgrade"))?;
    Ok(mode)
}

/// Creates the `timescaledb` extension if the server has it; `false` (plain tables) when it
/// is not installed or cannot be created (not preloaded, no privilege).
fn enable_timescale(tx: &mut postgres::Transaction<'_>) -> Result<bool, StorageError> {
    const OP: &str = "look for the timescaledb extension";
    let available: bool = tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')",
            &[],
        )
        .and_then(|row| row.try_get(0))
        .map_err(pg(OP))?;
    if !available {
        return Ok(false);
    }
    // A savepoint, so a refused CREATE EXTENSION does not abort the migration.
    let mut sub = tx.transaction().map_err(pg(OP))?;
    match sub.batch_execute("CREATE EXTENSION IF NOT EXISTS timescaledb") {
        Ok(()) => {
            sub.commit().map_err(pg(OP))?;
            Ok(true)
        }
        Err(e) => {
            log::warn!("timescaledb is installed but cannot be enabled ({e}); using plain tables");
            sub.rollback().map_err(pg(OP))?;
            Ok(false)
        }
    }
}
