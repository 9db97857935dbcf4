//! `anomdet stream`: replays a dataset through one or more detectors, printing a line when an
//! anomaly window opens or closes (or JSON lines), with a progress bar; Ctrl-C stops the
//! stream cleanly and keeps what was replayed (stored as cancelled).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use crossbeam_channel::RecvTimeoutError;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use super::output::Output;
use crate::detect::{self, DetectorSpec, ThresholdRule};
use crate::engine::Engine;
use crate::inject::InjectionPlan;
use crate::model::Params;
use crate::storage::ModelId;
use crate::stream::{Speed, StreamEvent, StreamOutcome, StreamSpec, Warmup};

/// `anomdet stream NAME --detector ID [--detector ID2] [--speed 50|max] [--plan plan.json]
/// [--threshold spot:1e-3]`.
#[derive(Debug, Args)]
pub struct StreamArgs {
    /// Dataset name (or `#id`).
    pub dataset: String,
    /// Detector id, optionally with parameters: `rolling_zscore` or
    /// `rolling_zscore:window=50,k=3`. Repeat to run several side by side.
    #[arg(
        long,
        short,
        required_unless_present = "model",
        value_name = "ID[:NAME=VALUE,...]"
    )]
    pub detector: Vec<String>,
    /// A saved model (`anomdet fit`, `anomdet models`) scored beside the detectors, with no
    /// warm-up fit. Repeat for several.
    #[arg(long, value_name = "ID")]
    pub model: Vec<i64>,
    /// Replay speed: a factor of real time in 0.1..=10000 (`50`, `0.5x`) or `max`.
    #[arg(long, default_value = "1")]
    pub speed: String,
    /// A JSON injection plan applied live as rows pass.
    #[arg(long)]
    pub plan: Option<PathBuf>,
    /// Online threshold: `spot:1e-3` (default), `dspot:1e-3:50`, `fixed:3`, `mad:4`,
    /// `quantile:0.01` (the last two calibrate on the first scores, then stay fixed).
    #[arg(long, default_value = "spot:1e-3")]
    pub threshold: String,
    /// Fit the detectors on the first N rows before replaying (0: no fitting).
    #[arg(long, default_value_t = 1000, conflicts_with_all = ["train", "fit_all"])]
    pub warmup: usize,
    /// Fit the detectors on this dataset instead (a clean training set).
    #[arg(long, value_name = "DATASET")]
    pub train: Option<String>,
    /// Fit on the whole dataset first, as `anomdet run` does.
    #[arg(long)]
    pub fit_all: bool,
    /// Seed for randomised detectors.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Do not store the job and its runs.
    #[arg(long)]
    pub no_store: bool,
    /// Print one JSON object per line (window opened/closed, notices, the final outcome).
    #[arg(long)]
    pub json: bool,
}

/// `anomdet stream`.
pub(super) fn stream(engine: &Engine, args: &StreamArgs, out: &mut Output) -> anyhow::Result<()> {
    let meta = engine.find_dataset(&args.dataset)?;
    let detectors = args
        .detector
        .iter()
        .map(|text| detector_spec(text, args.seed))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let threshold = ThresholdRule::parse(&args.threshold).map_err(anyhow::Error::msg)?;
    let speed: Speed = args.speed.parse().map_err(anyhow::Error::msg)?;
    let plan = match &args.plan {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the plan {}", path.display()))?;
            Some(InjectionPlan::from_json(&text)?)
        }
        None => None,
    };
    let warmup = match (&args.train, args.fit_all) {
        (Some(name), _) => Warmup::Dataset {
            id: engine.find_dataset(name)?.id,
        },
        (None, true) => Warmup::WholeDataset,
        (None, false) => Warmup::FirstRows { rows: args.warmup },
    };
    let mut spec = StreamSpec::new(meta.id, detectors);
    spec.threshold = threshold;
    spec.speed = speed;
    spec.plan = plan;
    spec.warmup = warmup;
    spec.persist = !args.no_store;
    spec.models = args.model.iter().map(|&id| ModelId(id)).collect();
    let mut ids: Vec<String> = spec.detectors.iter().map(|d| d.id.clone()).collect();
    for &id in &spec.models {
        ids.push(format!("{} (model {id})", engine.model(id)?.detector));
    }

    let interrupted = Arc::new(AtomicBool::new(false));
    // Replaces the default "die at once" so Ctrl-C stops the stream and keeps its results.
    signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&interrupted))
        .context("installing the Ctrl-C handler")?;
    let handle = engine.start_stream(spec)?;
    let bar = progress_bar(meta.rows as u64);
    let mut cancelled = false;
    let mut outcome: Option<StreamOutcome> = None;
    loop {
        if interrupted.load(Ordering::Relaxed) && !cancelled {
            cancelled = true;
            handle.cancel();
        }
        match handle.events().recv_timeout(Duration::from_millis(100)) {
            Ok(batch) => {
                bar.set_position(batch.rows.end as u64);
                for event in batch.events {
                    if let StreamEvent::Finished(done) = event {
                        outcome = Some(done);
                    } else if let Some(line) = event_line(&event, &ids, args.json) {
                        bar.suspend(|| out.line(&line))?;
                    }
                }
            }
            Err(RecvTimeoutError::Timeout) => bar.tick(),
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    bar.finish_and_clear();
    let joined = handle.join()?;
    let outcome = outcome.unwrap_or(joined);
    if args.json {
        return out.line(&serde_json::to_string(
            &json!({"event": "finished", "outcome": outcome}),
        )?);
    }
    out.line(&format!(
        "job {}: {} after {} of {} rows ({:.0} rows/s)",
        outcome.job, outcome.status, outcome.rows_done, outcome.rows_total, outcome.rows_per_sec
    ))?;
    for d in &outcome.detectors {
        let delay = d
            .delays
            .mean_rows
            .map_or_else(|| "-".to_owned(), |m| format!("{m:.1} rows"));
        let run = d
            .run
            .map_or_else(|| "not stored".to_owned(), |r| format!("run {r}"));
        out.line(&format!(
            "  {}: {} flagged in {} windows; {}/{} true windows detected, mean delay {delay} ({run})",
            d.detector, d.flagged, d.windows, d.delays.detected, d.delays.windows
        ))?;
    }
    if let Some(error) = &outcome.error {
        anyhow::bail!("job {} failed: {error}", outcome.job);
    }
    Ok(())
}

/// `id` or `id:name=value,name=value`.
fn detector_spec(text: &str, seed: u64) -> anyhow::Result<DetectorSpec> {
    let (id, pairs) = text.split_once(':').unwrap_or((text, ""));
    let entry = detect::find(id)?;
    let pairs: Vec<String> = pairs
        .split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| p.trim().to_owned())
        .collect();
    let params = Params::parse_pairs(entry.info.params, &pairs)
        .map_err(|e| anyhow::anyhow!("detector {:?}: {e}", entry.info.id))?;
    Ok(DetectorSpec {
        id: entry.info.id.to_owned(),
        params: params.as_map().clone(),
        seed,
    })
}

fn progress_bar(total: u64) -> ProgressBar {
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} streaming [{bar:30}] {pos}/{len} rows ({per_sec}, {elapsed})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar
}

/// The printed form of an event (`None` for events not worth a line).
fn event_line(event: &StreamEvent, ids: &[String], as_json: bool) -> Option<String> {
    let name = |d: usize| ids.get(d).map_or("?", String::as_str);
    let value = match event {
        StreamEvent::WindowOpened { detector, row, ts } => {
            if !as_json {
                return Some(format!(
                    "open   {:<20} row {row} at {}",
                    name(*detector),
                    ts.to_rfc3339()
                ));
            }
            json!({"event": "open", "detector": name(*detector), "row": row, "ts": ts.to_rfc3339()})
        }
        StreamEvent::WindowClosed { detector, window } => {
            if !as_json {
                return Some(format!(
                    "close  {:<20} rows {}..={} ({} rows, {} .. {})",
                    name(*detector),
                    window.first_row,
                    window.last_row,
                    window.len(),
                    window.start.to_rfc3339(),
                    window
                        .end
                        .map_or_else(String::new, crate::model::Timestamp::to_rfc3339)
                ));
            }
            json!({
                "event": "close", "detector": name(*detector), "first_row": window.first_row,
                "last_row": window.last_row, "start": window.start.to_rfc3339(),
                "end": window.end.map(crate::model::Timestamp::to_rfc3339),
            })
        }
        StreamEvent::Started {
            job, rows_total, ..
        } => {
            if !as_json {
                return None;
            }
            json!({"event": "started", "job": job, "rows_total": rows_total})
        }
        StreamEvent::Notice(text) => {
            if !as_json {
                return Some(format!("note: {text}"));
            }
            json!({"event": "notice", "text": text})
        }
        _ => return None,
    };
    Some(value.to_string())
}
