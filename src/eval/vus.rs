//! Range-AUC and VUS (Paparrizos et al., "Volume Under the Surface", VLDB 2022), computed
//! exactly as TSB-AD 1.5's `RangeAUC_volume_opt` does, but in `O(n log n + n·L + L·T)`
//! instead of TSB-AD's `O(n·L·T)` (n rows, L the sliding window, T = 250 thresholds).
//!
//! TSB-AD's definition, per buffer length `ℓ ∈ 0..=L` (`h = ℓ / 2`, integer division):
//! - every true window gets soft margins of `h` rows on each side, weighing `sqrt(1 − d/ℓ)`
//!   at distance `d`; overlapping margins add up and are clipped to 1;
//! - the thresholds are the sorted scores at `T` evenly spaced ranks (numpy
//!   `linspace(0, n−1, T).astype(int)`), flagging `score >= t`;
//! - at each threshold: `TP = (flagged true rows) + Σ margin·flag`, `P' = P + (Σ margin·flag)/2`,
//!   `TPR = min(TP/P', 1) · (windows-with-margins hit / their count)` (touching margins merge),
//!   `FPR = (flagged − TP) / (n − P')`, `precision = TP / flagged`;
//! - `AUC_ℓ` is the trapezoid over (0,0), the T points in threshold order, (1,1); `AP_ℓ` is
//!   `Σ (TPR_k − TPR_{k−1}) · precision_k`. VUS is the mean over ℓ; Range-AUC is ℓ = L.
//!
//! The speed-up: each row enters the flagged set at one threshold index `k_i`, so every
//! per-threshold sum is a prefix sum over rows bucketed by `k_i`. Only margin rows change with
//! `ℓ`, and a margin row's weight depends only on its nearest windows (two margins always sum
//! past 1, since each weighs at least `sqrt(1/2)`).
//!
//! TSB-AD's older `RangeAUC` function is not reproduced: for windows of 4 rows or more it
//! divides by zero (its `np.diff(...) == 1` never fires on soft margins), so Range-AUC here
//! is the ℓ = L slice of the VUS surface, which is what the VUS paper defines it as.

use serde::{Deserialize, Serialize};

use super::tsbad::numpy_linspace;
use super::{EvalError, RowSpan, check_len, clean_scores, count, spans};

/// Options of VUS and Range-AUC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct VusOptions {
    /// The largest buffer length `L` (TSB-AD's `slidingWindow`; its default is 100).
    pub sliding_window: usize,
    /// Number of thresholds (TSB-AD's `thre`, 250).
    pub thresholds: usize,
}

impl Default for VusOptions {
    fn default() -> Self {
        Self {
            sliding_window: 100,
            thresholds: 250,
        }
    }
}

/// VUS and Range-AUC scores.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct VusScores {
    /// Mean range-ROC-AUC over buffer lengths `0..=L`.
    pub vus_roc: f64,
    /// Mean range-PR-AUC over buffer lengths `0..=L`.
    pub vus_pr: f64,
    /// Range-ROC-AUC at buffer length `L`.
    pub range_auc_roc: f64,
    /// Range-PR-AUC at buffer length `L`.
    pub range_auc_pr: f64,
}

/// The per-buffer-length areas behind [`VusScores`] (index = buffer length ℓ).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct VusSurface {
    /// Range-ROC-AUC for ℓ = 0, 1, ..., L.
    pub roc: Vec<f64>,
    /// Range-PR-AUC (AP) for ℓ = 0, 1, ..., L.
    pub pr: Vec<f64>,
}

impl VusSurface {
    /// Means and the ℓ = L slice.
    pub fn scores(&self) -> VusScores {
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
        VusScores {
            vus_roc: mean(&self.roc),
            vus_pr: mean(&self.pr),
            range_auc_roc: self.roc.last().copied().unwrap_or(0.0),
            range_auc_pr: self.pr.last().copied().unwrap_or(0.0),
        }
    }
}

/// VUS-ROC, VUS-PR and Range-AUC-ROC/PR, as TSB-AD 1.5 computes them.
///
/// # Errors
/// Length mismatch, [`EvalError::NoAnomalies`], [`EvalError::NoNormalRows`], or zero
/// thresholds.
pub fn vus(labels: &[bool], scores: &[f64], opts: &VusOptions) -> Result<VusScores, EvalError> {
    Ok(vus_surface(labels, scores, opts)?.scores())
}

/// The full surface: one range-ROC-AUC and one range-PR-AUC per buffer length.
pub fn vus_surface(
    labels: &[bool],
    scores: &[f64],
    opts: &VusOptions,
) -> Result<VusSurface, EvalError> {
    check_len(labels, scores.len(), "scores")?;
    if opts.thresholds == 0 {
        return Err(EvalError::InvalidOption {
            name: "thresholds",
            value: "0".to_owned(),
            reason: "VUS needs at least one threshold",
        });
    }
    let windows = spans(labels);
    if windows.is_empty() {
        return Err(EvalError::NoAnomalies);
    }
    if count(labels) == labels.len() {
        return Err(EvalError::NoNormalRows { metric: "VUS" });
    }
    let sweep = Thresholds::new(labels, &clean_scores(scores), opts.thresholds);
    let mut surface = VusSurface::default();
    let mut margins = Margins::new(opts.thresholds, windows.len());
    for ell in 0..=opts.sliding_window {
        margins.fill(&windows, &sweep.entry, ell);
        let (roc, pr) = sweep.areas(&margins, labels.len());
        surface.roc.push(roc);
        surface.pr.push(pr);
    }
    Ok(surface)
}

/// Rows bucketed by the threshold index at which they become flagged.
struct Thresholds {
    /// `entry[i]`: first threshold index `k` with `score_i >= t_k`.
    entry: Vec<u32>,
    /// Flagged rows at threshold `k` (cumulative).
    flagged: Vec<f64>,
    /// Flagged true rows at threshold `k` (cumulative).
    flagged_true: Vec<f64>,
    positives: f64,
}

impl Thresholds {
    fn new(labels: &[bool], scores: &[f64], t: usize) -> Self {
        let n = scores.len();
        let mut sorted = scores.to_vec();
        sorted.sort_by(|a, b| b.total_cmp(a));
        let thresholds: Vec<f64> = numpy_linspace(0.0, (n - 1) as f64, t)
            .into_iter()
            .map(|x| sorted[(x as usize).min(n - 1)])
            .collect();
        // Thresholds are non-increasing, so "t_k <= s" holds from some k on; the last
        // threshold is the minimum score, so every row enters.
        let entry: Vec<u32> = scores
            .iter()
            .map(|&s| thresholds.partition_point(|&th| th > s).min(t - 1) as u32)
            .collect();
        let (mut flagged, mut flagged_true) = (vec![0.0; t], vec![0.0; t]);
        for (&k, &l) in entry.iter().zip(labels) {
            flagged[k as usize] += 1.0;
            if l {
                flagged_true[k as usize] += 1.0;
            }
        }
        for k in 1..t {
            flagged[k] += flagged[k - 1];
            flagged_true[k] += flagged_true[k - 1];
        }
        Self {
            entry,
            flagged,
            flagged_true,
            positives: count(labels) as f64,
        }
    }

    /// Range-ROC-AUC and range-AP for one buffer length, from its margins.
    fn areas(&self, m: &Margins, n: usize) -> (f64, f64) {
        let (mut margin_tp, mut hit) = (0.0, 0usize);
        let mut prev = (0.0, 0.0); // (fpr, tpr) at the previous threshold
        let (mut roc, mut ap) = (0.0, 0.0);
        for k in 0..self.flagged.len() {
            margin_tp += m.weight[k];
            hit += m.hits[k];
            let tp = self.flagged_true[k] + margin_tp;
            let p_new = (self.positives + (self.positives + margin_tp)) / 2.0;
            let recall = (tp / p_new).min(1.0);
            let tpr = recall * hit as f64 / m.segments as f64;
            let fpr = (self.flagged[k] - tp) / (n as f64 - p_new);
            let precision = tp / self.flagged[k];
            roc += (fpr - prev.0) * (tpr + prev.1) / 2.0;
            ap += (tpr - prev.1) * precision;
            prev = (fpr, tpr);
        }
        roc += (1.0 - prev.0) * (1.0 + prev.1) / 2.0;
        (roc, ap)
    }
}

/// For one buffer length: margin weight and segment hits bucketed by entry threshold.
struct Margins {
    /// `Σ margin weight` of rows entering at threshold `k`.
    weight: Vec<f64>,
    /// Number of merged segments first hit at threshold `k`.
    hits: Vec<usize>,
    /// Number of merged segments (windows with margins; overlapping ones merge).
    segments: usize,
    /// Per window: the earliest entry over its rows and margins.
    first_entry: Vec<u32>,
}

impl Margins {
    fn new(t: usize, windows: usize) -> Self {
        Self {
            weight: vec![0.0; t],
            hits: vec![0; t],
            segments: 0,
            first_entry: vec![0; windows],
        }
    }

    fn fill(&mut self, windows: &[RowSpan], entry: &[u32], ell: usize) {
        self.weight.fill(0.0);
        self.hits.fill(0);
        let h = ell / 2;
        let n = entry.len();
        let soft = |d: usize| (1.0 - d as f64 / ell as f64).sqrt();
        for (j, w) in windows.iter().enumerate() {
            self.first_entry[j] = entry[w.first..=w.last].iter().copied().min().unwrap_or(0);
        }
        if h > 0 {
            // Gap before window j (after window j − 1, or the series start).
            for j in 0..=windows.len() {
                let left = j.checked_sub(1).map(|i| windows[i]);
                let right = windows.get(j).copied();
                let far_left = j.checked_sub(2).map(|i| windows[i].last);
                let far_right = windows.get(j + 1).map(|w| w.first);
                let lo = left.map_or(0, |w| w.last + 1);
                let hi = right.map_or(n, |w| w.first); // exclusive
                let left_end = left.map_or(lo, |w| (w.last + h + 1).min(hi));
                let right_start = right.map_or(hi, |w| w.first.saturating_sub(h).max(lo));
                let rows = (lo..left_end).chain(right_start.max(left_end)..hi);
                for p in rows {
                    let dl = left.map(|w| p - w.last);
                    let dr = right.map(|w| w.first - p);
                    let in_left = dl.is_some_and(|d| d <= h);
                    let in_right = dr.is_some_and(|d| d <= h);
                    let crowded = (in_left && in_right)
                        || far_left.is_some_and(|e| p - e <= h)
                        || far_right.is_some_and(|s| s - p <= h);
                    let weight = match (crowded, dl, dr) {
                        (true, _, _) => 1.0,
                        (false, Some(d), _) if in_left => soft(d),
                        (false, _, Some(d)) if in_right => soft(d),
                        _ => 0.0,
                    };
                    let k = entry[p];
                    self.weight[k as usize] += weight;
                    if in_left {
                        self.first_entry[j - 1] = self.first_entry[j - 1].min(k);
                    }
                    if in_right {
                        self.first_entry[j] = self.first_entry[j].min(k);
                    }
                }
            }
        }
        // Merge windows whose margins overlap, as TSB-AD's `new_sequence` does.
        self.segments = 0;
        let mut j = 0;
        while j < windows.len() {
            let mut first = self.first_entry[j];
            while j + 1 < windows.len() && windows[j].last + 2 * h >= windows[j + 1].first {
                j += 1;
                first = first.min(self.first_entry[j]);
            }
            self.hits[first as usize] += 1;
            self.segments += 1;
            j += 1;
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
    fn perfect_detector_without_margins() {
        // ℓ = 0 and 1 have no margins: a perfect ranking has ROC 1 and AP close to 1.
        let labels = flags("0001100000");
        let scores = [0.0, 0.0, 0.1, 0.9, 0.8, 0.1, 0.0, 0.0, 0.0, 0.0];
        let opts = VusOptions {
            sliding_window: 1,
            thresholds: 10,
        };
        let s = vus_surface(&labels, &scores, &opts).unwrap();
        assert!((s.roc[0] - 1.0).abs() < 1e-12, "{s:?}");
        assert!(
            (s.roc[0] - s.roc[1]).abs() < 1e-15,
            "ℓ = 1 has no margin either"
        );
        assert!((s.pr[0] - 1.0).abs() < 1e-12, "{s:?}");
    }

    #[test]
    fn margins_credit_near_misses() {
        let labels = flags("00000011000000");
        let scores = [0., 0., 0., 0., 0., 0.9, 0., 0., 0., 0., 0., 0., 0., 0.];
        let opts = VusOptions {
            sliding_window: 4,
            thresholds: 14,
        };
        let s = vus_surface(&labels, &scores, &opts).unwrap();
        assert!(
            s.pr[4] > s.pr[0],
            "a detection just before the window helps: {s:?}"
        );
    }

    #[test]
    fn undefined_inputs_are_errors() {
        let opts = VusOptions::default();
        assert_eq!(
            vus(&[false; 4], &[0.0; 4], &opts),
            Err(EvalError::NoAnomalies)
        );
        assert!(vus(&[true; 4], &[0.0; 4], &opts).is_err());
        let zero = VusOptions {
            thresholds: 0,
            ..opts
        };
        assert!(vus(&[true, false], &[0.0; 2], &zero).is_err());
    }
}
