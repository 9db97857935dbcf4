//! Column chunks as bytes: how a [`Series`] and a run's per-row vectors are laid out in a
//! database, independent of the database.
//!
//! Each column is cut into chunks of [`CHUNK_ROWS`] rows and every chunk is one blob of
//! little-endian fixed-width items: `i64` for timestamps, `f64` for values and scores (bit
//! patterns kept, so NaN payloads and `-0.0` survive), one byte (0 or 1) for labels and
//! predictions. Chunked blobs keep a 1M-row column at 16 rows in the database instead of a
//! million, and keep every blob far below engine limits.
//!
//! Decoding never trusts the bytes: a blob whose length is not a multiple of its item width,
//! a missing or repeated chunk, a byte other than 0/1, or a total that does not match the
//! recorded row count is reported as an error text that backends turn into
//! [`StorageError::Corrupt`](super::StorageError::Corrupt).

use crate::model::{Column, Series, Timestamp};

/// Rows per stored chunk (64 Ki rows: 512 KiB for an `f64` column).
pub(crate) const CHUNK_ROWS: usize = 65_536;

/// Which per-row vector of a dataset a chunk belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SeriesPart {
    /// The timestamps (`i64` nanoseconds).
    Timestamps,
    /// Value column `n` (`f64`).
    Values(usize),
    /// The ground-truth labels (`u8` 0/1).
    Labels,
}

/// Which per-row vector of a run a chunk belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RunPart {
    /// The scores (`f64`).
    Scores,
    /// The predicted flags (`u8` 0/1).
    Predicted,
}

/// Calls `sink(part, chunk_index, bytes)` for every chunk of `series`, reusing one buffer.
pub(crate) fn for_each_series_chunk<E>(
    series: &Series,
    mut sink: impl FnMut(SeriesPart, usize, &[u8]) -> Result<(), E>,
) -> Result<(), E> {
    let mut buf = Vec::with_capacity(CHUNK_ROWS * 8);
    for (index, chunk) in series.timestamps().chunks(CHUNK_ROWS).enumerate() {
        buf.clear();
        buf.extend(chunk.iter().flat_map(|t| t.0.to_le_bytes()));
        sink(SeriesPart::Timestamps, index, &buf)?;
    }
    for (column_index, column) in series.columns().iter().enumerate() {
        for (index, chunk) in column.values.chunks(CHUNK_ROWS).enumerate() {
            encode_f64(chunk, &mut buf);
            sink(SeriesPart::Values(column_index), index, &buf)?;
        }
    }
    if let Some(labels) = series.labels() {
        for (index, chunk) in labels.chunks(CHUNK_ROWS).enumerate() {
            encode_bool(chunk, &mut buf);
            sink(SeriesPart::Labels, index, &buf)?;
        }
    }
    Ok(())
}

/// Calls `sink(part, chunk_index, bytes)` for every chunk of a run's scores and predictions.
pub(crate) fn for_each_run_chunk<E>(
    scores: &[f64],
    predicted: &[bool],
    mut sink: impl FnMut(RunPart, usize, &[u8]) -> Result<(), E>,
) -> Result<(), E> {
    let mut buf = Vec::with_capacity(CHUNK_ROWS * 8);
    for (index, chunk) in scores.chunks(CHUNK_ROWS).enumerate() {
        encode_f64(chunk, &mut buf);
        sink(RunPart::Scores, index, &buf)?;
    }
    for (index, chunk) in predicted.chunks(CHUNK_ROWS).enumerate() {
        encode_bool(chunk, &mut buf);
        sink(RunPart::Predicted, index, &buf)?;
    }
    Ok(())
}

fn encode_f64(values: &[f64], buf: &mut Vec<u8>) {
    buf.clear();
    buf.extend(values.iter().flat_map(|v| v.to_le_bytes()));
}

fn encode_bool(flags: &[bool], buf: &mut Vec<u8>) {
    buf.clear();
    buf.extend(flags.iter().map(|&b| u8::from(b)));
}

/// Decodes fixed-width little-endian items, appending to `out`.
fn decode_into<const N: usize, T>(
    bytes: &[u8],
    out: &mut Vec<T>,
    item: impl Fn([u8; N]) -> T,
) -> Result<(), String> {
    let (items, rest) = bytes.as_chunks::<N>();
    if !rest.is_empty() {
        return Err(format!(
            "a chunk of {} bytes is not a whole number of {N}-byte items",
            bytes.len()
        ));
    }
    out.extend(items.iter().map(|b| item(*b)));
    Ok(())
}

fn decode_flags(bytes: &[u8], out: &mut Vec<bool>) -> Result<(), String> {
    if let Some(bad) = bytes.iter().find(|&&b| b > 1) {
        return Err(format!("a flag byte is {bad}, expected 0 or 1"));
    }
    out.extend(bytes.iter().map(|&b| b == 1));
    Ok(())
}

/// One per-row vector being reassembled from its chunks, which must arrive in order.
#[derive(Debug)]
struct Track<T> {
    what: &'static str,
    items: Vec<T>,
    next_chunk: usize,
}

impl<T> Track<T> {
    fn new(what: &'static str, rows: usize) -> Self {
        Self {
            what,
            items: Vec::with_capacity(rows),
            next_chunk: 0,
        }
    }

    fn expect_chunk(&mut self, chunk: i64) -> Result<(), String> {
        if usize::try_from(chunk).ok() != Some(self.next_chunk) {
            return Err(format!(
                "{}: found chunk {chunk} where chunk {} was expected",
                self.what, self.next_chunk
            ));
        }
        self.next_chunk += 1;
        Ok(())
    }

    fn finish(self, rows: usize) -> Result<Vec<T>, String> {
        if self.items.len() == rows {
            Ok(self.items)
        } else {
            Err(format!(
                "{}: {} items stored but the record says {rows} rows",
                self.what,
                self.items.len()
            ))
        }
    }
}

/// Rebuilds a [`Series`] from chunks delivered in (part, chunk index) order.
#[derive(Debug)]
pub(crate) struct SeriesAssembler {
    rows: usize,
    timestamps: Track<Timestamp>,
    columns: Vec<Track<f64>>,
    labels: Option<Track<bool>>,
}

impl SeriesAssembler {
    /// Expects `rows` rows, `columns` value columns, and labels when `has_labels`.
    pub(crate) fn new(rows: usize, columns: usize, has_labels: bool) -> Self {
        Self {
            rows,
            timestamps: Track::new("timestamps", rows),
            columns: (0..columns).map(|_| Track::new("values", rows)).collect(),
            labels: has_labels.then(|| Track::new("labels", rows)),
        }
    }

    /// Adds one chunk's bytes.
    pub(crate) fn push(
        &mut self,
        part: SeriesPart,
        chunk: i64,
        bytes: &[u8],
    ) -> Result<(), String> {
        match part {
            SeriesPart::Timestamps => {
                let track = &mut self.timestamps;
                track.expect_chunk(chunk)?;
                decode_into(bytes, &mut track.items, |b| {
                    Timestamp(i64::from_le_bytes(b))
                })
            }
            SeriesPart::Values(column) => {
                let count = self.columns.len();
                let track = self.columns.get_mut(column).ok_or_else(|| {
                    format!("a chunk for value column {column} but the dataset has {count}")
                })?;
                track.expect_chunk(chunk)?;
                decode_into(bytes, &mut track.items, f64::from_le_bytes)
            }
            SeriesPart::Labels => {
                let track = self
                    .labels
                    .as_mut()
                    .ok_or("a label chunk but the dataset has no labels")?;
                track.expect_chunk(chunk)?;
                decode_flags(bytes, &mut track.items)
            }
        }
    }

    /// Checks every length and builds the series with the given column names.
    pub(crate) fn finish(self, names: &[String]) -> Result<Series, String> {
        if names.len() != self.columns.len() {
            return Err(format!(
                "{} column names for {} columns",
                names.len(),
                self.columns.len()
            ));
        }
        let rows = self.rows;
        let timestamps = self.timestamps.finish(rows)?;
        let columns = self
            .columns
            .into_iter()
            .zip(names)
            .map(|(track, name)| Ok(Column::new(name.clone(), track.finish(rows)?)))
            .collect::<Result<Vec<_>, String>>()?;
        let labels = self.labels.map(|t| t.finish(rows)).transpose()?;
        Series::new(timestamps, columns, labels).map_err(|e| e.to_string())
    }
}

/// Rebuilds a run's scores and predictions from chunks delivered in (part, chunk) order.
#[derive(Debug)]
pub(crate) struct RunAssembler {
    rows: usize,
    scores: Track<f64>,
    predicted: Track<bool>,
}

impl RunAssembler {
    /// Expects `rows` scores and as many predictions.
    pub(crate) fn new(rows: usize) -> Self {
        Self {
            rows,
            scores: Track::new("scores", rows),
            predicted: Track::new("predictions", rows),
        }
    }

    /// Adds one chunk's bytes.
    pub(crate) fn push(&mut self, part: RunPart, chunk: i64, bytes: &[u8]) -> Result<(), String> {
        match part {
            RunPart::Scores => {
                self.scores.expect_chunk(chunk)?;
                decode_into(bytes, &mut self.scores.items, f64::from_le_bytes)
            }
            RunPart::Predicted => {
                self.predicted.expect_chunk(chunk)?;
                decode_flags(bytes, &mut self.predicted.items)
            }
        }
    }

    /// Checks both lengths; returns (scores, predicted).
    pub(crate) fn finish(self) -> Result<(Vec<f64>, Vec<bool>), String> {
        Ok((
            self.scores.finish(self.rows)?,
            self.predicted.finish(self.rows)?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(rows: usize) -> Series {
        let ts = (0..rows as i64).map(|i| Timestamp(i * 7 - 3)).collect();
        let a = (0..rows).map(|i| i as f64 * 0.5).collect();
        let b = (0..rows)
            .map(|i| if i % 3 == 0 { f64::NAN } else { -(i as f64) })
            .collect();
        let labels = (0..rows).map(|i| i % 5 == 0).collect();
        Series::new(
            ts,
            vec![Column::new("a", a), Column::new("b", b)],
            Some(labels),
        )
        .unwrap()
    }

    fn round_trip(s: &Series) -> Result<Series, String> {
        let mut asm = SeriesAssembler::new(s.len(), s.columns().len(), s.labels().is_some());
        for_each_series_chunk(s, |part, i, bytes| asm.push(part, i as i64, bytes))?;
        asm.finish(&s.column_names())
    }

    #[test]
    fn round_trips_across_chunk_boundaries() {
        for rows in [0, 1, CHUNK_ROWS - 1, CHUNK_ROWS, CHUNK_ROWS + 1] {
            let s = series(rows);
            let back = round_trip(&s).unwrap();
            assert_eq!(back.timestamps(), s.timestamps(), "rows {rows}");
            assert_eq!(back.labels(), s.labels(), "rows {rows}");
            for (x, y) in back.columns().iter().zip(s.columns()) {
                let xb: Vec<u64> = x.values.iter().map(|v| v.to_bits()).collect();
                let yb: Vec<u64> = y.values.iter().map(|v| v.to_bits()).collect();
                assert_eq!(xb, yb, "rows {rows}");
            }
        }
    }

    #[test]
    fn rejects_damaged_chunks() {
        let mut asm = SeriesAssembler::new(2, 1, false);
        assert!(
            asm.push(SeriesPart::Timestamps, 0, &[0; 15]).is_err(),
            "odd length"
        );
        let mut asm = SeriesAssembler::new(2, 1, false);
        assert!(
            asm.push(SeriesPart::Timestamps, 1, &[0; 16]).is_err(),
            "skipped chunk"
        );
        let mut asm = SeriesAssembler::new(2, 1, false);
        assert!(
            asm.push(SeriesPart::Values(1), 0, &[0; 16]).is_err(),
            "unknown column"
        );
        assert!(
            asm.push(SeriesPart::Labels, 0, &[0; 2]).is_err(),
            "unexpected labels"
        );
        let mut asm = SeriesAssembler::new(2, 1, true);
        assert!(
            asm.push(SeriesPart::Labels, 0, &[0, 2]).is_err(),
            "bad flag byte"
        );
        let mut asm = SeriesAssembler::new(2, 1, false);
        asm.push(SeriesPart::Timestamps, 0, &[0; 16]).unwrap();
        asm.push(SeriesPart::Values(0), 0, &[0; 8]).unwrap();
        let err = asm.finish(&["a".to_owned()]).unwrap_err();
        assert!(
            err.contains("1 items stored but the record says 2 rows"),
            "{err}"
        );
    }

    #[test]
    fn run_vectors_round_trip_and_check_lengths() {
        let scores = [f64::NAN, 1.5, -0.0];
        let predicted = [false, true, false];
        let mut asm = RunAssembler::new(3);
        for_each_run_chunk(&scores, &predicted, |p, i, b| asm.push(p, i as i64, b)).unwrap();
        let (s, p) = asm.finish().unwrap();
        assert_eq!(
            s.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            scores.map(f64::to_bits)
        );
        assert_eq!(p, predicted);
        let mut asm = RunAssembler::new(4);
        for_each_run_chunk(&scores, &predicted, |p, i, b| asm.push(p, i as i64, b)).unwrap();
        assert!(asm.finish().is_err(), "row count mismatch must be caught");
    }
}
