//! GUI tests of the settings window, the run comparison, the robustness heatmap and the
//! plot at scale: the real `App` driven by `egui_kittest` over an in-memory engine, no GPU.
//! Workers are real threads, so tests step frames until the state they wait for appears.

use std::collections::HashMap;
use std::time::Duration;

use anomdet::app::App;
use anomdet::app::panels::settings::{DatabaseChoice, Settings, ThemeChoice};
use anomdet::app::plot::{BucketGrid, PlotData, decimate, decimate_with};
use anomdet::app::widgets::heatmap::HeatmapData;
use anomdet::detect::{DetectorSpec, ThresholdRule};
use anomdet::engine::{Engine, RunControl};
use anomdet::model::Series;
use anomdet::storage::{DatasetId, DatasetMeta};
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
    harness.run_steps(3);
    let message = harness.state().tools().settings.message().cloned();
    // Nothing listens on localhost:5432 here (or this build has no PostgreSQL backend): the
    // attempt fails with the server named, and the engine keeps its store.
    assert!(
        matches!(&message, Some(Err(text)) if text.contains("localhost")),
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
