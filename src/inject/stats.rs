//! Shared helpers of the injector kinds: running statistics (Welford, skipping non-finite
//! values), the creeping-onset ramp, magnitude units, row masks for `fraction`, and the
//! [`History`] implementations used by batch application.

use rand::Rng as _;
use rand_chacha::ChaCha8Rng;

use super::History;
use crate::model::Series;

/// Running mean, spread, extremes and last value of the finite values pushed, in push order.
///
/// Batch and live application push the same values in the same order, so their statistics
/// are bit-identical.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    /// Number of finite values seen.
    pub count: usize,
    mean: f64,
    m2: f64,
    /// Smallest finite value (NaN when none).
    pub min: f64,
    /// Largest finite value (NaN when none).
    pub max: f64,
    /// Last finite value (NaN when none).
    pub last: f64,
}

impl Default for Stats {
    fn default() -> Self {
        Self {
            count: 0,
            mean: 0.0,
            m2: 0.0,
            min: f64::NAN,
            max: f64::NAN,
            last: f64::NAN,
        }
    }
}

impl Stats {
    /// Statistics of a slice.
    pub fn of(values: &[f64]) -> Self {
        let mut s = Self::default();
        for &x in values {
            s.push(x);
        }
        s
    }

    /// Adds one value (non-finite values are skipped).
    #[inline]
    pub fn push(&mut self, x: f64) {
        if !x.is_finite() {
            return;
        }
        self.count += 1;
        let delta = x - self.mean;
        self.mean += delta / self.count as f64;
        self.m2 += delta * (x - self.mean);
        if self.count == 1 {
            self.min = x;
            self.max = x;
        } else {
            self.min = self.min.min(x);
            self.max = self.max.max(x);
        }
        self.last = x;
    }

    /// Mean of the finite values (0 when none).
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// Population standard deviation (0 when fewer than two values).
    pub fn std(&self) -> f64 {
        if self.count < 2 {
            0.0
        } else {
            (self.m2 / self.count as f64).sqrt()
        }
    }

    /// The "one standard deviation" unit that magnitudes are measured in: the standard
    /// deviation, or when the context is flat `|mean|`, or when that is 0 too, 1.
    pub fn unit(&self) -> f64 {
        let std = self.std();
        if std > 0.0 && std.is_finite() {
            std
        } else if self.mean != 0.0 && self.mean.is_finite() {
            self.mean.abs()
        } else {
            1.0
        }
    }

    /// `max - min`, or [`unit`](Self::unit) when that is 0 or unknown.
    pub fn range(&self) -> f64 {
        let range = self.max - self.min;
        if range > 0.0 && range.is_finite() {
            range
        } else {
            self.unit()
        }
    }
}

/// The weight of the creeping onset at window offset `k`: rises linearly `1/onset, 2/onset,
/// ..., 1` over the first `onset` rows, then stays 1 (`onset` 0 or 1: always 1).
#[inline]
pub(crate) fn ramp(k: usize, onset: usize) -> f64 {
    if k + 1 >= onset {
        1.0
    } else {
        (k + 1) as f64 / onset as f64
    }
}

/// How a magnitude parameter is measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Units {
    /// Local standard deviations ([`Stats::unit`]).
    Std,
    /// Raw value units.
    Absolute,
    /// Multiples of `|mean|` of the context (the original `AnomDet` `step`).
    Mean,
}

impl Units {
    pub(crate) fn parse(text: &str) -> Self {
        match text {
            "absolute" => Self::Absolute,
            "mean" => Self::Mean,
            _ => Self::Std,
        }
    }

    /// The size of one unit given the context.
    pub(crate) fn scale(self, stats: &Stats) -> f64 {
        match self {
            Self::Std => stats.unit(),
            Self::Absolute => 1.0,
            Self::Mean => {
                let m = stats.mean().abs();
                if m > 0.0 && m.is_finite() { m } else { 1.0 }
            }
        }
    }
}

/// For `fraction < 1`: a mask of `max(1, round(fraction * len))` distinct offsets drawn with
/// `rng`. `None` (every row) when `fraction >= 1`.
pub(crate) fn choose_mask(len: usize, fraction: f64, rng: &mut ChaCha8Rng) -> Option<Vec<bool>> {
    if fraction >= 1.0 || len == 0 {
        return None;
    }
    let amount = ((fraction * len as f64).round() as usize).clamp(1, len);
    let mut mask = vec![false; len];
    for i in rand::seq::index::sample(rng, len, amount) {
        mask[i] = true;
    }
    Some(mask)
}

/// A standard normal draw (ziggurat; one value per call, so the sequence does not depend on
/// how rows are chunked).
#[inline]
pub(crate) fn normal(rng: &mut ChaCha8Rng) -> f64 {
    rng.sample(rand_distr::StandardNormal)
}

/// History for effects that read none (point-wise kinds): every read is NaN.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoHistory;

impl History for NoHistory {
    fn value(&self, _column: usize, _row: usize) -> f64 {
        f64::NAN
    }
    fn first_row(&self) -> usize {
        0
    }
    fn columns(&self) -> usize {
        0
    }
}

/// History over a whole series (used while preparing, before anything is changed), limited to
/// rows from `first_row` on so that batch reads match what live application keeps.
#[derive(Debug)]
pub(crate) struct SeriesHistory<'a> {
    pub(crate) series: &'a Series,
    pub(crate) first_row: usize,
}

impl History for SeriesHistory<'_> {
    fn value(&self, column: usize, row: usize) -> f64 {
        if row < self.first_row {
            return f64::NAN;
        }
        self.series
            .columns()
            .get(column)
            .and_then(|c| c.values.get(row))
            .copied()
            .unwrap_or(f64::NAN)
    }
    fn first_row(&self) -> usize {
        self.first_row
    }
    fn columns(&self) -> usize {
        self.series.columns().len()
    }
}

/// A copy of rows `[first_row, first_row + len)` of every column, taken before a window is
/// rewritten in place.
#[derive(Debug)]
pub(crate) struct Snapshot {
    pub(crate) first_row: usize,
    pub(crate) columns: Vec<Vec<f64>>,
}

impl Snapshot {
    pub(crate) fn copy(series: &Series, rows: std::ops::Range<usize>) -> Self {
        Self {
            first_row: rows.start,
            columns: series
                .columns()
                .iter()
                .map(|c| c.values[rows.clone()].to_vec())
                .collect(),
        }
    }
}

impl History for Snapshot {
    fn value(&self, column: usize, row: usize) -> f64 {
        row.checked_sub(self.first_row)
            .and_then(|i| self.columns.get(column)?.get(i))
            .copied()
            .unwrap_or(f64::NAN)
    }
    fn first_row(&self) -> usize {
        self.first_row
    }
    fn columns(&self) -> usize {
        self.columns.len()
    }
}

/// Linear interpolation of `column` at fractional row `pos`, clamped to
/// `[history.first_row(), current]`.
pub(crate) fn interpolate(history: &dyn History, column: usize, pos: f64, current: usize) -> f64 {
    let lo = history.first_row() as f64;
    let pos = pos.clamp(lo, current as f64);
    let i0 = pos.floor();
    let t = pos - i0;
    let i0 = i0 as usize;
    let a = history.value(column, i0);
    if t == 0.0 || i0 >= current {
        a
    } else {
        a + t * (history.value(column, i0 + 1) - a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng as _;

    #[test]
    fn stats_match_textbook_and_skip_nan() {
        let s = Stats::of(&[1.0, f64::NAN, 2.0, 3.0, 4.0]);
        assert_eq!(s.count, 4);
        assert!((s.mean() - 2.5).abs() < 1e-12);
        assert!((s.std() - 1.25f64.sqrt()).abs() < 1e-12);
        assert!((s.min - 1.0).abs() < f64::EPSILON && (s.max - 4.0).abs() < f64::EPSILON);
        assert!((s.last - 4.0).abs() < f64::EPSILON);
        assert!((Stats::of(&[]).unit() - 1.0).abs() < f64::EPSILON);
        assert!((Stats::of(&[5.0, 5.0]).unit() - 5.0).abs() < f64::EPSILON);
    }

    #[test]
    fn ramp_rises_then_holds() {
        let w: Vec<f64> = (0..5).map(|k| ramp(k, 4)).collect();
        assert_eq!(w, vec![0.25, 0.5, 0.75, 1.0, 1.0]);
        assert!((ramp(0, 0) - 1.0).abs() < f64::EPSILON);
    }

    #[test]
    fn mask_has_the_requested_count() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mask = choose_mask(100, 0.1, &mut rng).unwrap();
        assert_eq!(mask.iter().filter(|&&b| b).count(), 10);
        assert!(choose_mask(100, 1.0, &mut rng).is_none());
        assert_eq!(
            choose_mask(3, 0.01, &mut rng)
                .unwrap()
                .iter()
                .filter(|&&b| b)
                .count(),
            1
        );
    }

    #[test]
    fn normal_draws_have_unit_spread() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let draws: Vec<f64> = (0..20_000).map(|_| normal(&mut rng)).collect();
        let s = Stats::of(&draws);
        assert!(s.mean().abs() < 0.05, "{}", s.mean());
        assert!((s.std() - 1.0).abs() < 0.05, "{}", s.std());
    }

    #[test]
    fn interpolation_is_linear_and_clamped() {
        let snap = Snapshot {
            first_row: 10,
            columns: vec![vec![0.0, 10.0, 20.0]],
        };
        assert!((interpolate(&snap, 0, 10.5, 12) - 5.0).abs() < 1e-12);
        assert!((interpolate(&snap, 0, 3.0, 12) - 0.0).abs() < 1e-12);
        assert!((interpolate(&snap, 0, 20.0, 11) - 10.0).abs() < 1e-12);
    }
}
