//! Batch application of one injector over resolved windows, and the ground truth it returns.
//!
//! Two phases keep batch equal to live application: first every window is *prepared* in time
//! order from the untouched input (context statistics, global statistics, rng draws), then the
//! windows are *filled* last to first, so a window that reads earlier rows through
//! [`History`](super::History) still sees input values; its own rows are copied before they are
//! overwritten.

use std::ops::Range;

use rand_chacha::ChaCha8Rng;

use super::stats::{SeriesHistory, Snapshot};
use super::{Effect, InjectError, Injector, NoHistory, Stats, WindowInput};
use crate::model::Series;

/// Rows of one column that an injection labels (ground truth).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangedRows {
    /// Column index.
    pub column: usize,
    /// Rows, half-open.
    pub rows: Range<usize>,
}

/// Checks that windows are non-empty, inside the series, sorted and non-overlapping.
pub(crate) fn check_windows(windows: &[Range<usize>], rows: usize) -> Result<(), InjectError> {
    let mut previous_end = 0;
    for w in windows {
        if w.is_empty() || w.end > rows || w.start < previous_end {
            return Err(InjectError::Target {
                field: "rows",
                message: format!(
                    "window {}..{} is empty, overlaps an earlier one or runs past the end \
                     ({rows} rows)",
                    w.start, w.end
                ),
            });
        }
        previous_end = w.end;
    }
    Ok(())
}

/// Checks column indices against the series.
pub(crate) fn check_columns(columns: &[usize], series: &Series) -> Result<(), InjectError> {
    if let Some(&bad) = columns.iter().find(|&&c| c >= series.columns().len()) {
        return Err(InjectError::UnknownColumn {
            column: format!("#{bad}"),
            available: series.column_names().join(", "),
        });
    }
    Ok(())
}

/// Applies `injector` to `columns` over `windows` of `series` in place.
pub(crate) fn apply_windows<I: Injector + ?Sized>(
    injector: &I,
    series: &mut Series,
    columns: &[usize],
    windows: &[Range<usize>],
    rng: &mut ChaCha8Rng,
) -> Result<Vec<ChangedRows>, InjectError> {
    check_windows(windows, series.len())?;
    check_columns(columns, series)?;
    let min_columns = injector.info().min_columns;
    if series.columns().len() < min_columns {
        return Err(InjectError::Input {
            kind: injector.info().id,
            message: format!(
                "needs a series with at least {min_columns} columns, this one has {}",
                series.columns().len()
            ),
        });
    }
    let effects = prepare_all(injector, series, columns, windows, rng)?;
    let mut changed = Vec::new();
    for (window, window_effects) in windows.iter().zip(effects).rev() {
        let snapshot = injector
            .lookback(window.len())
            .map(|n| Snapshot::copy(series, window.start.saturating_sub(n)..window.end));
        for (&column, mut effect) in columns.iter().zip(window_effects) {
            if let Some(values) = series.values_mut(column) {
                let values = &mut values[window.clone()];
                match &snapshot {
                    Some(snap) => effect.fill(0, values, snap),
                    None => effect.fill(0, values, &NoHistory),
                }
            }
            push_truth(&mut changed, column, window, effect.mask());
        }
    }
    changed.sort_by_key(|c| (c.rows.start, c.column));
    Ok(changed)
}

/// Prepares every (window, column) effect in time order, before anything is changed.
fn prepare_all<I: Injector + ?Sized>(
    injector: &I,
    series: &Series,
    columns: &[usize],
    windows: &[Range<usize>],
    rng: &mut ChaCha8Rng,
) -> Result<Vec<Vec<Box<dyn Effect>>>, InjectError> {
    let context_rows = injector.context_rows();
    let mut global = injector
        .needs_global()
        .then(|| vec![Stats::default(); columns.len()]);
    let mut global_upto = 0;
    let mut all = Vec::with_capacity(windows.len());
    for window in windows {
        if let Some(global) = global.as_mut() {
            for (stats, &column) in global.iter_mut().zip(columns) {
                for &x in &series.columns()[column].values[global_upto..window.start] {
                    stats.push(x);
                }
            }
            global_upto = window.start;
        }
        let first = window.start.saturating_sub(context_rows);
        let history = SeriesHistory {
            series,
            first_row: first,
        };
        let mut effects = Vec::with_capacity(columns.len());
        for (slot, &column) in columns.iter().enumerate() {
            let input = WindowInput {
                column,
                target_columns: columns,
                first_row: window.start,
                len: window.len(),
                context: Stats::of(&series.columns()[column].values[first..window.start]),
                global: global.as_ref().map(|g| g[slot]),
                history: &history,
            };
            effects.push(injector.prepare(&input, rng)?);
        }
        all.push(effects);
    }
    Ok(all)
}

/// Appends the labelled runs of one window of one column.
pub(crate) fn push_truth(
    out: &mut Vec<ChangedRows>,
    column: usize,
    window: &Range<usize>,
    mask: Option<&[bool]>,
) {
    let Some(mask) = mask else {
        out.push(ChangedRows {
            column,
            rows: window.clone(),
        });
        return;
    };
    let mut open: Option<usize> = None;
    for (k, &on) in mask.iter().enumerate() {
        match (on, open) {
            (true, None) => open = Some(k),
            (false, Some(first)) => {
                out.push(ChangedRows {
                    column,
                    rows: window.start + first..window.start + k,
                });
                open = None;
            }
            _ => {}
        }
    }
    if let Some(first) = open {
        out.push(ChangedRows {
            column,
            rows: window.start + first..window.start + mask.len(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truth_runs_follow_the_mask() {
        let mut out = Vec::new();
        push_truth(
            &mut out,
            2,
            &(10..16),
            Some(&[true, true, false, true, false, true]),
        );
        let rows: Vec<_> = out.iter().map(|c| c.rows.clone()).collect();
        assert_eq!(rows, vec![10..12, 13..14, 15..16]);
        out.clear();
        push_truth(&mut out, 0, &(3..5), None);
        assert_eq!(
            out,
            vec![ChangedRows {
                column: 0,
                rows: 3..5
            }]
        );
    }

    #[test]
    fn overlapping_or_out_of_range_windows_are_rejected() {
        assert!(check_windows(&[0..3, 3..5], 5).is_ok());
        assert!(check_windows(&[0..3, 2..5], 5).is_err());
        assert!(check_windows(std::slice::from_ref(&(4..6)), 5).is_err());
        assert!(check_windows(std::slice::from_ref(&(2..2)), 5).is_err());
    }
}
