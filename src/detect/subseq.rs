//! Helpers shared by the sub-sequence and tree detectors: missing-value filling, the
//! sub-sequence window chosen from the dominant period, and seeded RNG streams.
//!
//! [`Columns`] is the multivariate frame of the univariate sub-sequence detectors (matrix
//! profile, kNN, LOF): like `columns::PerColumn`, but its batch path hands a whole column to the
//! detector (which may run it in parallel) instead of folding `update`; each detector proves its
//! batch equals its streaming path in its own tests, and this frame combines columns in the same
//! order on both paths.

use rand::SeedableRng as _;
use rand_chacha::ChaCha8Rng;

use super::columns::Combine;
use super::period::dominant_period;
use super::{DetectError, Detector, DetectorInfo};
use crate::control::CancelToken;
use crate::model::{Row, Series, Timestamp};

/// Window used when the period cannot be detected (TSB-AD uses 125; 100 matches the peers).
pub(super) const FALLBACK_WINDOW: usize = 100;
/// Auto windows are clamped to this range.
pub(super) const AUTO_WINDOW_RANGE: (usize, usize) = (8, 1000);
/// Replaces missing values (NaN, ±inf) by the last finite value of the column (0 before any),
/// so that the O(1) sliding updates never carry a NaN along for the rest of the series.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Filler {
    last: f64,
}

impl Filler {
    /// The value to use for `x`.
    #[inline]
    pub(super) fn fill(&mut self, x: f64) -> f64 {
        if x.is_finite() {
            self.last = x;
        }
        self.last
    }
}

/// A column with missing values filled as [`Filler`] does.
pub(super) fn filled(values: &[f64]) -> Vec<f64> {
    let mut filler = Filler::default();
    values.iter().map(|&x| filler.fill(x)).collect()
}

/// The sub-sequence window: `given` when non-zero, else the dominant period of `train`
/// (`period::dominant_period`, up to 1000 rows) clamped to 8..=1000, else 100.
pub(super) fn choose_window(given: usize, train: Option<&[f64]>) -> usize {
    if given > 0 {
        return given;
    }
    train
        .and_then(|values| dominant_period(values, AUTO_WINDOW_RANGE.1))
        .map_or(FALLBACK_WINDOW, |p| {
            p.clamp(AUTO_WINDOW_RANGE.0, AUTO_WINDOW_RANGE.1)
        })
}

/// An independent, reproducible random stream number `stream` of `seed` (one per tree).
pub(super) fn rng_stream(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// A univariate detector of one column whose batch path is its own (parallel) algorithm.
pub(super) trait ColumnCore: Clone + Send + std::fmt::Debug + 'static {
    /// Learns from one training column (values and timestamps).
    fn fit(&mut self, values: &[f64], ts: &[Timestamp]) -> Result<(), String>;
    /// Why the column cannot be scored yet (e.g. not fitted), if so.
    fn not_ready(&self) -> Option<String>;
    /// Forgets streaming state, keeps the fitted model.
    fn reset(&mut self);
    /// Scores the next value (NaN while warming up).
    fn update(&mut self, x: f64, ts: Timestamp) -> f64;
    /// Scores a whole column from a reset state; must equal folding `update`. May leave the
    /// streaming state reset.
    fn batch(
        &mut self,
        values: &[f64],
        ts: &[Timestamp],
        cancel: &CancelToken,
    ) -> Result<Vec<f64>, DetectError>;
    /// Leading rows scored NaN.
    fn warm_up_rows(&self) -> usize;
}

/// Runs a [`ColumnCore`] on every column and combines the scores (see module docs).
#[derive(Clone, Debug)]
pub(super) struct Columns<C: ColumnCore> {
    info: &'static DetectorInfo,
    template: C,
    combine: Combine,
    cores: Vec<C>,
    fitted: bool,
    last: Vec<f64>,
}

impl<C: ColumnCore> Columns<C> {
    /// Wraps `template` (unfitted, with its parameters).
    pub(super) fn new(info: &'static DetectorInfo, template: C, combine: Combine) -> Self {
        Self {
            info,
            template,
            combine,
            cores: Vec::new(),
            fitted: false,
            last: Vec::new(),
        }
    }

    /// The per-column detectors (after `fit` or the first row).
    pub(super) fn cores(&self) -> &[C] {
        &self.cores
    }

    fn input_error(&self, message: String) -> DetectError {
        DetectError::Input {
            detector: self.info.id,
            message,
        }
    }

    fn prepare(&mut self, width: usize) -> Result<(), DetectError> {
        if self.cores.is_empty() {
            self.cores = vec![self.template.clone(); width];
        }
        if self.cores.len() != width {
            return Err(self.input_error(format!(
                "got {width} columns, expected {}",
                self.cores.len()
            )));
        }
        if let Some(why) = self.cores.iter().find_map(ColumnCore::not_ready) {
            return Err(self.input_error(why));
        }
        Ok(())
    }
}

impl<C: ColumnCore> Detector for Columns<C> {
    fn info(&self) -> &'static DetectorInfo {
        self.info
    }

    fn fit(&mut self, train: &Series, cancel: &CancelToken) -> Result<(), DetectError> {
        let mut cores = Vec::with_capacity(train.columns().len());
        for column in train.columns() {
            if cancel.is_cancelled() {
                return Err(DetectError::Cancelled);
            }
            let mut core = self.template.clone();
            core.fit(&column.values, train.timestamps())
                .map_err(|m| self.input_error(format!("column {:?}: {m}", column.name)))?;
            cores.push(core);
        }
        self.cores = cores;
        self.fitted = true;
        self.last.clear();
        Ok(())
    }

    fn reset(&mut self) {
        self.last.clear();
        if self.fitted {
            self.cores.iter_mut().for_each(ColumnCore::reset);
        } else {
            self.cores.clear();
        }
    }

    fn update(&mut self, row: Row<'_>) -> Result<f64, DetectError> {
        self.prepare(row.values.len())?;
        let columns = row.values.len();
        self.last.resize(columns, f64::NAN);
        let mut acc = f64::NAN;
        for (column, ((core, &x), last)) in self
            .cores
            .iter_mut()
            .zip(row.values)
            .zip(&mut self.last)
            .enumerate()
        {
            let score = core.update(x, row.ts);
            *last = score;
            acc = self.combine.step(acc, score, column, columns);
        }
        Ok(acc)
    }

    fn score_series(
        &mut self,
        series: &Series,
        cancel: &CancelToken,
    ) -> Result<Vec<f64>, DetectError> {
        self.reset();
        let columns = series.columns().len();
        self.prepare(columns)?;
        let mut acc = vec![f64::NAN; series.len()];
        self.last = vec![f64::NAN; columns];
        for (index, (core, column)) in self.cores.iter_mut().zip(series.columns()).enumerate() {
            let scores = core.batch(&column.values, series.timestamps(), cancel)?;
            for (a, &s) in acc.iter_mut().zip(&scores) {
                *a = self.combine.step(*a, s, index, columns);
            }
            self.last[index] = scores.last().copied().unwrap_or(f64::NAN);
        }
        // The cores' streaming state is not carried over from a batch run.
        for core in &mut self.cores {
            core.reset();
        }
        Ok(acc)
    }

    fn warm_up_rows(&self) -> Option<usize> {
        let cores = if self.cores.is_empty() {
            std::slice::from_ref(&self.template)
        } else {
            &self.cores
        };
        cores.iter().map(ColumnCore::warm_up_rows).max()
    }

    fn column_scores(&self) -> Option<&[f64]> {
        (!self.last.is_empty()).then_some(self.last.as_slice())
    }
}

/// Implements `Detector` for a newtype over [`Columns`] by delegation.
macro_rules! delegate_columns {
    ($outer:ty) => {
        impl $crate::detect::Detector for $outer {
            fn info(&self) -> &'static $crate::detect::DetectorInfo {
                self.0.info()
            }
            fn fit(
                &mut self,
                train: &$crate::model::Series,
                cancel: &$crate::control::CancelToken,
            ) -> Result<(), $crate::detect::DetectError> {
                self.0.fit(train, cancel)
            }
            fn reset(&mut self) {
                self.0.reset();
            }
            fn update(
                &mut self,
                row: $crate::model::Row<'_>,
            ) -> Result<f64, $crate::detect::DetectError> {
                self.0.update(row)
            }
            fn score_series(
                &mut self,
                series: &$crate::model::Series,
                cancel: &$crate::control::CancelToken,
            ) -> Result<Vec<f64>, $crate::detect::DetectError> {
                self.0.score_series(series, cancel)
            }
            fn warm_up_rows(&self) -> Option<usize> {
                self.0.warm_up_rows()
            }
            fn column_scores(&self) -> Option<&[f64]> {
                self.0.column_scores()
            }
        }
    };
}
pub(super) use delegate_columns;

/// Index of the largest finite score (tests).
#[cfg(test)]
pub(super) fn argmax_finite(scores: &[f64]) -> usize {
    scores
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_finite())
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::seasonal_values;

    #[test]
    fn window_is_the_period_of_a_sine() {
        let values = seasonal_values(3000, 50, 0.1, 1);
        assert_eq!(choose_window(0, Some(&values)), 50);
        assert_eq!(choose_window(7, Some(&values)), 7);
    }

    #[test]
    fn no_period_falls_back() {
        assert_eq!(choose_window(0, Some(&[1.0; 500])), FALLBACK_WINDOW);
        assert_eq!(choose_window(0, None), FALLBACK_WINDOW);
    }

    #[test]
    fn filler_carries_last_finite_value() {
        assert_eq!(
            filled(&[f64::NAN, 1.0, f64::NAN, f64::INFINITY, 2.0]),
            vec![0.0, 1.0, 1.0, 1.0, 2.0]
        );
    }

    #[test]
    fn rng_streams_differ_and_repeat() {
        use rand::Rng as _;
        let a: u64 = rng_stream(7, 0).random();
        let b: u64 = rng_stream(7, 1).random();
        assert_ne!(a, b);
        assert_eq!(a, rng_stream(7, 0).random::<u64>());
    }
}
