//! Cancellation and progress shared between a worker and whoever watches it.
//!
//! Both are cheap clonable handles over atomics, so a hot loop can poll them without locks and
//! the UI thread can read them without ever blocking.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// A shared "please stop" flag. Long loops check it every few thousand rows.
#[derive(Clone, Debug, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A fresh token, not cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the work to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// True once [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Work done out of work total, updated by a worker and read by a progress bar.
#[derive(Clone, Debug, Default)]
pub struct Progress {
    done: Arc<AtomicU64>,
    total: Arc<AtomicU64>,
}

impl Progress {
    /// A fresh progress counter at 0 of 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the total amount of work (rows, bytes, ...).
    pub fn set_total(&self, total: u64) {
        self.total.store(total, Ordering::Relaxed);
    }

    /// Sets the amount done.
    pub fn set_done(&self, done: u64) {
        self.done.store(done, Ordering::Relaxed);
    }

    /// `(done, total)`.
    pub fn get(&self) -> (u64, u64) {
        (
            self.done.load(Ordering::Relaxed),
            self.total.load(Ordering::Relaxed),
        )
    }

    /// Fraction done in `[0, 1]`; 0 while the total is unknown.
    pub fn fraction(&self) -> f32 {
        let (done, total) = self.get();
        if total == 0 {
            0.0
        } else {
            (done as f64 / total as f64).clamp(0.0, 1.0) as f32
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancel_is_shared_between_clones() {
        let token = CancelToken::new();
        let seen_by_worker = token.clone();
        assert!(!seen_by_worker.is_cancelled());
        token.cancel();
        assert!(seen_by_worker.is_cancelled());
    }

    #[test]
    fn progress_fraction_is_clamped() {
        let p = Progress::new();
        assert!(p.fraction().abs() < f32::EPSILON);
        p.set_total(4);
        p.set_done(1);
        assert!((p.fraction() - 0.25).abs() < f32::EPSILON);
        p.set_done(9);
        assert!((p.fraction() - 1.0).abs() < f32::EPSILON);
    }
}
