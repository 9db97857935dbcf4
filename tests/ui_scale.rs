//! GUI tests of the settings window, the run comparison (from the Runs tab), the robustness
//! heatmap (computed from the window), persisted state across a restart and the plot at scale:
//! the real `App` driven by `egui_kittest` over an in-memory engine, no GPU. Workers are real
//! threads, so tests step frames until the state they wait for appears.

use std::collections::HashMap;
use std::time::Duration;

use anomdet::app::App;
use anomdet::app::panels::settings::{DatabaseChoice, Settings, ThemeChoice};
use anomdet::app::plot::{BucketGrid, PlotData, decimate, decimate_with};
use anomdet::app::state::{AppState, WorkflowTab};
use anomdet::app::widgets::heatmap::HeatmapData;
use anomdet::detect::{DetectorSpec, ThresholdRule};
use anomdet::engine::{Engine, RunControl};
use anomdet::eval::{CellValue, EvalOptions};
use anomdet::model::Series;
use anomdet::storage::{DatasetId, DatasetMeta, RunId};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;

fn harness(engine: Engine) -> Harness<'static, App> {
    Harness::builder()
        .with_size([1280.0, 800.0])
        .build_eframe(move |_cc| App::new_for_test(engine))
}

#[track_caller]
fn step_until(harness: &mut Harness<'_, App>, what: &str, done: impl Fn(&App) -> bool) {
    for _ in 0..1000 {
        harness.step();
        if done(harness.state()) {
            harness.step();
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("timed out waiting for: {what}");
}

/// eframe's key/value storage, in memory.
#[derive(Default)]
struct MemoryStorage(HashMap<String, String>);

impl eframe::Storage for MemoryStorage {
    fn get_string(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
    }

    fn set_string(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), value);
    }

    fn remove_string(&mut self, key: &str) {
        self.0.remove(key);
    }

    fn flush(&mut self) {}
}

#[test]
fn theme_toggle_applies_and_is_persisted_by_save() {
    let mut harness = harness(Engine::in_memory());
    harness.step();
    harness.get_by_label("Settings…").click();
    harness.run_steps(2);
    assert!(harness.state().tools().settings.open);
    harness.get_by_label("Light").click();
    harness.run_steps(2);
    assert_eq!(
        harness.state().tools().persisted().theme,
        ThemeChoice::Light
    );
    assert_eq!(harness.ctx.theme(), egui::Theme::Light);
    harness.get_by_label("Dark").click();
    harness.run_steps(2);
    assert_eq!(harness.ctx.theme(), egui::Theme::Dark);
    harness.get_by_label("Light").click();
    harness.run_steps(2);

    let mut storage = MemoryStorage::default();
    eframe::App::save(harness.state_mut(), &mut storage);
    let saved: Settings = eframe::get_value(&storage, Settings::STORAGE_KEY).unwrap();
    assert_eq!(saved.theme, ThemeChoice::Light);
    assert!(
        !storage.0[Settings::STORAGE_KEY].contains("password"),
        "no password is ever stored"
    );

    // Esc closes the window.
    harness.key_press(egui::Key::Escape);
    harness.run_steps(2);
    assert!(!harness.state().tools().settings.open);
}

#[test]
fn choosing_a_database_file_switches_storage_and_reloads_the_list() {
    let engine = Engine::in_memory();
    engine
        .store_series("in-memory-only", &Series::from_values("v", vec![1.0; 50]))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("chosen.sqlite");
    let mut harness = harness(engine.clone());
    step_until(&mut harness, "the listing", |app| app.datasets().len() == 1);
    harness.get_by_label("Settings…").click();
    harness.run_steps(2);
    let field = harness.get_by_label("File:");
    field.focus();
    harness.run_steps(1);
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness
        .get_by_label("File:")
        .type_text(&file.display().to_string());
    harness.run_steps(2);
    harness.get_by_label("Use this database").click();
    step_until(&mut harness, "the switch", |app| {
        app.tools().persisted().database.is_some() && !app.is_busy()
    });
    assert_eq!(
        harness.state().tools().persisted().database,
        Some(DatabaseChoice::Local(file.clone()))
    );
    assert!(file.exists(), "the new database file was created");
    assert!(
        harness.state().datasets().is_empty(),
        "the list comes from the new, empty database"
    );
    assert!(engine.describe_storage().contains("chosen.sqlite"));
}

#[test]
fn remote_form_keeps_fields_and_reports_a_failed_connection() {
    let engine = Engine::in_memory();
    let mut harness = harness(engine.clone());
    harness.step();
    harness.get_by_label("Settings…").click();
    harness.run_steps(2);
    harness.get_by_label("Remote server (PostgreSQL)").click();
    harness.run_steps(2);
    for label in ["Host", "Port", "Database name", "User", "Password", "TLS"] {
        assert!(harness.query_by_label(label).is_some(), "field {label}");
    }
    harness.get_by_label("Connect").click();
    step_until(&mut harness, "the connection attempt", |app| {
        app.tools().settings.message().is_some()
    });
    let message = harness.state().tools().settings.message().cloned();
    // Nothing listens on localhost:5432 here (or this build has no PostgreSQL backend): the
    // attempt fails with the server named, and the engine keeps its store.
    assert!(
        matches!(&message, Some(Err(text)) if text.contains("PostgreSQL")),
        "{message:?}"
    );
    assert!(engine.describe_storage().contains("memory"));
}

fn engine_with_two_runs() -> (Engine, DatasetId) {
    let engine = Engine::in_memory();
    let series = anomdet::testing::seasonal_with_anomalies(600, 40, 10, 300..310, 2);
    let meta: DatasetMeta = engine.store_series("runs", &series).unwrap();
    let control = RunControl::default();
    let rule = ThresholdRule::Quantile {
        contamination: 0.02,
    };
    for id in ["rolling_zscore", "cusum"] {
        engine
            .run_batch(meta.id, &DetectorSpec::new(id), rule, &control)
            .unwrap();
    }
    (engine, meta.id)
}

#[test]
fn comparison_window_shows_two_runs_side_by_side_and_the_heatmap() {
    let (engine, dataset) = engine_with_two_runs();
    let mut harness = harness(engine);
    step_until(&mut harness, "the listing", |app| app.datasets().len() == 1);
    harness.get_by_label("runs").click();
    step_until(&mut harness, "the selection", |app| {
        app.selected() == Some(dataset)
    });
    harness
        .state_mut()
        .tools_mut()
        .compare
        .set_robustness(Some(HeatmapData {
            title: "Robustness (best F1)".to_owned(),
            rows: vec!["zscore".to_owned(), "cusum".to_owned()],
            columns: vec!["noise".to_owned(), "drift".to_owned()],
            values: vec![vec![0.8, 0.4], vec![0.6, 0.9]],
            range: Some((0.0, 1.0)),
        }));
    harness.get_by_label("Compare runs…").click();
    step_until(&mut harness, "both runs loaded", |app| {
        app.tools().compare.data().is_some()
    });
    let data = harness.state().tools().compare.data().unwrap();
    let mut detectors: Vec<&str> = data
        .sides
        .iter()
        .map(|s| s.summary.detector.as_str())
        .collect();
    detectors.sort_unstable();
    assert_eq!(detectors, ["cusum", "rolling_zscore"]);
    assert_eq!(
        data.x.len(),
        600,
        "scores are drawn over the dataset's time"
    );
    harness.run_steps(2);
    assert!(harness.query_by_label_contains("Run #1: ").is_some());
    assert!(harness.query_by_label_contains("Run #2: ").is_some());
    for label in ["Robustness (best F1)", "noise", "drift"] {
        assert!(
            harness.query_by_label(label).is_some(),
            "heatmap label {label}"
        );
    }
}

#[test]
fn a_long_column_pyramid_decimates_like_a_scan() {
    // A long column (2M rows, so the test stays quick in debug builds): the pyramid built on
    // load answers zoomed-out and partial views with the same points as scanning every row.
    let n = 2_000_000;
    let values = anomdet::testing::seasonal_values(n, 1_440, 0.2, 11);
    let series = Series::from_values("value", values);
    let meta = Engine::in_memory().store_series("big", &series).unwrap();
    let data = PlotData::new(meta, series);
    let pyramid = data.pyramid(0).expect("built on load");
    assert!(data.pyramid_bytes() < n, "under a byte per row");
    let (x0, x1) = data.x_range();
    for (a, b) in [(x0, x1), (x0 + 1234.5, x0 + 900_000.0), (x1 - 5e5, x1)] {
        let grid = BucketGrid::for_view(a, b, 1600.0, (x0, x1)).unwrap();
        let direct = decimate(&data.x, &data.columns[0].values, &grid);
        let fast = decimate_with(&data.x, &data.columns[0].values, &grid, Some(pyramid));
        assert_eq!(direct, fast);
        assert!(!fast.exact);
    }
}

fn engine_with_evaluated_runs(detectors: &[&str]) -> (Engine, DatasetId, Vec<RunId>) {
    let engine = Engine::in_memory();
    let series = anomdet::testing::seasonal_with_anomalies(600, 40, 10, 300..310, 2);
    let meta: DatasetMeta = engine.store_series("runs", &series).unwrap();
    let rule = ThresholdRule::Quantile {
        contamination: 0.02,
    };
    let runs = detectors
        .iter()
        .map(|id| {
            let run = engine
                .run_batch(
                    meta.id,
                    &DetectorSpec::new(*id),
                    rule,
                    &RunControl::default(),
                )
                .unwrap();
            engine
                .evaluate_run(run.id, &EvalOptions::default())
                .unwrap();
            run.id
        })
        .collect();
    (engine, meta.id, runs)
}

fn select_only_dataset(harness: &mut Harness<'_, App>, dataset: DatasetId) {
    step_until(harness, "the listing", |app| app.datasets().len() == 1);
    harness.get_by_label("runs").click();
    step_until(harness, "the selection", |app| {
        app.selected() == Some(dataset) && app.plotted().is_some()
    });
}

#[test]
fn ticking_runs_in_the_runs_tab_compares_them_with_their_metrics() {
    let (engine, dataset, runs) =
        engine_with_evaluated_runs(&["rolling_zscore", "cusum", "robust_zscore"]);
    let mut harness = harness(engine);
    select_only_dataset(&mut harness, dataset);
    harness.get_by_label("Runs").click();
    step_until(&mut harness, "the runs listed", |app| {
        app.flow().runs().len() == 3
    });
    harness.run_steps(2);
    // Fewer than two ticks: the button is there but does nothing.
    harness
        .get_by_label(&format!("Compare #{}", runs[2]))
        .click_accesskit();
    harness.run_steps(2);
    harness.get_by_label("Compare 1 runs…").click_accesskit();
    harness.run_steps(2);
    assert!(!harness.state().tools().compare.open);
    for run in [runs[0], runs[1]] {
        harness
            .get_by_label(&format!("Compare #{run}"))
            .click_accesskit();
        harness.run_steps(2);
    }
    harness.get_by_label("Compare 3 runs…").click_accesskit();
    step_until(&mut harness, "three runs loaded", |app| {
        app.tools()
            .compare
            .data()
            .is_some_and(|d| d.sides.len() == 3)
    });
    let compare = &harness.state().tools().compare;
    assert!(compare.open);
    let data = compare.data().unwrap();
    assert_eq!(
        data.run_ids(),
        [runs[2], runs[0], runs[1]],
        "in the order they were ticked"
    );
    assert!(
        data.sides
            .iter()
            .all(|s| s.metrics.iter().any(|(name, _)| name == "vus_pr")),
        "every run carries its stored metrics"
    );
    harness.run_steps(2);
    for (run, detector) in runs
        .iter()
        .zip(["rolling_zscore", "cusum", "robust_zscore"])
    {
        assert!(
            harness
                .query_by_label(&format!("Run #{run}: {detector}"))
                .is_some(),
            "column of run {run}"
        );
    }
    assert!(harness.query_by_label("vus_pr").is_some(), "a metric row");
    assert!(harness.query_by_label("best_f1").is_some(), "a metric row");

    // Unticking one in the window drops it from the comparison; Esc closes the window.
    let title = {
        let data = harness.state().tools().compare.data().unwrap();
        let s = &data.sides[2].summary;
        format!("#{} {} ({} flagged)", s.id.0, s.detector, s.flagged)
    };
    harness.get_by_label(&title).click_accesskit();
    step_until(&mut harness, "two runs loaded", |app| {
        app.tools()
            .compare
            .data()
            .is_some_and(|d| d.sides.len() == 2)
    });
    assert_eq!(
        harness.state().tools().compare.data().unwrap().run_ids(),
        [runs[2], runs[0]]
    );
    harness.key_press(egui::Key::Escape);
    harness.run_steps(2);
    assert!(
        !harness.state().tools().compare.open,
        "Esc closes the window"
    );
}

#[test]
fn the_robustness_matrix_is_computed_on_a_worker_and_shown_as_a_heatmap() {
    let (engine, dataset) = engine_with_two_runs();
    let mut harness = harness(engine);
    select_only_dataset(&mut harness, dataset);
    harness.get_by_label("Compare runs…").click();
    step_until(&mut harness, "the comparison", |app| {
        app.tools().compare.data().is_some()
    });
    {
        let form = &mut harness.state_mut().tools_mut().compare.robustness;
        form.detectors = vec!["rolling_zscore".to_owned(), "cusum".to_owned()];
        form.kinds = vec!["spike".to_owned(), "level_shift".to_owned()];
        form.magnitudes = "2, 8".to_owned();
        form.repeats = 1;
    }
    harness.run_steps(2);
    assert!(
        harness
            .query_by_label("No robustness matrix computed yet.")
            .is_some()
    );
    harness.get_by_label("Compute matrix").click_accesskit();
    harness.run_steps(1);
    step_until(&mut harness, "the matrix", |app| {
        app.tools().compare.robustness.matrix().is_some()
    });
    let panel = &harness.state().tools().compare.robustness;
    let matrix = panel.matrix().unwrap();
    assert_eq!(matrix.detectors, ["rolling_zscore", "cusum"]);
    assert_eq!(matrix.magnitudes, [2.0, 8.0]);
    assert!(!matrix.cancelled);
    let map = panel.heatmap().unwrap();
    assert_eq!(map.title, "Robustness: vus_pr");
    assert_eq!(
        map.columns,
        ["spike@2", "spike@8", "level_shift@2", "level_shift@8"]
    );
    assert!(
        map.values.iter().flatten().all(|v| (0.0..=1.0).contains(v)),
        "{:?}",
        map.values
    );
    harness.run_steps(2);
    for label in ["Robustness: vus_pr", "rolling_zscore", "cusum", "spike@2"] {
        assert!(
            harness.query_by_label(label).is_some(),
            "heatmap label {label}"
        );
    }
    // Another cell value re-grids the same matrix without recomputing.
    harness.state_mut().tools_mut().compare.robustness.value = CellValue::DetectionRate;
    harness.run_steps(2);
    assert!(
        harness
            .query_by_label("Robustness: detection_rate")
            .is_some()
    );
}

#[test]
fn a_robustness_run_can_be_cancelled_and_bad_magnitudes_are_named() {
    let (engine, dataset) = engine_with_two_runs();
    let mut harness = harness(engine);
    select_only_dataset(&mut harness, dataset);
    harness.get_by_label("Compare runs…").click();
    step_until(&mut harness, "the comparison", |app| {
        app.tools().compare.data().is_some()
    });
    harness
        .state_mut()
        .tools_mut()
        .compare
        .robustness
        .magnitudes = "2, big".to_owned();
    harness.get_by_label("Compute matrix").click_accesskit();
    harness.run_steps(2);
    assert_eq!(
        harness.state().tools().compare.robustness.message(),
        Some("magnitude \"big\" is not a positive number")
    );
    {
        let form = &mut harness.state_mut().tools_mut().compare.robustness;
        form.magnitudes = "1, 2, 4, 8, 16".to_owned();
        form.repeats = 20;
        // Enough work (3 detectors × 3 kinds × 8 magnitudes × 20 repeats) that it is still
        // running when Cancel is pressed.
        form.magnitudes = "1, 2, 3, 4, 5, 6, 7, 8".to_owned();
        form.detectors = vec![
            "subsequence_lof".to_owned(),
            "matrix_profile".to_owned(),
            "subsequence_knn".to_owned(),
        ];
    }
    harness.get_by_label("Compute matrix").click_accesskit();
    harness.run_steps(1);
    assert!(harness.state().tools().compare.robustness.is_busy());
    harness.step();
    harness.get_by_label("Cancel robustness").click_accesskit();
    step_until(&mut harness, "the cancellation", |app| {
        !app.tools().compare.robustness.is_busy()
    });
    let panel = &harness.state().tools().compare.robustness;
    assert!(
        panel.message().is_some_and(|m| m.starts_with("Cancelled")),
        "{:?}",
        panel.message()
    );
}

/// eframe's storage, kept for the second start (the harness borrows it for its lifetime).
fn leaked(storage: MemoryStorage) -> &'static MemoryStorage {
    Box::leak(Box::new(storage))
}

#[test]
fn state_and_settings_survive_a_restart() {
    let (engine, dataset) = engine_with_two_runs();
    let mut first = harness(engine.clone());
    select_only_dataset(&mut first, dataset);
    first.get_by_label("Runs").click();
    first.run_steps(2);
    first.get_by_label("Settings…").click();
    first.run_steps(2);
    first.get_by_label("Light").click();
    first.run_steps(2);
    first.key_press(egui::Key::Escape);
    first.run_steps(2);
    first
        .get_all_by_role_and_label(egui::accesskit::Role::CheckBox, "value")
        .next()
        .unwrap()
        .click_accesskit();
    first.run_steps(2);
    let before: AppState = first.state().state().clone();
    assert_eq!(before.workflow_tab, WorkflowTab::Runs);
    assert!(!before.column_visible("value"));
    let mut storage = MemoryStorage::default();
    eframe::App::save(first.state_mut(), &mut storage);
    drop(first);

    // A new window over the same database and the saved storage, as eframe starts it.
    let storage = leaked(storage);
    let mut second: Harness<'static, App> = Harness::builder()
        .with_size([1280.0, 800.0])
        .build_eframe(move |cc| {
            cc.storage = Some(storage);
            App::new(cc, engine, Vec::new(), None)
        });
    step_until(&mut second, "the dataset reselected and plotted", |app| {
        app.plotted().is_some_and(|p| p.meta.id == dataset)
    });
    assert_eq!(second.state().state(), &before);
    assert_eq!(second.state().tools().persisted().theme, ThemeChoice::Light);
    // (The harness sets its own theme after the app is built, so `ctx.theme()` is not
    // checked here; `theme_toggle_applies_and_is_persisted_by_save` checks applying it.)
    second.run_steps(2);
    assert!(
        second.query_by_label("Runs on runs").is_some(),
        "the Runs tab is open again"
    );
}
