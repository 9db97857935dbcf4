//! Matrix-profile discords, exact: the score of a sub-sequence is its z-normalised Euclidean
//! distance to its nearest non-trivial neighbour (stumpy's `stump`, exclusion zone `ceil(w/4)`).
//!
//! Causal definition (the *left* matrix profile): row `t` is scored by the sub-sequence ending at
//! `t` (start `j = t - w + 1`) against every sub-sequence that started at least `ceil(w/4) + 1`
//! rows earlier (and at most `max_lag` rows earlier when that is set). It only uses rows `<= t`,
//! so `update` can compute it: each new sub-sequence extends every diagonal of the distance
//! matrix by one step in O(1) (Zimmerman's MPX covariance update), O(t) per row. Scores start
//! once a sub-sequence has `w` candidate neighbours (a full period of phase shifts), so the first
//! `2w + ceil(w/4) - 1` rows are NaN: fewer candidates would make early rows look anomalous.
//!
//! Batch: the same diagonals, in bands of 256 neighbouring diagonals processed sub-sequence by
//! sub-sequence so the inner loop is a contiguous, vectorisable pass with its maximum kept in
//! registers; bands run in parallel (rayon) and merge their per-row maxima. Each diagonal is computed by exactly the same floating-point operations in
//! the same order as streaming, and a maximum does not depend on order: bit-identical.
//!
//! Constant sub-sequences: two constant ones are at distance 0, a constant and a varying one at
//! `sqrt(2w)` (correlation 0). Missing values are carried forward (see `subseq::Filler`).
//! The window is given or found in `fit` from the dominant period of each training column.

use rayon::prelude::*;

use super::columns::{COMBINE_MAX, Combine};
use super::registry::DetectorEntry;
use super::subseq::{ColumnCore, Columns, Filler, choose_window, delegate_columns, filled};
use super::{DetectError, Detector, DetectorInfo, Family};
use crate::control::CancelToken;
use crate::model::{ParamKind, ParamSpec, Params, Timestamp};

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "window",
        kind: ParamKind::Int {
            min: 0,
            max: 10_000,
            default: 0,
        },
        help: "Sub-sequence length; 0 = the dominant period of the training data (100 if none).",
    },
    ParamSpec {
        name: "max_lag",
        kind: ParamKind::Int {
            min: 0,
            max: 100_000_000,
            default: 0,
        },
        help: "Compare only with sub-sequences at most this many rows back (0 = all history; \
               bounds the O(rows) cost per row on long streams).",
    },
    COMBINE_MAX,
];

static INFO: DetectorInfo = DetectorInfo {
    id: "matrix_profile",
    name: "Matrix profile (left discords)",
    family: Family::Subsequence,
    multivariate: false,
    streaming: true,
    description: "Distance of each sub-sequence to its nearest earlier match (left matrix \
                  profile, exact). Catches unusual shapes: discords, pattern breaks.",
    params: PARAMS,
};

/// Registry entry.
pub(super) const ENTRY: DetectorEntry = DetectorEntry { info: &INFO, build };

fn build(params: &Params, _seed: u64) -> Result<Box<dyn Detector>, DetectError> {
    Ok(Box::new(MatrixProfile::new(
        params.usize("window"),
        params.usize("max_lag"),
        Combine::from_param(params.text("combine")),
    )))
}

/// Neighbouring diagonals processed together in batch mode.
const BAND: usize = 256;

/// Matrix-profile detector (see module docs): one [`LeftProfile`] per column.
#[derive(Clone, Debug)]
pub struct MatrixProfile(Columns<LeftProfile>);

impl MatrixProfile {
    /// `window` = 0 picks the period in `fit`; `max_lag` = 0 compares with all history.
    pub fn new(window: usize, max_lag: usize, combine: Combine) -> Self {
        Self(Columns::new(
            &INFO,
            LeftProfile::new(window, max_lag),
            combine,
        ))
    }

    /// The window of each column (after `fit` or the first row).
    pub fn windows(&self) -> Vec<usize> {
        self.0.cores().iter().map(LeftProfile::window).collect()
    }
}

delegate_columns!(MatrixProfile);

/// One step along a diagonal (MPX): `cov(i, j)` from `cov(i-1, j-1)`. Shared by both paths so
/// that they perform the same operations.
#[inline]
#[expect(
    clippy::similar_names,
    reason = "MPX notation: df/dg at sub-sequences i and j"
)]
fn step(cov: f64, df_i: f64, dg_j: f64, df_j: f64, dg_i: f64) -> f64 {
    cov + df_i * dg_j + df_j * dg_i
}

/// Per-sub-sequence statistics of a (centred, filled) column.
#[derive(Clone, Debug, Default)]
struct Stats {
    x: Vec<f64>,
    mu: Vec<f64>,
    /// `1 / ||x_j - mu_j||`, 0 for constant sub-sequences.
    invn: Vec<f64>,
    df: Vec<f64>,
    dg: Vec<f64>,
    flat: Vec<bool>,
}

impl Stats {
    /// Adds the statistics of sub-sequence `j = x.len() - m` (the values must be pushed).
    fn push_subsequence(&mut self, m: usize, reference: f64) {
        let j = self.x.len() - m;
        let window = &self.x[j..];
        let mu = window.iter().sum::<f64>() / m as f64;
        let ss: f64 = window.iter().map(|v| (v - mu) * (v - mu)).sum();
        let flat = (ss / m as f64).sqrt() <= 1e-8 * (1.0 + (mu + reference).abs());
        self.mu.push(mu);
        self.invn.push(if flat { 0.0 } else { 1.0 / ss.sqrt() });
        self.flat.push(flat);
        if j == 0 {
            self.df.push(0.0);
            self.dg.push(0.0);
        } else {
            self.df.push(0.5 * (self.x[j - 1 + m] - self.x[j - 1]));
            self.dg
                .push((self.x[j - 1 + m] - self.mu[j]) + (self.x[j - 1] - self.mu[j - 1]));
        }
    }

    /// Centred covariance of sub-sequences `i` and `j`, computed directly.
    #[expect(
        clippy::many_single_char_names,
        reason = "textbook notation: n rows, m window, k neighbours, x/y/z values"
    )]
    fn direct(&self, i: usize, j: usize, m: usize) -> f64 {
        let (a, b) = (&self.x[i..i + m], &self.x[j..j + m]);
        let (mu_a, mu_b) = (self.mu[i], self.mu[j]);
        a.iter().zip(b).map(|(p, q)| (p - mu_a) * (q - mu_b)).sum()
    }
}

/// The left matrix profile of one column, streaming and batch.
#[derive(Clone, Debug)]
pub struct LeftProfile {
    window_param: usize,
    max_lag: usize,
    m: usize,
    stats: Stats,
    /// `cov[k]` = covariance of the latest sub-sequence with the one `k` rows before it.
    cov: Vec<f64>,
    latest_flat: Option<usize>,
    filler: Filler,
    reference: Option<f64>,
}

impl LeftProfile {
    fn new(window: usize, max_lag: usize) -> Self {
        Self {
            window_param: window,
            max_lag,
            m: if window == 0 {
                choose_window(0, None)
            } else {
                window.max(2)
            },
            stats: Stats::default(),
            cov: Vec::new(),
            latest_flat: None,
            filler: Filler::default(),
            reference: None,
        }
    }

    /// The sub-sequence length in use.
    pub fn window(&self) -> usize {
        self.m
    }

    fn excl(&self) -> usize {
        self.m.div_ceil(4)
    }

    /// The effective `max_lag`: never below `excl + m`, so that every row gets a score.
    fn max_lag(&self) -> usize {
        self.max_lag.max(self.excl() + self.m)
    }

    /// Lags compared for sub-sequence `j`: `excl+1 ..= min(j, max_lag)`.
    fn lag_range(&self, j: usize) -> std::ops::RangeInclusive<usize> {
        let hi = if self.max_lag > 0 {
            j.min(self.max_lag())
        } else {
            j
        };
        self.excl() + 1..=hi
    }

    /// Best correlation → distance, with the constant-sub-sequence rule.
    fn finish(&mut self, j: usize, best: f64) -> f64 {
        // Sub-sequence `j - excl - 1` just became a candidate neighbour.
        if let Some(c) = j.checked_sub(self.excl() + 1)
            && self.stats.flat[c]
        {
            self.latest_flat = Some(c);
        }
        let mut best = best;
        if self.stats.flat[j]
            && let Some(c) = self.latest_flat
            && (self.max_lag == 0 || j - c <= self.max_lag())
        {
            best = 1.0;
        }
        // Scores start once a full window of lags (one period of phases) has been compared.
        if best.is_infinite() || j < self.excl() + self.m {
            return f64::NAN;
        }
        (2.0 * self.m as f64 * (1.0 - best)).max(0.0).sqrt()
    }

    fn push_value(&mut self, x: f64) -> Option<usize> {
        let v = self.filler.fill(x);
        let reference = *self.reference.get_or_insert(v);
        self.stats.x.push(v - reference);
        if self.stats.x.len() < self.m {
            return None;
        }
        self.stats.push_subsequence(self.m, reference);
        Some(self.stats.x.len() - self.m)
    }
}

impl ColumnCore for LeftProfile {
    fn fit(&mut self, values: &[f64], _ts: &[Timestamp]) -> Result<(), String> {
        if self.window_param == 0 {
            self.m = choose_window(0, Some(values));
        }
        self.reset();
        Ok(())
    }

    fn not_ready(&self) -> Option<String> {
        None
    }

    fn reset(&mut self) {
        self.stats = Stats::default();
        self.cov.clear();
        self.latest_flat = None;
        self.filler = Filler::default();
        self.reference = None;
    }

    #[expect(
        clippy::many_single_char_names,
        reason = "textbook notation: n rows, m window, k neighbours, x/y/z values"
    )]
    fn update(&mut self, x: f64, _ts: Timestamp) -> f64 {
        let Some(j) = self.push_value(x) else {
            return f64::NAN;
        };
        let m = self.m;
        let s = &self.stats;
        let mut best = f64::NEG_INFINITY;
        let lags = self.lag_range(j);
        if self.cov.len() <= *lags.end() {
            self.cov.resize(lags.end() + 1, 0.0);
        }
        for k in lags {
            let i = j - k;
            let c = if i == 0 {
                s.direct(0, j, m)
            } else {
                step(self.cov[k], s.df[i], s.dg[j], s.df[j], s.dg[i])
            };
            self.cov[k] = c;
            best = best.max(c * s.invn[i] * s.invn[j]);
        }
        self.finish(j, best)
    }

    fn batch(
        &mut self,
        values: &[f64],
        _ts: &[Timestamp],
        cancel: &CancelToken,
    ) -> Result<Vec<f64>, DetectError> {
        self.reset();
        let n = values.len();
        let m = self.m;
        let mut scores = vec![f64::NAN; n];
        if n < m {
            return Ok(scores);
        }
        let x = filled(values);
        let reference = x[0];
        let mut stats = Stats::default();
        for &v in &x {
            stats.x.push(v - reference);
            if stats.x.len() >= m {
                stats.push_subsequence(m, reference);
            }
        }
        let n_sub = n - m + 1;
        let k_lo = self.excl() + 1;
        let k_hi = self.lag_range(n_sub - 1).into_inner().1;
        let bands: Vec<usize> = (k_lo..=k_hi).step_by(BAND).collect();
        let best = bands
            .par_iter()
            .try_fold(
                || vec![f64::NEG_INFINITY; n_sub],
                |mut best, &k0| {
                    if cancel.is_cancelled() {
                        return Err(DetectError::Cancelled);
                    }
                    band(&stats, m, k0, (k_hi + 1 - k0).min(BAND), &mut best);
                    Ok(best)
                },
            )
            .try_reduce(
                || vec![f64::NEG_INFINITY; n_sub],
                |mut a, b| {
                    for (x, y) in a.iter_mut().zip(b) {
                        *x = x.max(y);
                    }
                    Ok(a)
                },
            )?;
        self.stats = stats;
        for (j, &b) in best.iter().enumerate() {
            scores[j + m - 1] = self.finish(j, b);
        }
        self.reset();
        Ok(scores)
    }

    fn warm_up_rows(&self) -> usize {
        2 * self.m + self.excl() - 1
    }
}

/// Diagonals (lags) `k0 .. k0 + lanes`, sub-sequence by sub-sequence as `update` walks them:
/// for sub-sequence `j`, lane `l` holds lag `k = k0 + lanes - 1 - l`, so the earlier
/// sub-sequences `i = j - k` form one ascending contiguous range. The inner loop then reads
/// `df/dg/invn[i..]` contiguously, keeps its maximum in registers (four accumulators, which the
/// compiler vectorises) and writes `best[j]` once per sub-sequence.
#[expect(
    clippy::similar_names,
    reason = "MPX notation: df/dg at sub-sequences i and j"
)]
#[expect(
    clippy::needless_range_loop,
    reason = "j indexes several statistics arrays and the slices start at j - top"
)]
fn band(s: &Stats, m: usize, k0: usize, lanes: usize, best: &mut [f64]) {
    const ACC: usize = 4;
    let n_sub = best.len();
    let lanes = lanes.min(n_sub.saturating_sub(k0));
    if lanes == 0 {
        return;
    }
    let top = k0 + lanes - 1;
    let mut cov = vec![0.0; lanes];
    // Ramp-up: lag k exists from j = k on, where it starts directly at i = 0.
    for j in k0..=top {
        let mut acc = f64::NEG_INFINITY;
        for (l, c) in cov.iter_mut().enumerate().skip(top - j) {
            let i = j + l - top;
            *c = if i == 0 {
                s.direct(0, j, m)
            } else {
                step(*c, s.df[i], s.dg[j], s.df[j], s.dg[i])
            };
            acc = acc.max(*c * s.invn[i] * s.invn[j]);
        }
        best[j] = best[j].max(acc);
    }
    for j in top + 1..n_sub {
        let i0 = j - top;
        let (df_j, dg_j, in_j) = (s.df[j], s.dg[j], s.invn[j]);
        let df_i = &s.df[i0..i0 + lanes];
        let dg_i = &s.dg[i0..i0 + lanes];
        let in_i = &s.invn[i0..i0 + lanes];
        let mut acc = [f64::NEG_INFINITY; ACC];
        let mut cov4 = cov.chunks_exact_mut(ACC);
        let mut df4 = df_i.chunks_exact(ACC);
        let mut dg4 = dg_i.chunks_exact(ACC);
        let mut in4 = in_i.chunks_exact(ACC);
        for (((c, f), g), n) in (&mut cov4).zip(&mut df4).zip(&mut dg4).zip(&mut in4) {
            for t in 0..ACC {
                let v = step(c[t], f[t], dg_j, df_j, g[t]);
                c[t] = v;
                let r = v * n[t] * in_j;
                acc[t] = if r > acc[t] { r } else { acc[t] };
            }
        }
        let tail = cov4
            .into_remainder()
            .iter_mut()
            .zip(df4.remainder())
            .zip(dg4.remainder())
            .zip(in4.remainder());
        for (((c, &f), &g), &n) in tail {
            let v = step(*c, f, dg_j, df_j, g);
            *c = v;
            acc[0] = acc[0].max(v * n * in_j);
        }
        let a = acc.iter().fold(f64::NEG_INFINITY, |x, &y| x.max(y));
        best[j] = best[j].max(a);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::subseq::argmax_finite;
    use crate::model::{Column, Series};
    use crate::testing::{bits, streamed};
    use crate::testing::{seasonal_values, seasonal_with_anomalies};

    /// Brute-force left matrix profile from the definition.
    fn brute(x: &[f64], m: usize) -> Vec<f64> {
        let excl = m.div_ceil(4);
        let z = |j: usize| {
            let w = &x[j..j + m];
            let mu = w.iter().sum::<f64>() / m as f64;
            let sd = (w.iter().map(|v| (v - mu).powi(2)).sum::<f64>() / m as f64).sqrt();
            w.iter().map(|v| (v - mu) / sd).collect::<Vec<_>>()
        };
        let mut out = vec![f64::NAN; x.len()];
        for j in 0..=x.len() - m {
            let zj = z(j);
            let best = (0..j.saturating_sub(excl))
                .map(|i| {
                    z(i).iter()
                        .zip(&zj)
                        .map(|(a, b)| (a - b).powi(2))
                        .sum::<f64>()
                        .sqrt()
                })
                .fold(f64::NAN, f64::min);
            out[j + m - 1] = if j < excl + m { f64::NAN } else { best };
        }
        out
    }

    #[test]
    fn equals_brute_force_and_batch_equals_streaming() {
        let mut values = seasonal_values(700, 30, 0.3, 5);
        values[400] += 3.0;
        let series = Series::from_values("v", values.clone());
        let mut det = MatrixProfile::new(20, 0, Combine::Max);
        let batch = det.score_series(&series, &CancelToken::new()).unwrap();
        let stream = streamed(&mut det, &series);
        assert_eq!(bits(&batch), bits(&stream));
        crate::testing::assert_all_close(&batch, &brute(&values, 20), 1e-6);
        assert!(batch[..44].iter().all(|s| s.is_nan()));
        assert!(batch[44..].iter().all(|s| s.is_finite()));
        assert_eq!(det.warm_up_rows(), Some(44));
    }

    #[test]
    fn max_lag_and_many_bands_still_match() {
        let values = seasonal_values(1400, 37, 0.2, 8);
        let series = Series::from_values("v", values);
        for max_lag in [0, 300] {
            let mut det = MatrixProfile::new(12, max_lag, Combine::Max);
            let batch = det.score_series(&series, &CancelToken::new()).unwrap();
            assert_eq!(bits(&batch), bits(&streamed(&mut det, &series)));
        }
    }

    #[test]
    fn constant_stretches_are_not_anomalous() {
        let mut values = seasonal_values(600, 30, 0.1, 2);
        values[100..300].fill(2.5);
        values[450..500].fill(f64::NAN);
        let series = Series::from_values("v", values);
        let mut det = MatrixProfile::new(20, 0, Combine::Max);
        let scores = det.score_series(&series, &CancelToken::new()).unwrap();
        assert!(scores[44..].iter().all(|s| s.is_finite()));
        // Deep inside the flat stretch every sub-sequence has an identical earlier one.
        assert!(scores[200..300].iter().all(|&s| s.abs() < f64::EPSILON));
        assert_eq!(bits(&scores), bits(&streamed(&mut det, &series)));
    }

    #[test]
    fn discord_is_found_and_window_is_detected() {
        let train = Series::from_values("v", seasonal_values(2000, 40, 0.05, 1));
        let test = seasonal_with_anomalies(1200, 40, 700, 2000..2000, 4);
        let mut det = MatrixProfile::new(0, 0, Combine::Max);
        det.fit(&train, &CancelToken::new()).unwrap();
        assert_eq!(det.windows(), vec![40]);
        let scores = det.score_series(&test, &CancelToken::new()).unwrap();
        let top = argmax_finite(&scores);
        assert!((700..740).contains(&top), "top at {top}");
    }

    #[test]
    fn multivariate_attribution_names_the_column() {
        let a = seasonal_values(500, 25, 0.05, 1);
        let mut b = seasonal_values(500, 25, 0.05, 2);
        b[490] += 5.0;
        let series = Series::new(
            (0..500).map(Timestamp).collect(),
            vec![Column::new("a", a), Column::new("b", b)],
            None,
        )
        .unwrap();
        let mut det = MatrixProfile::new(10, 0, Combine::Max);
        let batch = det.score_series(&series, &CancelToken::new()).unwrap();
        let last = det.column_scores().unwrap().to_vec();
        assert!(last[1] > last[0]);
        assert_eq!(bits(&batch), bits(&streamed(&mut det, &series)));
    }
}
