//! Storage: the shared conformance suite against every backend, plus SQLite-only checks
//! (reopen, migrations, newer schema, damaged data, a writer killed mid-write).

mod crash;
mod sqlite;

use anomdet::storage::SqliteStorage;
use anomdet::storage::conformance::Fixture;

/// A SQLite file in a fresh temp dir that is removed after the store is closed.
fn sqlite_file() -> Fixture<SqliteStorage> {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStorage::open(&dir.path().join("conformance.sqlite")).unwrap();
    Fixture::with_guard(store, dir)
}

mod memory {
    anomdet::storage_conformance_tests!(anomdet::storage::MemoryStorage::default());
}

mod sqlite_in_memory {
    anomdet::storage_conformance_tests!(anomdet::storage::SqliteStorage::open_in_memory().unwrap());
}

mod sqlite_on_disk {
    anomdet::storage_conformance_tests!(super::sqlite_file());
}
