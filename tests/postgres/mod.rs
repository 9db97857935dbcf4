//! The PostgreSQL backend (feature `timescale`) against a throwaway cluster started on first
//! use (`PgTestServer`: initdb in a temp dir, a free port on 127.0.0.1, stopped when the test
//! process exits), or the server in `ANOMDET_PG_URL`. One database per test, so they run in
//! parallel. The whole storage conformance suite, then the backend's own checks: the narrow
//! samples table, downsampling, mode reporting, hostile names, schema versions, TLS,
//! connection loss and reconnect, and `sync` between SQLite and PostgreSQL.

mod backend;
mod sync;
mod tls;

use anomdet::storage::conformance::Fixture;
use anomdet::storage::{PgTestDatabase, PgTestServer, PostgresStorage};

/// A fresh database on the shared test server (panics with the reason if none can start).
pub fn database() -> PgTestDatabase {
    let server = PgTestServer::shared().unwrap_or_else(|e| panic!("{e}"));
    server.fresh_database().unwrap_or_else(|e| panic!("{e}"))
}

/// A store on a fresh database; the database is dropped after the store is closed.
pub fn store() -> Fixture<PostgresStorage> {
    let db = database();
    let store = PostgresStorage::connect(db.url()).unwrap_or_else(|e| panic!("{e}"));
    Fixture::with_guard(store, db)
}

/// A raw client on `db`, to look behind the backend's back.
pub fn raw(db: &PgTestDatabase) -> postgres::Client {
    postgres::Client::connect(db.url().secret_url(), postgres::NoTls).unwrap()
}

/// True when the server offers the timescaledb extension.
pub fn timescale_available(db: &PgTestDatabase) -> bool {
    raw(db)
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')",
            &[],
        )
        .unwrap()
        .get(0)
}

mod conformance {
    anomdet::storage_conformance_tests!(super::store());
}
