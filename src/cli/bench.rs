//! `anomdet bench`: every detector on every dataset, in parallel, with a progress bar and
//! Ctrl-C cancel; the leaderboard printed as a table (or CSV / JSON / Markdown) and, with
//! `--out DIR`, written as `leaderboard.csv`, `leaderboard.json` and `leaderboard.md`.
//! Also the helpers the robustness and rank commands share (detector lists, Ctrl-C, waiting).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use super::output::Output;
use crate::detect::{self, DetectorSpec, ThresholdRule};
use crate::engine::{BenchConfig, Engine, Notifier, RunControl, Task, default_detectors};
use crate::eval::{EvalOptions, Leaderboard, MetricId, VusOptions};

/// How results are printed on stdout.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table for people.
    #[default]
    Table,
    /// CSV (one line per result).
    Csv,
    /// JSON (everything).
    Json,
    /// A Markdown report.
    Markdown,
}

/// `anomdet bench --datasets DIR|FILE|NAME... --detectors all|ID,...`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Datasets: stored names (or `#id`), CSV files with a label column, or folders of them.
    #[arg(long, short = 'D', num_args = 1.., required = true, value_name = "DIR|FILE|NAME")]
    pub datasets: Vec<String>,
    /// Detector ids, comma-separated or repeated; `all` = every detector but the baselines.
    #[arg(long, short, value_delimiter = ',', default_value = "all")]
    pub detectors: Vec<String>,
    /// Worker threads (0 = one per core).
    #[arg(long, short, default_value_t = 0)]
    pub jobs: usize,
    /// Threshold rule for the flag-based metrics: `mad:4`, `quantile:0.01`, `spot:1e-3`, ...
    #[arg(long, default_value = "mad:4")]
    pub threshold: String,
    /// Metric that ranks detectors on each dataset (`vus_pr`, `vus_roc`, `best_f1`, `event_f1`, ...).
    #[arg(long, default_value = "vus_pr")]
    pub metric: String,
    /// VUS sliding window (TSB-AD: 100).
    #[arg(long, default_value_t = 100)]
    pub sliding_window: usize,
    /// Seed of the detectors and of the random baseline.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// What to print on stdout.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Also write leaderboard.csv, leaderboard.json and leaderboard.md into this folder.
    #[arg(long, short, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// Detector specs from ids (`all` expands to every non-baseline detector), seeded.
pub(super) fn parse_detectors(ids: &[String], seed: u64) -> anyhow::Result<Vec<DetectorSpec>> {
    let mut specs: Vec<DetectorSpec> = Vec::new();
    for id in ids.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        let more = if id == "all" {
            default_detectors()
        } else {
            vec![DetectorSpec::new(detect::find(id)?.info.id)]
        };
        for spec in more {
            if !specs.iter().any(|s| s.id == spec.id) {
                specs.push(DetectorSpec { seed, ..spec });
            }
        }
    }
    anyhow::ensure!(!specs.is_empty(), "no detectors given");
    Ok(specs)
}

/// Set by the first Ctrl-C (work is cancelled and partial results kept); a second Ctrl-C
/// quits at once. Installed once per process.
pub(super) fn interrupt_flag() -> anyhow::Result<Arc<AtomicBool>> {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    if let Some(flag) = FLAG.get() {
        return Ok(Arc::clone(flag));
    }
    let flag = Arc::new(AtomicBool::new(false));
    // Order matters: the shutdown check sees the flag as it was before this signal set it.
    signal_hook::flag::register_conditional_shutdown(
        signal_hook::consts::SIGINT,
        130,
        Arc::clone(&flag),
    )
    .context("installing the Ctrl-C handler")?;
    signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&flag))
        .context("installing the Ctrl-C handler")?;
    Ok(Arc::clone(FLAG.get_or_init(|| flag)))
}

/// Waits for `task` with a progress bar counting work items on stderr; the first Ctrl-C
/// cancels the task (which then returns what it finished).
pub(super) fn wait_cancellable<T: Send + 'static>(
    task: Task<T>,
    message: &str,
) -> anyhow::Result<T> {
    let interrupted = interrupt_flag()?;
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {msg} [{bar:30}] {pos}/{len} ({elapsed}, eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message(message.to_owned());
    let mut task = task;
    let mut cancelled = false;
    loop {
        if !cancelled && interrupted.load(Ordering::Relaxed) {
            cancelled = true;
            task.cancel();
            bar.set_message("cancelling: finishing running detectors (Ctrl-C again quits)");
        }
        if let Some(result) = task.poll() {
            bar.finish_and_clear();
            return Ok(result?);
        }
        let (done, total) = task.progress().get();
        bar.set_length(total);
        bar.set_position(done);
        bar.tick();
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Writes `text` to `dir/name`, creating the folder.
pub(super) fn write_file(dir: &Path, name: &str, text: &str) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(name);
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

pub(super) fn bench(engine: &Engine, args: &BenchArgs, out: &mut Output) -> anyhow::Result<()> {
    let config = BenchConfig {
        detectors: parse_detectors(&args.detectors, args.seed)?,
        rule: ThresholdRule::parse(&args.threshold).map_err(anyhow::Error::msg)?,
        jobs: args.jobs,
        eval: EvalOptions {
            vus: VusOptions {
                sliding_window: args.sliding_window,
                ..VusOptions::default()
            },
            baseline_seed: args.seed,
            ..EvalOptions::default()
        },
        rank_metric: MetricId::parse(&args.metric).map_err(anyhow::Error::msg)?,
    };
    config.rule.check().map_err(anyhow::Error::msg)?;
    let datasets = engine.bench_datasets(&args.datasets, &crate::control::CancelToken::new())?;
    anyhow::ensure!(
        !datasets.is_empty(),
        "no datasets found in {:?}",
        args.datasets
    );
    let worker = engine.clone();
    let task = Task::spawn("bench", Notifier::noop(), move |cancel, progress| {
        let control = RunControl {
            cancel: cancel.clone(),
            progress: progress.clone(),
        };
        worker.bench(&datasets, &config, &control)
    })?;
    let board = wait_cancellable(task, "bench")?;
    if let Some(dir) = &args.out {
        for (name, text) in [
            ("leaderboard.csv", board.to_csv()),
            ("leaderboard.json", serde_json::to_string_pretty(&board)?),
            ("leaderboard.md", board.to_markdown()),
        ] {
            write_file(dir, name, &text)?;
        }
    }
    print_board(&board, args.format, out)?;
    if let Some(dir) = &args.out
        && args.format == Format::Table
    {
        out.line(&format!(
            "wrote leaderboard.csv, leaderboard.json and leaderboard.md to {}",
            dir.display()
        ))?;
    }
    Ok(())
}

fn print_board(board: &Leaderboard, format: Format, out: &mut Output) -> anyhow::Result<()> {
    match format {
        Format::Csv => out.line(board.to_csv().trim_end()),
        Format::Json => out.json(board),
        Format::Markdown => out.line(board.to_markdown().trim_end()),
        Format::Table => {
            let (header, rows) = board.table();
            let header: Vec<&str> = header.iter().map(String::as_str).collect();
            out.line(&format!(
                "{} detectors × {} datasets in {:.1} s, ranked by {} (random baseline in brackets; \
                 PA-F1 is optimistic){}",
                board.rows.len(),
                board.datasets.len(),
                board.wall_secs,
                board.rank_metric.label(),
                if board.cancelled {
                    "; CANCELLED: partial results"
                } else {
                    ""
                }
            ))?;
            out.table(&header, rows)?;
            for (name, why) in &board.skipped {
                out.line(&format!("skipped {name}: {why}"))?;
            }
            let failed = board.entries.iter().filter(|e| e.error.is_some()).count();
            if failed > 0 {
                out.line(&format!(
                    "{failed} runs failed (see --format markdown or the CSV's error column)"
                ))?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detector_lists_expand_all_dedup_and_reject_unknown() {
        let all = parse_detectors(&["all".into()], 3).unwrap();
        assert!(all.len() > 5);
        assert!(all.iter().all(|s| s.seed == 3));
        let two = parse_detectors(
            &[
                "rolling_zscore".into(),
                "rolling_zscore".into(),
                "hbos".into(),
            ],
            0,
        )
        .unwrap();
        assert_eq!(two.len(), 2);
        assert!(parse_detectors(&["nope".into()], 0).is_err());
        assert!(parse_detectors(&[], 0).is_err());
    }
}
