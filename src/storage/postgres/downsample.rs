//! Downsampled reads for plots: one value column cut into equal time buckets, with the row
//! count, min, max and mean of each, computed by the server (`time_bucket` on TimescaleDB;
//! the same floor division on plain PostgreSQL, where `date_bin` would need `timestamptz`,
//! which cannot hold nanosecond `i64` timestamps). The server reads `sample_block`
//! summaries, and raw values only for blocks that straddle a bucket edge (`blocks.rs`):
//! about 31k summaries and 56k values for 2 000 buckets over 1M rows, instead of 1M rows.
//!
//! NaN contract: NaN values count as rows but are left out of min, max and mean; a bucket
//! of only NaNs has NaN min, max and mean. Empty buckets are not returned.

use postgres::Client;

use super::PgMode;
use super::conn::pg;
use super::{count, datasets, get};
use crate::model::{Series, Timestamp};
use crate::storage::{DatasetId, StorageError};

/// One time bucket of a downsampled column.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bucket {
    /// Start of the bucket (inclusive); the bucket ends where the next width begins.
    pub start: Timestamp,
    /// Rows in the bucket, NaN values included.
    pub rows: usize,
    /// Smallest non-NaN value (NaN if the bucket has none).
    pub min: f64,
    /// Largest non-NaN value (NaN if the bucket has none).
    pub max: f64,
    /// Mean of the non-NaN values (NaN if the bucket has none).
    pub mean: f64,
}

/// The downsampling query; a timestamp expression `x`'s bucket number is `$pre x $post`
/// (parameters: $1 dataset, $2 column index, $3 origin, $4 width, all integers). Blocks
/// within one bucket contribute their summary; blocks across a bucket edge contribute their
/// rows, unnested from the block's arrays. `nullif(v, 'NaN')` leaves NaN values out of
/// min, max and sum (PostgreSQL's NaN equals NaN).
macro_rules! downsample_sql {
    ($pre:literal, $post:literal) => {
        concat!(
            "SELECT b, sum(n)::bigint, min(lo), max(hi), sum(s) / nullif(sum(f), 0) FROM (",
            "SELECT ",
            $pre,
            "min_ts",
            $post,
            " AS b, rows::bigint AS n, ",
            "non_nan::float8 AS f, min AS lo, max AS hi, sum AS s ",
            "FROM sample_block WHERE dataset_id = $1 AND column_idx = $2 AND ",
            $pre,
            "min_ts",
            $post,
            " = ",
            $pre,
            "max_ts",
            $post,
            " UNION ALL ",
            "SELECT ",
            $pre,
            "u.t",
            $post,
            ", 1, (u.v <> 'NaN'::float8)::int::float8, ",
            "nullif(u.v, 'NaN'::float8), nullif(u.v, 'NaN'::float8), nullif(u.v, 'NaN'::float8) ",
            "FROM sample_block k, unnest(k.ts, k.vals) AS u(t, v) ",
            "WHERE k.dataset_id = $1 AND k.column_idx = $2 AND ",
            $pre,
            "k.min_ts",
            $post,
            " <> ",
            $pre,
            "k.max_ts",
            $post,
            ") AS parts GROUP BY b ORDER BY b"
        )
    };
}

/// Plain PostgreSQL: floor division from the origin (`date_bin`'s rule on integers).
const PLAIN_SQL: &str = downsample_sql!("(", " - $3) / $4");
/// TimescaleDB: `time_bucket` with the origin as offset.
const TIMESCALE_SQL: &str =
    downsample_sql!("(time_bucket($4::bigint, ", ", $3::bigint) - $3) / $4");

/// The bucket layout for `buckets` buckets over `[start, end]`: `(origin, width)`, or `None`
/// when the span does not fit the server's 64-bit arithmetic (then Rust computes it).
fn layout(start: i64, end: i64, buckets: usize) -> Option<(i64, i64)> {
    let span = i128::from(end) - i128::from(start) + 1;
    let count = i128::try_from(buckets.max(1)).ok()?;
    let width = ((span + count - 1) / count).max(1);
    // `ts - origin` must not overflow either: it is at most span - 1.
    i64::try_from(span - 1).ok()?;
    Some((start, i64::try_from(width).ok()?))
}

pub(super) fn downsample(
    client: &mut Client,
    mode: PgMode,
    id: DatasetId,
    column: &str,
    buckets: usize,
) -> Result<Vec<Bucket>, StorageError> {
    const OP: &str = "downsample a column";
    if buckets == 0 {
        return Err(StorageError::InvalidRecord(
            "downsampling needs at least one bucket".to_owned(),
        ));
    }
    let meta = datasets::by_id(client, id)?;
    let Some(column_idx) = meta.columns.iter().position(|c| c == column) else {
        return Err(StorageError::InvalidRecord(format!(
            "dataset {:?} has no column {column:?} (it has {:?})",
            meta.name, meta.columns
        )));
    };
    let (Some(start), Some(end)) = (meta.start, meta.end) else {
        return Ok(Vec::new());
    };
    let Some((origin, width)) = layout(start.0, end.0, buckets) else {
        let series = datasets::load(client, id)?;
        return Ok(in_rust(&series, column_idx, buckets));
    };
    let sql = match mode {
        PgMode::Timescale => TIMESCALE_SQL,
        PgMode::Plain => PLAIN_SQL,
    };
    let column_idx = column_idx as i32;
    let mut tx = client.transaction().map_err(pg(OP))?;
    // JIT compiling costs more than it saves on a query this size.
    tx.batch_execute("SET LOCAL jit = off").map_err(pg(OP))?;
    let rows = tx
        .query(sql, &[&id.0, &column_idx, &origin, &width])
        .map_err(pg(OP))?;
    tx.commit().map_err(pg(OP))?;
    rows.iter()
        .map(|row| {
            let bucket: i64 = get(row, 0, OP)?;
            Ok(Bucket {
                start: Timestamp(origin + bucket * width),
                rows: count(row, 1, OP)?,
                min: get::<Option<f64>>(row, 2, OP)?.unwrap_or(f64::NAN),
                max: get::<Option<f64>>(row, 3, OP)?.unwrap_or(f64::NAN),
                mean: get::<Option<f64>>(row, 4, OP)?.unwrap_or(f64::NAN),
            })
        })
        .collect()
}

/// The same buckets computed in Rust (spans beyond 64-bit arithmetic); origin is the first
/// timestamp and the width is computed in 128 bits.
fn in_rust(series: &Series, column: usize, buckets: usize) -> Vec<Bucket> {
    let (Some(first), Some(last)) = (series.timestamps().first(), series.timestamps().last())
    else {
        return Vec::new();
    };
    let span = i128::from(last.0) - i128::from(first.0) + 1;
    let count = buckets.max(1) as i128;
    let width = ((span + count - 1) / count).max(1);
    let mut out: Vec<(i128, usize, f64, f64, f64, usize)> = Vec::new();
    let values = series
        .columns()
        .get(column)
        .map_or(&[][..], |c| &c.values[..]);
    for (ts, &value) in series.timestamps().iter().zip(values) {
        let bucket = (i128::from(ts.0) - i128::from(first.0)) / width;
        if out.last().is_none_or(|b| b.0 != bucket) {
            out.push((bucket, 0, f64::NAN, f64::NAN, 0.0, 0));
        }
        if let Some(b) = out.last_mut() {
            b.1 += 1;
            if !value.is_nan() {
                b.2 = if b.5 == 0 { value } else { b.2.min(value) };
                b.3 = if b.5 == 0 { value } else { b.3.max(value) };
                b.4 += value;
                b.5 += 1;
            }
        }
    }
    out.into_iter()
        .map(|(bucket, rows, min, max, sum, finite)| Bucket {
            start: Timestamp(
                i64::try_from(i128::from(first.0) + bucket * width).unwrap_or(i64::MAX),
            ),
            rows,
            min,
            max,
            mean: if finite == 0 {
                f64::NAN
            } else {
                sum / finite as f64
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_covers_the_span_and_refuses_overflow() {
        assert_eq!(layout(0, 999, 10), Some((0, 100)), "even split");
        assert_eq!(layout(0, 1000, 10), Some((0, 101)), "rounded up");
        assert_eq!(layout(5, 5, 2000), Some((5, 1)), "one instant");
        assert_eq!(layout(i64::MIN, i64::MAX, 2), None, "span beyond i64");
    }
}
