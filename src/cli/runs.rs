//! Detector and run subcommands: detectors, run (fitting, or with a saved model), runs,
//! export-run.

use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use super::output::{Output, wait_with_progress};
use super::output::{ParamJson, params_json, params_text};
use crate::detect::{self, DetectorSpec, ThresholdRule};
use crate::engine::{Engine, Notifier, RunControl, Task};
use crate::model::Params;
use crate::storage::{ModelId, RunId};

/// `anomdet detectors`.
#[derive(Debug, Args)]
pub struct DetectorsArgs {
    /// Print JSON (ids, families, parameter schemas).
    #[arg(long)]
    pub json: bool,
}

/// `anomdet run NAME --detector ID [--param k=v ...]` or `anomdet run NAME --model ID`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Dataset name (or `#id`).
    pub dataset: String,
    /// Detector id (see `anomdet detectors`); fitted on the dataset itself.
    #[arg(long, short, required_unless_present = "model")]
    pub detector: Option<String>,
    /// Score with a saved model instead (see `anomdet fit`, `anomdet models`): no fitting,
    /// the model's parameters and columns.
    #[arg(long, conflicts_with_all = ["detector", "params", "seed"])]
    pub model: Option<i64>,
    /// Detector parameter, `name=value`; repeat for several.
    #[arg(long = "param", short, value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Seed for randomised detectors.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Threshold rule: `mad:4` (default), `quantile:0.01`, `fixed:3`.
    #[arg(long, default_value = "mad:4")]
    pub threshold: String,
    /// Print the stored run as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `anomdet runs [NAME]`.
#[derive(Debug, Args)]
pub struct RunsArgs {
    /// Only runs of this dataset.
    pub dataset: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `anomdet export-run RUN --out FILE`.
#[derive(Debug, Args)]
pub struct ExportRunArgs {
    /// Run id (see `anomdet runs`).
    pub run: i64,
    /// Output CSV path.
    #[arg(long, short)]
    pub out: PathBuf,
}

#[derive(Debug, Serialize)]
struct DetectorJson {
    id: &'static str,
    name: &'static str,
    family: detect::Family,
    multivariate: bool,
    streaming: bool,
    description: &'static str,
    params: Vec<ParamJson>,
}

pub(super) fn detectors(args: &DetectorsArgs, out: &mut Output) -> anyhow::Result<()> {
    let list: Vec<DetectorJson> = detect::registry()
        .iter()
        .map(|entry| DetectorJson {
            id: entry.info.id,
            name: entry.info.name,
            family: entry.info.family,
            multivariate: entry.info.multivariate,
            streaming: entry.info.streaming,
            description: entry.info.description,
            params: params_json(entry.info.params),
        })
        .collect();
    if args.json {
        return out.json(&list);
    }
    let rows = list
        .iter()
        .map(|d| {
            vec![
                d.id.to_owned(),
                d.name.to_owned(),
                format!("{:?}", d.family).to_lowercase(),
                params_text(&d.params),
            ]
        })
        .collect();
    out.table(
        &["id", "name", "family", "parameters (default, allowed)"],
        rows,
    )
}

pub(super) fn run(engine: &Engine, args: &RunArgs, out: &mut Output) -> anyhow::Result<()> {
    let meta = engine.find_dataset(&args.dataset)?;
    let rule = ThresholdRule::parse(&args.threshold).map_err(anyhow::Error::msg)?;
    let worker = engine.clone();
    let task = if let Some(model) = args.model {
        let model = ModelId(model);
        worker.model(model)?;
        Task::spawn("run", Notifier::noop(), move |cancel, progress| {
            let control = RunControl {
                cancel: cancel.clone(),
                progress: progress.clone(),
            };
            worker.run_model(meta.id, model, rule, &control)
        })?
    } else {
        let spec = detector_spec(args.detector.as_deref(), &args.params, args.seed)?;
        Task::spawn("run", Notifier::noop(), move |cancel, progress| {
            let control = RunControl {
                cancel: cancel.clone(),
                progress: progress.clone(),
            };
            worker.run_batch(meta.id, &spec, rule, &control)
        })?
    };
    let summary = wait_with_progress(task, "scoring")?;
    if args.json {
        return out.json(&summary);
    }
    out.line(&format!(
        "run {}: {} on {:?}: {} of {} rows flagged ({}), fit {:.3}s, score {:.3}s",
        summary.id,
        summary.detector,
        args.dataset,
        summary.flagged,
        summary.rows,
        args.threshold,
        summary.fit_secs,
        summary.score_secs
    ))
}

/// The checked spec for `--detector ID --param k=v ... --seed N`.
pub(super) fn detector_spec(
    detector: Option<&str>,
    params: &[String],
    seed: u64,
) -> anyhow::Result<DetectorSpec> {
    let Some(detector) = detector else {
        anyhow::bail!("give --detector ID (see `anomdet detectors`)");
    };
    let entry = detect::find(detector)?;
    let params = Params::parse_pairs(entry.info.params, params)
        .map_err(|e| anyhow::anyhow!("detector {:?}: {e}", entry.info.id))?;
    Ok(DetectorSpec {
        id: entry.info.id.to_owned(),
        params: params.as_map().clone(),
        seed,
    })
}

pub(super) fn list(engine: &Engine, args: &RunsArgs, out: &mut Output) -> anyhow::Result<()> {
    let dataset = match &args.dataset {
        Some(name) => Some(engine.find_dataset(name)?.id),
        None => None,
    };
    let runs = engine.list_runs(dataset)?;
    if args.json {
        return out.json(&runs);
    }
    if runs.is_empty() {
        return out.line("no runs (start one with `anomdet run DATASET --detector ID`)");
    }
    let names: std::collections::BTreeMap<_, _> = engine
        .list_datasets()?
        .into_iter()
        .map(|d| (d.id, d.name))
        .collect();
    let rows = runs
        .iter()
        .map(|r| {
            vec![
                r.id.to_string(),
                names
                    .get(&r.dataset)
                    .cloned()
                    .unwrap_or_else(|| r.dataset.to_string()),
                r.detector.clone(),
                r.params.summary(),
                r.status.to_string(),
                format!("{}/{}", r.flagged, r.rows),
                format!("{:.3}s", r.fit_secs + r.score_secs),
            ]
        })
        .collect();
    out.table(
        &[
            "run", "dataset", "detector", "params", "status", "flagged", "time",
        ],
        rows,
    )
}

pub(super) fn export(
    engine: &Engine,
    args: &ExportRunArgs,
    out: &mut Output,
) -> anyhow::Result<()> {
    engine.export_run(RunId(args.run), &args.out)?;
    out.line(&format!("wrote run {} to {}", args.run, args.out.display()))
}
