//! Detector selection without labels: the engine injects synthetic anomalies of several kinds
//! into the user's own series and scores every detector on what it injected; this file turns
//! those per-detector scores into a [`DetectorRanking`] (the suggestion), and compares a
//! suggested ranking with a true one ([`RankAgreement`]: Spearman, Kendall, top-1 hit, and the
//! regret of picking the suggestion).

use serde::{Deserialize, Serialize};

use super::correlation::{kendall_tau_b, ranks, spearman};

/// One detector's place in a ranking.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RankedDetector {
    /// Detector id.
    pub detector: String,
    /// The score that ranks (mean VUS-PR on the injected anomalies; NaN = failed).
    pub score: f64,
    /// Rank, 1 = best (ties averaged; failures last).
    pub rank: f64,
}

/// Detectors ranked by a score, best first.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DetectorRanking {
    /// Best first.
    pub detectors: Vec<RankedDetector>,
}

impl DetectorRanking {
    /// Ranks `(detector, score)` pairs, higher score = better, NaN last.
    pub fn from_scores(scores: &[(String, f64)]) -> Self {
        let values: Vec<f64> = scores.iter().map(|(_, s)| *s).collect();
        let r = ranks(&values, true);
        let mut detectors: Vec<RankedDetector> = scores
            .iter()
            .zip(r)
            .map(|((d, s), rank)| RankedDetector {
                detector: d.clone(),
                score: *s,
                rank,
            })
            .collect();
        detectors.sort_by(|a, b| {
            a.rank
                .total_cmp(&b.rank)
                .then_with(|| a.detector.cmp(&b.detector))
        });
        Self { detectors }
    }

    /// The suggested detector (best score), if any detector has a finite score.
    pub fn top(&self) -> Option<&RankedDetector> {
        self.detectors.first().filter(|d| d.score.is_finite())
    }

    /// The score of `detector`, NaN when absent.
    pub fn score_of(&self, detector: &str) -> f64 {
        self.detectors
            .iter()
            .find(|d| d.detector == detector)
            .map_or(f64::NAN, |d| d.score)
    }
}

/// How well a suggested ranking predicts the true one (over the detectors in both).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RankAgreement {
    /// Detectors compared (finite in both rankings).
    pub detectors: usize,
    /// Spearman's ρ between the two scores.
    pub spearman: Option<f64>,
    /// Kendall's τ-b.
    pub kendall: Option<f64>,
    /// Whether the suggested top detector is (one of) the truly best.
    pub top1_hit: bool,
    /// True score of the truly best detector minus that of the suggested one (0 = no loss).
    pub regret: f64,
    /// The suggested detector.
    pub suggested: String,
    /// The truly best detector.
    pub best: String,
}

impl RankAgreement {
    /// Compares `suggested` with `truth` on the detectors with a finite score in both.
    /// `None` when fewer than two detectors are comparable.
    pub fn compare(suggested: &DetectorRanking, truth: &DetectorRanking) -> Option<Self> {
        let pairs: Vec<(&str, f64, f64)> = suggested
            .detectors
            .iter()
            .filter(|d| d.score.is_finite())
            .filter_map(|d| {
                let t = truth.score_of(&d.detector);
                t.is_finite().then_some((d.detector.as_str(), d.score, t))
            })
            .collect();
        if pairs.len() < 2 {
            return None;
        }
        let s: Vec<f64> = pairs.iter().map(|p| p.1).collect();
        let t: Vec<f64> = pairs.iter().map(|p| p.2).collect();
        let pick = |v: &[f64]| {
            let mut best = 0;
            for (i, &x) in v.iter().enumerate() {
                if x > v[best] {
                    best = i;
                }
            }
            best
        };
        let (si, ti) = (pick(&s), pick(&t));
        Some(Self {
            detectors: pairs.len(),
            spearman: spearman(&s, &t),
            kendall: kendall_tau_b(&s, &t),
            top1_hit: t[si] >= t[ti],
            regret: t[ti] - t[si],
            suggested: pairs[si].0.to_owned(),
            best: pairs[ti].0.to_owned(),
        })
    }
}

/// Agreement over several datasets.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AgreementSummary {
    /// Datasets compared.
    pub datasets: usize,
    /// Mean Spearman's ρ (over datasets where it is defined).
    pub mean_spearman: Option<f64>,
    /// Mean Kendall's τ-b.
    pub mean_kendall: Option<f64>,
    /// Datasets where the suggestion was (one of) the truly best.
    pub top1_hits: usize,
    /// Mean regret (true score lost by taking the suggestion).
    pub mean_regret: Option<f64>,
}

impl AgreementSummary {
    /// Means over `agreements`.
    pub fn from_agreements(agreements: &[RankAgreement]) -> Self {
        let mean = |v: Vec<f64>| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
        Self {
            datasets: agreements.len(),
            mean_spearman: mean(agreements.iter().filter_map(|a| a.spearman).collect()),
            mean_kendall: mean(agreements.iter().filter_map(|a| a.kendall).collect()),
            top1_hits: agreements.iter().filter(|a| a.top1_hit).count(),
            mean_regret: mean(agreements.iter().map(|a| a.regret).collect()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranking(pairs: &[(&str, f64)]) -> DetectorRanking {
        DetectorRanking::from_scores(
            &pairs
                .iter()
                .map(|(d, s)| ((*d).to_owned(), *s))
                .collect::<Vec<_>>(),
        )
    }

    #[test]
    fn ranking_sorts_best_first_and_failures_last() {
        let r = ranking(&[("a", 0.2), ("b", f64::NAN), ("c", 0.7)]);
        let order: Vec<&str> = r.detectors.iter().map(|d| d.detector.as_str()).collect();
        assert_eq!(order, vec!["c", "a", "b"]);
        assert_eq!(r.top().unwrap().detector, "c");
        assert!(ranking(&[("x", f64::NAN)]).top().is_none());
    }

    #[test]
    fn agreement_of_identical_and_reversed_orders() {
        let truth = ranking(&[("a", 0.9), ("b", 0.5), ("c", 0.1)]);
        let same = ranking(&[("a", 0.6), ("b", 0.4), ("c", 0.3), ("d", f64::NAN)]);
        let agree = RankAgreement::compare(&same, &truth).unwrap();
        assert_eq!(agree.detectors, 3);
        assert!((agree.spearman.unwrap() - 1.0).abs() < 1e-12);
        assert!((agree.kendall.unwrap() - 1.0).abs() < 1e-12);
        assert!(agree.top1_hit);
        assert!(agree.regret.abs() < 1e-12);

        let reversed = ranking(&[("a", 0.1), ("b", 0.4), ("c", 0.6)]);
        let agree = RankAgreement::compare(&reversed, &truth).unwrap();
        assert!((agree.spearman.unwrap() + 1.0).abs() < 1e-12);
        assert!(!agree.top1_hit);
        assert!((agree.regret - 0.8).abs() < 1e-12);
        assert_eq!((agree.suggested.as_str(), agree.best.as_str()), ("c", "a"));
        assert!(RankAgreement::compare(&ranking(&[("a", 1.0)]), &truth).is_none());

        let both = [RankAgreement::compare(&same, &truth).unwrap(), agree];
        let summary = AgreementSummary::from_agreements(&both);
        assert_eq!((summary.datasets, summary.top1_hits), (2, 1));
        assert!(summary.mean_spearman.unwrap().abs() < 1e-12);
        assert!((summary.mean_regret.unwrap() - 0.4).abs() < 1e-12);
    }
}
