//! Thresholding: turns scores into per-row flags and anomaly windows. Separate from scoring,
//! so moving a sensitivity slider re-runs only this (microseconds to milliseconds), never the
//! detector.
//!
//! Rules: a fixed value, the top-k / contamination quantile, a k·MAD robust sigma, and
//! SPOT/DSPOT (extreme value theory, [`spot`]), whose threshold moves along the stream; for
//! live use [`SpotThreshold`] is the online form.

mod spot;

pub use spot::{
    DEFAULT_LEVEL as SPOT_DEFAULT_LEVEL, SpotThreshold, apply as spot_apply, calibration_len,
    fit_gpd,
};

use serde::{Deserialize, Serialize};

use crate::model::{AnomalyWindow, Timestamp, windows_from_flags};

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
    /// SPOT (Siffer et al. 2017): flag scores whose probability under the generalized Pareto
    /// tail fitted over the `level` quantile is below `q`; with `depth`, DSPOT: the same on the
    /// score minus its moving average over `depth` normal scores (for drifting scores).
    /// The first scores (a quarter, 200..=2000) calibrate it.
    Spot {
        /// Risk: the probability of a normal score exceeding the threshold (e.g. 1e-3).
        q: f64,
        /// Initial quantile whose excesses are fitted (default 0.98).
        #[serde(default = "default_spot_level")]
        level: f64,
        /// DSPOT moving-average depth; `None` = plain SPOT.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        depth: Option<usize>,
    },
}

fn default_spot_level() -> f64 {
    spot::DEFAULT_LEVEL
}

impl Default for ThresholdRule {
    fn default() -> Self {
        Self::Mad { k: 4.0 }
    }
}

impl ThresholdRule {
    /// Parses the CLI form: `fixed:3.5`, `quantile:0.01` (or `top:0.01`), `mad:4`,
    /// `spot:1e-3` (optionally `spot:1e-3:0.98` with the level), `dspot:1e-3:50`
    /// (risk and depth, optionally `:level`).
    pub fn parse(text: &str) -> Result<Self, String> {
        const FORMS: &str = "fixed:3, quantile:0.01, mad:4, spot:1e-3, dspot:1e-3:50";
        let mut parts = text.split(':').map(str::trim);
        let kind = parts.next().unwrap_or_default();
        let numbers: Vec<&str> = parts.collect();
        if numbers.is_empty() {
            return Err(format!(
                "threshold {text:?} is not of the form kind:value ({FORMS})"
            ));
        }
        let number = |i: usize| -> Result<Option<f64>, String> {
            numbers
                .get(i)
                .map(|v| {
                    v.parse::<f64>()
                        .map_err(|_| format!("threshold value {v:?} is not a number"))
                })
                .transpose()
        };
        let first = number(0)?.unwrap_or(f64::NAN);
        let max_parts = match kind {
            "spot" => 2,
            "dspot" => 3,
            _ => 1,
        };
        if numbers.len() > max_parts {
            return Err(format!("threshold {text:?} has too many parts ({FORMS})"));
        }
        let rule = match kind {
            "fixed" => Self::Fixed { value: first },
            "quantile" | "top" => Self::Quantile {
                contamination: first,
            },
            "mad" => Self::Mad { k: first },
            "spot" => Self::Spot {
                q: first,
                level: number(1)?.unwrap_or(spot::DEFAULT_LEVEL),
                depth: None,
            },
            "dspot" => {
                let depth = number(1)?
                    .ok_or_else(|| format!("{text:?}: dspot needs a depth (dspot:1e-3:50)"))?;
                if !(depth.fract() == 0.0 && (1.0..=1e6).contains(&depth)) {
                    return Err(format!(
                        "dspot depth {depth} must be a whole number in 1..=1000000"
                    ));
                }
                Self::Spot {
                    q: first,
                    level: number(2)?.unwrap_or(spot::DEFAULT_LEVEL),
                    depth: Some(depth as usize),
                }
            }
            other => return Err(format!("unknown threshold kind {other:?} ({FORMS})")),
        };
        rule.check().map(|()| rule)
    }

    /// Checks the rule's number.
    pub fn check(&self) -> Result<(), String> {
        match *self {
            Self::Fixed { value } if !value.is_finite() => {
                Err("fixed threshold must be finite".into())
            }
            Self::Quantile { contamination } if !(contamination > 0.0 && contamination < 1.0) => {
                Err(format!("contamination {contamination} must be in (0, 1)"))
            }
            Self::Mad { k } if !(k.is_finite() && k >= 0.0) => Err(format!("k = {k} must be ≥ 0")),
            Self::Spot { q, level, depth } => {
                if !(level > 0.0 && level < 1.0) {
                    Err(format!("SPOT level {level} must be in (0, 1)"))
                } else if !(q > 0.0 && q < 1.0 - level) {
                    Err(format!(
                        "SPOT risk q = {q} must be in (0, 1 - level = {})",
                        1.0 - level
                    ))
                } else if matches!(depth, Some(d) if d == 0 || d > 1_000_000) {
                    Err("DSPOT depth must be in 1..=1000000".into())
                } else {
                    Ok(())
                }
            }
            _ => Ok(()),
        }
    }

    /// The score value at and above which rows are flagged; `None` when there is no finite score.
    /// SPOT's threshold moves along the series: this is its value at the last row (see
    /// [`thresholds`](Self::thresholds) for the whole line).
    pub fn threshold(&self, scores: &[f64]) -> Option<f64> {
        if let Self::Fixed { value } = *self {
            return Some(value);
        }
        if let Self::Spot { q, level, depth } = *self {
            let (thresholds, _) = spot::apply(scores, q, level, depth.unwrap_or(0));
            return thresholds.iter().rev().copied().find(|t| t.is_finite());
        }
        let mut finite: Vec<f64> = scores.iter().copied().filter(|s| s.is_finite()).collect();
        if finite.is_empty() {
            return None;
        }
        match *self {
            Self::Fixed { value } => Some(value),
            Self::Spot { .. } => None,
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
                let spread = if mad > 0.0 {
                    1.4826 * mad
                } else {
                    f64::EPSILON * (median.abs() + 1.0)
                };
                Some(median + k * spread)
            }
        }
    }

    /// Per-row flags: `score >= threshold` (SPOT: `score >` its moving threshold); NaN scores
    /// are never flagged.
    pub fn apply(&self, scores: &[f64]) -> Vec<bool> {
        if let Self::Spot { q, level, depth } = *self {
            return spot::apply(scores, q, level, depth.unwrap_or(0)).1;
        }
        match self.threshold(scores) {
            Some(t) => scores.iter().map(|&s| s >= t && s.is_finite()).collect(),
            None => vec![false; scores.len()],
        }
    }
}

impl ThresholdRule {
    /// The threshold of every row, for drawing the threshold line (constant except for SPOT;
    /// NaN where there is none yet).
    pub fn thresholds(&self, scores: &[f64]) -> Vec<f64> {
        if let Self::Spot { q, level, depth } = *self {
            return spot::apply(scores, q, level, depth.unwrap_or(0)).0;
        }
        vec![self.threshold(scores).unwrap_or(f64::NAN); scores.len()]
    }

    /// Scores → flags → anomaly windows (runs of flagged rows) in one call.
    pub fn windows(&self, scores: &[f64], timestamps: &[Timestamp]) -> Vec<AnomalyWindow> {
        windows_from_flags(&self.apply(scores), timestamps)
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
        let flags = ThresholdRule::Quantile {
            contamination: 0.05,
        }
        .apply(&scores);
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
        assert!(
            ThresholdRule::default()
                .apply(&[f64::NAN; 3])
                .iter()
                .all(|&f| !f)
        );
    }

    #[test]
    fn parses_cli_forms() {
        assert_eq!(
            ThresholdRule::parse("fixed:3"),
            Ok(ThresholdRule::Fixed { value: 3.0 })
        );
        assert_eq!(
            ThresholdRule::parse("top:0.01"),
            Ok(ThresholdRule::Quantile {
                contamination: 0.01
            })
        );
        assert!(ThresholdRule::parse("quantile:2").is_err());
        assert!(ThresholdRule::parse("bogus:1").is_err());
        assert!(ThresholdRule::parse("mad").is_err());
        assert_eq!(
            ThresholdRule::parse("spot:1e-3"),
            Ok(ThresholdRule::Spot {
                q: 1e-3,
                level: 0.98,
                depth: None
            })
        );
        assert_eq!(
            ThresholdRule::parse("dspot:1e-4:50:0.99"),
            Ok(ThresholdRule::Spot {
                q: 1e-4,
                level: 0.99,
                depth: Some(50)
            })
        );
        assert!(ThresholdRule::parse("dspot:1e-3").is_err());
        assert!(ThresholdRule::parse("dspot:1e-3:2.5").is_err());
        assert!(ThresholdRule::parse("spot:0.5").is_err());
        assert!(ThresholdRule::parse("spot:1e-3:0.9:7").is_err());
    }

    #[test]
    fn spot_is_serde_tagged_and_level_defaults() {
        let rule: ThresholdRule = serde_json::from_str(r#"{"rule":"spot","q":0.001}"#).unwrap();
        assert_eq!(
            rule,
            ThresholdRule::Spot {
                q: 1e-3,
                level: 0.98,
                depth: None
            }
        );
        let json = serde_json::to_string(&ThresholdRule::Spot {
            q: 1e-3,
            level: 0.98,
            depth: Some(9),
        })
        .unwrap();
        assert_eq!(json, r#"{"rule":"spot","q":0.001,"level":0.98,"depth":9}"#);
        let old: ThresholdRule = serde_json::from_str(r#"{"rule":"mad","k":4.0}"#).unwrap();
        assert_eq!(old, ThresholdRule::Mad { k: 4.0 });
    }

    #[test]
    fn spot_rule_flags_spike_and_gives_windows() {
        // Deterministic exponential-like noise: -ln(u) over a permutation of (0, 1).
        let mut scores: Vec<f64> = (0..2000)
            .map(|i| -((f64::from((i * 7919) % 1000) + 0.5) / 1000.0).ln())
            .collect();
        scores[1500] = 50.0;
        scores[1501] = 40.0;
        let rule = ThresholdRule::Spot {
            q: 1e-4,
            level: 0.98,
            depth: None,
        };
        let ts: Vec<Timestamp> = (0..2000).map(Timestamp).collect();
        let windows = rule.windows(&scores, &ts);
        assert_eq!(windows.len(), 1, "{windows:?}");
        assert_eq!((windows[0].first_row, windows[0].last_row), (1500, 1501));
        let line = rule.thresholds(&scores);
        assert_eq!(line.len(), scores.len());
        assert!(
            line.iter().all(|t| t.is_finite() && *t > 5.0 && *t < 40.0),
            "{line:?}"
        );
        assert!(rule.threshold(&scores).is_some());
    }
}
