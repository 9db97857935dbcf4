//! The one integration-test binary (one link instead of one per file).
#![expect(
    clippy::unwrap_used,
    clippy::float_cmp,
    clippy::format_push_string,
    clippy::match_same_arms,
    clippy::type_complexity,
    reason = "test helpers may panic on broken fixtures and compare exact floats on purpose"
)]

mod cli;
mod desktop;
mod detectors;
mod eval;
mod eval_bench;
mod import;
mod injectors;
mod jobs;
mod learned;
#[cfg(feature = "timescale")]
mod postgres;
mod storage;
#[cfg(feature = "gui")]
mod ui;
#[cfg(feature = "gui")]
mod ui_flow;
#[cfg(feature = "gui")]
mod ui_models;
#[cfg(feature = "gui")]
mod ui_scale;
#[cfg(feature = "gui")]
mod ui_watch;
