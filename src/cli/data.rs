//! Dataset subcommands: import, datasets, show, export, delete.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use serde::Serialize;

use super::output::{Output, wait_with_progress};
use crate::engine::{Engine, Notifier, Task};
use crate::model::{Timestamp, format_duration_ns};
use crate::storage::DatasetMeta;

/// `anomdet import FILE [--name N]`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The CSV file.
    pub file: PathBuf,
    /// Dataset name (default: the file name without extension, made unique).
    #[arg(long)]
    pub name: Option<String>,
    /// Print the stored dataset as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `anomdet datasets`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `anomdet show NAME`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Dataset name (or `#id`).
    pub name: String,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `anomdet export NAME --out FILE`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Dataset name (or `#id`).
    pub name: String,
    /// Output CSV path.
    #[arg(long, short)]
    pub out: PathBuf,
}

/// `anomdet delete NAME`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Dataset name (or `#id`).
    pub name: String,
}

pub(super) fn import(engine: &Engine, args: &ImportArgs, out: &mut Output) -> anyhow::Result<()> {
    let worker = engine.clone();
    let (file, name) = (args.file.clone(), args.name.clone());
    let task = Task::spawn("import", Notifier::noop(), move |cancel, progress| {
        worker.import_file(&file, name.as_deref(), progress, cancel)
    })?;
    let outcome = wait_with_progress(task, "importing")?;
    if args.json {
        return out.json(&outcome.meta);
    }
    let meta = &outcome.meta;
    out.line(&format!(
        "imported {:?}: {} rows, {} column(s){}",
        meta.name,
        meta.rows,
        meta.columns.len(),
        if meta.has_labels {
            format!(", {} labelled anomalous", meta.label_count)
        } else {
            String::new()
        }
    ))?;
    for warning in &outcome.warnings {
        out.line(&format!("warning: {warning}"))?;
    }
    Ok(())
}

pub(super) fn list(engine: &Engine, args: &ListArgs, out: &mut Output) -> anyhow::Result<()> {
    let datasets = engine.list_datasets()?;
    if args.json {
        return out.json(&datasets);
    }
    if datasets.is_empty() {
        return out.line("no datasets (import one with `anomdet import FILE`)");
    }
    let rows = datasets
        .iter()
        .map(|d| {
            vec![
                d.id.0.to_string(),
                d.name.clone(),
                d.rows.to_string(),
                d.columns.join(", "),
                span_text(d),
                if d.has_labels {
                    d.label_count.to_string()
                } else {
                    "-".into()
                },
                d.warnings.len().to_string(),
            ]
        })
        .collect();
    out.table(
        &[
            "id", "name", "rows", "columns", "span", "labelled", "warnings",
        ],
        rows,
    )
}

/// The `show` summary, also used as its JSON form.
#[derive(Debug, Serialize)]
struct Summary<'a> {
    #[serde(flatten)]
    meta: &'a DatasetMeta,
    start_text: Option<String>,
    end_text: Option<String>,
    step_text: Option<String>,
    runs: usize,
}

pub(super) fn show(engine: &Engine, args: &ShowArgs, out: &mut Output) -> anyhow::Result<()> {
    let meta = engine.find_dataset(&args.name)?;
    let runs = engine.list_runs(Some(meta.id))?.len();
    let summary = Summary {
        meta: &meta,
        start_text: meta.start.map(Timestamp::to_rfc3339),
        end_text: meta.end.map(Timestamp::to_rfc3339),
        step_text: meta.step_ns.map(format_duration_ns),
        runs,
    };
    if args.json {
        return out.json(&summary);
    }
    let lines = [
        format!("dataset   {} (id {})", meta.name, meta.id.0),
        format!("source    {}", meta.source),
        format!("rows      {}", meta.rows),
        format!("columns   {}", meta.columns.join(", ")),
        format!("span      {}", span_text(&meta)),
        format!("step      {}", summary.step_text.as_deref().unwrap_or("-")),
        format!(
            "labels    {}",
            if meta.has_labels {
                format!("{} rows labelled anomalous", meta.label_count)
            } else {
                "none".to_owned()
            }
        ),
        format!("runs      {runs}"),
        format!("warnings  {}", meta.warnings.len()),
    ];
    for line in lines {
        out.line(&line)?;
    }
    for warning in &meta.warnings {
        out.line(&format!("  - {warning}"))?;
    }
    Ok(())
}

pub(super) fn export(engine: &Engine, args: &ExportArgs, out: &mut Output) -> anyhow::Result<()> {
    let meta = engine.find_dataset(&args.name)?;
    engine
        .export_dataset(meta.id, &args.out)
        .with_context(|| format!("exporting {:?}", meta.name))?;
    out.line(&format!(
        "wrote {} rows to {}",
        meta.rows,
        args.out.display()
    ))
}

pub(super) fn delete(engine: &Engine, args: &DeleteArgs, out: &mut Output) -> anyhow::Result<()> {
    let meta = engine.find_dataset(&args.name)?;
    engine.delete_dataset(meta.id)?;
    out.line(&format!("deleted {:?} and its runs", meta.name))
}

fn span_text(meta: &DatasetMeta) -> String {
    match (meta.start, meta.end) {
        (Some(start), Some(end)) => format!(
            "{} → {} ({})",
            short_time(start),
            short_time(end),
            format_duration_ns(end.0 - start.0)
        ),
        _ => "-".to_owned(),
    }
}

fn short_time(t: Timestamp) -> String {
    let text = t.to_rfc3339();
    text.trim_end_matches('Z').replace('T', " ")
}
