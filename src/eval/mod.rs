//! Evaluation metrics: pure functions over per-row ground truth, scores and predictions.
//!
//! Owns every number that says how good a detector is, and the [`EvalReport`] that gathers
//! them (with a random-score and a constant-score baseline computed by the same code).
//! Depends on `model` only; no I/O, no threads, no storage.
//!
//! | file | metrics |
//! |---|---|
//! | `point.rs` | point precision / recall / F1, exact best F1 over thresholds, precision@k |
//! | `ranking.rs` | ROC-AUC and PR-AUC (average precision), as scikit-learn defines them |
//! | `adjust.rs` | point-adjusted F1 (optimistic!), event-wise F1, detection delay |
//! | `range.rs` | range-based precision / recall / F1 (Tatbul et al. 2018) |
//! | `vus.rs` | Range-AUC-ROC/PR and VUS-ROC/PR (Paparrizos et al. 2022), as TSB-AD 1.5 computes them |
//! | `nab.rs` | the NAB score with its three profiles |
//! | `tsbad.rs` | TSB-AD 1.5's oracle-threshold F1 variants, reproduced quirk for quirk |
//! | `report.rs` | [`EvalOptions`], [`EvalReport`], [`evaluate`] and the baselines |
//! | `summary.rs` | [`ScoreCard`] / [`RunMetrics`]: the flat headline numbers stored with a run |
//! | `correlation.rs` | fractional ranks, Spearman's ρ, Kendall's τ-b |
//! | `leaderboard.rs` | [`Leaderboard`]: detectors × datasets, ranks, mean rank, CSV / Markdown |
//! | `robustness.rs` | [`RobustnessMatrix`]: detector × injected kind × magnitude, heatmap grid |
//! | `selection.rs` | [`DetectorRanking`] without labels and its [`RankAgreement`] with the truth |
//!
//! # Conventions
//! - `labels[i]` is true when row `i` is anomalous; a *window* is a maximal run of true labels.
//! - Scores: higher is more anomalous. Non-finite scores are cleaned once by [`clean_scores`]:
//!   NaN ("no score yet") becomes the lowest finite score, `-inf` the lowest and `+inf` the
//!   highest finite score (all zeros when no score is finite). This is the convention of the
//!   peers' `evaluate.py`, so the figures are directly comparable.
//! - A prediction at a threshold `t` flags `score >= t` (scikit-learn's convention). The
//!   TSB-AD reproductions in `tsbad.rs` use TSB-AD's own `score > t` where TSB-AD does.
//! - Metrics that are undefined for the input (ROC-AUC without negatives, anything without a
//!   single anomalous row) return [`EvalError`] rather than NaN.

mod adjust;
mod correlation;
mod leaderboard;
mod nab;
mod point;
mod range;
mod ranking;
mod report;
mod robustness;
mod selection;
mod summary;
mod tsbad;
mod vus;

pub use adjust::{
    DelaySummary, EventScores, WindowDelay, best_pa_f1, detection_delays, event_f1, pa_f1,
    point_adjust,
};
pub use correlation::{kendall_tau_b, ranks, spearman};
pub use leaderboard::{BOARD_METRICS, BenchEntry, Leaderboard, LeaderboardRow};
pub use nab::{NabOptions, NabProfile, NabScore, NabScores, nab_score, nab_scores};
pub use point::{
    BestF1, Confusion, PointScores, best_f1, confusion, point_prf, point_prf_at, precision_at_k,
};
pub use range::{Bias, Cardinality, RangeOptions, RangeScores, range_prf};
pub use ranking::{average_precision, roc_auc};
pub use report::{
    Baselines, EvalOptions, EvalReport, Metrics, PointAdjusted, constant_scores, evaluate,
    predictions_at_rate, random_scores,
};
pub use robustness::{
    CellRun, CellValue, HeatmapGrid, RobustnessCell, RobustnessMatrix, fmt_cell, grid_markdown,
};
pub use selection::{AgreementSummary, DetectorRanking, RankAgreement, RankedDetector};
pub use summary::{MetricId, RunMetrics, ScoreCard};
pub use tsbad::{
    TsbAdScores, numpy_linspace, tsbad_event_f1, tsbad_event_f1_pred, tsbad_pa_f1,
    tsbad_pa_f1_pred, tsbad_point_adjust, tsbad_range_f1, tsbad_range_f1_pred, tsbad_scores,
    tsbad_standard_f1,
};
pub use vus::{VusOptions, VusScores, VusSurface, vus, vus_surface};

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Why a metric could not be computed.
#[derive(Clone, Debug, Error, PartialEq)]
pub enum EvalError {
    /// Two per-row inputs differ in length.
    #[error("{what} has {len} entries but the labels have {expected}")]
    LengthMismatch {
        /// Which input ("scores", "predictions", "timestamps").
        what: &'static str,
        /// Its length.
        len: usize,
        /// The number of labels.
        expected: usize,
    },
    /// No rows at all.
    #[error("nothing to evaluate: the series has no rows")]
    Empty,
    /// The ground truth has no anomalous row, so recall-based metrics are undefined.
    #[error("the labels mark no row as anomalous: recall, AUC and VUS are undefined")]
    NoAnomalies,
    /// Every row is anomalous, so metrics that need normal rows (ROC-AUC, FPR) are undefined.
    #[error("every row is labelled anomalous: {metric} is undefined")]
    NoNormalRows {
        /// The metric that needs normal rows.
        metric: &'static str,
    },
    /// An option is out of range.
    #[error("option {name} = {value} is invalid: {reason}")]
    InvalidOption {
        /// The option's name.
        name: &'static str,
        /// Its value as text.
        value: String,
        /// What is allowed.
        reason: &'static str,
    },
}

/// A window of rows `[first, last]` (inclusive): a maximal run of true flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowSpan {
    /// First row of the run.
    pub first: usize,
    /// Last row of the run (inclusive).
    pub last: usize,
}

impl RowSpan {
    /// Number of rows.
    pub fn len(self) -> usize {
        self.last + 1 - self.first
    }

    /// Always false: a span holds at least one row.
    pub fn is_empty(self) -> bool {
        false
    }

    /// Whether the two spans share a row.
    pub fn overlaps(self, other: Self) -> bool {
        self.first <= other.last && other.first <= self.last
    }
}

/// The maximal runs of `true` in `flags`, in order.
pub fn spans(flags: &[bool]) -> Vec<RowSpan> {
    let mut out = Vec::new();
    let mut open: Option<usize> = None;
    for (i, &flag) in flags.iter().enumerate() {
        match (flag, open) {
            (true, None) => open = Some(i),
            (false, Some(first)) => {
                out.push(RowSpan { first, last: i - 1 });
                open = None;
            }
            _ => {}
        }
    }
    if let Some(first) = open {
        out.push(RowSpan {
            first,
            last: flags.len() - 1,
        });
    }
    out
}

/// Applies the NaN contract (see the module docs): a copy of `scores` with every value finite.
pub fn clean_scores(scores: &[f64]) -> Vec<f64> {
    let (lo, hi) = scores
        .iter()
        .filter(|s| s.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &s| {
            (lo.min(s), hi.max(s))
        });
    if lo > hi {
        return vec![0.0; scores.len()];
    }
    scores
        .iter()
        .map(|&s| {
            if s.is_nan() || s == f64::NEG_INFINITY {
                lo
            } else if s == f64::INFINITY {
                hi
            } else {
                s
            }
        })
        .collect()
}

/// Checks that `other` has one entry per label and that there are rows at all.
fn check_len(labels: &[bool], other_len: usize, what: &'static str) -> Result<(), EvalError> {
    if labels.is_empty() {
        return Err(EvalError::Empty);
    }
    if other_len != labels.len() {
        return Err(EvalError::LengthMismatch {
            what,
            len: other_len,
            expected: labels.len(),
        });
    }
    Ok(())
}

/// Number of true flags.
fn count(flags: &[bool]) -> usize {
    flags.iter().filter(|&&f| f).count()
}

/// `2pr / (p + r)`, 0 when both are 0.
fn harmonic(p: f64, r: f64) -> f64 {
    if p + r > 0.0 {
        2.0 * p * r / (p + r)
    } else {
        0.0
    }
}

/// `num / den`, 0 when `den` is 0 (scikit-learn's `zero_division=0`).
fn ratio(num: f64, den: f64) -> f64 {
    if den > 0.0 { num / den } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_cover_edges_and_touching_runs() {
        let s = spans(&[true, true, false, true, false, false, true]);
        assert_eq!(
            s,
            vec![
                RowSpan { first: 0, last: 1 },
                RowSpan { first: 3, last: 3 },
                RowSpan { first: 6, last: 6 }
            ]
        );
        assert!(spans(&[]).is_empty());
        assert_eq!(spans(&[true; 3]), vec![RowSpan { first: 0, last: 2 }]);
    }

    #[test]
    fn clean_scores_maps_non_finite_to_the_finite_range() {
        let c = clean_scores(&[f64::NAN, 2.0, f64::INFINITY, -1.0, f64::NEG_INFINITY]);
        assert_eq!(c, vec![-1.0, 2.0, 2.0, -1.0, -1.0]);
        assert_eq!(clean_scores(&[f64::NAN, f64::NAN]), vec![0.0, 0.0]);
    }

    #[test]
    fn length_checks_name_the_input() {
        let err = check_len(&[true, false], 3, "scores").unwrap_err();
        assert_eq!(
            err,
            EvalError::LengthMismatch {
                what: "scores",
                len: 3,
                expected: 2
            }
        );
        assert_eq!(check_len(&[], 0, "scores"), Err(EvalError::Empty));
    }
}
