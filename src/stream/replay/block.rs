//! The full-speed path of the replay: when rows are due at once ([`Speed::Max`] or a seek's
//! fast-forward), a block of rows is replayed together instead of row by row.
//!
//! Why: at full speed the per-row work is tiny (a rolling z-score update is a few
//! nanoseconds), so the row loop's own costs dominate: pacing checks, one dynamic call per
//! detector per row, per-row pushes of every column. A block copies timestamps, values and
//! labels with slice copies, then lets each detector score the whole block with
//! `Detector::update_block` (equal to `update` row by row; the rolling z-score runs its
//! vectorised kernel there), then thresholds online row by row. A block never crosses a batch
//! boundary or a command poll, and is sized from the previous block's time so that it takes
//! about 10 ms: the cancel flag is read between blocks and between detectors. A cancel or an
//! error drops the block in progress, so a consumer never sees a row without all its scores.
//!
//! [`Speed::Max`]: crate::stream::Speed::Max

use std::time::{Duration, Instant};

use super::Replay;
use crate::error::{Error, Result};
use crate::model::AnomalyWindow;
use crate::stream::protocol::StreamEvent;

/// Largest block, in rows.
const MAX_BLOCK_ROWS: usize = 256;

/// What one block should take at most (a cancel waits for the block in progress).
const BLOCK_TIME: Duration = Duration::from_millis(10);

/// Lengths of the batch's vectors before a block, to roll it back.
struct Mark {
    rows: usize,
    events: usize,
}

impl Replay {
    /// Replays rows `next..end` (all due now) as one block.
    pub(super) fn step_block(&mut self, end: usize) -> Result<()> {
        let start = self.next;
        if start >= end {
            return Ok(());
        }
        if self.batch.rows.is_empty() {
            self.batch.rows = start..start;
            self.batch.first_row_at = self.clock.now();
        }
        let mark = Mark {
            rows: self.batch.timestamps.len(),
            events: self.batch.events.len(),
        };
        let started = Instant::now();
        let outcome = self.fill_block(start, end, &mark);
        self.adapt_block_rows(end - start, started.elapsed());
        match outcome {
            Ok(reached) => {
                self.cut(mark.rows + (reached - start), None, reached);
                self.batch.rows.end = reached;
                self.next = reached;
                Ok(())
            }
            Err(e) => {
                self.cut(mark.rows, Some(mark.events), start);
                Err(e)
            }
        }
    }

    /// Scores rows `start..end` after copying their inputs: each detector's `update_block`
    /// over the whole block (the same scores as `update` row by row), then thresholds, window
    /// events and delays row by row in row order. Returns the end reached: `end`, or `start`
    /// when a cancel was seen between two detectors (nothing of the block is kept).
    fn fill_block(&mut self, start: usize, end: usize, mark: &Mark) -> Result<usize> {
        self.copy_inputs(start, end)?;
        let columns: Vec<&[f64]> = self
            .batch
            .values
            .iter()
            .map(|column| &column[mark.rows..])
            .collect();
        let timestamps = &self.batch.timestamps[mark.rows..];
        for (detector, scores) in self.detectors.iter_mut().zip(&mut self.batch.scores) {
            if self.cancel.is_cancelled() {
                return Ok(start);
            }
            detector.update_block(start, timestamps, &columns, scores)?;
        }
        for (offset, i) in (start..end).enumerate() {
            let at = mark.rows + offset;
            let ts = self.batch.timestamps[at];
            for d in 0..self.detectors.len() {
                let (threshold, flag) = self.thresholds[d].update(self.batch.scores[d][at]);
                self.batch.thresholds[d].push(threshold);
                self.batch.flags[d].push(flag);
                if let Some(event) = self.window_edge(d, i, flag) {
                    self.batch.events.push(event);
                }
                self.flagged[d] += usize::from(flag);
                self.delays[d].observe(i, ts, flag);
            }
        }
        Ok(end)
    }

    /// Sizes the next block so that it takes about [`BLOCK_TIME`]: a cancel is read between
    /// blocks (and between detectors), so slow detectors get small blocks and still stop
    /// within the 100 ms the jobs promise; fast ones get up to [`MAX_BLOCK_ROWS`].
    fn adapt_block_rows(&mut self, rows: usize, took: Duration) {
        let per_row = took.as_secs_f64() / rows.max(1) as f64;
        let fit = if per_row > 0.0 {
            (BLOCK_TIME.as_secs_f64() / per_row) as usize
        } else {
            MAX_BLOCK_ROWS
        };
        self.block_rows = fit.clamp(1, MAX_BLOCK_ROWS);
    }

    /// Appends rows `start..end` (timestamps, values after live injection, labels).
    fn copy_inputs(&mut self, start: usize, end: usize) -> Result<()> {
        let series = std::sync::Arc::clone(&self.series);
        self.batch
            .timestamps
            .extend_from_slice(&series.timestamps()[start..end]);
        match series.labels() {
            Some(labels) => self.batch.labels.extend_from_slice(&labels[start..end]),
            None => self
                .batch
                .labels
                .resize(self.batch.labels.len() + (end - start), false),
        }
        let Some(live) = &mut self.injector else {
            for (column, source) in self.batch.values.iter_mut().zip(series.columns()) {
                column.extend_from_slice(&source.values[start..end]);
            }
            return Ok(());
        };
        let first = self.batch.labels.len() - (end - start);
        for (offset, i) in (start..end).enumerate() {
            if series.row_into(i, &mut self.buf).is_none() {
                return Err(Error::Invalid(format!("row {i} is out of range")));
            }
            self.batch.labels[first + offset] |= live.apply_row(i, &mut self.buf)?;
            for (column, &v) in self.batch.values.iter_mut().zip(&self.buf) {
                column.push(v);
            }
        }
        Ok(())
    }

    /// The window event of detector `d` at row `i`, if its flag changes there.
    fn window_edge(&mut self, d: usize, i: usize, flag: bool) -> Option<StreamEvent> {
        match (flag, self.open[d]) {
            (true, None) => {
                let ts = self.series.timestamps()[i];
                self.open[d] = Some((i, ts));
                self.windows[d] += 1;
                Some(StreamEvent::WindowOpened {
                    detector: d,
                    row: i,
                    ts,
                })
            }
            (false, Some((first_row, start))) => {
                self.open[d] = None;
                Some(StreamEvent::WindowClosed {
                    detector: d,
                    window: AnomalyWindow {
                        first_row,
                        last_row: i - 1,
                        start,
                        end: Some(self.series.timestamps()[i - 1]),
                    },
                })
            }
            _ => None,
        }
    }

    /// Cuts the batch to `rows` rows (`next` is the first row not kept) and, for a failed
    /// block, its events to `events` (they may belong to rows not kept).
    fn cut(&mut self, rows: usize, events: Option<usize>, next: usize) {
        let batch = &mut self.batch;
        batch.timestamps.truncate(rows);
        batch.labels.truncate(rows);
        for column in &mut batch.values {
            column.truncate(rows);
        }
        for d in 0..batch.scores.len() {
            batch.scores[d].truncate(rows);
            batch.thresholds[d].truncate(rows);
            batch.flags[d].truncate(rows);
        }
        if let Some(events) = events {
            batch.events.truncate(events);
        }
        if rows == 0 {
            batch.rows = next..next;
        }
    }
}
