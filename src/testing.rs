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
