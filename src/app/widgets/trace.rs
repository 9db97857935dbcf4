//! [`TraceCache`]: the points of one line (a score, a previewed column) for the visible x
//! range, min/max-decimated to about two points per pixel column and kept while the view
//! and the data stay the same. Small and self-contained so the workflow plots do not depend
//! on the data plot's decimation pyramid.

/// Points of one line for the last view drawn.
#[derive(Debug, Default)]
pub struct TraceCache {
    key: Option<(usize, usize, u64, u64, u32)>,
    points: Vec<[f64; 2]>,
}

impl TraceCache {
    /// The points of `(x, y)` inside `view` for a plot `pixels` wide; NaN values are skipped.
    pub fn points(&mut self, x: &[f64], y: &[f64], view: (f64, f64), pixels: f32) -> &[[f64; 2]] {
        let buckets = pixels.clamp(64.0, 4096.0) as u32;
        let key = (
            y.as_ptr() as usize,
            y.len(),
            view.0.to_bits(),
            view.1.to_bits(),
            buckets,
        );
        if self.key != Some(key) {
            self.points = decimate_view(x, y, view, buckets as usize);
            self.key = Some(key);
        }
        &self.points
    }
}

/// The points of `(x, y)` with x in `view` (plus one on each side), at most about
/// `2 * buckets` of them: each bucket of consecutive rows keeps its lowest and highest value,
/// in row order, so spikes survive. `x` must be sorted.
pub fn decimate_view(x: &[f64], y: &[f64], view: (f64, f64), buckets: usize) -> Vec<[f64; 2]> {
    let len = x.len().min(y.len());
    let lo = x[..len].partition_point(|&v| v < view.0).saturating_sub(1);
    let hi = (x[..len].partition_point(|&v| v <= view.1) + 1).min(len);
    if lo >= hi {
        return Vec::new();
    }
    let rows = hi - lo;
    let buckets = buckets.max(1);
    if rows <= 2 * buckets {
        return (lo..hi)
            .filter(|&i| y[i].is_finite())
            .map(|i| [x[i], y[i]])
            .collect();
    }
    let per = rows.div_ceil(buckets);
    let mut out = Vec::with_capacity(2 * buckets + 2);
    let mut start = lo;
    while start < hi {
        let end = (start + per).min(hi);
        let mut min: Option<usize> = None;
        let mut max: Option<usize> = None;
        for i in start..end {
            if !y[i].is_finite() {
                continue;
            }
            if min.is_none_or(|m| y[i] < y[m]) {
                min = Some(i);
            }
            if max.is_none_or(|m| y[i] > y[m]) {
                max = Some(i);
            }
        }
        match (min, max) {
            (Some(a), Some(b)) if a == b => out.push([x[a], y[a]]),
            (Some(a), Some(b)) => {
                let (first, second) = if a < b { (a, b) } else { (b, a) };
                out.push([x[first], y[first]]);
                out.push([x[second], y[second]]);
            }
            _ => {}
        }
        start = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_spikes_and_skips_nan() {
        let x: Vec<f64> = (0..10_000).map(f64::from).collect();
        let mut y = vec![0.0; 10_000];
        y[0] = f64::NAN;
        y[7_777] = 50.0;
        let points = decimate_view(&x, &y, (0.0, 9_999.0), 100);
        assert!(points.len() <= 202, "{}", points.len());
        assert!(points.contains(&[7_777.0, 50.0]));
        assert!(points.iter().all(|p| p[1].is_finite()));
        let few = decimate_view(&x, &y, (10.0, 20.0), 100);
        assert_eq!(few.first(), Some(&[9.0, 0.0]));
        assert_eq!(few.len(), 13);
        let mut cache = TraceCache::default();
        let n = cache.points(&x, &y, (0.0, 100.0), 800.0).len();
        assert_eq!(n, 101, "rows 0..=101, row 0 is NaN");
    }
}
