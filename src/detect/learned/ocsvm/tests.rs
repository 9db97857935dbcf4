//! Detector-level tests: spike detection, saved states (new and linfa-era), both solvers.

use super::*;
use crate::detect::persist::Persist as _;
use crate::testing::{seasonal_series, seasonal_with_anomalies};

#[test]
fn flags_the_spike_window_and_round_trips() {
    let train = seasonal_series(400, 25, 0.05, 1);
    let test = seasonal_with_anomalies(300, 25, 200, 0..0, 2);
    let mut det = OneClassSvm::new(10, 0.05, 0.0, 300);
    det.fit(&train, &CancelToken::new()).unwrap();
    assert!(det.support_vectors() > 0);
    let scores = det.score_series(&test, &CancelToken::new()).unwrap();
    assert!(scores[..9].iter().all(|s| s.is_nan()));
    let normal = scores[9..190].iter().copied().fold(f64::MIN, f64::max);
    assert!(scores[200] > normal, "{} vs {normal}", scores[200]);

    let mut loaded = OneClassSvm::new(3, 0.5, 0.0, 10);
    loaded.load_state(&det.save_state().unwrap()).unwrap();
    assert_eq!(loaded.window(), 10);
    assert_eq!(loaded.support_vectors(), det.support_vectors());
    let again = loaded.score_series(&test, &CancelToken::new()).unwrap();
    crate::testing::assert_all_close(&again, &scores, 0.0);
}

/// Our solver and linfa-svm, both at libsvm's tolerance, give the same detector: the same
/// number of support vectors and scores that differ by far less than their spread.
#[test]
fn smo_and_linfa_solvers_fit_the_same_model() {
    let train = seasonal_series(500, 25, 0.05, 3);
    let test = seasonal_with_anomalies(300, 25, 150, 0..0, 4);
    let fit = |solver| {
        let mut det = OneClassSvm::new(8, 0.1, 0.0, 400).with_solver(solver);
        det.fit(&train, &CancelToken::new()).unwrap();
        det
    };
    let (mut smo, mut linfa) = (fit(SvmSolver::Smo), fit(SvmSolver::Linfa));
    assert_eq!(smo.support_vectors(), linfa.support_vectors());
    let a = smo.score_series(&test, &CancelToken::new()).unwrap();
    let b = linfa.score_series(&test, &CancelToken::new()).unwrap();
    let spread = b[7..].iter().copied().fold(f64::MIN, f64::max)
        - b[7..].iter().copied().fold(f64::MAX, f64::min);
    for (x, y) in a[7..].iter().zip(&b[7..]) {
        assert!(
            (x - y).abs() <= 1e-4 * spread,
            "{x} vs {y} (spread {spread})"
        );
    }
}

/// States saved before our solver existed hold linfa's model; they still load and score, and
/// the vectorised decision function equals linfa's `weighted_sum` (up to summation order).
#[test]
fn linfa_era_states_still_load_and_score_the_same() {
    let train = seasonal_series(300, 25, 0.05, 3);
    let mut det = OneClassSvm::new(8, 0.1, 0.0, 300).with_solver(SvmSolver::Linfa);
    det.fit(&train, &CancelToken::new()).unwrap();
    let fitted = det.model().unwrap().clone();
    // Rebuild linfa's own model on the same windows, as the old `fit` stored it.
    let scaler = super::super::window::Scaler::fit(&train);
    let (windows, n) = super::super::window::training_windows(
        &train,
        &scaler,
        8,
        300,
        "ocsvm",
        &CancelToken::new(),
    )
    .unwrap();
    let weighted: Vec<f64> = windows
        .chunks_exact(8)
        .flat_map(|w| w.iter().zip(&fitted.weights).map(|(x, k)| x * k))
        .collect();
    let dataset = DatasetBase::from(Array2::from_shape_vec((n, 8), weighted).unwrap());
    let svm = Svm::<f64, linfa::dataset::Pr>::params()
        .nu_weight(0.1)
        .gaussian_kernel(1.0 / fitted.gamma)
        .eps(SOLVER_EPS)
        .fit(&dataset)
        .unwrap();
    assert_eq!(svm.nsupport(), fitted.coef.len());
    let legacy = SvmModel {
        rho: 0.0,
        support: Vec::new(),
        coef: Vec::new(),
        svm: Some(svm),
        ..fitted.clone()
    };
    let json = serde_json::to_string(&legacy).unwrap();
    let loaded: SvmModel = serde_json::from_str(&json).unwrap();
    // A state with support vectors and linfa's model (saved by the previous version).
    let both = SvmModel {
        rho: 0.0,
        ..serde_json::from_str::<SvmModel>(&json)
            .map(|m| SvmModel {
                support: fitted.support.clone(),
                coef: fitted.coef.clone(),
                ..m
            })
            .unwrap()
    };
    for k in 0..50_u32 {
        let window: Vec<f64> = (0..8_u32)
            .map(|i| (f64::from(k * 8 + i) * 0.37).sin() * (1.0 + f64::from(k) / 10.0))
            .collect();
        let (a, b, c) = (
            fitted.score(&window),
            loaded.score(&window),
            both.score(&window),
        );
        assert!((a - b).abs() <= 1e-9 * (1.0 + b.abs()), "{k}: {a} vs {b}");
        assert_eq!(a.to_bits(), c.to_bits(), "{k}");
    }
}

#[test]
fn solver_parameter_picks_the_solver() {
    use crate::detect::DetectorSpec;
    use crate::model::ParamValue;
    let train = seasonal_series(200, 25, 0.05, 5);
    let spec = |solver: &str| {
        let mut spec = DetectorSpec::new("ocsvm");
        spec.params
            .insert("solver".to_owned(), ParamValue::Text(solver.to_owned()));
        spec.params.insert("window".to_owned(), ParamValue::Int(8));
        spec
    };
    let mut scores = Vec::new();
    for solver in ["smo", "linfa"] {
        let mut det = spec(solver).build().unwrap();
        det.fit(&train, &CancelToken::new()).unwrap();
        scores.push(det.score_series(&train, &CancelToken::new()).unwrap());
    }
    assert_ne!(scores[0][7..], scores[1][7..], "two different solvers ran");
    assert!(matches!(
        spec("libsvm").build(),
        Err(DetectError::Params { .. })
    ));
}

#[test]
fn cancelled_fit_is_reported() {
    let train = seasonal_series(300, 25, 0.05, 6);
    let cancel = CancelToken::new();
    cancel.cancel();
    let mut det = OneClassSvm::new(8, 0.1, 0.0, 300);
    assert!(matches!(
        det.fit(&train, &cancel),
        Err(DetectError::Cancelled)
    ));
}

#[test]
fn unfitted_is_an_error() {
    let mut det = OneClassSvm::new(4, 0.1, 0.0, 100);
    let series = seasonal_series(20, 5, 0.0, 0);
    assert!(matches!(
        det.score_series(&series, &CancelToken::new()),
        Err(DetectError::Input { .. })
    ));
    assert!(det.save_state().is_err());
}
