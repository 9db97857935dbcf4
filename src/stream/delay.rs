//! [`DelayTracker`]: detection delay per true window, computed online as rows pass (no flag
//! history kept), equal to `eval::detection_delays` over the rows replayed.

use crate::eval::{DelaySummary, RowSpan, WindowDelay};
use crate::model::Timestamp;

/// Follows one detector's flags through known true windows.
#[derive(Clone, Debug)]
pub struct DelayTracker {
    /// `(span, start timestamp)`, sorted by first row.
    windows: Vec<(RowSpan, Timestamp)>,
    found: Vec<Option<(usize, Timestamp)>>,
    next: usize,
    active: Vec<usize>,
}

impl DelayTracker {
    /// Tracks these true windows (`(first_row, last_row)` inclusive, with the first row's
    /// timestamp), in any order.
    pub fn new(mut windows: Vec<(RowSpan, Timestamp)>) -> Self {
        windows.sort_by_key(|(span, _)| (span.first, span.last));
        Self {
            found: vec![None; windows.len()],
            windows,
            next: 0,
            active: Vec::new(),
        }
    }

    /// Feeds row `row` (rows must come in increasing order) and whether it was flagged.
    #[inline]
    pub fn observe(&mut self, row: usize, ts: Timestamp, flagged: bool) {
        if self.next == self.windows.len() && self.active.is_empty() {
            return;
        }
        while self.next < self.windows.len() && self.windows[self.next].0.first <= row {
            if self.windows[self.next].0.last >= row {
                self.active.push(self.next);
            }
            self.next += 1;
        }
        if flagged {
            for &w in &self.active {
                if self.found[w].is_none() {
                    self.found[w] = Some((row, ts));
                }
            }
        }
        let windows = &self.windows;
        self.active.retain(|&w| windows[w].0.last > row);
    }

    /// Delays of the windows that started within the first `rows_done` rows.
    pub fn summary(&self, rows_done: usize) -> DelaySummary {
        let per_window = self
            .windows
            .iter()
            .zip(&self.found)
            .filter(|((span, _), _)| span.first < rows_done)
            .map(|(&(span, start), found)| WindowDelay {
                window: span,
                first_detection: found.map(|(row, _)| row),
                delay_rows: found.map(|(row, _)| row - span.first),
                delay_ns: found.map(|(_, ts)| ts.nanos() - start.nanos()),
            })
            .collect();
        DelaySummary::from_delays(per_window)
    }
}

/// The runs of `true` in `labels` as true windows with their start timestamps.
pub(crate) fn label_windows(
    labels: &[bool],
    timestamps: &[Timestamp],
) -> Vec<(RowSpan, Timestamp)> {
    crate::model::windows_from_flags(labels, timestamps)
        .into_iter()
        .map(|w| {
            (
                RowSpan {
                    first: w.first_row,
                    last: w.last_row,
                },
                w.start,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::detection_delays;

    #[test]
    fn online_delays_equal_batch_delays() {
        let labels = [
            false, true, true, true, false, false, true, true, false, true,
        ];
        let predicted = [
            true, false, false, true, false, false, false, false, false, true,
        ];
        let ts: Vec<Timestamp> = (0..10).map(|i| Timestamp(i * 10)).collect();
        let mut tracker = DelayTracker::new(label_windows(&labels, &ts));
        for (i, &p) in predicted.iter().enumerate() {
            tracker.observe(i, ts[i], p);
        }
        let batch = detection_delays(&labels, &predicted, Some(&ts)).unwrap();
        assert_eq!(tracker.summary(10).per_window, batch);
    }

    #[test]
    fn windows_not_reached_are_not_counted() {
        let labels = [false, true, false, false, true];
        let ts: Vec<Timestamp> = (0..5).map(Timestamp).collect();
        let mut tracker = DelayTracker::new(label_windows(&labels, &ts));
        for (i, &t) in ts.iter().enumerate().take(3) {
            tracker.observe(i, t, i == 1);
        }
        let summary = tracker.summary(3);
        assert_eq!((summary.windows, summary.detected), (1, 1));
    }
}
