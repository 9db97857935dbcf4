//! Seasonal-hybrid ESD (Hochenbaum, Vallis, Kejariwal 2017, Twitter's `AnomalyDetection`),
//! online form. `fit` decomposes each training column: the period is given or detected by
//! autocorrelation ([`super::period`]), the trend is a centred moving average over one period,
//! the seasonal profile is the per-phase median of the detrended values and the level is the
//! median of the de-seasonalised values ("hybrid": median instead of the trend).
//! Scoring is causal: the residual `x - seasonal[phase] - level` of each new value is turned
//! into the robust generalized-ESD statistic `|r - median(r)| / MAD(r)` (training residuals)
//! and divided by the ESD critical value λ for the allowed anomaly fraction, so a score ≥ 1
//! is what S-H-ESD would flag.
//!
//! Differences from the batch algorithm, chosen so that streaming equals batch: the seasonal
//! profile and the statistics come from `fit` (the training data) rather than from the scored
//! window, and the iterative removal of the ESD test is replaced by its robust (median/MAD)
//! statistic, which is what makes the "hybrid" variant robust in the first place. The phase of
//! row `i` after `reset` is `i mod period`: the scored series is assumed to start at the same
//! phase as the training series (true when fitting and scoring the same data).

use super::columns::{COMBINE_MAX, Combine, PerColumn, Univariate};
use super::ewma::median;
use super::period::dominant_period;
use super::registry::DetectorEntry;
use super::{DetectError, Detector, DetectorInfo, Family};
use crate::model::{ParamKind, ParamSpec, Params};

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "period",
        kind: ParamKind::Int {
            min: 0,
            max: 100_000,
            default: 0,
        },
        help: "Season length in rows; 0 = detect it by autocorrelation (1 = no season).",
    },
    ParamSpec {
        name: "max_period",
        kind: ParamKind::Int {
            min: 4,
            max: 100_000,
            default: 1500,
        },
        help: "Longest season considered when detecting the period.",
    },
    ParamSpec {
        name: "max_anoms",
        kind: ParamKind::Float {
            min: 0.001,
            max: 0.49,
            default: 0.05,
        },
        help: "Largest fraction of anomalies the ESD test allows (sets the critical value that \
               maps to score 1).",
    },
    ParamSpec {
        name: "alpha",
        kind: ParamKind::Float {
            min: 0.0001,
            max: 0.5,
            default: 0.05,
        },
        help: "Significance level of the ESD test.",
    },
    COMBINE_MAX,
];

static INFO: DetectorInfo = DetectorInfo {
    id: "seasonal_esd",
    name: "Seasonal-hybrid ESD",
    family: Family::Statistical,
    multivariate: false,
    streaming: true,
    description: "Removes a fitted seasonal profile and the median level, then scores residuals \
                  with the robust generalized-ESD statistic (1 = ESD critical value). Catches \
                  spikes, dips and shifts that break the seasonal pattern; needs `fit`.",
    params: PARAMS,
};

/// Registry entry.
pub(super) const ENTRY: DetectorEntry = DetectorEntry { info: &INFO, build };

#[expect(
    clippy::unnecessary_wraps,
    reason = "the registry's build signature is fallible"
)]
fn build(params: &Params, _seed: u64) -> Result<Box<dyn Detector>, DetectError> {
    let settings = Settings {
        period: params.usize("period"),
        max_period: params.usize("max_period"),
        max_anoms: params.float("max_anoms"),
        alpha: params.float("alpha"),
    };
    Ok(Box::new(PerColumn::new(
        &INFO,
        SeasonalEsdColumn::new(settings),
        Combine::from_param(params.text("combine")),
    )))
}

/// The user's settings.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// Season length; 0 = detect.
    pub period: usize,
    /// Longest detectable season.
    pub max_period: usize,
    /// Allowed anomaly fraction.
    pub max_anoms: f64,
    /// ESD significance.
    pub alpha: f64,
}

/// One column: the fitted decomposition and the phase counter.
#[derive(Clone, Debug)]
pub struct SeasonalEsdColumn {
    settings: Settings,
    /// Per-phase seasonal offset (length = period).
    seasonal: Vec<f64>,
    level: f64,
    residual_median: f64,
    residual_spread: f64,
    critical: f64,
    /// Rows seen since the start of the training series' phase 0.
    row: usize,
    /// Phase of the first row after `reset` (0 after `fit`, the bootstrap length after a
    /// self-fit while streaming).
    first_row: usize,
}

impl SeasonalEsdColumn {
    /// Unfitted state.
    pub fn new(settings: Settings) -> Self {
        Self {
            settings,
            seasonal: vec![0.0],
            level: 0.0,
            residual_median: 0.0,
            residual_spread: 1.0,
            critical: 1.0,
            row: 0,
            first_row: 0,
        }
    }

    /// The fitted season length (1 = none).
    #[cfg(test)]
    fn period(&self) -> usize {
        self.seasonal.len()
    }

    fn residual(&self, x: f64, row: usize) -> f64 {
        x - self.seasonal[row % self.seasonal.len()] - self.level
    }
}

impl Univariate for SeasonalEsdColumn {
    fn fit(&mut self, train: &[f64]) -> Result<(), String> {
        let finite = train.iter().filter(|x| x.is_finite()).count();
        if finite < 20 {
            return Err(format!(
                "needs at least 20 finite training values, got {finite}"
            ));
        }
        let period = match self.settings.period {
            0 => dominant_period(train, self.settings.max_period).unwrap_or(1),
            p => p,
        };
        let period = if train.len() >= 2 * period {
            period.max(1)
        } else {
            1
        };
        // Trend: centred moving average over one period (NaN-aware), edges held.
        let trend = moving_average(train, period);
        let mut by_phase: Vec<Vec<f64>> = vec![Vec::new(); period];
        for (i, (&x, &t)) in train.iter().zip(&trend).enumerate() {
            if x.is_finite() && t.is_finite() {
                by_phase[i % period].push(x - t);
            }
        }
        let mut seasonal: Vec<f64> = by_phase
            .iter_mut()
            .map(|v| if v.is_empty() { 0.0 } else { median(v) })
            .collect();
        let centre = median(&mut seasonal.clone());
        for s in &mut seasonal {
            *s -= centre;
        }
        self.seasonal = seasonal;
        let mut deseasonalised: Vec<f64> = train
            .iter()
            .enumerate()
            .filter(|(_, x)| x.is_finite())
            .map(|(i, &x)| x - self.seasonal[i % period])
            .collect();
        self.level = median(&mut deseasonalised);
        let mut residuals: Vec<f64> = deseasonalised.iter().map(|d| d - self.level).collect();
        self.residual_median = median(&mut residuals);
        let mut deviations: Vec<f64> = residuals
            .iter()
            .map(|r| (r - self.residual_median).abs())
            .collect();
        let mut spread = 1.4826 * median(&mut deviations);
        if spread.is_nan() || spread <= 0.0 {
            spread = deviations.iter().sum::<f64>() / deviations.len() as f64 * 1.2533;
        }
        self.residual_spread = spread.max(1e-9 * (self.level.abs() + 1.0));
        let n = residuals.len();
        let k = ((n as f64 * self.settings.max_anoms).ceil() as usize).clamp(1, n - 2);
        self.critical = esd_critical_value(n, k, self.settings.alpha);
        self.row = 0;
        self.first_row = 0;
        Ok(())
    }

    fn bootstrap_rows(&self) -> Option<usize> {
        Some((3 * self.settings.max_period).max(500))
    }

    fn reset(&mut self) {
        self.row = self.first_row;
    }

    #[inline]
    fn update(&mut self, x: f64) -> f64 {
        let row = self.row;
        self.row += 1;
        if !x.is_finite() {
            return f64::NAN;
        }
        let statistic = (self.residual(x, row) - self.residual_median).abs() / self.residual_spread;
        statistic / self.critical
    }

    fn warm_up_rows(&self) -> usize {
        0
    }

    fn after_bootstrap(&mut self, rows: usize) {
        self.first_row = rows;
        self.row = rows;
    }
}

/// Centred moving average of `values` over `window` rows, skipping NaN; rows whose window is
/// cut by an edge take the nearest full window's value.
fn moving_average(values: &[f64], window: usize) -> Vec<f64> {
    let n = values.len();
    if window <= 1 || n < window {
        return values.to_vec();
    }
    let half = window / 2;
    let mut out = vec![f64::NAN; n];
    let (mut sum, mut count) = (0.0, 0usize);
    for (i, &v) in values.iter().enumerate() {
        if v.is_finite() {
            sum += v;
            count += 1;
        }
        if i >= window {
            let old = values[i - window];
            if old.is_finite() {
                sum -= old;
                count -= 1;
            }
        }
        if i + 1 >= window && count > 0 {
            out[i + 1 - window + half] = sum / count as f64;
        }
    }
    let first = half;
    let last = n - window + half;
    for i in 0..first {
        out[i] = out[first];
    }
    for i in last + 1..n {
        out[i] = out[last];
    }
    out
}

/// Critical value `λ_k` of the generalized ESD test (Rosner 1983) for the k-th most extreme of
/// `n` values at significance `alpha`.
pub fn esd_critical_value(n: usize, k: usize, alpha: f64) -> f64 {
    let (n, k) = (n as f64, k as f64);
    let p = 1.0 - alpha / (2.0 * (n - k + 1.0));
    let df = n - k - 1.0;
    let t = t_quantile(p, df.max(1.0));
    (n - k) * t / ((df + t * t) * (n - k + 1.0)).sqrt()
}

/// Quantile of Student's t with `df` degrees of freedom: the normal quantile corrected by the
/// Cornish-Fisher expansion (error below 1e-3 for df ≥ 5, the range S-H-ESD uses).
pub fn t_quantile(p: f64, df: f64) -> f64 {
    let z = normal_quantile(p);
    let (z2, z3) = (z * z, z * z * z);
    let (z5, z7, z9) = (z3 * z2, z3 * z2 * z2, z3 * z3 * z3);
    z + (z3 + z) / (4.0 * df)
        + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * df * df)
        + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / (384.0 * df.powi(3))
        + (79.0 * z9 + 776.0 * z7 + 1482.0 * z5 - 1920.0 * z3 - 945.0 * z) / (92160.0 * df.powi(4))
}

/// Standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9).
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let p = p.clamp(1e-300, 1.0 - 1e-16);
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::seasonal_values;

    fn settings() -> Settings {
        Settings {
            period: 0,
            max_period: 200,
            max_anoms: 0.05,
            alpha: 0.05,
        }
    }

    #[test]
    fn quantiles_match_tables() {
        assert!((normal_quantile(0.975) - 1.959_964).abs() < 1e-5);
        assert!((normal_quantile(0.001) + 3.090_232).abs() < 1e-5);
        assert!((t_quantile(0.975, 10.0) - 2.228_139).abs() < 2e-3);
        assert!((t_quantile(0.995, 30.0) - 2.749_996).abs() < 1e-3);
        // Rosner's table: n = 100, k = 1, alpha = 0.05 → λ = 3.384.
        assert!((esd_critical_value(100, 1, 0.05) - 3.384).abs() < 0.01);
    }

    #[test]
    fn removes_the_season_and_flags_a_small_dip() {
        let mut train = seasonal_values(2000, 50, 0.05, 1);
        for v in &mut train {
            *v *= 10.0;
        }
        let mut col = SeasonalEsdColumn::new(settings());
        col.fit(&train).unwrap();
        assert_eq!(col.period(), 50);
        let mut test = train.clone();
        test[1234] -= 3.0; // a dip 6x the noise but well inside the seasonal range
        let scores: Vec<f64> = test.iter().map(|&x| col.update(x)).collect();
        let top = scores
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap()
            .0;
        assert_eq!(top, 1234);
        assert!(scores[1234] > 1.0, "{}", scores[1234]);
        let normal_max = scores
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 1234)
            .map(|(_, s)| *s)
            .fold(0.0, f64::max);
        assert!(normal_max < 1.0, "{normal_max}");
    }

    #[test]
    fn too_short_training_is_an_error() {
        assert!(SeasonalEsdColumn::new(settings()).fit(&[1.0; 5]).is_err());
    }

    #[test]
    fn moving_average_holds_edges() {
        let ma = moving_average(&[1.0, 2.0, 3.0, 4.0, 5.0], 3);
        assert_eq!(ma, vec![2.0, 2.0, 3.0, 4.0, 4.0]);
    }
}
