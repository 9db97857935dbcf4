//! TLS to the server (`sslmode` require / verify-ca / verify-full, `sslrootcert`), against the
//! test cluster, which has TLS on with a throwaway CA when the `openssl` CLI is there (see
//! `PgTestServer` and `.ci/pg.sh`); without it these tests print SKIPPED.

use std::path::Path;
use std::process::Command;

use anomdet::storage::{PgTestDatabase, PgTestServer, PgUrl, PostgresStorage, StorageError};

use super::raw;

/// A fresh database and the test CA, or `None` (SKIPPED printed) when the server has no TLS.
#[expect(clippy::print_stderr, reason = "CI counts the SKIPPED lines on stderr")]
fn tls_database(test: &str) -> Option<(PgTestDatabase, &'static Path)> {
    let server = PgTestServer::shared().unwrap_or_else(|e| panic!("{e}"));
    let Some(ca) = server.ca_file() else {
        eprintln!(
            "SKIPPED {test}: the test server has no TLS (no openssl CLI to make its \
             certificate, or ANOMDET_PG_URL without ANOMDET_PG_CA)"
        );
        return None;
    };
    Some((server.fresh_database().unwrap(), ca))
}

/// `db`'s URL with `query` as its only parameters.
fn with_query(db: &PgTestDatabase, query: &str) -> PgUrl {
    let url = db.url().secret_url();
    let base = url.split('?').next().unwrap();
    PgUrl::new(format!("{base}?{query}"))
}

/// Whether the store's session runs over TLS (asked from another session).
fn session_uses_tls(db: &PgTestDatabase, store: &PostgresStorage) -> bool {
    let pid = store.backend_pid().unwrap();
    raw(db)
        .query_one("SELECT ssl FROM pg_stat_ssl WHERE pid = $1", &[&pid])
        .unwrap()
        .get(0)
}

#[test]
fn require_and_verify_full_connect_over_tls() {
    let Some((db, ca)) = tls_database("require_and_verify_full_connect_over_tls") else {
        return;
    };
    let ca = ca.display().to_string();
    for query in [
        "sslmode=require".to_owned(),
        format!("sslmode=verify-ca&sslrootcert={ca}"),
        format!("sslmode=verify-full&sslrootcert={ca}"),
        format!("sslmode=require&sslrootcert={ca}"),
    ] {
        let store = PostgresStorage::connect(&with_query(&db, &query))
            .unwrap_or_else(|e| panic!("{query}: {e}"));
        assert!(
            session_uses_tls(&db, &store),
            "{query}: the session is encrypted"
        );
    }
    // The GUI's key=value form, with a quoted path.
    let url = db.url().secret_url();
    let port = url.rsplit(':').next().unwrap().split('/').next().unwrap();
    let keyword = PgUrl::new(format!(
        "host=localhost port={port} user=postgres dbname={} sslmode=verify-full \
         sslrootcert='{ca}'",
        db.name()
    ));
    let store = PostgresStorage::connect(&keyword).unwrap_or_else(|e| panic!("{e}"));
    assert!(session_uses_tls(&db, &store), "verify-full by host name");
    let plain = PostgresStorage::connect(&with_query(&db, "sslmode=disable")).unwrap();
    assert!(
        !session_uses_tls(&db, &plain),
        "sslmode=disable stays plain"
    );
}

#[test]
fn a_wrong_or_missing_ca_fails_clearly() {
    let Some((db, _)) = tls_database("a_wrong_or_missing_ca_fails_clearly") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other-ca.pem");
    let made = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"])
        .args(["-subj", "/CN=Some other CA", "-keyout"])
        .arg(dir.path().join("other.key"))
        .arg("-out")
        .arg(&other)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    for mode in ["verify-full", "verify-ca", "require"] {
        let url = with_query(
            &db,
            &format!("sslmode={mode}&sslrootcert={}", other.display()),
        );
        let err = PostgresStorage::connect(&url).unwrap_err();
        assert!(
            matches!(&err, StorageError::Backend { message, .. }
                if message.contains("certificate was refused")
                    && message.contains("other-ca.pem")),
            "{mode}: {err}"
        );
    }
    let missing = with_query(&db, "sslmode=verify-full&sslrootcert=/nonexistent/ca.pem");
    let err = PostgresStorage::connect(&missing).unwrap_err();
    assert!(
        err.to_string()
            .contains("cannot read the root certificate file /nonexistent/ca.pem"),
        "{err}"
    );
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    let url = with_query(
        &db,
        &format!("sslmode=verify-full&sslrootcert={}", empty.display()),
    );
    let err = PostgresStorage::connect(&url).unwrap_err();
    assert!(
        err.to_string().contains("holds no PEM certificate"),
        "{err}"
    );
}
