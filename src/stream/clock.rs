//! [`Clock`]: where the replay thread gets "now" and how it waits, so tests drive a stream
//! with a [`ManualClock`] instead of sleeping, and benches and the app use the [`WallClock`].
//!
//! Waiting is the clock's job because a waiting replay must still wake at once for a command
//! (pause, cancel): [`Clock::wait_until`] returns early when one arrives.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, bounded, select};
use parking_lot::Mutex;

use super::protocol::Command;

/// Why [`Clock::wait_until`] returned.
#[derive(Debug)]
pub enum Wake {
    /// The deadline was reached.
    Deadline,
    /// A command arrived first.
    Command(Command),
    /// Every command sender is gone (the handle was dropped).
    Disconnected,
}

/// Monotonic time since the clock started, and a wait that a command interrupts.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Time since the clock's origin.
    fn now(&self) -> Duration;

    /// Blocks until [`now`](Self::now) reaches `deadline` or a command arrives on `commands`.
    fn wait_until(&self, deadline: Duration, commands: &Receiver<Command>) -> Wake;
}

/// The real monotonic clock ([`Instant`]), origin at construction.
#[derive(Clone, Copy, Debug)]
pub struct WallClock {
    origin: Instant,
}

impl WallClock {
    /// A clock whose origin is now.
    pub fn new() -> Self {
        Self {
            origin: Instant::now(),
        }
    }
}

impl Default for WallClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for WallClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    fn wait_until(&self, deadline: Duration, commands: &Receiver<Command>) -> Wake {
        let Some(at) = self.origin.checked_add(deadline) else {
            // Far beyond any real wait: wait for a command only.
            return commands.recv().map_or(Wake::Disconnected, Wake::Command);
        };
        match commands.recv_deadline(at) {
            Ok(cmd) => Wake::Command(cmd),
            Err(RecvTimeoutError::Timeout) => Wake::Deadline,
            Err(RecvTimeoutError::Disconnected) => Wake::Disconnected,
        }
    }
}

/// A clock that moves only when told ([`advance`](Self::advance), [`set`](Self::set)):
/// deterministic streams in tests, no sleeping. Clones share the same time.
///
/// One replay thread may wait on a given manual clock at a time (its wake-ups go to one
/// waiter); give each stream its own clock.
#[derive(Clone)]
pub struct ManualClock {
    inner: Arc<ManualInner>,
}

struct ManualInner {
    now: Mutex<Duration>,
    tick_tx: Sender<()>,
    tick_rx: Receiver<()>,
}

impl ManualClock {
    /// A manual clock at time zero.
    pub fn new() -> Self {
        // Capacity 1: ticks coalesce; the waiter re-reads the time after each one.
        let (tick_tx, tick_rx) = bounded(1);
        Self {
            inner: Arc::new(ManualInner {
                now: Mutex::new(Duration::ZERO),
                tick_tx,
                tick_rx,
            }),
        }
    }

    /// Moves time forward by `by` and wakes a waiting replay.
    pub fn advance(&self, by: Duration) {
        {
            let mut now = self.inner.now.lock();
            *now = now.saturating_add(by);
        }
        self.inner.tick_tx.try_send(()).ok();
    }

    /// Sets the time (never backwards: an earlier time is ignored) and wakes a waiting replay.
    pub fn set(&self, to: Duration) {
        {
            let mut now = self.inner.now.lock();
            *now = (*now).max(to);
        }
        self.inner.tick_tx.try_send(()).ok();
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualClock")
            .field("now", &*self.inner.now.lock())
            .finish()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        *self.inner.now.lock()
    }

    fn wait_until(&self, deadline: Duration, commands: &Receiver<Command>) -> Wake {
        loop {
            if self.now() >= deadline {
                return Wake::Deadline;
            }
            select! {
                recv(commands) -> cmd => return cmd.map_or(Wake::Disconnected, Wake::Command),
                recv(self.inner.tick_rx) -> _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_wait_returns_once_time_reaches_deadline() {
        let clock = ManualClock::new();
        let (_tx, rx) = bounded::<Command>(1);
        let waiter = clock.clone();
        let join = std::thread::Builder::new()
            .name("wait".into())
            .spawn(move || {
                matches!(
                    waiter.wait_until(Duration::from_secs(2), &rx),
                    Wake::Deadline
                )
            })
            .unwrap();
        clock.advance(Duration::from_secs(1));
        clock.advance(Duration::from_secs(1));
        assert!(join.join().unwrap(), "woke for the deadline");
        assert_eq!(clock.now(), Duration::from_secs(2));
    }

    #[test]
    fn a_command_interrupts_a_manual_wait() {
        let clock = ManualClock::new();
        let (tx, rx) = bounded::<Command>(1);
        tx.send(Command::Pause).unwrap();
        assert!(matches!(
            clock.wait_until(Duration::from_mins(1), &rx),
            Wake::Command(Command::Pause)
        ));
        drop(tx);
        assert!(matches!(
            clock.wait_until(Duration::from_mins(1), &rx),
            Wake::Disconnected
        ));
    }

    #[test]
    fn manual_time_never_goes_back() {
        let clock = ManualClock::new();
        clock.set(Duration::from_secs(5));
        clock.set(Duration::from_secs(1));
        assert_eq!(clock.now(), Duration::from_secs(5));
    }
}
