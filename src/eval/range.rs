//! Range-based precision / recall / F1 (Tatbul et al., "Precision and Recall for Time Series",
//! `NeurIPS` 2018).
//!
//! Recall of one true range `R` = `α · existence + (1 − α) · cardinality · ω(R, R ∩ P, δ)`,
//! averaged over true ranges; precision of one predicted range is the same with `α = 0` and
//! the roles swapped, averaged over predicted ranges. `ω` weighs the overlapped positions by
//! the positional bias `δ` (positions `1..=len` inside the range). The defaults (α = 0.2,
//! reciprocal cardinality, flat bias) are TSB-AD's, so `R-based-F1` values compare directly.

use serde::{Deserialize, Serialize};

use super::{EvalError, RowSpan, check_len, harmonic, ratio, spans};

/// How a range overlapped by several ranges of the other side is discounted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cardinality {
    /// No discount.
    One,
    /// Divide by the number of overlapping ranges (TSB-AD's choice).
    #[default]
    Reciprocal,
}

/// Which positions inside a range matter most.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bias {
    /// Every position equally.
    #[default]
    Flat,
    /// Early positions (early detection).
    Front,
    /// Late positions.
    Back,
    /// The middle positions.
    Middle,
}

impl Bias {
    /// `δ(i, len)` for position `i` in `1..=len`.
    fn weight(self, i: usize, len: usize) -> f64 {
        match self {
            Self::Flat => 1.0,
            Self::Back => i as f64,
            Self::Middle if (i as f64) <= len as f64 / 2.0 => i as f64,
            Self::Front | Self::Middle => (len - i + 1) as f64,
        }
    }
}

/// Options of the range-based metrics.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RangeOptions {
    /// Weight of the existence reward in recall, in `[0, 1]`.
    pub alpha: f64,
    /// Cardinality discount.
    pub cardinality: Cardinality,
    /// Positional bias, used for both recall and precision.
    pub bias: Bias,
}

impl Default for RangeOptions {
    fn default() -> Self {
        Self {
            alpha: 0.2,
            cardinality: Cardinality::Reciprocal,
            bias: Bias::Flat,
        }
    }
}

/// Range-based scores.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RangeScores {
    /// Range precision (α = 0).
    pub precision: f64,
    /// Range recall with the configured α.
    pub recall: f64,
    /// Harmonic mean.
    pub f1: f64,
    /// Mean existence reward of the true ranges (fraction detected at all).
    pub existence: f64,
    /// Mean overlap reward of the true ranges.
    pub overlap: f64,
}

/// Range-based precision / recall / F1 of `predicted` against `labels`.
///
/// # Errors
/// Length mismatch, [`EvalError::NoAnomalies`], or `alpha` outside `[0, 1]`.
pub fn range_prf(
    labels: &[bool],
    predicted: &[bool],
    opts: &RangeOptions,
) -> Result<RangeScores, EvalError> {
    check_len(labels, predicted.len(), "predictions")?;
    if !(0.0..=1.0).contains(&opts.alpha) {
        return Err(EvalError::InvalidOption {
            name: "alpha",
            value: opts.alpha.to_string(),
            reason: "must be in [0, 1]",
        });
    }
    let truth = spans(labels);
    if truth.is_empty() {
        return Err(EvalError::NoAnomalies);
    }
    let pred = spans(predicted);
    let (existence, overlap) = rewards(&truth, predicted, &pred, opts);
    let recall = opts.alpha * existence + (1.0 - opts.alpha) * overlap;
    let (_, precision) = rewards(&pred, labels, &truth, opts);
    Ok(RangeScores {
        precision,
        recall,
        f1: harmonic(precision, recall),
        existence,
        overlap,
    })
}

/// Mean existence and overlap rewards of each range of `from` against the other side
/// (`other_flags` per row, `other` as sorted spans). 0 when `from` is empty.
fn rewards(
    from: &[RowSpan],
    other_flags: &[bool],
    other: &[RowSpan],
    opts: &RangeOptions,
) -> (f64, f64) {
    let (mut existence, mut overlap) = (0.0, 0.0);
    for &r in from {
        let lo = other.partition_point(|o| o.last < r.first);
        let hi = other.partition_point(|o| o.first <= r.last);
        let hits = hi.saturating_sub(lo);
        if hits == 0 {
            continue;
        }
        existence += 1.0;
        let len = r.len();
        let (mut got, mut max) = (0.0, 0.0);
        for (pos, i) in (r.first..=r.last).enumerate() {
            let w = opts.bias.weight(pos + 1, len);
            max += w;
            if other_flags[i] {
                got += w;
            }
        }
        let cardinality = match opts.cardinality {
            Cardinality::One => 1.0,
            Cardinality::Reciprocal => 1.0 / hits as f64,
        };
        overlap += cardinality * ratio(got, max);
    }
    let n = from.len() as f64;
    (ratio(existence, n), ratio(overlap, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(s: &str) -> Vec<bool> {
        s.chars().map(|c| c == '1').collect()
    }

    fn opts(alpha: f64, cardinality: Cardinality, bias: Bias) -> RangeOptions {
        RangeOptions {
            alpha,
            cardinality,
            bias,
        }
    }

    #[test]
    fn flat_half_overlap() {
        // One true range of 4, prediction covers its last 2 rows and 1 normal row.
        let labels = flags("0111100");
        let predicted = flags("0001110");
        let s = range_prf(
            &labels,
            &predicted,
            &opts(0.0, Cardinality::One, Bias::Flat),
        )
        .unwrap();
        assert!((s.recall - 0.5).abs() < 1e-12, "{s:?}");
        assert!((s.precision - 2.0 / 3.0).abs() < 1e-12, "{s:?}");
        let s = range_prf(
            &labels,
            &predicted,
            &opts(0.5, Cardinality::One, Bias::Flat),
        )
        .unwrap();
        assert!(
            (s.recall - 0.75).abs() < 1e-12,
            "existence adds half: {s:?}"
        );
    }

    #[test]
    fn biases_weigh_positions() {
        let labels = flags("1111");
        let late = flags("0011");
        // Front weights 4 3 2 1: late half gets 3/10; back 1 2 3 4: 7/10; middle 1 2 2 1: 3/6.
        for (bias, want) in [(Bias::Front, 0.3), (Bias::Back, 0.7), (Bias::Middle, 0.5)] {
            let s = range_prf(&labels, &late, &opts(0.0, Cardinality::One, bias)).unwrap();
            assert!((s.recall - want).abs() < 1e-12, "{bias:?}: {s:?}");
        }
    }

    #[test]
    fn reciprocal_cardinality_splits_fragmented_hits() {
        let labels = flags("111111");
        let predicted = flags("110011");
        let one = range_prf(
            &labels,
            &predicted,
            &opts(0.0, Cardinality::One, Bias::Flat),
        )
        .unwrap();
        let rec = range_prf(
            &labels,
            &predicted,
            &RangeOptions {
                alpha: 0.0,
                ..Default::default()
            },
        )
        .unwrap();
        assert!((one.recall - 4.0 / 6.0).abs() < 1e-12, "{one:?}");
        assert!((rec.recall - 2.0 / 6.0).abs() < 1e-12, "{rec:?}");
        assert!((rec.precision - 1.0).abs() < 1e-12, "{rec:?}");
    }

    #[test]
    fn none_all_and_edges() {
        let labels = flags("1100011");
        let none = range_prf(&labels, &flags("0000000"), &RangeOptions::default()).unwrap();
        assert_eq!(none, RangeScores::default());
        let all = range_prf(&labels, &[true; 7], &RangeOptions::default()).unwrap();
        // Each true range fully covered by one prediction: recall 1; the single predicted range
        // overlaps 2 true ranges (4 of 7 rows): precision = 1/2 · 4/7.
        assert!((all.recall - 1.0).abs() < 1e-12, "{all:?}");
        assert!((all.precision - 2.0 / 7.0).abs() < 1e-12, "{all:?}");
        assert_eq!(
            range_prf(&[false; 3], &[true; 3], &RangeOptions::default()),
            Err(EvalError::NoAnomalies)
        );
        assert!(range_prf(&labels, &labels, &opts(1.5, Cardinality::One, Bias::Flat)).is_err());
    }
}
