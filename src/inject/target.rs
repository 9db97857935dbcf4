//! [`Target`]: where an injection goes (a row range, a time range, or `count` random
//! non-overlapping windows), resolved against a series' timestamps into sorted row windows.

use std::ops::Range;

use rand::Rng as _;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::InjectError;
use crate::model::Timestamp;

/// Where an injection is placed. Numbers are signed in the JSON so that a negative value is
/// reported by name instead of as a parse failure.
///
/// ```json
/// {"type": "rows", "start": 100, "length": 50}
/// {"type": "time", "start": 1700000000000000000, "end": 1700000060000000000}
/// {"type": "random", "count": 5, "length": 1, "min_gap": 20}
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Target {
    /// Rows `start .. start + length`.
    Rows {
        /// First row (from 0).
        start: i64,
        /// Number of rows (at least 1).
        length: i64,
    },
    /// Every row whose timestamp lies in `[start, end]` (nanoseconds since the epoch, both
    /// ends inclusive).
    Time {
        /// First instant.
        start: Timestamp,
        /// Last instant (inclusive).
        end: Timestamp,
    },
    /// `count` windows of `length` rows at random positions (drawn from the injection's rng),
    /// separated by at least `min_gap` untouched rows.
    Random {
        /// Number of windows (at least 1).
        count: i64,
        /// Rows per window (at least 1).
        length: i64,
        /// Untouched rows between two windows (at least 0).
        #[serde(default)]
        min_gap: i64,
    },
}

impl Default for Target {
    fn default() -> Self {
        Self::Random {
            count: 1,
            length: 1,
            min_gap: 0,
        }
    }
}

fn non_negative(field: &'static str, value: i64, min: i64) -> Result<usize, InjectError> {
    if value < min {
        return Err(InjectError::Target {
            field,
            message: format!("must be at least {min}, got {value}"),
        });
    }
    usize::try_from(value).map_err(|_| InjectError::Target {
        field,
        message: format!("{value} is too large"),
    })
}

impl Target {
    /// Resolves the target to sorted, non-overlapping, non-empty row windows of a series with
    /// these timestamps. Random placement draws from `rng`; the other kinds draw nothing.
    pub fn resolve(
        &self,
        timestamps: &[Timestamp],
        rng: &mut ChaCha8Rng,
    ) -> Result<Vec<Range<usize>>, InjectError> {
        let rows = timestamps.len();
        match *self {
            Self::Rows { start, length } => {
                let start = non_negative("start", start, 0)?;
                let length = non_negative("length", length, 1)?;
                let end = start
                    .checked_add(length)
                    .filter(|&e| e <= rows)
                    .ok_or_else(|| InjectError::Target {
                        field: "length",
                        message: format!(
                            "window rows {start}..{} runs past the end of the series ({rows} rows)",
                            start.saturating_add(length)
                        ),
                    })?;
                Ok(std::iter::once(start..end).collect())
            }
            Self::Time { start, end } => {
                if end < start {
                    return Err(InjectError::Target {
                        field: "end",
                        message: format!("{end} is before start {start}"),
                    });
                }
                let first = timestamps.partition_point(|&t| t < start);
                let last = timestamps.partition_point(|&t| t <= end);
                if first >= last {
                    return Err(InjectError::Target {
                        field: "start",
                        message: format!("no rows between {start} and {end}"),
                    });
                }
                Ok(std::iter::once(first..last).collect())
            }
            Self::Random {
                count,
                length,
                min_gap,
            } => {
                let count = non_negative("count", count, 1)?;
                let length = non_negative("length", length, 1)?;
                let gap = non_negative("min_gap", min_gap, 0)?;
                let needed = count
                    .checked_mul(length)
                    .and_then(|n| n.checked_add((count - 1).checked_mul(gap)?));
                let Some(free) = needed.and_then(|n| rows.checked_sub(n)) else {
                    return Err(InjectError::Target {
                        field: "count",
                        message: format!(
                            "{count} windows of {length} rows with gaps of {gap} do not fit in \
                             {rows} rows"
                        ),
                    });
                };
                // Stars and bars: `count` sorted slack values in [0, free]; window j starts
                // after j earlier windows and gaps plus its slack, so windows never overlap.
                let mut slack: Vec<usize> =
                    (0..count).map(|_| rng.random_range(0..=free)).collect();
                slack.sort_unstable();
                Ok(slack
                    .iter()
                    .enumerate()
                    .map(|(j, &s)| {
                        let start = s + j * (length + gap);
                        start..start + length
                    })
                    .collect())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng as _;

    fn ts(n: i64) -> Vec<Timestamp> {
        (0..n).map(|i| Timestamp(i * 10)).collect()
    }

    #[test]
    fn rows_and_time_ranges_resolve() {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let t = Target::Rows {
            start: 3,
            length: 4,
        };
        assert_eq!(t.resolve(&ts(10), &mut rng).unwrap(), vec![3..7]);
        let t = Target::Time {
            start: Timestamp(15),
            end: Timestamp(40),
        };
        assert_eq!(t.resolve(&ts(10), &mut rng).unwrap(), vec![2..5]);
    }

    #[test]
    fn bad_targets_name_the_field() {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let err = |t: Target| {
            t.resolve(&ts(10), &mut rng.clone())
                .unwrap_err()
                .to_string()
        };
        assert!(
            err(Target::Rows {
                start: 0,
                length: -5
            })
            .contains("length must be at least 1, got -5")
        );
        assert!(
            err(Target::Rows {
                start: 8,
                length: 5
            })
            .contains("past the end")
        );
        assert!(
            err(Target::Rows {
                start: -1,
                length: 1
            })
            .contains("start")
        );
        assert!(
            err(Target::Time {
                start: Timestamp(200),
                end: Timestamp(300)
            })
            .contains("no rows")
        );
        assert!(
            err(Target::Random {
                count: 3,
                length: 4,
                min_gap: 1
            })
            .contains("do not fit")
        );
        assert!(
            err(Target::Random {
                count: 1,
                length: 1,
                min_gap: -1
            })
            .contains("min_gap")
        );
        rng = ChaCha8Rng::seed_from_u64(1);
        assert!(
            Target::Random {
                count: 2,
                length: 4,
                min_gap: 2
            }
            .resolve(&ts(10), &mut rng)
            .is_ok()
        );
    }

    #[test]
    fn random_windows_keep_their_gap_and_vary_with_the_seed() {
        let mut seen = std::collections::BTreeSet::new();
        for seed in 0..20 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let t = Target::Random {
                count: 5,
                length: 7,
                min_gap: 11,
            };
            let w = t.resolve(&ts(500), &mut rng).unwrap();
            assert_eq!(w.len(), 5);
            for pair in w.windows(2) {
                assert!(pair[1].start >= pair[0].end + 11, "{w:?}");
            }
            assert!(w.iter().all(|r| r.len() == 7 && r.end <= 500));
            seen.insert(w[0].start);
        }
        assert!(seen.len() > 5, "placements should vary with the seed");
    }
}
