//! The one integration-test binary (one link instead of one per file).

mod cli;
mod detectors;
mod eval;
mod import;
mod injectors;
mod learned;
mod storage;
#[cfg(feature = "gui")]
mod ui;
