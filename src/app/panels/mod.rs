//! The panels of the main window, one per file. Each reads the state it is given and pushes
//! [`UiCommand`](super::command::UiCommand)s; none starts work or mutates the app directly.
//!
//! Layout: [`top_bar`] (import button and progress) above, [`status`] (database, errors,
//! warnings) below, [`datasets`] on the left, [`plot`] in the centre, [`dialogs`] on top.
//! The desktop-app issue adds detector, injection, jobs and metrics panels beside these.

pub mod datasets;
pub mod dialogs;
pub mod plot;
pub mod status;
pub mod top_bar;
