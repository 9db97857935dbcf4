//! Saved models (issue 7, "model persistence"; issue 6, "use a saved model" as a stream's
//! warm-up): fit once on training rows, save, and score other data or a stream without
//! retraining, bit for bit as the in-process fitted detector; clear errors for detectors with
//! nothing to save, missing columns and unknown ids; the CLI path across processes.

use std::collections::BTreeMap;
use std::process::Command;

use anomdet::control::CancelToken;
use anomdet::detect::{DetectorSpec, ThresholdRule};
use anomdet::engine::{Engine, FitRequest, RunControl};
use anomdet::model::{Column, ParamValue, Series};
use anomdet::storage::{ModelId, RunStatus};
use anomdet::stream::{Speed, StreamSpec, Warmup};
use anomdet::testing::{bits, seasonal_with_anomalies};

use super::drain;

/// PCA on short windows: a learned detector that fits in milliseconds in a debug build.
fn pca() -> DetectorSpec {
    DetectorSpec {
        id: "pca_subsequence".to_owned(),
        params: BTreeMap::from([
            ("window".to_owned(), ParamValue::Int(16)),
            ("components".to_owned(), ParamValue::Int(3)),
        ]),
        seed: 5,
    }
}

/// Train on the first 600 rows of a clean-ish series; test on another one with anomalies.
fn engine_with_train_and_test() -> (
    Engine,
    anomdet::storage::DatasetId,
    anomdet::storage::DatasetId,
) {
    let engine = Engine::in_memory();
    let train = engine
        .store_series(
            "train",
            &seasonal_with_anomalies(1000, 50, 900, 950..960, 1),
        )
        .unwrap();
    let test = engine
        .store_series("test", &seasonal_with_anomalies(800, 50, 300, 500..530, 2))
        .unwrap();
    (engine, train.id, test.id)
}

/// The first `n` rows of `series`.
fn head(series: &Series, n: usize) -> Series {
    let columns = series
        .columns()
        .iter()
        .map(|c| Column::new(c.name.clone(), c.values[..n].to_vec()))
        .collect();
    Series::new(series.timestamps()[..n].to_vec(), columns, None).unwrap()
}

#[test]
fn a_saved_model_scores_new_data_exactly_as_the_fitted_detector() {
    let (engine, train, test) = engine_with_train_and_test();
    let mut request = FitRequest::whole(train, pca());
    request.train_rows = Some(0..600);
    let model = engine.fit_model(&request, &RunControl::default()).unwrap();
    assert_eq!((model.train_start, model.train_end), (0, 600));
    assert_eq!(model.columns, vec!["value".to_owned()]);
    assert_eq!(model.name, "pca_subsequence on train");
    assert!(model.state_bytes > 0);

    let run = engine
        .run_model(
            test,
            model.id,
            ThresholdRule::default(),
            &RunControl::default(),
        )
        .unwrap();
    assert_eq!(run.status, RunStatus::Finished);
    assert_eq!(run.mode, format!("batch (model {})", model.id));
    assert_eq!(run.fit_secs, 0.0, "a saved model is not fitted again");

    let mut reference = pca().build().unwrap();
    let training = head(&engine.load_series(train).unwrap(), 600);
    reference.fit(&training, &CancelToken::new()).unwrap();
    let expected = reference
        .score_series(&engine.load_series(test).unwrap(), &CancelToken::new())
        .unwrap();
    assert_eq!(bits(&engine.run(run.id).unwrap().scores), bits(&expected));

    // A model fitted on other rows scores differently: the range was honoured.
    let mut later = FitRequest::whole(train, pca());
    later.train_rows = Some(400..1000);
    let other = engine.fit_model(&later, &RunControl::default()).unwrap();
    let other_run = engine
        .run_model(
            test,
            other.id,
            ThresholdRule::default(),
            &RunControl::default(),
        )
        .unwrap();
    assert_ne!(
        bits(&engine.run(other_run.id).unwrap().scores),
        bits(&expected)
    );
}

#[test]
fn a_stream_warmed_by_a_saved_model_equals_the_batch_scores_of_that_model() {
    let (engine, train, test) = engine_with_train_and_test();
    let model = engine
        .fit_model(&FitRequest::whole(train, pca()), &RunControl::default())
        .unwrap();
    let batch = engine
        .run_model(
            test,
            model.id,
            ThresholdRule::Fixed { value: 3.0 },
            &RunControl::default(),
        )
        .unwrap();
    let batch_scores = engine.run(batch.id).unwrap().scores;

    // A fitted-on-the-fly detector beside the model: only it is fitted by the warm-up.
    let mut spec = StreamSpec::new(test, vec![DetectorSpec::new("rolling_zscore")]);
    spec.models = vec![model.id];
    spec.speed = Speed::Max;
    spec.warmup = Warmup::FirstRows { rows: 100 };
    spec.threshold = ThresholdRule::Fixed { value: 3.0 };
    let handle = engine.start_stream(spec).unwrap();
    let runs = handle.runs().to_vec();
    let streamed = drain(&handle);
    let outcome = handle.join().unwrap();
    assert_eq!(outcome.status, RunStatus::Finished, "{:?}", outcome.error);
    assert_eq!(streamed.scores.len(), 2, "detector and model side by side");
    assert_eq!(bits(&streamed.scores[1]), bits(&batch_scores));
    let stored = engine.run(runs[1]).unwrap();
    assert_eq!(stored.summary.detector, "pca_subsequence");
    assert_eq!(stored.summary.mode, format!("stream (model {})", model.id));
    assert_eq!(bits(&stored.scores), bits(&batch_scores));

    // A stream of only a model needs no detector at all.
    let mut only = StreamSpec::new(test, Vec::new());
    only.models = vec![model.id];
    only.speed = Speed::Max;
    only.persist = false;
    let handle = engine.start_stream(only).unwrap();
    let streamed = drain(&handle);
    handle.join().unwrap();
    assert_eq!(bits(&streamed.scores[0]), bits(&batch_scores));
}

#[test]
fn models_refuse_what_they_cannot_do_with_clear_errors() {
    let (engine, train, test) = engine_with_train_and_test();
    let control = RunControl::default();
    let stateless = engine
        .fit_model(
            &FitRequest::whole(train, DetectorSpec::new("rolling_zscore")),
            &control,
        )
        .unwrap_err()
        .to_string();
    assert!(
        stateless.contains("keeps no fitted state") && stateless.contains("pca_subsequence"),
        "{stateless}"
    );
    let mut empty = FitRequest::whole(train, pca());
    empty.train_rows = Some(700..700);
    let message = engine.fit_model(&empty, &control).unwrap_err().to_string();
    assert!(message.contains("700..700"), "{message}");
    let mut beyond = FitRequest::whole(train, pca());
    beyond.train_rows = Some(0..5000);
    assert!(engine.fit_model(&beyond, &control).is_err());
    let mut unknown_column = FitRequest::whole(train, pca());
    unknown_column.columns = vec!["nope".to_owned()];
    assert!(engine.fit_model(&unknown_column, &control).is_err());

    let model = engine
        .fit_model(&FitRequest::whole(train, pca()), &control)
        .unwrap();
    // A dataset without the model's column.
    let other = engine
        .store_series(
            "renamed",
            &Series::from_values("temperature", vec![1.0; 100]),
        )
        .unwrap();
    let message = engine
        .run_model(other.id, model.id, ThresholdRule::default(), &control)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("\"value\"") && message.contains("renamed"),
        "{message}"
    );
    let missing = ModelId(model.id.0 + 100);
    let message = engine
        .run_model(test, missing, ThresholdRule::default(), &control)
        .unwrap_err()
        .to_string();
    assert!(message.contains("no model"), "{message}");
    engine.delete_model(model.id).unwrap();
    assert!(engine.list_models().unwrap().is_empty());
    assert!(engine.delete_model(model.id).is_err());
}

fn anomdet(db: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_anomdet"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("ANOMDET_DB")
        .output()
        .expect("run anomdet");
    assert!(
        out.status.success(),
        "anomdet {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}

#[test]
fn cli_fits_lists_scores_with_and_deletes_a_model_across_processes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("models.sqlite");
    let csv = dir.path().join("series.csv");
    let series = seasonal_with_anomalies(700, 50, 300, 500..530, 3);
    let mut text = String::from("timestamp,value\n");
    for (ts, v) in series.timestamps().iter().zip(&series.columns()[0].values) {
        text.push_str(&format!("{},{v}\n", ts.0 / 1_000_000_000 + 1_700_000_000));
    }
    std::fs::write(&csv, text).unwrap();
    anomdet(&db, &["import", csv.to_str().unwrap(), "--name", "s"]);
    let fitted: serde_json::Value = serde_json::from_str(&anomdet(
        &db,
        &[
            "fit",
            "s",
            "--detector",
            "pca_subsequence",
            "--param",
            "window=16",
            "--train-rows",
            "..400",
            "--name",
            "nightly",
            "--json",
        ],
    ))
    .unwrap();
    let id = fitted["id"].as_i64().unwrap();
    assert_eq!(fitted["train_end"], 400);
    let listed: serde_json::Value =
        serde_json::from_str(&anomdet(&db, &["models", "--json"])).unwrap();
    assert_eq!(listed[0]["name"], "nightly");
    let table = anomdet(&db, &["models"]);
    assert!(
        table.contains("nightly") && table.contains("s rows 0..400"),
        "{table}"
    );
    let run: serde_json::Value = serde_json::from_str(&anomdet(
        &db,
        &["run", "s", "--model", &id.to_string(), "--json"],
    ))
    .unwrap();
    assert_eq!(run["mode"], format!("batch (model {id})"));
    assert_eq!(run["rows"], 700);
    anomdet(&db, &["models", "--delete", &id.to_string()]);
    assert!(anomdet(&db, &["models"]).contains("no saved models"));

    let refused = Command::new(env!("CARGO_BIN_EXE_anomdet"))
        .arg("--db")
        .arg(&db)
        .args(["fit", "s", "--detector", "rolling_zscore"])
        .env_remove("ANOMDET_DB")
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("keeps no fitted state"));
}
