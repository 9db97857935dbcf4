//! [`RunView`]: one stored run opened for judging. Holds its scores, the threshold the user
//! chose (re-thresholding never re-scores: flags are `score >= threshold`), the detections
//! classified against the ground truth (true positive, false positive, missed window), the
//! metrics at the current threshold (computed on a worker, one evaluation in flight at a time)
//! and per-column attribution (computed on a worker, once, on demand).

use std::ops::Range;
use std::sync::Arc;

use crate::detect::{DetectorSpec, ThresholdRule};
use crate::engine::{Notifier, Task};
use crate::error::{Error, Result};
use crate::eval::{EvalOptions, EvalReport, evaluate};
use crate::storage::{RunId, RunRecord, RunSummary};

use super::truth::{Truth, flag_runs};
use crate::app::widgets::trace::TraceCache;

/// A run of flagged rows and whether it overlaps a ground-truth window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detection {
    /// Flagged rows.
    pub rows: Range<usize>,
    /// True when it overlaps a truth window (a true positive), false for a false alarm.
    pub hit: bool,
}

/// Per-column attribution state of a run.
#[derive(Debug, Default)]
pub enum Attribution {
    /// Not asked for yet.
    #[default]
    None,
    /// Being computed (the detector is re-run with per-column scores).
    Computing(Task<Option<Vec<Vec<f64>>>>),
    /// Per-column score vectors.
    Ready(Arc<Vec<Vec<f64>>>),
    /// The detector scores all columns jointly and cannot attribute.
    Unsupported,
    /// Computing failed.
    Failed(String),
}

/// A stored run opened for judging.
#[derive(Debug)]
pub struct RunView {
    /// The stored summary.
    pub summary: RunSummary,
    /// One score per row.
    pub scores: Arc<[f64]>,
    /// The rule the run was stored with.
    pub rule: ThresholdRule,
    /// Lowest and highest finite score (the slider's range).
    pub score_range: Option<(f64, f64)>,
    /// The current threshold (`None` when no score is finite).
    pub threshold: Option<f64>,
    /// True once the user moved the threshold away from the stored rule.
    pub rethresholded: bool,
    /// Per-row flags at the current threshold.
    pub flags: Vec<bool>,
    /// Runs of flags, classified.
    pub detections: Vec<Detection>,
    /// Truth windows without any flagged row.
    pub missed: Vec<Range<usize>>,
    /// The selected detection (index into `detections`).
    pub selected: Option<usize>,
    /// Metrics at `report.0` (the threshold they were computed at; `None` = stored flags).
    pub report: Option<(Option<f64>, EvalReport)>,
    /// Why there are no metrics (no labels, partial run, ...).
    pub eval_error: Option<String>,
    eval: Option<(Option<f64>, Task<EvalReport>)>,
    eval_wanted: bool,
    /// Per-column attribution.
    pub attribution: Attribution,
    /// Drawing cache of the score line.
    pub trace: TraceCache,
}

impl RunView {
    /// Opens `record` against `truth`: flags start as the stored predictions.
    pub fn new(record: RunRecord, truth: &Truth) -> Self {
        let RunRecord {
            summary,
            scores,
            predicted,
        } = record;
        let rule: ThresholdRule = serde_json::from_str(&summary.threshold_json).unwrap_or_default();
        let score_range = finite_range(&scores);
        let threshold = rule.threshold(&scores);
        let complete = scores.len() == truth.series.len() && predicted.len() == scores.len();
        let eval_error = eval_problem(truth, complete, &summary);
        let mut view = Self {
            summary,
            scores: scores.into(),
            rule,
            score_range,
            threshold,
            rethresholded: false,
            flags: predicted,
            detections: Vec::new(),
            missed: Vec::new(),
            selected: None,
            report: None,
            eval_error,
            eval: None,
            eval_wanted: true,
            attribution: Attribution::None,
            trace: TraceCache::default(),
        };
        view.classify(truth);
        view
    }

    /// The run's id.
    pub fn id(&self) -> RunId {
        self.summary.id
    }

    /// Moves the threshold: re-flags and re-classifies at once (no re-scoring) and asks for
    /// fresh metrics.
    pub fn set_threshold(&mut self, value: f64, truth: &Truth) {
        if !value.is_finite() || self.threshold == Some(value) {
            return;
        }
        self.threshold = Some(value);
        self.rethresholded = true;
        self.flags = ThresholdRule::Fixed { value }.apply(&self.scores);
        self.selected = None;
        self.classify(truth);
        self.eval_wanted = true;
    }

    /// Rows flagged at the current threshold.
    pub fn flagged(&self) -> usize {
        self.flags.iter().filter(|&&f| f).count()
    }

    /// True when metrics are being computed or wait to be.
    pub fn is_busy(&self) -> bool {
        self.eval.is_some()
            || (self.eval_wanted && self.eval_error.is_none())
            || matches!(self.attribution, Attribution::Computing(_))
    }

    /// Whether the metrics on screen are for the current threshold.
    pub fn metrics_current(&self) -> bool {
        self.report
            .as_ref()
            .is_some_and(|(at, _)| *at == self.at_key())
            && !self.eval_wanted
    }

    fn at_key(&self) -> Option<f64> {
        if self.rethresholded {
            self.threshold
        } else {
            None
        }
    }

    fn classify(&mut self, truth: &Truth) {
        let truth_rows = &truth.truth_rows;
        let overlaps = |r: &Range<usize>| {
            let at = truth_rows.partition_point(|t| t.end <= r.start);
            truth_rows.get(at).is_some_and(|t| t.start < r.end)
        };
        self.detections = flag_runs(&self.flags)
            .into_iter()
            .map(|rows| Detection {
                hit: overlaps(&rows),
                rows,
            })
            .collect();
        self.missed = truth_rows
            .iter()
            .filter(|t| {
                !self.flags[t.start.min(self.flags.len())..t.end.min(self.flags.len())]
                    .iter()
                    .any(|&f| f)
            })
            .cloned()
            .collect();
    }

    /// Collects finished work and starts the next evaluation when the threshold moved while
    /// one was running (so a dragged slider runs at most one evaluation at a time, and the
    /// last position is always evaluated). Never blocks.
    pub fn poll(&mut self, truth: &Arc<Truth>, notifier: &Notifier) -> Option<String> {
        let mut problem = None;
        if let Some((at, task)) = &mut self.eval
            && let Some(result) = task.poll()
        {
            let at = *at;
            self.eval = None;
            match result {
                Ok(report) => self.report = Some((at, report)),
                Err(error) => self.eval_error = Some(error.to_string()),
            }
        }
        if self.eval.is_none() && self.eval_wanted && self.eval_error.is_none() {
            self.eval_wanted = false;
            let (truth, scores, flags) = (
                Arc::clone(truth),
                Arc::clone(&self.scores),
                self.flags.clone(),
            );
            match Task::spawn("evaluate", notifier.clone(), move |_, _| {
                evaluate_flags(&truth, &scores, &flags)
            }) {
                Ok(task) => self.eval = Some((self.at_key(), task)),
                Err(error) => problem = Some(format!("Could not evaluate: {error}")),
            }
        }
        if let Attribution::Computing(task) = &mut self.attribution
            && let Some(result) = task.poll()
        {
            self.attribution = match result {
                Ok(Some(columns)) => Attribution::Ready(Arc::new(columns)),
                Ok(None) => Attribution::Unsupported,
                Err(error) => Attribution::Failed(error.to_string()),
            };
        }
        problem
    }

    /// Selects a detection and, the first time, starts computing per-column scores.
    pub fn select(&mut self, index: Option<usize>, truth: &Arc<Truth>, notifier: &Notifier) {
        self.selected = index.filter(|&i| i < self.detections.len());
        if self.selected.is_none() || !matches!(self.attribution, Attribution::None) {
            return;
        }
        let spec = DetectorSpec {
            id: self.summary.detector.clone(),
            params: self.summary.params.as_map().clone(),
            seed: self.summary.seed,
        };
        let truth = Arc::clone(truth);
        self.attribution = match Task::spawn("attribute", notifier.clone(), move |cancel, _| {
            let mut detector = spec.build()?;
            detector.fit(&truth.series, cancel)?;
            Ok(detector
                .score_series_detailed(&truth.series, cancel)?
                .columns)
        }) {
            Ok(task) => Attribution::Computing(task),
            Err(error) => Attribution::Failed(error.to_string()),
        };
    }

    /// Per-column contribution to the selected detection: each column's highest finite score
    /// over the detection's rows, with the column's name. `None` until computed.
    pub fn contributions(&self, truth: &Truth) -> Option<Vec<(String, f64)>> {
        let Attribution::Ready(columns) = &self.attribution else {
            return None;
        };
        let rows = self.detections.get(self.selected?)?.rows.clone();
        Some(
            truth
                .series
                .columns()
                .iter()
                .zip(columns.iter())
                .map(|(column, scores)| {
                    let top = scores
                        .get(rows.clone())
                        .unwrap_or_default()
                        .iter()
                        .copied()
                        .filter(|s| s.is_finite())
                        .fold(f64::NEG_INFINITY, f64::max);
                    (column.name.clone(), if top.is_finite() { top } else { 0.0 })
                })
                .collect(),
        )
    }
}

/// Every metric of `scores` / `flags` against `truth`'s labels, with the baselines.
///
/// # Errors
/// No labels, no anomalous row, or lengths that differ (a partial run).
pub fn evaluate_flags(truth: &Truth, scores: &[f64], flags: &[bool]) -> Result<EvalReport> {
    let labels = truth.labels().ok_or_else(|| {
        Error::Invalid("the dataset has no labels: nothing to judge against".to_owned())
    })?;
    Ok(evaluate(
        labels,
        scores,
        flags,
        Some(truth.series.timestamps()),
        &EvalOptions::default(),
    )?)
}

fn eval_problem(truth: &Truth, complete: bool, summary: &RunSummary) -> Option<String> {
    if !complete {
        Some(format!(
            "This run is {} and has {} scores for {} rows: only complete runs have metrics.",
            summary.status,
            summary.rows,
            truth.series.len()
        ))
    } else if truth.labels().is_none() || !truth.has_anomalies() {
        Some(
            "No ground truth: this dataset has no labelled anomaly. Inject anomalies \
             (Inject tab) or import a label column to see metrics."
                .to_owned(),
        )
    } else {
        None
    }
}

/// Lowest and highest finite value.
pub fn finite_range(values: &[f64]) -> Option<(f64, f64)> {
    values
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Series;
    use crate::storage::{DatasetId, RunStatus};

    fn truth() -> Truth {
        let mut series = Series::from_values("v", vec![0.0; 20]);
        let labels = (0..20)
            .map(|i| (5..8).contains(&i) || (15..17).contains(&i))
            .collect();
        series.set_labels(Some(labels)).unwrap();
        Truth::new(crate::app::fixtures::meta("t", 20, &["v"]), series)
    }

    fn record(scores: Vec<f64>) -> RunRecord {
        let predicted = ThresholdRule::Fixed { value: 5.0 }.apply(&scores);
        RunRecord {
            summary: RunSummary {
                id: RunId(1),
                dataset: DatasetId(1),
                detector: "rolling_zscore".to_owned(),
                params: crate::model::Params::default(),
                seed: 0,
                threshold_json: r#"{"rule":"fixed","value":5.0}"#.to_owned(),
                mode: "batch".to_owned(),
                status: RunStatus::Finished,
                error: None,
                rows: scores.len(),
                flagged: predicted.iter().filter(|&&f| f).count(),
                metrics_json: "{}".to_owned(),
                fit_secs: 0.0,
                score_secs: 0.0,
                created_ms: 0,
                job: None,
            },
            scores,
            predicted,
        }
    }

    #[test]
    fn rethresholding_reclassifies_without_rescoring() {
        let truth = truth();
        let mut scores = vec![1.0; 20];
        scores[6] = 9.0; // inside the first window
        scores[11] = 7.0; // a false alarm
        scores[16] = 3.0; // inside the second window, low
        let mut view = RunView::new(record(scores), &truth);
        assert_eq!(view.threshold, Some(5.0));
        assert_eq!(view.detections.len(), 2);
        assert!(view.detections[0].hit && !view.detections[1].hit);
        assert_eq!(view.missed, vec![15..17]);
        view.set_threshold(2.0, &truth);
        assert_eq!(view.flagged(), 3);
        assert!(view.missed.is_empty());
        assert!(view.rethresholded);
        let report = evaluate_flags(&truth, &view.scores, &view.flags).unwrap();
        assert!((report.metrics.event.recall - 1.0).abs() < 1e-12);
    }
}
