//! Anomaly windows: contiguous runs of anomalous rows, the unit that event and range metrics
//! and the GUI's shaded spans work with.

use serde::{Deserialize, Serialize};

use super::Timestamp;

/// A run of anomalous rows `[first_row, last_row]` (inclusive) with their timestamps.
/// `end: None` means the window is still open (a live stream has not left it yet).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnomalyWindow {
    /// Index of the first anomalous row.
    pub first_row: usize,
    /// Index of the last anomalous row (inclusive).
    pub last_row: usize,
    /// Timestamp of the first row.
    pub start: Timestamp,
    /// Timestamp of the last row, or `None` while the window is still open.
    pub end: Option<Timestamp>,
}

impl AnomalyWindow {
    /// Number of rows in the window.
    pub fn len(&self) -> usize {
        self.last_row + 1 - self.first_row
    }

    /// Always false: a window holds at least one row.
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// Turns per-row flags into sorted, non-overlapping, non-touching windows.
/// `timestamps` must have one entry per flag; extra flags past its end are ignored.
pub fn windows_from_flags(flags: &[bool], timestamps: &[Timestamp]) -> Vec<AnomalyWindow> {
    let mut windows = Vec::new();
    let mut open: Option<usize> = None;
    let n = flags.len().min(timestamps.len());
    for (i, &flag) in flags.iter().take(n).enumerate() {
        match (flag, open) {
            (true, None) => open = Some(i),
            (false, Some(first)) => {
                windows.push(window(first, i - 1, timestamps));
                open = None;
            }
            _ => {}
        }
    }
    if let Some(first) = open {
        windows.push(window(first, n - 1, timestamps));
    }
    windows
}

fn window(first_row: usize, last_row: usize, timestamps: &[Timestamp]) -> AnomalyWindow {
    AnomalyWindow {
        first_row,
        last_row,
        start: timestamps[first_row],
        end: Some(timestamps[last_row]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_become_windows_including_edges() {
        let ts: Vec<Timestamp> = (0..6).map(Timestamp).collect();
        let w = windows_from_flags(&[true, false, true, true, false, true], &ts);
        assert_eq!(w.len(), 3);
        assert_eq!((w[0].first_row, w[0].last_row), (0, 0));
        assert_eq!((w[1].first_row, w[1].last_row), (2, 3));
        assert_eq!(w[2].end, Some(Timestamp(5)));
        assert_eq!(w[1].len(), 2);
    }

    #[test]
    fn no_flags_no_windows() {
        assert!(windows_from_flags(&[], &[]).is_empty());
        let ts: Vec<Timestamp> = (0..3).map(Timestamp).collect();
        assert!(windows_from_flags(&[false; 3], &ts).is_empty());
    }
}
