//! Spectral Residual (Ren et al., "Time-Series Anomaly Detection Service at Microsoft",
//! KDD 2019), causal sliding-window form. For each new value, the last `window` values are
//! extended by `m` = 5 extrapolated points (the paper's trick that keeps the newest point away
//! from the FFT's edge), Fourier-transformed; the log amplitude minus its local average over
//! `q` = 3 frequencies (the spectral residual) is transformed back with the original phases
//! into the saliency map `S`. The score of the newest value is `|S - S̄| / S̄`, with `S̄` the
//! mean saliency of the last `z` = 21 positions, as in the reference implementation.
//!
//! Only the newest point of each window is scored, so the score of row `t` depends on rows
//! `t - window + 1 ..= t` alone: streaming equals batch exactly, at one FFT pair per row.

use std::sync::Arc;

use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};

use super::columns::{COMBINE_MAX, Combine, PerColumn, Univariate};
use super::registry::DetectorEntry;
use super::{DetectError, Detector, DetectorInfo, Family};
use crate::model::{ParamKind, ParamSpec, Params};

/// Extrapolated points appended to every window (the paper's `m`).
const EXTEND: usize = 5;
/// Width of the average filter over log amplitudes (the paper's `q`).
const AMPLITUDE_FILTER: usize = 3;
/// Saliency positions averaged for the score (the paper's `z`).
const SCORE_WINDOW: usize = 21;
/// Amplitudes below this are clamped before the logarithm (reference implementation's EPS).
const EPS: f64 = 1e-8;

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "window",
        kind: ParamKind::Int {
            min: 24,
            max: 8192,
            default: 64,
        },
        help: "Number of most recent values transformed for each new value.",
    },
    COMBINE_MAX,
];

static INFO: DetectorInfo = DetectorInfo {
    id: "spectral_residual",
    name: "Spectral Residual",
    family: Family::Statistical,
    multivariate: false,
    streaming: true,
    description: "Saliency of the newest value after removing the smooth part of the log \
                  amplitude spectrum of the recent window (Microsoft's SR). Catches spikes, \
                  dips and abrupt changes relative to recent behaviour; scale-free.",
    params: PARAMS,
};

/// Registry entry.
pub(super) const ENTRY: DetectorEntry = DetectorEntry { info: &INFO, build };

#[expect(
    clippy::unnecessary_wraps,
    reason = "the registry's build signature is fallible"
)]
fn build(params: &Params, _seed: u64) -> Result<Box<dyn Detector>, DetectError> {
    Ok(Box::new(PerColumn::new(
        &INFO,
        SpectralResidualColumn::new(params.usize("window")),
        Combine::from_param(params.text("combine")),
    )))
}

/// The planned transforms (shared between clones; `Fft` has no `Debug`).
#[derive(Clone)]
struct Plans {
    forward: Arc<dyn Fft<f64>>,
    inverse: Arc<dyn Fft<f64>>,
}

impl std::fmt::Debug for Plans {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Plans(len {})", self.forward.len())
    }
}

/// One column: the recent values and scratch buffers.
#[derive(Clone, Debug)]
pub struct SpectralResidualColumn {
    window: usize,
    ring: Vec<f64>,
    next: usize,
    plans: Plans,
    buffer: Vec<Complex<f64>>,
    scratch: Vec<Complex<f64>>,
    log_amplitude: Vec<f64>,
}

impl SpectralResidualColumn {
    /// An empty state over the last `window` values (at least 24).
    pub fn new(window: usize) -> Self {
        let window = window.max(SCORE_WINDOW + 3);
        let len = window + EXTEND;
        let mut planner = FftPlanner::new();
        let forward = planner.plan_fft_forward(len);
        let inverse = planner.plan_fft_inverse(len);
        let scratch_len = forward
            .get_inplace_scratch_len()
            .max(inverse.get_inplace_scratch_len());
        Self {
            window,
            ring: Vec::with_capacity(window),
            next: 0,
            plans: Plans { forward, inverse },
            buffer: vec![Complex::default(); len],
            scratch: vec![Complex::default(); scratch_len],
            log_amplitude: vec![0.0; len],
        }
    }

    /// Score of the newest value in `self.ring` (full), oldest first from `self.next`.
    fn score_newest(&mut self) -> f64 {
        let w = self.window;
        for (i, slot) in self.buffer.iter_mut().take(w).enumerate() {
            *slot = Complex::new(self.ring[(self.next + i) % w], 0.0);
        }
        // Extrapolate as the reference implementation does (`predict_next` over the six values
        // before the newest one, so a spike in the newest value does not leak into the
        // extension): x̂ = x_{-5} + Σ_i (x_{-1} - x_{-1-i}) / i over the five earlier values.
        let before = |k: usize| self.buffer[w - 1 - k].re;
        let last = before(1);
        let slopes: f64 = (2..=EXTEND + 1)
            .map(|k| (last - before(k)) / (k - 1) as f64)
            .sum();
        let estimate = before(EXTEND) + slopes;
        for slot in &mut self.buffer[w..] {
            *slot = Complex::new(estimate, 0.0);
        }
        self.plans
            .forward
            .process_with_scratch(&mut self.buffer, &mut self.scratch);
        let len = self.buffer.len();
        for (log, c) in self.log_amplitude.iter_mut().zip(&self.buffer) {
            *log = c.norm().max(EPS).ln();
        }
        // Spectral residual with a centred average filter of width q (edges: shorter window).
        let half = AMPLITUDE_FILTER / 2;
        for k in 0..len {
            let lo = k.saturating_sub(half);
            let hi = (k + half).min(len - 1);
            let average = self.log_amplitude[lo..=hi].iter().sum::<f64>() / (hi - lo + 1) as f64;
            let residual = self.log_amplitude[k] - average;
            let c = self.buffer[k];
            let amplitude = c.norm();
            // exp(R + iP) = exp(R) · c / |c|
            self.buffer[k] = if amplitude > EPS {
                c * (residual.exp() / amplitude)
            } else {
                Complex::new(residual.exp(), 0.0)
            };
        }
        self.plans
            .inverse
            .process_with_scratch(&mut self.buffer, &mut self.scratch);
        let saliency = |i: usize| self.buffer[i].norm() / len as f64;
        let current = saliency(w - 1);
        let average = (w - SCORE_WINDOW..w).map(saliency).sum::<f64>() / SCORE_WINDOW as f64;
        (current - average).abs() / average.max(EPS)
    }
}

impl Univariate for SpectralResidualColumn {
    fn reset(&mut self) {
        self.ring.clear();
        self.next = 0;
    }

    fn update(&mut self, x: f64) -> f64 {
        if !x.is_finite() {
            return f64::NAN;
        }
        if self.ring.len() < self.window {
            self.ring.push(x);
            if self.ring.len() < self.window {
                return f64::NAN;
            }
        } else {
            self.ring[self.next] = x;
            self.next = (self.next + 1) % self.window;
        }
        self.score_newest()
    }

    fn warm_up_rows(&self) -> usize {
        self.window - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::seasonal_values;

    #[test]
    fn spike_stands_out_and_scale_does_not_matter() {
        let mut values = seasonal_values(600, 40, 0.05, 3);
        values[400] += 3.0;
        let mut col = SpectralResidualColumn::new(64);
        let scores: Vec<f64> = values.iter().map(|&x| col.update(x)).collect();
        assert!(scores[..63].iter().all(|s| s.is_nan()));
        assert!(scores[63..].iter().all(|s| s.is_finite()));
        let top = (63..600)
            .max_by(|&a, &b| scores[a].total_cmp(&scores[b]))
            .unwrap();
        assert_eq!(top, 400);
        let mut scaled = SpectralResidualColumn::new(64);
        let again: Vec<f64> = values.iter().map(|&x| scaled.update(x * 1000.0)).collect();
        assert!((again[400] - scores[400]).abs() < 1e-6 * scores[400]);
    }
}
