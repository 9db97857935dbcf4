//! `anomdet robustness NAME`: the detector × injected kind × magnitude matrix on a clean
//! series (which detector catches which kind, from which magnitude, how fast), printed as
//! tables (or CSV / JSON / Markdown); `--out DIR` writes `robustness.{csv,json,md}`.

use std::path::PathBuf;

use clap::Args;

use super::bench::{Format, parse_detectors, wait_cancellable, write_file};
use super::output::Output;
use crate::control::CancelToken;
use crate::detect::ThresholdRule;
use crate::engine::{Engine, Notifier, RobustnessConfig, RunControl, Task};
use crate::eval::{CellValue, HeatmapGrid, RobustnessMatrix, VusOptions, fmt_cell};

/// `anomdet robustness NAME|FILE --detectors ... --kinds ... --magnitudes ...`.
#[derive(Debug, Args)]
pub struct RobustnessArgs {
    /// The clean base series: a stored dataset name (or `#id`) or a CSV file. Its own labels
    /// are ignored.
    pub dataset: String,
    /// Detector ids, comma-separated; `all` = every detector but the baselines.
    #[arg(long, short, value_delimiter = ',', default_value = "all")]
    pub detectors: Vec<String>,
    /// Injector kinds with a size parameter (see `anomdet injectors`).
    #[arg(
        long,
        short,
        value_delimiter = ',',
        default_value = "spike,level_shift,variance"
    )]
    pub kinds: Vec<String>,
    /// Magnitudes given to each kind's size parameter.
    #[arg(long, short, value_delimiter = ',', default_value = "1,2,4,8")]
    pub magnitudes: Vec<f64>,
    /// Seeded injections per cell.
    #[arg(long, short, default_value_t = 3)]
    pub repeats: usize,
    /// Seed of the first repeat.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Windows injected per series.
    #[arg(long, default_value_t = 3)]
    pub windows: usize,
    /// Rows per injected window (spikes are single rows).
    #[arg(long, default_value_t = 20)]
    pub length: usize,
    /// Threshold rule for detection rate, delay and false alarms.
    #[arg(long, default_value = "mad:4")]
    pub threshold: String,
    /// Detection rate that counts as "reliably detected".
    #[arg(long, default_value_t = 0.9)]
    pub reliable: f64,
    /// VUS sliding window.
    #[arg(long, default_value_t = 100)]
    pub sliding_window: usize,
    /// Worker threads (0 = one per core).
    #[arg(long, short, default_value_t = 0)]
    pub jobs: usize,
    /// The value shown in the table: `vus_pr`, `detection_rate`, `mean_delay_rows`, `false_events`.
    #[arg(long, default_value = "vus_pr")]
    pub value: String,
    /// What to print on stdout.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Also write robustness.csv, robustness.json and robustness.md into this folder.
    #[arg(long, short, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

pub(super) fn robustness(
    engine: &Engine,
    args: &RobustnessArgs,
    out: &mut Output,
) -> anyhow::Result<()> {
    let value = CellValue::parse(&args.value).map_err(anyhow::Error::msg)?;
    anyhow::ensure!(
        (0.0..=1.0).contains(&args.reliable),
        "--reliable must be in [0, 1], got {}",
        args.reliable
    );
    anyhow::ensure!(!args.magnitudes.is_empty(), "no magnitudes given");
    let rule = ThresholdRule::parse(&args.threshold).map_err(anyhow::Error::msg)?;
    rule.check().map_err(anyhow::Error::msg)?;
    let config = RobustnessConfig {
        detectors: parse_detectors(&args.detectors, args.seed)?,
        kinds: args.kinds.iter().map(|k| k.trim().to_owned()).collect(),
        magnitudes: args.magnitudes.clone(),
        repeats: args.repeats,
        seed: args.seed,
        windows: args.windows,
        window_len: args.length,
        rule,
        jobs: args.jobs,
        vus: VusOptions {
            sliding_window: args.sliding_window,
            ..VusOptions::default()
        },
        reliable_rate: args.reliable,
    };
    let meta = engine
        .bench_datasets(std::slice::from_ref(&args.dataset), &CancelToken::new())?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("no dataset {:?}", args.dataset))?;
    let worker = engine.clone();
    let task = Task::spawn("robustness", Notifier::noop(), move |cancel, progress| {
        let control = RunControl {
            cancel: cancel.clone(),
            progress: progress.clone(),
        };
        worker.robustness(meta.id, &config, &control)
    })?;
    let matrix = wait_cancellable(task, "robustness")?;
    if let Some(dir) = &args.out {
        write_file(dir, "robustness.csv", &matrix.to_csv())?;
        write_file(
            dir,
            "robustness.json",
            &serde_json::to_string_pretty(&matrix)?,
        )?;
        write_file(dir, "robustness.md", &matrix.to_markdown())?;
    }
    match args.format {
        Format::Csv => out.line(matrix.to_csv().trim_end()),
        Format::Json => out.json(&matrix),
        Format::Markdown => out.line(matrix.to_markdown().trim_end()),
        Format::Table => print_tables(&matrix, value, out),
    }
}

fn print_tables(
    matrix: &RobustnessMatrix,
    value: CellValue,
    out: &mut Output,
) -> anyhow::Result<()> {
    out.line(&format!(
        "{} per detector × kind@magnitude ({} repeats per cell{})",
        value.id(),
        matrix.repeats,
        if matrix.cancelled {
            "; CANCELLED: partial results"
        } else {
            ""
        }
    ))?;
    grid_table(&matrix.to_grid(value), out)?;
    out.line(&format!(
        "smallest magnitude detected at rate >= {} at it and every larger one (- = never)",
        matrix.reliable_rate
    ))?;
    grid_table(&matrix.reliable_grid(), out)?;
    let failures: usize = matrix.cells.iter().map(|c| c.failures).sum();
    if failures > 0 {
        let first = matrix.cells.iter().find_map(|c| {
            c.error
                .as_ref()
                .map(|e| format!("{} on {}@{}: {e}", c.detector, c.kind, c.magnitude))
        });
        out.line(&format!(
            "{failures} runs failed; first: {}",
            first.unwrap_or_default()
        ))?;
    }
    Ok(())
}

fn grid_table(grid: &HeatmapGrid, out: &mut Output) -> anyhow::Result<()> {
    let mut header = vec!["detector"];
    header.extend(grid.col_labels.iter().map(String::as_str));
    let rows = grid
        .row_labels
        .iter()
        .zip(&grid.values)
        .map(|(label, row)| {
            let mut cells = vec![label.clone()];
            cells.extend(row.iter().map(|&v| fmt_cell(v)));
            cells
        })
        .collect();
    out.table(&header, rows)
}
