//! Whole-app GUI tests of the workflow after import (issue 8 steps 1–3, 5, 6): generate,
//! inject and save, run a batch of detectors, re-threshold and watch the metrics move,
//! reopen a stored run, export. The real `App` driven by `egui_kittest` over an in-memory
//! engine, no GPU; assertions on the app's state, the engine's storage and written files.
//!
//! Workers are real threads: each test steps frames until the state it waits for appears
//! (bounded, a few seconds at most).

use std::ops::Range;
use std::time::Duration;

use anomdet::app::App;
use anomdet::app::UiCommand;
use anomdet::app::flow::{ExportFormat, FlowCommand, RunMode};
use anomdet::app::state::WorkflowTab;
use anomdet::detect::{DetectorSpec, ThresholdRule};
use anomdet::engine::{Engine, RunControl};
use anomdet::model::Series;
use anomdet::storage::DatasetId;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;

/// The whole app over `engine` in a 1500 × 950 window (shared by the workflow UI tests).
pub(crate) fn harness(engine: Engine) -> Harness<'static, App> {
    Harness::builder()
        .with_size([1500.0, 950.0])
        .build_eframe(move |_cc| App::new_for_test(engine))
}

/// Steps frames until `done` holds; panics with `what` after about twenty seconds.
#[track_caller]
pub(crate) fn step_until(harness: &mut Harness<'_, App>, what: &str, done: impl Fn(&App) -> bool) {
    for _ in 0..4000 {
        harness.step();
        if done(harness.state()) {
            harness.step();
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!(
        "timed out waiting for: {what} (last error: {:?})",
        harness.state().last_error()
    );
}

fn flow(harness: &mut Harness<'_, App>, cmd: FlowCommand) {
    harness.state_mut().push_command(UiCommand::Flow(cmd));
}

/// An engine with a labelled dataset: a spike at 300 and a level shift over 400..420.
fn labelled_engine() -> (Engine, DatasetId) {
    let engine = Engine::in_memory();
    let series = anomdet::testing::seasonal_with_anomalies(600, 50, 300, 400..420, 1);
    let meta = engine.store_series("sensor", &series).unwrap();
    (engine, meta.id)
}

/// Selects the only dataset by clicking it and waits until it is plotted and loaded.
fn select(harness: &mut Harness<'_, App>, name: &str) {
    step_until(harness, "the listing", |app| !app.datasets().is_empty());
    harness.get_by_label(name).click();
    step_until(harness, "the dataset loaded", |app| {
        app.plotted().is_some_and(|p| p.meta.name == name)
            && app.flow().truth().is_some_and(|t| t.meta.name == name)
    });
}

#[test]
fn generating_a_series_stores_and_selects_it() {
    let mut harness = harness(Engine::in_memory());
    step_until(&mut harness, "the first listing", |app| !app.is_busy());
    harness.get_by_label("Generate").click();
    harness.step();
    harness.step();
    assert_eq!(harness.state().state().workflow_tab, WorkflowTab::Generate);
    harness.state_mut().flow_mut().generate.length = 800;
    harness.state_mut().flow_mut().generate.walk = Some(0.05);
    harness.get_by_label("Generate series").click();
    step_until(&mut harness, "the generated dataset plotted", |app| {
        app.plotted().is_some_and(|p| p.meta.name == "synthetic")
    });
    let meta = &harness.state().datasets()[0];
    assert_eq!((meta.rows, meta.label_count), (800, 0));
    assert!(meta.source.starts_with("generated: "), "{}", meta.source);
}

#[test]
fn an_injection_is_previewed_then_saved_as_a_labelled_copy() {
    let engine = Engine::in_memory();
    let values = anomdet::testing::seasonal_values(400, 40, 0.05, 3);
    let base = engine
        .store_series("base", &Series::from_values("value", values))
        .unwrap();
    let mut harness = harness(engine.clone());
    select(&mut harness, "base");
    harness.get_by_label("Inject").click();
    harness.step();
    {
        let inject = &mut harness.state_mut().flow_mut().inject;
        inject.set_kind("level_shift");
        inject.seed = 7;
    }
    // What a drag across the preview plot sends.
    flow(
        &mut harness,
        FlowCommand::SetInjectRange {
            start: 200,
            length: 30,
        },
    );
    step_until(&mut harness, "the preview of rows 200..230", |app| {
        app.flow().preview().is_some_and(|p| {
            p.windows
                == [Range {
                    start: 200,
                    end: 230,
                }]
        })
    });
    let app = harness.state();
    let preview = app.flow().preview().unwrap();
    let original = &app.flow().truth().unwrap().series.columns()[0].values;
    let injected = preview.column(0).unwrap().to_vec();
    assert!(
        (200..230).all(|i| injected[i] != original[i]),
        "window changed"
    );
    assert!(
        (0..200).chain(230..400).all(|i| injected[i] == original[i]),
        "nothing else changed"
    );
    harness.get_by_label("Injection preview");
    harness.get_by_label("Save as new dataset").click();
    step_until(&mut harness, "the saved copy plotted", |app| {
        app.plotted()
            .is_some_and(|p| p.meta.name == "base+level_shift")
    });
    let saved = engine.find_dataset("base+level_shift").unwrap();
    assert_eq!(saved.parent, Some(base.id));
    assert_eq!(saved.label_count, 30);
    let stored = engine.load_series(saved.id).unwrap();
    assert_eq!(stored.columns()[0].values, injected, "saved = previewed");
    step_until(&mut harness, "the copy's truth", |app| {
        app.flow().truth().is_some_and(|t| {
            t.meta.id == saved.id
                && t.injected_rows
                    == [Range {
                        start: 200,
                        end: 230,
                    }]
        })
    });
}

/// Runs two detectors from the Detect tab and waits for both runs' metrics.
fn run_two_detectors(harness: &mut Harness<'_, App>) {
    select(harness, "sensor");
    assert_eq!(harness.state().state().workflow_tab, WorkflowTab::Detect);
    harness.get_by_label("Robust z-score (median/MAD)").click();
    harness.step();
    harness.get_by_label("Run batch").click();
    step_until(harness, "two runs opened with metrics", |app| {
        let opened = app.flow().opened();
        opened.len() == 2
            && opened
                .iter()
                .all(anomdet::app::flow::RunView::metrics_current)
            && !app.is_busy()
    });
}

#[test]
fn a_batch_run_shows_detections_and_metrics() {
    let (engine, dataset) = labelled_engine();
    let mut harness = harness(engine.clone());
    run_two_detectors(&mut harness);
    let app = harness.state();
    let detectors: Vec<&str> = app
        .flow()
        .opened()
        .iter()
        .map(|v| v.summary.detector.as_str())
        .collect();
    assert_eq!(detectors, ["rolling_zscore", "robust_zscore"]);
    for view in app.flow().opened() {
        assert!(
            view.detections.iter().any(|d| d.hit),
            "{} hits a truth window",
            view.summary.detector
        );
        let (_, report) = view.report.as_ref().unwrap();
        assert_eq!(report.true_windows, 2);
        assert!(report.metrics.vus.is_some());
        assert!(report.baselines.is_some(), "random baseline row");
    }
    assert_eq!(
        engine.list_runs(Some(dataset)).unwrap().len(),
        2,
        "both stored"
    );
    assert_eq!(app.flow().runs().len(), 2, "runs list refreshed");
    harness.get_by_label("Metrics at the current thresholds");
    assert!(harness.query_all_by_label("threshold #1").next().is_some());
    assert!(harness.query_all_by_label("threshold #2").next().is_some());
    assert!(harness.query_all_by_label("   random baseline").count() == 2);
}

#[test]
fn moving_the_threshold_rethresholds_without_rescoring_and_updates_metrics() {
    let (engine, _) = labelled_engine();
    let mut harness = harness(engine.clone());
    run_two_detectors(&mut harness);
    let view = &harness.state().flow().opened()[0];
    let run = view.id();
    let before = view.report.as_ref().unwrap().1.clone();
    let flagged = view.flagged();
    let scores = view.scores.to_vec();
    let (lo, _) = view.score_range.unwrap();
    let low = lo + (view.threshold.unwrap() - lo) * 0.2;
    flow(&mut harness, FlowCommand::SetThreshold { run, value: low });
    harness.step();
    assert!(harness.state().flow().opened_run(run).unwrap().flagged() > flagged);
    step_until(&mut harness, "metrics at the new threshold", |app| {
        app.flow()
            .opened_run(run)
            .is_some_and(anomdet::app::flow::RunView::metrics_current)
    });
    let view = harness.state().flow().opened_run(run).unwrap();
    let after = &view.report.as_ref().unwrap().1;
    assert!(after.flagged_rows > before.flagged_rows);
    assert_ne!(
        after.metrics.point, before.metrics.point,
        "point metrics move"
    );
    assert_eq!(
        after.metrics.vus, before.metrics.vus,
        "threshold-free metrics stay"
    );
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&view.scores), bits(&scores), "no re-scoring");
    assert_eq!(engine.run(run).unwrap().scores.len(), scores.len());
    assert!(view.rethresholded);

    // Selecting a detection computes its per-column attribution.
    flow(
        &mut harness,
        FlowCommand::SelectDetection {
            run,
            index: Some(0),
        },
    );
    step_until(&mut harness, "the attribution", |app| {
        let truth = app.flow().truth().unwrap();
        app.flow()
            .opened_run(run)
            .and_then(|v| v.contributions(truth))
            .is_some()
    });
    let app = harness.state();
    let parts = app
        .flow()
        .opened_run(run)
        .unwrap()
        .contributions(app.flow().truth().unwrap())
        .unwrap();
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0].0, "value");
}

#[test]
fn exports_write_scores_csv_and_metric_reports() {
    let (engine, _) = labelled_engine();
    let mut harness = harness(engine);
    run_two_detectors(&mut harness);
    let run = harness.state().flow().opened()[0].id();
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("scores.csv");
    let md = dir.path().join("report.md");
    let json = dir.path().join("report.json");
    for (format, path) in [
        (ExportFormat::ScoresCsv, &csv),
        (ExportFormat::ReportMarkdown, &md),
        (ExportFormat::ReportJson, &json),
    ] {
        flow(
            &mut harness,
            FlowCommand::Export {
                run,
                format,
                path: Some(path.clone()),
            },
        );
        step_until(&mut harness, "the export", |app| !app.is_busy());
    }
    assert!(
        harness.state().last_error().is_none(),
        "{:?}",
        harness.state().last_error()
    );
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    assert!(
        header.contains("score") && header.contains("label"),
        "{header}"
    );
    assert_eq!(lines.count(), 600);
    let text = std::fs::read_to_string(&md).unwrap();
    assert!(text.contains("| rolling_zscore |"), "{text}");
    assert!(text.contains("random baseline"));
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(doc["run"]["detector"], "rolling_zscore");
    assert!(
        doc["report"]["metrics"]["vus"]["vus_pr"].is_number(),
        "{doc}"
    );
}

#[test]
fn a_stored_run_reopens_from_the_runs_tab() {
    let (engine, dataset) = labelled_engine();
    let stored = engine
        .run_batch(
            dataset,
            &DetectorSpec::new("rolling_zscore"),
            ThresholdRule::Quantile {
                contamination: 0.02,
            },
            &RunControl::default(),
        )
        .unwrap();
    let mut harness = harness(engine.clone());
    select(&mut harness, "sensor");
    harness.get_by_label("Runs").click();
    step_until(&mut harness, "the runs list", |app| {
        app.flow().runs().len() == 1
    });
    harness
        .get_by_label(&format!("Open #{}", stored.id))
        .click();
    step_until(&mut harness, "the run opened", |app| {
        app.flow()
            .opened_run(stored.id)
            .is_some_and(anomdet::app::flow::RunView::metrics_current)
    });
    let view = harness.state().flow().opened_run(stored.id).unwrap();
    assert!(!view.rethresholded, "threshold {:?}", view.threshold);
    let record = engine.run(stored.id).unwrap();
    assert_eq!(
        view.flags, record.predicted,
        "stored predictions shown as stored"
    );
    // The score plot sits under the data plot (Runs tab keeps results on screen).
    let slider = format!("threshold #{}", stored.id);
    assert!(harness.query_all_by_label(&slider).next().is_some());
    // Both the Runs tab and the score plot's header offer Close.
    harness
        .get_all_by_label(&format!("Close #{}", stored.id))
        .next()
        .unwrap()
        .click();
    step_until(&mut harness, "the run closed", |app| {
        app.flow().opened().is_empty()
    });
}

#[test]
fn a_stream_run_replays_stores_and_opens_its_runs() {
    let (engine, dataset) = labelled_engine();
    let mut harness = harness(engine.clone());
    select(&mut harness, "sensor");
    assert!(harness.query_by_label("Run as stream").is_some());
    flow(
        &mut harness,
        FlowCommand::RunDetectors {
            specs: vec![DetectorSpec::new("rolling_zscore")],
            rule: ThresholdRule::default(),
            mode: RunMode::Stream { speed: None },
        },
    );
    step_until(
        &mut harness,
        "the stream's run opened with metrics",
        |app| {
            app.flow()
                .opened()
                .first()
                .is_some_and(anomdet::app::flow::RunView::metrics_current)
                && !app.is_busy()
        },
    );
    let view = &harness.state().flow().opened()[0];
    assert_eq!(view.summary.mode, "stream");
    assert_eq!(view.scores.len(), 600);
    assert!(view.detections.iter().any(|d| d.hit));
    let runs = engine.list_runs(Some(dataset)).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, anomdet::storage::RunStatus::Finished);
}

#[test]
fn cancel_stops_a_batch_job() {
    let engine = Engine::in_memory();
    let values = anomdet::testing::seasonal_values(60_000, 500, 0.1, 2);
    let meta = engine
        .store_series("long", &Series::from_values("value", values))
        .unwrap();
    let mut harness = harness(engine.clone());
    select(&mut harness, "long");
    let specs = ["isolation_forest", "matrix_profile", "subsequence_knn"]
        .map(DetectorSpec::new)
        .to_vec();
    flow(
        &mut harness,
        FlowCommand::RunDetectors {
            specs,
            rule: ThresholdRule::default(),
            mode: RunMode::Batch,
        },
    );
    flow(&mut harness, FlowCommand::CancelDetectors);
    step_until(&mut harness, "the batch to stop", |app| {
        app.flow().batch_status().is_none() && !app.is_busy()
    });
    let finished = engine
        .list_runs(Some(meta.id))
        .unwrap()
        .into_iter()
        .filter(|r| r.status == anomdet::storage::RunStatus::Finished)
        .count();
    assert!(
        finished < 3,
        "cancel stopped the batch ({finished} finished)"
    );
    let note = harness.state().last_note().unwrap_or_default().to_owned();
    assert!(note.contains("cancelled"), "{note}");
}

#[test]
fn suggest_ranks_the_ticked_detectors_without_labels() {
    let (engine, _) = labelled_engine();
    let mut harness = harness(engine);
    select(&mut harness, "sensor");
    harness.get_by_label("Robust z-score (median/MAD)").click();
    harness.step();
    harness.get_by_label("Suggest a detector").click();
    step_until(&mut harness, "the suggestion", |app| {
        app.flow().suggestion().is_some() && !app.is_busy()
    });
    let ranking = harness.state().flow().suggestion().unwrap().clone();
    let ids: Vec<&str> = ranking
        .detectors
        .iter()
        .map(|r| r.detector.as_str())
        .collect();
    assert_eq!(ids.len(), 2, "the two ticked detectors: {ids:?}");
    assert!(ids.contains(&"rolling_zscore") && ids.contains(&"robust_zscore"));
    assert!(
        ranking.detectors[0].score >= ranking.detectors[1].score,
        "best first"
    );
    let best = format!("Suggested: {}", ranking.detectors[0].detector);
    assert!(
        harness.query_by_label_contains(&best).is_some(),
        "{best} shown"
    );
}
