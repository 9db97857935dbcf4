//! [`Task`]: a one-shot computation on a named worker thread whose result the UI polls without
//! ever blocking (egui's `Promise` pattern, with cancellation and progress).

use std::fmt;
use std::sync::Arc;

use crossbeam_channel::{Receiver, TryRecvError, bounded};

use crate::control::{CancelToken, Progress};
use crate::error::{Error, Result};

/// Called by a worker when it has something new for the UI: the app builds it from the egui
/// context as a closure that requests a repaint, so this module never names egui.
#[derive(Clone)]
pub struct Notifier(Arc<dyn Fn() + Send + Sync>);

impl Notifier {
    /// A notifier that calls `f`.
    pub fn new(f: impl Fn() + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }

    /// A notifier that does nothing (CLI, tests).
    pub fn noop() -> Self {
        Self::new(|| {})
    }

    /// Wakes the consumer.
    pub fn notify(&self) {
        (self.0)();
    }
}

impl fmt::Debug for Notifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Notifier")
    }
}

/// A background computation. Dropping it cancels the work (the thread finishes on its own).
#[derive(Debug)]
pub struct Task<T> {
    name: String,
    result: Receiver<Result<T>>,
    cancel: CancelToken,
    progress: Progress,
    done: bool,
}

impl<T: Send + 'static> Task<T> {
    /// Starts `work` on a thread named `name`. `notify` is called when the result is ready.
    pub fn spawn(
        name: &str,
        notify: Notifier,
        work: impl FnOnce(&CancelToken, &Progress) -> Result<T> + Send + 'static,
    ) -> Result<Self> {
        let (tx, rx) = bounded(1);
        let cancel = CancelToken::new();
        let progress = Progress::new();
        let (worker_cancel, worker_progress) = (cancel.clone(), progress.clone());
        std::thread::Builder::new()
            .name(format!("task-{name}"))
            .spawn(move || {
                let result = work(&worker_cancel, &worker_progress);
                // The receiver may be gone (task dropped): nothing to report then.
                tx.send(result).ok();
                notify.notify();
            })
            .map_err(|source| Error::Io {
                context: format!("starting worker thread for {name}"),
                source,
            })?;
        Ok(Self {
            name: name.to_owned(),
            result: rx,
            cancel,
            progress,
            done: false,
        })
    }

    /// The result, once: `Some` the first time it is ready, `None` before and after.
    /// Never blocks.
    pub fn poll(&mut self) -> Option<Result<T>> {
        if self.done {
            return None;
        }
        match self.result.try_recv() {
            Ok(result) => {
                self.done = true;
                Some(result)
            }
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => {
                self.done = true;
                Some(Err(Error::Invalid(format!(
                    "the worker for {:?} stopped without a result (it panicked)",
                    self.name
                ))))
            }
        }
    }

    /// Blocks until the result is there (CLI and tests only; never on the UI thread).
    pub fn wait(mut self) -> Result<T> {
        self.done = true;
        self.result.recv().unwrap_or_else(|_| {
            Err(Error::Invalid(format!(
                "the worker for {:?} stopped without a result (it panicked)",
                self.name
            )))
        })
    }

    /// Asks the work to stop.
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// The task's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Progress reported by the work.
    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// True once the result has been taken.
    pub fn is_done(&self) -> bool {
        self.done
    }
}

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        if !self.done {
            self.cancel.cancel();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_arrives_once() {
        let task = Task::spawn("add", Notifier::noop(), |_, _| Ok(2 + 2)).unwrap();
        assert_eq!(task.wait().unwrap(), 4);
    }

    #[test]
    fn poll_never_blocks_and_cancel_reaches_worker() {
        let (gate_tx, gate_rx) = bounded::<()>(0);
        let mut task = Task::spawn("wait", Notifier::noop(), move |cancel, _| {
            gate_rx.recv().ok();
            if cancel.is_cancelled() {
                Err(Error::Cancelled)
            } else {
                Ok(())
            }
        })
        .unwrap();
        assert!(task.poll().is_none());
        task.cancel();
        gate_tx.send(()).unwrap();
        assert!(matches!(task.wait(), Err(Error::Cancelled)));
    }

    #[test]
    fn panicking_worker_is_an_error_not_a_hang() {
        let task: Task<()> = Task::spawn("boom", Notifier::noop(), |_, _| {
            std::panic::resume_unwind(Box::new("boom"))
        })
        .unwrap();
        assert!(task.wait().is_err());
    }
}
