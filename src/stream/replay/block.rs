//! The full-speed path of the replay: when rows are due at once ([`Speed::Max`] or a seek's
//! fast-forward), a block of rows is replayed together instead of row by row.
//!
//! Why: at full speed the per-row work is tiny (a rolling z-score update is a few
//! nanoseconds), so the row loop's own costs dominate: pacing checks, one dynamic call per
//! detector per row interleaved across detectors, per-row pushes of every column. A block
//! copies timestamps, values and labels with slice copies, then scores the rows with the same
//! `update` calls in the same order as the row loop (so scores are identical), without the
//! per-row pacing checks. A block never crosses a batch boundary or a command poll; the
//! cancel flag is read every [`CANCEL_POLL_ROWS`] rows and a cancel keeps the rows complete
//! so far; an error rolls the batch back to the block's start, so a consumer never sees a row
//! without all its scores.
//!
//! [`Speed::Max`]: crate::stream::Speed::Max

use super::Replay;
use crate::error::{Error, Result};
use crate::model::{AnomalyWindow, Row};
use crate::stream::protocol::StreamEvent;

/// Rows between two reads of the cancel flag inside a block.
const CANCEL_POLL_ROWS: usize = 64;

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
        match self.fill_block(start, end, &mark) {
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

    /// Scores rows `start..end` row by row, every detector per row (as `step` does), after
    /// copying their inputs. Returns the end actually reached: `end`, or the row where a
    /// cancel was seen (the rows before it are complete and kept).
    fn fill_block(&mut self, start: usize, end: usize, mark: &Mark) -> Result<usize> {
        self.copy_inputs(start, end)?;
        // The row buffer is moved out while rows borrow it and the loop updates `self`.
        let mut buf = std::mem::take(&mut self.buf);
        let reached = self.score_rows(start, end, mark, &mut buf);
        self.buf = buf;
        reached
    }

    fn score_rows(
        &mut self,
        start: usize,
        end: usize,
        mark: &Mark,
        buf: &mut Vec<f64>,
    ) -> Result<usize> {
        let width = self.batch.values.len();
        for (offset, i) in (start..end).enumerate() {
            if offset % CANCEL_POLL_ROWS == 0 && offset > 0 && self.cancel.is_cancelled() {
                return Ok(i);
            }
            let at = mark.rows + offset;
            buf.clear();
            buf.extend((0..width).map(|c| self.batch.values[c][at]));
            let ts = self.batch.timestamps[at];
            let row = Row {
                index: i,
                ts,
                values: buf,
            };
            for d in 0..self.detectors.len() {
                let score = self.detectors[d].update(row)?;
                let (threshold, flag) = self.thresholds[d].update(score);
                self.batch.scores[d].push(score);
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
