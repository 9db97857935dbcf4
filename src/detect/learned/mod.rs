//! Learned window detectors built on linfa: one-class SVM, DBSCAN, k-means and PCA over
//! standardised sliding windows. They share one `Detector` implementation
//! ([`window::WindowDetector`]): the scaler is fitted on training rows only, fitting never
//! sees scored data, and the window ending at row `t` scores row `t` (NaN during warm-up).
//!
//! Owns: the linfa/ndarray types, which never leave these files. Saved state is JSON
//! (see [`super::persist`]).

pub(super) mod dbscan;
pub(super) mod kmeans;
pub(super) mod ocsvm;
pub(super) mod pca;
pub(super) mod window;

pub use dbscan::DbscanDistance;
pub use kmeans::KMeansDistance;
pub use ocsvm::{OneClassSvm, SvmSolver};
pub use pca::PcaReconstruction;
pub use window::WindowDetector;
