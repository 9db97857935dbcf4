//! Anomaly injection (placeholder; replaced by the injectors work).
