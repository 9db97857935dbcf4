//! The fast reader: polars' multithreaded CSV parser, every column read as text. The only
//! file in the crate that names polars types.
//!
//! It is used only when it is exact. [`read`] returns `None` (and the caller falls back to
//! the csv-crate reader in [`super::slow`], which has exact line numbers) whenever polars
//! errors or the result could hide something: a null cell (an empty field, a short row or a
//! blank line all look the same to polars), a NUL byte, a line break inside a field or lone
//! `\r` line ends. Cells are converted to numbers and timestamps by the same Rust code for
//! both readers, so a clean file gives the same result either way (a property test checks
//! this).

use std::io::Cursor;
use std::sync::Arc;

use polars::prelude::{
    CsvParseOptions, CsvReadOptions, DataFrame, DataType, Field, Float64Chunked, Schema,
    SerReader as _, StringChunked,
};

use super::table::{Cells, LineMap, Table};

/// A polars column: text, or numbers for columns whose sample is all numeric.
#[derive(Debug)]
pub(super) enum FastColumn {
    /// Read as text.
    Text(StringChunked),
    /// Read as `f64` by polars (no text cells).
    Numbers(Float64Chunked),
}

impl Cells for FastColumn {
    fn cells(&self) -> impl Iterator<Item = &str> + '_ {
        let text = match self {
            Self::Text(cells) => Some(cells.iter().map(|c| c.unwrap_or(""))),
            Self::Numbers(_) => None,
        };
        text.into_iter().flatten()
    }

    fn numbers(&self) -> Option<Vec<f64>> {
        match self {
            Self::Text(_) => None,
            Self::Numbers(values) => {
                let mut out = Vec::with_capacity(values.len());
                for chunk in values.downcast_iter() {
                    out.extend_from_slice(chunk.values().as_slice());
                }
                Some(out)
            }
        }
    }
}

/// Counts `\n` bytes; `None` when a `\r` is not part of a `\r\n` pair (the csv crate ends a
/// record at a lone `\r`, polars does not).
#[expect(
    clippy::naive_bytecount,
    reason = "the filter-count loop auto-vectorises; not worth a dependency"
)]
fn count_line_ends(body: &[u8]) -> Option<usize> {
    let nl = body.iter().filter(|&&b| b == b'\n').count();
    let cr = body.iter().filter(|&&b| b == b'\r').count();
    if cr == 0 {
        return Some(nl);
    }
    let mut pairs = 0;
    let mut rest = body;
    while let Some(at) = rest.iter().position(|&b| b == b'\r') {
        if rest.get(at + 1) != Some(&b'\n') {
            return None;
        }
        pairs += 1;
        rest = &rest[at + 2..];
    }
    (pairs == cr).then_some(nl)
}

/// Reads `body` (data rows only, no header) with polars; columns flagged in `numeric` as
/// `f64`, the others as text. `None` means "use the slow reader".
pub(super) fn read(
    body: &[u8],
    names: &[String],
    numeric: &[bool],
    delimiter: u8,
    first_line: u64,
) -> Option<Table<FastColumn>> {
    if body.is_empty() || names.is_empty() || body.contains(&0) {
        return None;
    }
    // polars does not notice one extra, empty field at the very end of a file without a final
    // line break ("1,2," for two columns); leave that case to the slow reader.
    if body.last() == Some(&delimiter) {
        return None;
    }
    let nl = count_line_ends(body)?;
    let expected_rows = nl + usize::from(body.last() != Some(&b'\n'));
    let schema: Schema = names
        .iter()
        .enumerate()
        .map(|(j, n)| {
            let dtype = if numeric.get(j) == Some(&true) {
                DataType::Float64
            } else {
                DataType::String
            };
            Field::new(n.as_str().into(), dtype)
        })
        .collect();
    let parse = CsvParseOptions::default()
        .with_separator(delimiter)
        .with_quote_char(Some(b'"'));
    let df: DataFrame = CsvReadOptions::default()
        .with_has_header(false)
        .with_schema(Some(Arc::new(schema)))
        .with_parse_options(parse)
        .with_raise_if_empty(false)
        .into_reader_with_file_handle(Cursor::new(body))
        .finish()
        .ok()?;
    if df.height() != expected_rows || df.width() != names.len() {
        return None;
    }
    let mut columns = Vec::with_capacity(names.len());
    for j in 0..names.len() {
        let column = df.select_at_idx(j)?;
        if column.null_count() != 0 {
            return None;
        }
        columns.push(if numeric.get(j) == Some(&true) {
            FastColumn::Numbers(column.f64().ok()?.clone())
        } else {
            FastColumn::Text(column.str().ok()?.clone())
        });
    }
    Some(Table {
        columns,
        rows: expected_rows,
        lines: LineMap::Offset(first_line),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn reads_clean_text() {
        let t = read(b"1,\"a,b\"\n2,c\n", &names(&["x", "y"]), &[], b',', 2).unwrap();
        assert_eq!(t.rows, 2);
        assert_eq!(t.columns[1].cells().collect::<Vec<_>>(), ["a,b", "c"]);
        assert_eq!(t.lines.line(1), 3);
    }

    #[test]
    fn declines_anything_doubtful() {
        let n = names(&["x", "y"]);
        assert!(read(b"1,2\n3\n", &n, &[], b',', 2).is_none(), "short row");
        assert!(
            read(b"1,2\n3,4,5\n", &n, &[], b',', 2).is_none(),
            "long row"
        );
        assert!(
            read(b"1,2\n\n3,4\n", &n, &[], b',', 2).is_none(),
            "blank line"
        );
        assert!(read(b"1,\n3,4\n", &n, &[], b',', 2).is_none(), "empty cell");
        assert!(
            read(b"1,\"a\nb\"\n3,4\n", &n, &[], b',', 2).is_none(),
            "line break in field"
        );
        assert!(read(b"1,2\r3,4\r", &n, &[], b',', 2).is_none(), "lone CR");
        assert!(read(b"1,\xFF\n", &n, &[], b',', 2).is_none(), "not UTF-8");
    }

    #[test]
    fn crlf_is_fine() {
        let t = read(b"1,2\r\n3,4\r\n", &names(&["x", "y"]), &[], b',', 2).unwrap();
        assert_eq!(t.columns[1].cells().collect::<Vec<_>>(), ["2", "4"]);
    }
}
