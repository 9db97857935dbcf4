//! [`OnlineThreshold`]: a [`ThresholdRule`] applied one score at a time, as a stream needs.
//!
//! - `fixed` is online by nature;
//! - `spot` / `dspot` use [`SpotThreshold`], the online SPOT/DSPOT of `detect::threshold`
//!   (its threshold moves with the stream, anomalies are not learned from);
//! - `quantile` and `mad` need the whole score distribution: online they calibrate on the
//!   first finite scores (the same count SPOT calibrates on) and then stay fixed.
//!
//! Differences from the batch rules, by design: calibration scores are answered "not
//! anomalous" (the batch rules judge them afterwards, which a stream cannot).

use crate::detect::threshold::calibration_len;
use crate::detect::{SpotThreshold, ThresholdRule};

/// One detector's online threshold.
#[derive(Clone, Debug)]
pub enum OnlineThreshold {
    /// A constant.
    Fixed(f64),
    /// SPOT or DSPOT.
    Spot(Box<SpotThreshold>),
    /// Quantile or MAD: collects `need` finite scores, then fixes the threshold.
    Calibrating {
        /// The rule to apply to the calibration scores.
        rule: ThresholdRule,
        /// Scores collected so far.
        seen: Vec<f64>,
        /// Scores to collect.
        need: usize,
    },
}

impl OnlineThreshold {
    /// The online form of `rule` for a stream of about `expected_rows` scores.
    pub fn new(rule: ThresholdRule, expected_rows: usize) -> Self {
        let need = calibration_len(expected_rows).max(1);
        match rule {
            ThresholdRule::Fixed { value } => Self::Fixed(value),
            ThresholdRule::Spot { q, level, depth } => {
                let depth = depth.unwrap_or(0);
                Self::Spot(Box::new(SpotThreshold::new(q, level, depth, need)))
            }
            ThresholdRule::Quantile { .. } | ThresholdRule::Mad { .. } => Self::Calibrating {
                rule,
                seen: Vec::with_capacity(need),
                need,
            },
        }
    }

    /// Feeds one score: `(threshold, flagged)`. NaN scores are never flagged; the threshold is
    /// NaN while calibrating.
    #[inline]
    pub fn update(&mut self, score: f64) -> (f64, bool) {
        match self {
            Self::Fixed(value) => (*value, score >= *value && score.is_finite()),
            Self::Spot(spot) => spot.update(score),
            Self::Calibrating { rule, seen, need } => {
                if score.is_finite() {
                    seen.push(score);
                }
                if seen.len() >= *need {
                    let fixed = rule.threshold(seen).unwrap_or(f64::INFINITY);
                    *self = Self::Fixed(fixed);
                }
                (f64::NAN, false)
            }
        }
    }

    /// The threshold the next score is compared with (NaN while calibrating).
    pub fn current(&self) -> f64 {
        match self {
            Self::Fixed(value) => *value,
            Self::Spot(spot) => spot.current(),
            Self::Calibrating { .. } => f64::NAN,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_flags_at_and_above_never_nan() {
        let mut t = OnlineThreshold::new(ThresholdRule::Fixed { value: 2.0 }, 10);
        let flags: Vec<bool> = [1.0, 2.0, 3.0, f64::NAN]
            .iter()
            .map(|&s| t.update(s).1)
            .collect();
        assert_eq!(flags, vec![false, true, true, false]);
    }

    #[test]
    fn mad_calibrates_then_stays_fixed() {
        let mut t = OnlineThreshold::new(ThresholdRule::Mad { k: 3.0 }, 40);
        // calibration_len(40) = 40 (fewer than 200 rows: all of them).
        for i in 0..40 {
            let (thr, flag) = t.update(f64::from(i % 5));
            assert!(thr.is_nan() && !flag, "calibrating at {i}");
        }
        let fixed = t.current();
        assert!(fixed.is_finite(), "fixed after calibration");
        assert!(t.update(100.0).1, "an outlier is flagged");
        assert!(!t.update(2.0).1, "a normal score is not");
        assert_eq!(t.current().to_bits(), fixed.to_bits(), "stays fixed");
    }

    #[test]
    fn spot_matches_the_online_spot_threshold() {
        let rule = ThresholdRule::Spot {
            q: 1e-3,
            level: 0.98,
            depth: None,
        };
        let scores = crate::testing::seasonal_values(3000, 50, 0.5, 3);
        let mut online = OnlineThreshold::new(rule, scores.len());
        let mut direct = SpotThreshold::new(1e-3, 0.98, 0, calibration_len(scores.len()));
        for &s in &scores {
            let (a, fa) = online.update(s);
            let (b, fb) = direct.update(s);
            assert_eq!(
                (a.to_bits(), fa),
                (b.to_bits(), fb),
                "same as SpotThreshold"
            );
        }
    }
}
