//! [`Leaderboard`]: detectors × datasets results, ranked per dataset and by mean rank, with
//! the random-score baseline beside every number, rendered as CSV, Markdown or table rows
//! (JSON through serde). Pure: the engine's `bench` fills it with [`BenchEntry`]s.
//!
//! Ranking rules:
//! - on each dataset, detectors are ranked by the rank metric (1 = best, ties averaged);
//! - a detector that failed on a dataset takes the last rank there (ties with other failures),
//!   so a detector cannot climb the board by failing on hard datasets;
//! - the board is sorted by mean rank, then by mean rank metric, then by id.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::correlation::ranks;
use super::summary::{MetricId, ScoreCard};

/// One detector on one dataset.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BenchEntry {
    /// Detector id.
    pub detector: String,
    /// Dataset name.
    pub dataset: String,
    /// Stored run id, when stored.
    pub run: Option<i64>,
    /// Metrics (None when the detector failed).
    pub card: Option<ScoreCard>,
    /// Random-score baseline at the same alarm budget.
    pub random: Option<ScoreCard>,
    /// Seconds spent fitting.
    pub fit_secs: f64,
    /// Seconds spent scoring.
    pub score_secs: f64,
    /// Why it failed.
    pub error: Option<String>,
    /// Rank on this dataset by the board's rank metric (1 = best); set by [`Leaderboard::new`].
    pub rank: f64,
}

/// One detector's line of the board: means over the datasets it was evaluated on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LeaderboardRow {
    /// Detector id.
    pub detector: String,
    /// Mean rank over every dataset (failures rank last).
    pub mean_rank: f64,
    /// Datasets evaluated successfully.
    pub evaluated: usize,
    /// Datasets it failed on.
    pub failed: usize,
    /// Mean of each metric over the successful datasets (metric id → mean; absent when no
    /// dataset defines it).
    pub mean: BTreeMap<String, f64>,
    /// Mean of the random baseline's metrics over the same datasets.
    pub random_mean: BTreeMap<String, f64>,
    /// Total fit seconds.
    pub fit_secs: f64,
    /// Total score seconds.
    pub score_secs: f64,
}

/// The whole board.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Leaderboard {
    /// The metric that ranks.
    pub rank_metric: MetricId,
    /// Datasets in input order.
    pub datasets: Vec<String>,
    /// Datasets left out, with why (no labels, no anomalous row, failed to load).
    pub skipped: Vec<(String, String)>,
    /// Rows, best first.
    pub rows: Vec<LeaderboardRow>,
    /// Every (detector, dataset) result, by dataset then detector.
    pub entries: Vec<BenchEntry>,
    /// True when the bench was cancelled before every run finished.
    pub cancelled: bool,
    /// Wall-clock seconds of the whole bench.
    pub wall_secs: f64,
}

/// The metrics shown in the summary table, in order.
pub const BOARD_METRICS: &[MetricId] = &[
    MetricId::VusPr,
    MetricId::VusRoc,
    MetricId::BestF1,
    MetricId::EventF1,
    MetricId::RangeF1,
    MetricId::PaF1,
    MetricId::DelayRows,
];

impl Leaderboard {
    /// Ranks `entries` by `rank_metric` per dataset and builds the sorted rows.
    pub fn new(mut entries: Vec<BenchEntry>, rank_metric: MetricId, datasets: Vec<String>) -> Self {
        let worst = if rank_metric.higher_is_better() {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
        for dataset in &datasets {
            let idx: Vec<usize> = (0..entries.len())
                .filter(|&i| &entries[i].dataset == dataset)
                .collect();
            let values: Vec<f64> = idx
                .iter()
                .map(|&i| {
                    entries[i]
                        .card
                        .and_then(|c| c.get(rank_metric))
                        .unwrap_or(worst)
                })
                .collect();
            for (&i, r) in idx
                .iter()
                .zip(ranks(&values, rank_metric.higher_is_better()))
            {
                entries[i].rank = r;
            }
        }
        let mut by_detector: BTreeMap<&str, Vec<&BenchEntry>> = BTreeMap::new();
        for e in &entries {
            by_detector.entry(e.detector.as_str()).or_default().push(e);
        }
        let mut rows: Vec<LeaderboardRow> = by_detector
            .into_iter()
            .map(|(detector, list)| row(detector, &list))
            .collect();
        let key = |r: &LeaderboardRow| {
            let v = r.mean.get(rank_metric.id()).copied().unwrap_or(f64::NAN);
            if rank_metric.higher_is_better() {
                -v
            } else {
                v
            }
        };
        rows.sort_by(|a, b| {
            a.mean_rank
                .total_cmp(&b.mean_rank)
                .then(key(a).total_cmp(&key(b)))
                .then(a.detector.cmp(&b.detector))
        });
        Self {
            rank_metric,
            datasets,
            skipped: Vec::new(),
            rows,
            entries,
            cancelled: false,
            wall_secs: 0.0,
        }
    }

    /// The summary table: header and one row per detector (strings, for people).
    pub fn table(&self) -> (Vec<String>, Vec<Vec<String>>) {
        let mut header = vec![
            "#".to_owned(),
            "detector".to_owned(),
            "mean rank".to_owned(),
        ];
        for m in BOARD_METRICS {
            header.push(m.label().to_owned());
        }
        header.extend(["datasets".to_owned(), "fit+score s".to_owned()]);
        let rows = self
            .rows
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let mut cells = vec![
                    (i + 1).to_string(),
                    r.detector.clone(),
                    format!("{:.2}", r.mean_rank),
                ];
                for m in BOARD_METRICS {
                    cells.push(with_random(r, *m));
                }
                cells.push(if r.failed > 0 {
                    format!("{} ({} failed)", r.evaluated, r.failed)
                } else {
                    r.evaluated.to_string()
                });
                cells.push(format!("{:.2}", r.fit_secs + r.score_secs));
                cells
            })
            .collect();
        (header, rows)
    }

    /// Every (detector, dataset) result as CSV, one line each, run and random-baseline columns
    /// side by side (`vus_pr`, `random_vus_pr`, ...).
    pub fn to_csv(&self) -> String {
        let mut out = String::from("dataset,detector,run,rank,status");
        for m in MetricId::ALL {
            write!(out, ",{0},random_{0}", m.id()).ok();
        }
        out.push_str(",fit_secs,score_secs,error\n");
        for e in &self.entries {
            write!(
                out,
                "{},{},{},{},{}",
                csv_field(&e.dataset),
                csv_field(&e.detector),
                e.run.map(|r| r.to_string()).unwrap_or_default(),
                e.rank,
                if e.card.is_some() { "ok" } else { "failed" }
            )
            .ok();
            for m in MetricId::ALL {
                let get = |c: Option<ScoreCard>| {
                    c.and_then(|c| c.get(*m))
                        .map(|v| v.to_string())
                        .unwrap_or_default()
                };
                write!(out, ",{},{}", get(e.card), get(e.random)).ok();
            }
            writeln!(
                out,
                ",{},{},{}",
                e.fit_secs,
                e.score_secs,
                csv_field(e.error.as_deref().unwrap_or(""))
            )
            .ok();
        }
        out
    }

    /// A Markdown report: the summary table, a per-dataset table of the rank metric with the
    /// random baseline, and the skipped datasets.
    pub fn to_markdown(&self) -> String {
        let mut md = String::from("# AnomDet leaderboard\n\n");
        writeln!(
            md,
            "{} detectors × {} datasets, ranked by {} per dataset (1 = best; a failure ranks \
             last), sorted by mean rank. Each cell: mean value (random-score baseline in \
             brackets). PA-F1 is optimistic: it credits a whole window for one hit. Wall time \
             {:.1} s.{}\n",
            self.rows.len(),
            self.datasets.len(),
            self.rank_metric.label(),
            self.wall_secs,
            if self.cancelled {
                " CANCELLED: partial results."
            } else {
                ""
            }
        )
        .ok();
        let (header, rows) = self.table();
        md_table(&mut md, &header, &rows);
        writeln!(md, "\n## {} per dataset\n", self.rank_metric.label()).ok();
        let mut header = vec!["dataset".to_owned(), "random".to_owned()];
        header.extend(self.rows.iter().map(|r| r.detector.clone()));
        let rows: Vec<Vec<String>> = self
            .datasets
            .iter()
            .map(|d| {
                let random = self
                    .entries
                    .iter()
                    .find(|e| &e.dataset == d && e.random.is_some())
                    .and_then(|e| e.random)
                    .and_then(|c| c.get(self.rank_metric));
                let mut cells = vec![d.clone(), fmt_opt(random)];
                for r in &self.rows {
                    let e = self
                        .entries
                        .iter()
                        .find(|e| &e.dataset == d && e.detector == r.detector);
                    cells.push(match e {
                        Some(e) => match e.card.and_then(|c| c.get(self.rank_metric)) {
                            Some(v) => format!("{v:.3} (#{})", e.rank),
                            None => "failed".to_owned(),
                        },
                        None => "-".to_owned(),
                    });
                }
                cells
            })
            .collect();
        md_table(&mut md, &header, &rows);
        if !self.skipped.is_empty() {
            md.push_str("\n## Skipped datasets\n\n");
            for (name, why) in &self.skipped {
                writeln!(md, "- `{name}`: {why}").ok();
            }
        }
        let failures: Vec<&BenchEntry> =
            self.entries.iter().filter(|e| e.error.is_some()).collect();
        if !failures.is_empty() {
            md.push_str("\n## Failures\n\n");
            for e in failures {
                writeln!(
                    md,
                    "- {} on `{}`: {}",
                    e.detector,
                    e.dataset,
                    e.error.as_deref().unwrap_or("")
                )
                .ok();
            }
        }
        md
    }
}

fn row(detector: &str, list: &[&BenchEntry]) -> LeaderboardRow {
    let ok: Vec<&&BenchEntry> = list.iter().filter(|e| e.card.is_some()).collect();
    let mean_of = |get: &dyn Fn(&BenchEntry) -> Option<ScoreCard>| {
        let mut mean = BTreeMap::new();
        for m in MetricId::ALL {
            let vals: Vec<f64> = ok
                .iter()
                .filter_map(|e| get(e).and_then(|c| c.get(*m)))
                .collect();
            if !vals.is_empty() {
                mean.insert(
                    m.id().to_owned(),
                    vals.iter().sum::<f64>() / vals.len() as f64,
                );
            }
        }
        mean
    };
    LeaderboardRow {
        detector: detector.to_owned(),
        mean_rank: list.iter().map(|e| e.rank).sum::<f64>() / list.len().max(1) as f64,
        evaluated: ok.len(),
        failed: list.len() - ok.len(),
        mean: mean_of(&|e| e.card),
        random_mean: mean_of(&|e| e.random),
        fit_secs: list.iter().map(|e| e.fit_secs).sum(),
        score_secs: list.iter().map(|e| e.score_secs).sum(),
    }
}

/// `0.512 (0.081)`: the row's mean and the random baseline's mean.
fn with_random(r: &LeaderboardRow, m: MetricId) -> String {
    let own = r.mean.get(m.id()).copied();
    let random = r.random_mean.get(m.id()).copied();
    match (own, random) {
        (Some(v), Some(b)) if m == MetricId::DelayRows => format!("{v:.1} ({b:.1})"),
        (Some(v), None) if m == MetricId::DelayRows => format!("{v:.1}"),
        (Some(v), Some(b)) => format!("{v:.3} ({b:.3})"),
        (Some(v), None) => format!("{v:.3}"),
        (None, _) => "-".to_owned(),
    }
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.3}"))
}

fn md_table(md: &mut String, header: &[String], rows: &[Vec<String>]) {
    let esc = |s: &str| s.replace('|', "\\|");
    writeln!(
        md,
        "| {} |",
        header
            .iter()
            .map(|h| esc(h))
            .collect::<Vec<_>>()
            .join(" | ")
    )
    .ok();
    writeln!(md, "|{}", "---|".repeat(header.len())).ok();
    for r in rows {
        writeln!(
            md,
            "| {} |",
            r.iter().map(|c| esc(c)).collect::<Vec<_>>().join(" | ")
        )
        .ok();
    }
}

/// Quotes a CSV field when it holds a comma, quote or line break.
pub(crate) fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(detector: &str, dataset: &str, vus_pr: Option<f64>) -> BenchEntry {
        BenchEntry {
            detector: detector.to_owned(),
            dataset: dataset.to_owned(),
            run: None,
            card: vus_pr.map(|v| ScoreCard {
                vus_pr: Some(v),
                ..ScoreCard::default()
            }),
            random: Some(ScoreCard {
                vus_pr: Some(0.1),
                ..ScoreCard::default()
            }),
            fit_secs: 0.5,
            score_secs: 0.5,
            error: vus_pr.is_none().then(|| "boom, \"bad\"".to_owned()),
            rank: 0.0,
        }
    }

    fn board() -> Leaderboard {
        Leaderboard::new(
            vec![
                entry("a", "d1", Some(0.9)),
                entry("b", "d1", Some(0.5)),
                entry("c", "d1", None),
                entry("a", "d2", Some(0.2)),
                entry("b", "d2", Some(0.4)),
                entry("c", "d2", Some(0.4)),
            ],
            MetricId::VusPr,
            vec!["d1".to_owned(), "d2".to_owned()],
        )
    }

    #[test]
    fn ranks_per_dataset_failures_last_mean_rank_sorts() {
        let b = board();
        let rank = |d: &str, ds: &str| {
            b.entries
                .iter()
                .find(|e| e.detector == d && e.dataset == ds)
                .unwrap()
                .rank
        };
        assert_eq!(
            (rank("a", "d1"), rank("b", "d1"), rank("c", "d1")),
            (1.0, 2.0, 3.0)
        );
        assert_eq!(
            (rank("b", "d2"), rank("c", "d2"), rank("a", "d2")),
            (1.5, 1.5, 3.0)
        );
        let order: Vec<&str> = b.rows.iter().map(|r| r.detector.as_str()).collect();
        // a: (1+3)/2 = 2, b: (2+1.5)/2 = 1.75, c: (3+1.5)/2 = 2.25.
        assert_eq!(order, vec!["b", "a", "c"]);
        let c = &b.rows[2];
        assert_eq!((c.evaluated, c.failed), (1, 1));
        assert!((c.mean["vus_pr"] - 0.4).abs() < 1e-12);
        assert!((c.random_mean["vus_pr"] - 0.1).abs() < 1e-12);
    }

    #[test]
    fn csv_and_markdown_carry_baselines_and_failures() {
        let b = board();
        let csv = b.to_csv();
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let headers = reader.headers().unwrap().clone();
        assert!(headers.iter().any(|h| h == "random_vus_pr"));
        let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(records.len(), 6);
        let err_col = headers.iter().position(|h| h == "error").unwrap();
        assert_eq!(&records[2][err_col], "boom, \"bad\"");
        let md = b.to_markdown();
        assert!(md.contains("| # | detector | mean rank | VUS-PR"), "{md}");
        assert!(md.contains("0.900 (#1)"), "{md}");
        assert!(md.contains("optimistic"), "{md}");
        assert!(md.contains("## Failures"), "{md}");
        let json = serde_json::to_string(&b).unwrap();
        let back: Leaderboard = serde_json::from_str(&json).unwrap();
        assert_eq!(back, b);
    }
}
