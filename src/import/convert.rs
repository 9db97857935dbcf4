//! Text table → [`Series`]: timestamps, value columns and labels, with every partial problem
//! turned into a warning that names the lines, and sorting by time at the end.
//!
//! The same code runs on the output of both readers, which is what makes the fast and the
//! slow path agree.

use crate::control::CancelToken;
use crate::model::{Column, Series, Timestamp};

use super::error::{ImportError, Lines, WarningKind, shorten};
use super::schema::{Roles, TimeMode};
use super::sniff::is_missing_token;
use super::table::{Cells, LineMap, Table};
use super::time::{EpochUnit, TimeError, parse_datetime, parse_epoch_e9};

/// How often (in rows) loops look at the cancel flag.
const CANCEL_EVERY: usize = 1 << 16;

/// Everything conversion needs besides the table.
#[derive(Debug)]
pub(super) struct Context<'a> {
    /// The file's display name.
    pub file: &'a str,
    /// Column names (unique).
    pub names: &'a [String],
    /// Column roles.
    pub roles: &'a Roles,
    /// The cancel flag.
    pub cancel: &'a CancelToken,
}

/// The converted data, before it becomes an `Imported`.
#[derive(Debug)]
pub(super) struct Converted {
    /// The series.
    pub series: Series,
    /// Warnings in file order.
    pub warnings: Vec<WarningKind>,
    /// Whether the label column was used.
    pub labels_used: bool,
}

/// Collects up to [`Lines::SHOWN`] rows and a count.
#[derive(Debug, Default)]
struct RowList {
    count: usize,
    first: Vec<usize>,
}

impl RowList {
    fn push(&mut self, row: usize) {
        self.count += 1;
        if self.first.len() < Lines::SHOWN {
            self.first.push(row);
        }
    }

    fn lines(&self, map: &LineMap) -> Lines {
        Lines {
            count: self.count,
            first: self.first.iter().map(|&r| map.line(r)).collect(),
        }
    }
}

/// One cell of a value column.
enum Cell {
    Number(f64),
    NonFinite,
    Missing,
    Text,
}

fn parse_cell(s: &str) -> Cell {
    let classify = |v: f64| {
        if v.is_finite() {
            Cell::Number(v)
        } else {
            Cell::NonFinite
        }
    };
    if let Ok(v) = s.parse::<f64>() {
        return classify(v);
    }
    let t = s.trim();
    if t.is_empty() || is_missing_token(t) {
        return Cell::Missing;
    }
    t.parse::<f64>().map_or(Cell::Text, classify)
}

/// A value column's outcome.
enum Values {
    Numeric {
        values: Vec<f64>,
        missing: RowList,
        non_finite: RowList,
    },
    /// First non-numeric cell.
    Text { row: usize, value: String },
    /// No cell holds a number (all empty or NaN).
    Empty,
}

fn parse_values(
    column: &impl Cells,
    rows: usize,
    cancel: &CancelToken,
) -> Result<Values, ImportError> {
    let mut missing = RowList::default();
    let mut non_finite = RowList::default();
    if let Some(mut values) = column.numbers() {
        for (row, v) in values.iter_mut().enumerate() {
            if !v.is_finite() {
                non_finite.push(row);
                *v = f64::NAN;
            }
        }
        return Ok(if non_finite.count == values.len() {
            Values::Empty
        } else {
            Values::Numeric {
                values,
                missing,
                non_finite,
            }
        });
    }
    let mut values = Vec::with_capacity(rows);
    for (row, s) in column.cells().enumerate() {
        if row % CANCEL_EVERY == 0 && cancel.is_cancelled() {
            return Err(ImportError::Cancelled);
        }
        match parse_cell(s) {
            Cell::Number(v) => values.push(v),
            Cell::NonFinite => {
                non_finite.push(row);
                values.push(f64::NAN);
            }
            Cell::Missing => {
                missing.push(row);
                values.push(f64::NAN);
            }
            Cell::Text => {
                return Ok(Values::Text {
                    row,
                    value: shorten(s.trim()),
                });
            }
        }
    }
    if missing.count + non_finite.count == values.len() {
        return Ok(Values::Empty);
    }
    Ok(Values::Numeric {
        values,
        missing,
        non_finite,
    })
}

/// Labels: `Ok((flags, missing rows))` or `Err((row, value))` for the first non-binary cell.
///
/// Missing cells are the same as in value columns (empty, `NA`, `null`, `-`, ...) plus `NaN`:
/// an unknown label is read as 0 with a warning. Reading `NaN` as a reason to demote the column
/// to values would not survive an export, which writes a missing value as an empty cell.
fn parse_labels(column: &impl Cells, rows: usize) -> Result<(Vec<bool>, RowList), (usize, String)> {
    let mut flags = Vec::with_capacity(rows);
    let mut missing = RowList::default();
    for (row, s) in column.cells().enumerate() {
        let t = s.trim();
        let flag = match t {
            "0" => false,
            "1" => true,
            _ if t.eq_ignore_ascii_case("true") => true,
            _ if t.eq_ignore_ascii_case("false") => false,
            _ if t.is_empty() || is_missing_token(t) => {
                missing.push(row);
                false
            }
            _ => match t.parse::<f64>() {
                Ok(v) if v.abs().to_bits() == 0 => false,
                Ok(v) if v.to_bits() == 1f64.to_bits() => true,
                Ok(v) if v.is_nan() => {
                    missing.push(row);
                    false
                }
                _ => return Err((row, shorten(t))),
            },
        };
        flags.push(flag);
    }
    Ok((flags, missing))
}

fn time_error(
    ctx: &Context<'_>,
    lines: &LineMap,
    j: usize,
    row: usize,
    cell: &str,
    e: TimeError,
) -> ImportError {
    ImportError::BadTimestamp {
        file: ctx.file.to_owned(),
        line: lines.line(row),
        column: j + 1,
        name: ctx.names[j].clone(),
        value: shorten(cell.trim()),
        reason: e.reason().to_owned(),
    }
}

fn parse_times(
    ctx: &Context<'_>,
    column: &impl Cells,
    lines: &LineMap,
    j: usize,
    mode: TimeMode,
    rows: usize,
) -> Result<Vec<Timestamp>, ImportError> {
    let mut out = Vec::with_capacity(rows);
    match mode {
        TimeMode::Text => {
            for (row, cell) in column.cells().enumerate() {
                if row % CANCEL_EVERY == 0 && ctx.cancel.is_cancelled() {
                    return Err(ImportError::Cancelled);
                }
                let ns =
                    parse_datetime(cell).map_err(|e| time_error(ctx, lines, j, row, cell, e))?;
                out.push(Timestamp(ns));
            }
        }
        TimeMode::Epoch => {
            let mut raw = Vec::with_capacity(rows);
            let mut max_abs = 0u128;
            for (row, cell) in column.cells().enumerate() {
                let v =
                    parse_epoch_e9(cell).map_err(|e| time_error(ctx, lines, j, row, cell, e))?;
                max_abs = max_abs.max(v.unsigned_abs() / 1_000_000_000);
                raw.push(v);
            }
            let unit = EpochUnit::from_magnitude(max_abs);
            for (row, v) in raw.into_iter().enumerate() {
                let ns = unit.nanos_from_e9(v).ok_or_else(|| {
                    let cell = column.cells().nth(row).unwrap_or("");
                    time_error(ctx, lines, j, row, cell, TimeError::Range)
                })?;
                out.push(Timestamp(ns));
            }
        }
    }
    Ok(out)
}

/// Rows from which the time column is parsed on its own thread, next to the value columns.
const PARALLEL_ROWS: usize = 50_000;

/// The timestamps (or row numbers when there is no time column).
fn timestamps<C: Cells>(
    table: &Table<C>,
    ctx: &Context<'_>,
) -> Result<Vec<Timestamp>, ImportError> {
    match ctx.roles.time {
        Some((j, mode)) => parse_times(ctx, &table.columns[j], &table.lines, j, mode, table.rows),
        None => Ok((0..table.rows as i64)
            .map(|i| Timestamp(i * Timestamp::NANOS_PER_SEC))
            .collect()),
    }
}

/// Builds the series from the table. On large tables the time column is parsed on a second
/// (named, scoped) thread while this one converts the value columns.
pub(super) fn convert<C: Cells + Sync>(
    table: &Table<C>,
    ctx: &Context<'_>,
) -> Result<Converted, ImportError> {
    let (times, values) = std::thread::scope(|scope| {
        let job = (table.rows >= PARALLEL_ROWS && ctx.roles.time.is_some())
            .then(|| {
                std::thread::Builder::new()
                    .name("import-time".to_owned())
                    .spawn_scoped(scope, || timestamps(table, ctx))
                    .ok()
            })
            .flatten();
        let values = convert_values(table, ctx);
        let times = match job {
            Some(handle) => handle.join().unwrap_or_else(|_| {
                Err(ImportError::Invalid {
                    path: ctx.file.into(),
                    message: "the timestamp parser stopped unexpectedly".to_owned(),
                })
            }),
            None => timestamps(table, ctx),
        };
        (times, values)
    });
    let timestamps = times?;
    let (columns, labels, mut warnings) = values?;
    if ctx.roles.time.is_none() {
        warnings.insert(0, WarningKind::NoTimeColumn);
    }
    let labels_used = labels.is_some();
    let (timestamps, columns, labels) =
        sort_by_time(timestamps, columns, labels, &table.lines, &mut warnings);
    let series = Series::new(timestamps, columns, labels).map_err(|e| ImportError::Invalid {
        path: ctx.file.into(),
        message: e.to_string(),
    })?;
    Ok(Converted {
        series,
        warnings,
        labels_used,
    })
}

type ValueParts = (Vec<Column>, Option<Vec<bool>>, Vec<WarningKind>);

/// The value columns and the labels, with their warnings.
fn convert_values<C: Cells>(
    table: &Table<C>,
    ctx: &Context<'_>,
) -> Result<ValueParts, ImportError> {
    let rows = table.rows;
    let lines = &table.lines;
    let mut warnings = Vec::new();
    let mut columns = Vec::new();
    let mut labels = None;
    let mut found = Vec::new();
    for (j, column) in table.columns.iter().enumerate() {
        let name = &ctx.names[j];
        if ctx.roles.time.is_some_and(|(t, _)| t == j) {
            found.push(format!("{name:?} (time)"));
            continue;
        }
        if ctx.roles.label == Some(j) {
            match parse_labels(column, rows) {
                Ok((flags, missing)) => {
                    if missing.count > 0 {
                        warnings.push(WarningKind::MissingLabels {
                            column: name.clone(),
                            lines: missing.lines(lines),
                        });
                    }
                    labels = Some(flags);
                    found.push(format!("{name:?} (label)"));
                    continue;
                }
                Err((row, value)) => {
                    let numeric = matches!(
                        parse_values(column, rows, ctx.cancel)?,
                        Values::Numeric { .. }
                    );
                    warnings.push(WarningKind::LabelNotBinary {
                        column: name.clone(),
                        line: lines.line(row),
                        value,
                        kept_as_values: numeric,
                    });
                }
            }
        }
        match parse_values(column, rows, ctx.cancel)? {
            Values::Numeric {
                values,
                missing,
                non_finite,
            } => {
                if missing.count > 0 {
                    warnings.push(WarningKind::MissingCells {
                        column: name.clone(),
                        lines: missing.lines(lines),
                    });
                }
                if non_finite.count > 0 {
                    warnings.push(WarningKind::NonFinite {
                        column: name.clone(),
                        lines: non_finite.lines(lines),
                    });
                }
                columns.push(Column::new(name.clone(), values));
                found.push(format!("{name:?} (numbers)"));
            }
            Values::Text { row, value } => {
                if ctx.roles.label != Some(j) {
                    warnings.push(WarningKind::SkippedColumn {
                        column: name.clone(),
                        position: j + 1,
                        line: lines.line(row),
                        value: value.clone(),
                    });
                }
                found.push(format!(
                    "{name:?} (text {value:?} on line {})",
                    lines.line(row)
                ));
            }
            Values::Empty => {
                warnings.push(WarningKind::SkippedColumn {
                    column: name.clone(),
                    position: j + 1,
                    line: 0,
                    value: String::new(),
                });
                found.push(format!("{name:?} (empty)"));
            }
        }
    }
    if columns.is_empty() {
        return Err(ImportError::NoNumericColumn {
            file: ctx.file.to_owned(),
            columns: found.join(", "),
        });
    }
    Ok((columns, labels, warnings))
}

type Parts = (Vec<Timestamp>, Vec<Column>, Option<Vec<bool>>);

/// Sorts rows by time (stable) when needed, and reports disorder and repeated timestamps.
fn sort_by_time(
    timestamps: Vec<Timestamp>,
    mut columns: Vec<Column>,
    labels: Option<Vec<bool>>,
    lines: &LineMap,
    warnings: &mut Vec<WarningKind>,
) -> Parts {
    let mut backwards = timestamps
        .windows(2)
        .enumerate()
        .filter(|(_, w)| w[1] < w[0])
        .map(|(i, _)| i + 1);
    let (timestamps, labels, order) = if let Some(first) = backwards.next() {
        let count = 1 + backwards.count();
        warnings.push(WarningKind::Unsorted {
            count,
            first_line: lines.line(first),
        });
        let mut order: Vec<usize> = (0..timestamps.len()).collect();
        order.sort_by_key(|&i| timestamps[i]);
        let ts = order.iter().map(|&i| timestamps[i]).collect();
        for column in &mut columns {
            column.values = order.iter().map(|&i| column.values[i]).collect();
        }
        let labels = labels.map(|l| order.iter().map(|&i| l[i]).collect());
        (ts, labels, Some(order))
    } else {
        (timestamps, labels, None)
    };
    let mut repeats = timestamps
        .windows(2)
        .enumerate()
        .filter(|(_, w)| w[1] == w[0])
        .map(|(i, _)| i + 1);
    if let Some(first) = repeats.next() {
        let count = 1 + repeats.count();
        let original = order.as_ref().map_or(first, |o| o[first]);
        warnings.push(WarningKind::DuplicateTimestamps {
            count,
            first_line: lines.line(original),
        });
    }
    (timestamps, columns, labels)
}
