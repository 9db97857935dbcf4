//! The connection: building the driver's configuration from a [`PgUrl`], connecting (with
//! TLS as `sslmode` asks, see `tls.rs`), and reconnecting lazily after the server went away.
//!
//! The client lives in an `Option`. Every storage call goes through [`Conn::run`], which
//! connects first when there is no client (the previous one was lost), runs the call, and on
//! failure checks whether the connection is still alive: if not, the client is dropped and
//! the error says the connection was lost, so the *next* call reconnects. A lost connection
//! never leaves a half-written record: every write is one transaction, which the server rolls
//! back when its session ends.

use std::fmt;
use std::time::Duration;

use postgres::{Client, Config, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::url::TlsOptions;
use super::{PgUrl, tls};
use crate::storage::StorageError;

/// How long connecting (and the liveness probe after an error) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Start of the error text when the server asks for a password that was not given; the CLI
/// looks for it to decide whether to prompt.
pub const PASSWORD_NEEDED: &str = "the server asks for a password";

/// A lazily (re)connected client.
pub(super) struct Conn {
    config: Config,
    /// The TLS connector (`None`: `sslmode=disable`) and the settings it was made from.
    tls: Option<MakeRustlsConnect>,
    tls_options: TlsOptions,
    client: Option<Client>,
    /// How many times a lost connection was replaced.
    reconnects: u64,
}

impl fmt::Debug for Conn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `Config`'s own Debug redacts the password too, but say less.
        f.debug_struct("Conn")
            .field("connected", &self.client.is_some())
            .field("reconnects", &self.reconnects)
            .finish_non_exhaustive()
    }
}

impl Conn {
    /// Parses `url`, fills in the password (explicit, from the URL, or `PGPASSWORD`) and the
    /// user (URL, `PGUSER`, `USER`), and connects.
    pub(super) fn open(url: &PgUrl) -> Result<Self, StorageError> {
        let (config, tls_options) = config_of(url)?;
        let tls = tls::connector(&tls_options).map_err(|message| StorageError::Backend {
            op: "connect to PostgreSQL",
            message,
        })?;
        let client = connect(&config, tls.as_ref(), &tls_options)?;
        Ok(Self {
            config,
            tls,
            tls_options,
            client: Some(client),
            reconnects: 0,
        })
    }

    /// Times a lost connection was replaced (tests and diagnostics).
    pub(super) fn reconnects(&self) -> u64 {
        self.reconnects
    }

    /// Runs `f` with a live client. See the module docs for what happens on connection loss.
    pub(super) fn run<T>(
        &mut self,
        op: &'static str,
        f: impl FnOnce(&mut Client) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        let live =
            match self.client.take() {
                Some(client) if !client.is_closed() => client,
                _ => {
                    let fresh = connect(&self.config, self.tls.as_ref(), &self.tls_options)
                        .map_err(|e| StorageError::Backend {
                            op,
                            message: format!(
                                "the connection was lost and reconnecting failed: {e}"
                            ),
                        })?;
                    // `open` connected the first client, so this replaces a lost one.
                    self.reconnects += 1;
                    log::info!("reconnected to PostgreSQL");
                    fresh
                }
            };
        let client = self.client.insert(live);
        match f(client) {
            Ok(value) => Ok(value),
            Err(error) => {
                let alive = !client.is_closed() && client.is_valid(CONNECT_TIMEOUT).is_ok();
                if alive {
                    return Err(error);
                }
                self.client = None;
                let message = match error {
                    StorageError::Backend { message, .. } => message,
                    other => other.to_string(),
                };
                Err(StorageError::Backend {
                    op,
                    message: format!(
                        "the connection to the server was lost ({message}); nothing of this \
                         operation was saved, and the next operation reconnects"
                    ),
                })
            }
        }
    }
}

fn config_of(url: &PgUrl) -> Result<(Config, TlsOptions), StorageError> {
    const OP: &str = "connect to PostgreSQL";
    let unreadable = |e: &dyn std::fmt::Display| StorageError::Backend {
        op: OP,
        message: format!("cannot read the connection URL {}: {e}", url.redacted()),
    };
    let (text, tls_options) = url.split_tls().map_err(|e| unreadable(&e))?;
    let mut config: Config = text.parse().map_err(|e: postgres::Error| unreadable(&e))?;
    if let Some(password) = url.explicit_password() {
        config.password(password);
    } else if config.get_password().is_none()
        && let Ok(password) = std::env::var("PGPASSWORD")
    {
        config.password(password);
    }
    if config.get_user().is_none() {
        let user = std::env::var("PGUSER")
            .or_else(|_| std::env::var("USER"))
            .map_err(|_| StorageError::Backend {
                op: OP,
                message: format!("no user in {url} and neither PGUSER nor USER is set"),
            })?;
        config.user(&user);
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    if config.get_application_name().is_none() {
        config.application_name("anomdet");
    }
    Ok((config, tls_options))
}

fn connect(
    config: &Config,
    tls: Option<&MakeRustlsConnect>,
    tls_options: &TlsOptions,
) -> Result<Client, StorageError> {
    let connected = match tls {
        Some(tls) => config.connect(tls.clone()),
        None => config.connect(NoTls),
    };
    connected.map_err(|e| {
        let text = with_causes(&e);
        let message = if text.contains("password missing") {
            format!("{PASSWORD_NEEDED}: put it in the URL, in PGPASSWORD, or type it when asked")
        } else if let Some(hint) = tls::explain(&text, tls_options) {
            format!("{hint} ({text})")
        } else {
            text
        };
        StorageError::Backend {
            op: "connect to PostgreSQL",
            message,
        }
    })
}

/// Maps a driver error for operation `op` to [`StorageError::Backend`], with the server's
/// SQLSTATE when there is one.
pub(super) fn pg(op: &'static str) -> impl Fn(postgres::Error) -> StorageError {
    move |error| {
        let message = match error.as_db_error() {
            Some(db) => format!(
                "{}: {} (SQLSTATE {}){}",
                db.severity(),
                db.message(),
                db.code().code(),
                db.detail().map(|d| format!("; {d}")).unwrap_or_default()
            ),
            None => with_causes(&error),
        };
        StorageError::Backend { op, message }
    }
}

/// An error's text followed by its causes (the driver's own text omits them).
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}
