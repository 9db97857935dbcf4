//! `anomdet jobs`: the stored jobs (batch and stream) with their state, progress and
//! throughput. Jobs of processes that died show as interrupted (marked when the database is
//! opened).

use clap::Args;

use super::output::Output;
use crate::engine::Engine;

/// `anomdet jobs [--json]`.
#[derive(Debug, Args)]
pub struct JobsArgs {
    /// Print JSON instead of a table (includes each job's spec and summary).
    #[arg(long)]
    pub json: bool,
}

/// `anomdet jobs`.
pub(super) fn jobs(engine: &Engine, args: &JobsArgs, out: &mut Output) -> anyhow::Result<()> {
    let jobs = engine.jobs()?;
    if args.json {
        return out.json(&jobs);
    }
    if jobs.is_empty() {
        return out.line("no jobs (start one with `anomdet stream DATASET --detector ID`)");
    }
    let names: std::collections::BTreeMap<_, _> = engine
        .list_datasets()?
        .into_iter()
        .map(|d| (d.id, d.name))
        .collect();
    let rows = jobs
        .iter()
        .map(|j| {
            let rate = if j.rows_per_sec.is_finite() {
                format!("{:.0}", j.rows_per_sec)
            } else {
                "-".to_owned()
            };
            vec![
                j.id.to_string(),
                j.kind.clone(),
                names
                    .get(&j.dataset)
                    .cloned()
                    .unwrap_or_else(|| j.dataset.to_string()),
                j.status.to_string(),
                format!("{}/{}", j.rows_done, j.rows_total),
                rate,
                j.error.clone().unwrap_or_default(),
            ]
        })
        .collect();
    out.table(
        &[
            "job", "kind", "dataset", "status", "rows", "rows/s", "error",
        ],
        rows,
    )
}
