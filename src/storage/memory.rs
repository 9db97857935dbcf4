//! [`MemoryStorage`]: the [`Storage`] semantics in plain collections, for tests and the
//! no-persistence mode (`--db :memory:`). It passes the same conformance suite as `SQLite`, so
//! code tested against it behaves the same on disk.

use std::collections::BTreeMap;

use super::{
    DatasetId, DatasetMeta, JobId, JobRecord, JobUpdate, ModelId, ModelRecord, ModelSummary,
    NewDataset, NewJob, NewModel, NewRun, RunId, RunRecord, RunSummary, RunUpdate, Storage,
    StorageError, models, shared, validate_name,
};
use crate::model::Series;

/// Keeps everything in memory; for tests and the no-persistence mode.
///
/// Ids are never reused (like `SQLite`'s `AUTOINCREMENT`), listings are sorted like the SQL
/// backends (`name`, byte-wise, then id), and deleting a parent dataset clears its copies'
/// `parent` link (SQL `ON DELETE SET NULL`).
#[derive(Debug, Default)]
pub struct MemoryStorage {
    datasets: BTreeMap<DatasetId, (DatasetMeta, Series)>,
    names: BTreeMap<String, DatasetId>,
    runs: BTreeMap<RunId, RunRecord>,
    jobs: BTreeMap<JobId, JobRecord>,
    models: BTreeMap<ModelId, ModelRecord>,
    last_dataset_id: i64,
    last_run_id: i64,
    last_job_id: i64,
    last_model_id: i64,
}

impl MemoryStorage {
    fn entry(&self, id: DatasetId) -> Result<&(DatasetMeta, Series), StorageError> {
        self.datasets
            .get(&id)
            .ok_or_else(|| StorageError::DatasetNotFound(id.to_string()))
    }
}

impl Storage for MemoryStorage {
    fn describe(&self) -> String {
        "in memory (nothing is saved)".to_owned()
    }

    fn put_dataset(
        &mut self,
        new: &NewDataset,
        series: &Series,
    ) -> Result<DatasetMeta, StorageError> {
        validate_name(&new.name)?;
        if self.names.contains_key(&new.name) {
            return Err(StorageError::NameTaken(new.name.clone()));
        }
        if let Some(parent) = new.parent {
            self.entry(parent)?;
        }
        let id = DatasetId(self.last_dataset_id + 1);
        let meta = shared::dataset_meta(id, new, series, shared::now_ms());
        self.last_dataset_id = id.0;
        self.names.insert(new.name.clone(), id);
        self.datasets.insert(id, (meta.clone(), series.clone()));
        Ok(meta)
    }

    fn list_datasets(&self) -> Result<Vec<DatasetMeta>, StorageError> {
        // `names` is ordered by name and names are unique, so this is (name, id) order.
        Ok(self
            .names
            .values()
            .filter_map(|id| self.datasets.get(id).map(|(meta, _)| meta.clone()))
            .collect())
    }

    fn dataset(&self, id: DatasetId) -> Result<DatasetMeta, StorageError> {
        Ok(self.entry(id)?.0.clone())
    }

    fn dataset_by_name(&self, name: &str) -> Result<DatasetMeta, StorageError> {
        let id = self
            .names
            .get(name)
            .ok_or_else(|| StorageError::DatasetNotFound(format!("{name:?}")))?;
        self.dataset(*id)
    }

    fn load_series(&self, id: DatasetId) -> Result<Series, StorageError> {
        Ok(self.entry(id)?.1.clone())
    }

    fn delete_dataset(&mut self, id: DatasetId) -> Result<(), StorageError> {
        let (meta, _) = self
            .datasets
            .remove(&id)
            .ok_or_else(|| StorageError::DatasetNotFound(id.to_string()))?;
        self.names.remove(&meta.name);
        self.runs.retain(|_, run| run.summary.dataset != id);
        self.jobs.retain(|_, job| job.dataset != id);
        for model in self.models.values_mut() {
            if model.summary.dataset == Some(id) {
                model.summary.dataset = None;
            }
        }
        for (child, _) in self.datasets.values_mut() {
            if child.parent == Some(id) {
                child.parent = None;
            }
        }
        Ok(())
    }

    fn put_run(&mut self, run: &NewRun) -> Result<RunId, StorageError> {
        shared::check_run(run)?;
        self.entry(run.dataset)?;
        if let Some(job) = run.job {
            self.job(job)?;
        }
        let id = RunId(self.last_run_id + 1);
        self.last_run_id = id.0;
        let record = RunRecord {
            summary: shared::run_summary(id, run, shared::now_ms()),
            scores: run.scores.clone(),
            predicted: run.predicted.clone(),
        };
        self.runs.insert(id, record);
        Ok(id)
    }

    fn list_runs(&self, dataset: Option<DatasetId>) -> Result<Vec<RunSummary>, StorageError> {
        if let Some(id) = dataset {
            self.entry(id)?;
        }
        Ok(self
            .runs
            .values()
            .filter(|run| dataset.is_none_or(|d| run.summary.dataset == d))
            .map(|run| run.summary.clone())
            .collect())
    }

    fn run(&self, id: RunId) -> Result<RunRecord, StorageError> {
        self.runs
            .get(&id)
            .cloned()
            .ok_or(StorageError::RunNotFound(id.0))
    }

    fn delete_run(&mut self, id: RunId) -> Result<(), StorageError> {
        self.runs
            .remove(&id)
            .map(|_| ())
            .ok_or(StorageError::RunNotFound(id.0))
    }

    fn append_run(
        &mut self,
        id: RunId,
        scores: &[f64],
        predicted: &[bool],
    ) -> Result<(), StorageError> {
        shared::check_append(scores, predicted)?;
        let run = self
            .runs
            .get_mut(&id)
            .ok_or(StorageError::RunNotFound(id.0))?;
        run.scores.extend_from_slice(scores);
        run.predicted.extend_from_slice(predicted);
        run.summary.rows = run.scores.len();
        run.summary.flagged += predicted.iter().filter(|&&p| p).count();
        Ok(())
    }

    fn update_run(&mut self, id: RunId, update: &RunUpdate) -> Result<(), StorageError> {
        let run = self
            .runs
            .get_mut(&id)
            .ok_or(StorageError::RunNotFound(id.0))?;
        shared::apply_run_update(&mut run.summary, update);
        Ok(())
    }

    fn put_job(&mut self, job: &NewJob) -> Result<JobId, StorageError> {
        self.entry(job.dataset)?;
        let id = JobId(self.last_job_id + 1);
        self.last_job_id = id.0;
        self.jobs
            .insert(id, shared::job_record(id, job, shared::now_ms()));
        Ok(id)
    }

    fn update_job(&mut self, id: JobId, update: &JobUpdate) -> Result<(), StorageError> {
        let job = self
            .jobs
            .get_mut(&id)
            .ok_or(StorageError::JobNotFound(id.0))?;
        shared::apply_job_update(job, update, shared::now_ms());
        Ok(())
    }

    fn job(&self, id: JobId) -> Result<JobRecord, StorageError> {
        self.jobs
            .get(&id)
            .cloned()
            .ok_or(StorageError::JobNotFound(id.0))
    }

    fn list_jobs(&self) -> Result<Vec<JobRecord>, StorageError> {
        Ok(self.jobs.values().cloned().collect())
    }

    fn mark_interrupted(&mut self, is_alive: &dyn Fn(u32) -> bool) -> Result<usize, StorageError> {
        let now = shared::now_ms();
        let update = JobUpdate {
            status: Some(super::RunStatus::Interrupted),
            ..JobUpdate::default()
        };
        let mut marked = Vec::new();
        for job in self.jobs.values_mut() {
            if !job.status.is_terminal() && !is_alive(job.owner_pid) {
                shared::apply_job_update(job, &update, now);
                marked.push(job.id);
            }
        }
        for run in self.runs.values_mut() {
            let orphaned = run.summary.job.is_some_and(|job| marked.contains(&job));
            if orphaned && !run.summary.status.is_terminal() {
                run.summary.status = super::RunStatus::Interrupted;
            }
        }
        Ok(marked.len())
    }

    fn put_model(&mut self, model: &NewModel) -> Result<ModelId, StorageError> {
        models::check_model(model)?;
        let dataset_name = self.entry(model.dataset)?.0.name.clone();
        self.last_model_id += 1;
        let id = ModelId(self.last_model_id);
        let summary = models::model_summary(id, model, &dataset_name, shared::now_ms());
        self.models.insert(
            id,
            ModelRecord {
                summary,
                state: model.state.clone(),
            },
        );
        Ok(id)
    }

    fn list_models(&self) -> Result<Vec<ModelSummary>, StorageError> {
        Ok(self.models.values().map(|m| m.summary.clone()).collect())
    }

    fn model(&self, id: ModelId) -> Result<ModelRecord, StorageError> {
        self.models
            .get(&id)
            .cloned()
            .ok_or(StorageError::ModelNotFound(id.0))
    }

    fn delete_model(&mut self, id: ModelId) -> Result<(), StorageError> {
        self.models
            .remove(&id)
            .map(|_| ())
            .ok_or(StorageError::ModelNotFound(id.0))
    }
}
