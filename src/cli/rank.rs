//! `anomdet rank DATASET...`: suggests detectors for each series without using its labels
//! (inject synthetic anomalies of several kinds, rank detectors by how well they catch them).
//! When a series has labels, also ranks by the truth (VUS-PR on its labels) and reports how
//! well the label-free ranking predicted it (Spearman, Kendall, top-1 hit, regret), next to
//! the naive choice "the detector that is best on average over the other datasets".

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use serde::Serialize;

use super::bench::{Format, parse_detectors, wait_cancellable, write_file};
use super::output::Output;
use crate::control::CancelToken;
use crate::engine::{
    Engine, Notifier, RunControl, SelectionConfig, Task, rank_labelled, rank_unlabelled,
};
use crate::eval::{AgreementSummary, DetectorRanking, RankAgreement, VusOptions};
use crate::storage::DatasetMeta;

/// `anomdet rank DATASET... [--detectors ...]`.
#[derive(Debug, Args)]
pub struct RankArgs {
    /// Datasets: stored names (or `#id`), CSV files, or folders of CSV files.
    #[arg(required = true, num_args = 1.., value_name = "DIR|FILE|NAME")]
    pub datasets: Vec<String>,
    /// Candidate detector ids, comma-separated; `all` = every detector but the baselines.
    #[arg(long, short, value_delimiter = ',', default_value = "all")]
    pub detectors: Vec<String>,
    /// Injected kinds with their magnitude, `KIND:MAGNITUDE`, comma-separated.
    #[arg(
        long,
        short,
        value_delimiter = ',',
        default_value = "spike:4,level_shift:3,variance:3,trend:3"
    )]
    pub kinds: Vec<String>,
    /// Injected copies per series.
    #[arg(long, short, default_value_t = 3)]
    pub repeats: usize,
    /// Windows per kind per copy.
    #[arg(long, default_value_t = 2)]
    pub windows: usize,
    /// Rows per injected window (spikes are single rows).
    #[arg(long, default_value_t = 20)]
    pub length: usize,
    /// Seed of the first copy (and of the detectors).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// VUS sliding window.
    #[arg(long, default_value_t = 100)]
    pub sliding_window: usize,
    /// Worker threads (0 = one per core).
    #[arg(long, short, default_value_t = 0)]
    pub jobs: usize,
    /// What to print on stdout (table, json; csv and markdown print the summary table).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Also write rank.json into this folder.
    #[arg(long, short, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// One dataset's rankings.
#[derive(Debug, Serialize)]
struct DatasetRanking {
    dataset: String,
    /// Why this dataset could not be ranked (e.g. too short for the injections).
    error: Option<String>,
    /// Label-free suggestion, best first.
    suggested: DetectorRanking,
    /// By the dataset's own labels (when it has anomalous rows).
    truth: Option<DetectorRanking>,
    /// How well the suggestion predicts the truth.
    agreement: Option<RankAgreement>,
    /// "Best on average over the other datasets" and its regret here.
    naive: Option<(String, f64)>,
}

/// The whole report.
#[derive(Debug, Serialize)]
struct RankReport {
    datasets: Vec<DatasetRanking>,
    summary: AgreementSummary,
    /// Mean regret of the naive leave-one-out choice, for comparison.
    naive_mean_regret: Option<f64>,
    wall_secs: f64,
}

fn parse_kinds(kinds: &[String]) -> anyhow::Result<Vec<(String, f64)>> {
    kinds
        .iter()
        .map(|k| {
            let (kind, magnitude) = k
                .trim()
                .split_once(':')
                .ok_or_else(|| anyhow::anyhow!("--kinds {k:?}: expected KIND:MAGNITUDE"))?;
            let magnitude: f64 = magnitude
                .parse()
                .map_err(|_| anyhow::anyhow!("--kinds {k:?}: {magnitude:?} is not a number"))?;
            Ok((kind.to_owned(), magnitude))
        })
        .collect()
}

pub(super) fn rank(engine: &Engine, args: &RankArgs, out: &mut Output) -> anyhow::Result<()> {
    let config = SelectionConfig {
        detectors: parse_detectors(&args.detectors, args.seed)?,
        kinds: parse_kinds(&args.kinds)?,
        repeats: args.repeats,
        seed: args.seed,
        windows_per_kind: args.windows,
        window_len: args.length,
        jobs: args.jobs,
        vus: VusOptions {
            sliding_window: args.sliding_window,
            ..VusOptions::default()
        },
    };
    let metas = engine.bench_datasets(&args.datasets, &CancelToken::new())?;
    anyhow::ensure!(
        !metas.is_empty(),
        "no datasets found in {:?}",
        args.datasets
    );
    let worker = engine.clone();
    let task = Task::spawn("rank", Notifier::noop(), move |cancel, progress| {
        let control = RunControl {
            cancel: cancel.clone(),
            progress: progress.clone(),
        };
        rank_all(&worker, &metas, &config, &control)
    })?;
    let report = wait_cancellable(task, "ranking")?;
    if let Some(dir) = &args.out {
        write_file(dir, "rank.json", &serde_json::to_string_pretty(&report)?)?;
    }
    if args.format == Format::Json {
        return out.json(&report);
    }
    print_report(&report, out)
}

fn rank_all(
    engine: &Engine,
    metas: &[DatasetMeta],
    config: &SelectionConfig,
    control: &RunControl,
) -> crate::Result<RankReport> {
    let started = Instant::now();
    let mut datasets = Vec::new();
    for meta in metas {
        if control.cancel.is_cancelled() {
            break;
        }
        let series = engine.load_series(meta.id)?;
        let suggested = match rank_unlabelled(&series, config, control) {
            Ok(s) => s,
            Err(crate::Error::Cancelled) => break,
            Err(e) => {
                datasets.push(DatasetRanking {
                    dataset: meta.name.clone(),
                    error: Some(e.to_string()),
                    suggested: DetectorRanking::default(),
                    truth: None,
                    agreement: None,
                    naive: None,
                });
                continue;
            }
        };
        let labelled = series.labels().is_some_and(|l| l.contains(&true));
        let truth = if labelled {
            Some(rank_labelled(
                &series,
                &config.detectors,
                &config.vus,
                config.jobs,
                control,
            )?)
        } else {
            None
        };
        let agreement = truth
            .as_ref()
            .and_then(|t| RankAgreement::compare(&suggested, t));
        datasets.push(DatasetRanking {
            dataset: meta.name.clone(),
            error: None,
            suggested,
            truth,
            agreement,
            naive: None,
        });
    }
    // The naive choice on dataset i: the best mean true score over the other datasets.
    let truths: Vec<Option<&DetectorRanking>> = datasets.iter().map(|d| d.truth.as_ref()).collect();
    let naive: Vec<Option<(String, f64)>> = (0..datasets.len())
        .map(|i| {
            let own = truths[i]?;
            let best_here = own.top()?.score;
            let pick = config
                .detectors
                .iter()
                .map(|spec| {
                    let others: Vec<f64> = truths
                        .iter()
                        .enumerate()
                        .filter(|&(j, _)| j != i)
                        .filter_map(|(_, t)| t.map(|t| t.score_of(&spec.id)))
                        .filter(|v| v.is_finite())
                        .collect();
                    let mean = if others.is_empty() {
                        f64::NEG_INFINITY
                    } else {
                        others.iter().sum::<f64>() / others.len() as f64
                    };
                    (spec.id.clone(), mean)
                })
                .max_by(|a, b| a.1.total_cmp(&b.1))?;
            let here = own.score_of(&pick.0);
            here.is_finite().then_some((pick.0, best_here - here))
        })
        .collect();
    for (d, n) in datasets.iter_mut().zip(naive) {
        d.naive = n;
    }
    let agreements: Vec<RankAgreement> = datasets
        .iter()
        .filter_map(|d| d.agreement.clone())
        .collect();
    let naive_regrets: Vec<f64> = datasets
        .iter()
        .filter(|d| d.agreement.is_some())
        .filter_map(|d| d.naive.as_ref().map(|n| n.1))
        .collect();
    Ok(RankReport {
        summary: AgreementSummary::from_agreements(&agreements),
        naive_mean_regret: (!naive_regrets.is_empty())
            .then(|| naive_regrets.iter().sum::<f64>() / naive_regrets.len() as f64),
        datasets,
        wall_secs: started.elapsed().as_secs_f64(),
    })
}

fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.3}"))
}

fn print_report(report: &RankReport, out: &mut Output) -> anyhow::Result<()> {
    if let [only] = report.datasets.as_slice() {
        out.line(&format!(
            "{}: suggested detector {} (label-free score = mean VUS-PR on injected anomalies)",
            only.dataset,
            only.suggested.top().map_or("-", |d| d.detector.as_str())
        ))?;
        let rows = only
            .suggested
            .detectors
            .iter()
            .map(|d| {
                let truth = only.truth.as_ref().map(|t| t.score_of(&d.detector));
                vec![
                    format!("{}", d.rank),
                    d.detector.clone(),
                    opt(d.score.is_finite().then_some(d.score)),
                    opt(truth.filter(|v| v.is_finite())),
                ]
            })
            .collect();
        out.table(
            &["rank", "detector", "label-free score", "true VUS-PR"],
            rows,
        )?;
    } else {
        let rows = report
            .datasets
            .iter()
            .map(|d| {
                let a = d.agreement.as_ref();
                vec![
                    d.dataset.clone(),
                    match &d.error {
                        Some(e) => format!("error: {e}"),
                        None => d
                            .suggested
                            .top()
                            .map_or_else(|| "-".to_owned(), |t| t.detector.clone()),
                    },
                    a.map_or_else(|| "-".to_owned(), |a| a.best.clone()),
                    opt(a.and_then(|a| a.spearman)),
                    opt(a.and_then(|a| a.kendall)),
                    opt(a.map(|a| a.regret)),
                    opt(d.naive.as_ref().map(|n| n.1)),
                ]
            })
            .collect();
        out.table(
            &[
                "dataset",
                "suggested",
                "truly best",
                "Spearman",
                "Kendall",
                "regret",
                "naive regret",
            ],
            rows,
        )?;
    }
    let s = &report.summary;
    if s.datasets > 0 {
        out.line(&format!(
            "over {} labelled datasets: mean Spearman {}, mean Kendall {}, top-1 hits {}/{}, \
             mean regret {} (naive leave-one-out choice: {}); {:.1} s",
            s.datasets,
            opt(s.mean_spearman),
            opt(s.mean_kendall),
            s.top1_hits,
            s.datasets,
            opt(s.mean_regret),
            opt(report.naive_mean_regret),
            report.wall_secs
        ))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_with_magnitudes() {
        let k = parse_kinds(&["spike:4".into(), " level_shift:2.5".into()]).unwrap();
        assert_eq!(
            k,
            vec![("spike".to_owned(), 4.0), ("level_shift".to_owned(), 2.5)]
        );
        assert!(parse_kinds(&["spike".into()]).is_err());
        assert!(parse_kinds(&["spike:x".into()]).is_err());
    }
}
