//! `bench`: every detector on every labelled dataset, on a bounded pool of named worker
//! threads, each result stored as a run with its metrics (one `bench` job per dataset groups
//! the runs), summarised as a [`Leaderboard`].
//!
//! Datasets come by name from storage or as CSV files / folders, imported once (a later bench
//! over the same file reuses the dataset imported from that path). Datasets without labels or
//! without an anomalous row are skipped and listed as such. Cancellation is checked before
//! each (detector, dataset) pair and inside detectors; a cancelled bench returns the results
//! that finished, marked `cancelled`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use super::{Engine, RunControl};
use crate::control::{CancelToken, Progress};
use crate::detect::{self, DetectorSpec, Family, ThresholdRule};
use crate::error::{Error, Result};
use crate::eval::{self, BenchEntry, EvalOptions, Leaderboard, MetricId, RunMetrics};
use crate::model::Series;
use crate::storage::{DatasetMeta, JobId, JobUpdate, NewJob, NewRun, RunStatus};

/// What a bench runs and how it judges.
#[derive(Clone, Debug)]
pub struct BenchConfig {
    /// Detectors to run (each with its parameters and seed).
    pub detectors: Vec<DetectorSpec>,
    /// Threshold rule that turns scores into flags (for the flag-based metrics).
    pub rule: ThresholdRule,
    /// Worker threads; 0 = the number of cores.
    pub jobs: usize,
    /// Metric options (VUS window, baselines' seed).
    pub eval: EvalOptions,
    /// The metric that ranks detectors on each dataset.
    pub rank_metric: MetricId,
}

impl Default for BenchConfig {
    fn default() -> Self {
        Self {
            detectors: default_detectors(),
            rule: ThresholdRule::default(),
            jobs: 0,
            eval: EvalOptions::default(),
            rank_metric: MetricId::VusPr,
        }
    }
}

/// Every registered detector except the baseline family (the random and constant baselines
/// are already beside every result), with default parameters.
pub fn default_detectors() -> Vec<DetectorSpec> {
    detect::registry()
        .iter()
        .filter(|e| e.info.family != Family::Baseline)
        .map(|e| DetectorSpec::new(e.info.id))
        .collect()
}

/// A bounded pool of named worker threads (`{name}-0`, `{name}-1`, ...).
pub(crate) fn worker_pool(name: &str, jobs: usize) -> Result<rayon::ThreadPool> {
    let jobs = if jobs == 0 {
        std::thread::available_parallelism().map_or(2, std::num::NonZero::get)
    } else {
        jobs
    };
    let name = name.to_owned();
    rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .thread_name(move |i| format!("{name}-{i}"))
        .build()
        .map_err(|e| Error::Invalid(format!("cannot start {jobs} worker threads: {e}")))
}

/// The CSV files of a folder (not recursive), sorted by name.
pub fn csv_files_in(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|source| Error::Io {
        context: format!("listing {}", dir.display()),
        source,
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(std::result::Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x.eq_ignore_ascii_case("csv")))
        .collect();
    files.sort();
    Ok(files)
}

/// The per-dataset job spec, stored as the job's `spec_json`.
#[derive(Serialize)]
struct JobSpec<'a> {
    detectors: &'a [DetectorSpec],
    threshold: ThresholdRule,
    rank_metric: MetricId,
}

impl Engine {
    /// Resolves bench inputs: stored dataset names (or `#id`), CSV files, or folders of CSV
    /// files. Files are imported under their stem unless a dataset of that name was already
    /// imported from the same path, which is reused.
    ///
    /// # Errors
    /// An input that is neither a stored dataset nor a readable CSV file / folder.
    pub fn bench_datasets(
        &self,
        inputs: &[String],
        cancel: &CancelToken,
    ) -> Result<Vec<DatasetMeta>> {
        let mut out = Vec::new();
        for input in inputs {
            let path = Path::new(input);
            if path.is_dir() {
                for file in csv_files_in(path)? {
                    out.push(self.import_once(&file, cancel)?);
                }
            } else if path.is_file() {
                out.push(self.import_once(path, cancel)?);
            } else {
                out.push(self.find_dataset(input)?);
            }
        }
        Ok(out)
    }

    /// The dataset imported from `path` before, or a fresh import of it.
    fn import_once(&self, path: &Path, cancel: &CancelToken) -> Result<DatasetMeta> {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let source = path.display().to_string();
        if let Some(meta) = self.list_datasets()?.into_iter().find(|d| {
            d.source == source && (d.name == stem || d.name.starts_with(&format!("{stem}-")))
        }) {
            return Ok(meta);
        }
        Ok(self.import_file(path, None, &Progress::new(), cancel)?.meta)
    }

    /// Runs every detector of `config` on every dataset, stores each run with its metrics, and
    /// ranks the detectors. Progress counts (detector, dataset) pairs.
    ///
    /// # Errors
    /// A detector id or parameter that does not resolve, a dataset that cannot be loaded,
    /// storage failures. A detector failing on a dataset is not an error: it is a failed
    /// entry (ranked last there).
    pub fn bench(
        &self,
        datasets: &[DatasetMeta],
        config: &BenchConfig,
        control: &RunControl,
    ) -> Result<Leaderboard> {
        let started = Instant::now();
        for spec in &config.detectors {
            spec.resolve()?;
        }
        let mut used: Vec<(DatasetMeta, Arc<Series>, JobId)> = Vec::new();
        let mut skipped = Vec::new();
        let spec_json = serde_json::to_string(&JobSpec {
            detectors: &config.detectors,
            threshold: config.rule,
            rank_metric: config.rank_metric,
        })
        .unwrap_or_default();
        for meta in datasets {
            if used.iter().any(|(m, _, _)| m.id == meta.id) {
                continue;
            }
            let series = self.load_series(meta.id)?;
            let why = match series.labels() {
                None => Some("no labels"),
                Some(l) if !l.contains(&true) => Some("no row labelled anomalous"),
                Some(_) => None,
            };
            if let Some(why) = why {
                skipped.push((meta.name.clone(), why.to_owned()));
                continue;
            }
            let job = self.storage.lock().put_job(&NewJob {
                dataset: meta.id,
                kind: "bench".to_owned(),
                spec_json: spec_json.clone(),
                status: RunStatus::Running,
                rows_total: series.len() * config.detectors.len(),
                owner_pid: std::process::id(),
                created_ms: None,
                finished_ms: None,
            })?;
            used.push((meta.clone(), Arc::new(series), job));
        }
        let items: Vec<(usize, usize)> = (0..used.len())
            .flat_map(|d| (0..config.detectors.len()).map(move |k| (d, k)))
            .collect();
        control.progress.set_total(items.len() as u64);
        control.progress.set_done(0);
        let done = AtomicU64::new(0);
        let pool = worker_pool("bench", config.jobs)?;
        let results: Vec<Option<Result<BenchEntry>>> = pool.install(|| {
            items
                .par_iter()
                .map(|&(d, k)| {
                    if control.cancel.is_cancelled() {
                        return None;
                    }
                    let (meta, series, job) = &used[d];
                    let entry = self.bench_one(
                        meta,
                        series,
                        *job,
                        &config.detectors[k],
                        config,
                        &control.cancel,
                    );
                    let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                    control.progress.set_done(n);
                    entry
                })
                .collect()
        });
        let mut entries = Vec::with_capacity(results.len());
        for r in results.into_iter().flatten() {
            entries.push(r?);
        }
        let cancelled = control.cancel.is_cancelled();
        let names = used.iter().map(|(m, _, _)| m.name.clone()).collect();
        let mut board = Leaderboard::new(entries, config.rank_metric, names);
        board.skipped = skipped;
        board.cancelled = cancelled;
        board.wall_secs = started.elapsed().as_secs_f64();
        self.finish_jobs(&used, &board)?;
        Ok(board)
    }

    /// One detector on one dataset: fit, score, flag, evaluate, store. `None` when cancelled
    /// before anything was stored.
    fn bench_one(
        &self,
        meta: &DatasetMeta,
        series: &Series,
        job: JobId,
        spec: &DetectorSpec,
        config: &BenchConfig,
        cancel: &CancelToken,
    ) -> Option<Result<BenchEntry>> {
        let once = score_once(spec, series, cancel);
        if matches!(once.outcome, Err(detect::DetectError::Cancelled)) {
            return None;
        }
        let labels = series.labels().unwrap_or_default();
        let (scores, predicted, report, error) = match once.outcome {
            Ok(scores) => {
                let predicted = config.rule.apply(&scores);
                match eval::evaluate(
                    labels,
                    &scores,
                    &predicted,
                    Some(series.timestamps()),
                    &config.eval,
                ) {
                    Ok(report) => (scores, predicted, Some(report), None),
                    Err(e) => (scores, predicted, None, Some(format!("evaluation: {e}"))),
                }
            }
            Err(e) => (Vec::new(), Vec::new(), None, Some(e.to_string())),
        };
        let stored = report.as_ref().map(RunMetrics::from_report);
        let (_, params) = match spec.resolve() {
            Ok(r) => r,
            Err(e) => return Some(Err(e.into())),
        };
        let run = NewRun {
            dataset: meta.id,
            detector: spec.id.clone(),
            params,
            seed: spec.seed,
            threshold_json: serde_json::to_string(&config.rule).unwrap_or_default(),
            mode: "batch".to_owned(),
            status: if scores.is_empty() && error.is_some() {
                RunStatus::Failed
            } else {
                RunStatus::Finished
            },
            error: error.clone(),
            scores,
            predicted,
            metrics_json: stored
                .as_ref()
                .map_or_else(|| "{}".to_owned(), RunMetrics::to_json),
            fit_secs: once.fit_secs,
            score_secs: once.score_secs,
            job: Some(job),
            created_ms: None,
        };
        let id = match self.storage.lock().put_run(&run) {
            Ok(id) => id,
            Err(e) => return Some(Err(e.into())),
        };
        Some(Ok(BenchEntry {
            detector: spec.id.clone(),
            dataset: meta.name.clone(),
            run: Some(id.0),
            card: stored.as_ref().map(|m| m.run),
            random: stored.and_then(|m| m.random),
            fit_secs: once.fit_secs,
            score_secs: once.score_secs,
            error,
            rank: 0.0,
        }))
    }

    /// Marks each dataset's job finished (or cancelled) with its ranking as the summary.
    fn finish_jobs(
        &self,
        used: &[(DatasetMeta, Arc<Series>, JobId)],
        board: &Leaderboard,
    ) -> Result<()> {
        let mut storage = self.storage.lock();
        for (meta, series, job) in used {
            let mine: Vec<&BenchEntry> = board
                .entries
                .iter()
                .filter(|e| e.dataset == meta.name)
                .collect();
            let secs: f64 = mine.iter().map(|e| e.fit_secs + e.score_secs).sum();
            let rows = series.len() * mine.len();
            let summary: Vec<serde_json::Value> = mine
                .iter()
                .map(|e| {
                    serde_json::json!({
                        "detector": e.detector,
                        "run": e.run,
                        "rank": e.rank,
                        "metric": board.rank_metric.id(),
                        "value": e.card.and_then(|c| c.get(board.rank_metric)),
                        "error": e.error,
                    })
                })
                .collect();
            storage.update_job(
                *job,
                &JobUpdate {
                    status: Some(if board.cancelled {
                        RunStatus::Cancelled
                    } else {
                        RunStatus::Finished
                    }),
                    error: None,
                    rows_done: Some(rows),
                    rows_per_sec: Some(if secs > 0.0 {
                        rows as f64 / secs
                    } else {
                        f64::NAN
                    }),
                    summary_json: Some(serde_json::to_string(&summary).unwrap_or_default()),
                },
            )?;
        }
        Ok(())
    }
}

/// The outcome of fitting and scoring one detector on one series.
#[derive(Debug)]
pub(crate) struct Scored {
    /// Scores, or why there are none.
    pub(crate) outcome: std::result::Result<Vec<f64>, detect::DetectError>,
    /// Seconds fitting.
    pub(crate) fit_secs: f64,
    /// Seconds scoring.
    pub(crate) score_secs: f64,
}

/// Builds `spec`, fits it on `series` and scores `series` (the unsupervised protocol of the
/// leaderboards: a detector sees the series it judges, never its labels).
pub(crate) fn score_once(spec: &DetectorSpec, series: &Series, cancel: &CancelToken) -> Scored {
    let mut fit_secs = 0.0;
    let mut score_secs = 0.0;
    let outcome = (|| {
        let mut detector = spec.build()?;
        let t = Instant::now();
        detector.fit(series, cancel)?;
        fit_secs = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let scores = detector.score_series(series, cancel);
        score_secs = t.elapsed().as_secs_f64();
        scores
    })();
    Scored {
        outcome,
        fit_secs,
        score_secs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::MetricId;

    #[test]
    fn bench_stores_runs_with_metrics_under_jobs_and_skips_unlabelled() {
        let engine = Engine::in_memory();
        let a = crate::testing::seasonal_with_anomalies(600, 50, 300, 400..420, 1);
        let b = crate::testing::seasonal_with_anomalies(500, 40, 100, 250..260, 2);
        let plain = crate::testing::seasonal_series(300, 50, 0.1, 3);
        let metas: Vec<DatasetMeta> = [("a", &a), ("b", &b), ("plain", &plain)]
            .iter()
            .map(|(n, s)| engine.store_series(n, s).unwrap())
            .collect();
        let config = BenchConfig {
            detectors: vec![
                DetectorSpec::new("rolling_zscore"),
                DetectorSpec::new("random"),
            ],
            jobs: 2,
            ..BenchConfig::default()
        };
        let board = engine
            .bench(&metas, &config, &RunControl::default())
            .unwrap();
        assert_eq!(board.datasets, vec!["a", "b"]);
        assert_eq!(
            board.skipped,
            vec![("plain".to_owned(), "no labels".to_owned())]
        );
        assert_eq!(board.entries.len(), 4);
        assert_eq!(board.rows[0].detector, "rolling_zscore", "{board:?}");
        assert_eq!(board.rank_metric, MetricId::VusPr);
        let runs = engine.list_runs(None).unwrap();
        assert_eq!(runs.len(), 4);
        assert!(runs.iter().all(|r| r.job.is_some()));
        for r in &runs {
            let m = RunMetrics::from_json(&r.metrics_json).expect("metrics stored");
            assert!(m.random.is_some());
        }
        let jobs = engine.storage.lock().list_jobs().unwrap();
        assert_eq!(jobs.len(), 2);
        assert!(
            jobs.iter()
                .all(|j| j.status == RunStatus::Finished && j.kind == "bench")
        );
    }

    #[test]
    fn cancelled_bench_returns_partial_board() {
        let engine = Engine::in_memory();
        let a = crate::testing::seasonal_with_anomalies(400, 50, 300, 100..120, 1);
        let meta = engine.store_series("a", &a).unwrap();
        let control = RunControl::default();
        control.cancel.cancel();
        let config = BenchConfig {
            detectors: vec![DetectorSpec::new("rolling_zscore")],
            jobs: 1,
            ..BenchConfig::default()
        };
        let board = engine.bench(&[meta], &config, &control).unwrap();
        assert!(board.cancelled);
        assert!(board.entries.is_empty());
        assert!(engine.list_runs(None).unwrap().is_empty());
    }

    #[test]
    fn unknown_detector_fails_before_anything_runs() {
        let engine = Engine::in_memory();
        let config = BenchConfig {
            detectors: vec![DetectorSpec::new("nope")],
            ..BenchConfig::default()
        };
        assert!(engine.bench(&[], &config, &RunControl::default()).is_err());
        assert!(!default_detectors().iter().any(|d| d.id == "random"));
    }
}
