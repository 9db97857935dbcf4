//! Conformance cases for saved models: exact state bytes, listing, deletion, and models
//! outliving their training dataset.

use super::datasets::put;
use super::{mix, ok, sample_series};
use crate::storage::{DatasetId, ModelId, NewModel, Storage, StorageError};

/// A model of `detector` fitted on rows 10..`train_end` of `dataset`, with a state of
/// `state_len` arbitrary bytes (zeros and 0xFF included) and hostile text in its name.
pub fn sample_model(dataset: DatasetId, state_len: usize, seed: u64) -> NewModel {
    let params = super::runs::sample_run(dataset, 0, seed).params;
    NewModel {
        name: "prod model'); DROP TABLE models;--".to_owned(),
        detector: "isolation_forest".to_owned(),
        params,
        seed: u64::MAX - seed,
        dataset,
        train_start: 10,
        train_end: 400,
        columns: vec!["col0".to_owned(), "col 1 \"quoted\"".to_owned()],
        state: (0..state_len).map(|i| mix(seed ^ i as u64) as u8).collect(),
    }
}

/// A saved model loads back exactly (every byte of the state, the seed's 64 bits, the
/// hostile name as data), and its summary agrees with the listing.
pub fn models_round_trip_exactly(store: &mut dyn Storage) {
    let dataset = put(store, "training set", &sample_series(10, 1, false, 1)).id;
    let small = sample_model(dataset, 1, 3);
    let big = sample_model(dataset, 3 << 20, 4);
    let first = ok(store.put_model(&small), "saving a 1-byte model");
    let second = ok(store.put_model(&big), "saving a 3 MiB model");
    assert!(second > first, "model ids grow");
    for (id, model) in [(first, &small), (second, &big)] {
        let record = ok(store.model(id), "loading a model");
        assert_eq!(record.state, model.state, "state bytes of model {id}");
        let summary = &record.summary;
        assert_eq!(summary.id, id);
        assert_eq!(summary.name, model.name);
        assert_eq!(summary.detector, model.detector);
        assert_eq!(summary.params, model.params);
        assert_eq!(summary.seed, model.seed);
        assert_eq!(summary.dataset, Some(dataset));
        assert_eq!(summary.dataset_name, "training set");
        assert_eq!((summary.train_start, summary.train_end), (10, 400));
        assert_eq!(summary.columns, model.columns);
        assert_eq!(summary.state_bytes, model.state.len());
        assert!(
            summary.created_ms > 1_600_000_000_000,
            "created_ms is a real time"
        );
    }
    let listed = ok(store.list_models(), "listing models");
    let ids: Vec<ModelId> = listed.iter().map(|m| m.id).collect();
    assert_eq!(ids, vec![first, second], "models listed by id");
    assert_eq!(listed[1], ok(store.model(second), "loading").summary);
}

/// Models that break the rules are refused and nothing is stored; unknown ids are
/// `ModelNotFound`; deleting removes only that model.
pub fn invalid_and_unknown_models_are_refused(store: &mut dyn Storage) {
    let dataset = put(store, "train", &sample_series(10, 1, false, 2)).id;
    let good = sample_model(dataset, 64, 5);
    let mut no_state = good.clone();
    no_state.state.clear();
    let mut reversed = good.clone();
    reversed.train_start = 500;
    let mut no_detector = good.clone();
    " ".clone_into(&mut no_detector.detector);
    let mut no_columns = good.clone();
    no_columns.columns.clear();
    for (bad, what) in [
        (&no_state, "an empty state"),
        (&reversed, "a reversed training range"),
        (&no_detector, "a blank detector id"),
        (&no_columns, "no columns"),
    ] {
        match store.put_model(bad) {
            Err(StorageError::InvalidRecord(_)) => {}
            other => panic!("a model with {what} gave {other:?}"),
        }
    }
    let mut unknown_dataset = good.clone();
    unknown_dataset.dataset = DatasetId(dataset.0 + 1000);
    assert!(matches!(
        store.put_model(&unknown_dataset),
        Err(StorageError::DatasetNotFound(_))
    ));
    assert!(
        ok(store.list_models(), "listing").is_empty(),
        "nothing stored"
    );

    let keep = ok(store.put_model(&good), "saving");
    let drop = ok(store.put_model(&good), "saving again");
    ok(store.delete_model(drop), "deleting");
    let ids: Vec<ModelId> = ok(store.list_models(), "listing")
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(ids, vec![keep]);
    for missing in [drop, ModelId(keep.0 + 1000)] {
        assert!(matches!(
            store.model(missing),
            Err(StorageError::ModelNotFound(id)) if id == missing.0
        ));
        assert!(matches!(
            store.delete_model(missing),
            Err(StorageError::ModelNotFound(_))
        ));
    }
}

/// Deleting the training dataset keeps the model (it can still score other data) and clears
/// only its dataset link; the name it was trained on stays readable.
pub fn models_outlive_their_training_dataset(store: &mut dyn Storage) {
    let dataset = put(store, "gone soon", &sample_series(10, 1, false, 3)).id;
    let other = put(store, "stays", &sample_series(10, 1, false, 4)).id;
    let orphan = ok(store.put_model(&sample_model(dataset, 128, 6)), "saving");
    let kept = ok(store.put_model(&sample_model(other, 128, 7)), "saving");
    ok(
        store.delete_dataset(dataset),
        "deleting the training dataset",
    );
    let record = ok(store.model(orphan), "loading the orphaned model");
    assert_eq!(record.summary.dataset, None);
    assert_eq!(record.summary.dataset_name, "gone soon");
    assert_eq!(record.state, sample_model(dataset, 128, 6).state);
    assert_eq!(
        ok(store.model(kept), "loading").summary.dataset,
        Some(other)
    );
}
