//! [`evaluate`]: every metric for one (labels, scores, predictions) triple, in one serde
//! [`EvalReport`], with two baselines computed by the same code: seeded uniform random scores
//! and a constant score. A metric is only meaningful next to what chance and "always the same
//! answer" get on the same labels (point-adjusted F1 gives random scores ~0.7 on long windows).
//!
//! Baseline predictions flag as many rows as the run flagged (the rows with the highest
//! baseline scores, ties included), so threshold-dependent metrics compare at the same alarm
//! budget; a constant score therefore flags everything, or nothing if the run flagged nothing.

use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::adjust::{DelaySummary, EventScores, best_pa_f1, detection_delays, event_f1, pa_f1};
use super::nab::{NabOptions, NabScores, nab_scores};
use super::point::{BestF1, PointScores, best_f1, point_prf, precision_at_k};
use super::range::{RangeOptions, RangeScores, range_prf};
use super::ranking::{average_precision, roc_auc};
use super::tsbad::{TsbAdScores, tsbad_scores};
use super::vus::{VusOptions, VusScores, vus};
use super::{EvalError, check_len, clean_scores, count, spans};
use crate::model::Timestamp;

/// Options of [`evaluate`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EvalOptions {
    /// VUS / Range-AUC options (sliding window, thresholds).
    pub vus: VusOptions,
    /// Range-based precision / recall options.
    pub range: RangeOptions,
    /// NAB options.
    pub nab: NabOptions,
    /// `k` of precision@k; `None` = the number of anomalous rows.
    pub precision_at_k: Option<usize>,
    /// Seed of the random-score baseline.
    pub baseline_seed: u64,
    /// Whether to compute the baselines (doubles the work twice over).
    pub baselines: bool,
}

impl Default for EvalOptions {
    fn default() -> Self {
        Self {
            vus: VusOptions::default(),
            range: RangeOptions::default(),
            nab: NabOptions::default(),
            precision_at_k: None,
            baseline_seed: 0,
            baselines: true,
        }
    }
}

/// Point-adjusted scores, always marked optimistic.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PointAdjusted {
    /// At the given predictions.
    pub at_predictions: PointScores,
    /// Best over all thresholds of the scores.
    pub best: BestF1,
    /// Always true: point adjustment inflates scores (random scores reach ~0.7).
    pub optimistic: bool,
}

/// Every metric for one (labels, scores, predictions) triple.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// ROC-AUC (None when no row is normal).
    pub roc_auc: Option<f64>,
    /// PR-AUC (average precision).
    pub pr_auc: f64,
    /// VUS-ROC/PR and Range-AUC-ROC/PR (None when no row is normal).
    pub vus: Option<VusScores>,
    /// Best point F1 over all thresholds.
    pub best_f1: BestF1,
    /// Point precision / recall / F1 at the given predictions.
    pub point: PointScores,
    /// Point-adjusted F1 (optimistic).
    pub point_adjusted: PointAdjusted,
    /// Event-wise scores at the given predictions.
    pub event: EventScores,
    /// Range-based scores at the given predictions.
    pub range: RangeScores,
    /// NAB scores at the given predictions (None when every window is in the probation period).
    pub nab: Option<NabScores>,
    /// Detection delay per true window.
    pub delay: DelaySummary,
    /// Precision among the k highest scores.
    pub precision_at_k: f64,
    /// TSB-AD 1.5's oracle-threshold F1 variants, for comparison with its leaderboards.
    pub tsb_ad: TsbAdScores,
}

/// The two reference rows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Baselines {
    /// Seed of the random scores.
    pub random_seed: u64,
    /// Uniform random scores in [0, 1).
    pub random: Metrics,
    /// The same score on every row.
    pub constant: Metrics,
}

/// The evaluation of one run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// Number of rows.
    pub rows: usize,
    /// Rows labelled anomalous.
    pub anomalous_rows: usize,
    /// Number of true windows.
    pub true_windows: usize,
    /// Rows the run flagged.
    pub flagged_rows: usize,
    /// Scores that were NaN or infinite (cleaned per the module's NaN contract).
    pub non_finite_scores: usize,
    /// The options used.
    pub options: EvalOptions,
    /// The run's metrics.
    pub metrics: Metrics,
    /// Random-score and constant-score baselines (None when switched off).
    pub baselines: Option<Baselines>,
}

/// Every metric for `scores` and `predicted` against `labels`, plus the baselines.
///
/// # Errors
/// Length mismatches, an empty series, no anomalous row, or invalid options.
pub fn evaluate(
    labels: &[bool],
    scores: &[f64],
    predicted: &[bool],
    timestamps: Option<&[Timestamp]>,
    opts: &EvalOptions,
) -> Result<EvalReport, EvalError> {
    check_len(labels, scores.len(), "scores")?;
    check_len(labels, predicted.len(), "predictions")?;
    if let Some(ts) = timestamps {
        check_len(labels, ts.len(), "timestamps")?;
    }
    if count(labels) == 0 {
        return Err(EvalError::NoAnomalies);
    }
    let metrics = metrics(labels, scores, predicted, timestamps, opts)?;
    let flagged = count(predicted);
    let baselines = if opts.baselines {
        let baseline = |s: &[f64]| {
            let p = predictions_at_rate(s, flagged);
            self::metrics(labels, s, &p, timestamps, opts)
        };
        Some(Baselines {
            random_seed: opts.baseline_seed,
            random: baseline(&random_scores(labels.len(), opts.baseline_seed))?,
            constant: baseline(&constant_scores(labels.len()))?,
        })
    } else {
        None
    };
    Ok(EvalReport {
        rows: labels.len(),
        anomalous_rows: count(labels),
        true_windows: spans(labels).len(),
        flagged_rows: flagged,
        non_finite_scores: scores.iter().filter(|s| !s.is_finite()).count(),
        options: *opts,
        metrics,
        baselines,
    })
}

fn metrics(
    labels: &[bool],
    scores: &[f64],
    predicted: &[bool],
    timestamps: Option<&[Timestamp]>,
    opts: &EvalOptions,
) -> Result<Metrics, EvalError> {
    let scores = clean_scores(scores);
    let scores = scores.as_slice();
    Ok(Metrics {
        roc_auc: defined(roc_auc(labels, scores))?,
        pr_auc: average_precision(labels, scores)?,
        vus: defined(vus(labels, scores, &opts.vus))?,
        best_f1: best_f1(labels, scores)?,
        point: point_prf(labels, predicted)?,
        point_adjusted: PointAdjusted {
            at_predictions: pa_f1(labels, predicted)?,
            best: best_pa_f1(labels, scores)?,
            optimistic: true,
        },
        event: event_f1(labels, predicted)?,
        range: range_prf(labels, predicted, &opts.range)?,
        nab: defined(nab_scores(labels, predicted, &opts.nab))?,
        delay: DelaySummary::from_delays(detection_delays(labels, predicted, timestamps)?),
        precision_at_k: precision_at_k(labels, scores, opts.precision_at_k)?,
        tsb_ad: tsbad_scores(labels, scores)?,
    })
}

/// `Ok(None)` for "undefined on this input" errors, other errors passed on.
fn defined<T>(result: Result<T, EvalError>) -> Result<Option<T>, EvalError> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(EvalError::NoNormalRows { .. } | EvalError::NoAnomalies) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Seeded uniform scores in `[0, 1)` (`ChaCha8`, reproducible across platforms and versions).
pub fn random_scores(len: usize, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..len).map(|_| rng.random::<f64>()).collect()
}

/// The same score (0) on every row.
pub fn constant_scores(len: usize) -> Vec<f64> {
    vec![0.0; len]
}

/// Flags the `k` highest-scoring rows, plus any row tied with the `k`-th (so a constant score
/// flags everything when `k > 0`). NaN scores count as the lowest.
pub fn predictions_at_rate(scores: &[f64], k: usize) -> Vec<bool> {
    if k == 0 {
        return vec![false; scores.len()];
    }
    let scores = clean_scores(scores);
    let mut sorted = scores.clone();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let Some(&cut) = sorted.get(k.min(sorted.len()).saturating_sub(1)) else {
        return vec![false; scores.len()];
    };
    scores.iter().map(|&s| s >= cut).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_has_baselines_and_flags_pa_as_optimistic() {
        let mut labels = vec![false; 400];
        labels[100..140].fill(true);
        labels[300..310].fill(true);
        let scores: Vec<f64> = labels.iter().map(|&l| if l { 2.0 } else { 0.5 }).collect();
        let mut scores = scores;
        scores[0] = f64::NAN;
        let predicted: Vec<bool> = scores.iter().map(|&s| s > 1.0).collect();
        let r = evaluate(&labels, &scores, &predicted, None, &EvalOptions::default()).unwrap();
        assert_eq!(
            (r.rows, r.anomalous_rows, r.true_windows, r.flagged_rows),
            (400, 50, 2, 50)
        );
        assert_eq!(r.non_finite_scores, 1);
        assert!(
            (r.metrics.roc_auc.unwrap() - 1.0).abs() < 1e-12,
            "{:?}",
            r.metrics
        );
        assert!(r.metrics.point_adjusted.optimistic);
        let b = r.baselines.unwrap();
        assert!(
            (b.constant.roc_auc.unwrap() - 0.5).abs() < 1e-12,
            "{:?}",
            b.constant
        );
        assert!(b.random.vus.unwrap().vus_pr < r.metrics.vus.unwrap().vus_pr);
        let text = serde_json::to_string(&b).unwrap();
        assert!(text.contains("\"optimistic\":true"), "{text}");
    }

    #[test]
    fn same_seed_same_baseline() {
        assert_eq!(random_scores(5, 7), random_scores(5, 7));
        assert_ne!(random_scores(5, 7), random_scores(5, 8));
    }

    #[test]
    fn predictions_at_rate_keeps_ties() {
        assert_eq!(
            predictions_at_rate(&[1.0, 3.0, 2.0], 2),
            vec![false, true, true]
        );
        assert_eq!(predictions_at_rate(&[1.0; 3], 1), vec![true; 3]);
        assert_eq!(predictions_at_rate(&[1.0; 3], 0), vec![false; 3]);
    }

    #[test]
    fn inputs_are_checked() {
        let opts = EvalOptions::default();
        assert!(matches!(
            evaluate(&[true, false], &[1.0], &[true, false], None, &opts),
            Err(EvalError::LengthMismatch { what: "scores", .. })
        ));
        assert_eq!(
            evaluate(&[false, false], &[1.0, 0.0], &[true, false], None, &opts),
            Err(EvalError::NoAnomalies)
        );
        assert_eq!(evaluate(&[], &[], &[], None, &opts), Err(EvalError::Empty));
    }
}
