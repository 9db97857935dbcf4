//! The Numenta Anomaly Benchmark score (Lavin & Ahmad 2015), as NAB's `sweeper.py` computes
//! it for one series at a given set of detections.
//!
//! NAB windows here are the label windows (NAB widens point labels into windows first; our
//! labels are windows already). Each detection is weighted by a scaled sigmoid of its
//! position: inside a window, earlier is better (the first row earns the full `tp` weight);
//! after a window, a false positive costs more the further it is; before any window, it costs
//! the full `fp` weight. Each window counts once (its best, i.e. earliest, detection) or costs
//! `fn` if missed. Rows in the probationary period (the first 15 %, at most 750 rows) are not
//! scored. The normalised score maps "detect nothing" to 0 and "detect every window at its
//! first scored row, nothing else" to 100.
//!
//! One guard NAB lacks: a false positive after a one-row window divides by `width − 1 = 0`
//! in NAB; here the divisor is at least 1.

use serde::{Deserialize, Serialize};

use super::{EvalError, check_len, spans};

/// NAB's three cost profiles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NabProfile {
    /// tp 1, fp 0.11, fn 1.
    Standard,
    /// tp 1, fp 0.22, fn 1: false positives cost twice as much.
    RewardLowFp,
    /// tp 1, fp 0.11, fn 2: misses cost twice as much.
    RewardLowFn,
}

impl NabProfile {
    /// `(tp, fp, fn)` weights, from NAB's `config/profiles.json`.
    pub fn weights(self) -> (f64, f64, f64) {
        match self {
            Self::Standard => (1.0, 0.11, 1.0),
            Self::RewardLowFp => (1.0, 0.22, 1.0),
            Self::RewardLowFn => (1.0, 0.11, 2.0),
        }
    }
}

/// Options of the NAB score.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NabOptions {
    /// Fraction of the series at the start that is not scored (NAB: 0.15, capped at 750 rows).
    pub probation_percent: f64,
}

impl Default for NabOptions {
    fn default() -> Self {
        Self {
            probation_percent: 0.15,
        }
    }
}

/// One profile's score.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NabScore {
    /// The raw weighted sum.
    pub raw: f64,
    /// `100 · (raw − null) / (perfect − null)`: 0 = detect nothing, 100 = perfect.
    pub normalized: f64,
}

/// The three profiles' scores.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NabScores {
    /// The standard profile.
    pub standard: NabScore,
    /// Reward low false-positive rate.
    pub reward_low_fp: NabScore,
    /// Reward low false-negative rate.
    pub reward_low_fn: NabScore,
}

/// All three profiles for one set of detections.
pub fn nab_scores(
    labels: &[bool],
    predicted: &[bool],
    opts: &NabOptions,
) -> Result<NabScores, EvalError> {
    Ok(NabScores {
        standard: nab_score(labels, predicted, NabProfile::Standard, opts)?,
        reward_low_fp: nab_score(labels, predicted, NabProfile::RewardLowFp, opts)?,
        reward_low_fn: nab_score(labels, predicted, NabProfile::RewardLowFn, opts)?,
    })
}

/// NAB's `2·sigmoid(−5x) − 1`, and −1 from 3 window widths on.
fn scaled_sigmoid(x: f64) -> f64 {
    if x >= 3.0 {
        -1.0
    } else {
        2.0 / (1.0 + (5.0 * x).exp()) - 1.0
    }
}

/// The NAB score of `predicted` under one profile.
///
/// # Errors
/// Length mismatch, a probation fraction outside `[0, 1)`, or no window with a scored row
/// ([`EvalError::NoAnomalies`]).
pub fn nab_score(
    labels: &[bool],
    predicted: &[bool],
    profile: NabProfile,
    opts: &NabOptions,
) -> Result<NabScore, EvalError> {
    check_len(labels, predicted.len(), "predictions")?;
    if !(0.0..1.0).contains(&opts.probation_percent) {
        return Err(EvalError::InvalidOption {
            name: "probation_percent",
            value: opts.probation_percent.to_string(),
            reason: "must be in [0, 1)",
        });
    }
    let (tp_weight, fp_weight, miss_weight) = profile.weights();
    let n = labels.len();
    let probation = (opts.probation_percent * n as f64)
        .floor()
        .min(opts.probation_percent * 5000.0);
    let scored = |i: usize| i as f64 >= probation;
    let max_tp = scaled_sigmoid(-1.0);
    let windows = spans(labels);
    let mut raw = 0.0;
    let mut perfect = 0.0;
    let mut counted = 0usize;
    // False positives before the first window cost the full weight.
    let first_start = windows.first().map_or(n, |w| w.first);
    raw -= fp_weight
        * (0..first_start)
            .filter(|&i| scored(i) && predicted[i])
            .count() as f64;
    for (j, w) in windows.iter().enumerate() {
        let width = w.len() as f64;
        let inside =
            |i: usize| scaled_sigmoid(-((w.last - i + 1) as f64) / width) * tp_weight / max_tp;
        if let Some(first_scored) = (w.first..=w.last).find(|&i| scored(i)) {
            counted += 1;
            perfect += inside(first_scored);
            let best = (first_scored..=w.last).find(|&i| predicted[i]).map(inside);
            raw += best.map_or(-miss_weight, |b| b.max(-miss_weight));
        }
        // False positives between this window and the next one.
        let next = windows.get(j + 1).map_or(n, |nw| nw.first);
        let divisor = (width - 1.0).max(1.0);
        for i in (w.last + 1..next).filter(|&i| scored(i) && predicted[i]) {
            raw += scaled_sigmoid((i - w.last) as f64 / divisor) * fp_weight;
        }
    }
    if counted == 0 {
        return Err(EvalError::NoAnomalies);
    }
    let null = -miss_weight * counted as f64;
    Ok(NabScore {
        raw,
        normalized: 100.0 * (raw - null) / (perfect - null),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(s: &str) -> Vec<bool> {
        s.chars().map(|c| c == '1').collect()
    }

    const NO_PROBATION: NabOptions = NabOptions {
        probation_percent: 0.0,
    };

    #[test]
    fn scaled_sigmoid_matches_nab_docs() {
        assert!((scaled_sigmoid(-1.0) - 0.986_614_298_151_430_3).abs() < 1e-12);
        assert!(scaled_sigmoid(0.0).abs() < 1e-12);
        assert!((scaled_sigmoid(-0.5) - 0.848_283_639_957_512_9).abs() < 1e-12);
        assert!((scaled_sigmoid(3.0) + 1.0).abs() < 1e-12);
    }

    #[test]
    fn perfect_nothing_and_everything() {
        let labels = flags("0000111100001111");
        let perfect = flags("0000100000001000");
        let s = nab_score(&labels, &perfect, NabProfile::Standard, &NO_PROBATION).unwrap();
        assert!((s.normalized - 100.0).abs() < 1e-9, "{s:?}");
        assert!((s.raw - 2.0).abs() < 1e-12, "{s:?}");
        let none = nab_score(&labels, &[false; 16], NabProfile::Standard, &NO_PROBATION).unwrap();
        assert!(none.normalized.abs() < 1e-12, "{none:?}");
        assert!((none.raw + 2.0).abs() < 1e-12, "{none:?}");
        let low_fn = nab_score(
            &labels,
            &[false; 16],
            NabProfile::RewardLowFn,
            &NO_PROBATION,
        )
        .unwrap();
        assert!((low_fn.raw + 4.0).abs() < 1e-12, "{low_fn:?}");
    }

    #[test]
    fn false_positives_by_hand() {
        // Window rows 2..=5 (width 4). FP at row 0 (before any window): −0.11.
        // FP at row 7: distance 2 / (4 − 1) → 0.11 · (2σ(−10/3) − 1). Detection at row 3:
        // position −(5 − 3 + 1)/4 = −0.75 → σ-scaled / maxTP.
        let labels = flags("0011110000");
        let predicted = flags("1001000100");
        let s = nab_score(&labels, &predicted, NabProfile::Standard, &NO_PROBATION).unwrap();
        let want =
            -0.11 + scaled_sigmoid(-0.75) / scaled_sigmoid(-1.0) + 0.11 * scaled_sigmoid(2.0 / 3.0);
        assert!((s.raw - want).abs() < 1e-12, "{s:?} vs {want}");
    }

    #[test]
    fn probation_rows_are_not_scored() {
        // 20 rows, 15 % → first 3 rows not scored: the FP at row 1 is free.
        let mut labels = vec![false; 20];
        labels[10] = true;
        let mut predicted = labels.clone();
        predicted[1] = true;
        let s = nab_score(
            &labels,
            &predicted,
            NabProfile::Standard,
            &NabOptions::default(),
        )
        .unwrap();
        assert!((s.normalized - 100.0).abs() < 1e-9, "{s:?}");
        assert!(
            nab_score(
                &[false; 5],
                &[false; 5],
                NabProfile::Standard,
                &NO_PROBATION
            )
            .is_err()
        );
    }

    /// Raw scores from NAB's own `Sweeper.calcSweepScore` + `calcScoreByThreshold`
    /// (numenta/NAB `nab/sweeper.py`, run on these 0/1 detections at threshold 1).
    #[test]
    fn raw_scores_match_nab_sweeper() {
        let cases: [(&str, &str, f64, [f64; 3]); 3] = [
            (
                "000000000011111111000000000000111100000000000000001111111111",
                "000000100001000010000001011000000000000000001100100000000101",
                0.15,
                [
                    -0.023_802_224_172_294_162,
                    -0.679_737_343_335_089_2,
                    -1.023_802_224_172_294_2,
                ],
            ),
            (
                "1111110000000000000011111111110000000000",
                "0010001110100000001000101000000001110011",
                0.0,
                [
                    0.962_433_162_208_239_6,
                    0.004_017_222_296_007_872,
                    0.962_433_162_208_239_6,
                ],
            ),
            (
                "00000000000000000000000000000000000000001111111111111111111100000000000000000000000000000000000000001111100000000000000000000000000000000000000000000011000000000000000000000000000000000000000000000000",
                "00000000101000000000000000000000000000001000000000000000000010000000000000000000000000000000000010000001001000010000001000000101000000000000000001000000000000000000000000000000100000000000000000000000",
                0.15,
                [
                    -0.105_727_141_591_678_51,
                    -0.983_381_223_004_445_3,
                    -1.105_727_141_591_678_5,
                ],
            ),
        ];
        for (labels, predicted, probation_percent, want) in cases {
            let opts = NabOptions { probation_percent };
            let s = nab_scores(&flags(labels), &flags(predicted), &opts).unwrap();
            let got = [s.standard.raw, s.reward_low_fp.raw, s.reward_low_fn.raw];
            for (g, w) in got.iter().zip(want) {
                assert!((g - w).abs() < 1e-9, "{g} vs NAB {w} ({labels})");
            }
        }
    }
}
