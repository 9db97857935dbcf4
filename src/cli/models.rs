//! Saved-model subcommands: `fit` (train once, keep the state) and `models` (list, delete).
//! Scoring with a model is `anomdet run NAME --model ID`.

use clap::Args;

use super::output::{Output, wait_with_progress};
use super::runs::detector_spec;
use crate::engine::{Engine, FitRequest, Notifier, RunControl, Task, persistable_ids};
use crate::storage::ModelId;

/// `anomdet fit NAME --detector ID [--param k=v ...] [--train-rows A..B] [--columns a,b]`.
#[derive(Debug, Args)]
pub struct FitArgs {
    /// Training dataset name (or `#id`).
    pub dataset: String,
    /// Detector id; only detectors with a saved state (learned and neural ones).
    #[arg(long, short)]
    pub detector: String,
    /// Detector parameter, `name=value`; repeat for several.
    #[arg(long = "param", short, value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Seed for randomised detectors.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Training rows `START..END` (end exclusive; either side may be empty); default all.
    #[arg(long, value_name = "START..END")]
    pub train_rows: Option<String>,
    /// Columns to fit on, comma-separated, in order; default every column.
    #[arg(long, value_delimiter = ',')]
    pub columns: Vec<String>,
    /// A label for the model.
    #[arg(long, default_value = "")]
    pub name: String,
    /// Print the saved model as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `anomdet models [--json] [--delete ID]`.
#[derive(Debug, Args)]
pub struct ModelsArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Delete this model instead of listing.
    #[arg(long, value_name = "ID")]
    pub delete: Option<i64>,
}

pub(super) fn fit(engine: &Engine, args: &FitArgs, out: &mut Output) -> anyhow::Result<()> {
    let meta = engine.find_dataset(&args.dataset)?;
    let spec = detector_spec(Some(&args.detector), &args.params, args.seed)?;
    let train_rows = match &args.train_rows {
        Some(text) => Some(parse_rows(text, meta.rows)?),
        None => None,
    };
    let request = FitRequest {
        dataset: meta.id,
        detector: spec,
        train_rows,
        columns: args.columns.clone(),
        name: args.name.clone(),
    };
    let worker = engine.clone();
    let task = Task::spawn("fit", Notifier::noop(), move |cancel, progress| {
        let control = RunControl {
            cancel: cancel.clone(),
            progress: progress.clone(),
        };
        worker.fit_model(&request, &control)
    })?;
    let model = wait_with_progress(task, "fitting")?;
    if args.json {
        return out.json(&model);
    }
    out.line(&format!(
        "model {}: {} fitted on rows {}..{} of {:?} ({} bytes); score with `anomdet run DATASET --model {}`",
        model.id,
        model.detector,
        model.train_start,
        model.train_end,
        model.dataset_name,
        model.state_bytes,
        model.id
    ))
}

pub(super) fn models(engine: &Engine, args: &ModelsArgs, out: &mut Output) -> anyhow::Result<()> {
    if let Some(id) = args.delete {
        engine.delete_model(ModelId(id))?;
        return out.line(&format!("deleted model {id}"));
    }
    let models = engine.list_models()?;
    if args.json {
        return out.json(&models);
    }
    if models.is_empty() {
        return out.line(&format!(
            "no saved models (fit one with `anomdet fit DATASET --detector ID`; detectors with a \
             saved state: {})",
            persistable_ids().join(", ")
        ));
    }
    let rows = models
        .iter()
        .map(|m| {
            vec![
                m.id.to_string(),
                m.name.clone(),
                m.detector.clone(),
                m.params.summary(),
                format!(
                    "{}{} rows {}..{}",
                    m.dataset_name,
                    if m.dataset.is_none() {
                        " (deleted)"
                    } else {
                        ""
                    },
                    m.train_start,
                    m.train_end
                ),
                m.columns.join(","),
                m.state_bytes.to_string(),
            ]
        })
        .collect();
    out.table(
        &[
            "model",
            "name",
            "detector",
            "params",
            "trained on",
            "columns",
            "bytes",
        ],
        rows,
    )
}

/// `START..END` with either side optional, checked against `rows`.
fn parse_rows(text: &str, rows: usize) -> anyhow::Result<std::ops::Range<usize>> {
    let Some((start, end)) = text.split_once("..") else {
        anyhow::bail!("--train-rows {text:?}: expected START..END, e.g. 0..5000");
    };
    let bound = |side: &str, default: usize| -> anyhow::Result<usize> {
        if side.trim().is_empty() {
            return Ok(default);
        }
        side.trim()
            .parse()
            .map_err(|_| anyhow::anyhow!("--train-rows {text:?}: {side:?} is not a row number"))
    };
    let range = bound(start, 0)?..bound(end, rows)?;
    if range.start >= range.end || range.end > rows {
        anyhow::bail!(
            "--train-rows {text:?}: must be a non-empty range within the dataset's {rows} rows"
        );
    }
    Ok(range)
}

#[cfg(test)]
mod tests {
    use super::parse_rows;

    #[test]
    fn row_ranges_parse_with_open_ends_and_are_checked() {
        assert_eq!(parse_rows("10..20", 100).unwrap(), 10..20);
        assert_eq!(parse_rows("..20", 100).unwrap(), 0..20);
        assert_eq!(parse_rows("50..", 100).unwrap(), 50..100);
        for bad in ["20..10", "0..101", "a..5", "5", "7..7"] {
            assert!(parse_rows(bad, 100).is_err(), "{bad} should be refused");
        }
    }
}
