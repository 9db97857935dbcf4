//! Anomaly injection: one object-safe [`Injector`] trait, a registry of built-in kinds with
//! parameter schemas, serialisable plans ([`InjectionPlan`]) applied in batch
//! ([`apply_plan`]) or row by row on a live stream ([`LiveInjector`]), and a seeded synthetic
//! series generator ([`generate`]).
//!
//! Owns: every injector kind (files under `kinds/`), target resolution (`target`), plan
//! application and ground truth (`plan`, `driver`), live application (`live`) and the
//! generator (`generate`). Depends on `model` only.
//!
//! # How an injection runs
//! A plan is a seed plus a list of [`InjectionSpec`]s applied in order; injection `i` reads the
//! output of injections `0..i` and draws from its own `ChaCha8` stream `(seed, i)`, so adding an
//! injection never changes the ones before it. For each injection:
//! 1. the [`Target`] is resolved to sorted, non-overlapping row windows (random placements
//!    draw from the injection's stream first);
//! 2. for each window, in time order, and each target column, in column order, the injector
//!    *prepares* an [`Effect`] from the window's position, the statistics of the `context`
//!    rows just before the window (and, for some kinds, of every row before it), and the rng;
//! 3. the effect rewrites the window's values.
//!
//! # Causality: why streaming equals batch
//! Every kind is defined causally: the new value at row `i` depends only on input rows `<= i`,
//! the plan, and the timestamps (known up front from the stream's source). Kinds that in other
//! tools look ahead are defined on the past instead, and say so in their docs: a frequency
//! speed-up ends aligned with the true signal and starts further back; a time reversal mirrors
//! the rows *before* the window; a time shift is a delay. Statistics are those of the rows
//! before the window. So [`LiveInjector`] needs no look-ahead and no output delay; it keeps a
//! bounded ring of recent input rows per injection (see `live`), and its output equals
//! [`apply_plan`] bit for bit, row for row (tested for every kind).
//!
//! # Ground truth
//! An injection labels the rows it targets (per column); kinds with a `fraction` parameter
//! (spike trains, sprinkled gaps) label exactly the rows they picked. The labels of the result
//! are the source's labels OR the injected rows. Kinds whose new value is a copy of a constant
//! or of another row (flat line, dropout, missing, time shift, frequency, time flip) can leave
//! a labelled row unchanged when the data already had that value; their
//! [`InjectorInfo::exact`] is `false`. All other kinds change every labelled row of a signal
//! with continuous noise.

mod driver;
mod error;
mod generate;
mod kinds;
mod live;
mod plan;
mod registry;
mod stats;
mod target;

pub use driver::ChangedRows;
pub use error::InjectError;
pub use generate::{Component, GenerateSpec, generate};
pub use live::LiveInjector;
pub use plan::{InjectedWindow, InjectionPlan, InjectionSpec, apply_plan, injection_rng};
pub use registry::{InjectorEntry, find, registry};
pub use stats::{NoHistory, Stats};
pub use target::Target;

use std::ops::Range;

use rand_chacha::ChaCha8Rng;

use crate::model::{ParamSpec, Series};

/// What an injector kind is: shown in listings, stored in plans (by `id`), used to render forms.
#[derive(Clone, Copy, Debug)]
pub struct InjectorInfo {
    /// Stable `snake_case` id, stored in plans: never rename.
    pub id: &'static str,
    /// Other ids accepted for this kind (the original `AnomDet` names, `GutenTAG` names).
    pub aliases: &'static [&'static str],
    /// Human name.
    pub name: &'static str,
    /// One paragraph: what the anomaly looks like and how it is computed.
    pub description: &'static str,
    /// Parameter schema.
    pub params: &'static [ParamSpec],
    /// Fewest columns the series must have (2 for kinds that relate channels).
    pub min_columns: usize,
    /// True when every labelled row changes on a signal with continuous noise; false for kinds
    /// that copy a constant or another row and so can keep a row's value (see module docs).
    pub exact: bool,
    /// True when the kind takes an `onset` (creeping, linear ramp-in) parameter.
    pub onset: bool,
    /// The parameter that sets the anomaly's size, which the CLI's `--magnitude` sets (none
    /// for kinds without a size, such as dropout).
    pub magnitude: Option<&'static str>,
}

/// Input values an effect may read besides the row it rewrites: other columns, earlier rows.
///
/// Batch application backs it with a copy of the series, live application with a ring of
/// recent rows. Only rows in `[first_row(), current row]` may be read; others read as NaN.
pub trait History {
    /// The input value of `column` at absolute `row`.
    fn value(&self, column: usize, row: usize) -> f64;
    /// The earliest row that may be read.
    fn first_row(&self) -> usize;
    /// Number of columns in the series.
    fn columns(&self) -> usize;
}

/// Everything an injector may read when it prepares one window of one column.
#[derive(Clone, Copy)]
pub struct WindowInput<'a> {
    /// Index of the column being changed.
    pub column: usize,
    /// Every column this injection changes (for kinds that relate channels).
    pub target_columns: &'a [usize],
    /// First row of the window.
    pub first_row: usize,
    /// Number of rows in the window (at least 1).
    pub len: usize,
    /// Statistics of the column over the `context_rows()` rows before the window.
    pub context: Stats,
    /// Statistics of the column over every row before the window, when the kind asked.
    pub global: Option<Stats>,
    /// Input rows `[first_row - context_rows(), first_row)` of every column.
    pub history: &'a dyn History,
}

impl std::fmt::Debug for WindowInput<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WindowInput")
            .field("column", &self.column)
            .field("first_row", &self.first_row)
            .field("len", &self.len)
            .field("context", &self.context)
            .finish_non_exhaustive()
    }
}

/// The prepared change of one window of one column. Called with the window's rows in order,
/// once each, in chunks: batch application passes the whole window, live application one row.
/// The result must not depend on the chunking.
pub trait Effect: Send + std::fmt::Debug {
    /// Rewrites `values`, which hold the input values of window offsets `k0..k0 + len`.
    /// Point-wise effects ignore `history`; others read it only up to the current row.
    fn fill(&mut self, k0: usize, values: &mut [f64], history: &dyn History);

    /// Which offsets of the window this effect changes (`None`: all of them).
    fn mask(&self) -> Option<&[bool]> {
        None
    }
}

/// An anomaly kind with checked parameters. Object-safe so the UI can hold
/// `Box<dyn Injector>` chosen at runtime.
///
/// # Example
/// ```
/// use anomdet::inject::{find, injection_rng};
/// use anomdet::model::{Params, Series};
///
/// let mut series = Series::from_values("value", (0..100).map(|i| (i as f64 / 5.0).sin()).collect());
/// let entry = find("level_shift").unwrap();
/// let injector = (entry.build)(&Params::resolve(entry.info.params, &Default::default()).unwrap()).unwrap();
/// let changed = injector.apply(&mut series, &[0], 40..60, &mut injection_rng(7, 0)).unwrap();
/// assert_eq!(changed[0].rows, 40..60);
/// ```
pub trait Injector: Send + Sync + std::fmt::Debug {
    /// What this kind is.
    fn info(&self) -> &'static InjectorInfo;

    /// Rows before a window whose statistics feed [`WindowInput::context`] (0: none).
    fn context_rows(&self) -> usize {
        0
    }

    /// True when [`WindowInput::global`] is needed (statistics of every earlier row).
    fn needs_global(&self) -> bool {
        false
    }

    /// `None` for point-wise kinds (a row's new value depends only on its old value and the
    /// prepared state). `Some(n)` when [`Effect::fill`] reads [`History`]: any column, from
    /// `n` rows before the window start up to the current row.
    fn lookback(&self, _window_len: usize) -> Option<usize> {
        None
    }

    /// Prepares the change of one window of one column, drawing randomness from `rng`.
    fn prepare(
        &self,
        input: &WindowInput<'_>,
        rng: &mut ChaCha8Rng,
    ) -> Result<Box<dyn Effect>, InjectError>;

    /// Applies the kind to `columns` over `rows` of `series` in place and returns exactly the
    /// rows it labels, per column (ground truth).
    fn apply(
        &self,
        series: &mut Series,
        columns: &[usize],
        rows: Range<usize>,
        rng: &mut ChaCha8Rng,
    ) -> Result<Vec<ChangedRows>, InjectError> {
        driver::apply_windows(self, series, columns, std::slice::from_ref(&rows), rng)
    }
}
