//! SPOT and DSPOT thresholds (Siffer, Fouque, Termier, Largouët: "Anomaly Detection in
//! Streams with Extreme Value Theory", KDD 2017): peaks over a high initial quantile follow a
//! generalized Pareto distribution (GPD); its fitted tail gives the score `z_q` exceeded with
//! probability `q`. DSPOT does the same on the score minus its moving average (drift).
//!
//! The GPD is fitted by Grimshaw's method as in the authors' reference implementation: the
//! roots of `u(t)·v(t) = 1` are searched on the two admissible intervals (a grid scan with
//! bisection instead of L-BFGS-B), the candidate with the best log-likelihood wins, and the
//! exponential tail (γ = 0) is always a candidate. Method of moments is the fallback when no
//! candidate is finite.
//!
//! Deviation from the reference, for speed on long streams: once there are more than
//! [`REFIT_ALL_BELOW`] peaks the GPD is refitted when the peak count has grown by 1 % since the
//! last fit (the threshold formula is still updated on every peak). This keeps a 1M-score
//! stream near-linear.

use std::collections::VecDeque;

/// Initial quantile used when none is given (the paper's and reference implementation's 0.98).
pub const DEFAULT_LEVEL: f64 = 0.98;

/// Up to this many peaks the GPD is refitted on every new peak.
pub const REFIT_ALL_BELOW: usize = 500;

/// Online SPOT / DSPOT: feed scores one by one, get the current threshold and whether the
/// score is an anomaly.
///
/// The first `init_len` finite scores calibrate the initial quantile and GPD (they are answered
/// with `(NaN, false)` online; the batch apply judges them afterwards against the calibrated
/// threshold). Anomalies are not learned from (they do not become peaks and, for DSPOT, do not
/// enter the moving average), as in the paper.
#[derive(Clone, Debug)]
pub struct SpotThreshold {
    q: f64,
    level: f64,
    depth: usize,
    init_len: usize,
    init: Vec<f64>,
    calibrated: bool,
    /// Initial threshold `t` (the `level` quantile of the calibration values).
    t: f64,
    peaks: Vec<f64>,
    peaks_at_fit: usize,
    /// Observations counted (the `n` of the paper).
    n: usize,
    gamma: f64,
    sigma: f64,
    zq: f64,
    /// DSPOT: the last `depth` normal scores.
    window: VecDeque<f64>,
    window_sum: f64,
}

impl SpotThreshold {
    /// SPOT (`depth == 0`) or DSPOT (`depth > 0`, moving average over `depth` scores) with
    /// risk `q`, initial quantile `level`, calibrated on the first `init_len` finite scores.
    pub fn new(q: f64, level: f64, depth: usize, init_len: usize) -> Self {
        Self {
            q,
            level,
            depth,
            init_len: init_len.max(depth + 2),
            init: Vec::new(),
            calibrated: false,
            t: f64::NAN,
            peaks: Vec::new(),
            peaks_at_fit: 0,
            n: 0,
            gamma: 0.0,
            sigma: 0.0,
            zq: f64::NAN,
            window: VecDeque::with_capacity(depth),
            window_sum: 0.0,
        }
    }

    /// True once the calibration scores have been seen.
    pub fn is_calibrated(&self) -> bool {
        self.calibrated
    }

    /// The fitted GPD `(γ, σ)` and the current `z_q` (relative to the moving average for DSPOT).
    pub fn tail(&self) -> (f64, f64, f64) {
        (self.gamma, self.sigma, self.zq)
    }

    /// Calibrates on `init` (finite scores) at once. Returns, for each of them, its
    /// threshold (NaN for DSPOT's first `depth`, which have no moving average yet).
    pub fn calibrate(&mut self, init: &[f64]) -> Vec<f64> {
        let init: Vec<f64> = init.iter().copied().filter(|x| x.is_finite()).collect();
        let mut thresholds = vec![f64::NAN; init.len()];
        let transformed: Vec<f64> = if self.depth == 0 {
            init.clone()
        } else {
            let mut sum: f64 = init.iter().take(self.depth).sum();
            let mut out = Vec::with_capacity(init.len().saturating_sub(self.depth));
            for i in self.depth..init.len() {
                out.push(init[i] - sum / self.depth as f64);
                sum += init[i] - init[i - self.depth];
            }
            out
        };
        self.calibrated = true;
        if transformed.is_empty() {
            return thresholds;
        }
        let mut sorted = transformed.clone();
        sorted.sort_unstable_by(f64::total_cmp);
        let rank = ((sorted.len() as f64 - 1.0) * self.level).round() as usize;
        self.t = sorted[rank.min(sorted.len() - 1)];
        self.peaks = transformed
            .iter()
            .filter(|&&x| x > self.t)
            .map(|&x| x - self.t)
            .collect();
        self.n = transformed.len();
        self.refit();
        if self.depth == 0 {
            thresholds.fill(self.zq);
        } else {
            let mut sum: f64 = init.iter().take(self.depth).sum();
            for i in self.depth..init.len() {
                thresholds[i] = self.zq + sum / self.depth as f64;
                sum += init[i] - init[i - self.depth];
            }
            let start = init.len().saturating_sub(self.depth);
            self.window = init[start..].iter().copied().collect();
            self.window_sum = self.window.iter().sum();
        }
        thresholds
    }

    /// Feeds one score: `(threshold, is_anomaly)`. NaN scores and calibration scores give
    /// `(NaN or current threshold, false)` and teach nothing (NaN) or calibrate.
    pub fn update(&mut self, score: f64) -> (f64, bool) {
        if !score.is_finite() {
            return (self.current(), false);
        }
        if !self.calibrated {
            self.init.push(score);
            if self.init.len() >= self.init_len {
                let init = std::mem::take(&mut self.init);
                self.calibrate(&init);
            }
            return (f64::NAN, false);
        }
        let drift = self.drift();
        let threshold = self.zq + drift;
        let excess = score - drift;
        if excess > self.zq {
            return (threshold, true);
        }
        if excess > self.t {
            self.peaks.push(excess - self.t);
            self.n += 1;
            let grown = self.peaks.len() as f64 >= self.peaks_at_fit as f64 * 1.01;
            if self.peaks.len() <= REFIT_ALL_BELOW || grown {
                self.refit();
            } else {
                self.zq = self.quantile();
            }
        } else {
            self.n += 1;
        }
        self.push_window(score);
        (threshold, false)
    }

    /// The threshold the next score would be compared with (NaN before calibration).
    pub fn current(&self) -> f64 {
        if self.calibrated {
            self.zq + self.drift()
        } else {
            f64::NAN
        }
    }

    fn drift(&self) -> f64 {
        if self.depth == 0 || self.window.is_empty() {
            0.0
        } else {
            self.window_sum / self.window.len() as f64
        }
    }

    fn push_window(&mut self, score: f64) {
        if self.depth == 0 {
            return;
        }
        if self.window.len() == self.depth
            && let Some(old) = self.window.pop_front()
        {
            self.window_sum -= old;
        }
        self.window.push_back(score);
        self.window_sum += score;
    }

    fn refit(&mut self) {
        let (gamma, sigma) = fit_gpd(&self.peaks);
        self.gamma = gamma;
        self.sigma = sigma;
        self.peaks_at_fit = self.peaks.len();
        self.zq = self.quantile();
    }

    /// `z_q = t + σ/γ·((q·n/N_t)^(-γ) - 1)`, or `t - σ·ln(q·n/N_t)` for γ = 0.
    fn quantile(&self) -> f64 {
        if self.peaks.is_empty() || self.sigma.is_nan() || self.sigma <= 0.0 {
            return self.t;
        }
        let r = self.q * self.n as f64 / self.peaks.len() as f64;
        let z = if self.gamma.abs() > 1e-12 {
            self.t + self.sigma / self.gamma * (r.powf(-self.gamma) - 1.0)
        } else {
            self.t - self.sigma * r.ln()
        };
        if z.is_finite() { z.max(self.t) } else { self.t }
    }
}

/// Applies SPOT/DSPOT to a whole score vector: per-row thresholds and flags.
pub fn apply(scores: &[f64], q: f64, level: f64, depth: usize) -> (Vec<f64>, Vec<bool>) {
    let finite = scores.iter().filter(|s| s.is_finite()).count();
    let init_len = calibration_len(finite).max(depth + 2).min(finite);
    let mut spot = SpotThreshold::new(q, level, depth, init_len);
    let mut thresholds = vec![f64::NAN; scores.len()];
    let mut flags = vec![false; scores.len()];
    let init_rows: Vec<usize> = scores
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_finite())
        .map(|(i, _)| i)
        .take(init_len)
        .collect();
    let init: Vec<f64> = init_rows.iter().map(|&i| scores[i]).collect();
    let init_thresholds = spot.calibrate(&init);
    for (&row, &t) in init_rows.iter().zip(&init_thresholds) {
        thresholds[row] = t;
        flags[row] = scores[row] > t;
    }
    let start = init_rows.last().map_or(scores.len(), |&r| r + 1);
    for row in start..scores.len() {
        let (t, flag) = spot.update(scores[row]);
        thresholds[row] = t;
        flags[row] = flag;
    }
    (thresholds, flags)
}

/// How many finite scores calibrate the batch apply: a quarter of them, at least 200 (or all
/// when fewer), at most 2000.
pub fn calibration_len(finite: usize) -> usize {
    (finite / 4).clamp(finite.min(200), 2000)
}

/// Fits a GPD to positive excesses: `(γ, σ)` by Grimshaw's method, method of moments as the
/// fallback. `(0, 0)` without peaks.
pub fn fit_gpd(peaks: &[f64]) -> (f64, f64) {
    if peaks.is_empty() {
        return (0.0, 0.0);
    }
    let n = peaks.len() as f64;
    let mean = peaks.iter().sum::<f64>() / n;
    let grimshaw = grimshaw(peaks, mean);
    if grimshaw.1.is_finite() && grimshaw.1 > 0.0 && grimshaw.0.is_finite() {
        return grimshaw;
    }
    let variance = peaks.iter().map(|p| (p - mean).powi(2)).sum::<f64>() / n;
    if variance > 0.0 {
        let ratio = mean * mean / variance;
        (0.5 * (1.0 - ratio), 0.5 * mean * (ratio + 1.0))
    } else {
        (0.0, mean)
    }
}

fn grimshaw(peaks: &[f64], mean: f64) -> (f64, f64) {
    const GRID: usize = 24;
    let (min, max) = peaks.iter().fold((f64::INFINITY, 0.0_f64), |(lo, hi), &p| {
        (lo.min(p), hi.max(p))
    });
    let mut best = (0.0, mean, log_likelihood(peaks, 0.0, mean));
    if !(min > 0.0 && max > 0.0) {
        return (best.0, best.1);
    }
    let mut epsilon = 1e-8_f64;
    let a = -1.0 / max;
    if a.abs() < 2.0 * epsilon {
        epsilon = a.abs() / GRID as f64;
    }
    let a = a + epsilon;
    let b = 2.0 * (mean - min) / (mean * min);
    let c = 2.0 * (mean - min) / (min * min);
    let w = |t: f64| {
        let (mut log_sum, mut inv_sum) = (0.0, 0.0);
        for &y in peaks {
            let s = 1.0 + t * y;
            log_sum += s.ln();
            inv_sum += 1.0 / s;
        }
        let count = peaks.len() as f64;
        (1.0 + log_sum / count) * (inv_sum / count) - 1.0
    };
    // Negative side: the admissible interval (-1/max, 0), regular grid as in the reference.
    // Positive side: the reference searches [b, c], which misses the root of heavy tails when
    // the smallest excess is tiny (b ~ 2/min); a geometric grid from ~0 to c covers both.
    let mut roots = Vec::new();
    let (lo, hi) = (a + epsilon, -epsilon);
    if lo < hi {
        let grid: Vec<f64> = (0..=GRID)
            .map(|i| lo + (hi - lo) * i as f64 / GRID as f64)
            .collect();
        find_roots(&w, &grid, &mut roots);
    }
    let (lo, hi) = (1e-6 / mean, c.max(b));
    if lo < hi && hi.is_finite() {
        let ratio = (hi / lo).powf(1.0 / (2 * GRID) as f64);
        let grid: Vec<f64> = (0..=2 * GRID).map(|i| lo * ratio.powi(i as i32)).collect();
        find_roots(&w, &grid, &mut roots);
    }
    for z in roots {
        let gamma = peaks.iter().map(|&y| (1.0 + z * y).ln()).sum::<f64>() / peaks.len() as f64;
        let sigma = gamma / z;
        let ll = log_likelihood(peaks, gamma, sigma);
        if sigma > 0.0 && ll.is_finite() && ll > best.2 {
            best = (gamma, sigma, ll);
        }
    }
    (best.0, best.1)
}

/// Sign changes of `f` between consecutive grid points, refined by bisection.
fn find_roots(f: &impl Fn(f64) -> f64, grid: &[f64], roots: &mut Vec<f64>) {
    let values: Vec<f64> = grid.iter().map(|&x| f(x)).collect();
    for (x, fx) in grid.windows(2).zip(values.windows(2)) {
        let (x0, x1, f0, f1) = (x[0], x[1], fx[0], fx[1]);
        if f0 == 0.0 {
            roots.push(x0);
        } else if f0.is_finite() && f1.is_finite() && f0.signum() != f1.signum() {
            let (mut a, mut b, mut fa) = (x0, x1, f0);
            for _ in 0..50 {
                let m = 0.5 * (a + b);
                let fm = f(m);
                if fm.signum() == fa.signum() {
                    a = m;
                    fa = fm;
                } else {
                    b = m;
                }
            }
            roots.push(0.5 * (a + b));
        }
    }
}

/// GPD log-likelihood of the excesses; the exponential distribution for γ = 0.
fn log_likelihood(peaks: &[f64], gamma: f64, sigma: f64) -> f64 {
    let n = peaks.len() as f64;
    if sigma.is_nan() || sigma <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if gamma.abs() < 1e-12 {
        return -n * sigma.ln() - peaks.iter().sum::<f64>() / sigma;
    }
    let tau = gamma / sigma;
    let mut sum = 0.0;
    for &y in peaks {
        let s = 1.0 + tau * y;
        if s <= 0.0 {
            return f64::NEG_INFINITY;
        }
        sum += s.ln();
    }
    -n * sigma.ln() - (1.0 + 1.0 / gamma) * sum
}

#[cfg(test)]
mod tests {
    use rand::{Rng as _, SeedableRng as _};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    fn exponential(n: usize, seed: u64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n).map(|_| -(1.0 - rng.random::<f64>()).ln()).collect()
    }

    #[test]
    fn gpd_fit_recovers_exponential_tail() {
        let (gamma, sigma) = fit_gpd(&exponential(5000, 1));
        assert!(gamma.abs() < 0.08, "gamma {gamma}");
        assert!((sigma - 1.0).abs() < 0.1, "sigma {sigma}");
    }

    #[test]
    fn gpd_fit_recovers_heavy_tail() {
        // Pareto-like excesses: GPD with γ = 0.5, σ = 1 by inverse transform.
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let peaks: Vec<f64> = (0..5000)
            .map(|_| ((1.0 - rng.random::<f64>()).powf(-0.5) - 1.0) / 0.5)
            .collect();
        let (gamma, sigma) = fit_gpd(&peaks);
        assert!((gamma - 0.5).abs() < 0.1, "gamma {gamma}");
        assert!((sigma - 1.0).abs() < 0.15, "sigma {sigma}");
    }

    #[test]
    fn spot_threshold_matches_the_exponential_quantile() {
        // For Exp(1), P(X > z) = q ⇒ z = -ln q = 6.9 for q = 1e-3.
        let scores = exponential(20_000, 3);
        let (thresholds, flags) = apply(&scores, 1e-3, DEFAULT_LEVEL, 0);
        let last = *thresholds.last().unwrap();
        assert!((last - 6.9).abs() < 0.8, "threshold {last}");
        let rate = flags.iter().filter(|&&f| f).count() as f64 / scores.len() as f64;
        assert!(rate < 3e-3, "flag rate {rate}");
    }

    #[test]
    fn dspot_follows_drift_and_flags_spike() {
        let mut scores = exponential(6000, 4);
        for (i, s) in scores.iter_mut().enumerate() {
            *s += i as f64 * 0.01; // climbs by 60 over the series
        }
        scores[5000] += 40.0;
        let (_, spot_flags) = apply(&scores, 1e-3, DEFAULT_LEVEL, 0);
        let (_, dspot_flags) = apply(&scores, 1e-3, DEFAULT_LEVEL, 50);
        assert!(dspot_flags[5000]);
        let spot_count = spot_flags.iter().filter(|&&f| f).count();
        let dspot_count = dspot_flags.iter().filter(|&&f| f).count();
        assert!(
            spot_count > 1000,
            "SPOT should drown in the drift ({spot_count})"
        );
        assert!(dspot_count < 60, "DSPOT flagged {dspot_count}");
    }

    #[test]
    fn online_equals_batch_after_calibration() {
        let scores = exponential(3000, 5);
        let init_len = calibration_len(scores.len());
        let (batch_t, batch_f) = apply(&scores, 1e-3, DEFAULT_LEVEL, 0);
        let mut online = SpotThreshold::new(1e-3, DEFAULT_LEVEL, 0, init_len);
        for (i, &s) in scores.iter().enumerate() {
            let (t, f) = online.update(s);
            if i >= init_len {
                assert_eq!(t.to_bits(), batch_t[i].to_bits(), "row {i}");
                assert_eq!(f, batch_f[i], "row {i}");
            } else {
                assert!(t.is_nan() && !f);
            }
        }
        assert!(online.is_calibrated());
    }

    #[test]
    fn constant_and_empty_scores_do_not_panic() {
        let (t, f) = apply(&[1.0; 500], 1e-3, DEFAULT_LEVEL, 0);
        assert!(f.iter().all(|&x| !x));
        assert!(t.iter().all(|x| (x - 1.0).abs() < 1e-12));
        let (t, f) = apply(&[f64::NAN; 5], 1e-3, DEFAULT_LEVEL, 3);
        assert!(t.iter().all(|x| x.is_nan()) && f.iter().all(|&x| !x));
        assert!(apply(&[], 1e-3, DEFAULT_LEVEL, 0).0.is_empty());
    }
}
