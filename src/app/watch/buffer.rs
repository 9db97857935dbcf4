//! Live data that grows every frame: [`LiveBuffer`] (one series kept at full resolution plus
//! an appendable min/max pyramid, so drawing any view costs a bounded number of points) and
//! [`Runs`] (maximal runs of `true` in a flag stream, extended incrementally).
//!
//! Both cost amortised O(new rows) per append: the pyramid's level 0 summarises 16 rows per
//! cell, each higher level pairs two cells of the level below, and only complete cells are
//! ever built. A view of `r` rows drawn on `b` buckets reads about `b` cells of the level
//! whose cells are just below `r / b` rows, plus at most one cell per lower level and fewer
//! than 16 raw rows at the growing end.

use std::ops::Range;

/// Rows summarised by one cell of level 0 (as a power of two).
const BASE_SHIFT: u32 = 4;
/// Rows per level-0 cell.
const BASE: usize = 1 << BASE_SHIFT;

/// The smallest and largest finite value of a run of rows, with their rows.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Cell {
    min: f64,
    max: f64,
    imin: u32,
    imax: u32,
}

impl Cell {
    /// A cell with no finite value.
    const EMPTY: Self = Self {
        min: f64::INFINITY,
        max: f64::NEG_INFINITY,
        imin: u32::MAX,
        imax: u32::MAX,
    };

    fn is_empty(&self) -> bool {
        self.imin == u32::MAX
    }

    /// Min/max of `values[rows]` (first row wins ties).
    fn scan(values: &[f64], rows: Range<usize>) -> Self {
        let mut cell = Self::EMPTY;
        for i in rows {
            let v = values[i];
            if !v.is_finite() {
                continue;
            }
            let row = u32::try_from(i).unwrap_or(u32::MAX - 1);
            if v < cell.min {
                cell.min = v;
                cell.imin = row;
            }
            if v > cell.max {
                cell.max = v;
                cell.imax = row;
            }
        }
        cell
    }

    /// Merges with a cell of later rows (earlier rows win ties).
    fn merge_later(self, later: Self) -> Self {
        let mut out = self;
        if !later.is_empty() {
            if later.min < out.min {
                out.min = later.min;
                out.imin = later.imin;
            }
            if later.max > out.max {
                out.max = later.max;
                out.imax = later.imax;
            }
        }
        out
    }

    /// Appends the cell's extreme points, in row order.
    fn push_points(&self, x: &[f64], out: &mut Vec<[f64; 2]>) {
        if self.is_empty() {
            return;
        }
        let (a, b) = (self.imin as usize, self.imax as usize);
        let (Some(&xa), Some(&xb)) = (x.get(a), x.get(b)) else {
            return;
        };
        match a.cmp(&b) {
            std::cmp::Ordering::Equal => out.push([xa, self.min]),
            std::cmp::Ordering::Less => {
                out.push([xa, self.min]);
                out.push([xb, self.max]);
            }
            std::cmp::Ordering::Greater => {
                out.push([xb, self.max]);
                out.push([xa, self.min]);
            }
        }
    }
}

/// One live series: every value received, and a min/max pyramid over them that grows with
/// the data. NaN and infinite values are kept but never drawn.
#[derive(Clone, Debug, Default)]
pub struct LiveBuffer {
    values: Vec<f64>,
    levels: Vec<Vec<Cell>>,
}

impl LiveBuffer {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when no value was received.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Every value, in row order.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// The last value.
    pub fn last(&self) -> Option<f64> {
        self.values.last().copied()
    }

    /// Appends values and builds the pyramid cells they complete (amortised O(new)).
    pub fn extend(&mut self, new: &[f64]) {
        self.values.extend_from_slice(new);
        let n = self.values.len();
        if self.levels.is_empty() {
            self.levels.push(Vec::new());
        }
        while (self.levels[0].len() + 1) * BASE <= n {
            let start = self.levels[0].len() * BASE;
            self.levels[0].push(Cell::scan(&self.values, start..start + BASE));
        }
        let mut k = 0;
        while self.levels[k].len() >= 2 {
            if self.levels.len() == k + 1 {
                self.levels.push(Vec::new());
            }
            while (self.levels[k + 1].len() + 1) * 2 <= self.levels[k].len() {
                let i = self.levels[k + 1].len() * 2;
                let merged = self.levels[k][i].merge_later(self.levels[k][i + 1]);
                self.levels[k + 1].push(merged);
            }
            k += 1;
        }
    }

    /// Heap bytes held (values and pyramid).
    pub fn heap_bytes(&self) -> usize {
        self.values.capacity() * size_of::<f64>()
            + self
                .levels
                .iter()
                .map(|l| l.capacity() * size_of::<Cell>())
                .sum::<usize>()
    }

    /// Appends to `out` the points of `rows` (clamped to the data) with x from `x`: every
    /// finite row when there are at most `2 × buckets` rows, else the lowest and highest value
    /// of each of `buckets` to `2 × buckets` runs of rows (pyramid cells), in row order, so
    /// spikes survive. At most `4 × buckets + 2 × levels + 34` points whatever the row count.
    /// The first and last cell may reach a little outside `rows` (cells are aligned).
    #[expect(
        clippy::many_single_char_names,
        reason = "x, rows r0..r1, cells c/k/p/s/j: the names of the algorithm"
    )]
    pub fn points_into(
        &self,
        x: &[f64],
        rows: Range<usize>,
        buckets: usize,
        out: &mut Vec<[f64; 2]>,
    ) {
        let n = self.values.len().min(x.len());
        let (r0, r1) = (rows.start.min(n), rows.end.min(n));
        if r0 >= r1 {
            return;
        }
        let buckets = buckets.max(1);
        let span = r1 - r0;
        if span <= 2 * buckets {
            out.extend(
                (r0..r1)
                    .filter(|&i| self.values[i].is_finite())
                    .map(|i| [x[i], self.values[i]]),
            );
            return;
        }
        let want = span.div_ceil(buckets);
        if want < BASE || self.levels.is_empty() {
            let mut start = r0;
            while start < r1 {
                let end = (start + want).min(r1);
                Cell::scan(&self.values, start..end).push_points(x, out);
                start = end;
            }
            return;
        }
        // The coarsest level whose cells hold at most `want` rows.
        let k = ((want / BASE).ilog2() as usize).min(self.levels.len() - 1);
        let size = BASE << k;
        let level = &self.levels[k];
        let mut c = r0 / size;
        while c < level.len() && c * size < r1 {
            level[c].push_points(x, out);
            c += 1;
        }
        let mut p = c * size;
        // The end not covered by level k: one cell at most per lower level, then raw rows.
        for j in (0..k).rev() {
            let s = BASE << j;
            let lower = &self.levels[j];
            while p < r1 && p / s < lower.len() {
                lower[p / s].push_points(x, out);
                p += s;
            }
        }
        if p < r1 {
            Cell::scan(&self.values, p..r1).push_points(x, out);
        }
    }
}

/// Maximal runs of `true` rows in a flag stream that grows (detections, truth windows).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Runs {
    done: Vec<Range<usize>>,
    open: Option<usize>,
    len: usize,
}

impl Runs {
    /// No rows yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rows seen.
    pub fn rows(&self) -> usize {
        self.len
    }

    /// Appends flags for the next rows; returns how many runs closed.
    pub fn extend(&mut self, flags: &[bool]) -> usize {
        let before = self.done.len();
        for (i, &flag) in flags.iter().enumerate() {
            let row = self.len + i;
            match (flag, self.open) {
                (true, None) => self.open = Some(row),
                (false, Some(start)) => {
                    self.done.push(start..row);
                    self.open = None;
                }
                _ => {}
            }
        }
        self.len += flags.len();
        self.done.len() - before
    }

    /// Runs that ended.
    pub fn closed(&self) -> &[Range<usize>] {
        &self.done
    }

    /// The run still open at the newest row.
    pub fn open(&self) -> Option<Range<usize>> {
        self.open.map(|s| s..self.len)
    }

    /// Number of runs, the open one included.
    pub fn count(&self) -> usize {
        self.done.len() + usize::from(self.open.is_some())
    }

    /// Every run in row order, the open one last.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = Range<usize>> + '_ {
        self.done.iter().cloned().chain(self.open())
    }

    /// Whether any run (open or closed) shares a row with `rows`.
    pub fn overlaps(&self, rows: &Range<usize>) -> bool {
        let at = self.done.partition_point(|r| r.end <= rows.start);
        self.done.get(at).is_some_and(|r| r.start < rows.end)
            || self
                .open()
                .is_some_and(|r| r.start < rows.end && rows.start < r.end)
    }

    /// The runs that intersect `rows`, neighbours closer than `min_gap` rows merged into one
    /// (a plot never draws more spans than it has pixel columns). Each merged span reports
    /// whether `keep` held for any of its runs.
    pub fn visible(
        &self,
        rows: &Range<usize>,
        min_gap: usize,
        mut keep: impl FnMut(&Range<usize>) -> bool,
    ) -> Vec<Range<usize>> {
        let first = self.done.partition_point(|r| r.end <= rows.start);
        let mut out: Vec<Range<usize>> = Vec::new();
        let candidates = self.done[first..]
            .iter()
            .cloned()
            .chain(self.open())
            .take_while(|r| r.start < rows.end);
        for run in candidates {
            if !keep(&run) {
                continue;
            }
            match out.last_mut() {
                Some(last) if run.start.saturating_sub(last.end) < min_gap => last.end = run.end,
                _ => out.push(run),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pyramid_answers_like_a_scan_and_keeps_spikes() {
        let mut buffer = LiveBuffer::new();
        let mut all = Vec::new();
        for chunk in 0..100 {
            let new: Vec<f64> = (0..1_667)
                .map(|i| f64::from((chunk * 1_667 + i) % 97))
                .collect();
            all.extend_from_slice(&new);
            buffer.extend(&new);
        }
        all[123_456] = 1e6;
        all[7] = f64::NAN;
        let mut rebuilt = LiveBuffer::new();
        rebuilt.extend(&all);
        let x: Vec<f64> = (0..all.len()).map(|i| i as f64).collect();
        let mut points = Vec::new();
        rebuilt.points_into(&x, 0..all.len(), 500, &mut points);
        assert!(points.len() <= 4 * 500 + 2 * 20 + 34, "{}", points.len());
        assert!(points.contains(&[123_456.0, 1e6]));
        assert!(points.iter().all(|p| p[1].is_finite()));
        assert!(points.windows(2).all(|w| w[0][0] <= w[1][0]), "x sorted");
        // The tail of a growing buffer is still drawn.
        let mut tail = Vec::new();
        rebuilt.points_into(&x, 160_000..all.len(), 300, &mut tail);
        assert_eq!(tail.last().map(|p| p[0]), Some(166_699.0));
        // Few rows: every finite row.
        let mut few = Vec::new();
        buffer.points_into(&x, 5..15, 100, &mut few);
        assert_eq!(few.len(), 10);
        assert_eq!(buffer.len(), 166_700);
    }

    #[test]
    fn runs_grow_across_appends() {
        let mut runs = Runs::new();
        assert_eq!(runs.extend(&[false, true, true]), 0);
        assert_eq!(runs.open(), Some(1..3));
        assert_eq!(runs.extend(&[true, false, true, false, false, true]), 2);
        assert_eq!(runs.closed(), &[1..4, 5..6]);
        assert_eq!(runs.open(), Some(8..9));
        assert_eq!(runs.count(), 3);
        assert!(runs.overlaps(&(3..5)) && !runs.overlaps(&(6..8)) && runs.overlaps(&(8..20)));
        assert_eq!(runs.visible(&(0..9), 1, |_| true), vec![1..4, 5..6, 8..9]);
        assert_eq!(runs.visible(&(0..9), 3, |_| true), vec![1..9]);
        assert_eq!(
            runs.visible(&(4..7), 1, |r| r.start != 5),
            Vec::<Range<usize>>::new()
        );
    }
}
