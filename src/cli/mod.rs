//! The headless command line: `anomdet <subcommand>`. An edge over the engine, like the GUI.
//!
//! Owns argument parsing (clap derive), progress bars (indicatif) and output formatting (tables
//! and `--json`). `anyhow` is used here and in `main.rs` only; everything below speaks the
//! crate's typed errors. Each subcommand family lives in its own file.

mod bench;
mod data;
mod desktop;
mod eval;
mod inject;
mod jobs;
mod models;
mod output;
mod rank;
mod robustness;
mod runs;
mod stream;
mod sync;

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use crate::engine::{DbLocation, Engine};

pub use output::Output;

/// Find anomalies in time series and measure how well detectors work.
///
/// Without a subcommand, opens the desktop application (files given are imported and shown).
#[derive(Debug, Parser)]
#[command(name = "anomdet", version, about)]
pub struct Cli {
    /// Database: a SQLite file path, `:memory:`, or a `postgres://user@host:port/db` URL
    /// (password from the URL, PGPASSWORD, or a prompt; needs the `timescale` feature). Default: anomdet.sqlite in the platform's
    /// data directory.
    #[arg(long, global = true, env = "ANOMDET_DB", value_name = "PATH")]
    pub db: Option<String>,

    /// CSV files to import and show when the desktop application opens.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// What to do; none opens the desktop application.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import a CSV file as a dataset.
    Import(data::ImportArgs),
    /// List datasets.
    Datasets(data::ListArgs),
    /// Show a dataset's summary: rows, columns, time span, step, labels, warnings.
    Show(data::ShowArgs),
    /// Export a dataset as CSV.
    Export(data::ExportArgs),
    /// Delete a dataset and its runs.
    Delete(data::DeleteArgs),
    /// List the available detectors and their parameters.
    Detectors(runs::DetectorsArgs),
    /// Run a detector over a dataset (batch) and store the run.
    Run(runs::RunArgs),
    /// List stored runs.
    Runs(runs::RunsArgs),
    /// Fit a detector on training rows and save it as a model (score later with
    /// `run --model ID`, or warm a stream with `stream --model ID`).
    Fit(models::FitArgs),
    /// List saved models, or delete one (`--delete ID`).
    Models(models::ModelsArgs),
    /// Export a run as CSV: timestamp, values, `score`, `is_anomaly`, `label`.
    ExportRun(runs::ExportRunArgs),
    /// List the anomaly injector kinds and their parameters.
    Injectors(inject::InjectorsArgs),
    /// Store a copy of a dataset with anomalies injected (from a plan file or flags).
    Inject(inject::InjectArgs),
    /// Generate a synthetic dataset (sine, ECG, random walk, ...), optionally injected.
    Generate(inject::GenerateArgs),
    /// All metrics of a stored run against its dataset's labels, with random and constant baselines.
    Eval(eval::EvalArgs),
    /// Leaderboard: every detector on every labelled dataset (names, CSV files or folders), in
    /// parallel; runs stored with metrics; table, CSV, JSON and Markdown output.
    Bench(bench::BenchArgs),
    /// Detector × injected kind × magnitude matrix on a clean series: which detector catches
    /// which anomaly, from which magnitude, how fast.
    Robustness(robustness::RobustnessArgs),
    /// Suggest detectors for a series without using labels (injected anomalies); on labelled
    /// data, report how well that predicts the true ranking.
    Rank(rank::RankArgs),
    /// Install the desktop entry and icon (applications menu, "Open with" on CSV files) under
    /// `$XDG_DATA_HOME` (default `~/.local/share`); `--uninstall` removes them.
    InstallDesktop(desktop::InstallDesktopArgs),
    /// Copy datasets with their runs and jobs between two stores (SQLite file, PostgreSQL URL).
    Sync(sync::SyncArgs),
    /// Replay a dataset as a live stream through one or more detectors (live injection,
    /// online threshold), printing anomaly windows as they open and close.
    Stream(stream::StreamArgs),
    /// List jobs (streams and batch jobs) with their state, progress and throughput.
    Jobs(jobs::JobsArgs),
    /// Internal: keeps writing datasets until killed (used by the crash-safety test).
    #[command(name = "__crash-writer", hide = true)]
    CrashWriter,
}

impl Cli {
    /// The database location: `--db`/`ANOMDET_DB`, or the platform default.
    pub fn db_location(&self) -> DbLocation {
        self.db
            .as_deref()
            .map_or_else(DbLocation::default_local, DbLocation::parse)
    }
}

/// Runs a subcommand against the database chosen by `--db`.
pub fn run(cli: &Cli, command: &Command) -> anyhow::Result<()> {
    let location = cli.db_location();
    let mut out = Output::stdout();
    if let Command::CrashWriter = command {
        let DbLocation::Sqlite(path) = &location else {
            anyhow::bail!("__crash-writer needs a database file (--db PATH)");
        };
        return crate::storage::conformance::crash_writer(path, &mut std::io::stdout())
            .context("crash writer");
    }
    if let Command::Sync(args) = command {
        // Opens its own two stores; `--db` is not used.
        return sync::sync(args, &mut out);
    }
    if let Command::InstallDesktop(args) = command {
        // Needs no database.
        return desktop::install_desktop(args, &mut out);
    }
    let engine = Engine::with_storage(
        sync::open_storage(&location)
            .with_context(|| format!("opening the database ({location:?})"))?,
    );
    match command {
        Command::Import(args) => data::import(&engine, args, &mut out),
        Command::Datasets(args) => data::list(&engine, args, &mut out),
        Command::Show(args) => data::show(&engine, args, &mut out),
        Command::Export(args) => data::export(&engine, args, &mut out),
        Command::Delete(args) => data::delete(&engine, args, &mut out),
        Command::Detectors(args) => runs::detectors(args, &mut out),
        Command::Run(args) => runs::run(&engine, args, &mut out),
        Command::Runs(args) => runs::list(&engine, args, &mut out),
        Command::ExportRun(args) => runs::export(&engine, args, &mut out),
        Command::Fit(args) => models::fit(&engine, args, &mut out),
        Command::Models(args) => models::models(&engine, args, &mut out),
        Command::Injectors(args) => inject::injectors(args, &mut out),
        Command::Inject(args) => inject::inject(&engine, args, &mut out),
        Command::Generate(args) => inject::generate(&engine, args, &mut out),
        Command::Eval(args) => eval::eval(&engine, args, &mut out),
        Command::Bench(args) => bench::bench(&engine, args, &mut out),
        Command::Robustness(args) => robustness::robustness(&engine, args, &mut out),
        Command::Rank(args) => rank::rank(&engine, args, &mut out),
        Command::Stream(args) => stream::stream(&engine, args, &mut out),
        Command::Jobs(args) => jobs::jobs(&engine, args, &mut out),
        Command::CrashWriter | Command::InstallDesktop(_) | Command::Sync(_) => Ok(()),
    }
}
