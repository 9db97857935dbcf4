//! The storage conformance suite, written once and run against every backend.
//!
//! Each case is a plain function taking `&mut dyn Storage`; [`storage_conformance_tests!`]
//! turns the whole list into `#[test]` functions for one backend (the pattern of rerun's
//! `generate_redap_tests!`). A backend that needs cleanup (a temp dir, a scratch schema)
//! returns a [`Fixture`] holding a guard that is dropped after the store:
//!
//! ```no_run
//! mod memory {
//!     anomdet::storage_conformance_tests!(anomdet::storage::MemoryStorage::default());
//! }
//! mod sqlite_file {
//!     fn make() -> anomdet::storage::conformance::Fixture<anomdet::storage::SqliteStorage> {
//!         let dir = tempfile::tempdir().unwrap();
//!         let store = anomdet::storage::SqliteStorage::open(&dir.path().join("t.db")).unwrap();
//!         anomdet::storage::conformance::Fixture::with_guard(store, dir)
//!     }
//!     anomdet::storage_conformance_tests!(make());
//! }
//! ```
//!
//! The suite only uses the [`Storage`] trait, so it says nothing about how a backend stores
//! data; it pins down what callers may rely on: bit-exact round trips (NaN payloads, `-0.0`,
//! extreme timestamps), labels kept apart from "no labels", 0-row and multi-chunk series,
//! unique and validated names, names and column names that look like SQL stored as plain
//! data, sorted listings, never-reused ids, cascading deletes, and `NotFound` errors for
//! unknown ids. It also hosts [`crash_writer`], the child process of the crash-safety test.

#![expect(
    clippy::missing_panics_doc,
    reason = "a test suite: every case panics on a failed check, by design"
)]

mod crash;
mod datasets;
mod jobs;
mod models;
mod runs;

pub use crash::{CRASH_ROWS, crash_series, crash_writer};
pub use datasets::*;
pub use jobs::*;
pub use models::*;
pub use runs::*;

/// Re-export of the suite macro under this module's path.
pub use crate::storage_conformance_tests;

use std::any::Any;
use std::fmt;

use crate::model::{Column, Series, Timestamp};
use crate::storage::{Storage, StorageError};

/// A backend under test plus whatever must outlive it (a temp dir, a scratch schema).
/// Field order matters: the store is dropped (closed) before the guard.
pub struct Fixture<S> {
    store: S,
    _guard: Option<Box<dyn Any>>,
}

impl<S: Storage> Fixture<S> {
    /// A backend that needs no cleanup.
    pub fn new(store: S) -> Self {
        Self {
            store,
            _guard: None,
        }
    }

    /// A backend whose resources `guard` releases when dropped (after the store).
    pub fn with_guard(store: S, guard: impl Any) -> Self {
        Self {
            store,
            _guard: Some(Box::new(guard)),
        }
    }

    /// The store under test.
    pub fn store(&mut self) -> &mut S {
        &mut self.store
    }
}

impl<S: Storage> From<S> for Fixture<S> {
    fn from(store: S) -> Self {
        Self::new(store)
    }
}

impl<S: fmt::Debug> fmt::Debug for Fixture<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fixture")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

/// Generates one `#[test]` per conformance case for a backend. The argument is an expression
/// evaluated afresh in every test, yielding either a `Storage` value or a [`Fixture`].
#[macro_export]
macro_rules! storage_conformance_tests {
    ($make:expr) => {
        $crate::__storage_conformance_cases!($make;
            empty_store_lists_nothing,
            put_returns_meta_that_lookups_agree_on,
            load_is_bit_exact,
            multiple_columns_with_labels_round_trip,
            labels_absent_and_all_false_stay_distinct,
            zero_row_series_round_trip,
            one_row_series_round_trips,
            series_spanning_several_chunks_round_trips,
            names_are_unique,
            invalid_names_are_rejected,
            hostile_names_are_stored_as_data,
            hostile_column_names_are_stored_as_data,
            name_lookup_is_exact,
            datasets_are_listed_by_name,
            ids_are_never_reused,
            delete_dataset_cascades_to_its_runs_only,
            deleting_a_parent_clears_the_link,
            unknown_parent_is_rejected,
            unknown_ids_are_not_found,
            created_ms_is_the_time_of_storing,
            run_round_trips_bit_exact,
            runs_are_listed_by_id_and_filtered_by_dataset,
            delete_run_removes_only_that_run,
            empty_run_round_trips,
            run_with_mismatched_predictions_is_rejected,
            run_for_unknown_dataset_is_rejected,
            appends_grow_a_run_across_chunks_bit_exact,
            append_checks_lengths_and_ids,
            update_run_changes_only_given_fields,
            jobs_round_trip_and_update,
            job_runs_point_to_their_job,
            interrupted_jobs_are_those_of_dead_owners,
            deleting_a_dataset_removes_its_jobs,
            given_creation_times_are_kept,
            models_round_trip_exactly,
            invalid_and_unknown_models_are_refused,
            models_outlive_their_training_dataset,
        );
    };
}

/// Implementation detail of [`storage_conformance_tests!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __storage_conformance_cases {
    ($make:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                let mut fixture: $crate::storage::conformance::Fixture<_> = ($make).into();
                $crate::storage::conformance::$case(fixture.store());
            }
        )*
    };
}

/// Unwraps a storage result or fails the test naming the step.
#[track_caller]
pub(crate) fn ok<T>(result: Result<T, StorageError>, step: &str) -> T {
    match result {
        Ok(value) => value,
        Err(error) => panic!("{step} failed: {error} ({error:?})"),
    }
}

/// A deterministic 64-bit mix (splitmix64), so the suite needs no RNG crate.
pub(crate) fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A deterministic series: one row per second from 2023-11-14, `columns` columns named
/// `col0..` whose values are arbitrary bit patterns (every third one: NaNs with payloads,
/// infinities, subnormals and all), and labels on about 1 row in 37 when `labels`.
pub fn sample_series(rows: usize, columns: usize, labels: bool, seed: u64) -> Series {
    const START_NS: i64 = 1_700_000_000 * Timestamp::NANOS_PER_SEC;
    let timestamps = (0..rows as i64)
        .map(|i| Timestamp(START_NS + i * Timestamp::NANOS_PER_SEC))
        .collect();
    let column_count = columns;
    let columns = (0..column_count)
        .map(|c| {
            let values = (0..rows)
                .map(|i| {
                    let bits = mix(seed ^ ((c as u64) << 40) ^ i as u64);
                    if i % 3 == 0 {
                        f64::from_bits(bits)
                    } else {
                        (bits >> 11) as f64 / (1u64 << 40) as f64 - 4096.0
                    }
                })
                .collect();
            Column::new(format!("col{c}"), values)
        })
        .collect();
    let labels = labels.then(|| {
        (0..rows)
            .map(|i| mix(seed ^ i as u64).is_multiple_of(37))
            .collect()
    });
    match Series::new(timestamps, columns, labels) {
        Ok(series) => series,
        Err(e) => panic!("sample_series({rows}, {column_count}) is malformed: {e}"),
    }
}

/// Asserts two series are identical, comparing values by their bits (so NaN == NaN only
/// when the payloads match, and `-0.0 != 0.0`).
#[track_caller]
pub fn assert_same_series(actual: &Series, expected: &Series, context: &str) {
    assert_eq!(actual.len(), expected.len(), "{context}: row count");
    assert_eq!(
        actual.timestamps(),
        expected.timestamps(),
        "{context}: timestamps"
    );
    assert_eq!(
        actual.column_names(),
        expected.column_names(),
        "{context}: column names"
    );
    for (a, e) in actual.columns().iter().zip(expected.columns()) {
        assert_same_bits(
            &a.values,
            &e.values,
            &format!("{context}: column {:?}", e.name),
        );
    }
    assert_eq!(actual.labels(), expected.labels(), "{context}: labels");
}

/// Asserts two float slices are identical bit for bit, naming the first differing row.
#[track_caller]
pub fn assert_same_bits(actual: &[f64], expected: &[f64], context: &str) {
    assert_eq!(actual.len(), expected.len(), "{context}: length");
    if let Some(row) = (0..actual.len()).find(|&i| actual[i].to_bits() != expected[i].to_bits()) {
        panic!(
            "{context}: row {row} is {:?} ({:#018x}), expected {:?} ({:#018x})",
            actual[row],
            actual[row].to_bits(),
            expected[row],
            expected[row].to_bits()
        );
    }
}
