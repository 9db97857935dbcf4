//! Pacing, pause/resume, seek, speed changes, cancellation, backpressure and the job list.

use std::time::Duration;

use anomdet::detect::{DetectorSpec, ThresholdRule};
use anomdet::engine::{DbLocation, Engine, RunControl};
use anomdet::storage::{JobId, RunStatus};
use anomdet::stream::{Backpressure, Speed, StreamEvent, StreamOptions};

use super::{drain, engine_with, next_batch, spiky, start_manual, until_event, zscore_spec};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Receives the batch holding exactly row `row` and returns the clock time it was replayed.
fn row_at(handle: &anomdet::stream::StreamHandle, row: usize) -> Duration {
    loop {
        let batch = next_batch(handle);
        if batch.is_empty() {
            continue;
        }
        assert_eq!(batch.rows, row..row + 1, "one row per clock step");
        return batch.first_row_at;
    }
}

#[test]
fn speed_factor_is_honoured_exactly_on_the_manual_clock() {
    let (engine, id) = engine_with(&spiky(40));
    let (handle, clock) = start_manual(&engine, zscore_spec(id, Speed::Factor(10.0)));
    // Rows are one second apart: at 10x, row k is due at k * 100 ms.
    for k in 0..10u64 {
        assert_eq!(row_at(&handle, k as usize), ms(100 * k), "row {k}");
        // Nothing else can come before the clock moves: the replay waits for row k + 1.
        assert!(
            handle.events().try_recv().is_err(),
            "row {} came early",
            k + 1
        );
        clock.advance(ms(99));
        assert!(
            handle.events().try_recv().is_err(),
            "row {} came early",
            k + 1
        );
        clock.advance(ms(1));
    }
    // Row 10 is replayed at 1000 ms; switch to 0.5x: the next row comes two seconds later.
    assert_eq!(row_at(&handle, 10), ms(1000));
    handle.set_speed(Speed::Factor(0.5)).unwrap();
    until_event(&handle, |e| matches!(e, StreamEvent::SpeedChanged(_)));
    clock.advance(ms(1999));
    assert!(handle.events().try_recv().is_err(), "row 11 came early");
    clock.advance(ms(1));
    assert_eq!(row_at(&handle, 11), ms(3000));
    // Max speed: everything else at once, no clock needed.
    handle.set_speed(Speed::Max).unwrap();
    let rest = drain(&handle);
    assert_eq!(rest.rows, (12..40).collect::<Vec<_>>());
    let outcome = handle.join().unwrap();
    assert_eq!(outcome.status, RunStatus::Finished);
    assert_eq!(clock_now(&clock), ms(3000), "max speed never waited");
}

fn clock_now(clock: &anomdet::stream::ManualClock) -> Duration {
    use anomdet::stream::Clock as _;
    clock.now()
}

#[test]
fn pause_holds_the_replay_and_resume_continues_at_the_same_pace() {
    let (engine, id) = engine_with(&spiky(20));
    let (handle, clock) = start_manual(&engine, zscore_spec(id, Speed::Factor(1.0)));
    assert_eq!(row_at(&handle, 0), ms(0));
    clock.advance(ms(1000));
    assert_eq!(row_at(&handle, 1), ms(1000));
    handle.pause().unwrap();
    until_event(&handle, |e| *e == StreamEvent::Status(RunStatus::Paused));
    assert_eq!(handle.monitor().status(), RunStatus::Paused);
    assert_eq!(engine.job(handle.job()).unwrap().status, RunStatus::Paused);
    // An hour passes while paused; row 2 (due at 2 s before the pause) must not come.
    clock.advance(Duration::from_hours(1));
    handle.resume().unwrap();
    until_event(&handle, |e| *e == StreamEvent::Status(RunStatus::Running));
    // Resumed at 3601 s: the pace continues from row 1, so row 2 is due one second later.
    assert!(handle.events().try_recv().is_err(), "row 2 came at once");
    clock.advance(ms(1000));
    assert_eq!(row_at(&handle, 2), Duration::from_secs(3602));
    handle.cancel();
    assert_eq!(handle.join().unwrap().status, RunStatus::Cancelled);
}

#[test]
fn seek_forward_scores_every_row_and_seek_back_is_refused() {
    let (engine, id) = engine_with(&spiky(50));
    let (handle, clock) = start_manual(&engine, zscore_spec(id, Speed::Factor(1.0)));
    assert_eq!(row_at(&handle, 0), ms(0));
    handle.seek(30).unwrap();
    let seen = until_event(&handle, |e| matches!(e, StreamEvent::Seeked { to_row: 30 }));
    let mut rows: Vec<usize> = seen.iter().flat_map(|b| b.rows.clone()).collect();
    // Rows 1..30 come without the clock moving; row 30 is then due at once.
    while rows.last() != Some(&30) {
        rows.extend(next_batch(&handle).rows);
    }
    assert_eq!(rows, (1..=30).collect::<Vec<_>>(), "no row skipped");
    assert_eq!(clock_now(&clock), ms(0));
    handle.seek(5).unwrap();
    let notes = until_event(&handle, |e| matches!(e, StreamEvent::Notice(_)));
    assert!(
        notes.iter().all(anomdet::stream::StreamBatch::is_empty),
        "seeking back replays nothing"
    );
    handle.set_speed(Speed::Max).unwrap();
    let rest = drain(&handle);
    assert_eq!(rest.rows, (31..50).collect::<Vec<_>>());
    assert_eq!(handle.join().unwrap().rows_done, 50);
}

#[test]
fn cancel_wakes_a_waiting_stream_and_keeps_partial_results_marked_cancelled() {
    let (engine, id) = engine_with(&spiky(100));
    let (handle, clock) = start_manual(&engine, zscore_spec(id, Speed::Factor(1.0)));
    let mut scores = Vec::new();
    for k in 0..6u64 {
        if k > 0 {
            clock.advance(ms(1000));
        }
        loop {
            let batch = next_batch(&handle);
            if !batch.is_empty() {
                scores.extend(batch.scores[0].iter().copied());
                break;
            }
        }
    }
    // The replay now waits for row 6, which is never due: cancel must wake it.
    let job = handle.job();
    let runs = handle.runs().to_vec();
    handle.cancel();
    let outcome = handle.join().unwrap();
    assert_eq!(
        (outcome.status, outcome.rows_done),
        (RunStatus::Cancelled, 6)
    );
    let stored = engine.job(job).unwrap();
    assert_eq!((stored.status, stored.rows_done), (RunStatus::Cancelled, 6));
    let run = engine.run(runs[0]).unwrap();
    assert_eq!(run.summary.status, RunStatus::Cancelled);
    assert_eq!(
        anomdet::testing::bits(&run.scores),
        anomdet::testing::bits(&scores)
    );
    assert_eq!(run.summary.job, Some(job));
}

#[test]
fn cancel_reaches_a_stream_blocked_on_a_full_channel() {
    let (engine, id) = engine_with(&spiky(10_000));
    let mut spec = zscore_spec(id, Speed::Max);
    spec.batch_rows = 8;
    let options = StreamOptions {
        capacity: 1,
        ..StreamOptions::default()
    };
    let handle = engine.start_stream_with(spec, options).unwrap();
    // Never read: the replay fills the channel and blocks.
    handle.cancel();
    let outcome = handle.join().unwrap();
    assert_eq!(outcome.status, RunStatus::Cancelled);
    assert!(outcome.rows_done < 10_000, "stopped early");
}

/// Rows replayed but not yet received never exceed what the channel and the batch in hand
/// can hold.
fn assert_bounded(
    backpressure: Backpressure,
    capacity: usize,
    batch_rows: usize,
    coalesce_max_rows: usize,
    bound: usize,
) {
    let (engine, id) = engine_with(&spiky(20_000));
    let mut spec = zscore_spec(id, Speed::Max);
    spec.batch_rows = batch_rows;
    spec.persist = false;
    let options = StreamOptions {
        capacity,
        backpressure,
        coalesce_max_rows,
        ..StreamOptions::default()
    };
    let handle = engine.start_stream_with(spec, options).unwrap();
    let mut received = 0usize;
    let mut largest = 0usize;
    while let Ok(batch) = handle.events().recv_timeout(super::RECV_TIMEOUT) {
        assert!(handle.events().len() <= capacity, "channel over capacity");
        received += batch.len();
        largest = largest.max(batch.len());
        let (produced, _) = handle.progress().get();
        assert!(
            produced as usize <= received + bound,
            "{produced} rows replayed, {received} received: more than {bound} in flight"
        );
        // A slow consumer.
        for _ in 0..2000 {
            std::hint::black_box(received);
        }
        if batch
            .events
            .iter()
            .any(|e| matches!(e, StreamEvent::Finished(_)))
        {
            break;
        }
    }
    assert_eq!(received, 20_000);
    let max_batch = match backpressure {
        Backpressure::Block => batch_rows,
        Backpressure::Coalesce => coalesce_max_rows.max(batch_rows),
    };
    assert!(largest <= max_batch, "batch of {largest} rows");
    handle.join().unwrap();
}

#[test]
fn a_slow_consumer_bounds_memory_when_blocking() {
    // Channel (2 batches) + the batch being filled.
    assert_bounded(Backpressure::Block, 2, 16, 0, 3 * 16);
}

#[test]
fn a_slow_consumer_bounds_memory_when_coalescing() {
    assert_bounded(Backpressure::Coalesce, 1, 16, 64, 2 * 64);
}

#[test]
fn jobs_list_shows_live_and_stored_jobs_and_batch_jobs_group_runs() {
    let (engine, id) = engine_with(&spiky(300));
    let specs = [
        DetectorSpec::new("rolling_zscore"),
        DetectorSpec::new("ewma"),
    ];
    let batch = engine
        .run_batch_job(id, &specs, ThresholdRule::default(), &RunControl::default())
        .unwrap();
    assert_eq!(batch.status, RunStatus::Finished);
    assert_eq!(batch.runs.len(), 2);
    assert!(batch.runs.iter().all(|r| r.job == Some(batch.job)));
    let (handle, _clock) = start_manual(&engine, zscore_spec(id, Speed::Factor(1.0)));
    until_event(&handle, |e| *e == StreamEvent::Status(RunStatus::Running));
    let jobs = engine.jobs().unwrap();
    let find = |id: JobId| jobs.iter().find(|j| j.id == id).unwrap().clone();
    let stored_batch = find(batch.job);
    assert_eq!(
        (stored_batch.kind.as_str(), stored_batch.status),
        ("batch", RunStatus::Finished)
    );
    assert_eq!(stored_batch.rows_done, 600);
    let live = find(handle.job());
    assert_eq!(
        (live.kind.as_str(), live.status),
        ("stream", RunStatus::Running)
    );
    assert_eq!(live.rows_total, 300);
    handle.cancel();
    handle.join().unwrap();
    assert_eq!(engine.job(live.id).unwrap().status, RunStatus::Cancelled);
}

#[test]
fn a_finished_stream_stores_throughput_and_detection_delays() {
    let series = spiky(2000);
    let (engine, id) = engine_with(&series);
    let mut spec = zscore_spec(id, Speed::Max);
    spec.plan = Some(
        anomdet::inject::InjectionPlan::from_json(
            r#"{"seed": 3, "injections": [{"kind": "level_shift", "params": {"offset": 10.0},
                "target": {"type": "rows", "start": 1500, "length": 100}}]}"#,
        )
        .unwrap(),
    );
    let handle = engine.start_stream(spec).unwrap();
    let job = handle.job();
    let outcome = handle.join().unwrap();
    assert_eq!(outcome.status, RunStatus::Finished);
    let delays = &outcome.detectors[0].delays;
    assert_eq!((delays.windows, delays.detected), (1, 1));
    let stored = engine.job(job).unwrap();
    assert_eq!(stored.status, RunStatus::Finished);
    assert!(stored.rows_per_sec > 0.0);
    let summary: anomdet::stream::StreamOutcome =
        serde_json::from_str(&stored.summary_json).unwrap();
    assert_eq!(summary.detectors[0].delays, *delays);
}

#[test]
fn cli_stream_prints_windows_and_jobs_lists_the_stored_job() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("jobs.sqlite");
    let engine = Engine::open(&DbLocation::Sqlite(db.clone())).unwrap();
    engine.store_series("spiky", &spiky(500)).unwrap();
    drop(engine);
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_anomdet"))
            .arg("--db")
            .arg(&db)
            .args(args)
            .env_remove("ANOMDET_DB")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let text = run(&[
        "stream",
        "spiky",
        "--detector",
        "rolling_zscore:window=50",
        "--detector",
        "ewma",
        "--speed",
        "max",
        "--threshold",
        "fixed:4",
        "--json",
    ]);
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let opened = lines.iter().filter(|l| l["event"] == "open").count();
    let closed = lines.iter().filter(|l| l["event"] == "close").count();
    assert!(opened >= 1 && opened == closed, "{text}");
    assert!(
        lines
            .iter()
            .any(|l| l["event"] == "open" && l["row"] == 250),
        "spike found: {text}"
    );
    let last = lines.last().unwrap();
    assert_eq!(last["event"], "finished");
    assert_eq!(last["outcome"]["status"], "finished");
    let human = run(&[
        "stream",
        "spiky",
        "--detector",
        "rolling_zscore",
        "--speed",
        "max",
        "--threshold",
        "fixed:4",
    ]);
    assert!(human.contains("open   rolling_zscore"), "{human}");
    let jobs: Vec<serde_json::Value> = serde_json::from_str(&run(&["jobs", "--json"])).unwrap();
    assert_eq!(jobs.len(), 2);
    assert!(
        jobs.iter()
            .all(|j| j["status"] == "finished" && j["kind"] == "stream")
    );
    let table = run(&["jobs"]);
    assert!(
        table.contains("finished") && table.contains("spiky"),
        "{table}"
    );
}
