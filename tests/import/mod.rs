//! Import tests: odd and malformed files (each asserting the exact error or warning), property
//! tests (no panic on any input; export → import is lossless) and the round trip of every
//! file in `assets/` through storage.

mod cases;
mod errors;
mod props;
mod roundtrip;

use anomdet::import::{ImportError, ImportWarning, Imported, WarningKind, read_csv_bytes};
use anomdet::model::Timestamp;

/// The display name used for in-memory files.
const FILE: &str = "odd.csv";

fn read(text: impl AsRef<[u8]>) -> Result<Imported, ImportError> {
    read_csv_bytes(text.as_ref(), FILE)
}

#[track_caller]
fn ok(text: impl AsRef<[u8]>) -> Imported {
    match read(text) {
        Ok(imported) => imported,
        Err(e) => panic!("unexpected error: {e}"),
    }
}

#[track_caller]
fn err(text: impl AsRef<[u8]>) -> ImportError {
    match read(text) {
        Ok(imported) => panic!("expected an error, got {:?}", imported.series),
        Err(e) => {
            let message = e.to_string();
            assert!(
                message.contains(FILE),
                "message does not name the file: {message}"
            );
            e
        }
    }
}

/// The only warning of an import (asserting there is exactly one), checked to name the file.
#[track_caller]
fn only_warning(imported: &Imported) -> &ImportWarning {
    assert_eq!(imported.warnings.len(), 1, "{:#?}", imported.warnings);
    let w = &imported.warnings[0];
    assert!(w.to_string().starts_with(FILE), "{w}");
    w
}

/// The warnings' kinds.
fn kinds(imported: &Imported) -> Vec<&WarningKind> {
    imported.warnings.iter().map(|w| &w.kind).collect()
}

fn values(imported: &Imported, column: usize) -> Vec<f64> {
    imported.series.columns()[column].values.clone()
}

fn nanos(imported: &Imported) -> Vec<i64> {
    imported.series.timestamps().iter().map(|t| t.0).collect()
}

/// `2024-01-01T00:00:00Z` plus `secs` seconds, in nanoseconds.
fn t2024(secs: i64) -> i64 {
    (1_704_067_200 + secs) * Timestamp::NANOS_PER_SEC
}
