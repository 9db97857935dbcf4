//! The headless command line (placeholder).
