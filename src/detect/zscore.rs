//! Rolling z-score: how many standard deviations a value lies from the mean of the previous
//! `window` values of its column. Cheap, streaming, catches spikes and abrupt level changes;
//! blind to anomalies that keep the local mean and spread.

use super::columns::{COMBINE_MAX, Combine, Univariate};
use super::registry::DetectorEntry;
use super::{CANCEL_CHECK_ROWS, DetailedScores, DetectError, Detector, DetectorInfo, Family};
use crate::control::CancelToken;
use crate::model::{ParamKind, ParamSpec, Params, Row, Series, Timestamp};

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "window",
        kind: ParamKind::Int {
            min: 2,
            max: 1_000_000,
            default: 100,
        },
        help: "Number of previous values the mean and standard deviation are taken over.",
    },
    COMBINE_MAX,
];

static INFO: DetectorInfo = DetectorInfo {
    id: "rolling_zscore",
    name: "Rolling z-score",
    family: Family::Statistical,
    multivariate: false,
    streaming: true,
    description: "|x - mean| / std over the previous `window` values of each column. \
                  Catches spikes and abrupt shifts; fast and fully online.",
    params: PARAMS,
};

/// Registry entry.
pub(super) const ENTRY: DetectorEntry = DetectorEntry { info: &INFO, build };

fn build(params: &Params, _seed: u64) -> Result<Box<dyn Detector>, DetectError> {
    Ok(Box::new(RollingZScore::from_window(
        params.usize("window"),
        Combine::from_param(params.text("combine")),
    )))
}

/// Values per block of the batch kernel (two passes over a block that stays in L1).
const BLOCK: usize = 256;

/// Rolling z-score detector (see module docs): [`ZScoreColumn`] on every column, combined by
/// max (default) or mean, as `columns::PerColumn` does, plus a direct batch path for one
/// column (no scratch column, no combine pass).
#[derive(Clone, Debug)]
pub struct RollingZScore {
    template: ZScoreColumn,
    combine: Combine,
    /// Column states; empty until `fit` or the first row.
    columns: Vec<ZScoreColumn>,
    /// True when `fit` fixed the width (so `reset` keeps it).
    fitted: bool,
    /// Per-column scores of the last row.
    last: Vec<f64>,
}

impl RollingZScore {
    /// A detector over the previous `window` values (at least 2).
    pub fn from_window(window: usize, combine: Combine) -> Self {
        Self {
            template: ZScoreColumn::new(window),
            combine,
            columns: Vec::new(),
            fitted: false,
            last: Vec::new(),
        }
    }

    fn width_error(&self, row: usize, got: usize) -> DetectError {
        DetectError::Input {
            detector: INFO.id,
            message: format!(
                "row {row} has {got} values, expected {}",
                self.columns.len()
            ),
        }
    }

    fn prepare(&mut self, width: usize, row: usize) -> Result<(), DetectError> {
        if self.columns.is_empty() {
            self.columns = vec![self.template.clone(); width];
            self.fitted = false;
        }
        if self.columns.len() == width {
            Ok(())
        } else {
            Err(self.width_error(row, width))
        }
    }

    /// Column-at-a-time batch pass: the same column updates as streaming, then the same fold.
    fn score_columns(
        &mut self,
        series: &Series,
        cancel: &CancelToken,
        keep_columns: bool,
    ) -> Result<DetailedScores, DetectError> {
        self.reset();
        let width = series.columns().len();
        self.prepare(width, 0)?;
        let n = series.len();
        let run = |state: &mut ZScoreColumn, values: &[f64], out: &mut [f64]| {
            for (index, (out, chunk)) in out
                .chunks_mut(CANCEL_CHECK_ROWS * 16)
                .zip(values.chunks(CANCEL_CHECK_ROWS * 16))
                .enumerate()
            {
                if index % 4 == 0 && cancel.is_cancelled() {
                    return Err(DetectError::Cancelled);
                }
                state.update_slice(chunk, out);
            }
            Ok(())
        };
        self.last = vec![f64::NAN; width];
        let mut per_column = Vec::with_capacity(if keep_columns { width } else { 0 });
        let acc = if let ([state], [column]) = (self.columns.as_mut_slice(), series.columns()) {
            // One column: the scores are the column's scores (`Combine::step` of column 0 of 1).
            let mut acc = vec![0.0; n];
            run(state, &column.values, &mut acc)?;
            if keep_columns {
                per_column.push(acc.clone());
            }
            acc
        } else {
            let mut acc = vec![f64::NAN; n];
            let mut scratch = vec![0.0; n];
            for (index, (state, column)) in
                self.columns.iter_mut().zip(series.columns()).enumerate()
            {
                run(state, &column.values, &mut scratch)?;
                for (a, &s) in acc.iter_mut().zip(&scratch) {
                    *a = self.combine.step(*a, s, index, width);
                }
                if keep_columns {
                    per_column.push(scratch.clone());
                }
            }
            acc
        };
        for (last, state) in self.last.iter_mut().zip(&self.columns) {
            *last = state.last;
        }
        if n == 0 {
            self.last.clear();
        }
        Ok(DetailedScores {
            scores: acc,
            columns: keep_columns.then_some(per_column),
        })
    }
}

impl Detector for RollingZScore {
    fn info(&self) -> &'static DetectorInfo {
        &INFO
    }

    fn fit(&mut self, train: &Series, cancel: &CancelToken) -> Result<(), DetectError> {
        if cancel.is_cancelled() {
            return Err(DetectError::Cancelled);
        }
        self.columns = vec![self.template.clone(); train.columns().len()];
        self.fitted = true;
        self.last.clear();
        Ok(())
    }

    fn reset(&mut self) {
        self.last.clear();
        if self.fitted {
            self.columns.iter_mut().for_each(ZScoreColumn::clear);
        } else {
            self.columns.clear();
        }
    }

    fn update(&mut self, row: Row<'_>) -> Result<f64, DetectError> {
        let width = row.values.len();
        self.prepare(width, row.index)?;
        self.last.resize(width, f64::NAN);
        let mut acc = f64::NAN;
        for (column, ((state, &x), last)) in self
            .columns
            .iter_mut()
            .zip(row.values)
            .zip(&mut self.last)
            .enumerate()
        {
            let score = state.update(x);
            *last = score;
            acc = self.combine.step(acc, score, column, width);
        }
        Ok(acc)
    }

    fn update_block(
        &mut self,
        first_row: usize,
        timestamps: &[Timestamp],
        columns: &[&[f64]],
        out: &mut Vec<f64>,
    ) -> Result<(), DetectError> {
        let [values] = columns else {
            return super::update_rows(self, first_row, timestamps, columns, out);
        };
        self.prepare(1, first_row)?;
        let start = out.len();
        out.resize(start + values.len(), f64::NAN);
        self.columns[0].update_slice(values, &mut out[start..]);
        if let Some(&score) = out.get(start..).and_then(<[f64]>::last) {
            self.last.clear();
            self.last.push(score);
        }
        Ok(())
    }

    fn score_series(
        &mut self,
        series: &Series,
        cancel: &CancelToken,
    ) -> Result<Vec<f64>, DetectError> {
        self.score_columns(series, cancel, false).map(|d| d.scores)
    }

    fn score_series_detailed(
        &mut self,
        series: &Series,
        cancel: &CancelToken,
    ) -> Result<DetailedScores, DetectError> {
        self.score_columns(series, cancel, true)
    }

    fn warm_up_rows(&self) -> Option<usize> {
        Some(self.template.window)
    }

    fn column_scores(&self) -> Option<&[f64]> {
        (!self.last.is_empty()).then_some(self.last.as_slice())
    }
}

/// Rolling statistics of one column. Sums are kept relative to a reference value (the first
/// value seen) so that large offsets do not destroy precision (the "shifted data" method), and
/// recomputed exactly every time the ring wraps (every `window` values), so rounding errors of
/// the running updates never accumulate (a huge value leaving the window cannot leave its
/// rounding residue in the variance).
#[derive(Clone, Debug, Default)]
pub struct ZScoreColumn {
    window: usize,
    /// `1 / window`.
    inv: f64,
    ring: Vec<f64>,
    next: usize,
    reference: Option<f64>,
    sum: f64,
    sum_sq: f64,
    /// Score of the last value (for attribution).
    last: f64,
}

/// The score of `shifted` against running sums of a full window: the one formula both paths
/// use, so they perform the same operations.
#[inline]
fn score_of(shifted: f64, sum: f64, sum_sq: f64, inv: f64, reference: f64) -> f64 {
    let mean = sum * inv;
    let variance = (sum_sq * inv - mean * mean).max(0.0);
    let floor = 1e-9 * ((mean + reference).abs() + 1.0);
    (shifted - mean).abs() / variance.sqrt().max(floor)
}

/// Exact sum and sum of squares of the ring, in a fixed order (four partial sums).
fn exact_sums(ring: &[f64]) -> (f64, f64) {
    let (mut s, mut q) = ([0.0; 4], [0.0; 4]);
    let mut quads = ring.chunks_exact(4);
    for quad in &mut quads {
        for k in 0..4 {
            s[k] += quad[k];
            q[k] += quad[k] * quad[k];
        }
    }
    let (mut sum, mut sum_sq) = ((s[0] + s[1]) + (s[2] + s[3]), (q[0] + q[1]) + (q[2] + q[3]));
    for &v in quads.remainder() {
        sum += v;
        sum_sq += v * v;
    }
    (sum, sum_sq)
}

impl ZScoreColumn {
    /// An empty state over the previous `window` values (at least 2).
    pub fn new(window: usize) -> Self {
        let window = window.max(2);
        Self {
            window,
            inv: 1.0 / window as f64,
            last: f64::NAN,
            ..Self::default()
        }
    }

    fn clear(&mut self) {
        *self = Self::new(self.window);
    }

    /// Pushes a shifted value into the full ring, updating (or, on wrap, recomputing) the sums.
    #[inline]
    fn push_full(&mut self, shifted: f64) {
        let old = std::mem::replace(&mut self.ring[self.next], shifted);
        self.next += 1;
        if self.next == self.window {
            self.next = 0;
            (self.sum, self.sum_sq) = exact_sums(&self.ring);
        } else {
            self.sum += shifted - old;
            self.sum_sq += shifted * shifted - old * old;
        }
    }

    /// Scores `x` against the window, then pushes it. NaN inputs are skipped (score NaN).
    #[inline]
    pub fn update(&mut self, x: f64) -> f64 {
        if !x.is_finite() {
            self.last = f64::NAN;
            return f64::NAN;
        }
        let reference = *self.reference.get_or_insert(x);
        let shifted = x - reference;
        let score = if self.ring.len() < self.window {
            self.ring.push(shifted);
            if self.ring.len() == self.window {
                (self.sum, self.sum_sq) = exact_sums(&self.ring);
            }
            f64::NAN
        } else {
            let score = score_of(shifted, self.sum, self.sum_sq, self.inv, reference);
            self.push_full(shifted);
            score
        };
        self.last = score;
        score
    }

    /// `out[i] = update(xs[i])` in order, bit for bit. Once the window is full, blocks of
    /// [`BLOCK`] values run in two passes: the running sums in order (the only sequential
    /// part), then the scores of the whole block (independent, vectorised: divisions and
    /// square roots two at a time).
    pub fn update_slice(&mut self, xs: &[f64], out: &mut [f64]) {
        let mut k = 0;
        while k < xs.len() && (self.ring.len() < self.window || self.reference.is_none()) {
            out[k] = self.update(xs[k]);
            k += 1;
        }
        let Some(reference) = self.reference else {
            return;
        };
        let inv = self.inv;
        let (mut sums, mut squares) = ([0.0; BLOCK], [0.0; BLOCK]);
        for (out, xs) in out[k..].chunks_mut(BLOCK).zip(xs[k..].chunks(BLOCK)) {
            for ((&x, sum), sum_sq) in xs.iter().zip(&mut sums).zip(&mut squares) {
                *sum = self.sum;
                *sum_sq = self.sum_sq;
                if x.is_finite() {
                    self.push_full(x - reference);
                }
            }
            for (((o, &x), &sum), &sum_sq) in out.iter_mut().zip(xs).zip(&sums).zip(&squares) {
                let score = score_of(x - reference, sum, sum_sq, inv, reference);
                *o = if x.is_finite() { score } else { f64::NAN };
            }
        }
        if let Some(&score) = out[..xs.len()].last() {
            self.last = score;
        }
    }
}

impl Univariate for ZScoreColumn {
    fn reset(&mut self) {
        self.clear();
    }

    fn update(&mut self, x: f64) -> f64 {
        ZScoreColumn::update(self, x)
    }

    fn update_slice(&mut self, xs: &[f64], out: &mut [f64]) {
        ZScoreColumn::update_slice(self, xs, out);
    }

    fn warm_up_rows(&self) -> usize {
        self.window
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::CancelToken;
    use crate::model::{Column, Series, Timestamp};
    use crate::testing::streamed;

    #[test]
    fn update_block_equals_update_row_by_row_in_uneven_blocks() {
        for width in [1, 2] {
            let n = 3000;
            let columns: Vec<Vec<f64>> = (0..width)
                .map(|c| {
                    (0..n)
                        .map(|i| match i {
                            700 | 701 => f64::NAN,
                            1500 => 1e12,
                            _ => ((i * (c + 3)) % 17) as f64 * 0.37,
                        })
                        .collect()
                })
                .collect();
            let timestamps: Vec<Timestamp> = (0..n as i64).map(Timestamp).collect();
            let mut by_row = RollingZScore::from_window(50, Combine::Max);
            let mut values = Vec::new();
            let expected: Vec<f64> = (0..n)
                .map(|i| {
                    values.clear();
                    values.extend(columns.iter().map(|c| c[i]));
                    by_row
                        .update(Row {
                            index: i,
                            ts: timestamps[i],
                            values: &values,
                        })
                        .unwrap()
                })
                .collect();
            let mut by_block = RollingZScore::from_window(50, Combine::Max);
            let mut got = Vec::new();
            let mut start = 0;
            for size in [1, 49, 2, 256, 300, 1000, 1392] {
                let end = start + size;
                let slices: Vec<&[f64]> = columns.iter().map(|c| &c[start..end]).collect();
                by_block
                    .update_block(start, &timestamps[start..end], &slices, &mut got)
                    .unwrap();
                let block_last: Option<Vec<u64>> = by_block
                    .column_scores()
                    .map(|l| l.iter().map(|x| x.to_bits()).collect());
                assert_eq!(block_last, by_row_last(&columns, end, width), "after {end}");
                start = end;
            }
            assert_eq!(start, n);
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&got), bits(&expected), "width {width}");
        }
    }

    /// The bits of the per-column scores a row-by-row detector reports after `end` rows.
    fn by_row_last(columns: &[Vec<f64>], end: usize, width: usize) -> Option<Vec<u64>> {
        let mut detector = RollingZScore::from_window(50, Combine::Max);
        let mut values = Vec::new();
        for i in 0..end {
            values.clear();
            values.extend(columns.iter().map(|c| c[i]));
            detector
                .update(Row {
                    index: i,
                    ts: Timestamp(i as i64),
                    values: &values,
                })
                .unwrap();
        }
        let last = detector.column_scores()?;
        assert_eq!(last.len(), width);
        Some(last.iter().map(|x| x.to_bits()).collect())
    }

    #[test]
    fn warm_up_is_nan_then_finite() {
        let series = Series::from_values("v", (0..50).map(|i| f64::from(i % 7)).collect());
        let scores = RollingZScore::from_window(10, Combine::Max)
            .score_series(&series, &CancelToken::new())
            .unwrap();
        assert!(scores[..10].iter().all(|s| s.is_nan()));
        assert!(scores[10..].iter().all(|s| s.is_finite()));
    }

    #[test]
    fn known_value() {
        // Window [1, 2, 3]: mean 2, population std sqrt(2/3); x = 4 → 2 / 0.8165 = 2.449.
        let series = Series::from_values("v", vec![1.0, 2.0, 3.0, 4.0]);
        let scores = RollingZScore::from_window(3, Combine::Max)
            .score_series(&series, &CancelToken::new())
            .unwrap();
        assert!((scores[3] - 2.0 / (2.0_f64 / 3.0).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn batch_equals_streaming_multivariate_with_nan() {
        let a: Vec<f64> = (0..500)
            .map(|i| (f64::from(i) * 0.1).sin() * 1e6 + 1e9)
            .collect();
        let mut b: Vec<f64> = (0..500).map(|i| f64::from(i % 13)).collect();
        b[200] = f64::NAN;
        let series = Series::new(
            (0..500).map(Timestamp).collect(),
            vec![Column::new("a", a), Column::new("b", b)],
            None,
        )
        .unwrap();
        for combine in [Combine::Max, Combine::Mean] {
            let mut det = RollingZScore::from_window(20, combine);
            let batch = det.score_series(&series, &CancelToken::new()).unwrap();
            let stream = streamed(&mut det, &series);
            assert_eq!(batch.len(), stream.len());
            for (x, y) in batch.iter().zip(&stream) {
                assert!(x.to_bits() == y.to_bits(), "{x} != {y}");
            }
        }
    }

    #[test]
    fn cancel_stops_batch() {
        let series = Series::from_values("v", vec![0.0; 100_000]);
        let cancel = CancelToken::new();
        cancel.cancel();
        assert!(matches!(
            RollingZScore::from_window(5, Combine::Max).score_series(&series, &cancel),
            Err(DetectError::Cancelled)
        ));
    }
    #[test]
    fn univariate_batch_equals_streaming_across_blocks_and_wraps() {
        // Long enough for many blocks and ring wraps; NaN and inf inside; a huge spike.
        let mut values: Vec<f64> = (0..5000)
            .map(|i| (f64::from(i) * 0.05).sin() * 3.0 + 1e6)
            .collect();
        values[700] = f64::NAN;
        values[1500] = f64::INFINITY;
        values[2000] = 1e15;
        let series = Series::from_values("v", values);
        for window in [2, 7, 100, 256, 300] {
            let mut det = RollingZScore::from_window(window, Combine::Max);
            let batch = det.score_series(&series, &CancelToken::new()).unwrap();
            let last = det.column_scores().unwrap().to_vec();
            let stream = streamed(&mut det, &series);
            assert_eq!(crate::testing::bits(&batch), crate::testing::bits(&stream));
            assert_eq!(last, det.column_scores().unwrap().to_vec());
            let detailed = det
                .score_series_detailed(&series, &CancelToken::new())
                .unwrap();
            assert_eq!(
                crate::testing::bits(&detailed.scores),
                crate::testing::bits(&batch)
            );
        }
    }

    #[test]
    fn a_huge_value_leaves_no_residue_after_it_leaves_the_window() {
        // Without the exact recompute, 1e12 squared leaves rounding residue of ~1e8 in the
        // running sum of squares, which would swamp a variance of ~1 forever.
        let mut values: Vec<f64> = (0..2000).map(|i| f64::from(i % 5)).collect();
        values[100] = 1e12;
        let series = Series::from_values("v", values.clone());
        let scores = RollingZScore::from_window(50, Combine::Max)
            .score_series(&series, &CancelToken::new())
            .unwrap();
        let clean = Series::from_values("v", (0..2000).map(|i| f64::from(i % 5)).collect());
        let reference = RollingZScore::from_window(50, Combine::Max)
            .score_series(&clean, &CancelToken::new())
            .unwrap();
        for i in 300..2000 {
            assert!((scores[i] - reference[i]).abs() < 1e-6, "row {i}");
        }
    }

    #[test]
    fn width_is_checked() {
        let mut det = RollingZScore::from_window(5, Combine::Max);
        det.fit(
            &Series::from_values("v", vec![1.0; 10]),
            &CancelToken::new(),
        )
        .unwrap();
        let row = crate::model::Row {
            index: 3,
            ts: Timestamp(0),
            values: &[1.0, 2.0],
        };
        assert!(det.update(row).is_err());
    }
}
