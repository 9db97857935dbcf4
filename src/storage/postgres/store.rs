//! [`PostgresStorage`]: the [`Storage`] implementation over one lazily reconnected client.

use parking_lot::Mutex;

use super::conn::{Conn, pg};
use super::{Bucket, PgMode, PgUrl, datasets, downsample, jobs, models, runs, schema};
use crate::model::Series;
use crate::storage::{
    DatasetId, DatasetMeta, JobId, JobRecord, JobUpdate, ModelId, ModelRecord, ModelSummary,
    NewDataset, NewJob, NewModel, NewRun, RunId, RunRecord, RunSummary, RunUpdate, Storage,
    StorageError,
};

/// A PostgreSQL database, with TimescaleDB when the server has the extension.
///
/// The client sits behind a mutex because [`Storage`]'s readers take `&self` while the
/// driver needs `&mut`; the engine serialises calls anyway.
#[derive(Debug)]
pub struct PostgresStorage {
    conn: Mutex<Conn>,
    url: PgUrl,
    mode: PgMode,
}

impl PostgresStorage {
    /// Connects, creates or upgrades the schema, and uses TimescaleDB hypertables when the
    /// server has the `timescaledb` extension (plain tables otherwise). The mode of an
    /// existing schema is kept.
    ///
    /// # Errors
    /// [`StorageError::Backend`] when the server cannot be reached, refuses the login, or the
    /// URL asks for TLS; [`StorageError::SchemaTooNew`] for a schema from a newer AnomDet.
    pub fn connect(url: &PgUrl) -> Result<Self, StorageError> {
        Self::open(url, true)
    }

    /// Like [`connect`](Self::connect), but a new schema uses plain tables even when
    /// TimescaleDB is available (to compare the two modes).
    ///
    /// # Errors
    /// As [`connect`](Self::connect).
    pub fn connect_plain(url: &PgUrl) -> Result<Self, StorageError> {
        Self::open(url, false)
    }

    fn open(url: &PgUrl, allow_timescale: bool) -> Result<Self, StorageError> {
        let mut conn = Conn::open(url)?;
        let mode = conn.run("create or upgrade the schema", |client| {
            schema::migrate(client, allow_timescale)
        })?;
        Ok(Self {
            conn: Mutex::new(conn),
            url: url.clone(),
            mode,
        })
    }

    /// Whether samples are in a TimescaleDB hypertable or a plain table.
    pub fn mode(&self) -> PgMode {
        self.mode
    }

    /// The schema version this build writes.
    pub fn schema_version() -> i64 {
        schema::supported_version()
    }

    /// How many times a lost connection has been replaced.
    pub fn reconnects(&self) -> u64 {
        self.conn.lock().reconnects()
    }

    /// The server process id of the current session (`pg_backend_pid()`), e.g. to end it
    /// from another session in a test.
    ///
    /// # Errors
    /// [`StorageError::Backend`] when the server cannot be reached.
    pub fn backend_pid(&self) -> Result<i32, StorageError> {
        const OP: &str = "ask for the session's process id";
        self.conn.lock().run(OP, |client| {
            client
                .query_one("SELECT pg_backend_pid()", &[])
                .and_then(|row| row.try_get(0))
                .map_err(pg(OP))
        })
    }

    /// Column `column` of dataset `dataset` cut into at most `buckets` equal time buckets,
    /// each with its row count, min, max and mean, computed by the server (for plots of
    /// long series). See `downsample.rs` for the NaN contract.
    ///
    /// # Errors
    /// [`StorageError::DatasetNotFound`]; [`StorageError::InvalidRecord`] for an unknown
    /// column or zero buckets; [`StorageError::Backend`] from the server.
    pub fn downsample(
        &self,
        dataset: DatasetId,
        column: &str,
        buckets: usize,
    ) -> Result<Vec<Bucket>, StorageError> {
        let mode = self.mode;
        self.conn.lock().run("downsample a column", |client| {
            downsample::downsample(client, mode, dataset, column, buckets)
        })
    }
}

impl Storage for PostgresStorage {
    fn describe(&self) -> String {
        format!("{} at {}", self.mode.label(), self.url.redacted())
    }

    fn put_dataset(
        &mut self,
        new: &NewDataset,
        series: &Series,
    ) -> Result<DatasetMeta, StorageError> {
        self.conn
            .get_mut()
            .run("store a dataset", |c| datasets::put(c, new, series))
    }

    fn list_datasets(&self) -> Result<Vec<DatasetMeta>, StorageError> {
        self.conn.lock().run("list datasets", datasets::list)
    }

    fn dataset(&self, id: DatasetId) -> Result<DatasetMeta, StorageError> {
        self.conn
            .lock()
            .run("read a dataset", |c| datasets::by_id(c, id))
    }

    fn dataset_by_name(&self, name: &str) -> Result<DatasetMeta, StorageError> {
        self.conn
            .lock()
            .run("read a dataset", |c| datasets::by_name(c, name))
    }

    fn load_series(&self, id: DatasetId) -> Result<Series, StorageError> {
        self.conn
            .lock()
            .run("load a dataset", |c| datasets::load(c, id))
    }

    fn delete_dataset(&mut self, id: DatasetId) -> Result<(), StorageError> {
        self.conn
            .get_mut()
            .run("delete a dataset", |c| datasets::delete(c, id))
    }

    fn put_run(&mut self, run: &NewRun) -> Result<RunId, StorageError> {
        self.conn
            .get_mut()
            .run("store a run", |c| runs::put(c, run))
    }

    fn list_runs(&self, dataset: Option<DatasetId>) -> Result<Vec<RunSummary>, StorageError> {
        self.conn
            .lock()
            .run("list runs", |c| runs::list(c, dataset))
    }

    fn run(&self, id: RunId) -> Result<RunRecord, StorageError> {
        self.conn.lock().run("load a run", |c| runs::get_run(c, id))
    }

    fn delete_run(&mut self, id: RunId) -> Result<(), StorageError> {
        self.conn
            .get_mut()
            .run("delete a run", |c| runs::delete(c, id))
    }

    fn append_run(
        &mut self,
        id: RunId,
        scores: &[f64],
        predicted: &[bool],
    ) -> Result<(), StorageError> {
        self.conn.get_mut().run("append to a run", |c| {
            runs::append(c, id, scores, predicted)
        })
    }

    fn update_run(&mut self, id: RunId, update: &RunUpdate) -> Result<(), StorageError> {
        self.conn
            .get_mut()
            .run("update a run", |c| runs::update(c, id, update))
    }

    fn put_job(&mut self, job: &NewJob) -> Result<JobId, StorageError> {
        self.conn
            .get_mut()
            .run("store a job", |c| jobs::put(c, job))
    }

    fn update_job(&mut self, id: JobId, update: &JobUpdate) -> Result<(), StorageError> {
        self.conn
            .get_mut()
            .run("update a job", |c| jobs::update(c, id, update))
    }

    fn job(&self, id: JobId) -> Result<JobRecord, StorageError> {
        self.conn.lock().run("load a job", |c| jobs::get_job(c, id))
    }

    fn list_jobs(&self) -> Result<Vec<JobRecord>, StorageError> {
        self.conn.lock().run("list jobs", jobs::list)
    }

    fn mark_interrupted(&mut self, is_alive: &dyn Fn(u32) -> bool) -> Result<usize, StorageError> {
        self.conn.get_mut().run("mark interrupted jobs", |c| {
            jobs::mark_interrupted(c, is_alive)
        })
    }

    fn put_model(&mut self, model: &NewModel) -> Result<ModelId, StorageError> {
        self.conn
            .get_mut()
            .run("save a model", |c| models::put(c, model))
    }

    fn list_models(&self) -> Result<Vec<ModelSummary>, StorageError> {
        self.conn.lock().run("list models", models::list)
    }

    fn model(&self, id: ModelId) -> Result<ModelRecord, StorageError> {
        self.conn
            .lock()
            .run("load a model", |c| models::get_model(c, id))
    }

    fn delete_model(&mut self, id: ModelId) -> Result<(), StorageError> {
        self.conn
            .get_mut()
            .run("delete a model", |c| models::delete(c, id))
    }
}
