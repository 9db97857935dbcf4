//! A stream killed with SIGKILL mid-replay: on reopen the job shows as interrupted, and every
//! flushed row of its run is intact (equal to the batch scores of those rows).
//!
//! The child is the real binary, `anomdet stream` at 10 000× real time over 200 000 rows one
//! second apart (about 20 s if left alone). The test watches the job in the database until
//! some rows are flushed, then kills the child.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anomdet::control::CancelToken;
use anomdet::detect::DetectorSpec;
use anomdet::engine::{DbLocation, Engine};
use anomdet::storage::RunStatus;
use anomdet::testing::bits;

/// Generous: only here so a broken child cannot hang the test run.
const WAIT: Duration = Duration::from_mins(2);

#[test]
fn killed_stream_shows_interrupted_and_its_flushed_rows_are_intact() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("stream-crash.sqlite");
    let location = DbLocation::Sqlite(db.clone());
    let series = super::spiky(200_000);
    Engine::open(&location)
        .unwrap()
        .store_series("long", &series)
        .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_anomdet"))
        .arg("--db")
        .arg(&db)
        .args([
            "stream",
            "long",
            "--detector",
            "rolling_zscore",
            "--speed",
            "10000",
            "--threshold",
            "fixed:4",
            "--warmup",
            "0",
            "--json",
        ])
        .env_remove("ANOMDET_DB")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Watch from this process (a second connection, as the GUI of another process would).
    let watcher = Engine::open(&location).unwrap();
    let started = Instant::now();
    let job = loop {
        assert!(started.elapsed() < WAIT, "the stream never flushed rows");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the stream ended early"
        );
        if let Some(job) = watcher.jobs().unwrap().into_iter().next()
            && job.rows_done >= 3000
        {
            break job;
        }
        // Polling pace only (nothing is timed).
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(job.status, RunStatus::Running);
    child.kill().unwrap();
    child.wait().unwrap();
    drop(watcher);

    // Reopening marks the dead process's job (and its run) interrupted.
    let engine = Engine::open(&location).unwrap();
    let after = engine.job(job.id).unwrap();
    assert_eq!(after.status, RunStatus::Interrupted);
    assert!(after.rows_done >= job.rows_done && after.rows_done < 200_000);
    let runs = engine.list_runs(None).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, RunStatus::Interrupted);
    assert_eq!(runs[0].job, Some(job.id));
    let run = engine.run(runs[0].id).unwrap();
    let stored = run.scores.len();
    assert!(
        stored >= after.rows_done,
        "{stored} rows stored, job says {}",
        after.rows_done
    );
    assert_eq!(run.predicted.len(), stored);
    let mut detector = DetectorSpec::new("rolling_zscore").build().unwrap();
    let batch = detector.score_series(&series, &CancelToken::new()).unwrap();
    assert_eq!(
        bits(&run.scores),
        bits(&batch[..stored]),
        "flushed scores intact"
    );
    let flags: Vec<bool> = batch[..stored].iter().map(|&s| s >= 4.0).collect();
    assert_eq!(run.predicted, flags, "flushed flags intact");
    // The database stays usable: a new stream over it works.
    assert_eq!(engine.jobs().unwrap().len(), 1);
}
