//! Evaluating a stored run: its scores and predictions against its dataset's labels (own or
//! injected), through the pure functions of [`crate::eval`]. The headline numbers
//! ([`RunMetrics`]) are stored back with the run, so run listings and the GUI show them.

use crate::error::{Error, Result};
use crate::eval::{self, EvalOptions, EvalReport, RunMetrics};
use crate::storage::{RunId, RunUpdate};

use super::Engine;

impl Engine {
    /// Every metric of run `run` against the labels of the dataset it scored, with the
    /// random and constant baselines. The headline numbers ([`RunMetrics`]) are stored as the
    /// run's `metrics_json` (replacing earlier ones).
    ///
    /// # Errors
    /// The run or dataset is missing, the dataset has no labels (or no anomalous row), or
    /// the run is partial (cancelled or failed runs have fewer scores than rows).
    pub fn evaluate_run(&self, run: RunId, opts: &EvalOptions) -> Result<EvalReport> {
        let record = self.run(run)?;
        let dataset = record.summary.dataset;
        let series = self.load_series(dataset)?;
        let Some(labels) = series.labels() else {
            let name = self.dataset(dataset)?.name;
            return Err(Error::Invalid(format!(
                "run {run} cannot be evaluated: dataset {name:?} ({dataset}) has no labels \
                 (import a label column or inject anomalies first)"
            )));
        };
        if record.scores.len() != labels.len() || record.predicted.len() != labels.len() {
            return Err(Error::Invalid(format!(
                "run {run} has {} scores for {} rows (status {}): only complete runs can be evaluated",
                record.scores.len(),
                labels.len(),
                record.summary.status
            )));
        }
        let report = eval::evaluate(
            labels,
            &record.scores,
            &record.predicted,
            Some(series.timestamps()),
            opts,
        )?;
        self.store_metrics(run, &RunMetrics::from_report(&report))?;
        Ok(report)
    }

    /// Stores `metrics` as run `run`'s `metrics_json`.
    pub fn store_metrics(&self, run: RunId, metrics: &RunMetrics) -> Result<()> {
        let update = RunUpdate {
            metrics_json: Some(metrics.to_json()),
            ..RunUpdate::default()
        };
        Ok(self.storage.lock().update_run(run, &update)?)
    }
}

#[cfg(test)]
mod tests {
    use crate::detect::{DetectorSpec, ThresholdRule};
    use crate::engine::{Engine, RunControl};
    use crate::eval::{EvalOptions, RunMetrics};

    #[test]
    fn evaluates_a_labelled_run_and_refuses_an_unlabelled_one() {
        let engine = Engine::in_memory();
        let series = crate::testing::seasonal_with_anomalies(600, 50, 300, 400..420, 1);
        let meta = engine.store_series("labelled", &series).unwrap();
        let spec = DetectorSpec::new("rolling_zscore");
        let run = engine
            .run_batch(
                meta.id,
                &spec,
                ThresholdRule::default(),
                &RunControl::default(),
            )
            .unwrap();
        let report = engine
            .evaluate_run(run.id, &EvalOptions::default())
            .unwrap();
        assert_eq!(report.rows, 600);
        assert_eq!(report.true_windows, 2);
        assert!(report.baselines.is_some());
        let stored = RunMetrics::from_json(&engine.run(run.id).unwrap().summary.metrics_json)
            .expect("metrics stored with the run");
        assert_eq!(stored, RunMetrics::from_report(&report));

        let plain = crate::testing::seasonal_series(300, 50, 0.1, 2);
        let meta = engine.store_series("plain", &plain).unwrap();
        let run = engine
            .run_batch(
                meta.id,
                &spec,
                ThresholdRule::default(),
                &RunControl::default(),
            )
            .unwrap();
        let err = engine
            .evaluate_run(run.id, &EvalOptions::default())
            .unwrap_err();
        assert!(err.to_string().contains("no labels"), "{err}");
    }
}
