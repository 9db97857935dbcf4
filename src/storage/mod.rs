//! Persistence of datasets and runs behind one [`Storage`] trait.
//!
//! Owns: the trait, its record types, and every backend (`sqlite`, `memory`, and `timescale`
//! behind its feature). rusqlite and postgres types never leave their backend files.
//! Depends on `model` only.
//!
//! Invariants every backend keeps (checked by the shared conformance suite in `conformance`):
//! - dataset names are unique; user-given names and column names are *data* (bound
//!   parameters), never pieces of SQL;
//! - a write is atomic: after a crash a dataset or run is either fully there or absent;
//! - listings are sorted (datasets by name, runs by id) so output is deterministic.

mod codec;
pub mod conformance;
mod memory;
mod models;
mod postgres;
mod records;
mod shared;
mod sqlite;

pub use memory::MemoryStorage;
pub use models::{ModelId, ModelRecord, ModelSummary, NewModel};
#[cfg(feature = "timescale")]
pub use postgres::{
    Bucket, PASSWORD_NEEDED, PgMode, PgTestDatabase, PgTestServer, PostgresStorage,
};
pub use postgres::{PgUrl, SslMode, TlsOptions};
pub use records::{
    DatasetId, DatasetMeta, JobId, JobRecord, JobUpdate, NewDataset, NewJob, NewRun, RunId,
    RunRecord, RunStatus, RunSummary, RunUpdate,
};
pub use sqlite::SqliteStorage;

use thiserror::Error;

use crate::model::Series;

/// What can go wrong in a storage backend.
#[derive(Debug, Error)]
pub enum StorageError {
    /// No dataset with this name or id.
    #[error("no dataset {0}")]
    DatasetNotFound(String),
    /// No run with this id.
    #[error("no run {0}")]
    RunNotFound(i64),
    /// No job with this id.
    #[error("no job {0}")]
    JobNotFound(i64),
    /// No saved model with this id.
    #[error("no model {0} (list them with `anomdet models`)")]
    ModelNotFound(i64),
    /// A dataset with this name exists already.
    #[error("a dataset named {0:?} already exists (choose another name or delete it first)")]
    NameTaken(String),
    /// A dataset name must be non-empty text.
    #[error("invalid dataset name {0:?}: {1}")]
    InvalidName(String, &'static str),
    /// A record that breaks the storage rules (e.g. a run whose predictions and scores differ
    /// in length). Nothing was written.
    #[error("invalid record: {0}")]
    InvalidRecord(String),
    /// The stored bytes do not decode (a damaged or foreign database).
    #[error("stored data for {what} is corrupt: {detail}")]
    Corrupt {
        /// Which record.
        what: String,
        /// What was wrong.
        detail: String,
    },
    /// The database was written by a newer AnomDet.
    #[error(
        "database schema version {found} is newer than this program supports ({supported}); upgrade AnomDet"
    )]
    SchemaTooNew {
        /// Version in the file.
        found: i64,
        /// Newest version this build knows.
        supported: i64,
    },
    /// An error from the database engine, with the operation that failed.
    #[error("{op} failed: {message}")]
    Backend {
        /// The operation, e.g. "insert dataset".
        op: &'static str,
        /// The engine's message.
        message: String,
    },
}

/// Persistence for datasets and runs. Synchronous: it is owned by worker threads, never
/// called from the UI thread (see ARCHITECTURE.md, "Threading").
///
/// # Example
/// ```
/// use anomdet::model::Series;
/// use anomdet::storage::{MemoryStorage, NewDataset, Storage};
///
/// let mut store = MemoryStorage::default();
/// let series = Series::from_values("value", vec![1.0, 2.0, 3.0]);
/// let meta = store.put_dataset(&NewDataset::named("demo"), &series).unwrap();
/// assert_eq!(store.load_series(meta.id).unwrap(), series);
/// ```
pub trait Storage: Send + std::fmt::Debug {
    /// A short description of the backend and location, shown in the UI ("SQLite at …").
    fn describe(&self) -> String;

    /// Stores a new dataset atomically. Fails with [`StorageError::NameTaken`] if the name exists.
    fn put_dataset(
        &mut self,
        new: &NewDataset,
        series: &Series,
    ) -> Result<DatasetMeta, StorageError>;

    /// All datasets, sorted by name.
    fn list_datasets(&self) -> Result<Vec<DatasetMeta>, StorageError>;

    /// One dataset's metadata by id.
    fn dataset(&self, id: DatasetId) -> Result<DatasetMeta, StorageError>;

    /// One dataset's metadata by exact name.
    fn dataset_by_name(&self, name: &str) -> Result<DatasetMeta, StorageError>;

    /// The full series (values, timestamps, labels) of a dataset.
    fn load_series(&self, id: DatasetId) -> Result<Series, StorageError>;

    /// Deletes a dataset and all its runs, atomically.
    fn delete_dataset(&mut self, id: DatasetId) -> Result<(), StorageError>;

    /// Stores a run (spec, scores, predictions, metrics, timings, status) atomically.
    fn put_run(&mut self, run: &NewRun) -> Result<RunId, StorageError>;

    /// Run summaries (no score vectors), sorted by id; all runs or those of one dataset.
    fn list_runs(&self, dataset: Option<DatasetId>) -> Result<Vec<RunSummary>, StorageError>;

    /// One run with its scores and predictions.
    fn run(&self, id: RunId) -> Result<RunRecord, StorageError>;

    /// Deletes one run.
    fn delete_run(&mut self, id: RunId) -> Result<(), StorageError>;

    /// Appends rows to a run's scores and predictions in one transaction (streams and long
    /// jobs write as they go: a crash loses at most the batch being appended).
    fn append_run(
        &mut self,
        id: RunId,
        scores: &[f64],
        predicted: &[bool],
    ) -> Result<(), StorageError>;

    /// Changes a run's status, error, metrics or timings (the `Some` fields of `update`).
    fn update_run(&mut self, id: RunId, update: &RunUpdate) -> Result<(), StorageError>;

    /// Stores a new job; its runs point to it through [`NewRun::job`].
    fn put_job(&mut self, job: &NewJob) -> Result<JobId, StorageError>;

    /// Changes a job's status, progress, throughput or summary.
    fn update_job(&mut self, id: JobId, update: &JobUpdate) -> Result<(), StorageError>;

    /// One job.
    fn job(&self, id: JobId) -> Result<JobRecord, StorageError>;

    /// All jobs, sorted by id.
    fn list_jobs(&self) -> Result<Vec<JobRecord>, StorageError>;

    /// Marks as [`RunStatus::Interrupted`] every unfinished (queued, running, paused) job whose
    /// owner process is not alive according to `is_alive`, and every unfinished run of those
    /// jobs. Called on start-up, so a job killed with its process shows as interrupted, while
    /// jobs of another live process sharing the database are left alone. Returns how many
    /// jobs were marked.
    fn mark_interrupted(&mut self, is_alive: &dyn Fn(u32) -> bool) -> Result<usize, StorageError>;

    /// Saves a fitted detector (see [`NewModel`]); its training dataset must exist.
    fn put_model(&mut self, model: &NewModel) -> Result<ModelId, StorageError>;

    /// Saved models without their state, by id.
    fn list_models(&self) -> Result<Vec<ModelSummary>, StorageError>;

    /// One saved model with its state bytes, exactly as saved.
    fn model(&self, id: ModelId) -> Result<ModelRecord, StorageError>;

    /// Deletes a saved model.
    fn delete_model(&mut self, id: ModelId) -> Result<(), StorageError>;
}

/// Checks a user-given dataset name: non-empty, printable, at most 200 characters.
pub fn validate_name(name: &str) -> Result<(), StorageError> {
    let reason = if name.trim().is_empty() {
        Some("it is empty")
    } else if name.chars().count() > 200 {
        Some("it is longer than 200 characters")
    } else if name.chars().any(char::is_control) {
        Some("it contains control characters")
    } else {
        None
    };
    match reason {
        Some(why) => Err(StorageError::InvalidName(name.to_owned(), why)),
        None => Ok(()),
    }
}
