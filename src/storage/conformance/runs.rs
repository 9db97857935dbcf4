//! Conformance cases for runs: round trips, listings, deletes, rejected records.

use std::collections::BTreeMap;

use super::datasets::put;
use super::{assert_same_bits, mix, ok, sample_series};
use crate::model::{ParamValue, Params};
use crate::storage::{DatasetId, NewRun, RunId, RunStatus, Storage, StorageError, shared};

/// A deterministic finished run over `rows` rows: scores with NaN warm-up and arbitrary
/// bit patterns, every 10th-ish row flagged, parameters of every value type.
pub fn sample_run(dataset: DatasetId, rows: usize, seed: u64) -> NewRun {
    let scores: Vec<f64> = (0..rows)
        .map(|i| match i {
            0..3 => f64::NAN,
            _ if i % 7 == 0 => f64::from_bits(mix(seed ^ i as u64)),
            _ => (mix(seed ^ i as u64) >> 11) as f64 / (1u64 << 50) as f64,
        })
        .collect();
    let predicted = (0..rows)
        .map(|i| mix(seed.wrapping_add(i as u64)).is_multiple_of(10))
        .collect();
    let given = BTreeMap::from([
        ("window".to_owned(), ParamValue::Int(50)),
        ("k".to_owned(), ParamValue::Float(3.5)),
        ("robust".to_owned(), ParamValue::Bool(true)),
        (
            "combine".to_owned(),
            ParamValue::Text("max 'quoted' \"text\"".to_owned()),
        ),
    ]);
    // `Params` is only built through a schema; an empty schema keeps this test data simple,
    // so go through serde, which is how backends see it anyway.
    let params: Params = serde_json::to_value(&given)
        .and_then(serde_json::from_value)
        .unwrap_or_else(|e| panic!("params: {e}"));
    NewRun {
        dataset,
        detector: "rolling_zscore".to_owned(),
        params,
        seed: u64::MAX - seed,
        threshold_json: r#"{"fixed":3.0}"#.to_owned(),
        mode: "batch".to_owned(),
        status: RunStatus::Finished,
        error: None,
        scores,
        predicted,
        metrics_json: r#"{"f1":0.5}"#.to_owned(),
        fit_secs: 0.25,
        score_secs: 1.5 + seed as f64,
        job: None,
        created_ms: None,
    }
}

/// Checks a stored run against what was put.
#[track_caller]
fn assert_run_matches(store: &dyn Storage, id: RunId, run: &NewRun, context: &str) {
    let record = ok(store.run(id), "loading the run");
    let s = &record.summary;
    assert_eq!(s.id, id, "{context}: id");
    assert_eq!(s.dataset, run.dataset, "{context}: dataset");
    assert_eq!(s.detector, run.detector, "{context}: detector");
    assert_eq!(s.params, run.params, "{context}: params");
    assert_eq!(s.seed, run.seed, "{context}: seed");
    assert_eq!(s.threshold_json, run.threshold_json, "{context}: threshold");
    assert_eq!(s.mode, run.mode, "{context}: mode");
    assert_eq!(s.status, run.status, "{context}: status");
    assert_eq!(s.error, run.error, "{context}: error");
    assert_eq!(s.rows, run.scores.len(), "{context}: rows");
    assert_eq!(
        s.flagged,
        run.predicted.iter().filter(|&&p| p).count(),
        "{context}: flagged"
    );
    assert_eq!(s.metrics_json, run.metrics_json, "{context}: metrics");
    assert_same_bits(
        &[s.fit_secs, s.score_secs],
        &[run.fit_secs, run.score_secs],
        context,
    );
    assert_same_bits(&record.scores, &run.scores, &format!("{context}: scores"));
    assert_eq!(record.predicted, run.predicted, "{context}: predicted");
}

/// A run comes back field for field, scores bit for bit, with rows/flagged derived.
pub fn run_round_trips_bit_exact(store: &mut dyn Storage) {
    let meta = put(store, "data", &sample_series(200_000, 1, true, 1));
    let run = sample_run(meta.id, 200_000, 4);
    let before = shared::now_ms();
    let id = ok(store.put_run(&run), "storing the run");
    let after = shared::now_ms();
    assert_run_matches(store, id, &run, "big run");
    let summary = ok(store.run(id), "loading").summary;
    assert!(
        (before..=after).contains(&summary.created_ms),
        "created_ms {}",
        summary.created_ms
    );
    assert_eq!(ok(store.list_runs(None), "listing"), vec![summary]);
    // A failed run with an error text, and a NaN timing (SQL engines may store NaN as NULL).
    let failed = NewRun {
        status: RunStatus::Failed,
        error: Some("detector 'x' failed: \"boom\"; DROP TABLE runs; --".to_owned()),
        fit_secs: f64::NAN,
        seed: 0,
        ..sample_run(meta.id, 10, 5)
    };
    let failed_id = ok(store.put_run(&failed), "storing the failed run");
    assert_run_matches(store, failed_id, &failed, "failed run");
}

/// Runs are listed in id order; filtering by dataset keeps only that dataset's runs.
pub fn runs_are_listed_by_id_and_filtered_by_dataset(store: &mut dyn Storage) {
    let a = put(store, "a", &sample_series(30, 1, false, 1));
    let b = put(store, "b", &sample_series(30, 1, false, 2));
    let mut ids_a = Vec::new();
    let mut ids_b = Vec::new();
    for seed in 0..6 {
        let (dataset, ids) = if seed % 3 == 0 {
            (b.id, &mut ids_b)
        } else {
            (a.id, &mut ids_a)
        };
        ids.push(ok(store.put_run(&sample_run(dataset, 30, seed)), "storing"));
    }
    let all: Vec<RunId> = ok(store.list_runs(None), "all")
        .iter()
        .map(|r| r.id)
        .collect();
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(all, sorted, "sorted by id");
    assert_eq!(all.len(), 6);
    let only_a: Vec<RunId> = ok(store.list_runs(Some(a.id)), "a")
        .iter()
        .map(|r| r.id)
        .collect();
    let only_b: Vec<RunId> = ok(store.list_runs(Some(b.id)), "b")
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(only_a, ids_a);
    assert_eq!(only_b, ids_b);
    let c = put(store, "c", &sample_series(1, 1, false, 3));
    assert!(
        ok(store.list_runs(Some(c.id)), "c").is_empty(),
        "a dataset without runs"
    );
}

/// Deleting a run removes only it; its id is not reused.
pub fn delete_run_removes_only_that_run(store: &mut dyn Storage) {
    let meta = put(store, "data", &sample_series(20, 1, false, 1));
    let first = ok(store.put_run(&sample_run(meta.id, 20, 1)), "first");
    let second = sample_run(meta.id, 20, 2);
    let second_id = ok(store.put_run(&second), "second");
    ok(store.delete_run(second_id), "deleting");
    assert!(
        matches!(store.run(second_id), Err(StorageError::RunNotFound(_))),
        "run gone"
    );
    assert!(
        matches!(
            store.delete_run(second_id),
            Err(StorageError::RunNotFound(_))
        ),
        "twice"
    );
    let ids: Vec<RunId> = ok(store.list_runs(None), "listing")
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, vec![first]);
    let third = ok(store.put_run(&second), "third");
    assert!(third > second_id, "run id {third} reused");
    assert_run_matches(store, third, &second, "re-stored run");
    assert_eq!(
        ok(store.list_datasets(), "datasets").len(),
        1,
        "dataset untouched"
    );
}

/// A cancelled run with no scores stores and loads.
pub fn empty_run_round_trips(store: &mut dyn Storage) {
    let meta = put(store, "data", &sample_series(5, 1, false, 1));
    let run = NewRun {
        status: RunStatus::Cancelled,
        scores: Vec::new(),
        predicted: Vec::new(),
        ..sample_run(meta.id, 0, 1)
    };
    let id = ok(store.put_run(&run), "storing");
    assert_run_matches(store, id, &run, "empty run");
    let summary = &ok(store.list_runs(Some(meta.id)), "listing")[0];
    assert_eq!((summary.rows, summary.flagged), (0, 0));
}

/// A run whose predictions do not match its scores one to one is refused.
pub fn run_with_mismatched_predictions_is_rejected(store: &mut dyn Storage) {
    let meta = put(store, "data", &sample_series(5, 1, false, 1));
    let mut run = sample_run(meta.id, 5, 1);
    run.predicted.pop();
    let err = store.put_run(&run);
    assert!(
        matches!(err, Err(StorageError::InvalidRecord(_))),
        "{err:?}"
    );
    assert!(
        ok(store.list_runs(None), "listing").is_empty(),
        "nothing stored"
    );
}

/// A run for a dataset that does not exist is refused.
pub fn run_for_unknown_dataset_is_rejected(store: &mut dyn Storage) {
    let err = store.put_run(&sample_run(DatasetId(424_242), 5, 1));
    assert!(
        matches!(err, Err(StorageError::DatasetNotFound(_))),
        "{err:?}"
    );
    assert!(
        ok(store.list_runs(None), "listing").is_empty(),
        "nothing stored"
    );
}
