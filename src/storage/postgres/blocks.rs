//! Block summaries of `samples`, written with each dataset, so that plots of long series
//! read a few thousand summaries instead of every sample.
//!
//! Each value column is cut into blocks of [`BLOCK_ROWS`] consecutive rows; a
//! `sample_block` row holds the block's time range, row count, count of non-NaN values,
//! their min, max and sum, and the block's timestamps and values as arrays. A downsampled
//! read (`downsample.rs`) takes the summary of every block that falls inside one bucket and
//! unnests the arrays only for blocks that straddle a bucket edge, which gives the same
//! count, min and max as aggregating the raw samples (and the same mean up to rounding).
//!
//! `samples` stays the record of the data (`load_series` reads it); `sample_block` is derived
//! from it, in the same transaction, and migration 3 derives it for datasets stored before.

use postgres::Transaction;

use super::copy::BinaryCopy;
use crate::model::{Series, Timestamp};
use crate::storage::{DatasetId, StorageError};

/// Rows per block. Smaller blocks mean more summaries to read, larger ones more values to
/// unnest at bucket edges; for 2 000 buckets over 1M rows, 32 reads about 31k summaries and
/// 56k edge values (92 ms on the CI cluster) where 64 read 16k and 120k (110 ms).
pub(super) const BLOCK_ROWS: usize = 32;

/// The summary of one block (NaN values excluded from min, max, sum).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct BlockStats {
    pub min_ts: i64,
    pub max_ts: i64,
    pub non_nan: i32,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub sum: f64,
}

/// Summarises one block (`ts` and `values` of equal, non-zero length).
pub(super) fn stats(ts: &[Timestamp], values: &[f64]) -> BlockStats {
    let (mut min_ts, mut max_ts) = (i64::MAX, i64::MIN);
    for t in ts {
        min_ts = min_ts.min(t.0);
        max_ts = max_ts.max(t.0);
    }
    let (mut non_nan, mut min, mut max, mut sum) = (0_i32, f64::INFINITY, f64::NEG_INFINITY, 0.0);
    for &v in values {
        if v.is_nan() {
            continue;
        }
        non_nan += 1;
        // PostgreSQL's float8 min/max: strict comparisons, first one kept on ties.
        if v < min {
            min = v;
        }
        if v > max {
            max = v;
        }
        sum += v;
    }
    BlockStats {
        min_ts,
        max_ts,
        non_nan,
        min: (non_nan > 0).then_some(min),
        max: (non_nan > 0).then_some(max),
        sum,
    }
}

/// Writes the blocks of every column of `series` with one binary COPY.
pub(super) fn copy_blocks(
    tx: &mut Transaction<'_>,
    id: DatasetId,
    series: &Series,
) -> Result<(), StorageError> {
    const OP: &str = "copy sample blocks";
    if series.is_empty() || series.columns().is_empty() {
        return Ok(());
    }
    let sink = tx
        .copy_in(
            "COPY sample_block (dataset_id, column_idx, first_row, rows, min_ts, max_ts, \
             non_nan, min, max, sum, ts, vals) FROM STDIN BINARY",
        )
        .map_err(super::conn::pg(OP))?;
    let mut copy = BinaryCopy::new(sink, OP);
    for (column_idx, column) in series.columns().iter().enumerate() {
        let blocks = series
            .timestamps()
            .chunks(BLOCK_ROWS)
            .zip(column.values.chunks(BLOCK_ROWS));
        for (block, (ts, values)) in blocks.enumerate() {
            let s = stats(ts, values);
            copy.row(12)?;
            copy.int8(id.0);
            copy.int4(column_idx as i32);
            copy.int4((block * BLOCK_ROWS) as i32);
            copy.int4(ts.len() as i32);
            copy.int8(s.min_ts);
            copy.int8(s.max_ts);
            copy.int4(s.non_nan);
            copy.float8_or_null(s.min);
            copy.float8_or_null(s.max);
            copy.float8(s.sum);
            copy.int8_array(ts.iter().map(|t| t.0));
            copy.float8_array(values);
        }
    }
    copy.finish()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_skip_nan_and_keep_infinities() {
        let ts = [Timestamp(5), Timestamp(3), Timestamp(9)];
        let s = stats(&ts, &[f64::NAN, -1.5, f64::INFINITY]);
        assert_eq!((s.min_ts, s.max_ts), (3, 9), "time range of the block");
        assert_eq!(s.non_nan, 2, "NaN not counted");
        assert_eq!((s.min, s.max), (Some(-1.5), Some(f64::INFINITY)));
        assert!(s.sum.is_infinite(), "sum of the non-NaN values");
        let nan = stats(&ts[..1], &[f64::NAN]);
        assert_eq!(
            (nan.non_nan, nan.min, nan.max, nan.sum),
            (0, None, None, 0.0)
        );
    }
}
