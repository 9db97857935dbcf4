//! Reading and writing data files. The only module that names polars types.
//! (Interface placeholder: the import work replaces the bodies.)

use std::fmt;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::control::{CancelToken, Progress};
use crate::model::Series;

/// A partial problem found while importing: the data is usable, the user should know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportWarning {
    /// Human-readable message naming file, line and column where relevant.
    pub message: String,
}

impl fmt::Display for ImportWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Why a file could not be imported or written.
#[derive(Debug, Error)]
pub enum ImportError {
    /// Reading or writing the file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The content is not usable.
    #[error("{}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, with line and column.
        message: String,
    },
    /// Cancelled by the user.
    #[error("import cancelled")]
    Cancelled,
}

/// A parsed file.
#[derive(Clone, Debug)]
pub struct Imported {
    /// The data.
    pub series: Series,
    /// Partial problems.
    pub warnings: Vec<ImportWarning>,
    /// Name of the detected time column, if any.
    pub time_column: Option<String>,
    /// Name of the detected label column, if any.
    pub label_column: Option<String>,
}

/// Reads a CSV file.
pub fn read_csv(path: &Path, _progress: &Progress, _cancel: &CancelToken) -> Result<Imported, ImportError> {
    Err(ImportError::Invalid {
        path: path.to_path_buf(),
        message: "not implemented yet".into(),
    })
}

/// Writes a series (and optionally scores and predictions) as CSV.
pub fn write_series_csv(
    _series: &Series,
    _scored: Option<(&[f64], &[bool])>,
    out: &Path,
) -> Result<(), ImportError> {
    Err(ImportError::Invalid {
        path: out.to_path_buf(),
        message: "not implemented yet".into(),
    })
}
