//! The desktop GUI (placeholder).
