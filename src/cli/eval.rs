//! `anomdet eval RUN`: every metric of a stored run against its dataset's labels, next to the
//! random-score and constant-score baselines.

use clap::Args;

use super::output::Output;
use crate::engine::Engine;
use crate::eval::{EvalOptions, Metrics, VusOptions};
use crate::storage::RunId;

/// `anomdet eval RUN [--json]`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Run id (see `anomdet runs`).
    pub run: i64,
    /// VUS sliding window: the largest buffer length around each true window (TSB-AD: 100).
    #[arg(long, default_value_t = 100)]
    pub sliding_window: usize,
    /// Seed of the random-score baseline.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Skip the random and constant baselines.
    #[arg(long)]
    pub no_baselines: bool,
    /// Print the full report as JSON.
    #[arg(long)]
    pub json: bool,
}

pub(super) fn eval(engine: &Engine, args: &EvalArgs, out: &mut Output) -> anyhow::Result<()> {
    let opts = EvalOptions {
        vus: VusOptions {
            sliding_window: args.sliding_window,
            ..VusOptions::default()
        },
        baseline_seed: args.seed,
        baselines: !args.no_baselines,
        ..EvalOptions::default()
    };
    let report = engine.evaluate_run(RunId(args.run), &opts)?;
    if args.json {
        return out.json(&report);
    }
    out.line(&format!(
        "run {}: {} rows, {} anomalous in {} windows, {} flagged",
        args.run, report.rows, report.anomalous_rows, report.true_windows, report.flagged_rows
    ))?;
    let mut columns: Vec<&Metrics> = vec![&report.metrics];
    let mut header = vec!["metric", "run"];
    if let Some(b) = &report.baselines {
        columns.extend([&b.random, &b.constant]);
        header.extend(["random", "constant"]);
    }
    let rows = ROWS
        .iter()
        .map(|(name, get)| {
            let mut row = vec![(*name).to_owned()];
            row.extend(
                columns
                    .iter()
                    .map(|m| get(m).map_or_else(|| "-".to_owned(), fmt)),
            );
            row
        })
        .collect();
    out.table(&header, rows)?;
    out.line("PA-F1 is optimistic: it credits a whole window for one hit (compare with the random column).")
}

fn fmt(value: f64) -> String {
    format!("{value:.4}")
}

type Getter = fn(&Metrics) -> Option<f64>;

/// The table's rows: label and how to read the value.
const ROWS: &[(&str, Getter)] = &[
    ("VUS-PR", |m| m.vus.map(|v| v.vus_pr)),
    ("VUS-ROC", |m| m.vus.map(|v| v.vus_roc)),
    ("Range-AUC-PR", |m| m.vus.map(|v| v.range_auc_pr)),
    ("Range-AUC-ROC", |m| m.vus.map(|v| v.range_auc_roc)),
    ("PR-AUC", |m| Some(m.pr_auc)),
    ("ROC-AUC", |m| m.roc_auc),
    ("best F1", |m| Some(m.best_f1.f1)),
    ("F1 (flags)", |m| Some(m.point.f1)),
    ("precision (flags)", |m| Some(m.point.precision)),
    ("recall (flags)", |m| Some(m.point.recall)),
    ("event F1 (flags)", |m| Some(m.event.f1)),
    ("range F1 (flags)", |m| Some(m.range.f1)),
    ("PA-F1 best (optimistic)", |m| {
        Some(m.point_adjusted.best.f1)
    }),
    ("PA-F1 (flags, optimistic)", |m| {
        Some(m.point_adjusted.at_predictions.f1)
    }),
    ("NAB standard", |m| m.nab.map(|n| n.standard.normalized)),
    ("NAB low FP", |m| m.nab.map(|n| n.reward_low_fp.normalized)),
    ("NAB low FN", |m| m.nab.map(|n| n.reward_low_fn.normalized)),
    ("precision@k", |m| Some(m.precision_at_k)),
    ("mean delay (rows)", |m| m.delay.mean_rows),
    ("TSB-AD PA-F1", |m| Some(m.tsb_ad.pa_f1)),
    ("TSB-AD Event-F1", |m| Some(m.tsb_ad.event_f1)),
    ("TSB-AD R-F1", |m| Some(m.tsb_ad.r_f1)),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{DetectorSpec, ThresholdRule};
    use crate::engine::RunControl;

    fn args(run: i64, json: bool) -> EvalArgs {
        EvalArgs {
            run,
            sliding_window: 20,
            seed: 0,
            no_baselines: false,
            json,
        }
    }

    #[test]
    fn table_and_json_carry_the_baselines() {
        let engine = Engine::in_memory();
        let series = crate::testing::seasonal_with_anomalies(800, 50, 300, 500..530, 3);
        let meta = engine.store_series("labelled", &series).unwrap();
        let run = engine
            .run_batch(
                meta.id,
                &DetectorSpec::new("rolling_zscore"),
                ThresholdRule::default(),
                &RunControl::default(),
            )
            .unwrap();
        let mut out = Output::buffer();
        eval(&engine, &args(run.id.0, false), &mut out).unwrap();
        let text = out.buffered_text();
        for needle in ["VUS-PR", "random", "constant", "optimistic", "NAB standard"] {
            assert!(text.contains(needle), "{needle} missing from:\n{text}");
        }
        let mut out = Output::buffer();
        eval(&engine, &args(run.id.0, true), &mut out).unwrap();
        let json: serde_json::Value = serde_json::from_str(&out.buffered_text()).unwrap();
        assert!(
            json["baselines"]["random"]["vus"]["vus_pr"].is_f64(),
            "{json}"
        );
        assert!(eval(&engine, &args(9999, false), &mut Output::buffer()).is_err());
    }
}
