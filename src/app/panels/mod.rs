//! The panels of the main window, one per file. Each reads the state it is given and pushes
//! [`UiCommand`](super::command::UiCommand)s; none starts work or mutates the app directly.
//!
//! Layout: [`top_bar`] (import button and progress) above, [`status`] (database, errors,
//! warnings) below, [`datasets`] on the left, [`plot`] in the centre, [`dialogs`] on top.
//! The workflow tabs ([`generate`], [`inject`], [`detect`], [`models`], [`runs`]) sit in a panel on the
//! right; [`results`] (injection preview, score plots) and [`judge`] (metrics, attribution,
//! exports) sit under the data plot. Their shared state lives in [`crate::app::flow`].
//! Windows: [`settings`] (database, theme) and [`compare`] (runs side by side, the
//! [`robustness`] heatmap), bundled in [`tools`].

pub mod compare;
pub mod datasets;
pub mod detect;
pub mod dialogs;
pub mod generate;
pub mod inject;
pub mod judge;
pub mod models;
pub mod plot;
pub mod results;
pub mod robustness;
pub mod runs;
pub mod settings;
pub mod status;
pub mod tools;
pub mod top_bar;
