//! TSB-AD 1.5's threshold-dependent F1 variants, reproduced quirk for quirk so that numbers
//! compare with its leaderboards (`TSB_AD.evaluation.metrics.get_metrics` with `pred=None`).
//!
//! These are *not* this crate's own definitions (those are in `point.rs`, `adjust.rs`,
//! `range.rs`); they differ in ways TSB-AD users should know about:
//! - `Standard-F1` is the best F1 over all thresholds but with `2pr / (p + r + 1e-5)`;
//! - `PA-F1`, `Event-based-F1` and `R-based-F1` try only 100 thresholds,
//!   `linspace(min, max, 100)`, and flag `score > t` (strictly);
//! - TSB-AD's point adjustment never back-fills row 0: a window starting at row 0 whose first
//!   detection comes later stays one row short (`range(i, 0, -1)` stops at 1);
//! - its event finder ends a window that runs to the last row one row early, so a one-row
//!   window on the last row can never be hit;
//! - `Event-based-F1` uses event recall but *point* precision, with `+1e-15` in the
//!   denominator.

use serde::{Deserialize, Serialize};

use super::point::{Sweep, best_f1_eps};
use super::range::{RangeOptions, range_prf};
use super::{EvalError, RowSpan, check_len, clean_scores, count, ratio, spans};

/// TSB-AD's four oracle-threshold F1 scores.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TsbAdScores {
    /// `Standard-F1`: best point F1 over all thresholds, with TSB-AD's `1e-5` in the denominator.
    pub standard_f1: f64,
    /// `PA-F1`: best point-adjusted F1 over TSB-AD's 100-threshold grid.
    pub pa_f1: f64,
    /// `Event-based-F1` over the grid.
    pub event_f1: f64,
    /// `R-based-F1` (range F1, α = 0.2, reciprocal, flat) over the grid.
    pub r_f1: f64,
}

/// All four, as `get_metrics(score, labels, pred=None)` reports them.
pub fn tsbad_scores(labels: &[bool], scores: &[f64]) -> Result<TsbAdScores, EvalError> {
    Ok(TsbAdScores {
        standard_f1: tsbad_standard_f1(labels, scores)?,
        pa_f1: tsbad_pa_f1(labels, scores)?,
        event_f1: tsbad_event_f1(labels, scores)?,
        r_f1: tsbad_range_f1(labels, scores)?,
    })
}

/// numpy's `linspace(start, stop, num)` bit for bit (`k·step + start`, last = `stop`).
pub fn numpy_linspace(start: f64, stop: f64, num: usize) -> Vec<f64> {
    let delta = stop - start;
    let div = num.saturating_sub(1);
    let increment = if div > 0 { delta / div as f64 } else { 0.0 };
    let mut y: Vec<f64> = (0..num)
        .map(|k| {
            let k = k as f64;
            let v = if div == 0 {
                k * delta
            } else if increment == 0.0 {
                k / div as f64 * delta
            } else {
                k * increment
            };
            v + start
        })
        .collect();
    if num > 1
        && let Some(last) = y.last_mut()
    {
        *last = stop;
    }
    y
}

/// TSB-AD `metric_PointF1(pred=None)`.
pub fn tsbad_standard_f1(labels: &[bool], scores: &[f64]) -> Result<f64, EvalError> {
    Ok(best_f1_eps(&Sweep::new(labels, scores)?, 1e-5))
}

/// TSB-AD's `_adjust_predicts`, including its row-0 quirk (see the module docs).
pub fn tsbad_point_adjust(labels: &[bool], predicted: &[bool]) -> Result<Vec<bool>, EvalError> {
    check_len(labels, predicted.len(), "predictions")?;
    let mut adjusted = predicted.to_vec();
    for w in spans(labels) {
        if let Some(first) = (w.first..=w.last).find(|&i| predicted[i]) {
            adjusted[w.first.max(1).min(first)..=w.last].fill(true);
        }
    }
    Ok(adjusted)
}

/// TSB-AD `metric_PointF1PA(preds=predicted)`.
pub fn tsbad_pa_f1_pred(labels: &[bool], predicted: &[bool]) -> Result<f64, EvalError> {
    let adjusted = tsbad_point_adjust(labels, predicted)?;
    Ok(point_f1(labels, &adjusted))
}

/// TSB-AD `metric_PointF1PA(preds=None)`: best over the 100-threshold grid.
pub fn tsbad_pa_f1(labels: &[bool], scores: &[f64]) -> Result<f64, EvalError> {
    grid_max(labels, scores, tsbad_pa_f1_pred)
}

/// TSB-AD `metric_EventF1PA(preds=predicted)`.
pub fn tsbad_event_f1_pred(labels: &[bool], predicted: &[bool]) -> Result<f64, EvalError> {
    check_len(labels, predicted.len(), "predictions")?;
    let events = tsbad_events(labels);
    if events.is_empty() {
        return Err(EvalError::NoAnomalies);
    }
    let hit = events
        .iter()
        .filter(|&&(first, end)| {
            predicted
                .get(first..end)
                .is_some_and(|s| s.iter().any(|&p| p))
        })
        .count();
    let recall = hit as f64 / events.len() as f64;
    let tp = labels
        .iter()
        .zip(predicted)
        .filter(|&(&l, &p)| l && p)
        .count();
    let precision = ratio(tp as f64, count(predicted) as f64);
    Ok(2.0 * recall * precision / (recall + precision + 1e-15))
}

/// TSB-AD `metric_EventF1PA(preds=None)`: best over the 100-threshold grid.
pub fn tsbad_event_f1(labels: &[bool], scores: &[f64]) -> Result<f64, EvalError> {
    grid_max(labels, scores, tsbad_event_f1_pred)
}

/// TSB-AD `metric_RF1(preds=predicted)`: range F1 with α = 0.2, reciprocal, flat.
pub fn tsbad_range_f1_pred(labels: &[bool], predicted: &[bool]) -> Result<f64, EvalError> {
    Ok(range_prf(labels, predicted, &RangeOptions::default())?.f1)
}

/// TSB-AD `metric_RF1(preds=None)`: best over the 100-threshold grid.
pub fn tsbad_range_f1(labels: &[bool], scores: &[f64]) -> Result<f64, EvalError> {
    grid_max(labels, scores, tsbad_range_f1_pred)
}

/// `max over t in linspace(min, max, 100) of f(labels, score > t)`.
fn grid_max(
    labels: &[bool],
    scores: &[f64],
    f: fn(&[bool], &[bool]) -> Result<f64, EvalError>,
) -> Result<f64, EvalError> {
    check_len(labels, scores.len(), "scores")?;
    if count(labels) == 0 {
        return Err(EvalError::NoAnomalies);
    }
    let scores = clean_scores(scores);
    let lo = scores.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut best = f64::NEG_INFINITY;
    let mut predicted = vec![false; scores.len()];
    for t in numpy_linspace(lo, hi, 100) {
        for (p, &s) in predicted.iter_mut().zip(&scores) {
            *p = s > t;
        }
        best = best.max(f(labels, &predicted)?);
    }
    Ok(best)
}

/// scikit-learn's `f1_score` (0 when there is nothing to score).
fn point_f1(labels: &[bool], predicted: &[bool]) -> f64 {
    let (mut tp, mut wrong) = (0usize, 0usize);
    for (&l, &p) in labels.iter().zip(predicted) {
        if l && p {
            tp += 1;
        } else if l || p {
            wrong += 1;
        }
    }
    ratio(2.0 * tp as f64, (2 * tp + wrong) as f64)
}

/// TSB-AD's `_get_events`: windows as `(first, end_exclusive)`, the last one cut short by a
/// row when it runs to the end of the series.
fn tsbad_events(labels: &[bool]) -> Vec<(usize, usize)> {
    let n = labels.len();
    spans(labels)
        .into_iter()
        .map(|RowSpan { first, last }| {
            let end = if last + 1 == n { last } else { last + 1 };
            (first, end)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(s: &str) -> Vec<bool> {
        s.chars().map(|c| c == '1').collect()
    }

    #[test]
    fn linspace_matches_numpy() {
        assert_eq!(numpy_linspace(0.0, 1.0, 5), vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        assert_eq!(numpy_linspace(2.0, 2.0, 3), vec![2.0, 2.0, 2.0]);
        assert_eq!(numpy_linspace(3.0, 9.0, 1), vec![3.0]);
        // numpy.linspace(0, 9, 4).astype(int) == [0, 3, 6, 9]
        let idx: Vec<usize> = numpy_linspace(0.0, 9.0, 4)
            .iter()
            .map(|&x| x as usize)
            .collect();
        assert_eq!(idx, vec![0, 3, 6, 9]);
    }

    #[test]
    fn point_adjust_keeps_the_row_zero_quirk() {
        let labels = flags("1110011");
        let adjusted = tsbad_point_adjust(&labels, &flags("0010010")).unwrap();
        assert_eq!(adjusted, flags("0110011"), "row 0 is not back-filled");
        let from_zero = tsbad_point_adjust(&labels, &flags("1000000")).unwrap();
        assert_eq!(from_zero, flags("1110000"));
    }

    #[test]
    fn last_row_window_is_cut_short() {
        assert_eq!(tsbad_events(&flags("0110011")), vec![(1, 3), (5, 6)]);
        let labels = flags("0000001");
        let f = tsbad_event_f1_pred(&labels, &flags("0000001")).unwrap();
        assert!(
            f.abs() < 1e-12,
            "TSB-AD never hits a one-row window on the last row: {f}"
        );
    }

    #[test]
    fn standard_f1_has_the_epsilon() {
        let labels = flags("0110");
        let f = tsbad_standard_f1(&labels, &[0.0, 1.0, 1.0, 0.0]).unwrap();
        assert!((f - 2.0 / (2.0 + 1e-5)).abs() < 1e-12, "{f}");
    }
}
