//! Threshold-free ranking metrics: ROC-AUC and PR-AUC (average precision), defined exactly as
//! scikit-learn's `roc_auc_score` and `average_precision_score` (tied scores form one
//! threshold; ROC by the trapezoid rule, AP as the step sum `Σ (R_k − R_{k−1}) P_k`).

use super::EvalError;
use super::point::Sweep;

/// Area under the ROC curve (trapezoids over distinct thresholds, so ties count one half).
///
/// # Errors
/// [`EvalError::NoAnomalies`] or [`EvalError::NoNormalRows`] when a class is missing.
pub fn roc_auc(labels: &[bool], scores: &[f64]) -> Result<f64, EvalError> {
    let sweep = Sweep::new(labels, scores)?;
    if sweep.negatives == 0 {
        return Err(EvalError::NoNormalRows { metric: "ROC-AUC" });
    }
    // Twice the area in units of (one tp) × (one fp), summed exactly in integers.
    let mut area2 = 0u128;
    let mut prev = (0u128, 0u128); // (tp, fp) at the previous threshold
    for k in 0..sweep.len() {
        let (tp, fp) = (sweep.tp[k] as u128, sweep.fp[k] as u128);
        area2 += (fp - prev.1) * (tp + prev.0);
        prev = (tp, fp);
    }
    Ok(area2 as f64 / (2.0 * sweep.positives as f64 * sweep.negatives as f64))
}

/// Average precision: the PR-AUC without interpolation, as scikit-learn computes it.
///
/// # Errors
/// [`EvalError::NoAnomalies`] when no row is anomalous.
pub fn average_precision(labels: &[bool], scores: &[f64]) -> Result<f64, EvalError> {
    let sweep = Sweep::new(labels, scores)?;
    let p = sweep.positives as f64;
    let mut ap = 0.0;
    let mut prev_tp = 0usize;
    for k in 0..sweep.len() {
        let (tp, fp) = (sweep.tp[k], sweep.fp[k]);
        ap += (tp - prev_tp) as f64 / p * (tp as f64 / (tp + fp) as f64);
        prev_tp = tp;
    }
    Ok(ap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_and_reversed_rankings() {
        let labels = [false, false, true, true];
        assert!((roc_auc(&labels, &[0.1, 0.2, 0.8, 0.9]).unwrap() - 1.0).abs() < 1e-12);
        assert!(roc_auc(&labels, &[0.9, 0.8, 0.2, 0.1]).unwrap().abs() < 1e-12);
        assert!((average_precision(&labels, &[0.1, 0.2, 0.8, 0.9]).unwrap() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn sklearn_doc_example() {
        // scikit-learn docs: y = [0 0 1 1], s = [0.1 0.4 0.35 0.8] → ROC 0.75, AP 0.8333...
        let labels = [false, false, true, true];
        let s = [0.1, 0.4, 0.35, 0.8];
        assert!((roc_auc(&labels, &s).unwrap() - 0.75).abs() < 1e-12);
        assert!((average_precision(&labels, &s).unwrap() - 0.833_333_333_333_333_4).abs() < 1e-12);
    }

    #[test]
    fn constant_scores_give_half_and_the_base_rate() {
        let labels = [false, true, false, false];
        assert!((roc_auc(&labels, &[1.0; 4]).unwrap() - 0.5).abs() < 1e-12);
        assert!((average_precision(&labels, &[1.0; 4]).unwrap() - 0.25).abs() < 1e-12);
    }

    #[test]
    fn missing_classes_are_errors() {
        assert_eq!(roc_auc(&[false; 3], &[1.0; 3]), Err(EvalError::NoAnomalies));
        assert!(matches!(
            roc_auc(&[true; 3], &[1.0; 3]),
            Err(EvalError::NoNormalRows { .. })
        ));
        assert!((average_precision(&[true; 3], &[1.0, 2.0, 3.0]).unwrap() - 1.0).abs() < 1e-12);
    }
}
