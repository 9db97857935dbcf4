//! [`Pacer`]: when each row is due on the clock, at real time × speed. Re-anchored on every
//! change (start, resume, seek, new speed), so the pace continues from the current row without
//! a jump.

use std::time::Duration;

use super::protocol::Speed;
use crate::model::Timestamp;

/// Maps row timestamps to clock times.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pacer {
    speed: Speed,
    anchor_clock: Duration,
    anchor_ts: i64,
}

impl Pacer {
    /// Row with timestamp `ts` is due at clock time `now`; later rows follow at `speed`.
    pub(crate) fn new(speed: Speed, now: Duration, ts: Timestamp) -> Self {
        Self {
            speed,
            anchor_clock: now,
            anchor_ts: ts.nanos(),
        }
    }

    /// Re-anchors: row `ts` is due `now`.
    pub(crate) fn anchor(&mut self, now: Duration, ts: Timestamp) {
        self.anchor_clock = now;
        self.anchor_ts = ts.nanos();
    }

    pub(crate) fn set_speed(&mut self, speed: Speed) {
        self.speed = speed;
    }

    /// True at [`Speed::Max`]: every row is due at once.
    pub(crate) fn is_max(&self) -> bool {
        matches!(self.speed, Speed::Max)
    }

    /// When a row with timestamp `ts` is due; `None` at [`Speed::Max`] (always due).
    #[inline]
    pub(crate) fn due(&self, ts: Timestamp) -> Option<Duration> {
        let Speed::Factor(factor) = self.speed else {
            return None;
        };
        let delta = ts.nanos().saturating_sub(self.anchor_ts).max(0);
        let scaled = (delta as f64 / factor).round();
        let nanos = if scaled.is_finite() && scaled < u64::MAX as f64 {
            scaled as u64
        } else {
            u64::MAX
        };
        Some(
            self.anchor_clock
                .saturating_add(Duration::from_nanos(nanos)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_due_at_timestamp_over_speed() {
        let pacer = Pacer::new(Speed::Factor(10.0), Duration::from_secs(3), Timestamp(0));
        assert_eq!(
            pacer.due(Timestamp(Timestamp::NANOS_PER_SEC)),
            Some(Duration::from_millis(3100))
        );
        let slow = Pacer::new(Speed::Factor(0.5), Duration::ZERO, Timestamp(0));
        assert_eq!(
            slow.due(Timestamp(Timestamp::NANOS_PER_SEC)),
            Some(Duration::from_secs(2))
        );
        let max = Pacer::new(Speed::Max, Duration::ZERO, Timestamp(0));
        assert_eq!(max.due(Timestamp(i64::MAX)), None);
    }
}
