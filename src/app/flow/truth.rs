//! [`Truth`]: the selected dataset as the workflow panels need it: the full series (for
//! injection previews, exports and attribution), x in plot units, and the ground truth split
//! into windows a user labelled and windows an injection plan created.
//!
//! Built on a worker (loading and resolving the plan touch every row), shared as `Arc<Truth>`
//! by the UI and the workers it starts.

use std::ops::Range;

use crate::engine::Engine;
use crate::error::Result;
use crate::inject::{InjectionPlan, injection_rng};
use crate::model::{Series, Timestamp};
use crate::storage::{DatasetId, DatasetMeta};

/// The selected dataset, loaded for injecting, judging and exporting.
#[derive(Debug)]
pub struct Truth {
    /// Its summary.
    pub meta: DatasetMeta,
    /// The full series.
    pub series: Series,
    /// One x per row: seconds since the epoch (the plots' unit).
    pub x: Vec<f64>,
    /// Runs of labelled rows (ground truth), sorted.
    pub truth_rows: Vec<Range<usize>>,
    /// Windows the dataset's injection plan placed (a subset of the truth when the plan made
    /// this dataset), sorted and merged.
    pub injected_rows: Vec<Range<usize>>,
    /// Half a sampling step in x units, so a one-row window has a visible width.
    pub pad: f64,
}

impl Truth {
    /// Loads dataset `id` through `engine` (blocking: call it on a worker).
    ///
    /// # Errors
    /// The dataset is missing or cannot be read.
    pub fn load(engine: &Engine, id: DatasetId) -> Result<Self> {
        let meta = engine.dataset(id)?;
        let series = engine.load_series(id)?;
        Ok(Self::new(meta, series))
    }

    /// Builds the truth of a loaded series.
    pub fn new(meta: DatasetMeta, series: Series) -> Self {
        let x: Vec<f64> = series
            .timestamps()
            .iter()
            .map(|t| t.as_secs_f64())
            .collect();
        let truth_rows = series.labels().map(flag_runs).unwrap_or_default();
        let injected_rows = meta
            .plan_json
            .as_deref()
            .map(|json| plan_rows(json, series.timestamps()))
            .unwrap_or_default();
        let step = meta
            .step_ns
            .or_else(|| series.median_step_ns())
            .map_or(0.0, |ns| Timestamp(ns).as_secs_f64());
        Self {
            meta,
            series,
            x,
            truth_rows,
            injected_rows,
            pad: step / 2.0,
        }
    }

    /// The dataset's id.
    pub fn id(&self) -> DatasetId {
        self.meta.id
    }

    /// Per-row ground truth, when the dataset has labels.
    pub fn labels(&self) -> Option<&[bool]> {
        self.series.labels()
    }

    /// Whether any row is labelled anomalous (judging needs at least one).
    pub fn has_anomalies(&self) -> bool {
        !self.truth_rows.is_empty()
    }

    /// The x extent of a row window, padded by half a step on each side.
    pub fn span(&self, rows: &Range<usize>) -> [f64; 2] {
        let first = self.x.get(rows.start).copied().unwrap_or(0.0);
        let last = self
            .x
            .get(rows.end.saturating_sub(1))
            .copied()
            .unwrap_or(first);
        [first - self.pad, last + self.pad]
    }

    /// The row nearest to `x` (clamped to the series).
    pub fn row_at(&self, x: f64) -> usize {
        let after = self.x.partition_point(|&v| v < x);
        match (after.checked_sub(1), self.x.get(after)) {
            (Some(before), Some(&next)) if x - self.x[before] < next - x => before,
            (Some(before), None) => before,
            _ => after.min(self.x.len().saturating_sub(1)),
        }
    }

    /// Whether a truth window was made by the dataset's injection plan.
    pub fn is_injected(&self, rows: &Range<usize>) -> bool {
        self.injected_rows
            .iter()
            .any(|w| w.start < rows.end && rows.start < w.end)
    }
}

/// Maximal runs of `true`.
pub fn flag_runs(flags: &[bool]) -> Vec<Range<usize>> {
    let mut runs = Vec::new();
    let mut start = None;
    for (i, &flag) in flags.iter().enumerate() {
        match (flag, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                runs.push(s..i);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        runs.push(s..flags.len());
    }
    runs
}

/// The row windows a stored plan placed, resolved exactly as `apply_plan` resolves them
/// (injection `i` draws its placement first from stream `i` of the plan's seed). A plan that
/// no longer parses or fits gives no windows: the rows still show as labelled.
fn plan_rows(json: &str, timestamps: &[Timestamp]) -> Vec<Range<usize>> {
    let Ok(plan) = InjectionPlan::from_json(json) else {
        return Vec::new();
    };
    let mut rows: Vec<Range<usize>> = Vec::new();
    for (index, spec) in plan.injections.iter().enumerate() {
        let mut rng = injection_rng(plan.seed, index);
        if let Ok(windows) = spec.target.resolve(timestamps, &mut rng) {
            rows.extend(windows);
        }
    }
    rows.sort_by_key(|r| r.start);
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(rows.len());
    for r in rows {
        match merged.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inject::{InjectionSpec, Target};

    #[test]
    fn runs_and_injected_windows_are_found() {
        assert_eq!(
            flag_runs(&[true, false, true, true, false, true]),
            vec![0..1, 2..4, 5..6]
        );
        let engine = Engine::in_memory();
        let values: Vec<f64> = (0..300).map(|i| (f64::from(i) / 9.0).sin()).collect();
        let base = engine
            .store_series("base", &Series::from_values("value", values))
            .unwrap();
        let plan = InjectionPlan {
            seed: 5,
            injections: vec![InjectionSpec::new("spike").with_target(Target::Random {
                count: 3,
                length: 2,
                min_gap: 10,
            })],
        };
        let meta = engine.inject_dataset(base.id, &plan, "inj").unwrap();
        let truth = Truth::load(&engine, meta.id).unwrap();
        assert_eq!(truth.injected_rows.len(), 3);
        assert_eq!(truth.truth_rows, truth.injected_rows);
        assert!(truth.truth_rows.iter().all(|w| truth.is_injected(w)));
        assert_eq!(truth.row_at(10.2), 10);
        assert_eq!(truth.row_at(-5.0), 0);
        assert_eq!(truth.row_at(1e9), 299);
        let [a, b] = truth.span(&(3..5));
        assert!((a - 2.5).abs() < 1e-9 && (b - 4.5).abs() < 1e-9, "{a} {b}");
    }
}
