//! `anomdet sync --from LOC --to LOC [--dataset NAME]...`: copies datasets with their runs and
//! jobs between any two stores (a SQLite file, a `postgres://` server, ...). The copy itself
//! is `engine::sync`; this file parses locations, asks for a password when a server needs
//! one, and prints the report.

use anyhow::Context as _;
use clap::Args;

use super::Output;
#[cfg(feature = "timescale")]
use std::io::IsTerminal as _;

use crate::engine::{self, DbLocation, Engine};
use crate::storage::Storage;
#[cfg(feature = "timescale")]
use crate::storage::StorageError;

/// `anomdet sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Where to copy from: a SQLite file or a `postgres://` URL.
    #[arg(long, value_name = "LOC")]
    pub from: String,
    /// Where to copy to: a SQLite file or a `postgres://` URL.
    #[arg(long, value_name = "LOC")]
    pub to: String,
    /// Copy only this dataset (repeat for several); default: all. Datasets whose name the
    /// target has already are skipped.
    #[arg(long = "dataset", value_name = "NAME")]
    pub datasets: Vec<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

pub(super) fn sync(args: &SyncArgs, out: &mut Output) -> anyhow::Result<()> {
    let from_location = DbLocation::parse(&args.from);
    let to_location = DbLocation::parse(&args.to);
    if from_location == to_location {
        anyhow::bail!("--from and --to are the same store ({})", args.from);
    }
    let from = open_storage(&from_location)
        .with_context(|| format!("opening the source {from_location:?}"))?;
    let mut to = open_storage(&to_location)
        .with_context(|| format!("opening the target {to_location:?}"))?;
    let report = engine::sync(from.as_ref(), to.as_mut(), &args.datasets)
        .with_context(|| format!("copying to {}", to.describe()))?;
    if args.json {
        return out.json(&report);
    }
    for name in &report.copied {
        out.line(&format!("copied {name:?}"))?;
    }
    for name in &report.skipped {
        out.line(&format!(
            "skipped {name:?} (the target has a dataset of that name)"
        ))?;
    }
    out.line(&format!(
        "{} datasets, {} runs and {} jobs copied from {} to {}",
        report.copied.len(),
        report.runs,
        report.jobs,
        from.describe(),
        to.describe()
    ))
}

/// Opens the store at `location`. When a PostgreSQL server asks for a password that neither
/// the URL nor `PGPASSWORD` gives, and stdin is a terminal, asks for it (not echoed) and
/// tries once more. The password stays in memory.
pub(super) fn open_storage(location: &DbLocation) -> anyhow::Result<Box<dyn Storage>> {
    match Engine::open_storage(location) {
        #[cfg(feature = "timescale")]
        Err(crate::Error::Storage(StorageError::Backend { message, .. }))
            if message.starts_with(crate::storage::PASSWORD_NEEDED)
                && std::io::stdin().is_terminal() =>
        {
            let DbLocation::Postgres(url) = location else {
                anyhow::bail!("{message}");
            };
            let password = prompt_password(&format!("Password for {url}: "))?;
            let retry = DbLocation::Postgres(url.clone().with_password(password));
            Ok(Engine::open_storage(&retry)?)
        }
        other => Ok(other?),
    }
}

/// Reads a password from the terminal without echoing it (the `rpassword` crate).
#[cfg(feature = "timescale")]
fn prompt_password(prompt: &str) -> anyhow::Result<String> {
    rpassword::prompt_password(prompt).context("reading the password")
}
