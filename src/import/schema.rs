//! Which column is the time, which is the ground-truth label, and which hold values, decided
//! from the column names and the sampled rows (see [`super::sniff::Layout`]).
//!
//! - Time, by name first (best-ranked name wins: `timestamp`, `datetime`, `time`, `date`, `ts`,
//!   ... or a name containing `timestamp`), else by content (the first column whose sampled
//!   cells are all date-time text). A named time column holding numbers is read as epoch
//!   seconds, milliseconds, microseconds or nanoseconds.
//! - Label, by name only: `label`, `labels`, `is_anomaly`, `anomaly`, ... (case-insensitive;
//!   `label` outranks `is_anomaly`, so a run export re-imports with its ground truth).
//! - Every other column is a value column candidate; [`super::convert`] keeps the numeric ones.

use super::sniff::Layout;
use super::time::{parse_datetime, parse_epoch_e9};

/// Time column names in order of preference (compared after [`normalize`]).
const TIME_NAMES: &[&str] = &[
    "timestamp",
    "datetime",
    "date_time",
    "time_stamp",
    "time",
    "date",
    "ts",
    "timestamp_utc",
    "utc",
    "epoch",
    "unix_time",
    "unixtime",
    "timestamp_ms",
    "timestamp_s",
    "time_ms",
    "time_s",
];

/// Label column names in order of preference (compared after [`normalize`]).
const LABEL_NAMES: &[&str] = &[
    "label",
    "labels",
    "is_anomaly",
    "anomaly",
    "is_anomalous",
    "anomalous",
    "is_outlier",
    "outlier",
    "ground_truth",
];

/// How the time column's cells are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TimeMode {
    /// Date-time text (RFC 3339 and friends).
    Text,
    /// Numbers since the epoch; the unit is chosen from the magnitudes.
    Epoch,
}

/// The role of each column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Roles {
    /// The time column and how to read it.
    pub time: Option<(usize, TimeMode)>,
    /// The label column.
    pub label: Option<usize>,
}

/// Lowercase, with runs of non-alphanumerics turned into one `_` and trimmed (`"Time (UTC)"` →
/// `"time_utc"`). Roles are matched on this form, so header names are also kept distinct in it.
pub(super) fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.trim().chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_owned()
}

/// The best-ranked column whose normalised name is in `list` (ties: leftmost).
fn best_by_name(names: &[String], list: &[&str], skip: Option<usize>) -> Option<usize> {
    names
        .iter()
        .enumerate()
        .filter(|(j, _)| Some(*j) != skip)
        .filter_map(|(j, n)| {
            let n = normalize(n);
            list.iter().position(|x| *x == n).map(|rank| (rank, j))
        })
        .min()
        .map(|(_, j)| j)
}

/// True when every non-empty sampled cell satisfies `ok` and there is at least one.
fn sample_all(layout: &Layout, j: usize, ok: impl Fn(&str) -> bool) -> bool {
    let mut any = false;
    for cell in layout.sample_column(j) {
        if cell.trim().is_empty() {
            continue;
        }
        if !ok(cell) {
            return false;
        }
        any = true;
    }
    any
}

/// Decides the roles.
pub(super) fn detect_roles(layout: &Layout) -> Roles {
    let names = &layout.names;
    let label = best_by_name(names, LABEL_NAMES, None);
    let by_name = best_by_name(names, TIME_NAMES, label).or_else(|| {
        names
            .iter()
            .enumerate()
            .find(|(j, n)| Some(*j) != label && normalize(n).contains("timestamp"))
            .map(|(j, _)| j)
    });
    let time = match by_name {
        Some(j) => {
            let first = layout
                .sample_column(j)
                .find(|c| !c.trim().is_empty())
                .unwrap_or("");
            let mode = if parse_datetime(first).is_err() && parse_epoch_e9(first).is_ok() {
                TimeMode::Epoch
            } else {
                TimeMode::Text
            };
            Some((j, mode))
        }
        None => (0..names.len())
            .filter(|&j| Some(j) != label)
            .find(|&j| sample_all(layout, j, |c| parse_datetime(c).is_ok()))
            .map(|j| (j, TimeMode::Text)),
    };
    Roles { time, label }
}

/// Columns the fast reader may parse as numbers: value columns (not time, not label) whose
/// sampled cells are all non-empty numbers. A wrong guess only costs a fall-back to the slow
/// reader.
pub(super) fn numeric_hint(layout: &Layout, roles: &Roles) -> Vec<bool> {
    (0..layout.width())
        .map(|j| {
            roles.time.is_none_or(|(t, _)| t != j)
                && roles.label != Some(j)
                && layout
                    .sample_column(j)
                    .all(|c| !c.trim().is_empty() && c.trim().parse::<f64>().is_ok())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(names: &[&str], rows: &[&[&str]]) -> Layout {
        Layout {
            delimiter: b',',
            has_header: true,
            names: names.iter().map(|s| (*s).to_owned()).collect(),
            body_start: 0,
            body_first_line: 2,
            sample: rows
                .iter()
                .map(|r| r.iter().map(|s| (*s).to_owned()).collect())
                .collect(),
            warnings: Vec::new(),
        }
    }

    #[test]
    fn names_are_normalized() {
        assert_eq!(normalize("  Time (UTC) "), "time_utc");
        assert_eq!(normalize("is-anomaly"), "is_anomaly");
        assert_eq!(normalize("Label"), "label");
    }

    #[test]
    fn time_and_label_by_name() {
        let l = layout(
            &["value", "Time", "timestamp", "is_anomaly", "Label"],
            &[&["1", "5", "2024-01-01T00:00:00Z", "0", "1"]],
        );
        let r = detect_roles(&l);
        assert_eq!(r.time, Some((2, TimeMode::Text)));
        assert_eq!(r.label, Some(4));
    }

    #[test]
    fn epoch_by_name_and_text_by_content() {
        let l = layout(&["ts", "v"], &[&["1700000000", "1"]]);
        assert_eq!(detect_roles(&l).time, Some((0, TimeMode::Epoch)));
        let l = layout(&["when", "v"], &[&["2024-01-01 00:00:00", "1"], &["", "2"]]);
        assert_eq!(detect_roles(&l).time, Some((0, TimeMode::Text)));
        let l = layout(&["a", "v"], &[&["1", "1"]]);
        assert_eq!(detect_roles(&l).time, None);
    }
}
