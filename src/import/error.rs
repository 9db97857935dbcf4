//! What can go wrong while importing: [`ImportError`] (the file is unusable) and
//! [`ImportWarning`] (the data is usable, but the user should know something).
//!
//! Every message names the file, and the line and column where one is known. Lines are
//! 1-based physical lines of the file (the header is line 1 when there is one); columns are
//! 1-based field positions, followed by the column's name.

use std::fmt;
use std::path::PathBuf;

use thiserror::Error;

/// Why a file could not be imported or written. Never a panic: every bad input ends here.
#[derive(Debug, Error)]
pub enum ImportError {
    /// Opening, reading or writing the file failed (not found, permission, a folder, ...).
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file has no content (zero bytes, or only whitespace and blank lines).
    #[error("{file}: the file is empty")]
    Empty {
        /// The file's display name.
        file: String,
    },
    /// A header row but no data rows.
    #[error("{file}: the file has a header row ({header}) but no data rows")]
    HeaderOnly {
        /// The file's display name.
        file: String,
        /// The header fields, comma-separated.
        header: String,
    },
    /// No column holds numbers, so there is nothing to analyse.
    #[error("{file}: no numeric value column found (columns: {columns})")]
    NoNumericColumn {
        /// The file's display name.
        file: String,
        /// All column names with what was found in them.
        columns: String,
    },
    /// The content looks binary (a NUL byte), not like CSV text.
    #[error("{file}: line {line}, column {column}: binary data (a NUL byte), not a CSV text file")]
    Binary {
        /// The file's display name.
        file: String,
        /// 1-based line of the first NUL byte.
        line: u64,
        /// 1-based field (or, before the first field is known, byte) position on that line.
        column: usize,
    },
    /// The bytes are not valid UTF-8 (or are UTF-16).
    #[error("{file}: line {line}, column {column}: {detail}")]
    NotUtf8 {
        /// The file's display name.
        file: String,
        /// 1-based line.
        line: u64,
        /// 1-based field position.
        column: usize,
        /// What was found, with a hint.
        detail: String,
    },
    /// A row has a different number of fields than the header (or first row).
    #[error(
        "{file}: line {line}: expected {expected} fields (as in the {reference}), found {found}"
    )]
    Ragged {
        /// The file's display name.
        file: String,
        /// 1-based line where the bad row starts.
        line: u64,
        /// Field count of the header or first row.
        expected: usize,
        /// Field count of this row.
        found: usize,
        /// "header" or "first row".
        reference: &'static str,
    },
    /// A cell of the time column is not a timestamp this importer understands.
    #[error(
        "{file}: line {line}, column {column} ({name:?}): cannot read {value:?} as a timestamp: {reason}"
    )]
    BadTimestamp {
        /// The file's display name.
        file: String,
        /// 1-based line.
        line: u64,
        /// 1-based field position of the time column.
        column: usize,
        /// Name of the time column.
        name: String,
        /// The cell text (shortened when very long).
        value: String,
        /// Why: unknown format, out of range, empty, ...
        reason: String,
    },
    /// The CSV structure itself could not be read (a reader error at a known place).
    #[error("{file}: line {line}: {message}")]
    Malformed {
        /// The file's display name.
        file: String,
        /// 1-based line.
        line: u64,
        /// What the reader said.
        message: String,
    },
    /// A request that cannot be honoured, e.g. scores of the wrong length for export.
    #[error("{}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Cancelled by the user.
    #[error("import cancelled")]
    Cancelled,
}

/// A partial problem: the data was imported, but the user should know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportWarning {
    /// The file's display name.
    pub file: String,
    /// What happened.
    pub kind: WarningKind,
}

impl fmt::Display for ImportWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.kind)
    }
}

/// A list of 1-based line numbers where something was found: the first few and a total.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lines {
    /// How many occurrences in total.
    pub count: usize,
    /// The first few lines (at most [`Lines::SHOWN`]).
    pub first: Vec<u64>,
}

impl Lines {
    /// How many line numbers a warning lists.
    pub const SHOWN: usize = 5;
}

impl fmt::Display for Lines {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list: Vec<String> = self.first.iter().map(u64::to_string).collect();
        let more = if self.count > self.first.len() {
            ", ..."
        } else {
            ""
        };
        let word = if self.first.len() == 1 {
            "line"
        } else {
            "lines"
        };
        write!(f, "{word} {}{more}", list.join(", "))
    }
}

/// The kinds of [`ImportWarning`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WarningKind {
    /// The first row holds data, so columns were named `column_1`, `column_2`, ...
    NoHeader {
        /// Number of columns.
        columns: usize,
    },
    /// A header name was empty or repeated and got a new name.
    RenamedColumn {
        /// 1-based field position.
        column: usize,
        /// The name in the file (possibly empty).
        original: String,
        /// The name used.
        renamed: String,
    },
    /// No time column: row `i` is placed at `i` seconds after the Unix epoch.
    NoTimeColumn,
    /// Empty (or `NA`, `null`, ...) cells in a value column became NaN.
    MissingCells {
        /// Column name.
        column: String,
        /// Where.
        lines: Lines,
    },
    /// `NaN` or infinity written as text became NaN.
    NonFinite {
        /// Column name.
        column: String,
        /// Where.
        lines: Lines,
    },
    /// A column with text in it was not imported.
    SkippedColumn {
        /// Column name.
        column: String,
        /// 1-based field position.
        position: usize,
        /// First line with a non-numeric cell (0 when the column has no numbers at all).
        line: u64,
        /// That cell's text (empty when the column has no numbers at all).
        value: String,
    },
    /// A label column had a value other than 0/1/true/false, so it is not used as ground truth.
    LabelNotBinary {
        /// Column name.
        column: String,
        /// Line of the first bad value.
        line: u64,
        /// The bad value.
        value: String,
        /// True when the column was kept as a numeric value column instead.
        kept_as_values: bool,
    },
    /// Empty or missing-value cells (`NA`, `NaN`, `-`, ...) in the label column were read as 0
    /// (normal).
    MissingLabels {
        /// Column name.
        column: String,
        /// Where.
        lines: Lines,
    },
    /// Timestamps were out of order; rows were sorted by time (stable).
    Unsorted {
        /// How many rows are earlier than the row before them.
        count: usize,
        /// The first such row's line.
        first_line: u64,
    },
    /// Several rows share a timestamp; all were kept.
    DuplicateTimestamps {
        /// Rows whose timestamp equals the previous row's (after sorting).
        count: usize,
        /// Line of the first repeated row.
        first_line: u64,
    },
}

impl fmt::Display for WarningKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoHeader { columns } => write!(
                f,
                "no header row; the {columns} columns were named column_1 .. column_{columns}"
            ),
            Self::RenamedColumn {
                column,
                original,
                renamed,
            } => {
                let why = if original.is_empty() {
                    "empty"
                } else {
                    "repeated"
                };
                write!(
                    f,
                    "line 1, column {column}: {why} header name {original:?} renamed to {renamed:?}"
                )
            }
            Self::NoTimeColumn => f.write_str(
                "no time column found; row i is placed at i seconds after 1970-01-01T00:00:00Z",
            ),
            Self::MissingCells { column, lines } => write!(
                f,
                "column {column:?}: {} missing cell(s) read as NaN ({lines})",
                lines.count
            ),
            Self::NonFinite { column, lines } => write!(
                f,
                "column {column:?}: {} NaN/infinite value(s) read as NaN ({lines})",
                lines.count
            ),
            Self::SkippedColumn {
                column,
                position,
                line,
                value,
            } => {
                if value.is_empty() && *line == 0 {
                    write!(
                        f,
                        "column {position} ({column:?}) has no numbers (only empty or NaN cells) and was skipped"
                    )
                } else {
                    write!(
                        f,
                        "line {line}, column {position} ({column:?}): non-numeric value {value:?}; the column was skipped"
                    )
                }
            }
            Self::LabelNotBinary {
                column,
                line,
                value,
                kept_as_values,
            } => {
                let what = if *kept_as_values {
                    "kept as a value column"
                } else {
                    "skipped"
                };
                write!(
                    f,
                    "line {line}: label column {column:?} has value {value:?} (expected 0/1 or true/false); it is not used as ground truth and was {what}"
                )
            }
            Self::MissingLabels { column, lines } => write!(
                f,
                "label column {column:?}: {} empty or missing cell(s) read as 0 ({lines})",
                lines.count
            ),
            Self::Unsorted { count, first_line } => write!(
                f,
                "timestamps are not in order ({count} row(s) earlier than the row before, first at line {first_line}); rows were sorted by time"
            ),
            Self::DuplicateTimestamps { count, first_line } => write!(
                f,
                "{count} row(s) repeat the previous row's timestamp (first at line {first_line}); all were kept"
            ),
        }
    }
}

/// Shortens a cell for a message: at most 60 characters.
pub(super) fn shorten(text: &str) -> String {
    const MAX: usize = 60;
    if text.chars().count() <= MAX {
        text.to_owned()
    } else {
        let mut s: String = text.chars().take(MAX).collect();
        s.push('…');
        s
    }
}
