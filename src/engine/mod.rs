//! The backend API that the GUI, the CLI and the tests all call.
//!
//! Owns: the storage handle, the orchestration of import → store, detect → threshold → store,
//! and background [`Task`]s. Its methods block the calling thread; the GUI calls them only from
//! a [`Task`] (a named worker thread), never from the UI thread. Depends on every algorithm
//! module, never on `app` or `cli`.

mod bench;
mod eval;
mod inject;
mod jobs;
mod models;
mod robustness;
mod sync;
mod task;

pub use bench::{BenchConfig, csv_files_in, default_detectors};
pub use jobs::{BatchJobOutcome, pid_alive};
pub use models::{FitRequest, LoadedModel, persistable_ids};
pub use robustness::{
    RobustnessConfig, SelectionConfig, rank_labelled, rank_unlabelled, robustness_matrix,
};
pub use sync::{SyncReport, sync};
pub use task::{Notifier, Task};

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;

use crate::control::{CancelToken, Progress};
use crate::detect::{self, DetectorSpec, ThresholdRule};
use crate::error::{Error, Result};
use crate::import::{self, ImportWarning};
use crate::model::Series;
use crate::storage::{
    DatasetId, DatasetMeta, MemoryStorage, NewDataset, NewRun, PgUrl, RunId, RunRecord, RunStatus,
    RunSummary, SqliteStorage, Storage,
};

/// Where the database lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DbLocation {
    /// A local SQLite file.
    Sqlite(PathBuf),
    /// Nothing persisted (tests, demos).
    Memory,
    /// A PostgreSQL / TimescaleDB server (`postgres://...`; needs the `timescale` feature).
    Postgres(PgUrl),
}

impl DbLocation {
    /// The default local database: `anomdet.sqlite` in the platform's data directory
    /// (`~/.local/share/anomdet` on Linux), or the current directory if there is none.
    pub fn default_local() -> Self {
        let dir = directories::ProjectDirs::from("org", "anomdet", "anomdet")
            .map_or_else(|| PathBuf::from("."), |d| d.data_dir().to_path_buf());
        Self::Sqlite(dir.join("anomdet.sqlite"))
    }

    /// Parses a `--db` value: `:memory:`, a `postgres://` or `postgresql://` URL, or a file
    /// path.
    pub fn parse(text: &str) -> Self {
        if text == ":memory:" {
            Self::Memory
        } else if PgUrl::is_url(text) {
            Self::Postgres(PgUrl::new(text))
        } else {
            Self::Sqlite(PathBuf::from(text))
        }
    }
}

/// The result of importing a file.
#[derive(Clone, Debug)]
pub struct ImportOutcome {
    /// The stored dataset.
    pub meta: DatasetMeta,
    /// Partial problems the user should see.
    pub warnings: Vec<ImportWarning>,
}

/// The engine: a cheap-to-clone handle over one storage backend.
///
/// Storage sits behind a mutex that only worker threads lock (SQLite serialises writers anyway),
/// so several tasks can share one engine while the UI thread never waits on it.
#[derive(Clone, Debug)]
pub struct Engine {
    storage: Arc<Mutex<Box<dyn Storage>>>,
    /// Jobs started by this engine (and its clones) that the job list shows live.
    live: Arc<Mutex<Vec<Arc<crate::stream::JobMonitor>>>>,
}

impl Engine {
    /// Opens (creating if needed) the database at `location`, applying migrations.
    /// Jobs left unfinished by a process that is gone are marked interrupted.
    pub fn open(location: &DbLocation) -> Result<Self> {
        let engine = Self::with_storage(Self::open_storage(location)?);
        engine.mark_interrupted_jobs()?;
        Ok(engine)
    }

    /// Switches this engine, and every clone of it, to the database at `location` (the GUI's
    /// settings do this on a worker). The old store is closed once work in flight on it ends;
    /// if opening fails, the engine keeps its current store.
    pub fn reopen(&self, location: &DbLocation) -> Result<()> {
        let fresh = Self::open_storage(location)?;
        *self.storage.lock() = fresh;
        Ok(())
    }

    /// Opens the backend at `location` on its own, without an engine (`anomdet sync` opens
    /// two).
    pub fn open_storage(location: &DbLocation) -> Result<Box<dyn Storage>> {
        let storage: Box<dyn Storage> = match location {
            DbLocation::Sqlite(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
                        context: format!("creating the database folder {}", dir.display()),
                        source,
                    })?;
                }
                Box::new(SqliteStorage::open(path)?)
            }
            DbLocation::Memory => Box::new(MemoryStorage::default()),
            #[cfg(feature = "timescale")]
            DbLocation::Postgres(url) => Box::new(crate::storage::PostgresStorage::connect(url)?),
            #[cfg(not(feature = "timescale"))]
            DbLocation::Postgres(url) => {
                return Err(crate::storage::StorageError::Backend {
                    op: "connect to PostgreSQL",
                    message: format!(
                        "{url} needs the PostgreSQL backend, which this build leaves out \
                         (rebuild with `--features timescale`)"
                    ),
                }
                .into());
            }
        };
        Ok(storage)
    }

    /// An engine over an in-memory store (nothing persisted).
    pub fn in_memory() -> Self {
        Self::with_storage(Box::new(MemoryStorage::default()))
    }

    /// An engine over any backend.
    pub fn with_storage(storage: Box<dyn Storage>) -> Self {
        Self {
            storage: Arc::new(Mutex::new(storage)),
            live: Arc::default(),
        }
    }

    /// "SQLite at /path" and the like, for the status bar.
    pub fn describe_storage(&self) -> String {
        self.storage.lock().describe()
    }

    /// Reads a CSV file and stores it under `name` (default: the file stem, made unique).
    /// Nothing is stored if reading fails, so existing data is never touched by a bad file.
    pub fn import_file(
        &self,
        path: &Path,
        name: Option<&str>,
        progress: &Progress,
        cancel: &CancelToken,
    ) -> Result<ImportOutcome> {
        let imported = import::read_csv(path, progress, cancel)?;
        if cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        let name = match name {
            Some(n) => n.to_owned(),
            None => self.unique_name(&file_stem(path))?,
        };
        let new = NewDataset {
            name,
            source: path.display().to_string(),
            warnings: imported.warnings.iter().map(ToString::to_string).collect(),
            parent: None,
            plan_json: None,
            created_ms: None,
        };
        let meta = self.storage.lock().put_dataset(&new, &imported.series)?;
        Ok(ImportOutcome {
            meta,
            warnings: imported.warnings,
        })
    }

    /// Stores an in-memory series as a new dataset.
    pub fn store_series(&self, name: &str, series: &Series) -> Result<DatasetMeta> {
        Ok(self
            .storage
            .lock()
            .put_dataset(&NewDataset::named(name), series)?)
    }

    /// Stores a series with full metadata (source, parent, plan).
    pub fn store_dataset(&self, new: &NewDataset, series: &Series) -> Result<DatasetMeta> {
        Ok(self.storage.lock().put_dataset(new, series)?)
    }

    /// `base`, or `base-2`, `base-3`, ... whichever is free.
    pub fn unique_name(&self, base: &str) -> Result<String> {
        let taken: Vec<String> = self.list_datasets()?.into_iter().map(|d| d.name).collect();
        let base = if base.trim().is_empty() {
            "dataset"
        } else {
            base
        };
        let mut candidate = base.to_owned();
        let mut n = 2;
        while taken.contains(&candidate) {
            candidate = format!("{base}-{n}");
            n += 1;
        }
        Ok(candidate)
    }

    /// All datasets, sorted by name.
    pub fn list_datasets(&self) -> Result<Vec<DatasetMeta>> {
        Ok(self.storage.lock().list_datasets()?)
    }

    /// A dataset by exact name, or by id written as `#12` or `12` when no name matches.
    pub fn find_dataset(&self, name_or_id: &str) -> Result<DatasetMeta> {
        let storage = self.storage.lock();
        match storage.dataset_by_name(name_or_id) {
            Ok(meta) => Ok(meta),
            Err(not_found) => match name_or_id.trim_start_matches('#').parse::<i64>() {
                Ok(id) => Ok(storage.dataset(DatasetId(id))?),
                Err(_) => Err(not_found.into()),
            },
        }
    }

    /// A dataset's metadata by id.
    pub fn dataset(&self, id: DatasetId) -> Result<DatasetMeta> {
        Ok(self.storage.lock().dataset(id)?)
    }

    /// A dataset's full series.
    pub fn load_series(&self, id: DatasetId) -> Result<Series> {
        Ok(self.storage.lock().load_series(id)?)
    }

    /// Deletes a dataset and its runs.
    pub fn delete_dataset(&self, id: DatasetId) -> Result<()> {
        Ok(self.storage.lock().delete_dataset(id)?)
    }

    /// Writes a dataset as CSV (timestamp, values, label).
    pub fn export_dataset(&self, id: DatasetId, out: &Path) -> Result<()> {
        let series = self.load_series(id)?;
        import::write_series_csv(&series, None, out)?;
        Ok(())
    }

    /// Runs one detector over a whole dataset: fit on it (detectors that learn get a
    /// training split in later releases), score, threshold, store. Returns the stored run.
    pub fn run_batch(
        &self,
        dataset: DatasetId,
        spec: &DetectorSpec,
        rule: ThresholdRule,
        control: &RunControl,
    ) -> Result<RunSummary> {
        self.run_batch_in_job(dataset, spec, rule, control, None)
    }

    /// [`run_batch`](Self::run_batch) with the run stored as part of `job`.
    pub(crate) fn run_batch_in_job(
        &self,
        dataset: DatasetId,
        spec: &DetectorSpec,
        rule: ThresholdRule,
        control: &RunControl,
        job: Option<crate::storage::JobId>,
    ) -> Result<RunSummary> {
        rule.check().map_err(Error::Invalid)?;
        let (_, params) = spec.resolve()?;
        let mut detector = spec.build()?;
        let series = self.load_series(dataset)?;
        control.progress.set_total(2);
        let started = Instant::now();
        detector.fit(&series, &control.cancel)?;
        let fit_secs = started.elapsed().as_secs_f64();
        control.progress.set_done(1);
        let started = Instant::now();
        let outcome = detector.score_series(&series, &control.cancel);
        let score_secs = started.elapsed().as_secs_f64();
        let (scores, status, error) = match outcome {
            Ok(scores) => (scores, RunStatus::Finished, None),
            Err(detect::DetectError::Cancelled) => (Vec::new(), RunStatus::Cancelled, None),
            Err(e) => (Vec::new(), RunStatus::Failed, Some(e.to_string())),
        };
        let predicted = rule.apply(&scores);
        let run = NewRun {
            dataset,
            detector: spec.id.clone(),
            params,
            seed: spec.seed,
            threshold_json: serde_json::to_string(&rule).unwrap_or_default(),
            mode: "batch".to_owned(),
            status,
            error: error.clone(),
            scores,
            predicted,
            metrics_json: "{}".to_owned(),
            fit_secs,
            score_secs,
            job,
            created_ms: None,
        };
        let id = self.storage.lock().put_run(&run)?;
        control.progress.set_done(2);
        if let Some(message) = error {
            return Err(Error::Invalid(format!("run {id} failed: {message}")));
        }
        if status == RunStatus::Cancelled {
            return Err(Error::Cancelled);
        }
        Ok(self.run(id)?.summary)
    }

    /// Run summaries, all or for one dataset.
    pub fn list_runs(&self, dataset: Option<DatasetId>) -> Result<Vec<RunSummary>> {
        Ok(self.storage.lock().list_runs(dataset)?)
    }

    /// A run with its scores.
    pub fn run(&self, id: RunId) -> Result<RunRecord> {
        Ok(self.storage.lock().run(id)?)
    }

    /// Deletes one run.
    pub fn delete_run(&self, id: RunId) -> Result<()> {
        Ok(self.storage.lock().delete_run(id)?)
    }

    /// Writes one row per input row: timestamp, values, `score`, `is_anomaly`, and `label` when
    /// the dataset has ground truth.
    pub fn export_run(&self, id: RunId, out: &Path) -> Result<()> {
        let run = self.run(id)?;
        let series = self.load_series(run.summary.dataset)?;
        if run.scores.len() != series.len() {
            return Err(Error::Invalid(format!(
                "run {id} has {} scores but its dataset has {} rows (was it cancelled?)",
                run.scores.len(),
                series.len()
            )));
        }
        import::write_series_csv(&series, Some((&run.scores, &run.predicted)), out)?;
        Ok(())
    }
}

/// Cancellation and progress for one piece of engine work.
#[derive(Clone, Debug, Default)]
pub struct RunControl {
    /// Set to stop the work.
    pub cancel: CancelToken,
    /// Updated by the work.
    pub progress: Progress,
}

fn file_stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}
