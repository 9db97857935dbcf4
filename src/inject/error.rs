//! [`InjectError`]: everything that can go wrong building, placing or applying an injection,
//! or generating a series. Every variant names what was wrong (kind, parameter, column, field).

use thiserror::Error;

use crate::model::ParamsError;

/// What can go wrong in injection or generation.
#[derive(Debug, Error)]
pub enum InjectError {
    /// No injector kind with this id or alias.
    #[error("unknown injector kind {kind:?} (known: {known}; run `anomdet injectors`)")]
    UnknownKind {
        /// The id given.
        kind: String,
        /// Comma-separated known ids.
        known: String,
    },
    /// Bad parameters for a kind.
    #[error("injector {kind:?}: {source}")]
    Params {
        /// Kind id.
        kind: &'static str,
        /// What was wrong.
        source: ParamsError,
    },
    /// A column name that the series does not have.
    #[error("unknown column {column:?} (the series has: {available})")]
    UnknownColumn {
        /// The name given.
        column: String,
        /// Comma-separated column names of the series.
        available: String,
    },
    /// A target that cannot be placed on this series.
    #[error("target: {field} {message}")]
    Target {
        /// The target field at fault (`length`, `start`, `count`, ...).
        field: &'static str,
        /// What was wrong, with the numbers.
        message: String,
    },
    /// The series does not suit this kind (too few columns, ...).
    #[error("injector {kind:?}: {message}")]
    Input {
        /// Kind id.
        kind: &'static str,
        /// What was wrong.
        message: String,
    },
    /// A plan or generator spec that does not parse.
    #[error("cannot read {what}: {message}")]
    Json {
        /// "injection plan" or "generator spec".
        what: &'static str,
        /// The parser's message (with line and column).
        message: String,
    },
    /// A bad generator setting.
    #[error("generator: {field} {message}")]
    Generate {
        /// The field at fault.
        field: String,
        /// What was wrong.
        message: String,
    },
    /// Live application was given rows out of order or of the wrong width.
    #[error("live injection: {0}")]
    Live(String),
    /// An error in one injection of a plan.
    #[error("injection #{index} ({kind}): {source}")]
    At {
        /// Position of the injection in the plan (from 0).
        index: usize,
        /// Its kind as written in the plan.
        kind: String,
        /// The error.
        source: Box<InjectError>,
    },
}

impl InjectError {
    /// Wraps the error with the position and kind of the injection it happened in.
    #[must_use]
    pub fn at(self, index: usize, kind: &str) -> Self {
        Self::At {
            index,
            kind: kind.to_owned(),
            source: Box::new(self),
        }
    }

    /// The innermost error (below any [`InjectError::At`] wrappers).
    pub fn root(&self) -> &Self {
        match self {
            Self::At { source, .. } => source.root(),
            other => other,
        }
    }
}
