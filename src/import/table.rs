//! The text table that both readers produce: one column of cells per CSV column plus a map
//! from row to file line, so that conversion and its messages do not care which reader ran.

/// A column of text cells, in row order. Empty cells are `""`.
pub(super) trait Cells {
    /// The cells, front to back.
    fn cells(&self) -> impl Iterator<Item = &str> + '_;

    /// The column as numbers, when the reader already parsed it (the fast reader does this
    /// for columns whose sample is all numbers; such columns have no text cells).
    fn numbers(&self) -> Option<Vec<f64>> {
        None
    }
}

/// Row index → 1-based line of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum LineMap {
    /// Row `r` is on line `base + r` (no blank lines, no line breaks inside fields).
    Offset(u64),
    /// The line of every row.
    Explicit(Vec<u64>),
}

impl LineMap {
    /// The line of `row`.
    pub fn line(&self, row: usize) -> u64 {
        match self {
            Self::Offset(base) => base + row as u64,
            Self::Explicit(lines) => lines.get(row).copied().unwrap_or(0),
        }
    }
}

/// Columns of text cells with equal length.
#[derive(Debug)]
pub(super) struct Table<C> {
    /// One per CSV column, in file order.
    pub columns: Vec<C>,
    /// Number of rows (every column has this many cells).
    pub rows: usize,
    /// Where each row is in the file.
    pub lines: LineMap,
}

/// The byte offset and 1-based line where a record really starts: the csv crate reports the
/// position before any blank lines it skipped, so step over line ends.
pub(super) fn record_start(text: &[u8], pos: &csv::Position) -> (usize, u64) {
    let mut byte = pos.byte() as usize;
    let mut line = pos.line();
    while let Some(&b) = text.get(byte).filter(|b| matches!(b, b'\n' | b'\r')) {
        if b == b'\n' {
            line += 1;
        }
        byte += 1;
    }
    (byte, line)
}
