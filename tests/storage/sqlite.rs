//! SQLite-only behaviour: persistence across reopen, migrations, refusing newer schemas,
//! reporting damaged data as `Corrupt`, and the chunked layout.

use std::path::{Path, PathBuf};

use anomdet::model::Series;
use anomdet::storage::conformance::{assert_same_series, sample_run, sample_series};
use anomdet::storage::{NewDataset, SqliteStorage, Storage as _, StorageError};
use tempfile::TempDir;

fn temp_db() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("anomdet.sqlite");
    (dir, path)
}

/// A raw connection for inspecting or tampering with the file the way another program could.
fn raw(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).unwrap()
}

fn user_version(path: &Path) -> i64 {
    raw(path)
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn reopen_after_drop_keeps_everything() {
    let (_dir, path) = temp_db();
    let series = sample_series(100_000, 2, true, 9);
    let (meta, run_id, run) = {
        let mut store = SqliteStorage::open(&path).unwrap();
        let meta = store
            .put_dataset(&NewDataset::named("kept"), &series)
            .unwrap();
        let run = sample_run(meta.id, series.len(), 3);
        let run_id = store.put_run(&run).unwrap();
        (meta, run_id, run)
    };
    let store = SqliteStorage::open(&path).unwrap();
    assert_eq!(store.list_datasets().unwrap(), vec![meta.clone()]);
    assert_same_series(
        &store.load_series(meta.id).unwrap(),
        &series,
        "after reopen",
    );
    let record = store.run(run_id).unwrap();
    assert_eq!(record.predicted, run.predicted);
    anomdet::storage::conformance::assert_same_bits(&record.scores, &run.scores, "scores");
    assert_eq!(
        store.list_runs(Some(meta.id)).unwrap(),
        vec![record.summary]
    );
    store.check_integrity().unwrap();
    assert!(
        store.describe().contains("anomdet.sqlite"),
        "{}",
        store.describe()
    );
}

#[test]
fn migrations_are_applied_once_and_opening_again_changes_nothing() {
    let (_dir, path) = temp_db();
    let meta = {
        let mut store = SqliteStorage::open(&path).unwrap();
        store
            .put_dataset(&NewDataset::named("a"), &sample_series(10, 1, false, 1))
            .unwrap()
    };
    assert_eq!(user_version(&path), SqliteStorage::schema_version());
    for _ in 0..2 {
        let store = SqliteStorage::open(&path).unwrap();
        assert_eq!(store.list_datasets().unwrap(), vec![meta.clone()]);
    }
    assert_eq!(user_version(&path), SqliteStorage::schema_version());
    let tables: i64 = raw(&path)
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'datasets'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tables, 1, "schema created exactly once");
}

#[test]
fn two_handles_on_one_file_see_each_others_writes() {
    let (_dir, path) = temp_db();
    let mut writer = SqliteStorage::open(&path).unwrap();
    let reader = SqliteStorage::open(&path).unwrap();
    let series = sample_series(70_000, 1, true, 2);
    let meta = writer
        .put_dataset(&NewDataset::named("shared"), &series)
        .unwrap();
    assert_same_series(
        &reader.load_series(meta.id).unwrap(),
        &series,
        "other handle",
    );
    let err = reader.dataset_by_name("missing").unwrap_err();
    assert!(matches!(err, StorageError::DatasetNotFound(_)), "{err:?}");
}

#[test]
fn file_is_in_wal_mode_with_the_current_schema_version() {
    let (_dir, path) = temp_db();
    drop(SqliteStorage::open(&path).unwrap());
    let mode: String = raw(&path)
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    assert!(
        SqliteStorage::schema_version() >= 1,
        "at least one migration"
    );
    assert_eq!(user_version(&path), SqliteStorage::schema_version());
}

#[test]
fn newer_schema_is_refused_and_left_untouched() {
    let (_dir, path) = temp_db();
    drop(SqliteStorage::open(&path).unwrap());
    let newer = SqliteStorage::schema_version() + 1;
    raw(&path)
        .pragma_update(None, "user_version", newer)
        .unwrap();
    let err = SqliteStorage::open(&path).unwrap_err();
    match err {
        StorageError::SchemaTooNew { found, supported } => {
            assert_eq!((found, supported), (newer, SqliteStorage::schema_version()));
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
    assert!(
        err_text(&path).contains("upgrade AnomDet"),
        "message tells the user what to do"
    );
    assert_eq!(user_version(&path), newer, "version not rewritten");
}

fn err_text(path: &Path) -> String {
    SqliteStorage::open(path).unwrap_err().to_string()
}

#[test]
fn a_file_that_is_not_a_database_is_a_backend_error() {
    let (_dir, path) = temp_db();
    std::fs::write(&path, b"timestamp,value\n1,2\n".repeat(100)).unwrap();
    let err = SqliteStorage::open(&path).unwrap_err();
    assert!(matches!(err, StorageError::Backend { .. }), "{err:?}");
    assert!(
        err.to_string().contains("anomdet.sqlite"),
        "names the file: {err}"
    );
}

#[test]
fn a_million_rows_are_stored_in_few_chunks() {
    let (_dir, path) = temp_db();
    let mut store = SqliteStorage::open(&path).unwrap();
    let series = Series::from_values("v", (0..1_000_000).map(f64::from).collect());
    let meta = store
        .put_dataset(&NewDataset::named("big"), &series)
        .unwrap();
    let chunks: i64 = raw(&path)
        .query_row(
            "SELECT count(*) FROM series_chunk WHERE dataset_id = ?1",
            [meta.id.0],
            |r| r.get(0),
        )
        .unwrap();
    // 16 timestamp chunks + 16 value chunks of 64 Ki rows.
    assert_eq!(chunks, 32);
    assert_same_series(&store.load_series(meta.id).unwrap(), &series, "1M rows");
    store.delete_dataset(meta.id).unwrap();
    let left: i64 = raw(&path)
        .query_row("SELECT count(*) FROM series_chunk", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 0, "chunks cascade-deleted");
}

/// Stores one dataset and one run, applies `tamper` to the file, and returns the store.
fn tampered(
    path: &Path,
    tamper: impl FnOnce(&rusqlite::Connection),
) -> (
    SqliteStorage,
    anomdet::storage::DatasetId,
    anomdet::storage::RunId,
) {
    let mut store = SqliteStorage::open(path).unwrap();
    let series = sample_series(100_000, 1, true, 1);
    let meta = store
        .put_dataset(&NewDataset::named("victim"), &series)
        .unwrap();
    let run = store.put_run(&sample_run(meta.id, 100_000, 1)).unwrap();
    tamper(&raw(path));
    (store, meta.id, run)
}

fn sql(statement: &'static str) -> impl FnOnce(&rusqlite::Connection) {
    move |conn| conn.execute_batch(statement).unwrap()
}

/// Rewrites the bytes of series chunk (`kind`, 0, `chunk`) with `edit`.
fn edit_chunk(kind: i64, chunk: i64, edit: fn(&mut Vec<u8>)) -> impl FnOnce(&rusqlite::Connection) {
    move |conn| {
        let select = "SELECT bytes FROM series_chunk WHERE kind = ?1 AND chunk_index = ?2";
        let mut bytes: Vec<u8> = conn.query_row(select, [kind, chunk], |r| r.get(0)).unwrap();
        edit(&mut bytes);
        let update = "UPDATE series_chunk SET bytes = ?1 WHERE kind = ?2 AND chunk_index = ?3";
        assert_eq!(
            conn.execute(update, rusqlite::params![bytes, kind, chunk])
                .unwrap(),
            1
        );
    }
}

#[track_caller]
fn assert_corrupt<T: std::fmt::Debug>(result: Result<T, StorageError>, context: &str) {
    match result {
        Err(StorageError::Corrupt { .. }) => {}
        other => panic!("{context}: expected Corrupt, got {other:?}"),
    }
}

#[test]
fn damaged_series_is_reported_as_corrupt_not_a_panic() {
    let cases: Vec<(&str, Box<dyn FnOnce(&rusqlite::Connection)>)> = vec![
        (
            "truncated value chunk",
            Box::new(edit_chunk(1, 0, |b| b.truncate(b.len() - 3))),
        ),
        (
            "missing chunk",
            Box::new(sql(
                "DELETE FROM series_chunk WHERE kind = 0 AND chunk_index = 1",
            )),
        ),
        (
            "extra chunk",
            Box::new(sql(
                "INSERT INTO series_chunk SELECT dataset_id, kind, column_index, 99, bytes \
                 FROM series_chunk WHERE kind = 1 AND chunk_index = 0",
            )),
        ),
        ("bad label byte", Box::new(edit_chunk(2, 0, |b| b[0] = 7))),
        (
            "unknown column",
            Box::new(sql(
                "UPDATE series_chunk SET column_index = 5 WHERE kind = 1 AND chunk_index = 0",
            )),
        ),
        (
            "wrong row count",
            Box::new(sql("UPDATE datasets SET rows = rows + 1")),
        ),
        (
            "unsorted timestamps",
            Box::new(edit_chunk(0, 1, |b| b[..8].fill(0))),
        ),
    ];
    for (what, tamper) in cases {
        let (_dir, path) = temp_db();
        let (store, id, _) = tampered(&path, tamper);
        assert_corrupt(store.load_series(id), what);
    }
    let (_dir, path) = temp_db();
    let (store, _, _) = tampered(&path, sql("UPDATE datasets SET columns_json = 'not json'"));
    assert_corrupt(store.list_datasets(), "bad columns JSON");
}

#[test]
fn damaged_run_is_reported_as_corrupt_not_a_panic() {
    let cases = [
        (
            "truncated score chunk",
            "UPDATE run_chunk SET bytes = substr(bytes, 2) WHERE kind = 0",
        ),
        ("unknown status", "UPDATE runs SET status = 'exploded'"),
        (
            "flag count mismatch",
            "UPDATE runs SET flagged = flagged + 1",
        ),
        (
            "missing predictions",
            "DELETE FROM run_chunk WHERE kind = 1",
        ),
        ("bad params JSON", "UPDATE runs SET params_json = '[1,'"),
    ];
    for (what, statement) in cases {
        let (_dir, path) = temp_db();
        let (store, _, run) = tampered(&path, sql(statement));
        assert_corrupt(store.run(run), what);
    }
}
