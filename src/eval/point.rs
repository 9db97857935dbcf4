//! Point-wise metrics: every row counts once. Precision / recall / F1 at given predictions or
//! at a threshold, the exact best F1 over all thresholds (one sort), and precision@k.
//!
//! Also the shared [`Sweep`]: the scores sorted once, descending, grouped into distinct
//! thresholds with cumulative true and false positives. The ranking metrics and the TSB-AD
//! reproductions read the same sweep, so ties are handled the same way everywhere (as
//! scikit-learn's `_binary_clf_curve` does: tied scores enter together).

use serde::{Deserialize, Serialize};

use super::{EvalError, check_len, clean_scores, count, ratio};

/// Counts of a binary prediction against the truth.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confusion {
    /// Anomalous rows flagged.
    pub tp: usize,
    /// Normal rows flagged.
    pub fp: usize,
    /// Anomalous rows missed.
    pub fn_: usize,
    /// Normal rows not flagged.
    pub tn: usize,
}

impl Confusion {
    /// `tp / (tp + fp)`, 0 when nothing is flagged.
    pub fn precision(&self) -> f64 {
        ratio(self.tp as f64, (self.tp + self.fp) as f64)
    }

    /// `tp / (tp + fn)`, 0 when nothing is anomalous.
    pub fn recall(&self) -> f64 {
        ratio(self.tp as f64, (self.tp + self.fn_) as f64)
    }

    /// `2 tp / (2 tp + fp + fn)`, 0 when the denominator is 0.
    pub fn f1(&self) -> f64 {
        ratio(
            2.0 * self.tp as f64,
            (2 * self.tp + self.fp + self.fn_) as f64,
        )
    }

    /// The three scores together.
    pub fn scores(&self) -> PointScores {
        PointScores {
            precision: self.precision(),
            recall: self.recall(),
            f1: self.f1(),
        }
    }
}

/// Precision, recall and F1 of one prediction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PointScores {
    /// Fraction of flagged rows that are anomalous.
    pub precision: f64,
    /// Fraction of anomalous rows that are flagged.
    pub recall: f64,
    /// Harmonic mean of the two.
    pub f1: f64,
}

/// The best F1 over all thresholds and where it is reached.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BestF1 {
    /// The best F1.
    pub f1: f64,
    /// Precision at that threshold.
    pub precision: f64,
    /// Recall at that threshold.
    pub recall: f64,
    /// The threshold (rows with `score >= threshold` are flagged).
    pub threshold: f64,
}

/// The confusion counts of `predicted` against `labels`.
pub fn confusion(labels: &[bool], predicted: &[bool]) -> Result<Confusion, EvalError> {
    check_len(labels, predicted.len(), "predictions")?;
    let mut c = Confusion::default();
    for (&l, &p) in labels.iter().zip(predicted) {
        match (l, p) {
            (true, true) => c.tp += 1,
            (false, true) => c.fp += 1,
            (true, false) => c.fn_ += 1,
            (false, false) => c.tn += 1,
        }
    }
    Ok(c)
}

/// Point precision / recall / F1 of given predictions.
pub fn point_prf(labels: &[bool], predicted: &[bool]) -> Result<PointScores, EvalError> {
    Ok(confusion(labels, predicted)?.scores())
}

/// Point precision / recall / F1 when rows with `score >= threshold` are flagged.
pub fn point_prf_at(
    labels: &[bool],
    scores: &[f64],
    threshold: f64,
) -> Result<PointScores, EvalError> {
    check_len(labels, scores.len(), "scores")?;
    let predicted: Vec<bool> = clean_scores(scores)
        .iter()
        .map(|&s| s >= threshold)
        .collect();
    point_prf(labels, &predicted)
}

/// The exact best point F1 over every distinct threshold (one sort, `O(n log n)`).
pub fn best_f1(labels: &[bool], scores: &[f64]) -> Result<BestF1, EvalError> {
    let sweep = Sweep::new(labels, scores)?;
    let p = sweep.positives as f64;
    let mut best = BestF1::default();
    for k in 0..sweep.len() {
        let (tp, fp) = (sweep.tp[k] as f64, sweep.fp[k] as f64);
        let f1 = 2.0 * tp / (tp + fp + p);
        if f1 > best.f1 {
            best = BestF1 {
                f1,
                precision: tp / (tp + fp),
                recall: tp / p,
                threshold: sweep.thresholds[k],
            };
        }
    }
    if best.f1 == 0.0 {
        best.threshold = sweep.thresholds.first().copied().unwrap_or(0.0);
    }
    Ok(best)
}

/// Precision among the `k` highest scores (`k` defaults to the number of anomalous rows, as
/// in TSB-AD). Ties at the cut are resolved by expectation: if the cut splits a group of tied
/// scores, each tied row counts with the group's fraction of anomalies, so a constant score
/// gets exactly the anomaly rate rather than whatever row order would give.
pub fn precision_at_k(labels: &[bool], scores: &[f64], k: Option<usize>) -> Result<f64, EvalError> {
    let sweep = Sweep::new(labels, scores)?;
    let k = k.unwrap_or(sweep.positives).min(labels.len());
    if k == 0 {
        return Err(EvalError::InvalidOption {
            name: "k",
            value: "0".to_owned(),
            reason: "precision@k needs k >= 1",
        });
    }
    let (mut prev_tp, mut prev_n) = (0usize, 0usize);
    for j in 0..sweep.len() {
        let (tp, n) = (sweep.tp[j], sweep.tp[j] + sweep.fp[j]);
        if n >= k {
            let group_rate = (tp - prev_tp) as f64 / (n - prev_n) as f64;
            let hits = prev_tp as f64 + (k - prev_n) as f64 * group_rate;
            return Ok(hits / k as f64);
        }
        (prev_tp, prev_n) = (tp, n);
    }
    Ok(prev_tp as f64 / k as f64)
}

/// Scores sorted once, descending, grouped by distinct value: after group `k`, every row with
/// `score >= thresholds[k]` is flagged, `tp[k]` of them anomalous and `fp[k]` normal.
#[derive(Debug)]
pub(super) struct Sweep {
    pub thresholds: Vec<f64>,
    pub tp: Vec<usize>,
    pub fp: Vec<usize>,
    pub positives: usize,
    pub negatives: usize,
}

impl Sweep {
    /// Builds the sweep; errors when lengths differ or no row is anomalous.
    #[expect(
        clippy::float_cmp,
        reason = "exactly tied scores form one threshold, as in scikit-learn"
    )]
    pub fn new(labels: &[bool], scores: &[f64]) -> Result<Self, EvalError> {
        check_len(labels, scores.len(), "scores")?;
        let positives = count(labels);
        if positives == 0 {
            return Err(EvalError::NoAnomalies);
        }
        let scores = clean_scores(scores);
        let mut order: Vec<usize> = (0..scores.len()).collect();
        order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
        let mut sweep = Self {
            thresholds: Vec::new(),
            tp: Vec::new(),
            fp: Vec::new(),
            positives,
            negatives: labels.len() - positives,
        };
        let (mut tp, mut fp) = (0, 0);
        for (pos, &i) in order.iter().enumerate() {
            if labels[i] {
                tp += 1;
            } else {
                fp += 1;
            }
            let last_of_group = order
                .get(pos + 1)
                .is_none_or(|&next| scores[next] != scores[i]);
            if last_of_group {
                sweep.thresholds.push(scores[i]);
                sweep.tp.push(tp);
                sweep.fp.push(fp);
            }
        }
        Ok(sweep)
    }

    /// Number of distinct thresholds.
    pub fn len(&self) -> usize {
        self.thresholds.len()
    }
}

/// F1 with TSB-AD's `2pr / (p + r + eps)`, best over the sweep (used by `tsbad.rs`).
pub(super) fn best_f1_eps(sweep: &Sweep, eps: f64) -> f64 {
    let p = sweep.positives as f64;
    (0..sweep.len())
        .map(|k| {
            let (tp, fp) = (sweep.tp[k] as f64, sweep.fp[k] as f64);
            let (prec, rec) = (tp / (tp + fp), tp / p);
            2.0 * prec * rec / (prec + rec + eps)
        })
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: [bool; 6] = [false, true, true, false, false, true];

    #[test]
    fn confusion_counts_by_hand() {
        let c = confusion(&L, &[true, true, false, false, false, true]).unwrap();
        assert_eq!(
            c,
            Confusion {
                tp: 2,
                fp: 1,
                fn_: 1,
                tn: 2
            }
        );
        let s = c.scores();
        assert!((s.precision - 2.0 / 3.0).abs() < 1e-12, "{s:?}");
        assert!((s.recall - 2.0 / 3.0).abs() < 1e-12, "{s:?}");
        assert!((s.f1 - 2.0 / 3.0).abs() < 1e-12, "{s:?}");
    }

    #[test]
    fn no_and_all_detections() {
        let none = point_prf(&L, &[false; 6]).unwrap();
        assert_eq!(none, PointScores::default());
        let all = point_prf(&L, &[true; 6]).unwrap();
        assert!((all.precision - 0.5).abs() < 1e-12, "{all:?}");
        assert!((all.recall - 1.0).abs() < 1e-12, "{all:?}");
        assert!((all.f1 - 2.0 / 3.0).abs() < 1e-12, "{all:?}");
    }

    #[test]
    fn best_f1_finds_the_exact_threshold() {
        // Thresholds 0.9 → {1}: P=1 R=1/3 F=0.5; 0.8 → {1,2}: F=0.8; 0.7 → +row 0 (normal):
        // F=2*2/(3+3)=0.667; 0.6 → +row 5: F=2*3/(4+3)=0.857.
        let scores = [0.7, 0.9, 0.8, 0.1, 0.2, 0.6];
        let b = best_f1(&L, &scores).unwrap();
        assert!((b.f1 - 6.0 / 7.0).abs() < 1e-12, "{b:?}");
        assert!((b.threshold - 0.6).abs() < 1e-12, "{b:?}");
        let at = point_prf_at(&L, &scores, 0.6).unwrap();
        assert!((at.f1 - b.f1).abs() < 1e-12, "{at:?}");
    }

    #[test]
    fn ties_enter_together() {
        // All tied: the only threshold flags everything.
        let b = best_f1(&L, &[1.0; 6]).unwrap();
        assert!((b.f1 - 2.0 / 3.0).abs() < 1e-12, "{b:?}");
    }

    #[test]
    fn precision_at_k_splits_ties_by_expectation() {
        let p = precision_at_k(&L, &[0.5; 6], None).unwrap();
        assert!(
            (p - 0.5).abs() < 1e-12,
            "constant scores give the anomaly rate: {p}"
        );
        let p = precision_at_k(&L, &[0.0, 3.0, 2.0, 1.0, 0.0, 0.0], None).unwrap();
        // Top 3 = rows 1, 2, 3: two hits.
        assert!((p - 2.0 / 3.0).abs() < 1e-12, "{p}");
        assert!(precision_at_k(&L, &[0.0; 6], Some(0)).is_err());
    }

    #[test]
    fn no_anomalies_is_an_error_for_sweeps() {
        assert_eq!(
            best_f1(&[false; 3], &[1.0, 2.0, 3.0]).unwrap_err(),
            EvalError::NoAnomalies
        );
    }
}
