//! Reusable widgets of the workflow panels: the generated parameter form shared by the
//! injection and detection panels ([`param_form`]) and a small line cache for the score and
//! preview plots ([`trace`]), and the labelled [`heatmap`] of a matrix (robustness).

pub mod heatmap;
pub mod param_form;
pub mod trace;
