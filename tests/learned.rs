//! Learned (linfa) and neural (candle) detectors through the registry: the detector contract
//! (batch == streaming bit for bit, seeded determinism, reset + replay, finite after warm-up),
//! planted anomalies, cancellation during training, per-column attribution and saved-state
//! round trips.

#![expect(clippy::unwrap_used, reason = "test helpers fail loudly")]

use std::collections::BTreeMap;

use anomdet::control::{CancelToken, Progress};
use anomdet::detect::{DetectError, Detector, DetectorSpec, NeuralConfig, NeuralDetector};
use anomdet::model::{Column, ParamValue, Series, Timestamp};
use anomdet::testing::{seasonal_series, seasonal_with_anomalies};

/// Every learned detector with parameters small enough for a debug build.
fn specs() -> Vec<DetectorSpec> {
    let small = |id: &str, params: &[(&str, ParamValue)]| DetectorSpec {
        id: id.to_owned(),
        params: params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect::<BTreeMap<_, _>>(),
        seed: 11,
    };
    let int = ParamValue::Int;
    vec![
        small("ocsvm", &[("window", int(16)), ("max_train", int(300))]),
        small(
            "dbscan_subsequence",
            &[("window", int(16)), ("max_train", int(300))],
        ),
        small(
            "kmeans_subsequence",
            &[("window", int(16)), ("clusters", int(5))],
        ),
        small(
            "pca_subsequence",
            &[("window", int(16)), ("components", int(3))],
        ),
        small(
            "lstm_autoencoder",
            &[
                ("window", int(16)),
                ("hidden", int(8)),
                ("epochs", int(3)),
                ("max_train", int(256)),
            ],
        ),
        small(
            "lstm_forecaster",
            &[
                ("window", int(16)),
                ("hidden", int(8)),
                ("epochs", int(3)),
                ("max_train", int(256)),
            ],
        ),
        small(
            "cnn_forecaster",
            &[
                ("window", int(16)),
                ("channels", int(8)),
                ("epochs", int(3)),
                ("max_train", int(256)),
            ],
        ),
    ]
}

fn fitted(spec: &DetectorSpec, train: &Series) -> Box<dyn Detector> {
    let mut det = spec.build().unwrap();
    det.fit(train, &CancelToken::new()).unwrap();
    det
}

fn streamed(det: &mut dyn Detector, series: &Series) -> Vec<f64> {
    det.reset();
    let mut buf = Vec::new();
    (0..series.len())
        .map(|i| det.update(series.row_into(i, &mut buf).unwrap()).unwrap())
        .collect()
}

fn same_bits(a: &[f64], b: &[f64], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(x.to_bits() == y.to_bits(), "{what}: row {i}: {x} vs {y}");
    }
}

fn two_columns(len: usize, anomaly_at: usize) -> Series {
    let a = anomdet::testing::seasonal_values(len, 20, 0.05, 1);
    let mut b: Vec<f64> = anomdet::testing::seasonal_values(len, 30, 0.05, 2)
        .iter()
        .map(|v| 10.0 + 3.0 * v)
        .collect();
    if anomaly_at < len {
        b[anomaly_at] += 20.0;
    }
    Series::new(
        (0..len as i64).map(Timestamp).collect(),
        vec![Column::new("a", a), Column::new("b", b)],
        None,
    )
    .unwrap()
}

#[test]
fn contract_holds_for_every_learned_detector() {
    let train = two_columns(500, usize::MAX);
    let mut test = two_columns(300, 200);
    test.values_mut(0).unwrap()[120] = f64::NAN; // a gap must not break scores after warm-up
    for spec in specs() {
        let id = spec.id.clone();
        let mut det = fitted(&spec, &train);
        let batch = det.score_series(&test, &CancelToken::new()).unwrap();
        let stream = streamed(det.as_mut(), &test);
        same_bits(&batch, &stream, &format!("{id} batch vs stream"));
        same_bits(
            &streamed(det.as_mut(), &test),
            &stream,
            &format!("{id} reset + replay"),
        );
        let mut again = fitted(&spec, &train);
        same_bits(
            &again.score_series(&test, &CancelToken::new()).unwrap(),
            &batch,
            &format!("{id} same seed"),
        );
        let warm = det.warm_up_rows().unwrap();
        assert!(
            batch[..warm].iter().all(|s| s.is_nan()),
            "{id}: warm-up must be NaN"
        );
        assert!(
            batch[warm..].iter().all(|s| s.is_finite()),
            "{id}: finite after warm-up"
        );
        // The detailed path (with attribution where available) gives the same scores.
        let detailed = det
            .score_series_detailed(&test, &CancelToken::new())
            .unwrap();
        same_bits(&detailed.scores, &batch, &format!("{id} detailed"));
    }
}

#[test]
fn planted_spike_scores_above_normal_rows() {
    let train = seasonal_series(800, 25, 0.1, 21);
    let test = seasonal_with_anomalies(500, 25, 300, 0..0, 22);
    for spec in specs() {
        let mut det = fitted(&spec, &train);
        let scores = det.score_series(&test, &CancelToken::new()).unwrap();
        let warm = det.warm_up_rows().unwrap();
        // Rows whose window cannot contain the spike.
        let normal = scores[warm..290].iter().copied().fold(f64::MIN, f64::max);
        assert!(
            scores[300] > normal,
            "{}: spike {} vs max normal {normal}",
            spec.id,
            scores[300]
        );
    }
}

#[test]
fn unfitted_detectors_say_fit_first() {
    let series = seasonal_series(100, 10, 0.1, 0);
    for spec in specs() {
        let mut det = spec.build().unwrap();
        let err = det.score_series(&series, &CancelToken::new()).unwrap_err();
        assert!(
            matches!(err, DetectError::Input { .. }) && err.to_string().contains("fit"),
            "{}: {err}",
            spec.id
        );
        assert!(det.as_persist().unwrap().save_state().is_err());
    }
}

#[test]
fn saved_state_round_trips_through_bytes() {
    let train = two_columns(400, usize::MAX);
    let test = two_columns(250, 150);
    for spec in specs() {
        let mut det = fitted(&spec, &train);
        let scores = det.score_series(&test, &CancelToken::new()).unwrap();
        let bytes = det.as_persist().unwrap().save_state().unwrap();
        // A detector built with other parameters takes the saved shape.
        let mut fresh = DetectorSpec::new(&spec.id).build().unwrap();
        fresh.as_persist().unwrap().load_state(&bytes).unwrap();
        same_bits(
            &fresh.score_series(&test, &CancelToken::new()).unwrap(),
            &scores,
            &spec.id,
        );
        same_bits(
            &streamed(fresh.as_mut(), &test),
            &scores,
            &format!("{} streamed after load", spec.id),
        );
        // Bytes of one detector are refused by another, and junk is refused.
        let other = if spec.id == "ocsvm" {
            "pca_subsequence"
        } else {
            "ocsvm"
        };
        let mut wrong = DetectorSpec::new(other).build().unwrap();
        assert!(
            matches!(
                wrong.as_persist().unwrap().load_state(&bytes),
                Err(DetectError::Input { .. })
            ),
            "{}",
            spec.id
        );
        assert!(
            fresh
                .as_persist()
                .unwrap()
                .load_state(b"not a model")
                .is_err()
        );
    }
}

fn neural_config(epochs: usize) -> NeuralConfig {
    NeuralConfig {
        window: 16,
        hidden: 8,
        epochs,
        batch: 32,
        learning_rate: 0.01,
        max_train: 256,
        last_only: true,
    }
}

#[test]
fn cancel_during_training_stops_it() {
    let train = seasonal_series(600, 20, 0.1, 3);
    for make in [
        NeuralDetector::lstm_autoencoder,
        NeuralDetector::lstm_forecaster,
        NeuralDetector::cnn_forecaster,
    ] {
        let mut det = make(neural_config(100_000), 1);
        let progress = Progress::new();
        det.set_progress(progress.clone());
        let cancel = CancelToken::new();
        let watcher = {
            let (cancel, progress) = (cancel.clone(), progress.clone());
            std::thread::Builder::new()
                .name("test-cancel".into())
                .spawn(move || {
                    while progress.get().0 < 1 {
                        std::thread::sleep(std::time::Duration::from_millis(5));
                    }
                    cancel.cancel();
                })
                .unwrap()
        };
        let result = det.fit(&train, &cancel);
        watcher.join().unwrap();
        assert!(matches!(result, Err(DetectError::Cancelled)), "{result:?}");
        let (done, total) = progress.get();
        assert!(
            done >= 1 && done < total,
            "stopped after {done} of {total} epochs"
        );
        assert!(
            det.score_series(&train, &CancelToken::new()).is_err(),
            "a cancelled fit leaves no model"
        );
    }
}

#[test]
fn training_reduces_loss() {
    let train = seasonal_series(800, 25, 0.05, 4);
    for make in [
        NeuralDetector::lstm_forecaster,
        NeuralDetector::cnn_forecaster,
    ] {
        let mut det = make(neural_config(6), 2);
        det.fit(&train, &CancelToken::new()).unwrap();
        let losses = det.epoch_losses();
        assert_eq!(losses.len(), 6);
        assert!(losses[5] < 0.5 * losses[0], "{losses:?}");
    }
}

#[test]
fn attribution_points_at_the_anomalous_column() {
    let train = two_columns(600, usize::MAX);
    let test = two_columns(300, 200);
    for make in [
        NeuralDetector::lstm_autoencoder,
        NeuralDetector::lstm_forecaster,
        NeuralDetector::cnn_forecaster,
    ] {
        let mut det = make(neural_config(6), 5);
        det.fit(&train, &CancelToken::new()).unwrap();
        let (scores, columns) = det
            .score_with_attribution(&test, &CancelToken::new())
            .unwrap();
        assert_eq!(columns.len(), 2);
        assert!(
            columns[1][200] > 5.0 * columns[0][200],
            "{} vs {}",
            columns[1][200],
            columns[0][200]
        );
        let mean = f64::midpoint(columns[0][200], columns[1][200]);
        assert!((scores[200] - mean).abs() <= 1e-12 * mean.abs().max(1.0));
        // Streaming gives the same attribution.
        det.reset();
        let mut buf = Vec::new();
        for i in 0..=200 {
            det.update(test.row_into(i, &mut buf).unwrap()).unwrap();
        }
        assert_eq!(
            det.last_attribution()[1].to_bits(),
            columns[1][200].to_bits()
        );
    }
}

#[test]
fn wrong_width_is_an_input_error() {
    let train = two_columns(300, usize::MAX);
    let narrow = seasonal_series(100, 10, 0.1, 0);
    for spec in specs() {
        let mut det = fitted(&spec, &train);
        assert!(
            matches!(
                det.score_series(&narrow, &CancelToken::new()),
                Err(DetectError::Input { .. })
            ),
            "{}",
            spec.id
        );
    }
}
