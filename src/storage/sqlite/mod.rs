//! [`SqliteStorage`]: the local database file, via rusqlite (bundled `SQLite`).
//!
//! Owns every rusqlite type; nothing from rusqlite appears in its public API. Connection
//! settings: WAL journal (readers never block the writer), `synchronous = NORMAL` (a committed
//! transaction survives a killed process; only an OS crash or power loss can drop the last
//! commits, never corrupt the file), foreign keys on (cascading deletes), a 5 s busy timeout
//! for a second process on the same file. Every write is one transaction, so after a crash a
//! dataset or run is either complete or absent. User text (names, column names, sources,
//! JSON) is only ever a bound parameter; the SQL strings are all constants.
//!
//! Files: `schema.rs` (migrations), `datasets.rs`, `runs.rs`, `jobs.rs`, `models.rs`.

mod datasets;
mod jobs;
mod models;
mod runs;
mod schema;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, Row, types::FromSql};

use super::{
    DatasetId, DatasetMeta, JobId, JobRecord, JobUpdate, ModelId, ModelRecord, ModelSummary,
    NewDataset, NewJob, NewModel, NewRun, RunId, RunRecord, RunSummary, RunUpdate, Storage,
    StorageError,
};
use crate::model::Series;

/// How long a statement waits for another process's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The local `SQLite` database.
#[derive(Debug)]
pub struct SqliteStorage {
    conn: Connection,
    /// The file, or `None` for an in-memory database.
    path: Option<PathBuf>,
}

impl SqliteStorage {
    /// Opens or creates the database file and applies any missing migrations.
    ///
    /// # Errors
    /// [`StorageError::SchemaTooNew`] when a newer version of this program wrote the file;
    /// [`StorageError::Backend`] when the file cannot be opened or is not a database.
    pub fn open(path: &Path) -> Result<Self, StorageError> {
        let conn = Connection::open(path).map_err(|e| StorageError::Backend {
            op: "open the database",
            message: format!("{}: {e}", path.display()),
        })?;
        Self::init(conn, Some(path.to_path_buf()))
    }

    /// A fresh private database that lives in memory (tests).
    ///
    /// # Errors
    /// [`StorageError::Backend`] if `SQLite` cannot allocate it.
    pub fn open_in_memory() -> Result<Self, StorageError> {
        let conn = Connection::open_in_memory().map_err(backend("open an in-memory database"))?;
        Self::init(conn, None)
    }

    fn init(mut conn: Connection, path: Option<PathBuf>) -> Result<Self, StorageError> {
        let context = |e: rusqlite::Error| StorageError::Backend {
            op: "configure the database",
            message: match &path {
                Some(p) => format!("{}: {e}", p.display()),
                None => e.to_string(),
            },
        };
        conn.busy_timeout(BUSY_TIMEOUT).map_err(context)?;
        // The first statement that reads the file: a non-database file fails here.
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .map_err(context)?;
        if path.is_some() && !mode.eq_ignore_ascii_case("wal") {
            log::warn!("SQLite refused WAL mode (journal mode is {mode:?})");
        }
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(context)?;
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(context)?;
        schema::migrate(&mut conn)?;
        Ok(Self { conn, path })
    }

    /// The schema version this build writes (`PRAGMA user_version` after open).
    pub fn schema_version() -> i64 {
        schema::supported_version()
    }

    /// Runs `SQLite`'s `integrity_check` and `foreign_key_check`; `Ok` when both are clean.
    ///
    /// # Errors
    /// [`StorageError::Corrupt`] listing the problems found.
    pub fn check_integrity(&self) -> Result<(), StorageError> {
        let mut problems = Vec::new();
        let mut stmt = self
            .conn
            .prepare("PRAGMA integrity_check")
            .map_err(backend("check integrity"))?;
        let rows = stmt
            .query_map([], |row| row.get::<_, String>(0))
            .map_err(backend("check integrity"))?;
        for row in rows {
            let line = row.map_err(backend("check integrity"))?;
            if line != "ok" {
                problems.push(line);
            }
        }
        let mut stmt = self
            .conn
            .prepare("PRAGMA foreign_key_check")
            .map_err(backend("check foreign keys"))?;
        let mut rows = stmt.query([]).map_err(backend("check foreign keys"))?;
        while let Some(row) = rows.next().map_err(backend("check foreign keys"))? {
            let table: String = row.get(0).map_err(backend("check foreign keys"))?;
            problems.push(format!("a row in {table} points to a missing parent"));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(StorageError::Corrupt {
                what: self.describe(),
                detail: problems.join("; "),
            })
        }
    }
}

impl Storage for SqliteStorage {
    fn describe(&self) -> String {
        match &self.path {
            Some(path) => format!("SQLite at {}", path.display()),
            None => "SQLite in memory (nothing is saved)".to_owned(),
        }
    }

    fn put_dataset(
        &mut self,
        new: &NewDataset,
        series: &Series,
    ) -> Result<DatasetMeta, StorageError> {
        datasets::put(&mut self.conn, new, series)
    }

    fn list_datasets(&self) -> Result<Vec<DatasetMeta>, StorageError> {
        datasets::list(&self.conn)
    }

    fn dataset(&self, id: DatasetId) -> Result<DatasetMeta, StorageError> {
        datasets::by_id(&self.conn, id)
    }

    fn dataset_by_name(&self, name: &str) -> Result<DatasetMeta, StorageError> {
        datasets::by_name(&self.conn, name)
    }

    fn load_series(&self, id: DatasetId) -> Result<Series, StorageError> {
        datasets::load(&self.conn, id)
    }

    fn delete_dataset(&mut self, id: DatasetId) -> Result<(), StorageError> {
        datasets::delete(&mut self.conn, id)
    }

    fn put_run(&mut self, run: &NewRun) -> Result<RunId, StorageError> {
        runs::put(&mut self.conn, run)
    }

    fn list_runs(&self, dataset: Option<DatasetId>) -> Result<Vec<RunSummary>, StorageError> {
        runs::list(&self.conn, dataset)
    }

    fn run(&self, id: RunId) -> Result<RunRecord, StorageError> {
        runs::get_run(&self.conn, id)
    }

    fn delete_run(&mut self, id: RunId) -> Result<(), StorageError> {
        runs::delete(&mut self.conn, id)
    }

    fn append_run(
        &mut self,
        id: RunId,
        scores: &[f64],
        predicted: &[bool],
    ) -> Result<(), StorageError> {
        runs::append(&mut self.conn, id, scores, predicted)
    }

    fn update_run(&mut self, id: RunId, update: &RunUpdate) -> Result<(), StorageError> {
        runs::update(&mut self.conn, id, update)
    }

    fn put_job(&mut self, job: &NewJob) -> Result<JobId, StorageError> {
        jobs::put(&mut self.conn, job)
    }

    fn update_job(&mut self, id: JobId, update: &JobUpdate) -> Result<(), StorageError> {
        jobs::update(&mut self.conn, id, update)
    }

    fn job(&self, id: JobId) -> Result<JobRecord, StorageError> {
        jobs::get_job(&self.conn, id)
    }

    fn list_jobs(&self) -> Result<Vec<JobRecord>, StorageError> {
        jobs::list(&self.conn)
    }

    fn mark_interrupted(&mut self, is_alive: &dyn Fn(u32) -> bool) -> Result<usize, StorageError> {
        jobs::mark_interrupted(&mut self.conn, is_alive)
    }

    fn put_model(&mut self, model: &NewModel) -> Result<ModelId, StorageError> {
        models::put(&mut self.conn, model)
    }

    fn list_models(&self) -> Result<Vec<ModelSummary>, StorageError> {
        models::list(&self.conn)
    }

    fn model(&self, id: ModelId) -> Result<ModelRecord, StorageError> {
        models::get_model(&self.conn, id)
    }

    fn delete_model(&mut self, id: ModelId) -> Result<(), StorageError> {
        models::delete(&mut self.conn, id)
    }
}

/// Maps a rusqlite error to [`StorageError`] for operation `op`: a stored value of the wrong
/// type is [`StorageError::Corrupt`], everything else [`StorageError::Backend`].
fn backend(op: &'static str) -> impl Fn(rusqlite::Error) -> StorageError {
    move |error| match error {
        rusqlite::Error::InvalidColumnType(..)
        | rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::IntegralValueOutOfRange(..) => StorageError::Corrupt {
            what: format!("a stored value (while trying to {op})"),
            detail: error.to_string(),
        },
        rusqlite::Error::SqliteFailure(ref e, _) if e.code == ErrorCode::DatabaseCorrupt => {
            StorageError::Corrupt {
                what: "the database file".to_owned(),
                detail: error.to_string(),
            }
        }
        other => StorageError::Backend {
            op,
            message: other.to_string(),
        },
    }
}

/// True for a UNIQUE constraint violation (a taken name).
fn is_unique_violation(error: &rusqlite::Error) -> bool {
    error.sqlite_extended_error_code() == Some(rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
}

/// Reads column `idx` of `row`, mapping errors for operation `op`.
fn get<T: FromSql>(row: &Row<'_>, idx: usize, op: &'static str) -> Result<T, StorageError> {
    row.get(idx).map_err(backend(op))
}

/// A stored count (never negative) as `usize`.
fn get_count(row: &Row<'_>, idx: usize, op: &'static str) -> Result<usize, StorageError> {
    let n: i64 = get(row, idx, op)?;
    usize::try_from(n).map_err(|_| StorageError::Corrupt {
        what: format!("a stored count (while trying to {op})"),
        detail: format!("{n} is negative"),
    })
}

/// Decodes a JSON text column.
fn from_json<T: serde::de::DeserializeOwned>(
    text: &str,
    what: impl Fn() -> String,
) -> Result<T, StorageError> {
    serde_json::from_str(text).map_err(|e| StorageError::Corrupt {
        what: what(),
        detail: format!("bad JSON: {e}"),
    })
}

/// Encodes a value as JSON text.
fn to_json<T: serde::Serialize>(value: &T, op: &'static str) -> Result<String, StorageError> {
    serde_json::to_string(value).map_err(|e| StorageError::Backend {
        op,
        message: format!("cannot encode JSON: {e}"),
    })
}
