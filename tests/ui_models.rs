//! Whole-app GUI test of the Models tab (issue 7's saved models in the desktop app): fit a
//! sub-sequence PCA on the first half of a dataset and save it, score the dataset with the
//! saved model in batch (the run opens under the plot) and as a stream in the Watch step,
//! then delete it. Everything is clicked by label; the app's workers are real threads.

use anomdet::app::state::WorkflowTab;
use anomdet::app::watch::LiveStatus;
use anomdet::engine::Engine;
use egui_kittest::kittest::Queryable as _;

use crate::ui_flow::{harness, step_until};

#[test]
fn a_model_is_fitted_saved_run_streamed_and_deleted_from_the_models_tab() {
    let engine = Engine::in_memory();
    let series = anomdet::testing::seasonal_with_anomalies(600, 50, 450, 500..520, 1);
    engine.store_series("sensor", &series).unwrap();
    let mut harness = harness(engine.clone());
    step_until(&mut harness, "the listing", |app| {
        !app.datasets().is_empty()
    });
    harness.get_by_label("sensor").click();
    step_until(&mut harness, "the dataset loaded", |app| {
        app.flow().truth().is_some_and(|t| t.meta.name == "sensor")
    });
    harness.get_by_label("Models").click();
    step_until(&mut harness, "the Models tab", |app| {
        app.state().workflow_tab == WorkflowTab::Models && !app.flow().is_busy()
    });
    assert!(harness.query_by_label("No saved models yet.").is_some());
    assert_eq!(harness.state().flow().models.panel.train_end, 300);

    harness.get_by_label("Fit and save").click();
    step_until(&mut harness, "the model saved and listed", |app| {
        app.flow().models().len() == 1 && !app.flow().is_busy()
    });
    let model = harness.state().flow().models()[0].clone();
    assert_eq!(model.detector, "pca_subsequence");
    assert_eq!((model.train_start, model.train_end), (0, 300));
    assert_eq!(model.dataset_name, "sensor");
    assert!(model.state_bytes > 0);
    assert_eq!(
        engine.list_models().unwrap().len(),
        1,
        "stored, not only shown"
    );

    let run_label = format!("Run model #{}", model.id);
    harness.get_by_label(&run_label).click();
    let mode = format!("batch (model {})", model.id);
    step_until(&mut harness, "the model's run opened", |app| {
        app.flow().opened().iter().any(|v| v.summary.mode == mode) && !app.flow().is_busy()
    });
    let run = engine.list_runs(None).unwrap();
    assert_eq!(run.len(), 1);
    assert_eq!(run[0].mode, mode);
    assert_eq!(run[0].detector, "pca_subsequence");
    let scores = engine.run(run[0].id).unwrap().scores;
    let spike = scores[450];
    let normal_max = scores[300..440].iter().copied().fold(f64::MIN, f64::max);
    assert!(
        spike > normal_max,
        "the saved model scores the unseen spike ({spike}) above unseen normal rows ({normal_max})"
    );

    harness
        .get_by_label(&format!("Stream model #{}", model.id))
        .click();
    step_until(&mut harness, "the model's stream finished", |app| {
        app.watch()
            .focused()
            .is_some_and(|s| s.status() == LiveStatus::Finished)
    });
    assert_eq!(harness.state().state().workflow_tab, WorkflowTab::Watch);
    let stream = harness.state().watch().focused().unwrap();
    assert_eq!(stream.rows(), 600);
    assert!(
        stream
            .info()
            .title
            .contains(&format!("model #{}", model.id))
    );

    harness.get_by_label("Models").click();
    step_until(&mut harness, "back on the Models tab", |app| {
        app.state().workflow_tab == WorkflowTab::Models && !app.flow().is_busy()
    });
    harness
        .get_by_label(&format!("Delete model #{}", model.id))
        .click();
    step_until(&mut harness, "the model deleted", |app| {
        app.flow().models().is_empty() && !app.flow().is_busy()
    });
    assert!(engine.list_models().unwrap().is_empty());
    assert_eq!(
        engine.list_runs(None).unwrap().len(),
        2,
        "runs outlive the model"
    );
}
