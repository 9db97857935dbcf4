//! Dominant period of a series by autocorrelation, shared by detectors that need a season
//! length or a window (S-H-ESD; usable by subsequence detectors for their window).
//!
//! The series is detrended (least-squares line) and its missing values are filled with the
//! median; the autocorrelation is computed for lags `2..=max_period` over at most
//! [`MAX_ACF_VALUES`] values. The answer is the smallest local maximum whose autocorrelation is
//! at least 80 % of the best local maximum, and at least [`MIN_ACF`] (so multiples of the true
//! period are not chosen, and noise has no period).

/// Values used for the autocorrelation (the first ones of the series), to bound the cost.
pub const MAX_ACF_VALUES: usize = 50_000;

/// Autocorrelation a peak needs to count as a period.
pub const MIN_ACF: f64 = 0.2;

/// The dominant period in rows, or `None` when there is no clear one (fewer than two full
/// periods, flat or aperiodic data).
pub fn dominant_period(values: &[f64], max_period: usize) -> Option<usize> {
    let acf = autocorrelation(values, max_period)?;
    let peaks: Vec<(usize, f64)> = (3..acf.len().saturating_sub(1))
        .filter(|&lag| acf[lag] > acf[lag - 1] && acf[lag] >= acf[lag + 1] && acf[lag] >= MIN_ACF)
        .map(|lag| (lag, acf[lag]))
        .collect();
    let best = peaks.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    peaks.iter().find(|p| p.1 >= 0.8 * best).map(|p| p.0)
}

/// Autocorrelation for lags `0..=max_lag` (index = lag) of the detrended, median-filled
/// values; `None` when the series is too short, mostly missing or flat.
fn autocorrelation(values: &[f64], max_period: usize) -> Option<Vec<f64>> {
    let values = &values[..values.len().min(MAX_ACF_VALUES)];
    let n = values.len();
    let max_lag = max_period.min(n / 2);
    if max_lag < 4 {
        return None;
    }
    let mut finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if finite.len() < n / 2 {
        return None;
    }
    let mid = finite.len() / 2;
    let fill = *finite.select_nth_unstable_by(mid, f64::total_cmp).1;
    let filled: Vec<f64> = values
        .iter()
        .map(|&v| if v.is_finite() { v } else { fill })
        .collect();
    // Least-squares line through (i, x_i).
    let nf = n as f64;
    let mean_i = (nf - 1.0) / 2.0;
    let mean_x = filled.iter().sum::<f64>() / nf;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (i, &x) in filled.iter().enumerate() {
        let di = i as f64 - mean_i;
        sxy += di * (x - mean_x);
        sxx += di * di;
    }
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    let detrended: Vec<f64> = filled
        .iter()
        .enumerate()
        .map(|(i, &x)| x - mean_x - slope * (i as f64 - mean_i))
        .collect();
    let variance: f64 = detrended.iter().map(|d| d * d).sum();
    if variance.is_nan() || variance <= 0.0 {
        return None;
    }
    let acf = (0..=max_lag)
        .map(|lag| {
            let s: f64 = detrended[..n - lag]
                .iter()
                .zip(&detrended[lag..])
                .map(|(a, b)| a * b)
                .sum();
            s / variance
        })
        .collect();
    Some(acf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::seasonal_values;

    #[test]
    fn finds_sine_period_despite_trend_and_gaps() {
        let mut values: Vec<f64> = seasonal_values(3000, 48, 0.3, 1)
            .iter()
            .enumerate()
            .map(|(i, v)| v + i as f64 * 0.002)
            .collect();
        values[100] = f64::NAN;
        assert_eq!(dominant_period(&values, 500), Some(48));
        assert_eq!(
            dominant_period(&seasonal_values(3000, 24, 0.1, 2), 1000),
            Some(24)
        );
    }

    #[test]
    fn noise_and_flat_have_no_period() {
        // Period 1: sin(2πi) = 0, so only the seeded uniform noise is left.
        assert_eq!(
            dominant_period(&seasonal_values(2000, 1, 1.0, 3), 300),
            None
        );
        assert_eq!(dominant_period(&[1.0; 500], 100), None);
        assert_eq!(dominant_period(&[1.0, 2.0], 100), None);
    }
}
