//! The PostgreSQL / TimescaleDB backend (cargo feature `timescale`), over the blocking
//! `postgres` crate, and [`PgUrl`] (always built, so `--db postgres://...` parses in every
//! build).
//!
//! Owns every `postgres` type; none appears in the public API. Same records and rules as the
//! `SQLite` backend (it passes the same conformance suite, bit-exact): every write is one
//! transaction, user text is only ever a bound parameter (all SQL strings are constants),
//! listings are sorted byte-wise (`COLLATE "C"`) like the other backends. Sample values sit in
//! a narrow typed table written with binary COPY (see `schema`), which also serves
//! server-side downsampling for plots ([`PostgresStorage::downsample`]).
//!
//! Connection: a URL (`postgres://user@host:port/db?sslmode=verify-full&sslrootcert=ca.pem`)
//! or key=value text, the password from the URL, from `PGPASSWORD`, or typed at a prompt; it
//! is never written anywhere. TLS through rustls with libpq's `sslmode` meanings (`tls.rs`).
//! A lost connection fails the
//! operation with a [`StorageError::Backend`] naming it, and the next call reconnects.
//!
//! Files: `url.rs`, `conn.rs` (connect, reconnect, error mapping), `tls.rs`, `schema.rs`,
//! `datasets.rs`, `copy.rs` (binary COPY encoder), `blocks.rs` (block summaries for plots),
//! `runs.rs`, `jobs.rs`, `models.rs`, `downsample.rs`, `testing.rs` (a throwaway cluster for tests and
//! benches).

mod url;

pub use url::{PgUrl, SslMode, TlsOptions};

#[cfg(feature = "timescale")]
mod blocks;
#[cfg(feature = "timescale")]
mod conn;
#[cfg(feature = "timescale")]
mod copy;
#[cfg(feature = "timescale")]
mod datasets;
#[cfg(feature = "timescale")]
mod downsample;
#[cfg(feature = "timescale")]
mod jobs;
#[cfg(feature = "timescale")]
mod models;
#[cfg(feature = "timescale")]
mod runs;
#[cfg(feature = "timescale")]
mod schema;
#[cfg(feature = "timescale")]
mod store;
#[cfg(feature = "timescale")]
mod testing;
#[cfg(feature = "timescale")]
mod tls;

#[cfg(feature = "timescale")]
pub use conn::PASSWORD_NEEDED;
#[cfg(feature = "timescale")]
pub use downsample::Bucket;
#[cfg(feature = "timescale")]
pub use schema::PgMode;
#[cfg(feature = "timescale")]
pub use store::PostgresStorage;
#[cfg(feature = "timescale")]
pub use testing::{PgTestDatabase, PgTestServer};

#[cfg(feature = "timescale")]
use crate::storage::StorageError;

/// Reads column `idx` of `row`, mapping a type mismatch to [`StorageError::Corrupt`].
#[cfg(feature = "timescale")]
fn get<'a, T: postgres::types::FromSql<'a>>(
    row: &'a postgres::Row,
    idx: usize,
    op: &'static str,
) -> Result<T, StorageError> {
    row.try_get(idx).map_err(|e| StorageError::Corrupt {
        what: format!("a stored value (while trying to {op})"),
        detail: e.to_string(),
    })
}

/// A stored count (never negative) as `usize`.
#[cfg(feature = "timescale")]
fn count(row: &postgres::Row, idx: usize, op: &'static str) -> Result<usize, StorageError> {
    let n: i64 = get(row, idx, op)?;
    usize::try_from(n).map_err(|_| StorageError::Corrupt {
        what: format!("a stored count (while trying to {op})"),
        detail: format!("{n} is negative"),
    })
}

/// Decodes a JSON text column.
#[cfg(feature = "timescale")]
fn from_json<T: serde::de::DeserializeOwned>(
    text: &str,
    what: impl Fn() -> String,
) -> Result<T, StorageError> {
    serde_json::from_str(text).map_err(|e| StorageError::Corrupt {
        what: what(),
        detail: format!("bad JSON: {e}"),
    })
}

/// Encodes a value as JSON text.
#[cfg(feature = "timescale")]
fn to_json<T: serde::Serialize>(value: &T, op: &'static str) -> Result<String, StorageError> {
    serde_json::to_string(value).map_err(|e| StorageError::Backend {
        op,
        message: format!("cannot encode JSON: {e}"),
    })
}
