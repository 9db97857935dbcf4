//! `anomdet`: without a subcommand, the desktop application; with one, the headless CLI.
//! Thin on purpose: parse, dispatch, map errors to exit codes (0 ok, 2 error).

use std::process::ExitCode;

use anomdet::cli::{self, Cli};
use clap::Parser as _;

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let cli = Cli::parse();
    let result = match &cli.command {
        Some(command) => cli::run(&cli, command),
        None => open_gui(&cli),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // `anomdet datasets | head`: the reader left; that is not an error.
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            report(&error);
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// One line on stderr: the error and its causes joined by ": ".
#[expect(
    clippy::print_stderr,
    reason = "the edge where errors are shown to the user"
)]
fn report(error: &anyhow::Error) {
    eprintln!("anomdet: error: {error:#}");
}

#[cfg(feature = "gui")]
fn open_gui(cli: &Cli) -> anyhow::Result<()> {
    anomdet::app::run_native(anomdet::app::AppOptions {
        db: cli.db_location(),
        open_files: cli.files.clone(),
    })?;
    Ok(())
}

#[cfg(not(feature = "gui"))]
fn open_gui(_cli: &Cli) -> anyhow::Result<()> {
    anyhow::bail!(
        "this build has no desktop application (built without the `gui` feature); see `anomdet --help`"
    )
}
