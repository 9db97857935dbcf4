//! Detector integration tests: the invariants every registered detector must satisfy
//! (`invariants`), the external-program detector (`external`) and thresholding end to end
//! (`thresholds`).

mod external;
mod invariants;
mod thresholds;
