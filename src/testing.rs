//! Seeded synthetic data and assertions shared by unit tests, integration tests and benches.

use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;

use crate::detect::Detector;
use crate::model::{Column, Series, Timestamp};

/// A seasonal signal: `sin(2π i / period)` plus uniform noise of amplitude `noise`, seeded.
/// Row `i` is at `i` seconds. No anomalies.
pub fn seasonal_values(len: usize, period: usize, noise: f64, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let period = period.max(1) as f64;
    (0..len)
        .map(|i| {
            let phase = std::f64::consts::TAU * i as f64 / period;
            phase.sin() + noise * (rng.random::<f64>() * 2.0 - 1.0)
        })
        .collect()
}

/// [`seasonal_values`] as a univariate [`Series`] named `value`.
pub fn seasonal_series(len: usize, period: usize, noise: f64, seed: u64) -> Series {
    Series::from_values("value", seasonal_values(len, period, noise, seed))
}

/// A seasonal series with a spike of height `+8` at `spike_at` and a level shift of `+4` over
/// `shift` (a row range), labelled at exactly those rows.
pub fn seasonal_with_anomalies(
    len: usize,
    period: usize,
    spike_at: usize,
    shift: std::ops::Range<usize>,
    seed: u64,
) -> Series {
    let mut values = seasonal_values(len, period, 0.1, seed);
    let mut labels = vec![false; len];
    if let Some(v) = values.get_mut(spike_at) {
        *v += 8.0;
        labels[spike_at] = true;
    }
    for i in shift.clone().filter(|&i| i < len) {
        values[i] += 4.0;
        labels[i] = true;
    }
    let timestamps = (0..len as i64)
        .map(|i| Timestamp(i * Timestamp::NANOS_PER_SEC))
        .collect();
    Series::new(timestamps, vec![Column::new("value", values)], Some(labels))
        .unwrap_or_else(|_| Series::from_values("value", Vec::new()))
}

/// Asserts two float slices are equal within `tol`, treating NaN as equal to NaN.
#[track_caller]
pub fn assert_all_close(actual: &[f64], expected: &[f64], tol: f64) {
    assert_eq!(actual.len(), expected.len(), "lengths differ");
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        let same = (a.is_nan() && e.is_nan()) || (a - e).abs() <= tol;
        assert!(same, "index {i}: {a} vs {e} (tol {tol})");
    }
}

/// Scores a series row by row through `update` after `reset`: the streaming path, to compare
/// with `score_series` (the batch path).
///
/// # Panics
/// When the detector fails on a row (tests only).
pub fn streamed(detector: &mut dyn Detector, series: &Series) -> Vec<f64> {
    detector.reset();
    let mut buf = Vec::new();
    (0..series.len())
        .map(|i| {
            let row = series.row_into(i, &mut buf).expect("row in range");
            detector.update(row).expect("update")
        })
        .collect()
}

/// The bit patterns of floats, for exact (NaN-aware) equality assertions.
pub fn bits(values: &[f64]) -> Vec<u64> {
    values.iter().map(|x| x.to_bits()).collect()
}

/// A univariate series shaped like the Python peers' `gen_big.py` (sine of period 288,
/// amplitude 5–10, a linear trend, Gaussian noise, ±7 spikes about every 2 000 rows and level
/// shifts of 3–6 about every 5 000 rows), seeded: the data of the speed benches and examples,
/// so that figures compare with `../shared/peers/PEERS.md`.
pub fn gen_big(rows: usize, seed: u64) -> Series {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let phase = rng.random::<f64>() * std::f64::consts::TAU;
    let amp = 5.0 + 5.0 * rng.random::<f64>();
    let trend = -3.0 + 6.0 * rng.random::<f64>();
    let mut values: Vec<f64> = (0..rows)
        .map(|t| {
            // Box-Muller normal noise.
            let (u1, u2) = (rng.random::<f64>().max(1e-300), rng.random::<f64>());
            let noise = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
            amp * (std::f64::consts::TAU * t as f64 / 288.0 + phase).sin()
                + trend * t as f64 / rows as f64
                + noise
        })
        .collect();
    for block in (1000..rows).step_by(2000) {
        let at = block + rng.random_range(0..1000);
        if at < rows {
            values[at] += if rng.random::<bool>() { 7.0 } else { -7.0 };
        }
    }
    for block in (1000..rows).step_by(5000) {
        let (start, len) = (block + rng.random_range(0..2000), rng.random_range(20..200));
        let shift = 3.0 + 3.0 * rng.random::<f64>();
        for v in values.iter_mut().skip(start).take(len) {
            *v += shift;
        }
    }
    Series::from_values("value", values)
}

/// CPU seconds (user + system) this process has used, from `/proc/self/stat`; NaN where that
/// is not available. Speed examples print it beside wall time, so figures taken on a loaded
/// machine can still be compared.
pub fn process_cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return f64::NAN;
    };
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return f64::NAN;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    match (ticks(11), ticks(12)) {
        (Some(u), Some(s)) => (u + s) / 100.0,
        _ => f64::NAN,
    }
}
