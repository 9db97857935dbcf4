//! [`LiveData`]: what a stream sent so far, kept for drawing: x (seconds, the plots' unit),
//! every value column, each detector's score and online threshold as [`LiveBuffer`]s, the
//! ground truth and each detector's flags as [`Runs`], and the detections classified against
//! the truth (true positive, false positive, missed) as they close.
//!
//! Applying a batch costs O(rows in the batch); nothing here looks at older rows again.

use std::ops::Range;

use super::buffer::{LiveBuffer, Runs};
use crate::inject::InjectedWindow;
use crate::stream::StreamBatch;

/// One detector's live results.
#[derive(Clone, Debug, Default)]
pub struct DetectorLive {
    /// Detector id.
    pub id: String,
    /// Scores (NaN during warm-up).
    pub scores: LiveBuffer,
    /// The online threshold each row was compared with (NaN while calibrating).
    pub thresholds: LiveBuffer,
    /// Runs of flagged rows: the detections.
    pub detections: Runs,
    /// Rows flagged.
    pub flagged: usize,
    /// Closed detections that overlap a truth window.
    pub hits: usize,
    /// Closed detections outside every truth window.
    pub false_alarms: usize,
    /// Closed truth windows without a flagged row.
    pub missed: usize,
}

/// A detection for the list in the jobs panel.
#[derive(Clone, Debug, PartialEq)]
pub struct DetectionItem {
    /// Position of the detector in the stream.
    pub detector: usize,
    /// Flagged rows.
    pub rows: Range<usize>,
    /// Overlaps a truth window.
    pub hit: bool,
    /// Still open at the newest row.
    pub open: bool,
}

/// Everything a stream sent, ready to draw.
#[derive(Clone, Debug, Default)]
pub struct LiveData {
    /// Value column names.
    pub columns: Vec<String>,
    /// Rows the stream will replay.
    pub rows_total: usize,
    /// One x per row received: seconds since the epoch.
    pub x: Vec<f64>,
    /// One buffer per value column (after live injection).
    pub values: Vec<LiveBuffer>,
    /// Per detector.
    pub detectors: Vec<DetectorLive>,
    /// Ground truth (labelled or injected rows).
    pub truth: Runs,
    /// Truth windows an injection made (the dataset's stored plan, or the stream's live
    /// plan), sorted and merged: drawn apart from labelled windows.
    pub injected: Vec<Range<usize>>,
    /// Half a sampling step in x units, so one-row windows have a visible width.
    pub pad: f64,
    /// Batches applied.
    pub batches: usize,
}

impl LiveData {
    /// Shaped for a stream's `Started` event.
    pub fn new(
        columns: Vec<String>,
        detectors: &[String],
        rows_total: usize,
        planned: &[InjectedWindow],
        injected: &[Range<usize>],
    ) -> Self {
        let mut windows: Vec<Range<usize>> = injected
            .iter()
            .cloned()
            .chain(planned.iter().map(|w| w.first_row..w.last_row + 1))
            .collect();
        windows.sort_by_key(|r| r.start);
        let mut merged: Vec<Range<usize>> = Vec::with_capacity(windows.len());
        for w in windows {
            match merged.last_mut() {
                Some(last) if w.start <= last.end => last.end = last.end.max(w.end),
                _ => merged.push(w),
            }
        }
        Self {
            values: columns.iter().map(|_| LiveBuffer::new()).collect(),
            columns,
            rows_total,
            x: Vec::new(),
            detectors: detectors
                .iter()
                .map(|id| DetectorLive {
                    id: id.clone(),
                    ..DetectorLive::default()
                })
                .collect(),
            truth: Runs::new(),
            injected: merged,
            pad: 0.0,
            batches: 0,
        }
    }

    /// Rows received.
    pub fn len(&self) -> usize {
        self.x.len()
    }

    /// True before the first row.
    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }

    /// Appends a batch's rows (its events are the caller's). Rows are expected in order and
    /// contiguous (seeking scores the rows in between); a batch that does not continue the
    /// rows received is appended as if it did.
    pub fn apply(&mut self, batch: &StreamBatch) {
        if batch.is_empty() {
            return;
        }
        self.batches += 1;
        let first_x = self.x.len();
        self.x
            .extend(batch.timestamps.iter().map(|t| t.as_secs_f64()));
        if first_x < 2 && self.x.len() >= 2 {
            self.pad = ((self.x[1] - self.x[0]) / 2.0).max(0.0);
        }
        debug_assert!(first_x == 0 || self.x[first_x - 1] <= self.x[first_x]);
        for (buffer, values) in self.values.iter_mut().zip(&batch.values) {
            buffer.extend(values);
        }
        let truth_before = self.truth.closed().len();
        self.truth.extend(&batch.labels);
        for (d, detector) in self.detectors.iter_mut().enumerate() {
            if let Some(scores) = batch.scores.get(d) {
                detector.scores.extend(scores);
            }
            if let Some(thresholds) = batch.thresholds.get(d) {
                detector.thresholds.extend(thresholds);
            }
            if let Some(flags) = batch.flags.get(d) {
                detector.flagged += flags.iter().filter(|&&f| f).count();
                let closed_before = detector.detections.closed().len();
                detector.detections.extend(flags);
                // A closed detection's rows all have their labels: its class is final.
                for run in &detector.detections.closed()[closed_before..] {
                    if self.truth.overlaps(run) {
                        detector.hits += 1;
                    } else {
                        detector.false_alarms += 1;
                    }
                }
            }
        }
        // A closed truth window's rows all have their flags: missed or not is final.
        for window in &self.truth.closed()[truth_before..] {
            for detector in &mut self.detectors {
                if !detector.detections.overlaps(window) {
                    detector.missed += 1;
                }
            }
        }
    }

    /// True positives, false positives and missed windows of detector `d` so far, the open
    /// detection and the open truth window counted as they stand now.
    pub fn counts(&self, d: usize) -> (usize, usize, usize) {
        let Some(det) = self.detectors.get(d) else {
            return (0, 0, 0);
        };
        let (mut hits, mut false_alarms) = (det.hits, det.false_alarms);
        if let Some(open) = det.detections.open() {
            if self.truth.overlaps(&open) {
                hits += 1;
            } else {
                false_alarms += 1;
            }
        }
        (hits, false_alarms, det.missed)
    }

    /// Whether a truth window was made by an injection.
    pub fn is_injected(&self, rows: &Range<usize>) -> bool {
        let at = self.injected.partition_point(|w| w.end <= rows.start);
        self.injected.get(at).is_some_and(|w| w.start < rows.end)
    }

    /// The x extent of a row window, padded by half a step on each side.
    pub fn span(&self, rows: &Range<usize>) -> [f64; 2] {
        let first = self.x.get(rows.start).copied().unwrap_or(0.0);
        let last = self
            .x
            .get(rows.end.saturating_sub(1))
            .copied()
            .unwrap_or(first);
        [first - self.pad, last + self.pad]
    }

    /// Rows whose x lies in `[x0, x1]`, plus one on each side (so lines reach the edges).
    pub fn rows_in(&self, x0: f64, x1: f64) -> Range<usize> {
        let lo = self.x.partition_point(|&v| v < x0).saturating_sub(1);
        let hi = (self.x.partition_point(|&v| v <= x1) + 1).min(self.x.len());
        lo..hi.max(lo)
    }

    /// First and last x received, or `(0, 1)` before the first row.
    pub fn x_range(&self) -> (f64, f64) {
        match (self.x.first(), self.x.last()) {
            (Some(&a), Some(&b)) if b > a => (a, b),
            (Some(&a), Some(_)) => (a - 0.5, a + 0.5),
            _ => (0.0, 1.0),
        }
    }

    /// The newest `limit` detections of every detector, newest first.
    pub fn recent_detections(&self, limit: usize) -> Vec<DetectionItem> {
        let mut items: Vec<DetectionItem> = Vec::new();
        for (d, det) in self.detectors.iter().enumerate() {
            let open = det.detections.open();
            items.extend(
                det.detections
                    .iter()
                    .rev()
                    .take(limit)
                    .map(|rows| DetectionItem {
                        detector: d,
                        hit: self.truth.overlaps(&rows),
                        open: open.as_ref() == Some(&rows),
                        rows,
                    }),
            );
        }
        items.sort_by(|a, b| {
            b.rows
                .start
                .cmp(&a.rows.start)
                .then(a.detector.cmp(&b.detector))
        });
        items.truncate(limit);
        items
    }

    /// Heap bytes of the buffers (the bench reports it).
    pub fn heap_bytes(&self) -> usize {
        self.x.capacity() * size_of::<f64>()
            + self
                .values
                .iter()
                .map(LiveBuffer::heap_bytes)
                .sum::<usize>()
            + self
                .detectors
                .iter()
                .map(|d| d.scores.heap_bytes() + d.thresholds.heap_bytes())
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Timestamp;

    fn batch(start: usize, labels: &[bool], flags: &[bool]) -> StreamBatch {
        let n = labels.len();
        StreamBatch {
            rows: start..start + n,
            timestamps: (start..start + n)
                .map(|i| Timestamp(i as i64 * Timestamp::NANOS_PER_SEC))
                .collect(),
            values: vec![(0..n).map(|i| i as f64).collect()],
            labels: labels.to_vec(),
            scores: vec![flags.iter().map(|&f| if f { 9.0 } else { 1.0 }).collect()],
            thresholds: vec![vec![5.0; n]],
            flags: vec![flags.to_vec()],
            ..StreamBatch::default()
        }
    }

    #[test]
    fn detections_are_classified_as_they_close() {
        let mut data = LiveData::new(
            vec!["v".into()],
            &["d".into()],
            12,
            &[],
            std::slice::from_ref(&(8..10)),
        );
        //           rows:   0      1     2     3      4      5
        data.apply(&batch(
            0,
            &[false, true, true, false, false, false],
            &[false, false, true, true, false, true],
        ));
        // Detection 2..4 overlaps truth 1..3: a hit; 5.. is open and outside: false for now.
        assert_eq!(data.counts(0), (1, 1, 0));
        data.apply(&batch(
            6,
            &[false, false, true, true, false, false],
            &[false, false, false, false, false, false],
        ));
        // 5..6 closed as a false alarm; truth 8..10 closed without a flag: missed.
        assert_eq!(data.counts(0), (1, 1, 1));
        assert_eq!(data.len(), 12);
        assert!(data.is_injected(&(8..10)) && !data.is_injected(&(1..3)));
        assert_eq!(data.rows_in(3.5, 6.2), 3..8);
        let recent = data.recent_detections(10);
        assert_eq!(recent.len(), 2);
        assert_eq!((recent[0].rows.clone(), recent[0].hit), (5..6, false));
        let [a, b] = data.span(&(2..4));
        assert!(
            (a - 1.5).abs() < 1e-12 && (b - 3.5).abs() < 1e-12,
            "{a} {b}"
        );
    }
}
