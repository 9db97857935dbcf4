//! The x axis of every series plot: seconds since the Unix epoch, gridded at calendar-friendly
//! steps (1 s, 5 min, 1 h, 1 day, ...) and labelled as UTC date/time.
//!
//! Files without a time column get row `i` at `i` seconds after the epoch (see `model`); for
//! those a calendar makes no sense, so [`TimeAxis::Elapsed`] labels the axis with plain
//! offsets instead. Pure functions, unit-tested.

use chrono::DateTime;
use egui_plot::{GridInput, GridMark};

/// Seconds in a day.
const DAY: f64 = 86_400.0;

/// Steps (in seconds) the grid may use above one second, finest first.
const STEPS: &[f64] = &[
    1.0,
    2.0,
    5.0,
    10.0,
    15.0,
    30.0,
    60.0,
    120.0,
    300.0,
    600.0,
    900.0,
    1800.0,
    3600.0,
    7200.0,
    10_800.0,
    21_600.0,
    43_200.0,
    DAY,
    2.0 * DAY,
    7.0 * DAY,
    14.0 * DAY,
    30.0 * DAY,
    91.0 * DAY,
    182.0 * DAY,
    365.0 * DAY,
];

/// How x values are shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeAxis {
    /// Real timestamps: UTC calendar date and time.
    Calendar,
    /// Synthetic row-per-second timestamps: seconds since the first row.
    Elapsed,
}

impl TimeAxis {
    /// `Elapsed` when the whole series sits in the first year after the epoch (a file without
    /// a time column), `Calendar` otherwise.
    pub fn for_range(first_secs: f64, last_secs: f64) -> Self {
        if first_secs >= 0.0 && last_secs < 365.0 * DAY {
            Self::Elapsed
        } else {
            Self::Calendar
        }
    }

    /// The label of a grid mark at `value` whose grid step is `step` seconds.
    pub fn format_mark(self, value: f64, step: f64) -> String {
        match self {
            Self::Elapsed => format_number(value, step),
            Self::Calendar => {
                let pattern = if step >= DAY {
                    "%Y-%m-%d"
                } else if step >= 60.0 {
                    if value.rem_euclid(DAY) < 0.5 {
                        "%m-%d"
                    } else {
                        "%H:%M"
                    }
                } else if step >= 1.0 {
                    "%H:%M:%S"
                } else {
                    "%H:%M:%S%.3f"
                };
                format_utc(value, pattern)
            }
        }
    }

    /// The full position shown in hover tooltips.
    pub fn format_point(self, value: f64) -> String {
        match self {
            Self::Elapsed => format!("t = {}", format_number(value, 0.001)),
            Self::Calendar => format_utc(value, "%Y-%m-%d %H:%M:%S%.3f"),
        }
    }
}

/// Grid marks for seconds: three levels (thin, medium, thick) of calendar-friendly steps.
/// Days and longer steps are multiples of a day from the epoch, so they fall on UTC midnight.
pub fn time_grid(input: &GridInput) -> Vec<GridMark> {
    let (lo, hi) = input.bounds;
    let base = input.base_step_size;
    if !(base.is_finite() && base > 0.0 && lo.is_finite() && hi.is_finite() && hi > lo) {
        return Vec::new();
    }
    let fine = step_at_least(base);
    let medium = step_at_least(fine * 4.0);
    let coarse = step_at_least(medium * 4.0);
    let mut marks = Vec::new();
    // Millisecond keys: a value already marked by a coarser step keeps the thicker line.
    let mut seen = std::collections::HashSet::new();
    for step in [coarse, medium, fine] {
        let first = (lo / step).ceil() as i64;
        let last = (hi / step).floor() as i64;
        if last - first > 2_000 {
            continue;
        }
        for k in first..=last {
            let value = k as f64 * step;
            if seen.insert((value * 1000.0).round() as i64) {
                marks.push(GridMark {
                    value,
                    step_size: step,
                });
            }
        }
    }
    marks
}

/// The smallest nice step `>= min`: calendar steps from one second up, and 1-2-5 decades
/// below a second and above a year.
fn step_at_least(min: f64) -> f64 {
    if min <= 1.0 || min > 365.0 * DAY {
        let unit = if min > 365.0 * DAY { 365.0 * DAY } else { 1.0 };
        let scaled = min / unit;
        let decade = 10f64.powf(scaled.log10().floor());
        let step = [1.0, 2.0, 5.0, 10.0]
            .into_iter()
            .map(|m| m * decade)
            .find(|&s| s >= scaled)
            .unwrap_or(10.0 * decade);
        return step * unit;
    }
    STEPS
        .iter()
        .copied()
        .find(|&s| s >= min)
        .unwrap_or(365.0 * DAY)
}

fn format_utc(secs: f64, pattern: &str) -> String {
    let whole = secs.floor();
    let nanos = ((secs - whole) * 1e9).round().clamp(0.0, 999_999_999.0) as u32;
    match DateTime::from_timestamp(whole as i64, nanos) {
        Some(dt) => dt.format(pattern).to_string(),
        None => format!("{secs}"),
    }
}

fn format_number(value: f64, step: f64) -> String {
    if step >= 1.0 {
        format!("{value:.0}")
    } else {
        let decimals = (-step.log10()).ceil().clamp(0.0, 9.0) as usize;
        format!("{value:.decimals$}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_labels_follow_the_step() {
        let t = 1_704_164_645.0; // 2024-01-02T03:04:05Z
        assert_eq!(TimeAxis::Calendar.format_mark(t, DAY), "2024-01-02");
        assert_eq!(TimeAxis::Calendar.format_mark(t, 300.0), "03:04");
        assert_eq!(TimeAxis::Calendar.format_mark(t, 5.0), "03:04:05");
        assert_eq!(
            TimeAxis::Calendar.format_mark(1_704_153_600.0, 3600.0),
            "01-02"
        );
        assert_eq!(
            TimeAxis::Calendar.format_point(t + 0.25),
            "2024-01-02 03:04:05.250"
        );
    }

    #[test]
    fn row_index_series_use_elapsed_numbers() {
        assert_eq!(TimeAxis::for_range(0.0, 5000.0), TimeAxis::Elapsed);
        assert_eq!(TimeAxis::for_range(1.7e9, 1.8e9), TimeAxis::Calendar);
        assert_eq!(TimeAxis::Elapsed.format_mark(1500.0, 100.0), "1500");
    }

    #[test]
    fn grid_steps_are_calendar_friendly_and_deduplicated() {
        let marks = time_grid(&GridInput {
            bounds: (0.0, 7200.0),
            base_step_size: 50.0,
        });
        let mut steps: Vec<f64> = marks.iter().map(|m| m.step_size).collect();
        steps.sort_by(f64::total_cmp);
        steps.dedup();
        assert_eq!(steps, vec![60.0, 300.0, 1800.0]);
        let mut values: Vec<f64> = marks.iter().map(|m| m.value).collect();
        let before = values.len();
        values.sort_by(f64::total_cmp);
        values.dedup();
        assert_eq!(values.len(), before, "no duplicate marks");
        assert!((step_at_least(0.03) - 0.05).abs() < 1e-12);
    }
}
