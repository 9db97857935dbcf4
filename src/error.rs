//! The crate-level error: each module's error wrapped with `#[from]`, so `?` works across
//! module boundaries and the edges (GUI, CLI) format one type.

use thiserror::Error;

use crate::detect::DetectError;
use crate::eval::EvalError;
use crate::import::ImportError;
use crate::inject::InjectError;
use crate::storage::StorageError;

/// Any error the engine can return.
#[derive(Debug, Error)]
pub enum Error {
    /// Reading or writing a data file.
    #[error(transparent)]
    Import(#[from] ImportError),
    /// The database.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A detector.
    #[error(transparent)]
    Detect(#[from] DetectError),
    /// A metric could not be computed (missing labels, length mismatch).
    #[error(transparent)]
    Eval(#[from] EvalError),
    /// An injection plan or generator spec.
    #[error(transparent)]
    Inject(#[from] InjectError),
    /// The user cancelled the work.
    #[error("cancelled")]
    Cancelled,
    /// A request that makes no sense (bad argument, wrong combination).
    #[error("{0}")]
    Invalid(String),
    /// The operating system (threads, files outside import).
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The OS error.
        source: std::io::Error,
    },
}

/// `Result` with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
