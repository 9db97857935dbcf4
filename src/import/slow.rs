//! The exact reader: the `csv` crate, record by record, with the line of every row. Used when
//! the fast reader ([`super::fast`]) declines; it finds ragged rows, invalid UTF-8 and NUL
//! bytes with their line and column, and skips blank lines.

use crate::control::{CancelToken, Progress};

use super::error::ImportError;
use super::sniff::not_utf8;
use super::table::{Cells, LineMap, Table, record_start};

/// A column's cells stored back to back in one string.
#[derive(Debug, Default)]
pub(super) struct SlowColumn {
    text: String,
    ends: Vec<usize>,
}

impl SlowColumn {
    fn push(&mut self, cell: &str) {
        self.text.push_str(cell);
        self.ends.push(self.text.len());
    }
}

impl Cells for SlowColumn {
    fn cells(&self) -> impl Iterator<Item = &str> + '_ {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(self.ends.iter().copied())
            .map(|(s, e)| self.text.get(s..e).unwrap_or(""))
    }
}

/// What the slow reader needs to know about the file.
#[derive(Debug)]
pub(super) struct SlowInput<'a> {
    /// Data rows only (no header).
    pub body: &'a [u8],
    /// Line on which `body` starts.
    pub first_line: u64,
    /// The separator.
    pub delimiter: u8,
    /// Number of columns every row must have.
    pub width: usize,
    /// Whether the width comes from a header (for messages).
    pub has_header: bool,
    /// The file's display name.
    pub file: &'a str,
}

/// Reads every record; errors name the file, line and column.
pub(super) fn read(
    input: &SlowInput<'_>,
    progress: &Progress,
    cancel: &CancelToken,
    progress_span: (u64, u64),
) -> Result<Table<SlowColumn>, ImportError> {
    let file = input.file;
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(input.delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(input.body);
    let mut columns: Vec<SlowColumn> = (0..input.width).map(|_| SlowColumn::default()).collect();
    let mut lines = Vec::new();
    let mut record = csv::ByteRecord::new();
    let total = input.body.len().max(1) as u64;
    loop {
        let line_here = input.first_line + reader.position().line() - 1;
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                return Err(ImportError::Malformed {
                    file: file.to_owned(),
                    line: e
                        .position()
                        .map_or(line_here, |p| input.first_line + p.line() - 1),
                    message: e.to_string(),
                });
            }
        }
        let line = record.position().map_or(line_here, |p| {
            input.first_line + record_start(input.body, p).1 - 1
        });
        if record.len() != input.width {
            return Err(ImportError::Ragged {
                file: file.to_owned(),
                line,
                expected: input.width,
                found: record.len(),
                reference: if input.has_header {
                    "header"
                } else {
                    "first row"
                },
            });
        }
        for (j, field) in record.iter().enumerate() {
            match std::str::from_utf8(field) {
                Ok(cell) if !cell.contains('\0') => columns[j].push(cell),
                Ok(_) => {
                    return Err(ImportError::Binary {
                        file: file.to_owned(),
                        line,
                        column: j + 1,
                    });
                }
                Err(e) => return Err(not_utf8(file, line, j, field, e.valid_up_to())),
            }
        }
        lines.push(line);
        if lines.len() % 65_536 == 0 {
            if cancel.is_cancelled() {
                return Err(ImportError::Cancelled);
            }
            let (from, to) = progress_span;
            progress.set_done(from + (to - from) * reader.position().byte() / total);
        }
    }
    let rows = lines.len();
    Ok(Table {
        columns,
        rows,
        lines: LineMap::Explicit(lines),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(body: &[u8]) -> SlowInput<'_> {
        SlowInput {
            body,
            first_line: 2,
            delimiter: b',',
            width: 2,
            has_header: true,
            file: "f.csv",
        }
    }

    fn run(body: &[u8]) -> Result<Table<SlowColumn>, ImportError> {
        read(
            &input(body),
            &Progress::new(),
            &CancelToken::new(),
            (0, 100),
        )
    }

    #[test]
    fn lines_skip_blank_lines_and_follow_quoted_breaks() {
        let t = run(b"1,2\n\n3,\"a\nb\"\n5,6").unwrap();
        assert_eq!(t.rows, 3);
        assert_eq!(t.lines, LineMap::Explicit(vec![2, 4, 6]));
        assert_eq!(t.columns[1].cells().collect::<Vec<_>>(), ["2", "a\nb", "6"]);
        assert_eq!(t.columns[0].cells().collect::<Vec<_>>(), ["1", "3", "5"]);
    }

    #[test]
    fn ragged_and_encoding_errors_have_lines() {
        let e = run(b"1,2\n3,4\n5\n").unwrap_err();
        assert!(
            matches!(
                e,
                ImportError::Ragged {
                    line: 4,
                    expected: 2,
                    found: 1,
                    ..
                }
            ),
            "{e}"
        );
        let e = run(b"1,2\n3,\xFF\n").unwrap_err();
        assert!(
            matches!(
                e,
                ImportError::NotUtf8 {
                    line: 3,
                    column: 2,
                    ..
                }
            ),
            "{e}"
        );
        let e = run(b"1,2\n3,a\0\n").unwrap_err();
        assert!(
            matches!(
                e,
                ImportError::Binary {
                    line: 3,
                    column: 2,
                    ..
                }
            ),
            "{e}"
        );
    }
}
