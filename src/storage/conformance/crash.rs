//! The child side of the crash-safety test: a process that writes datasets to `SQLite` until it
//! is killed, reporting each commit. The test (tests/storage.rs) kills it with SIGKILL, reopens
//! the file and checks that every reported dataset (and any later one) is intact.
//! Reached through the hidden CLI subcommand `anomdet __crash-writer --db PATH`.

use std::io::Write;
use std::path::Path;

use crate::model::{Column, Series, Timestamp};
use crate::storage::{NewDataset, SqliteStorage, Storage as _, StorageError};

/// Rows per dataset the crash writer stores (about 3.4 MB each, so a kill often lands
/// inside a transaction).
pub const CRASH_ROWS: usize = 200_000;

/// The content of dataset `crash-{n}`: deterministic, distinct for every `n`.
pub fn crash_series(n: usize) -> Series {
    let offset = n as i64;
    let timestamps = (0..CRASH_ROWS as i64)
        .map(|i| Timestamp(i * Timestamp::NANOS_PER_SEC + offset))
        .collect();
    let values = (0..CRASH_ROWS)
        .map(|i| i as f64 * 0.5 + n as f64 * 1e6)
        .collect();
    let labels = (0..CRASH_ROWS).map(|i| i % 997 == n % 997).collect();
    match Series::new(timestamps, vec![Column::new("value", values)], Some(labels)) {
        Ok(series) => series,
        // Unreachable: lengths match and timestamps increase.
        Err(e) => panic!("crash_series({n}) is malformed: {e}"),
    }
}

/// Writes datasets `crash-0`, `crash-1`, ... (skipping names that exist) to the `SQLite` file
/// `db`, each one transaction of [`CRASH_ROWS`] rows, printing `committed crash-N` and
/// flushing `out` after every commit. Runs until killed or until a write fails.
pub fn crash_writer(db: &Path, out: &mut dyn Write) -> Result<(), StorageError> {
    let mut store = SqliteStorage::open(db)?;
    for n in 0.. {
        let name = format!("crash-{n}");
        let new = NewDataset {
            name: name.clone(),
            source: "crash writer".to_owned(),
            ..NewDataset::default()
        };
        match store.put_dataset(&new, &crash_series(n)) {
            Ok(_) => {}
            Err(StorageError::NameTaken(_)) => continue,
            Err(e) => return Err(e),
        }
        writeln!(out, "committed {name}")
            .and_then(|()| out.flush())
            .map_err(|e| StorageError::Backend {
                op: "report a commit",
                message: e.to_string(),
            })?;
    }
    Ok(())
}
