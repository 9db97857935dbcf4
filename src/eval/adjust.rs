//! Window-aware metrics over predictions: point adjustment, event-wise F1 and detection delay.
//!
//! Point adjustment marks a whole true window as detected once any of its rows is flagged.
//! It is reported because the literature reports it, but it is **optimistic**: a random
//! detector scores high on long windows (Kim et al. 2022), so the report flags it as such.

use serde::{Deserialize, Serialize};

use super::point::{BestF1, PointScores, confusion};
use super::{EvalError, RowSpan, check_len, clean_scores, count, harmonic, ratio, spans};
use crate::model::Timestamp;

/// `predicted` with every true window that holds at least one flag flagged entirely.
pub fn point_adjust(labels: &[bool], predicted: &[bool]) -> Result<Vec<bool>, EvalError> {
    check_len(labels, predicted.len(), "predictions")?;
    let mut adjusted = predicted.to_vec();
    for w in spans(labels) {
        if predicted[w.first..=w.last].iter().any(|&p| p) {
            adjusted[w.first..=w.last].fill(true);
        }
    }
    Ok(adjusted)
}

/// Point precision / recall / F1 after [`point_adjust`]. Optimistic; see the module docs.
pub fn pa_f1(labels: &[bool], predicted: &[bool]) -> Result<PointScores, EvalError> {
    Ok(confusion(labels, &point_adjust(labels, predicted)?)?.scores())
}

/// The exact best point-adjusted F1 over all thresholds (`score >= t`), in `O(n log n)`.
/// Only thresholds equal to a window's highest score can be optimal: lowering the threshold
/// between two of them adds false positives and no true positive.
#[expect(
    clippy::float_cmp,
    reason = "windows with exactly equal top scores enter together"
)]
pub fn best_pa_f1(labels: &[bool], scores: &[f64]) -> Result<BestF1, EvalError> {
    check_len(labels, scores.len(), "scores")?;
    let positives = count(labels);
    if positives == 0 {
        return Err(EvalError::NoAnomalies);
    }
    let scores = clean_scores(scores);
    let mut windows: Vec<(f64, usize)> = spans(labels)
        .into_iter()
        .map(|w| {
            let top = scores[w.first..=w.last]
                .iter()
                .copied()
                .fold(f64::NEG_INFINITY, f64::max);
            (top, w.len())
        })
        .collect();
    windows.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut normal: Vec<f64> = labels
        .iter()
        .zip(&scores)
        .filter(|(l, _)| !**l)
        .map(|(_, &s)| s)
        .collect();
    normal.sort_by(|a, b| b.total_cmp(a));
    let (mut best, mut tp, mut fp) = (BestF1::default(), 0usize, 0usize);
    let mut j = 0;
    while j < windows.len() {
        let t = windows[j].0;
        while j < windows.len() && windows[j].0 == t {
            tp += windows[j].1;
            j += 1;
        }
        while fp < normal.len() && normal[fp] >= t {
            fp += 1;
        }
        let f1 = 2.0 * tp as f64 / (2 * tp + fp + positives - tp) as f64;
        if f1 > best.f1 {
            best = BestF1 {
                f1,
                precision: tp as f64 / (tp + fp) as f64,
                recall: tp as f64 / positives as f64,
                threshold: t,
            };
        }
    }
    Ok(best)
}

/// Event-wise scores: recall over true windows, precision over predicted events.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EventScores {
    /// Fraction of predicted events (runs of flags) that overlap a true window.
    pub precision: f64,
    /// Fraction of true windows with at least one flagged row.
    pub recall: f64,
    /// Harmonic mean.
    pub f1: f64,
    /// Number of true windows.
    pub true_events: usize,
    /// True windows hit.
    pub detected_events: usize,
    /// Number of predicted events.
    pub predicted_events: usize,
    /// Predicted events that overlap a true window.
    pub correct_predicted_events: usize,
}

/// Event-wise precision / recall / F1 of `predicted`.
pub fn event_f1(labels: &[bool], predicted: &[bool]) -> Result<EventScores, EvalError> {
    check_len(labels, predicted.len(), "predictions")?;
    let truth = spans(labels);
    let pred = spans(predicted);
    let detected = truth.iter().filter(|w| overlaps_any(**w, &pred)).count();
    let correct = pred.iter().filter(|p| overlaps_any(**p, &truth)).count();
    let recall = ratio(detected as f64, truth.len() as f64);
    let precision = ratio(correct as f64, pred.len() as f64);
    Ok(EventScores {
        precision,
        recall,
        f1: harmonic(precision, recall),
        true_events: truth.len(),
        detected_events: detected,
        predicted_events: pred.len(),
        correct_predicted_events: correct,
    })
}

/// Whether `span` overlaps any of the sorted, disjoint `others` (binary search).
fn overlaps_any(span: RowSpan, others: &[RowSpan]) -> bool {
    let i = others.partition_point(|o| o.last < span.first);
    others.get(i).is_some_and(|o| o.first <= span.last)
}

/// How long one true window waited for its first detection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowDelay {
    /// The true window.
    pub window: RowSpan,
    /// The first flagged row inside it, if any.
    pub first_detection: Option<usize>,
    /// Rows from the window's start to that detection (0 = detected at once).
    pub delay_rows: Option<usize>,
    /// Time from the window's start to that detection, when timestamps were given.
    pub delay_ns: Option<i64>,
}

/// Per-window detection delays: for each true window, the first flagged row inside it.
pub fn detection_delays(
    labels: &[bool],
    predicted: &[bool],
    timestamps: Option<&[Timestamp]>,
) -> Result<Vec<WindowDelay>, EvalError> {
    check_len(labels, predicted.len(), "predictions")?;
    if let Some(ts) = timestamps {
        check_len(labels, ts.len(), "timestamps")?;
    }
    Ok(spans(labels)
        .into_iter()
        .map(|window| {
            let first = (window.first..=window.last).find(|&i| predicted[i]);
            WindowDelay {
                window,
                first_detection: first,
                delay_rows: first.map(|f| f - window.first),
                delay_ns: first
                    .zip(timestamps)
                    .map(|(f, ts)| ts[f].nanos() - ts[window.first].nanos()),
            }
        })
        .collect())
}

/// Detection delays summarised over the detected windows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DelaySummary {
    /// Number of true windows.
    pub windows: usize,
    /// Windows detected (some row flagged inside them).
    pub detected: usize,
    /// Mean delay in rows over detected windows.
    pub mean_rows: Option<f64>,
    /// Median delay in rows over detected windows.
    pub median_rows: Option<f64>,
    /// Largest delay in rows.
    pub max_rows: Option<usize>,
    /// Mean delay in nanoseconds, when timestamps were given.
    pub mean_ns: Option<f64>,
    /// Every window's delay, in order.
    pub per_window: Vec<WindowDelay>,
}

impl DelaySummary {
    /// Summarises per-window delays.
    pub fn from_delays(per_window: Vec<WindowDelay>) -> Self {
        let mut rows: Vec<usize> = per_window.iter().filter_map(|d| d.delay_rows).collect();
        rows.sort_unstable();
        let ns: Vec<i64> = per_window.iter().filter_map(|d| d.delay_ns).collect();
        let mean = |sum: f64, n: usize| (n > 0).then(|| sum / n as f64);
        let median = match rows.len() {
            0 => None,
            n if n % 2 == 1 => Some(rows[n / 2] as f64),
            n => Some((rows[n / 2 - 1] + rows[n / 2]) as f64 / 2.0),
        };
        Self {
            windows: per_window.len(),
            detected: rows.len(),
            mean_rows: mean(rows.iter().sum::<usize>() as f64, rows.len()),
            median_rows: median,
            max_rows: rows.last().copied(),
            mean_ns: mean(ns.iter().map(|&x| x as f64).sum(), ns.len()),
            per_window,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(s: &str) -> Vec<bool> {
        s.chars().map(|c| c == '1').collect()
    }

    #[test]
    fn point_adjust_fills_hit_windows_only() {
        let labels = flags("0111001100");
        let adjusted = point_adjust(&labels, &flags("0010000001")).unwrap();
        assert_eq!(adjusted, flags("0111000001"));
        let s = pa_f1(&labels, &flags("0010000001")).unwrap();
        // tp 3, fp 1, fn 2 → F1 = 6 / 9.
        assert!((s.f1 - 6.0 / 9.0).abs() < 1e-12, "{s:?}");
    }

    #[test]
    fn point_adjust_covers_windows_touching_both_edges() {
        let labels = flags("1100011");
        let adjusted = point_adjust(&labels, &flags("0100010")).unwrap();
        assert_eq!(adjusted, flags("1100011"));
    }

    #[test]
    fn best_pa_f1_by_hand() {
        let labels = flags("01110000110");
        let scores = [0.0, 0.1, 0.9, 0.2, 0.3, 0.0, 0.0, 0.0, 0.5, 0.1, 0.6];
        // t = 0.9: tp 3 fp 0 fn 2 → 6/8; t = 0.5: tp 5 fp 1 (0.6) → 10/11.
        let b = best_pa_f1(&labels, &scores).unwrap();
        assert!((b.f1 - 10.0 / 11.0).abs() < 1e-12, "{b:?}");
        assert!((b.threshold - 0.5).abs() < 1e-12, "{b:?}");
    }

    #[test]
    fn event_f1_counts_events_not_rows() {
        let labels = flags("0111000110000");
        let predicted = flags("0010000000110");
        let e = event_f1(&labels, &predicted).unwrap();
        assert_eq!((e.true_events, e.detected_events), (2, 1));
        assert_eq!((e.predicted_events, e.correct_predicted_events), (2, 1));
        assert!((e.f1 - 0.5).abs() < 1e-12, "{e:?}");
        let none = event_f1(&labels, &flags("0000000000000")).unwrap();
        assert_eq!((none.precision, none.recall, none.f1), (0.0, 0.0, 0.0));
        let all = event_f1(&labels, &[true; 13]).unwrap();
        assert_eq!((all.precision, all.recall), (1.0, 1.0));
    }

    #[test]
    fn delays_in_rows_and_time() {
        let labels = flags("0111100110");
        let predicted = flags("0001100000");
        let ts: Vec<Timestamp> = (0..10).map(|i| Timestamp(i * 10)).collect();
        let d = detection_delays(&labels, &predicted, Some(&ts)).unwrap();
        assert_eq!(d[0].delay_rows, Some(2));
        assert_eq!(d[0].delay_ns, Some(20));
        assert_eq!(d[1].first_detection, None);
        let s = DelaySummary::from_delays(d);
        assert_eq!((s.windows, s.detected, s.max_rows), (2, 1, Some(2)));
        assert_eq!(s.mean_ns, Some(20.0));
    }
}
