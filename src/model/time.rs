//! Timestamps: nanoseconds since the Unix epoch, as in Arrow and polars.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Nanoseconds since the Unix epoch (UTC). Files without a time column get one row per second
/// from the epoch (row `i` at `i` seconds), which keeps ordering and spacing meaningful and
/// round-trips through RFC 3339 export.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
#[repr(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Nanoseconds in one second.
    pub const NANOS_PER_SEC: i64 = 1_000_000_000;

    /// The raw nanosecond count.
    pub fn nanos(self) -> i64 {
        self.0
    }

    /// Seconds since the epoch as a float, the unit the plots use on their x axis.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / Self::NANOS_PER_SEC as f64
    }

    /// RFC 3339 text in UTC (`2024-01-02T03:04:05Z`, with fractional seconds when present).
    /// Falls back to the raw number for values outside chrono's range.
    pub fn to_rfc3339(self) -> String {
        let secs = self.0.div_euclid(Self::NANOS_PER_SEC);
        let nanos = self.0.rem_euclid(Self::NANOS_PER_SEC) as u32;
        match chrono::DateTime::from_timestamp(secs, nanos) {
            Some(dt) => dt.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            None => self.0.to_string(),
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

/// A human-readable duration ("5m", "1h 30m", "250ms", "3d 4h") for summaries.
pub fn format_duration_ns(nanos: i64) -> String {
    const UNITS: &[(i64, &str)] = &[
        (86_400_000_000_000, "d"),
        (3_600_000_000_000, "h"),
        (60_000_000_000, "m"),
        (1_000_000_000, "s"),
        (1_000_000, "ms"),
        (1_000, "µs"),
        (1, "ns"),
    ];
    if nanos == 0 {
        return "0s".to_owned();
    }
    let sign = if nanos < 0 { "-" } else { "" };
    let mut rest = nanos.unsigned_abs();
    let mut parts = Vec::new();
    for &(unit, suffix) in UNITS {
        let unit = unit.unsigned_abs();
        if rest >= unit {
            parts.push(format!("{}{suffix}", rest / unit));
            rest %= unit;
        }
        if parts.len() == 2 {
            break;
        }
    }
    format!("{sign}{}", parts.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_numbers() {
        assert_eq!(Timestamp(0).to_rfc3339(), "1970-01-01T00:00:00Z");
        assert_eq!(
            Timestamp(1_500_000_000).to_rfc3339(),
            "1970-01-01T00:00:01.500Z"
        );
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(format_duration_ns(300 * Timestamp::NANOS_PER_SEC), "5m");
        assert_eq!(
            format_duration_ns(5_400 * Timestamp::NANOS_PER_SEC),
            "1h 30m"
        );
        assert_eq!(format_duration_ns(1), "1ns");
        assert_eq!(format_duration_ns(0), "0s");
    }
}
