//! Whole-app GUI tests: the real `App` (eframe) driven by `egui_kittest` over an in-memory
//! engine, without a GPU or a display. Assertions are on the app's state and on the
//! accessibility tree (labels), not on pixels.
//!
//! Background work runs on real worker threads, so each test steps frames until the state it
//! waits for appears, up to a bounded number of frames (a few seconds at most), never a fixed
//! long sleep.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anomdet::app::App;
use anomdet::app::panels::dialogs::Dialog;
use anomdet::engine::Engine;
use anomdet::model::Series;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;

/// A file dropped on the window, as an integration would hand it to egui.
#[derive(Debug)]
struct DroppedPath(PathBuf);

impl egui::DroppedFile for DroppedPath {
    fn path(&self) -> &Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

fn harness(engine: Engine) -> Harness<'static, App> {
    Harness::builder()
        .with_size([1100.0, 700.0])
        .build_eframe(move |_cc| App::new_for_test(engine))
}

/// Steps frames until `done` holds (sleeping a few ms between frames so workers run);
/// panics with `what` after about five seconds.
#[track_caller]
fn step_until(harness: &mut Harness<'_, App>, what: &str, done: impl Fn(&App) -> bool) {
    for _ in 0..1000 {
        harness.step();
        if done(harness.state()) {
            // One more frame so the UI shows what the state now says.
            harness.step();
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("timed out waiting for: {what}");
}

fn drop_file(harness: &mut Harness<'_, App>, path: &Path) {
    harness
        .input_mut()
        .dropped_files
        .push(Arc::new(DroppedPath(path.to_path_buf())));
}

fn engine_with(names: &[&str]) -> Engine {
    let engine = Engine::in_memory();
    for (i, name) in names.iter().enumerate() {
        let values = anomdet::testing::seasonal_values(200, 20, 0.1, i as u64);
        engine
            .store_series(name, &Series::from_values("value", values))
            .expect("storing a fixture dataset");
    }
    engine
}

#[test]
fn dropping_a_csv_imports_lists_selects_and_plots_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sensor.csv");
    let mut csv = String::from("timestamp,temperature,pressure,label\n");
    for i in 0..500 {
        let label = u8::from((200..210).contains(&i));
        writeln!(
            csv,
            "2024-03-01T00:{:02}:{:02}Z,{},{},{label}",
            i / 60,
            i % 60,
            (f64::from(i) / 10.0).sin(),
            1000 + i
        )
        .unwrap();
    }
    std::fs::write(&path, csv).unwrap();

    let mut harness = harness(Engine::in_memory());
    step_until(&mut harness, "the first listing", |app| !app.is_busy());
    drop_file(&mut harness, &path);
    step_until(&mut harness, "the dropped file to be plotted", |app| {
        app.plotted().is_some_and(|p| p.meta.name == "sensor")
    });

    let app = harness.state();
    let plotted = app.plotted().unwrap();
    assert_eq!(plotted.rows(), 500);
    assert_eq!(plotted.columns.len(), 2, "temperature and pressure");
    assert_eq!(plotted.label_spans.len(), 1, "one ground-truth window");
    assert_eq!(app.selected(), Some(plotted.meta.id));
    assert!(app.last_error().is_none(), "{:?}", app.last_error());
    assert_eq!(app.datasets().len(), 1);
    // Listed exactly once, and the plot header names it.
    harness.get_by_label("sensor");
    harness.get_by_label("Plot: sensor");
}

#[test]
fn dropping_several_files_imports_them_all() {
    let dir = tempfile::tempdir().unwrap();
    let mut harness = harness(Engine::in_memory());
    for name in ["one", "two", "three"] {
        let path = dir.path().join(format!("{name}.csv"));
        std::fs::write(&path, "value\n1\n2\n3\n4\n").unwrap();
        drop_file(&mut harness, &path);
    }
    step_until(&mut harness, "three datasets", |app| {
        app.datasets().len() == 3 && !app.is_busy()
    });
    for name in ["one", "two", "three"] {
        harness.get_by_label(name);
    }
}

#[test]
fn a_malformed_file_shows_an_import_error_in_the_status_bar() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.csv");
    std::fs::write(&path, [0xff_u8, 0xfe, 0x00, 0x01, 0x02, b'\n', 0x00, 0x9f]).unwrap();

    let mut harness = harness(Engine::in_memory());
    drop_file(&mut harness, &path);
    step_until(&mut harness, "the import error", |app| {
        app.last_error().is_some()
    });

    let error = harness.state().last_error().unwrap().to_owned();
    assert!(error.starts_with("Could not import broken.csv"), "{error}");
    assert!(harness.state().datasets().is_empty(), "nothing stored");
    // Shown in the status bar until dismissed.
    harness.get_by_label(&error);
    harness.get_by_label("Dismiss").click();
    harness.step();
    harness.step();
    assert!(harness.state().last_error().is_none());
    assert!(harness.query_by_label(&error).is_none());
}

#[test]
fn clicking_a_dataset_row_selects_and_plots_it() {
    let mut harness = harness(engine_with(&["alpha", "beta"]));
    step_until(&mut harness, "the listing", |app| app.datasets().len() == 2);
    assert_eq!(harness.state().selected(), None);

    harness.get_by_label("beta").click();
    step_until(&mut harness, "beta plotted", |app| {
        app.plotted().is_some_and(|p| p.meta.name == "beta")
    });
    let beta = harness.state().datasets()[1].id;
    assert_eq!(harness.state().selected(), Some(beta));

    harness.get_by_label("alpha").click();
    step_until(&mut harness, "alpha plotted", |app| {
        app.plotted().is_some_and(|p| p.meta.name == "alpha")
    });
}

#[test]
fn delete_asks_first_and_escape_keeps_the_dataset() {
    let engine = engine_with(&["alpha", "beta"]);
    let mut harness = harness(engine.clone());
    step_until(&mut harness, "the listing", |app| app.datasets().len() == 2);
    harness.get_by_label("alpha").click();
    step_until(&mut harness, "alpha plotted", |app| app.plotted().is_some());

    // The Delete key asks; Esc cancels.
    harness.key_press(egui::Key::Delete);
    step_until(&mut harness, "the confirmation", |app| {
        app.dialog().is_some()
    });
    assert!(matches!(
        harness.state().dialog(),
        Some(Dialog::ConfirmDelete { name, .. }) if name == "alpha"
    ));
    harness.key_press(egui::Key::Escape);
    step_until(&mut harness, "the dialog to close", |app| {
        app.dialog().is_none()
    });
    assert_eq!(engine.list_datasets().unwrap().len(), 2);

    // The button asks too; confirming deletes.
    harness.get_by_label("Delete…").click();
    step_until(&mut harness, "the confirmation", |app| {
        app.dialog().is_some()
    });
    harness.get_by_label("Delete").click();
    step_until(&mut harness, "alpha deleted", |app| {
        app.datasets().len() == 1 && !app.is_busy()
    });
    assert_eq!(harness.state().selected(), None);
    assert!(harness.state().plotted().is_none());
    assert!(harness.query_by_label("alpha").is_none());
    let left: Vec<String> = engine
        .list_datasets()
        .unwrap()
        .into_iter()
        .map(|d| d.name)
        .collect();
    assert_eq!(left, vec!["beta".to_owned()]);
}
