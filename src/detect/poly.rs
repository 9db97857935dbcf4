//! POLY, after TSB-AD's polynomial-approximation detector, made causal: a polynomial of degree
//! `degree` is least-squares fitted to the previous `window` values and extrapolated one step;
//! the score of row `t` is the mean absolute prediction error over the last `score_window` rows,
//! divided by the median absolute error on the training data (so scores read as "times the
//! typical error", and columns are comparable).
//!
//! With equally spaced abscissas the fit-and-extrapolate is a fixed linear filter: the
//! prediction is `c · (previous window)` with `c` computed once (normal equations on abscissas
//! scaled to `[-1, 1]`), so a row costs O(`window`) with no drift. TSB-AD's version fits on both
//! sides of each block (look-ahead) and scores blocks with a Fourier distance; this one only looks
//! back, so it streams. Missing values are skipped (score NaN, state unchanged), as the rolling
//! z-score does.

use super::columns::{COMBINE_MAX, Combine, PerColumn, Univariate};
use super::registry::DetectorEntry;
use super::{DetectError, Detector, DetectorInfo, Family};
use crate::model::{ParamKind, ParamSpec, Params};

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "degree",
        kind: ParamKind::Int {
            min: 0,
            max: 6,
            default: 3,
        },
        help: "Degree of the polynomial fitted to the previous window.",
    },
    ParamSpec {
        name: "window",
        kind: ParamKind::Int {
            min: 2,
            max: 100_000,
            default: 100,
        },
        help: "Previous values the polynomial is fitted to (more than `degree`).",
    },
    ParamSpec {
        name: "score_window",
        kind: ParamKind::Int {
            min: 1,
            max: 10_000,
            default: 1,
        },
        help: "Rows whose prediction errors are averaged into one score.",
    },
    COMBINE_MAX,
];

static INFO: DetectorInfo = DetectorInfo {
    id: "poly",
    name: "POLY (polynomial extrapolation)",
    family: Family::Subsequence,
    multivariate: false,
    streaming: true,
    description: "Error of a polynomial fitted to the previous window and extrapolated one \
                  step (TSB-AD's simple strong method, causal). Catches spikes, jumps and \
                  breaks in local trend.",
    params: PARAMS,
};

/// Registry entry.
pub(super) const ENTRY: DetectorEntry = DetectorEntry { info: &INFO, build };

fn build(params: &Params, _seed: u64) -> Result<Box<dyn Detector>, DetectError> {
    let (degree, window) = (params.usize("degree"), params.usize("window"));
    if window <= degree {
        return Err(DetectError::Params {
            detector: INFO.id,
            source: crate::model::ParamsError::Range {
                name: "window".to_owned(),
                got: window.to_string(),
                allowed: format!("more than degree ({degree})"),
            },
        });
    }
    Ok(Box::new(Poly::from_params(
        degree,
        window,
        params.usize("score_window"),
        Combine::from_param(params.text("combine")),
    )))
}

/// POLY detector (see module docs): [`PolyColumn`] on every column.
pub type Poly = PerColumn<PolyColumn>;

impl Poly {
    /// Degree-`degree` fits over `window` values (`window > degree`), errors averaged over
    /// `score_window` rows.
    pub fn from_params(
        degree: usize,
        window: usize,
        score_window: usize,
        combine: Combine,
    ) -> Self {
        PerColumn::new(
            &INFO,
            PolyColumn::new(degree, window, score_window),
            combine,
        )
    }
}

/// Weights `c` with `prediction = sum_i c_i * y_i` for the least-squares polynomial of degree
/// `degree` through `y_0 .. y_{n-1}` evaluated at the next abscissa.
#[expect(
    clippy::many_single_char_names,
    reason = "textbook notation: n rows, m window, k neighbours, x/y/z values"
)]
fn extrapolation_weights(degree: usize, n: usize) -> Vec<f64> {
    let p = degree.min(n - 1) + 1;
    let scale = if n > 1 { 2.0 / (n - 1) as f64 } else { 1.0 };
    let u = |i: usize| i as f64 * scale - 1.0;
    let powers = |x: f64| {
        (0..p).scan(1.0, move |acc, _| {
            let v = *acc;
            *acc *= x;
            Some(v)
        })
    };
    // Normal equations G z = v, G = A^T A, v = powers(u_n); then c_i = A_i · z.
    let mut g = vec![vec![0.0; p + 1]; p];
    for i in 0..n {
        let a: Vec<f64> = powers(u(i)).collect();
        for (row, &ar) in g.iter_mut().zip(&a) {
            for (cell, &ac) in row.iter_mut().zip(&a) {
                *cell += ar * ac;
            }
        }
    }
    for (row, v) in g.iter_mut().zip(powers(u(n))) {
        row[p] = v;
    }
    // Gauss-Jordan elimination with partial pivoting (G is small and well conditioned on
    // [-1, 1] abscissas).
    for col in 0..p {
        let pivot = (col..p)
            .max_by(|&a, &b| g[a][col].abs().total_cmp(&g[b][col].abs()))
            .unwrap_or(col);
        g.swap(col, pivot);
        let pivot_row = g[col].clone();
        if pivot_row[col].abs() < 1e-300 {
            continue;
        }
        for (r, row) in g.iter_mut().enumerate() {
            if r != col {
                let f = row[col] / pivot_row[col];
                for (cell, &pc) in row.iter_mut().zip(&pivot_row).skip(col) {
                    *cell -= f * pc;
                }
            }
        }
    }
    let z: Vec<f64> = g
        .iter()
        .enumerate()
        .map(|(r, row)| {
            if row[r].abs() < 1e-300 {
                0.0
            } else {
                row[p] / row[r]
            }
        })
        .collect();
    (0..n)
        .map(|i| powers(u(i)).zip(&z).map(|(a, b)| a * b).sum())
        .collect()
}

/// One column of POLY.
#[derive(Clone, Debug)]
pub struct PolyColumn {
    window: usize,
    score_window: usize,
    weights: Vec<f64>,
    /// Median absolute training error (1 until fitted).
    scale: f64,
    /// Mirrored ring of the last `window` values.
    values: Vec<f64>,
    errors: Vec<f64>,
    seen: usize,
}

impl PolyColumn {
    fn new(degree: usize, window: usize, score_window: usize) -> Self {
        let window = window.max(degree + 1).max(2);
        Self {
            window,
            score_window: score_window.max(1),
            weights: extrapolation_weights(degree, window),
            scale: 1.0,
            values: vec![0.0; 2 * window],
            errors: Vec::new(),
            seen: 0,
        }
    }

    /// Absolute prediction error of `x`, then learns it; NaN until a window is full.
    fn error(&mut self, x: f64) -> f64 {
        let w = self.window;
        let slot = self.seen % w;
        let error = if self.seen >= w {
            let history = &self.values[slot..slot + w];
            let prediction: f64 = history.iter().zip(&self.weights).map(|(a, b)| a * b).sum();
            (x - prediction).abs()
        } else {
            f64::NAN
        };
        self.values[slot] = x;
        self.values[slot + w] = x;
        self.seen += 1;
        error
    }
}

impl Univariate for PolyColumn {
    fn fit(&mut self, train: &[f64]) -> Result<(), String> {
        self.reset();
        let mut errors: Vec<f64> = train
            .iter()
            .filter(|x| x.is_finite())
            .map(|&x| self.error(x))
            .filter(|e| e.is_finite())
            .collect();
        self.reset();
        if errors.is_empty() {
            return Err(format!(
                "needs more than {} finite training values",
                self.window
            ));
        }
        let mid = errors.len() / 2;
        let median = *errors.select_nth_unstable_by(mid, f64::total_cmp).1;
        let mean = errors.iter().sum::<f64>() / errors.len() as f64;
        // A perfectly predictable training series has median 0: fall back to the mean, then 1.
        self.scale = [median, mean, 1.0]
            .into_iter()
            .find(|&s| s > 1e-12)
            .unwrap_or(1.0);
        Ok(())
    }

    fn reset(&mut self) {
        self.values.fill(0.0);
        self.errors.clear();
        self.seen = 0;
    }

    fn update(&mut self, x: f64) -> f64 {
        if !x.is_finite() {
            return f64::NAN;
        }
        let error = self.error(x);
        if error.is_nan() {
            return f64::NAN;
        }
        if self.errors.len() == self.score_window {
            self.errors.remove(0);
        }
        self.errors.push(error);
        if self.errors.len() < self.score_window {
            return f64::NAN;
        }
        self.errors.iter().sum::<f64>() / self.score_window as f64 / self.scale
    }

    fn warm_up_rows(&self) -> usize {
        self.window + self.score_window - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::CancelToken;
    use crate::detect::subseq::argmax_finite;
    use crate::model::Series;
    use crate::testing::{seasonal_series, seasonal_with_anomalies};

    #[test]
    fn weights_extrapolate_polynomials_exactly() {
        for degree in 0..=4 {
            let w = extrapolation_weights(degree, 12);
            let f = |t: f64| {
                (0..=degree)
                    .map(|k| (k as f64 + 1.0) * (t / 7.0).powi(k as i32))
                    .sum::<f64>()
            };
            let prediction: f64 = (0..12).map(|i| w[i] * f(i as f64)).sum();
            assert!(
                (prediction - f(12.0)).abs() < 1e-8,
                "degree {degree}: {prediction} vs {}",
                f(12.0)
            );
        }
    }

    #[test]
    fn catches_spike_and_shift_and_batch_equals_streaming() {
        let train = seasonal_series(1000, 50, 0.05, 1);
        let test = seasonal_with_anomalies(1000, 50, 300, 600..700, 2);
        let mut det = Poly::from_params(3, 30, 1, Combine::Max);
        det.fit(&train, &CancelToken::new()).unwrap();
        let batch = det.score_series(&test, &CancelToken::new()).unwrap();
        assert!(batch[..30].iter().all(|s| s.is_nan()));
        assert!(batch[30..].iter().all(|s| s.is_finite()));
        assert_eq!(argmax_finite(&batch), 300);
        let normal = batch[400..590].iter().copied().fold(0.0, f64::max);
        assert!(batch[600] > normal);
        det.reset();
        let mut buf = Vec::new();
        for (i, b) in batch.iter().enumerate() {
            let s = det.update(test.row_into(i, &mut buf).unwrap()).unwrap();
            assert_eq!(s.to_bits(), b.to_bits());
        }
    }

    #[test]
    fn bad_params_are_errors() {
        let given = [("window".to_owned(), crate::model::ParamValue::Int(3))].into();
        let params = Params::resolve(PARAMS, &given).unwrap();
        assert!(build(&params, 0).is_err());
        assert!(
            Poly::from_params(2, 10, 1, Combine::Max)
                .fit(&Series::from_values("v", vec![1.0; 5]), &CancelToken::new())
                .is_err()
        );
    }
}
