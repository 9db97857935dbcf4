//! A writer process killed with SIGKILL, possibly mid-transaction, must leave a database that
//! opens, passes SQLite's integrity check, and holds every committed dataset intact.
//!
//! The child is the real binary (`anomdet __crash-writer --db PATH`, which calls
//! `storage::conformance::crash_writer`). Several rounds on the same file: each round measures
//! the writer's period (time between its first two commits) and kills it at a different
//! fraction of the next period, so the kills are spread over a whole 3.4 MB write (preparing
//! the data, inserting the chunks, committing). Each new round continues the numbering, so it
//! also proves the file stays writable after a kill. Checked to fail when `put_dataset` is
//! split into two transactions.

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader, Read as _};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anomdet::storage::conformance::{assert_same_series, crash_series};
use anomdet::storage::{NewDataset, SqliteStorage, Storage as _};

/// Generous: only here so a broken child cannot hang the test run forever.
const LINE_TIMEOUT: Duration = Duration::from_mins(2);

fn spawn_writer(db: &Path) -> (Child, crossbeam_channel::Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_anomdet"))
        .arg("__crash-writer")
        .arg("--db")
        .arg(db)
        .env_remove("ANOMDET_DB")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = crossbeam_channel::bounded(1024);
    std::thread::Builder::new()
        .name("crash-writer-stdout".into())
        .spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        })
        .unwrap();
    (child, rx)
}

fn committed_name(line: &str) -> String {
    line.strip_prefix("committed ")
        .unwrap_or_else(|| panic!("unexpected line from the writer: {line:?}"))
        .to_owned()
}

#[test]
fn killed_writer_leaves_every_committed_dataset_intact() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.sqlite");
    let mut committed = BTreeSet::new();
    let fractions = [0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95];
    for (round, fraction) in fractions.into_iter().enumerate() {
        let (mut child, lines) = spawn_writer(&db);
        let mut seen_at = Vec::new();
        for _ in 0..2 {
            if let Ok(line) = lines.recv_timeout(LINE_TIMEOUT) {
                seen_at.push(Instant::now());
                committed.insert(committed_name(&line));
            } else {
                child.kill().ok();
                let status = child.wait().unwrap();
                let mut stderr = String::new();
                child
                    .stderr
                    .take()
                    .unwrap()
                    .read_to_string(&mut stderr)
                    .unwrap();
                panic!(
                    "round {round}: the writer stopped before two commits ({status}); \
                     is `anomdet __crash-writer` wired to storage::conformance::crash_writer? \
                     stderr: {stderr}"
                );
            }
        }
        // Kill at `fraction` of the way through the next write.
        std::thread::sleep((seen_at[1] - seen_at[0]).mul_f64(fraction));
        child.kill().unwrap(); // SIGKILL on Unix: no destructors, no flush, no rollback.
        let status = child.wait().unwrap();
        assert!(
            !status.success(),
            "round {round}: the writer was killed, not finished"
        );
        // Commits reported before the kill landed.
        committed.extend(lines.iter().map(|line| committed_name(&line)));

        let mut store = SqliteStorage::open(&db).unwrap();
        store.check_integrity().unwrap();
        let stored: BTreeSet<String> = store
            .list_datasets()
            .unwrap()
            .into_iter()
            .map(|m| m.name)
            .collect();
        let lost: Vec<&String> = committed.difference(&stored).collect();
        assert!(
            lost.is_empty(),
            "round {round}: committed datasets missing: {lost:?}"
        );
        // Every dataset present, reported or not, is complete and exact.
        for meta in store.list_datasets().unwrap() {
            let n: usize = meta.name.strip_prefix("crash-").unwrap().parse().unwrap();
            let loaded = store.load_series(meta.id).unwrap();
            assert_same_series(&loaded, &crash_series(n), &meta.name);
        }
        // And the file still takes writes.
        let probe = store
            .put_dataset(
                &NewDataset::named(format!("probe-{round}")),
                &crash_series(0),
            )
            .unwrap();
        store.delete_dataset(probe.id).unwrap();
    }
    assert!(
        committed.len() >= 6,
        "three rounds of at least two commits: {committed:?}"
    );
}
