//! Whole-app GUI tests of the Watch step (issue 8 step 4): a stream started from the Detect
//! tab is drawn live (rows received, detections listed), paused and resumed with Space,
//! cancelled from the live view with its partial rows kept, and listed in the jobs panel.
//!
//! Streams run on a `ManualClock` at real-time speed: rows are replayed only when the test
//! moves the clock, so what the UI received at each assertion is exact. The app's own
//! workers are real threads; the tests step frames until the state they wait for appears.

use std::sync::Arc;
use std::time::Duration;

use anomdet::app::App;
use anomdet::app::UiCommand;
use anomdet::app::flow::{FlowCommand, RunMode};
use anomdet::app::state::WorkflowTab;
use anomdet::app::watch::{LiveStatus, LiveStream};
use anomdet::detect::{DetectorSpec, ThresholdRule};
use anomdet::engine::Engine;
use anomdet::storage::{DatasetId, RunStatus};
use anomdet::stream::ManualClock;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;

use crate::ui_flow::harness;

/// Steps frames until `done` holds; panics with `what` after about ten seconds.
#[track_caller]
fn step_until(harness: &mut Harness<'_, App>, what: &str, done: impl Fn(&App) -> bool) {
    for _ in 0..2000 {
        harness.step();
        if done(harness.state()) {
            harness.step();
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!(
        "timed out waiting for: {what} (last error: {:?}, streams: {:?})",
        harness.state().last_error(),
        harness
            .state()
            .watch()
            .streams()
            .iter()
            .map(|s| (s.status(), s.rows(), s.error().map(str::to_owned)))
            .collect::<Vec<_>>()
    );
}

fn focused(app: &App) -> &LiveStream {
    app.watch().focused().expect("a focused stream")
}

fn rows(app: &App) -> usize {
    app.watch().focused().map_or(0, LiveStream::rows)
}

/// A labelled dataset at one row per second: a spike at 300, a level shift over 400..420.
fn labelled_engine() -> (Engine, DatasetId) {
    let engine = Engine::in_memory();
    let series = anomdet::testing::seasonal_with_anomalies(600, 50, 300, 400..420, 1);
    let meta = engine.store_series("sensor", &series).unwrap();
    (engine, meta.id)
}

/// Selects "sensor", gives the Watch step `clock`, and runs rolling z-score as a stream at
/// real time from the Detect tab; returns once the stream replays (row 0 is due at once).
fn start_stream(harness: &mut Harness<'_, App>, clock: &ManualClock) {
    step_until(harness, "the listing", |app| !app.datasets().is_empty());
    harness.get_by_label("sensor").click();
    step_until(harness, "the dataset loaded", |app| {
        app.flow().truth().is_some_and(|t| t.meta.name == "sensor")
    });
    harness
        .state_mut()
        .watch_mut()
        .use_clock(Arc::new(clock.clone()));
    assert!(harness.query_by_label("Run as stream").is_some());
    harness
        .state_mut()
        .push_command(UiCommand::Flow(FlowCommand::RunDetectors {
            specs: vec![DetectorSpec::new("rolling_zscore")],
            rule: ThresholdRule::default(),
            mode: RunMode::Stream { speed: Some(1.0) },
        }));
    step_until(harness, "the stream running", |app| {
        app.watch()
            .focused()
            .is_some_and(|s| s.status() == LiveStatus::Running && s.rows() == 1)
    });
    assert_eq!(harness.state().state().workflow_tab, WorkflowTab::Watch);
}

#[test]
fn a_stream_is_drawn_live_paused_with_space_and_resumed() {
    let (engine, dataset) = labelled_engine();
    let clock = ManualClock::new();
    let mut harness = harness(engine.clone());
    start_stream(&mut harness, &clock);

    // 350 s of clock time: rows 1..=350 fall due, the spike at 300 among them.
    clock.advance(Duration::from_secs(350));
    step_until(&mut harness, "351 rows received", |app| rows(app) == 351);
    {
        let app = harness.state();
        let stream = focused(app);
        let data = stream.data().unwrap();
        assert_eq!(data.rows_total, 600);
        assert_eq!(data.values[0].len(), 351);
        assert_eq!(data.detectors[0].scores.len(), 351);
        assert_eq!(
            data.truth.closed(),
            std::slice::from_ref(&(300..301)),
            "the spike's label arrived"
        );
        let detections = data.recent_detections(10);
        assert!(
            detections.iter().any(|d| d.hit && d.rows.contains(&300)),
            "the spike is detected and listed as a true positive: {detections:?}"
        );
        let view = &app.watch().view;
        assert!(view.follow, "a new stream is followed");
        assert!(view.points_drawn > 0, "the live plots drew the rows");
        assert!(view.spans_drawn > 0, "the spike's windows are shaded");
    }
    assert!(
        harness
            .query_by_label("Detections (newest first)")
            .is_some()
    );
    assert!(harness.query_by_label("Follow the stream").is_some());

    // Space pauses the focused stream: moving the clock then replays nothing.
    harness.key_press(egui::Key::Space);
    step_until(&mut harness, "paused", |app| {
        focused(app).status() == LiveStatus::Paused
    });
    clock.advance(Duration::from_secs(100));
    for _ in 0..20 {
        harness.step();
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(rows(harness.state()), 351, "a paused stream sends no rows");
    assert!(harness.query_by_label("Resume").is_some());

    // Space again resumes from row 351 at the same pace.
    harness.key_press(egui::Key::Space);
    step_until(&mut harness, "running again", |app| {
        focused(app).status() == LiveStatus::Running
    });
    clock.advance(Duration::from_secs(400));
    step_until(
        &mut harness,
        "the stream finished and its run opened",
        |app| focused(app).status() == LiveStatus::Finished && app.flow().opened().len() == 1,
    );
    let app = harness.state();
    assert_eq!(rows(app), 600);
    let (hits, _, missed) = focused(app).data().unwrap().counts(0);
    assert!(
        hits >= 1 && hits + missed >= 2,
        "{hits} hits, {missed} missed"
    );
    let runs = engine.list_runs(Some(dataset)).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!((runs[0].status, runs[0].rows), (RunStatus::Finished, 600));
}

#[test]
fn cancelling_a_stream_keeps_its_partial_rows_and_lists_the_job() {
    let (engine, dataset) = labelled_engine();
    let clock = ManualClock::new();
    let mut harness = harness(engine.clone());
    start_stream(&mut harness, &clock);
    clock.advance(Duration::from_secs(200));
    step_until(&mut harness, "201 rows received", |app| rows(app) == 201);

    harness.get_by_label("Cancel stream").click();
    step_until(&mut harness, "cancelled and joined", |app| {
        focused(app).status() == LiveStatus::Cancelled && !app.watch().is_busy()
    });
    let app = harness.state();
    let stream = focused(app);
    assert_eq!(stream.rows(), 201, "the rows received are kept");
    let outcome = stream.outcome().unwrap();
    assert_eq!(
        (outcome.status, outcome.rows_done),
        (RunStatus::Cancelled, 201)
    );
    assert!(!stream.is_controllable());
    assert!(
        harness.query_all_by_label("cancelled").count() >= 1,
        "the panel shows the state"
    );
    assert!(harness.query_by_label("Close #1").is_some());

    // Stored with its partial results, and listed in the jobs panel.
    let runs = engine.list_runs(Some(dataset)).unwrap();
    assert_eq!((runs[0].status, runs[0].rows), (RunStatus::Cancelled, 201));
    let job = stream.job().unwrap();
    step_until(&mut harness, "the job listed as cancelled", |app| {
        app.watch()
            .stored_jobs()
            .iter()
            .any(|j| j.id == job && j.status == RunStatus::Cancelled && j.rows_done == 201)
    });
    assert!(harness.query_by_label("Stored jobs").is_some());

    // An ended stream closes; the live view then has nothing to show.
    harness.get_by_label("Close #1").click();
    step_until(&mut harness, "the stream closed", |app| {
        app.watch().streams().is_empty()
    });
}

#[test]
fn dragging_a_plot_leaves_follow_mode_and_the_checkbox_returns() {
    let (engine, _) = labelled_engine();
    let clock = ManualClock::new();
    let mut harness = harness(engine);
    start_stream(&mut harness, &clock);
    clock.advance(Duration::from_secs(100));
    step_until(&mut harness, "101 rows received", |app| rows(app) == 101);
    assert!(harness.state().watch().view.follow);
    // Drag across the middle of the central panel, where the first live plot is.
    let from = egui::pos2(700.0, 400.0);
    let to = egui::pos2(550.0, 400.0);
    harness.event(egui::Event::PointerMoved(from));
    harness.event(egui::Event::PointerButton {
        pos: from,
        button: egui::PointerButton::Primary,
        pressed: true,
        modifiers: egui::Modifiers::NONE,
    });
    harness.step();
    for step in 1..=5 {
        let pos = from + (to - from) * (step as f32 / 5.0);
        harness.event(egui::Event::PointerMoved(pos));
        harness.step();
    }
    harness.event(egui::Event::PointerButton {
        pos: to,
        button: egui::PointerButton::Primary,
        pressed: false,
        modifiers: egui::Modifiers::NONE,
    });
    harness.step();
    assert!(
        !harness.state().watch().view.follow,
        "a drag leaves follow mode"
    );
    harness.get_by_label("Follow the stream").click();
    harness.step();
    assert!(harness.state().watch().view.follow, "the checkbox returns");
    harness.state_mut().watch_mut().view.follow_rows = 50;
    harness.step();
    harness.step();
    // Score and value lines only (the threshold is still calibrating): 50 rows and one
    // neighbour on each side, not the 101 received.
    let drawn = harness.state().watch().view.points_drawn;
    assert!((50..=2 * 53).contains(&drawn), "{drawn} points");
}
