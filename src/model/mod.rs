//! The data vocabulary shared by every other module: timestamps, series, labels, windows and
//! parameter schemas. Plain data, no I/O, no threads, no foreign crate types.
//!
//! # The NaN contract
//! - A NaN *value* in a [`Series`] column is a missing measurement (an empty CSV cell, an
//!   injected gap). Detectors must not panic on it; most skip it or carry their state over it.
//! - A NaN *score* means "no score yet": a detector is still warming up (its window is not full).
//!   After warm-up every detector returns finite scores (a shared invariant, tested for all).
//! - Higher scores are more anomalous, always.

mod params;
mod series;
mod time;
mod windows;

pub use params::{ParamKind, ParamSpec, ParamValue, Params, ParamsError};
pub use series::{Column, Row, Series, ShapeError};
pub use time::{Timestamp, format_duration_ns};
pub use windows::{AnomalyWindow, windows_from_flags};
