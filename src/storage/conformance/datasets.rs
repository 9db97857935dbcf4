//! Conformance cases for datasets: round trips, names, listings, ids, deletes.

use super::{assert_same_series, ok, sample_series};
use crate::model::{Column, Series, Timestamp};
use crate::storage::codec::CHUNK_ROWS;
use crate::storage::{DatasetId, DatasetMeta, NewDataset, Storage, StorageError, shared};

/// Stores `series` under `name`, failing the test on error.
#[track_caller]
pub(crate) fn put(store: &mut dyn Storage, name: &str, series: &Series) -> DatasetMeta {
    ok(
        store.put_dataset(&NewDataset::named(name), series),
        &format!("storing {name:?}"),
    )
}

/// Stores, then checks metadata and a bit-exact load.
#[track_caller]
fn round_trip(store: &mut dyn Storage, name: &str, series: &Series) -> DatasetMeta {
    let meta = put(store, name, series);
    assert_eq!(meta.rows, series.len(), "{name}: rows");
    assert_eq!(meta.columns, series.column_names(), "{name}: columns");
    assert_eq!(
        meta.has_labels,
        series.labels().is_some(),
        "{name}: has_labels"
    );
    assert_eq!(
        meta.label_count,
        series.label_count(),
        "{name}: label_count"
    );
    let loaded = ok(store.load_series(meta.id), "loading");
    assert_same_series(&loaded, series, name);
    meta
}

/// A fresh store has no datasets and no runs.
pub fn empty_store_lists_nothing(store: &mut dyn Storage) {
    assert!(
        ok(store.list_datasets(), "listing").is_empty(),
        "datasets in a new store"
    );
    assert!(
        ok(store.list_runs(None), "listing runs").is_empty(),
        "runs in a new store"
    );
    assert!(
        !store.describe().is_empty(),
        "describe() should say something"
    );
}

/// The metadata returned by `put_dataset` is what `dataset`, `dataset_by_name` and
/// `list_datasets` return later, with every derived field filled in.
pub fn put_returns_meta_that_lookups_agree_on(store: &mut dyn Storage) {
    let series = Series::new(
        [0, 10, 10, 20, 35].map(Timestamp).to_vec(),
        vec![Column::new("v", vec![1.0, 2.0, 3.0, 4.0, 5.0])],
        Some(vec![false, true, true, false, true]),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let new = NewDataset {
        name: "sensor a".to_owned(),
        source: "/data/sensor a.csv".to_owned(),
        warnings: vec![
            "2 duplicate timestamps kept".to_owned(),
            "ünïcode ⚠".to_owned(),
        ],
        parent: None,
        plan_json: Some(r#"{"spike":{"magnitude":3.0}}"#.to_owned()),
        created_ms: None,
    };
    let meta = ok(store.put_dataset(&new, &series), "storing");
    assert_eq!(meta.name, new.name);
    assert_eq!(meta.source, new.source);
    assert_eq!(meta.warnings, new.warnings);
    assert_eq!(meta.plan_json, new.plan_json);
    assert_eq!(meta.parent, None);
    assert_eq!(meta.rows, 5);
    assert_eq!(meta.columns, vec!["v".to_owned()]);
    assert_eq!(meta.start, Some(Timestamp(0)));
    assert_eq!(meta.end, Some(Timestamp(35)));
    assert_eq!(meta.step_ns, Some(10));
    assert!(meta.has_labels, "has_labels");
    assert_eq!(meta.label_count, 3);
    assert_eq!(ok(store.dataset(meta.id), "by id"), meta);
    assert_eq!(ok(store.dataset_by_name("sensor a"), "by name"), meta);
    assert_eq!(ok(store.list_datasets(), "listing"), vec![meta]);
}

/// Values come back bit for bit: NaN payloads, signed zeros, infinities, subnormals, and
/// timestamps at the ends of the `i64` range, duplicates included.
pub fn load_is_bit_exact(store: &mut dyn Storage) {
    let values = vec![
        f64::NAN,
        f64::from_bits(0x7ff8_0000_0000_0001), // quiet NaN with a payload
        f64::from_bits(0xfff8_dead_beef_0000), // negative NaN with a payload
        f64::from_bits(0x7ff0_0000_0000_0001), // signalling NaN
        -0.0,
        0.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MIN_POSITIVE / 4.0, // subnormal
        f64::MAX,
        f64::MIN,
        f64::EPSILON,
    ];
    let timestamps = [
        i64::MIN,
        i64::MIN + 1,
        -1,
        0,
        0,
        0,
        1,
        2,
        3,
        i64::MAX - 1,
        i64::MAX,
        i64::MAX,
    ]
    .map(Timestamp)
    .to_vec();
    let series = Series::new(timestamps, vec![Column::new("x", values)], None)
        .unwrap_or_else(|e| panic!("{e}"));
    round_trip(store, "special values", &series);
    round_trip(store, "random bits", &sample_series(5_000, 2, true, 7));
}

/// Several columns and labels keep their order and content.
pub fn multiple_columns_with_labels_round_trip(store: &mut dyn Storage) {
    let series = sample_series(1_000, 5, true, 11);
    let meta = round_trip(store, "five columns", &series);
    assert_eq!(meta.columns, ["col0", "col1", "col2", "col3", "col4"]);
}

/// A series with all-false labels is not the same as one without labels.
pub fn labels_absent_and_all_false_stay_distinct(store: &mut dyn Storage) {
    let mut with = Series::from_values("v", vec![1.0, 2.0, 3.0]);
    ok(
        with.set_labels(Some(vec![false; 3]))
            .map_err(|e| StorageError::InvalidRecord(e.to_string())),
        "labels",
    );
    let meta = round_trip(store, "all false", &with);
    assert!(
        meta.has_labels && meta.label_count == 0,
        "all-false labels: {meta:?}"
    );
    let without = Series::from_values("v", vec![1.0, 2.0, 3.0]);
    let meta = round_trip(store, "no labels", &without);
    assert!(!meta.has_labels, "no labels: {meta:?}");
}

/// Zero rows (with and without labels) store and load; the summary has no time span.
pub fn zero_row_series_round_trip(store: &mut dyn Storage) {
    let empty = Series::new(
        Vec::new(),
        vec![Column::new("a", vec![]), Column::new("b", vec![])],
        None,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let meta = round_trip(store, "empty", &empty);
    assert_eq!(
        (meta.start, meta.end, meta.step_ns),
        (None, None, None),
        "empty span"
    );
    let labelled = Series::new(Vec::new(), vec![Column::new("a", vec![])], Some(Vec::new()))
        .unwrap_or_else(|e| panic!("{e}"));
    let meta = round_trip(store, "empty labelled", &labelled);
    assert!(
        meta.has_labels,
        "labels of an empty series are still labels"
    );
}

/// One row: start == end, no step.
pub fn one_row_series_round_trips(store: &mut dyn Storage) {
    let series = sample_series(1, 1, true, 3);
    let meta = round_trip(store, "one row", &series);
    assert_eq!(meta.start, meta.end, "one row spans one instant");
    assert_eq!(meta.step_ns, None, "one row has no step");
}

/// A series longer than several storage chunks (with an odd tail) survives intact.
pub fn series_spanning_several_chunks_round_trips(store: &mut dyn Storage) {
    let series = sample_series(3 * CHUNK_ROWS + 17, 2, true, 5);
    let meta = round_trip(store, "long", &series);
    assert_eq!(meta.step_ns, Some(Timestamp::NANOS_PER_SEC));
}

/// A taken name is refused with `NameTaken` and the first dataset is untouched.
pub fn names_are_unique(store: &mut dyn Storage) {
    let first = sample_series(10, 1, false, 1);
    let meta = put(store, "twin", &first);
    let err = store.put_dataset(&NewDataset::named("twin"), &sample_series(20, 2, true, 2));
    assert!(
        matches!(&err, Err(StorageError::NameTaken(n)) if n == "twin"),
        "{err:?}"
    );
    assert_eq!(ok(store.list_datasets(), "listing"), vec![meta.clone()]);
    assert_same_series(
        &ok(store.load_series(meta.id), "loading"),
        &first,
        "first twin",
    );
    // Names differing only in case or spacing are different names.
    put(store, "Twin", &first);
    put(store, "twin ", &first);
    assert_eq!(ok(store.list_datasets(), "listing").len(), 3);
}

/// Empty, blank, over-long and control-character names are refused and nothing is stored.
pub fn invalid_names_are_rejected(store: &mut dyn Storage) {
    let series = sample_series(3, 1, false, 1);
    let long = "x".repeat(201);
    for name in [
        "",
        "   ",
        "tab\there",
        "new\nline",
        "nul\0byte",
        long.as_str(),
    ] {
        let err = store.put_dataset(&NewDataset::named(name), &series);
        assert!(
            matches!(&err, Err(StorageError::InvalidName(n, _)) if n == name),
            "{name:?}: {err:?}"
        );
    }
    assert!(
        ok(store.list_datasets(), "listing").is_empty(),
        "nothing stored"
    );
    let longest = "é".repeat(200);
    round_trip(store, &longest, &series);
}

/// Names that look like SQL, quotes, wildcards and unicode are stored and found as plain text.
pub fn hostile_names_are_stored_as_data(store: &mut dyn Storage) {
    let names = [
        "'; DROP TABLE datasets; --",
        "Robert'); DROP TABLE runs;--",
        "\"double\" 'single' `back`",
        "x' OR '1'='1",
        "%",
        "_",
        "a%b_c\\",
        "温度センサー 🌡️",
        "\u{202e}reversed",
        "; PRAGMA user_version = 999; --",
    ];
    let mut ids = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let series = sample_series(i + 1, 1, i % 2 == 0, i as u64);
        ids.push((round_trip(store, name, &series), series));
    }
    let listed = ok(store.list_datasets(), "listing");
    assert_eq!(
        listed.len(),
        names.len(),
        "every hostile name stored, none lost"
    );
    for (meta, series) in &ids {
        let found = ok(store.dataset_by_name(&meta.name), "by name");
        assert_eq!(&found, meta, "lookup of {:?}", meta.name);
        assert_same_series(
            &ok(store.load_series(found.id), "loading"),
            series,
            &meta.name,
        );
    }
    let runs = ok(store.list_runs(None), "runs table still usable");
    assert!(runs.is_empty(), "no runs expected");
}

/// Column names with SQL, quotes and unicode round-trip.
pub fn hostile_column_names_are_stored_as_data(store: &mut dyn Storage) {
    let columns = [
        "'; DROP TABLE series_chunk; --",
        "\"quoted\"",
        "温度",
        "",
        " ",
    ];
    let series = Series::new(
        vec![Timestamp(1), Timestamp(2)],
        columns
            .iter()
            .map(|c| Column::new(*c, vec![1.0, 2.0]))
            .collect(),
        None,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let meta = round_trip(store, "odd columns", &series);
    assert_eq!(meta.columns, columns);
}

/// Lookup by name is exact: no case folding, trimming or pattern matching.
pub fn name_lookup_is_exact(store: &mut dyn Storage) {
    put(store, "Temperature", &sample_series(2, 1, false, 1));
    for probe in [
        "temperature",
        "Temperature ",
        " Temperature",
        "Temp%",
        "Temperatur_",
        "%",
    ] {
        let err = store.dataset_by_name(probe);
        assert!(
            matches!(err, Err(StorageError::DatasetNotFound(_))),
            "{probe:?}: {err:?}"
        );
    }
    assert_eq!(
        ok(store.dataset_by_name("Temperature"), "exact").name,
        "Temperature"
    );
}

/// Listings are sorted by name (byte order), not by insertion.
pub fn datasets_are_listed_by_name(store: &mut dyn Storage) {
    let names = [
        "delta", "Alpha", "charlie", "bravo", "alpha", "é", "10", "9",
    ];
    for name in names {
        put(store, name, &sample_series(2, 1, false, 1));
    }
    let listed: Vec<String> = ok(store.list_datasets(), "listing")
        .into_iter()
        .map(|m| m.name)
        .collect();
    let mut expected: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    expected.sort();
    assert_eq!(listed, expected);
}

/// A deleted dataset's id is not handed out again, so old references cannot alias new data.
pub fn ids_are_never_reused(store: &mut dyn Storage) {
    let series = sample_series(2, 1, false, 1);
    let a = put(store, "a", &series);
    let b = put(store, "b", &series);
    assert!(b.id > a.id, "ids increase");
    ok(store.delete_dataset(b.id), "deleting");
    let c = put(store, "c", &series);
    assert!(
        c.id > b.id,
        "id {} reused after delete (last was {})",
        c.id,
        b.id
    );
}

/// Deleting a dataset removes it and its runs, and nothing else.
pub fn delete_dataset_cascades_to_its_runs_only(store: &mut dyn Storage) {
    let keep = put(store, "keep", &sample_series(10, 1, false, 1));
    let gone = put(store, "gone", &sample_series(10, 1, true, 2));
    let kept_run = ok(
        store.put_run(&super::runs::sample_run(keep.id, 10, 1)),
        "run",
    );
    for seed in 0..3 {
        ok(
            store.put_run(&super::runs::sample_run(gone.id, 10, seed)),
            "run",
        );
    }
    ok(store.delete_dataset(gone.id), "deleting");
    assert_eq!(ok(store.list_datasets(), "listing"), vec![keep.clone()]);
    assert!(
        matches!(
            store.dataset(gone.id),
            Err(StorageError::DatasetNotFound(_))
        ),
        "meta gone"
    );
    assert!(
        matches!(
            store.dataset_by_name("gone"),
            Err(StorageError::DatasetNotFound(_))
        ),
        "name gone"
    );
    assert!(
        matches!(
            store.load_series(gone.id),
            Err(StorageError::DatasetNotFound(_))
        ),
        "data gone"
    );
    let runs = ok(store.list_runs(None), "listing runs");
    assert_eq!(
        runs.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![kept_run],
        "only the kept run"
    );
    // The name is free again.
    put(store, "gone", &sample_series(3, 1, false, 3));
}

/// A derived copy records its parent; deleting the parent keeps the copy and clears the link.
pub fn deleting_a_parent_clears_the_link(store: &mut dyn Storage) {
    let parent = put(store, "original", &sample_series(5, 1, false, 1));
    let new = NewDataset {
        name: "injected".to_owned(),
        source: format!("inject of {}", parent.id),
        parent: Some(parent.id),
        plan_json: Some("{}".to_owned()),
        ..NewDataset::default()
    };
    let series = sample_series(5, 1, true, 2);
    let child = ok(store.put_dataset(&new, &series), "storing the copy");
    assert_eq!(child.parent, Some(parent.id));
    assert_eq!(ok(store.dataset(child.id), "copy").parent, Some(parent.id));
    ok(store.delete_dataset(parent.id), "deleting the parent");
    let after = ok(store.dataset(child.id), "copy after parent delete");
    assert_eq!(after.parent, None, "link cleared");
    assert_same_series(
        &ok(store.load_series(child.id), "loading the copy"),
        &series,
        "copy",
    );
}

/// A parent id that does not exist is refused and nothing is stored.
pub fn unknown_parent_is_rejected(store: &mut dyn Storage) {
    let new = NewDataset {
        parent: Some(DatasetId(9_999)),
        ..NewDataset::named("orphan")
    };
    let err = store.put_dataset(&new, &sample_series(2, 1, false, 1));
    assert!(
        matches!(err, Err(StorageError::DatasetNotFound(_))),
        "{err:?}"
    );
    assert!(
        ok(store.list_datasets(), "listing").is_empty(),
        "nothing stored"
    );
}

/// Every lookup of an unknown id or name is a `NotFound` error, never a panic or empty value.
pub fn unknown_ids_are_not_found(store: &mut dyn Storage) {
    let meta = put(store, "only", &sample_series(2, 1, false, 1));
    let missing = DatasetId(meta.id.0 + 1_000);
    let not_found =
        |r: Result<(), StorageError>| matches!(r, Err(StorageError::DatasetNotFound(_)));
    assert!(not_found(store.dataset(missing).map(drop)), "dataset()");
    assert!(
        not_found(store.dataset(DatasetId(-1)).map(drop)),
        "negative id"
    );
    assert!(
        not_found(store.dataset_by_name("nope").map(drop)),
        "dataset_by_name()"
    );
    assert!(
        not_found(store.load_series(missing).map(drop)),
        "load_series()"
    );
    assert!(not_found(store.delete_dataset(missing)), "delete_dataset()");
    assert!(
        not_found(store.list_runs(Some(missing)).map(drop)),
        "list_runs(Some)"
    );
    let run_missing =
        |r: Result<(), StorageError>| matches!(r, Err(StorageError::RunNotFound(7_777)));
    assert!(
        run_missing(store.run(crate::storage::RunId(7_777)).map(drop)),
        "run()"
    );
    assert!(
        run_missing(store.delete_run(crate::storage::RunId(7_777))),
        "delete_run()"
    );
    assert_eq!(
        ok(store.list_datasets(), "listing"),
        vec![meta],
        "nothing changed"
    );
}

/// `created_ms` is the wall-clock time of the `put`.
pub fn created_ms_is_the_time_of_storing(store: &mut dyn Storage) {
    let before = shared::now_ms();
    let meta = put(store, "now", &sample_series(2, 1, false, 1));
    let after = shared::now_ms();
    assert!(
        (before..=after).contains(&meta.created_ms),
        "{before} <= {} <= {after}",
        meta.created_ms
    );
}
