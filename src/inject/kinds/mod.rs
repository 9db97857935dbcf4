//! The built-in injector kinds, grouped by family, plus the parameter specs and the point-wise
//! effect they share.
//!
//! Families: `point` (spike/extremum), `offset` (level shift, trend), `scale` (variance,
//! amplitude, custom multiplier, lowered, flip), `flat` (flat line, dropout, missing values),
//! `shape` (frequency, pattern, time shift), `correlation` (correlation break).

pub(super) mod correlation;
pub(super) mod flat;
pub(super) mod offset;
pub(super) mod point;
pub(super) mod scale;
pub(super) mod shape;

use super::{Effect, History, InjectError};
use crate::model::{ParamKind, ParamSpec, ParamsError};

/// Rows before the window whose statistics set the scale (shared by most kinds).
pub(crate) const CONTEXT: ParamSpec = ParamSpec {
    name: "context",
    kind: ParamKind::Int {
        min: 2,
        max: 10_000_000,
        default: 100,
    },
    help: "Rows just before the window whose mean, standard deviation, range and last value set \
           the anomaly's scale (a window at row 0 has none: mean 0, unit 1).",
};

/// Creeping onset.
pub(crate) const ONSET: ParamSpec = ParamSpec {
    name: "onset",
    kind: ParamKind::Int {
        min: 0,
        max: 10_000_000,
        default: 0,
    },
    help: "Creeping onset: the anomaly ramps in linearly over this many rows (0: abrupt).",
};

/// Share of window rows changed (spike trains, sprinkled gaps, the original `percentage`).
pub(crate) const FRACTION: ParamSpec = ParamSpec {
    name: "fraction",
    kind: ParamKind::Float {
        min: 0.000_001,
        max: 1.0,
        default: 1.0,
    },
    help: "Share of the window's rows that are changed, picked at random (at least one row); \
           only those rows are labelled.",
};

/// Units of a magnitude.
pub(crate) const UNITS: ParamSpec = ParamSpec {
    name: "units",
    kind: ParamKind::Choice {
        options: &["std", "absolute", "mean"],
        default: "std",
    },
    help: "Unit of the magnitude: std = standard deviations of the context, absolute = raw \
           value units, mean = multiples of |context mean| (the original AnomDet step).",
};

/// A "must not be `bad`" check at build time, reported like a range error.
pub(crate) fn not_equal(
    kind: &'static str,
    name: &str,
    value: f64,
    bad: f64,
    why: &str,
) -> Result<(), InjectError> {
    if (value - bad).abs() < 1e-12 {
        return Err(InjectError::Params {
            kind,
            source: ParamsError::Range {
                name: name.to_owned(),
                got: value.to_string(),
                allowed: format!("anything but {bad} ({why})"),
            },
        });
    }
    Ok(())
}

/// An effect whose new value at offset `k` depends only on `k`, the old value and the state
/// captured by `f` (which may hold its own rng: it is called once per changed row, in order).
pub(crate) struct PointEffect<F> {
    f: F,
    mask: Option<Vec<bool>>,
}

impl<F: FnMut(usize, f64) -> f64 + Send + 'static> PointEffect<F> {
    /// Boxes `f` as an effect applied to every row, or to the rows of `mask`.
    pub(crate) fn boxed(f: F, mask: Option<Vec<bool>>) -> Box<dyn Effect> {
        Box::new(Self { f, mask })
    }
}

impl<F> std::fmt::Debug for PointEffect<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PointEffect")
            .field("masked", &self.mask.is_some())
            .finish_non_exhaustive()
    }
}

impl<F: FnMut(usize, f64) -> f64 + Send> Effect for PointEffect<F> {
    #[inline]
    fn fill(&mut self, k0: usize, values: &mut [f64], _history: &dyn History) {
        match &self.mask {
            None => {
                for (j, v) in values.iter_mut().enumerate() {
                    *v = (self.f)(k0 + j, *v);
                }
            }
            Some(mask) => {
                for (j, v) in values.iter_mut().enumerate() {
                    if mask.get(k0 + j).copied().unwrap_or(false) {
                        *v = (self.f)(k0 + j, *v);
                    }
                }
            }
        }
    }

    fn mask(&self) -> Option<&[bool]> {
        self.mask.as_deref()
    }
}
