//! Reading and writing data files: CSV → [`Series`] and back. The only module that names
//! polars types (in `fast.rs`).
//!
//! # How a file is read
//! 1. [`sniff`]: encoding checks (UTF-8 BOM stripped; UTF-16, NUL bytes and empty files are
//!    errors), the delimiter (`,` `;` tab), whether the first row is a header, clean column
//!    names, and a sample of about 100 rows.
//! 2. [`schema`]: the time column (by name, else by content) and the label column (by name).
//! 3. The rows, as text: [`fast`] (polars, multithreaded) when the file is clean, otherwise
//!    [`slow`] (the `csv` crate, with the exact line of every row, which is what finds ragged
//!    rows, invalid UTF-8 and the like and names their line and column).
//! 4. [`convert`]: text → timestamps, `f64` values and `bool` labels; warnings for missing
//!    cells, NaN text, skipped columns, unsorted and repeated timestamps; stable sort by time.
//!
//! Why text first and numbers in Rust: the same conversion code runs after both readers, so
//! the fast path can be dropped at any sign of trouble without changing the result, and every
//! message can name the exact line and column. It is also fast: polars splits and copies the
//! fields on all cores, and the hand-written timestamp parser and `str::parse::<f64>` do the
//! rest (see `benches/import.rs`).
//!
//! Writing ([`write_series_csv`]) is lossless, so `read(write(x)) == x` for imported series.

mod convert;
mod error;
mod fast;
mod schema;
mod slow;
mod sniff;
mod table;
mod time;
mod write;

pub use error::{ImportError, ImportWarning, Lines, WarningKind};

use std::path::Path;

use crate::control::{CancelToken, Progress};
use crate::model::Series;

use convert::Context;
use table::{Cells, Table};

/// A parsed file.
#[derive(Clone, Debug)]
pub struct Imported {
    /// The data, sorted by time.
    pub series: Series,
    /// Partial problems, in the order they were found.
    pub warnings: Vec<ImportWarning>,
    /// Name of the detected time column, if any.
    pub time_column: Option<String>,
    /// Name of the detected label column, if it was used as ground truth.
    pub label_column: Option<String>,
    /// The field separator found (`,`, `;` or tab).
    pub delimiter: char,
    /// Whether the first row was a header.
    pub has_header: bool,
}

/// Progress is reported in percent.
const PROGRESS_TOTAL: u64 = 100;

/// Reads a CSV file. Progress goes from 0 to 100 (percent); the cancel flag is checked between
/// stages and every 65 536 rows.
pub fn read_csv(
    path: &Path,
    progress: &Progress,
    cancel: &CancelToken,
) -> Result<Imported, ImportError> {
    progress.set_total(PROGRESS_TOTAL);
    progress.set_done(0);
    let bytes = std::fs::read(path).map_err(|source| ImportError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    progress.set_done(10);
    read_bytes(&bytes, &path.display().to_string(), progress, cancel)
}

/// Reads CSV text held in memory; `display_name` stands for the file in messages.
pub fn read_csv_bytes(bytes: &[u8], display_name: &str) -> Result<Imported, ImportError> {
    read_bytes(bytes, display_name, &Progress::new(), &CancelToken::new())
}

/// [`read_csv_bytes`] with progress and cancellation.
pub fn read_bytes(
    bytes: &[u8],
    display_name: &str,
    progress: &Progress,
    cancel: &CancelToken,
) -> Result<Imported, ImportError> {
    read_with(bytes, display_name, progress, cancel, Reader::Auto)
}

/// Which reader to use (tests force one to compare them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reader {
    /// Fast when possible, slow otherwise.
    Auto,
    /// Always the csv-crate reader.
    #[cfg_attr(
        not(test),
        expect(dead_code, reason = "only tests force the slow reader")
    )]
    Slow,
}

fn read_with(
    bytes: &[u8],
    file: &str,
    progress: &Progress,
    cancel: &CancelToken,
    reader: Reader,
) -> Result<Imported, ImportError> {
    progress.set_total(PROGRESS_TOTAL);
    let checkpoint = |done: u64| {
        progress.set_done(done);
        if cancel.is_cancelled() {
            Err(ImportError::Cancelled)
        } else {
            Ok(())
        }
    };
    checkpoint(10)?;
    let text = sniff::check_content(bytes, file)?;
    let layout = sniff::sniff(text, file)?;
    let roles = schema::detect_roles(&layout);
    checkpoint(15)?;
    let body = &text[layout.body_start.min(text.len())..];
    let ctx = Context {
        file,
        names: &layout.names,
        roles: &roles,
        cancel,
    };
    let fast = match reader {
        Reader::Auto => fast::read(
            body,
            &layout.names,
            &schema::numeric_hint(&layout, &roles),
            layout.delimiter,
            layout.body_first_line,
        ),
        Reader::Slow => None,
    };
    let converted = if let Some(table) = fast {
        checkpoint(60)?;
        convert_and_report(&table, &ctx, progress)?
    } else {
        let input = slow::SlowInput {
            body,
            first_line: layout.body_first_line,
            delimiter: layout.delimiter,
            width: layout.width(),
            has_header: layout.has_header,
            file,
        };
        let table = slow::read(&input, progress, cancel, (15, 60))?;
        checkpoint(60)?;
        convert_and_report(&table, &ctx, progress)?
    };
    checkpoint(100)?;
    let warnings = layout
        .warnings
        .into_iter()
        .chain(converted.warnings)
        .map(|kind| ImportWarning {
            file: file.to_owned(),
            kind,
        })
        .collect();
    Ok(Imported {
        series: converted.series,
        warnings,
        time_column: roles.time.map(|(j, _)| layout.names[j].clone()),
        label_column: roles
            .label
            .filter(|_| converted.labels_used)
            .map(|j| layout.names[j].clone()),
        delimiter: char::from(layout.delimiter),
        has_header: layout.has_header,
    })
}

fn convert_and_report<C: Cells + Sync>(
    table: &Table<C>,
    ctx: &Context<'_>,
    progress: &Progress,
) -> Result<convert::Converted, ImportError> {
    let converted = convert::convert(table, ctx)?;
    progress.set_done(95);
    Ok(converted)
}

/// Writes a series (and optionally scores and predicted flags, one per row) as CSV:
/// `timestamp,<values...>[,score,is_anomaly][,label]`. Lossless: importing the file gives the
/// same series back.
pub fn write_series_csv(
    series: &Series,
    scored: Option<(&[f64], &[bool])>,
    out: &Path,
) -> Result<(), ImportError> {
    let file = std::fs::File::create(out).map_err(|source| ImportError::Io {
        path: out.to_path_buf(),
        source,
    })?;
    write::write_to(series, scored, std::io::BufWriter::new(file), out)
}

/// [`write_series_csv`] into any writer (a `Vec<u8>`, a socket, ...).
pub fn write_series_csv_to<W: std::io::Write>(
    series: &Series,
    scored: Option<(&[f64], &[bool])>,
    writer: W,
) -> Result<(), ImportError> {
    write::write_to(series, scored, writer, Path::new("<output>"))
}

#[cfg(test)]
mod tests;
