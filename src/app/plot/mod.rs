//! Plotting a dataset: the plot-ready copy of a series ([`PlotData`], built on a worker), min/max
//! decimation with a per-column cache ([`decimate`]), the time axis ([`time_axis`]) and the
//! `egui_plot` widget for one column ([`series_plot`]).
//!
//! The plot panel (`panels/plot.rs`) arranges these; later panels (scores, detections,
//! injected windows) reuse [`series_plot`] with more overlays.

pub mod decimate;
pub mod png;
pub mod pyramid;
pub mod series_plot;
pub mod time_axis;

use crate::model::{Column, Series, Timestamp, windows_from_flags};
use crate::storage::DatasetMeta;

pub use decimate::{BucketGrid, Decimated, MinMax, decimate, decimate_with};
pub use pyramid::MinMaxPyramid;
pub use series_plot::{ColumnCache, ColumnPlot};
pub use time_axis::TimeAxis;

/// A dataset ready to plot: x as seconds since the epoch (what `egui_plot` draws), the value
/// columns, and the ground-truth windows as x-ranges. Built once per load, on the worker that
/// loaded the series, so the UI thread never converts a million timestamps.
#[derive(Clone, Debug)]
pub struct PlotData {
    /// The dataset's summary.
    pub meta: DatasetMeta,
    /// One x per row, seconds since the epoch, non-decreasing.
    pub x: Vec<f64>,
    /// The value columns, in file order.
    pub columns: Vec<Column>,
    /// Ground-truth anomaly windows as `[start, end]` in x units, padded by half a sampling
    /// step on each side so a one-row window is visible. Sorted, non-overlapping.
    pub label_spans: Vec<[f64; 2]>,
    /// How to label the x axis.
    pub axis: TimeAxis,
    /// One min/max pyramid per column (same order as `columns`), built here, on the loading
    /// worker, so zoomed-out frames decimate in O(pixels · log rows). `None` for a column too
    /// long to index with `u32`; a pyramid whose row count no longer matches its column (a
    /// column edited in place) is ignored and the rows are scanned.
    pub pyramids: Vec<Option<MinMaxPyramid>>,
}

impl PlotData {
    /// Converts a loaded series.
    pub fn new(meta: DatasetMeta, series: Series) -> Self {
        let windows = series
            .labels()
            .map(|flags| windows_from_flags(flags, series.timestamps()))
            .unwrap_or_default();
        let step_secs = meta
            .step_ns
            .or_else(|| series.median_step_ns())
            .map_or(0.0, |ns| Timestamp(ns).as_secs_f64());
        let pad = step_secs / 2.0;
        let mut label_spans: Vec<[f64; 2]> = Vec::with_capacity(windows.len());
        for w in &windows {
            let start = w.start.as_secs_f64() - pad;
            let end = w.end.unwrap_or(w.start).as_secs_f64() + pad;
            match label_spans.last_mut() {
                Some(last) if start <= last[1] => last[1] = last[1].max(end),
                _ => label_spans.push([start, end]),
            }
        }
        let (timestamps, columns, _) = series.into_parts();
        let x: Vec<f64> = timestamps.iter().map(|t| t.as_secs_f64()).collect();
        let axis = match (x.first(), x.last()) {
            (Some(&a), Some(&b)) => TimeAxis::for_range(a, b),
            _ => TimeAxis::Calendar,
        };
        let pyramids = build_pyramids(&columns);
        Self {
            meta,
            x,
            columns,
            label_spans,
            axis,
            pyramids,
        }
    }

    /// The pyramid of column `column`, if it was built for the column as it is now.
    pub fn pyramid(&self, column: usize) -> Option<&MinMaxPyramid> {
        let rows = self.columns.get(column)?.values.len();
        self.pyramids
            .get(column)?
            .as_ref()
            .filter(|p| p.rows() == rows)
    }

    /// Heap bytes held by the pyramids (reported by the frame bench).
    pub fn pyramid_bytes(&self) -> usize {
        self.pyramids
            .iter()
            .flatten()
            .map(MinMaxPyramid::heap_bytes)
            .sum()
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.x.len()
    }

    /// First and last x, or `(0, 1)` for an empty series (so plots still have a range).
    pub fn x_range(&self) -> (f64, f64) {
        match (self.x.first(), self.x.last()) {
            (Some(&a), Some(&b)) if b > a => (a, b),
            (Some(&a), Some(_)) => (a - 0.5, a + 0.5),
            _ => (0.0, 1.0),
        }
    }

    /// The label spans that intersect `[x0, x1]`, merged where the gap between two is below
    /// `min_gap` (one pixel), so a plot never draws more spans than it has pixel columns.
    pub fn visible_label_spans(&self, x0: f64, x1: f64, min_gap: f64) -> Vec<[f64; 2]> {
        let start = self.label_spans.partition_point(|s| s[1] < x0);
        let mut out: Vec<[f64; 2]> = Vec::new();
        for span in self.label_spans[start..].iter().take_while(|s| s[0] <= x1) {
            match out.last_mut() {
                Some(last) if span[0] - last[1] < min_gap => last[1] = span[1],
                _ => out.push(*span),
            }
        }
        out
    }
}

/// Builds the pyramids of all columns, in parallel (one column per rayon task).
fn build_pyramids(columns: &[Column]) -> Vec<Option<MinMaxPyramid>> {
    use rayon::prelude::*;
    columns
        .par_iter()
        .map(|c| MinMaxPyramid::build(&c.values))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::fixtures::meta;

    #[test]
    fn labels_become_padded_spans_and_merge_when_dense() {
        let series = crate::testing::seasonal_with_anomalies(100, 20, 10, 50..60, 1);
        let data = PlotData::new(meta("s", 100, &["value"]), series);
        assert_eq!(data.label_spans, vec![[9.5, 10.5], [49.5, 59.5]]);
        assert_eq!(data.axis, TimeAxis::Elapsed);
        assert_eq!(data.visible_label_spans(0.0, 100.0, 0.1).len(), 2);
        assert_eq!(data.visible_label_spans(0.0, 100.0, 50.0).len(), 1);
        assert_eq!(data.visible_label_spans(20.0, 40.0, 0.1).len(), 0);
        assert_eq!(data.x_range(), (0.0, 99.0));
    }
}
