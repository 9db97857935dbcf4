//! SQLite storage (placeholder; replaced by the storage work).

use super::{DatasetId, DatasetMeta, NewDataset, NewRun, RunId, RunRecord, RunSummary, Storage, StorageError};
use crate::model::Series;

/// The local SQLite database.
#[derive(Debug, Default)]
pub struct SqliteStorage {}

impl Storage for SqliteStorage {
    fn describe(&self) -> String {
        "in memory".into()
    }
    fn put_dataset(&mut self, new: &NewDataset, _series: &Series) -> Result<DatasetMeta, StorageError> {
        Err(StorageError::NameTaken(new.name.clone()))
    }
    fn list_datasets(&self) -> Result<Vec<DatasetMeta>, StorageError> {
        Ok(Vec::new())
    }
    fn dataset(&self, id: DatasetId) -> Result<DatasetMeta, StorageError> {
        Err(StorageError::DatasetNotFound(id.to_string()))
    }
    fn dataset_by_name(&self, name: &str) -> Result<DatasetMeta, StorageError> {
        Err(StorageError::DatasetNotFound(name.into()))
    }
    fn load_series(&self, id: DatasetId) -> Result<Series, StorageError> {
        Err(StorageError::DatasetNotFound(id.to_string()))
    }
    fn delete_dataset(&mut self, id: DatasetId) -> Result<(), StorageError> {
        Err(StorageError::DatasetNotFound(id.to_string()))
    }
    fn put_run(&mut self, _run: &NewRun) -> Result<RunId, StorageError> {
        Err(StorageError::RunNotFound(0))
    }
    fn list_runs(&self, _dataset: Option<DatasetId>) -> Result<Vec<RunSummary>, StorageError> {
        Ok(Vec::new())
    }
    fn run(&self, id: RunId) -> Result<RunRecord, StorageError> {
        Err(StorageError::RunNotFound(id.0))
    }
    fn delete_run(&mut self, id: RunId) -> Result<(), StorageError> {
        Err(StorageError::RunNotFound(id.0))
    }
}

impl SqliteStorage {
    /// Opens or creates the database file.
    pub fn open(_path: &std::path::Path) -> Result<Self, StorageError> {
        Ok(Self {})
    }
}
