//! The shared storage conformance suite (placeholder; replaced by the storage work).
