//! AnomDet: find anomalies in time series and measure how well anomaly detectors work.
//!
//! One engine, three edges: the desktop GUI (`app`, feature `gui`), the headless CLI (`cli`)
//! and the tests all call [`engine::Engine`]. See `ARCHITECTURE.md` for the module map,
//! dependency rules and threading model.
//!
//! ```
//! use anomdet::engine::Engine;
//! use anomdet::model::Series;
//!
//! let engine = Engine::in_memory();
//! let values: Vec<f64> = (0..300).map(|i| if i == 200 { 40.0 } else { (i as f64 / 9.0).sin() }).collect();
//! let meta = engine.store_series("demo", &Series::from_values("value", values)).unwrap();
//! let run = engine
//!     .run_batch(meta.id, &anomdet::detect::DetectorSpec::new("rolling_zscore"), Default::default(), &Default::default())
//!     .unwrap();
//! assert!(run.flagged >= 1);
//! ```

pub mod cli;
pub mod control;
pub mod detect;
pub mod engine;
pub mod error;
pub mod eval;
pub mod import;
pub mod inject;
pub mod model;
pub mod storage;
pub mod stream;

#[cfg(feature = "gui")]
pub mod app;

/// Seeded synthetic data and assertion helpers shared by unit tests, integration tests and
/// benches (small, so always compiled; hidden from the docs).
#[doc(hidden)]
pub mod testing;

pub use error::{Error, Result};
