//! Statistical detectors and thresholds: throughput in points per second (criterion reports
//! elements/s).
//!
//! Shapes: rolling z-score over 1M points (target ≥ 65M points/s), the other per-column
//! detectors over 100k points (Spectral Residual over 20k: one FFT pair per point), and SPOT /
//! DSPOT over 100k scores. Data: a seeded seasonal series (period 288, noise 0.3), so runs
//! repeat exactly. Run with short times on a shared machine:
//! `cargo bench --bench detectors_stat -- --warm-up-time 1 --measurement-time 3`.
#![expect(
    missing_docs,
    reason = "criterion_group! generates an undocumented pub fn"
)]

use std::hint::black_box;

use anomdet::control::CancelToken;
use anomdet::detect::{DetectorSpec, ThresholdRule};
use anomdet::model::Series;
use anomdet::testing::seasonal_series;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

/// (detector id, points) per benchmark.
const SHAPES: &[(&str, usize)] = &[
    ("rolling_zscore", 1_000_000),
    ("robust_zscore", 100_000),
    ("ewma", 100_000),
    ("cusum", 100_000),
    ("seasonal_esd", 100_000),
    ("hbos", 100_000),
    ("spectral_residual", 20_000),
    ("random", 1_000_000),
];

fn statistical_benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("statistical_score");
    group.sample_size(10);
    for &(id, len) in SHAPES {
        let series: Series = seasonal_series(len, 288, 0.3, 1);
        let mut detector = DetectorSpec::new(id)
            .build()
            .expect("default parameters build");
        detector.fit(&series, &CancelToken::new()).expect("fit");
        group.throughput(Throughput::Elements(len as u64));
        group.bench_with_input(BenchmarkId::new(id, len), &series, |b, series| {
            b.iter(|| {
                black_box(
                    detector
                        .score_series(series, &CancelToken::new())
                        .expect("score"),
                )
            });
        });
    }
    group.finish();
}

fn threshold_benches(c: &mut Criterion) {
    let len = 100_000;
    let series = seasonal_series(len, 288, 0.3, 2);
    let scores = DetectorSpec::new("rolling_zscore")
        .build()
        .expect("build")
        .score_series(&series, &CancelToken::new())
        .expect("score");
    let mut group = c.benchmark_group("threshold");
    group.sample_size(10);
    group.throughput(Throughput::Elements(len as u64));
    for rule in ["mad:4", "spot:1e-4", "dspot:1e-4:100"] {
        let parsed = ThresholdRule::parse(rule).expect("rule");
        group.bench_function(rule, |b| b.iter(|| black_box(parsed.apply(&scores))));
    }
    group.finish();
}

criterion_group!(benches, statistical_benches, threshold_benches);
criterion_main!(benches);
