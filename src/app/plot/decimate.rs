//! Min/max decimation: reduce the rows of one column inside an x-range to at most two points
//! per bucket (one bucket ≈ one pixel column), so a million-row series draws as a few thousand
//! points and still shows every spike.
//!
//! Owns the pure algorithm and its cache key; no egui state, so it is unit-tested directly and
//! timed by `benches/ui_frame.rs`.
//!
//! # The NaN contract (as in rerun's `aggregation.rs`)
//! - A bucket with at least one finite value emits its min and max (in row order), ignoring
//!   NaN and infinities inside it.
//! - A bucket whose rows are *all* non-finite emits a break: the line stops before it and
//!   restarts after it. Undecimated ranges break at every non-finite row.
//! - Buckets with no rows (a gap in sampling) emit nothing: the line joins across the gap.

use std::ops::Range;

use egui_plot::PlotPoint;

use super::pyramid::MinMaxPyramid;

/// Buckets are aligned to multiples of their width (in x units) so that panning does not move
/// bucket edges (which would make spikes shimmer) and a cached result stays valid while the
/// view moves inside it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BucketGrid {
    /// Width of one bucket in x units, as `f64` bits (exact comparison for cache keys).
    width_bits: u64,
    /// Index of the first bucket: it starts at `first * width`.
    pub first: i64,
    /// Index one past the last bucket.
    pub end: i64,
}

impl BucketGrid {
    /// The grid covering `[x0, x1]` with `pixels` buckets, its width rounded down to a quarter
    /// power of two (so small zoom steps reuse the same grid), extended by half the visible
    /// span on both sides (so panning reuses the cache) and clipped to the data's `[lo, hi]`.
    /// `None` when the range or the pixel count is degenerate.
    pub fn for_view(x0: f64, x1: f64, pixels: f32, data: (f64, f64)) -> Option<Self> {
        let raw = (x1 - x0) / f64::from(pixels.max(1.0));
        if !(raw.is_finite() && raw > 0.0) {
            return None;
        }
        let width = (raw.log2() * 4.0).floor() / 4.0;
        let width = width.exp2();
        let (v0, v1) = Self::visible_buckets(x0, x1, width);
        let margin = (v1 - v0) / 2;
        let (d0, d1) = Self::visible_buckets(data.0, data.1, width);
        let first = (v0 - margin).max(d0.saturating_sub(1));
        let end = (v1 + margin).min(d1.saturating_add(1)).max(first + 1);
        Some(Self {
            width_bits: width.to_bits(),
            first,
            end,
        })
    }

    /// Bucket width in x units.
    pub fn width(&self) -> f64 {
        f64::from_bits(self.width_bits)
    }

    /// Number of buckets.
    pub fn len(&self) -> usize {
        (self.end - self.first).max(0) as usize
    }

    /// Always false: a grid has at least one bucket.
    pub fn is_empty(&self) -> bool {
        self.end <= self.first
    }

    /// True when `self` was built for the same zoom level as `other` and covers every bucket
    /// of `other` that holds data, so its points can be drawn in place of `other`'s.
    pub fn covers(&self, other: &Self) -> bool {
        self.width_bits == other.width_bits && self.first <= other.first && other.end <= self.end
    }

    /// The grid that a view needs at minimum (no margin), for checking a cached grid.
    pub fn needed(x0: f64, x1: f64, pixels: f32, data: (f64, f64)) -> Option<Self> {
        let grid = Self::for_view(x0, x1, pixels, data)?;
        let width = grid.width();
        let (v0, v1) = Self::visible_buckets(x0, x1, width);
        let (d0, d1) = Self::visible_buckets(data.0, data.1, width);
        let first = v0.max(d0.saturating_sub(1));
        let end = v1.min(d1.saturating_add(1)).max(first + 1);
        Some(Self { first, end, ..grid })
    }

    fn visible_buckets(x0: f64, x1: f64, width: f64) -> (i64, i64) {
        // `as` saturates for huge values, which only widens the range; it never panics.
        ((x0 / width).floor() as i64, (x1 / width).ceil() as i64 + 1)
    }
}

/// The decimated points of one column over one [`BucketGrid`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Decimated {
    /// Points in row order; never NaN (breaks are kept in `runs`).
    pub points: Vec<PlotPoint>,
    /// Contiguous runs of `points` to draw as one line each.
    pub runs: Vec<Range<usize>>,
    /// True when every row of the range was kept (few rows per pixel).
    pub exact: bool,
}

impl Decimated {
    /// Smallest and largest y over the points whose x lies in `[x0, x1]`, if any.
    pub fn y_range(&self, x0: f64, x1: f64) -> Option<(f64, f64)> {
        let start = self.points.partition_point(|p| p.x < x0);
        let end = self.points.partition_point(|p| p.x <= x1);
        self.points[start..end.max(start)]
            .iter()
            .fold(None, |acc, p| match acc {
                None => Some((p.y, p.y)),
                Some((lo, hi)) => Some((p.y.min(lo), p.y.max(hi))),
            })
    }
}

/// Decimates `values` (one per `x`, `x` non-decreasing) over `grid`: at most two points per
/// bucket, plus the nearest row on each side of the grid so lines reach the plot's edges.
/// When the range holds at most four rows per bucket, every row is kept instead.
///
/// Scans every row in the grid's range: O(rows). [`decimate_with`] gives the same points in
/// O(buckets · log rows) from a [`MinMaxPyramid`].
pub fn decimate(x: &[f64], values: &[f64], grid: &BucketGrid) -> Decimated {
    decimate_with(x, values, grid, None)
}

/// [`decimate`], answering each bucket's min/max from `pyramid` (built from `values`) when
/// given: the bucket edges are found by binary search on `x`, so the cost no longer grows with
/// the rows in view. The points are identical to [`decimate`]'s.
pub fn decimate_with(
    x: &[f64],
    values: &[f64],
    grid: &BucketGrid,
    pyramid: Option<&MinMaxPyramid>,
) -> Decimated {
    let n = x.len().min(values.len());
    let (x, values) = (&x[..n], &values[..n]);
    let width = grid.width();
    let x0 = grid.first as f64 * width;
    let x1 = grid.end as f64 * width;
    let lo = x.partition_point(|&v| v < x0).saturating_sub(1);
    let hi = (x.partition_point(|&v| v <= x1) + 1).min(n);
    let mut out = Builder::with_capacity((hi - lo).min(grid.len() * 2 + 4));
    if hi <= lo {
        return out.finish(true);
    }
    if hi - lo <= grid.len().saturating_mul(4) {
        for i in lo..hi {
            out.push(x[i], values[i]);
        }
        return out.finish(true);
    }
    let bucket_of = |v: f64| ((v - x0) / width).floor() as i64;
    if let Some(pyramid) = pyramid.filter(|p| p.rows() == values.len()) {
        let mut row = lo;
        let mut hint = 1;
        while row < hi {
            let b = bucket_of(x[row]);
            let end = next_edge(x, row, hi, hint, |v| bucket_of(v) <= b);
            pyramid.min_max(values, row..end).flush(x, &mut out);
            hint = end - row;
            row = end;
        }
        return out.finish(false);
    }
    let mut bucket = MinMax::default();
    let mut index = i64::MIN;
    for i in lo..hi {
        let b = bucket_of(x[i]);
        if b != index || bucket.rows == 0 {
            bucket.flush(x, &mut out);
            bucket = MinMax::default();
            index = b;
        }
        bucket.add(i, values[i]);
    }
    bucket.flush(x, &mut out);
    out.finish(false)
}

/// The first index in `row + 1..hi` where `inside` turns false (`hi` if never), `inside` being
/// monotone and true at `row`. Probes first at `row + hint` (`hint` being the previous
/// bucket's length: on evenly sampled data the edge is there or one row off) and gallops
/// outwards from that guess, forwards or backwards, before bisecting. The probes stay within
/// a cache line or two of the edge: a plain binary search over a 10M-row column touches a new
/// page per probe, and at four columns × a thousand buckets those misses were most of a
/// zoomed-out frame.
fn next_edge(x: &[f64], row: usize, hi: usize, hint: usize, inside: impl Fn(f64) -> bool) -> usize {
    let first = row + 1;
    if first >= hi {
        return hi;
    }
    let guess = row.saturating_add(hint.max(1)).min(hi);
    if guess < hi && inside(x[guess]) {
        // The edge lies after the guess.
        let mut lo = guess + 1;
        let mut step = 1usize;
        loop {
            let probe = guess.saturating_add(step);
            if probe >= hi {
                return lo + x[lo..hi].partition_point(|&v| inside(v));
            }
            if !inside(x[probe]) {
                return lo + x[lo..probe].partition_point(|&v| inside(v));
            }
            lo = probe + 1;
            step = step.saturating_mul(2);
        }
    }
    // The edge lies at or before the guess: every index from `upper` on is outside.
    let mut upper = guess;
    let mut step = 1usize;
    loop {
        let probe = guess.saturating_sub(step);
        if probe < first {
            return first + x[first..upper].partition_point(|&v| inside(v));
        }
        if inside(x[probe]) {
            return probe + 1 + x[probe + 1..upper].partition_point(|&v| inside(v));
        }
        upper = probe;
        step = step.saturating_mul(2);
    }
}

/// Min/max of a run of rows: the first row holding the smallest and the largest finite value.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MinMax {
    /// Rows looked at (finite or not).
    pub rows: usize,
    /// Row and value of the smallest finite value (first such row on ties).
    pub min: Option<(usize, f64)>,
    /// Row and value of the largest finite value (first such row on ties).
    pub max: Option<(usize, f64)>,
}

impl MinMax {
    /// Min/max of `values[rows]` by a sequential scan.
    pub fn scan(values: &[f64], rows: Range<usize>) -> Self {
        let mut m = Self::default();
        for i in rows {
            m.add(i, values[i]);
        }
        m
    }

    /// Adds row `row` holding `value` (rows must come in increasing order).
    pub fn add(&mut self, row: usize, value: f64) {
        self.rows += 1;
        if !value.is_finite() {
            return;
        }
        if self.min.is_none_or(|(_, m)| value < m) {
            self.min = Some((row, value));
        }
        if self.max.is_none_or(|(_, m)| value > m) {
            self.max = Some((row, value));
        }
    }

    /// Merges the min/max of rows that all come after `self`'s (earlier rows win ties).
    pub fn merge_later(&mut self, later: &Self) {
        self.rows += later.rows;
        if let Some((row, value)) = later.min
            && self.min.is_none_or(|(_, m)| value < m)
        {
            self.min = Some((row, value));
        }
        if let Some((row, value)) = later.max
            && self.max.is_none_or(|(_, m)| value > m)
        {
            self.max = Some((row, value));
        }
    }

    fn flush(&self, x: &[f64], out: &mut Builder) {
        if self.rows == 0 {
            return;
        }
        match (self.min, self.max) {
            (Some((imin, vmin)), Some((imax, vmax))) => {
                let (a, b) = if imin <= imax {
                    ((imin, vmin), (imax, vmax))
                } else {
                    ((imax, vmax), (imin, vmin))
                };
                out.push(x[a.0], a.1);
                if a.0 != b.0 {
                    out.push(x[b.0], b.1);
                }
            }
            _ => out.push(f64::NAN, f64::NAN),
        }
    }
}

/// Collects points and splits them into runs at non-finite values.
struct Builder {
    points: Vec<PlotPoint>,
    runs: Vec<Range<usize>>,
    run_start: usize,
}

impl Builder {
    fn with_capacity(capacity: usize) -> Self {
        Self {
            points: Vec::with_capacity(capacity),
            runs: Vec::new(),
            run_start: 0,
        }
    }

    fn push(&mut self, x: f64, y: f64) {
        if y.is_finite() && x.is_finite() {
            self.points.push(PlotPoint::new(x, y));
        } else {
            self.close_run();
        }
    }

    fn close_run(&mut self) {
        if self.points.len() > self.run_start {
            self.runs.push(self.run_start..self.points.len());
        }
        self.run_start = self.points.len();
    }

    fn finish(mut self, exact: bool) -> Decimated {
        self.close_run();
        Decimated {
            points: self.points,
            runs: self.runs,
            exact,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(x0: f64, x1: f64, pixels: f32) -> BucketGrid {
        BucketGrid::for_view(x0, x1, pixels, (x0, x1)).unwrap()
    }

    #[test]
    fn small_ranges_keep_every_row_and_break_at_nan() {
        let x = [0.0, 1.0, 2.0, 3.0, 4.0];
        let y = [1.0, f64::NAN, 3.0, 4.0, f64::INFINITY];
        let d = decimate(&x, &y, &grid(0.0, 4.0, 100.0));
        assert!(d.exact);
        assert_eq!(d.points.len(), 3);
        assert_eq!(d.runs, vec![0..1, 1..3]);
    }

    #[test]
    fn a_million_rows_become_about_two_points_per_pixel_and_keep_the_spike() {
        let n = 1_000_000;
        let x: Vec<f64> = (0..n).map(f64::from).collect();
        let mut y: Vec<f64> = (0..n).map(|i| (f64::from(i) / 500.0).sin()).collect();
        y[654_321] = 50.0;
        y[123_456] = -50.0;
        let d = decimate(&x, &y, &grid(0.0, f64::from(n - 1), 1000.0));
        assert!(!d.exact);
        assert!(
            d.points.len() <= 2 * 1000 * 2 + 4,
            "{} points",
            d.points.len()
        );
        assert!(d.points.len() >= 1000, "{} points", d.points.len());
        let (lo, hi) = d.y_range(0.0, f64::from(n)).unwrap();
        assert!((hi - 50.0).abs() < f64::EPSILON && (lo + 50.0).abs() < f64::EPSILON);
        assert_eq!(d.runs.len(), 1);
        assert!(
            d.points.windows(2).all(|w| w[0].x <= w[1].x),
            "x order kept"
        );
    }

    #[test]
    fn an_all_nan_bucket_breaks_the_line_but_a_sampling_gap_does_not() {
        let n = 100_000;
        let mut x: Vec<f64> = (0..n).map(f64::from).collect();
        let mut y = vec![1.0; n as usize];
        for v in &mut y[40_000..45_000] {
            *v = f64::NAN;
        }
        // A gap in time with no rows at all.
        for v in &mut x[70_000..] {
            *v += 10_000.0;
        }
        let last = x[x.len() - 1];
        let d = decimate(&x, &y, &grid(0.0, last, 200.0));
        assert_eq!(d.runs.len(), 2, "one break for the NaN stretch only");
    }

    #[test]
    fn panning_inside_the_margin_reuses_the_grid() {
        let data = (0.0, 1e6);
        let cached = BucketGrid::for_view(1000.0, 2000.0, 500.0, data).unwrap();
        let moved = BucketGrid::needed(1200.0, 2200.0, 500.0, data).unwrap();
        assert!(cached.covers(&moved));
        let zoomed = BucketGrid::needed(1000.0, 1500.0, 500.0, data).unwrap();
        assert!(!cached.covers(&zoomed), "a zoom changes the bucket width");
        assert!(BucketGrid::for_view(1.0, 1.0, 500.0, data).is_none());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(150))]
        /// The pyramid path draws exactly what the scan draws, for random data (ties, NaN,
        /// infinities, uneven steps), random views and random pixel counts.
        #[test]
        fn pyramid_decimation_equals_direct_decimation(
            n in 2usize..30_000,
            seed in 0u64..500,
            a in 0.0f64..1.0,
            b in 0.0f64..1.0,
            pixels in 5.0f32..2_000.0,
        ) {
            let mut x = Vec::with_capacity(n);
            let mut t = 1.7e9;
            for i in 0..n {
                // Steps of 1 s with occasional repeats and gaps.
                t += match i % 97 { 0 => 0.0, 50 => 300.0, _ => 1.0 };
                x.push(t);
            }
            let mut y = crate::testing::seasonal_values(n, 61, 0.3, seed);
            for (i, v) in y.iter_mut().enumerate() {
                if i % 7 == 0 { *v = 0.5; }
                if (i / 40) % 23 == 5 { *v = f64::NAN; }
                if i % 501 == 3 { *v = f64::NEG_INFINITY; }
            }
            let span = x[n - 1] - x[0];
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            let view = (x[0] + lo * span, x[0] + hi * span + 1.0);
            let pyramid = MinMaxPyramid::build(&y).unwrap();
            if let Some(g) = BucketGrid::for_view(view.0, view.1, pixels, (x[0], x[n - 1])) {
                let direct = decimate(&x, &y, &g);
                let fast = decimate_with(&x, &y, &g, Some(&pyramid));
                proptest::prop_assert_eq!(direct, fast);
            }
        }
    }

    #[test]
    fn edge_search_finds_the_first_outside_row_from_any_guess() {
        let x: Vec<f64> = (0..500).map(|i| f64::from(i / 3)).collect();
        for row in (0..500).step_by(7) {
            for hint in [0, 1, 2, 5, 40, 1000] {
                for cut in [x[row] + 0.5, x[row] + 10.5, 1e9] {
                    for hi in [row + 1, 250.max(row + 1), 500] {
                        let hi = hi.min(500);
                        let want = row + 1 + x[row + 1..hi].partition_point(|&v| v < cut);
                        assert_eq!(
                            next_edge(&x, row, hi, hint, |v| v < cut),
                            want,
                            "row {row} hint {hint} cut {cut} hi {hi}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn y_range_only_looks_at_the_visible_points() {
        let x: Vec<f64> = (0..10).map(f64::from).collect();
        let y: Vec<f64> = (0..10).map(f64::from).collect();
        let d = decimate(&x, &y, &grid(0.0, 9.0, 100.0));
        assert_eq!(d.y_range(2.0, 4.0), Some((2.0, 4.0)));
        assert_eq!(d.y_range(20.0, 30.0), None);
    }
}
