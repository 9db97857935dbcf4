//! [`LiveInjector`]: applies an [`InjectionPlan`] to a stream row by row, as the rows pass, so
//! that a streaming detector sees the anomaly arrive. Its output equals [`apply_plan`] row for
//! row, bit for bit.
//!
//! What is computed up front, from the plan and the stream's timestamps (known from the
//! replayed source before the first row): every injector, its columns, and its windows (time
//! targets need the timestamps, random targets the length; placements draw from the
//! injection's rng first, exactly as in batch). What happens as rows pass, per injection
//! ("stage", in plan order; stage `i` sees the output of stages `0..i`):
//! - the stage's *input* row is pushed into a ring that keeps the last
//!   `max(context, lookback) + window length + 1` rows (nothing when the kind needs neither);
//! - at a window's first row, each target column's effect is prepared from the ring (context
//!   statistics), from running statistics of every earlier row (kinds that need them), and
//!   from the rng, in the same order as batch;
//! - inside a window, each effect rewrites the row's value, reading earlier rows from the ring.
//!
//! No kind looks ahead (see the `inject` module docs), so there is no output delay.
//!
//! [`apply_plan`]: super::apply_plan

use std::collections::VecDeque;
use std::ops::Range;

use rand_chacha::ChaCha8Rng;

use super::plan::{group_windows, place};
use super::{
    ChangedRows, Effect, History, InjectError, InjectedWindow, InjectionPlan, Injector, NoHistory,
    Stats, WindowInput,
};
use crate::model::Timestamp;

/// Applies a plan to a stream row by row. Rows must be given in order, starting at row 0.
///
/// # Example
/// ```
/// use anomdet::inject::{InjectionPlan, InjectionSpec, LiveInjector, Target};
/// use anomdet::model::Timestamp;
///
/// let plan = InjectionPlan {
///     seed: 7,
///     injections: vec![InjectionSpec::new("dropout").with_target(Target::Rows { start: 2, length: 2 })],
/// };
/// let ts: Vec<Timestamp> = (0..5).map(Timestamp).collect();
/// let mut live = LiveInjector::new(&plan, &ts, &["value".to_owned()]).unwrap();
/// let mut labels = Vec::new();
/// for row in 0..5 {
///     let mut values = [1.0];
///     labels.push(live.apply_row(row, &mut values).unwrap());
/// }
/// assert_eq!(labels, vec![false, false, true, true, false]);
/// ```
#[derive(Debug)]
pub struct LiveInjector {
    stages: Vec<Stage>,
    next_row: usize,
    rows: usize,
    width: usize,
    planned: Vec<InjectedWindow>,
}

impl LiveInjector {
    /// Builds every injection of `plan` and places it on a stream with these timestamps
    /// (one per row) and columns.
    ///
    /// # Errors
    /// The same errors as [`apply_plan`](super::apply_plan) for kinds, parameters, columns and
    /// targets.
    pub fn new(
        plan: &InjectionPlan,
        timestamps: &[Timestamp],
        column_names: &[String],
    ) -> Result<Self, InjectError> {
        let mut stages = Vec::with_capacity(plan.injections.len());
        let mut planned = Vec::new();
        for index in 0..plan.injections.len() {
            let placed = place(plan, index, timestamps, column_names)?;
            let truth: Vec<ChangedRows> = placed
                .windows
                .iter()
                .flat_map(|w| {
                    placed.columns.iter().map(|&column| ChangedRows {
                        column,
                        rows: w.clone(),
                    })
                })
                .collect();
            planned.extend(group_windows(
                index,
                placed.kind,
                &truth,
                column_names,
                timestamps,
            ));
            let context = placed.injector.context_rows();
            let keep = placed
                .windows
                .iter()
                .map(|w| {
                    let back = placed.injector.lookback(w.len());
                    if context == 0 && back.is_none() {
                        0
                    } else {
                        context.max(back.unwrap_or(0)) + w.len() + 1
                    }
                })
                .max()
                .unwrap_or(0);
            let global = placed
                .injector
                .needs_global()
                .then(|| vec![Stats::default(); placed.columns.len()]);
            stages.push(Stage {
                index,
                kind: plan.injections[index].kind.clone(),
                injector: placed.injector,
                columns: placed.columns,
                windows: placed.windows,
                rng: placed.rng,
                next: 0,
                open: None,
                ring: (keep > 0).then(|| Ring::new(column_names.len(), keep)),
                context,
                global,
            });
        }
        Ok(Self {
            stages,
            next_row: 0,
            rows: timestamps.len(),
            width: column_names.len(),
            planned,
        })
    }

    /// The windows the plan targets (per injection, all rows of each window; kinds with a
    /// `fraction` below 1 label only some of them, which [`apply_row`](Self::apply_row) tells).
    pub fn planned_windows(&self) -> &[InjectedWindow] {
        &self.planned
    }

    /// The next row expected.
    pub fn next_row(&self) -> usize {
        self.next_row
    }

    /// Applies the plan to `row` (its values in column order, changed in place) and returns
    /// whether any injection labels this row.
    ///
    /// # Errors
    /// A row out of order, past the planned length, or of the wrong width; an injector that
    /// rejects its input (e.g. a correlation break without an untargeted column).
    pub fn apply_row(&mut self, row: usize, values: &mut [f64]) -> Result<bool, InjectError> {
        if row != self.next_row || row >= self.rows {
            return Err(InjectError::Live(format!(
                "expected row {} of {}, got row {row}",
                self.next_row, self.rows
            )));
        }
        if values.len() != self.width {
            return Err(InjectError::Live(format!(
                "row {row} has {} values, the stream has {} columns",
                values.len(),
                self.width
            )));
        }
        let mut labelled = false;
        for stage in &mut self.stages {
            labelled |= stage
                .step(row, values)
                .map_err(|e| e.at(stage.index, &stage.kind))?;
        }
        self.next_row += 1;
        Ok(labelled)
    }
}

/// The recent input rows of one stage, all columns.
#[derive(Debug)]
struct Ring {
    /// Row number of the oldest value held.
    first_row: usize,
    keep: usize,
    columns: Vec<VecDeque<f64>>,
}

impl Ring {
    fn new(width: usize, keep: usize) -> Self {
        Self {
            first_row: 0,
            keep,
            columns: (0..width)
                .map(|_| VecDeque::with_capacity(keep.min(1 << 16)))
                .collect(),
        }
    }

    fn push(&mut self, values: &[f64]) {
        let mut full = false;
        for (column, &v) in self.columns.iter_mut().zip(values) {
            column.push_back(v);
            if column.len() > self.keep {
                column.pop_front();
                full = true;
            }
        }
        if full {
            self.first_row += 1;
        }
    }
}

/// A ring seen from `first_row` on (the same limit batch application uses).
struct View<'a> {
    ring: &'a Ring,
    first_row: usize,
}

impl History for View<'_> {
    fn value(&self, column: usize, row: usize) -> f64 {
        if row < self.first_row {
            return f64::NAN;
        }
        row.checked_sub(self.ring.first_row)
            .and_then(|i| self.ring.columns.get(column)?.get(i))
            .copied()
            .unwrap_or(f64::NAN)
    }
    fn first_row(&self) -> usize {
        self.first_row
    }
    fn columns(&self) -> usize {
        self.ring.columns.len()
    }
}

/// An open window: its rows, one effect per target column, and where history reads start.
#[derive(Debug)]
struct Open {
    window: Range<usize>,
    effects: Vec<Box<dyn Effect>>,
    lookback_first: Option<usize>,
}

/// One injection of the plan, applied row by row.
#[derive(Debug)]
struct Stage {
    /// Position in the plan and kind as written, for errors.
    index: usize,
    kind: String,
    injector: Box<dyn Injector>,
    columns: Vec<usize>,
    windows: Vec<Range<usize>>,
    rng: ChaCha8Rng,
    next: usize,
    open: Option<Open>,
    ring: Option<Ring>,
    context: usize,
    global: Option<Vec<Stats>>,
}

impl Stage {
    fn step(&mut self, row: usize, values: &mut [f64]) -> Result<bool, InjectError> {
        if let Some(ring) = self.ring.as_mut() {
            ring.push(values);
        }
        if self.open.is_none() && self.windows.get(self.next).is_some_and(|w| w.start == row) {
            self.open = Some(self.prepare(self.windows[self.next].clone())?);
            self.next += 1;
        }
        if let Some(global) = self.global.as_mut() {
            for (stats, &column) in global.iter_mut().zip(&self.columns) {
                stats.push(values[column]);
            }
        }
        let Some(open) = self.open.as_mut() else {
            return Ok(false);
        };
        let k = row - open.window.start;
        let mut labelled = false;
        for (&column, effect) in self.columns.iter().zip(open.effects.iter_mut()) {
            let mut cell = [values[column]];
            match (open.lookback_first, self.ring.as_ref()) {
                (Some(first_row), Some(ring)) => {
                    effect.fill(k, &mut cell, &View { ring, first_row });
                }
                _ => effect.fill(k, &mut cell, &NoHistory),
            }
            values[column] = cell[0];
            labelled |= effect
                .mask()
                .is_none_or(|m| m.get(k).copied().unwrap_or(false));
        }
        if row + 1 >= open.window.end {
            self.open = None;
        }
        Ok(labelled)
    }

    fn prepare(&mut self, window: Range<usize>) -> Result<Open, InjectError> {
        let first = window.start.saturating_sub(self.context);
        let empty = Ring::new(0, 0);
        let ring = self.ring.as_ref().unwrap_or(&empty);
        let view = View {
            ring,
            first_row: first,
        };
        let mut effects = Vec::with_capacity(self.columns.len());
        for (slot, &column) in self.columns.iter().enumerate() {
            let mut context = Stats::default();
            if self.context > 0 {
                for r in first..window.start {
                    context.push(view.value(column, r));
                }
            }
            let input = WindowInput {
                column,
                target_columns: &self.columns,
                first_row: window.start,
                len: window.len(),
                context,
                global: self.global.as_ref().map(|g| g[slot]),
                history: &view,
            };
            effects.push(self.injector.prepare(&input, &mut self.rng)?);
        }
        let lookback_first = self
            .injector
            .lookback(window.len())
            .map(|n| window.start.saturating_sub(n));
        Ok(Open {
            window,
            effects,
            lookback_first,
        })
    }
}
