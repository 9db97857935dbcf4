//! Thresholding: turns scores into per-row flags. Separate from scoring, so moving a
//! sensitivity slider re-runs only this (microseconds), never the detector.

use serde::{Deserialize, Serialize};

/// How a score becomes "anomalous". NaN scores (warm-up) are never flagged.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum ThresholdRule {
    /// Flag scores at or above a fixed value.
    Fixed {
        /// The threshold.
        value: f64,
    },
    /// Flag the top `contamination` fraction of finite scores (e.g. 0.01 = top 1 %).
    Quantile {
        /// Fraction in (0, 1).
        contamination: f64,
    },
    /// Flag scores above `median + k · 1.4826 · MAD` of the finite scores: a robust
    /// "k sigma" rule that adapts to each detector's scale.
    Mad {
        /// Number of robust standard deviations.
        k: f64,
    },
}

impl Default for ThresholdRule {
    fn default() -> Self {
        Self::Mad { k: 4.0 }
    }
}

impl ThresholdRule {
    /// Parses the CLI form: `fixed:3.5`, `quantile:0.01` (or `top:0.01`), `mad:4`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (kind, value) = text
            .split_once(':')
            .ok_or_else(|| format!("threshold {text:?} is not of the form kind:value (fixed:3, quantile:0.01, mad:4)"))?;
        let value: f64 = value
            .trim()
            .parse()
            .map_err(|_| format!("threshold value {value:?} is not a number"))?;
        let rule = match kind.trim() {
            "fixed" => Self::Fixed { value },
            "quantile" | "top" => Self::Quantile { contamination: value },
            "mad" => Self::Mad { k: value },
            other => return Err(format!("unknown threshold kind {other:?} (fixed, quantile, mad)")),
        };
        rule.check().map(|()| rule)
    }

    /// Checks the rule's number.
    pub fn check(&self) -> Result<(), String> {
        match *self {
            Self::Fixed { value } if !value.is_finite() => Err("fixed threshold must be finite".into()),
            Self::Quantile { contamination } if !(contamination > 0.0 && contamination < 1.0) => {
                Err(format!("contamination {contamination} must be in (0, 1)"))
            }
            Self::Mad { k } if !(k.is_finite() && k >= 0.0) => Err(format!("k = {k} must be ≥ 0")),
            _ => Ok(()),
        }
    }

    /// The score value at and above which rows are flagged; `None` when there is no finite score.
    pub fn threshold(&self, scores: &[f64]) -> Option<f64> {
        if let Self::Fixed { value } = *self {
            return Some(value);
        }
        let mut finite: Vec<f64> = scores.iter().copied().filter(|s| s.is_finite()).collect();
        if finite.is_empty() {
            return None;
        }
        match *self {
            Self::Fixed { value } => Some(value),
            Self::Quantile { contamination } => {
                finite.sort_unstable_by(f64::total_cmp);
                let keep = ((finite.len() as f64) * contamination).ceil().max(1.0) as usize;
                finite.get(finite.len() - keep.min(finite.len())).copied()
            }
            Self::Mad { k } => {
                let median = median_in_place(&mut finite);
                let mut deviations: Vec<f64> = finite.iter().map(|s| (s - median).abs()).collect();
                let mad = median_in_place(&mut deviations);
                // A zero MAD (mostly constant scores) would flag every non-median value;
                // nudge the threshold just above the median instead.
                let spread = if mad > 0.0 { 1.4826 * mad } else { f64::EPSILON * (median.abs() + 1.0) };
                Some(median + k * spread)
            }
        }
    }

    /// Per-row flags: `score >= threshold`; NaN scores are never flagged.
    pub fn apply(&self, scores: &[f64]) -> Vec<bool> {
        match self.threshold(scores) {
            Some(t) => scores.iter().map(|&s| s >= t && s.is_finite()).collect(),
            None => vec![false; scores.len()],
        }
    }
}

fn median_in_place(values: &mut [f64]) -> f64 {
    let mid = values.len() / 2;
    let (_, m, _) = values.select_nth_unstable_by(mid, f64::total_cmp);
    *m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_flags_at_and_above() {
        let flags = ThresholdRule::Fixed { value: 2.0 }.apply(&[1.0, 2.0, 3.0, f64::NAN]);
        assert_eq!(flags, vec![false, true, true, false]);
    }

    #[test]
    fn quantile_flags_top_fraction() {
        let scores: Vec<f64> = (0..100).map(f64::from).collect();
        let flags = ThresholdRule::Quantile { contamination: 0.05 }.apply(&scores);
        assert_eq!(flags.iter().filter(|&&f| f).count(), 5);
        assert!(flags[95..].iter().all(|&f| f));
    }

    #[test]
    fn mad_flags_outlier_only() {
        let mut scores = vec![1.0, 1.1, 0.9, 1.0, 1.05, 0.95, 1.0];
        scores.push(10.0);
        let flags = ThresholdRule::Mad { k: 4.0 }.apply(&scores);
        assert_eq!(flags.iter().filter(|&&f| f).count(), 1);
        assert!(flags[7]);
    }

    #[test]
    fn constant_scores_flag_nothing() {
        let flags = ThresholdRule::Mad { k: 4.0 }.apply(&[0.0; 10]);
        assert!(flags.iter().all(|&f| !f));
        assert!(ThresholdRule::default().apply(&[f64::NAN; 3]).iter().all(|&f| !f));
    }

    #[test]
    fn parses_cli_forms() {
        assert_eq!(ThresholdRule::parse("fixed:3"), Ok(ThresholdRule::Fixed { value: 3.0 }));
        assert_eq!(
            ThresholdRule::parse("top:0.01"),
            Ok(ThresholdRule::Quantile { contamination: 0.01 })
        );
        assert!(ThresholdRule::parse("quantile:2").is_err());
        assert!(ThresholdRule::parse("bogus:1").is_err());
        assert!(ThresholdRule::parse("mad").is_err());
    }
}
