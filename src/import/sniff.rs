//! The first look at a file: encoding checks (BOM, UTF-16, binary), the delimiter, whether
//! the first row is a header, clean column names, and a small sample of rows that the
//! column-role detection ([`super::schema`]) works on.
//!
//! Only the beginning of the file is read here (about 100 rows), so this stays cheap for any
//! file size; the full read happens in [`super::fast`] or [`super::slow`].

use super::error::{ImportError, WarningKind, shorten};
use super::schema::normalize;
use super::table::record_start;
use super::time::looks_like_datetime;

/// Rows kept in the sample (after the header).
const SAMPLE_ROWS: usize = 100;
/// The sample stops after this many bytes (once it has at least two records).
const SAMPLE_BYTES: u64 = 256 * 1024;
/// Lines looked at to choose the delimiter.
const SNIFF_LINES: usize = 50;
/// Bytes checked for NUL (binary content) before anything else.
const BINARY_PROBE: usize = 64 * 1024;

/// What the first look found.
#[derive(Debug)]
pub(super) struct Layout {
    /// The field separator: `,`, `;` or tab.
    pub delimiter: u8,
    /// Whether the first record is a header row.
    pub has_header: bool,
    /// One clean, unique, non-empty name per column.
    pub names: Vec<String>,
    /// Byte offset (in the BOM-stripped text) where the data rows start.
    pub body_start: usize,
    /// 1-based line on which `body_start` lies.
    pub body_first_line: u64,
    /// The first data rows, as text, for role detection.
    pub sample: Vec<Vec<String>>,
    /// Naming warnings (no header, renamed columns).
    pub warnings: Vec<WarningKind>,
}

impl Layout {
    /// Number of columns.
    pub fn width(&self) -> usize {
        self.names.len()
    }

    /// The sample values of column `j`.
    pub fn sample_column(&self, j: usize) -> impl Iterator<Item = &str> {
        self.sample
            .iter()
            .filter_map(move |row| row.get(j).map(String::as_str))
    }
}

/// The 1-based line and byte column of byte offset `at`.
#[expect(
    clippy::naive_bytecount,
    reason = "only on the error path; not worth a dependency"
)]
pub(super) fn line_col(bytes: &[u8], at: usize) -> (u64, usize) {
    let before = &bytes[..at.min(bytes.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    let col = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
    (line, col)
}

/// Strips a UTF-8 BOM and rejects content that is clearly not CSV text: empty, UTF-16, binary.
pub(super) fn check_content<'a>(bytes: &'a [u8], file: &str) -> Result<&'a [u8], ImportError> {
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if text.starts_with(b"\xFF\xFE") || text.starts_with(b"\xFE\xFF") {
        return Err(ImportError::NotUtf8 {
            file: file.to_owned(),
            line: 1,
            column: 1,
            detail: "the file is UTF-16 text (it starts with a UTF-16 byte-order mark); save it as UTF-8".to_owned(),
        });
    }
    if let Some(at) = text[..text.len().min(BINARY_PROBE)]
        .iter()
        .position(|&b| b == 0)
    {
        let (line, column) = line_col(text, at);
        return Err(ImportError::Binary {
            file: file.to_owned(),
            line,
            column,
        });
    }
    if text.iter().all(u8::is_ascii_whitespace) {
        return Err(ImportError::Empty {
            file: file.to_owned(),
        });
    }
    Ok(text)
}

/// Chooses `,`, `;` or tab: the candidate whose count per line (outside quotes) is the most
/// consistent over the first lines, preferring a non-zero count on the first line, then the
/// order `,` `;` tab. A file where none occurs is a single column (`,`).
pub(super) fn sniff_delimiter(text: &[u8]) -> u8 {
    const CANDIDATES: [u8; 3] = [b',', b';', b'\t'];
    let mut counts: Vec<[usize; 3]> = Vec::new();
    let mut current = [0usize; 3];
    let mut in_quotes = false;
    let mut line_has_content = false;
    for (i, &b) in text.iter().enumerate() {
        match b {
            b'"' => in_quotes = !in_quotes,
            b'\n' if !in_quotes => {
                if line_has_content {
                    counts.push(current);
                }
                current = [0; 3];
                line_has_content = false;
                if counts.len() >= SNIFF_LINES || (i as u64 > SAMPLE_BYTES && counts.len() >= 2) {
                    break;
                }
                continue;
            }
            _ => {}
        }
        if !b.is_ascii_whitespace() || b == b'\t' {
            line_has_content = true;
        }
        if !in_quotes && let Some(k) = CANDIDATES.iter().position(|&c| c == b) {
            current[k] += 1;
        }
    }
    if line_has_content && counts.len() < SNIFF_LINES {
        counts.push(current);
    }
    let mut best: Option<(usize, (usize, bool))> = None;
    for k in 0..CANDIDATES.len() {
        let first = counts.first().map_or(0, |c| c[k]);
        if counts.iter().all(|c| c[k] == 0) {
            continue;
        }
        let consistent = counts.iter().filter(|c| c[k] == first).count();
        let score = (consistent, first > 0);
        if best.is_none_or(|(_, s)| score > s) {
            best = Some((k, score));
        }
    }
    best.map_or(b',', |(k, _)| CANDIDATES[k])
}

/// True for cells that look like data rather than a column name: empty, a number, a
/// date-time, a boolean word or a missing-value token.
pub(super) fn is_data_like(cell: &str) -> bool {
    let t = cell.trim();
    t.is_empty()
        || t.parse::<f64>().is_ok()
        || is_missing_token(t)
        || t.eq_ignore_ascii_case("true")
        || t.eq_ignore_ascii_case("false")
        || looks_like_datetime(t)
}

/// Text that stands for a missing value (`NA`, `N/A`, `null`, `None`, `-`, `?`), matched
/// case-insensitively on trimmed text.
pub(super) fn is_missing_token(t: &str) -> bool {
    ["na", "n/a", "#n/a", "null", "none", "nil", "-", "?"]
        .iter()
        .any(|tok| t.eq_ignore_ascii_case(tok))
}

/// Decides whether the first record is a header: yes when some column has text in the first
/// row over data-like cells below (a name above numbers or timestamps), or when the file has a
/// single row that contains text.
fn detect_header(first: &[String], rest: &[Vec<String>]) -> bool {
    if rest.is_empty() {
        return first.iter().any(|f| !is_data_like(f));
    }
    first.iter().enumerate().any(|(j, name)| {
        if is_data_like(name) {
            return false;
        }
        let mut below = rest
            .iter()
            .filter_map(|row| row.get(j))
            .filter(|c| !c.trim().is_empty())
            .peekable();
        below.peek().is_some() && below.all(|c| is_data_like(c))
    })
}

/// Clean, unique, non-empty names from header cells, with a warning for each change.
///
/// Names are unique in their [`normalize`]d form, the one roles are matched on: with `Label`
/// (the labels) beside a value column `label`, an export would write two `label` headers and
/// the re-import would take the wrong one as ground truth. The second becomes `label_2`.
fn clean_names(header: &[String], warnings: &mut Vec<WarningKind>) -> Vec<String> {
    let mut names: Vec<String> = Vec::with_capacity(header.len());
    let mut taken: Vec<String> = Vec::with_capacity(header.len());
    for (j, raw) in header.iter().enumerate() {
        let trimmed = raw.trim();
        let mut name = if trimmed.is_empty() {
            format!("column_{}", j + 1)
        } else {
            trimmed.to_owned()
        };
        let mut n = 2;
        while taken.contains(&normalize(&name))
            || (trimmed.is_empty() && header.iter().any(|h| normalize(h) == normalize(&name)))
        {
            name = if trimmed.is_empty() {
                format!("column_{}_{n}", j + 1)
            } else {
                format!("{trimmed}_{n}")
            };
            n += 1;
        }
        if name != trimmed {
            warnings.push(WarningKind::RenamedColumn {
                column: j + 1,
                original: shorten(trimmed),
                renamed: name.clone(),
            });
        }
        taken.push(normalize(&name));
        names.push(name);
    }
    names
}

/// Reads the first rows with the csv crate and works out the layout.
pub(super) fn sniff(text: &[u8], file: &str) -> Result<Layout, ImportError> {
    let delimiter = sniff_delimiter(text);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(text);
    let mut record = csv::ByteRecord::new();
    let mut rows: Vec<Vec<String>> = Vec::new();
    let (mut first_start, mut first_line) = (0usize, 1u64);
    let (mut second_start, mut second_line) = (text.len(), 1u64);
    loop {
        let start = reader.position().clone();
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                return Err(ImportError::Malformed {
                    file: file.to_owned(),
                    line: e.position().map_or(start.line(), csv::Position::line),
                    message: e.to_string(),
                });
            }
        }
        let (record_byte, line) = record
            .position()
            .map_or((0, start.line()), |p| record_start(text, p));
        let mut row = Vec::with_capacity(record.len());
        for (j, field) in record.iter().enumerate() {
            row.push(field_text(field, file, line, j)?);
        }
        match rows.len() {
            0 => (first_start, first_line) = (record_byte, line),
            1 => (second_start, second_line) = (record_byte, line),
            _ => {}
        }
        rows.push(row);
        if rows.len() > SAMPLE_ROWS || (reader.position().byte() > SAMPLE_BYTES && rows.len() > 2) {
            break;
        }
    }
    let Some((first, rest)) = rows.split_first() else {
        return Err(ImportError::Empty {
            file: file.to_owned(),
        });
    };
    let has_header = detect_header(first, rest);
    let mut warnings = Vec::new();
    let (names, body_start) = if has_header {
        (clean_names(first, &mut warnings), second_start)
    } else {
        warnings.push(WarningKind::NoHeader {
            columns: first.len(),
        });
        let names = (1..=first.len()).map(|j| format!("column_{j}")).collect();
        (names, first_start)
    };
    if has_header && rest.is_empty() {
        return Err(ImportError::HeaderOnly {
            file: file.to_owned(),
            header: shorten(&first.join(",")),
        });
    }
    let body_first_line = if has_header { second_line } else { first_line };
    let sample = if has_header { rest.to_vec() } else { rows };
    Ok(Layout {
        delimiter,
        has_header,
        names,
        body_start,
        body_first_line,
        sample,
        warnings,
    })
}

/// A field as text, or the error naming where it is not UTF-8 or holds a NUL byte.
pub(super) fn field_text(
    field: &[u8],
    file: &str,
    line: u64,
    j: usize,
) -> Result<String, ImportError> {
    match std::str::from_utf8(field) {
        Ok(s) if s.contains('\0') => Err(ImportError::Binary {
            file: file.to_owned(),
            line,
            column: j + 1,
        }),
        Ok(s) => Ok(s.to_owned()),
        Err(e) => Err(not_utf8(file, line, j, field, e.valid_up_to())),
    }
}

/// The error for a field that is not UTF-8.
pub(super) fn not_utf8(file: &str, line: u64, j: usize, field: &[u8], at: usize) -> ImportError {
    let bad: Vec<String> = field[at..]
        .iter()
        .take(4)
        .map(|b| format!("{b:02X}"))
        .collect();
    ImportError::NotUtf8 {
        file: file.to_owned(),
        line,
        column: j + 1,
        detail: format!(
            "invalid UTF-8 (bytes {} after {:?}); save the file as UTF-8",
            bad.join(" "),
            String::from_utf8_lossy(&field[..at])
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters() {
        assert_eq!(sniff_delimiter(b"a,b\n1,2\n"), b',');
        assert_eq!(sniff_delimiter(b"a;b\n1;2\n"), b';');
        assert_eq!(sniff_delimiter(b"a\tb\n1\t2\n"), b'\t');
        assert_eq!(
            sniff_delimiter(b"time;value\n2020-01-01;1,5\n2020-01-02;2,5\n"),
            b';'
        );
        assert_eq!(sniff_delimiter(b"a,b\n1,\"x;y\"\n"), b',');
        assert_eq!(sniff_delimiter(b"value\n1\n2\n"), b',');
    }

    #[test]
    fn header_detection() {
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        assert!(detect_header(
            &s(&["timestamp", "value"]),
            &[s(&["2020-01-01", "1"])]
        ));
        assert!(!detect_header(
            &s(&["2020-01-01", "1"]),
            &[s(&["2020-01-02", "2"])]
        ));
        assert!(!detect_header(&s(&["1", "foo"]), &[s(&["2", "bar"])]));
        assert!(detect_header(&s(&["name", "value"]), &[s(&["foo", "1"])]));
        assert!(detect_header(&s(&["a", "b"]), &[]));
        assert!(!detect_header(&s(&["1", "2"]), &[]));
    }

    #[test]
    fn names_are_cleaned() {
        let mut w = Vec::new();
        let names = clean_names(
            &[" a ".into(), String::new(), "a".into(), "column_2".into()],
            &mut w,
        );
        assert_eq!(names, ["a", "column_2_2", "a_2", "column_2"]);
        assert_eq!(w.len(), 2);
        let mut w = Vec::new();
        let names = clean_names(
            &[
                "Label".into(),
                "label".into(),
                "Time (UTC)".into(),
                "time-utc".into(),
            ],
            &mut w,
        );
        assert_eq!(names, ["Label", "label_2", "Time (UTC)", "time-utc_2"]);
        assert_eq!(w.len(), 2);
    }

    #[test]
    fn line_and_column_of_offsets() {
        assert_eq!(line_col(b"ab\ncd", 4), (2, 2));
        assert_eq!(line_col(b"ab\ncd", 0), (1, 1));
    }
}
