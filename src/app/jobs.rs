//! [`Jobs`]: every piece of engine work the GUI starts, each on its own [`Task`] (a named
//! worker thread), polled once per frame without blocking.
//!
//! Owns the engine handle and the import queue. Imports run one at a time (SQLite serialises
//! writers anyway, and one progress bar is easier to read); loading, listing and deleting run
//! beside them. A newer request of the same kind replaces an older one, and dropping a
//! [`Task`] cancels it, so a quick click through the dataset list only ever plots the last
//! click. Results come back as [`JobEvent`]s for the app to apply.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use crate::engine::{Engine, ImportOutcome, Notifier, Task};
use crate::error::Error;
use crate::storage::{DatasetId, DatasetMeta};

use super::plot::PlotData;

/// A finished piece of work, for the app to apply.
#[derive(Debug)]
pub enum JobEvent {
    /// The dataset list, sorted by name.
    Listed(Vec<DatasetMeta>),
    /// A dataset loaded and converted for plotting.
    Loaded(Box<PlotData>),
    /// A file was imported and stored.
    Imported {
        /// The file.
        path: PathBuf,
        /// The stored dataset and its warnings.
        outcome: ImportOutcome,
    },
    /// A dataset was deleted.
    Deleted(DatasetId),
    /// The user picked these files in the file dialog (empty when cancelled).
    Picked(Vec<PathBuf>),
    /// The storage description for the status bar.
    StorageDescribed(String),
    /// Something failed; `what` says what was being done, in words for the user.
    Failed {
        /// "Could not import data.csv", "Could not load the dataset list", ...
        what: String,
        /// The cause.
        error: Error,
    },
}

/// Where the running import is, for the progress indicator.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportStatus {
    /// File name of the file being imported.
    pub file: String,
    /// 1-based position in the current batch.
    pub position: usize,
    /// Files in the current batch (done + running + queued).
    pub total: usize,
    /// Fraction done, when the importer reports a total; `None` shows a spinner only.
    pub fraction: Option<f32>,
}

/// The GUI's background work.
#[derive(Debug)]
pub struct Jobs {
    engine: Engine,
    notifier: Notifier,
    list: Option<Task<Vec<DatasetMeta>>>,
    load: Option<(DatasetId, Task<PlotData>)>,
    delete: Option<Task<DatasetId>>,
    describe: Option<Task<String>>,
    pick: Option<Task<Vec<PathBuf>>>,
    import: Option<(PathBuf, Task<ImportOutcome>)>,
    queue: VecDeque<PathBuf>,
    batch_done: usize,
    /// Failures to start a worker, reported on the next poll.
    pending: Vec<JobEvent>,
}

impl Jobs {
    /// Work for `engine`; `notifier` wakes the UI when a result is ready.
    pub fn new(engine: Engine, notifier: Notifier) -> Self {
        Self {
            engine,
            notifier,
            list: None,
            load: None,
            delete: None,
            describe: None,
            pick: None,
            import: None,
            queue: VecDeque::new(),
            batch_done: 0,
            pending: Vec::new(),
        }
    }

    fn spawn<T: Send + 'static>(
        &mut self,
        name: &str,
        what: &str,
        work: impl FnOnce(
            &Engine,
            &crate::control::CancelToken,
            &crate::control::Progress,
        ) -> crate::Result<T>
        + Send
        + 'static,
    ) -> Option<Task<T>> {
        let engine = self.engine.clone();
        match Task::spawn(name, self.notifier.clone(), move |cancel, progress| {
            work(&engine, cancel, progress)
        }) {
            Ok(task) => Some(task),
            Err(error) => {
                self.pending.push(JobEvent::Failed {
                    what: what.to_owned(),
                    error,
                });
                None
            }
        }
    }

    /// Reloads the dataset list.
    pub fn refresh_list(&mut self) {
        self.list = self.spawn("list", "Could not read the dataset list", |engine, _, _| {
            engine.list_datasets()
        });
    }

    /// Fetches the storage description for the status bar.
    pub fn describe_storage(&mut self) {
        self.describe = self.spawn(
            "describe",
            "Could not describe the database",
            |engine, _, _| Ok(engine.describe_storage()),
        );
    }

    /// Loads a dataset for plotting, replacing (and cancelling) any load in flight.
    pub fn load(&mut self, meta: DatasetMeta) {
        let id = meta.id;
        let what = format!("Could not load dataset {:?}", meta.name);
        self.load = self
            .spawn("load", &what, move |engine, _, _| {
                let series = engine.load_series(id)?;
                Ok(PlotData::new(meta, series))
            })
            .map(|task| (id, task));
    }

    /// Forgets the load in flight, if any (its dataset was deselected or deleted).
    pub fn cancel_load(&mut self) {
        self.load = None;
    }

    /// Deletes a dataset.
    pub fn delete(&mut self, id: DatasetId) {
        self.delete = self.spawn(
            "delete",
            "Could not delete the dataset",
            move |engine, _, _| engine.delete_dataset(id).map(|()| id),
        );
    }

    /// Opens the native file dialog on a worker (it blocks that worker, never the UI).
    pub fn pick_files(&mut self) {
        if self.pick.is_some() {
            return;
        }
        self.pick = self.spawn(
            "file-dialog",
            "Could not open the file dialog",
            |_, _, _| {
                Ok(rfd::FileDialog::new()
                    .set_title("Import CSV files")
                    .add_filter("CSV", &["csv", "tsv", "txt"])
                    .add_filter("All files", &["*"])
                    .pick_files()
                    .unwrap_or_default())
            },
        );
    }

    /// Queues files for import; they run one after the other.
    pub fn enqueue_imports(&mut self, paths: impl IntoIterator<Item = PathBuf>) {
        if self.import.is_none() && self.queue.is_empty() {
            self.batch_done = 0;
        }
        self.queue.extend(paths);
        self.start_next_import();
    }

    /// Cancels the running import and drops the queued ones.
    pub fn cancel_imports(&mut self) {
        if let Some((_, task)) = &self.import {
            task.cancel();
        }
        self.queue.clear();
    }

    fn start_next_import(&mut self) {
        if self.import.is_some() {
            return;
        }
        let Some(path) = self.queue.pop_front() else {
            return;
        };
        let what = format!("Could not import {}", file_name(&path));
        let worker_path = path.clone();
        self.import = self
            .spawn("import", &what, move |engine, cancel, progress| {
                engine.import_file(&worker_path, None, progress, cancel)
            })
            .map(|task| (path, task));
    }

    /// The running import, if any.
    pub fn import_status(&self) -> Option<ImportStatus> {
        let (path, task) = self.import.as_ref()?;
        let (_, total) = task.progress().get();
        Some(ImportStatus {
            file: file_name(path),
            position: self.batch_done + 1,
            total: self.batch_done + 1 + self.queue.len(),
            fraction: (total > 0).then(|| task.progress().fraction()),
        })
    }

    /// The dataset being loaded, if any.
    pub fn loading(&self) -> Option<DatasetId> {
        self.load.as_ref().map(|(id, _)| *id)
    }

    /// True while any work is running or queued (tests wait on it).
    pub fn is_busy(&self) -> bool {
        self.list.is_some()
            || self.load.is_some()
            || self.delete.is_some()
            || self.describe.is_some()
            || self.pick.is_some()
            || self.import.is_some()
            || !self.queue.is_empty()
            || !self.pending.is_empty()
    }

    /// Collects finished work without blocking, and starts the next queued import.
    pub fn poll(&mut self) -> Vec<JobEvent> {
        let mut events = std::mem::take(&mut self.pending);
        if let Some(result) = poll_slot(&mut self.list) {
            events.push(result.map_or_else(
                |error| failed("Could not read the dataset list", error),
                JobEvent::Listed,
            ));
        }
        if let Some(result) = poll_slot(&mut self.describe) {
            events.push(result.map_or_else(
                |error| failed("Could not describe the database", error),
                JobEvent::StorageDescribed,
            ));
        }
        if let Some(result) = poll_slot(&mut self.pick) {
            events.push(result.map_or_else(
                |error| failed("Could not open the file dialog", error),
                JobEvent::Picked,
            ));
        }
        if let Some(result) = poll_slot(&mut self.delete) {
            events.push(result.map_or_else(
                |error| failed("Could not delete the dataset", error),
                JobEvent::Deleted,
            ));
        }
        if let Some((_, task)) = &mut self.load
            && let Some(result) = task.poll()
        {
            self.load = None;
            events.push(match result {
                Ok(data) => JobEvent::Loaded(Box::new(data)),
                Err(error) => failed("Could not load the dataset", error),
            });
        }
        if let Some((path, task)) = &mut self.import
            && let Some(result) = task.poll()
        {
            let path = path.clone();
            self.import = None;
            self.batch_done += 1;
            events.push(match result {
                Ok(outcome) => JobEvent::Imported { path, outcome },
                // Cancelling is the user's own doing: no error to show.
                Err(Error::Cancelled | Error::Import(crate::import::ImportError::Cancelled)) => {
                    JobEvent::Failed {
                        what: format!("Import of {} cancelled", file_name(&path)),
                        error: Error::Cancelled,
                    }
                }
                Err(error) => failed(&format!("Could not import {}", file_name(&path)), error),
            });
            self.start_next_import();
        }
        events
    }
}

fn poll_slot<T: Send + 'static>(slot: &mut Option<Task<T>>) -> Option<crate::Result<T>> {
    let result = slot.as_mut()?.poll()?;
    *slot = None;
    Some(result)
}

fn failed(what: &str, error: Error) -> JobEvent {
    JobEvent::Failed {
        what: what.to_owned(),
        error,
    }
}

/// The file name of `path` for messages (the whole path when it has none).
pub fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn drain(jobs: &mut Jobs) -> Vec<JobEvent> {
        let mut events = Vec::new();
        for _ in 0..500 {
            events.extend(jobs.poll());
            if !jobs.is_busy() {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        events
    }

    #[test]
    fn listing_and_describing_report_back_without_blocking() {
        let mut jobs = Jobs::new(Engine::in_memory(), Notifier::noop());
        jobs.refresh_list();
        jobs.describe_storage();
        let events = drain(&mut jobs);
        assert!(events.iter().any(|e| matches!(e, JobEvent::Listed(_))));
        assert!(
            events
                .iter()
                .any(|e| matches!(e, JobEvent::StorageDescribed(s) if s.contains("memory")))
        );
    }

    #[test]
    fn a_missing_file_is_an_import_failure_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut jobs = Jobs::new(Engine::in_memory(), Notifier::noop());
        jobs.enqueue_imports([dir.path().join("nope.csv")]);
        assert_eq!(jobs.import_status().map(|s| s.total), Some(1));
        let events = drain(&mut jobs);
        assert!(
            events
                .iter()
                .any(|e| matches!(e, JobEvent::Failed { what, .. } if what.contains("nope.csv"))),
            "{events:?}"
        );
        assert!(jobs.import_status().is_none());
    }
}
