//! A throwaway PostgreSQL cluster for tests and benches (feature `timescale`).
//!
//! [`PgTestServer::shared`] starts one cluster per process on first use: `initdb` into a
//! fresh `mktemp -d` folder (as the `postgres` user when running as root, since `initdb`
//! refuses root), `pg_ctl start` on a free port of 127.0.0.1, trust authentication. A small
//! shell watchdog owns the cluster and waits on a pipe from this process: when the process
//! exits, however it exits, the pipe closes and the watchdog stops the cluster and removes
//! the folder. When `ANOMDET_PG_URL` is set, that server is used instead and nothing is
//! started. [`PgTestServer::fresh_database`] creates one database per test, so tests run in
//! parallel; it is dropped (with `FORCE`) when the returned guard goes.

use std::io::{BufRead as _, BufReader, Read as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use postgres::{Client, NoTls};

use super::PgUrl;

/// The watchdog: `$1` PostgreSQL bin folder, `$2` port, `$3` extra server options. Prints the
/// data folder then `ready`, and stops the cluster once stdin closes. The cluster has TLS on
/// with a throwaway CA (`ca.pem` in the folder) when the `openssl` CLI is there.
const WATCHDOG: &str = r#"
set -u
bin=$1; port=$2; opts=$3
base=$(mktemp -d -t anomdet-pg.XXXXXX) || exit 1
run() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$base"
echo "$base"
# TLS with a throwaway CA ($base/ca.pem) when the openssl CLI is there.
if command -v openssl >/dev/null 2>&1 &&
   openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 7 \
     -subj "/CN=AnomDet test CA" -keyout "$base/ca.key" -out "$base/ca.pem" \
     -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
     >/dev/null 2>&1 &&
   openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
     -subj "/CN=localhost" -keyout "$base/server.key" -out "$base/server.csr" >/dev/null 2>&1 &&
   printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$base/server.ext" &&
   openssl x509 -req -in "$base/server.csr" -CA "$base/ca.pem" -CAkey "$base/ca.key" \
     -CAcreateserial -days 7 -extfile "$base/server.ext" -out "$base/server.crt" >/dev/null 2>&1; then
  chmod 600 "$base/server.key"
  [ "$(id -u)" = 0 ] && chown postgres "$base/server.key"
  opts="$opts -c ssl=on -c ssl_cert_file=$base/server.crt -c ssl_key_file=$base/server.key"
else
  rm -f "$base/ca.pem"
fi
if ! run "$bin/initdb" -D "$base/data" -U postgres -A trust -E UTF8 --no-locale >"$base/initdb.log" 2>&1; then
  echo "initdb failed:"; cat "$base/initdb.log"; rm -rf "$base"; exit 1
fi
if ! run "$bin/pg_ctl" -D "$base/data" -l "$base/server.log" -w -t 60 \
     -o "-p $port -k $base -c listen_addresses=127.0.0.1 -c max_connections=300 $opts" start >/dev/null 2>&1; then
  echo "pg_ctl start failed:"; cat "$base/server.log"; rm -rf "$base"; exit 1
fi
echo ready
cat >/dev/null
run "$bin/pg_ctl" -D "$base/data" -m immediate -w stop >/dev/null 2>&1
rm -rf "$base"
"#;

/// A PostgreSQL server for tests: a throwaway local cluster or the one in `ANOMDET_PG_URL`.
#[derive(Debug)]
pub struct PgTestServer {
    /// URL of the server's `postgres` database (for CREATE/DROP DATABASE).
    admin_url: String,
    /// The PEM file of the CA that signed the server's TLS certificate (`None`: no TLS).
    ca_file: Option<PathBuf>,
    /// Keeps the watchdog waiting; closed (and the cluster stopped) when the process exits.
    _keepalive: Option<ChildStdin>,
}

/// One database of the test server, dropped when this guard is.
#[derive(Debug)]
pub struct PgTestDatabase {
    url: PgUrl,
    name: String,
    admin_url: String,
}

impl PgTestServer {
    /// The process-wide server, started on first call.
    ///
    /// # Errors
    /// Why no server could be started (no PostgreSQL binaries, `initdb` failed, ...).
    pub fn shared() -> Result<&'static Self, String> {
        static SERVER: OnceLock<Result<PgTestServer, String>> = OnceLock::new();
        // fsync only matters for power loss; tests do not need it.
        SERVER
            .get_or_init(|| Self::start("-c fsync=off"))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Starts a cluster with extra `postgres` options.
    fn start(options: &str) -> Result<Self, String> {
        if let Ok(url) = std::env::var("ANOMDET_PG_URL") {
            return Ok(Self {
                admin_url: url,
                ca_file: std::env::var_os("ANOMDET_PG_CA").map(PathBuf::from),
                _keepalive: None,
            });
        }
        let bin = find_bin()?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("cannot find a free port: {e}"))?
            .port();
        let mut opts = options.to_owned();
        // TimescaleDB must be preloaded; use it when this PostgreSQL has it.
        if bin
            .parent()
            .is_some_and(|dir| dir.join("lib/timescaledb.so").exists())
        {
            opts.push_str(" -c shared_preload_libraries=timescaledb");
        }
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(WATCHDOG)
            .arg("anomdet-pg-watchdog")
            .arg(&bin)
            .arg(port.to_string())
            .arg(opts)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start sh for the PostgreSQL watchdog: {e}"))?;
        let stdout = child.stdout.take().ok_or("no watchdog stdout")?;
        let mut lines = BufReader::new(stdout);
        let mut base = String::new();
        let mut status = String::new();
        lines
            .read_line(&mut base)
            .and_then(|_| lines.read_line(&mut status))
            .map_err(|e| format!("reading the watchdog: {e}"))?;
        if status.trim() != "ready" {
            let mut rest = String::new();
            lines.read_to_string(&mut rest).ok();
            child.wait().ok();
            return Err(format!(
                "the test PostgreSQL cluster did not start ({}): {status}{rest}",
                bin.display()
            ));
        }
        // Nothing more is read: the watchdog writes no more once ready.
        drop(lines);
        log::info!("test PostgreSQL cluster in {} on port {port}", base.trim());
        let ca_file = Path::new(base.trim()).join("ca.pem");
        Ok(Self {
            admin_url: format!("postgres://postgres@127.0.0.1:{port}/postgres?sslmode=disable"),
            ca_file: ca_file.exists().then_some(ca_file),
            _keepalive: child.stdin.take(),
        })
    }

    /// Creates an empty database for one test.
    ///
    /// # Errors
    /// The server's error text.
    pub fn fresh_database(&self) -> Result<PgTestDatabase, String> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        // Only digits go into the identifier.
        let name = format!(
            "anomdet_test_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = Client::connect(&self.admin_url, NoTls)
            .map_err(|e| format!("connecting to the test server: {e}"))?;
        admin
            .batch_execute(&format!(
                "CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8'"
            ))
            .map_err(|e| format!("creating database {name}: {e}"))?;
        Ok(PgTestDatabase {
            url: PgUrl::new(with_database(&self.admin_url, &name)),
            name,
            admin_url: self.admin_url.clone(),
        })
    }

    /// The PEM file of the certificate authority that signed the server's TLS certificate:
    /// the throwaway cluster's own, or `ANOMDET_PG_CA` with `ANOMDET_PG_URL`; `None` when the
    /// server has no TLS.
    pub fn ca_file(&self) -> Option<&Path> {
        self.ca_file.as_deref()
    }

    /// The URL of the server's administrative database.
    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }
}

impl PgTestDatabase {
    /// The database's URL.
    pub fn url(&self) -> &PgUrl {
        &self.url
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for PgTestDatabase {
    fn drop(&mut self) {
        let dropped = Client::connect(&self.admin_url, NoTls).and_then(|mut admin| {
            admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
        });
        if let Err(e) = dropped {
            log::warn!("could not drop test database {}: {e}", self.name);
        }
    }
}

/// `url` with its database (path) replaced by `database`.
fn with_database(url: &str, database: &str) -> String {
    let authority = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[authority..];
    let path_start = authority + rest.find(['/', '?']).unwrap_or(rest.len());
    let query_start = url[path_start..]
        .find('?')
        .map_or(url.len(), |i| path_start + i);
    format!("{}/{database}{}", &url[..path_start], &url[query_start..])
}

/// The newest PostgreSQL bin folder with `initdb` (`PG_BIN` overrides).
fn find_bin() -> Result<PathBuf, String> {
    if let Ok(dir) = std::env::var("PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    ["18", "17", "16", "15", "14"]
        .iter()
        .map(|v| PathBuf::from(format!("/usr/lib/postgresql/{v}/bin")))
        .find(|dir| Path::new(dir).join("initdb").exists())
        .ok_or_else(|| {
            "no PostgreSQL server binaries (looked for /usr/lib/postgresql/*/bin/initdb): \
             install postgresql-15 (see .ci/pg.sh), set PG_BIN, or point ANOMDET_PG_URL at a \
             server"
                .to_owned()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_is_swapped_in_the_url() {
        assert_eq!(
            with_database("postgres://u@h:1/postgres?sslmode=disable", "t1"),
            "postgres://u@h:1/t1?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h", "t2"), "postgres://u@h/t2");
        assert_eq!(
            with_database("postgres://h?x=1", "t3"),
            "postgres://h/t3?x=1"
        );
    }
}
