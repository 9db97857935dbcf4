//! Learned and neural detectors: training and scoring cost on seeded seasonal data.
//!
//! Groups:
//! - `lstm_ae_train_epoch`: one epoch of LSTM-autoencoder training (w = 64, hidden 32,
//!   batch 64) over `TRAIN_WINDOWS` windows; multiply by windows/`TRAIN_WINDOWS` for a full
//!   epoch over 100k points (~100k windows).
//! - `lstm_ae_score`: scoring 100k points with w = 64 (throughput in points/s), both the
//!   last-row score (default) and the whole-window reconstruction.
//! - `ocsvm_pyod_task`: one-class SVM fitted on all 10k windows (w = 100) of a `gen_big`
//!   series, then scoring 10k windows of another: the task timed against `PyOD` (same data
//!   as `examples/learned_speed.rs -- ocsvm`).
//! - `ocsvm_fit_10k`: one-class SVM fitted on 10k windows (w = 32).
//! - `ocsvm_score_10k`: scoring 10k rows with an SVM fitted on 2000 windows (w = 32).
//!
//! The head-to-head figures against PyOD and Keras (same windows, same hyper-parameters) come
//! from `examples/learned_speed.rs` with `scripts/peer_ocsvm.py` and `scripts/peer_lstm_ae.py`;
//! see the "Learned detectors" section of `docs/DETECTORS.md`.
//!
//! Run briefly: `cargo bench --bench learned -- --warm-up-time 1 --measurement-time 3`.

#![expect(
    missing_docs,
    reason = "criterion_main! generates an undocumented main"
)]

use std::hint::black_box;

use anomdet::control::CancelToken;
use anomdet::detect::{Detector, NeuralConfig, NeuralDetector, OneClassSvm};
use anomdet::testing::{gen_big, seasonal_series};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

/// Windows per training-epoch measurement.
const TRAIN_WINDOWS: usize = 2048;
/// Points scored per scoring measurement.
const SCORE_POINTS: usize = 100_000;

fn lstm_config(epochs: usize, max_train: usize, last_only: bool) -> NeuralConfig {
    NeuralConfig {
        window: 64,
        hidden: 32,
        epochs,
        batch: 64,
        learning_rate: 0.005,
        max_train,
        last_only,
    }
}

fn lstm_ae(c: &mut Criterion) {
    let train = seasonal_series(SCORE_POINTS, 100, 0.1, 1);
    let mut group = c.benchmark_group("lstm_ae_train_epoch");
    group.sample_size(10);
    // max_train includes the 20% validation hold-out: 1.25 × TRAIN_WINDOWS are drawn.
    group.throughput(Throughput::Elements(TRAIN_WINDOWS as u64));
    group.bench_function("w64_h32_2048_windows", |b| {
        b.iter_batched(
            || NeuralDetector::lstm_autoencoder(lstm_config(1, TRAIN_WINDOWS * 5 / 4, true), 0),
            |mut det| {
                det.fit(black_box(&train), &CancelToken::new())
                    .map(|()| det)
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();

    let mut group = c.benchmark_group("lstm_ae_score");
    group.sample_size(10);
    group.throughput(Throughput::Elements(SCORE_POINTS as u64));
    for (name, last_only) in [("last_row", true), ("whole_window", false)] {
        let mut det = NeuralDetector::lstm_autoencoder(lstm_config(1, 256, last_only), 0);
        if det.fit(&train, &CancelToken::new()).is_err() {
            continue;
        }
        group.bench_function(name, |b| {
            b.iter(|| det.score_series(black_box(&train), &CancelToken::new()));
        });
    }
    group.finish();
}

fn ocsvm(c: &mut Criterion) {
    let (train, test) = (gen_big(10_099, 3), gen_big(10_099, 4));
    let mut group = c.benchmark_group("ocsvm_pyod_task");
    group.sample_size(10);
    group.bench_function("w100_fit_10k_score_10k", |b| {
        b.iter(|| {
            let mut det = OneClassSvm::new(100, 0.05, 0.0, 10_000);
            det.fit(black_box(&train), &CancelToken::new())
                .and_then(|()| det.score_series(black_box(&test), &CancelToken::new()))
        });
    });
    group.finish();

    let series = seasonal_series(10_031, 100, 0.1, 2);
    let mut group = c.benchmark_group("ocsvm_fit_10k");
    group.sample_size(10);
    group.bench_function("w32_10k_windows", |b| {
        b.iter_batched(
            || OneClassSvm::new(32, 0.05, 0.0, 10_000),
            |mut det| {
                det.fit(black_box(&series), &CancelToken::new())
                    .map(|()| det)
            },
            BatchSize::PerIteration,
        );
    });
    group.bench_function("w32_default_2000_windows", |b| {
        b.iter_batched(
            || OneClassSvm::new(32, 0.05, 0.0, 2000),
            |mut det| {
                det.fit(black_box(&series), &CancelToken::new())
                    .map(|()| det)
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();

    let mut group = c.benchmark_group("ocsvm_score_10k");
    group.sample_size(10);
    group.throughput(Throughput::Elements(series.len() as u64));
    let mut det = OneClassSvm::new(32, 0.05, 0.0, 2000);
    if det.fit(&series, &CancelToken::new()).is_ok() {
        group.bench_function("w32_2000_windows", |b| {
            b.iter(|| det.score_series(black_box(&series), &CancelToken::new()));
        });
    }
    group.finish();
}

criterion_group!(benches, lstm_ae, ocsvm);
criterion_main!(benches);
