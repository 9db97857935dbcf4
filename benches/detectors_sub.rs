//! Sub-sequence and tree detectors against the Python peers' published figures
//! (`../shared/peers/PEERS.md`), on data shaped like the peers' `gen_big.py`: sine of period 288
//! with amplitude 5..10, a slow trend, N(0, 1) noise, a spike every 2,000 rows and a level shift
//! every 5,000 (seeded `ChaCha8` here, so the values differ from numpy's, the shape does not).
//!
//! | bench | what is timed | peer figure |
//! |---|---|---|
//! | `iforest/fit_score_1m_w100` | fit (100 trees × 256 windows of 100) + score 1M windows | scikit-learn 5.45 s |
//! | `hst/stream_1m_*` | fit on 10k rows, then 1M rows scored and learnt | river 16.5 s (10 trees, height 8) |
//! | `mp/100k_w100` | left matrix profile of 100k points, window 100 | stumpy 14.9 s (2 cores) |
//! | `lof/100k_w100` | fit (10k reference windows) + score 100k windows | `PyOD` 45.3 s full, 5.95 s with 10k train |
//! | `knn/100k_w100` | same shape, k = 10 | (no peer) |
//! | `poly/1m` | 1M points, degree 3, window 100 | (no peer) |
//!
//! Run briefly: `cargo bench --bench detectors_sub -- --warm-up-time 1 --measurement-time 3`.
#![expect(
    missing_docs,
    reason = "criterion_group! generates an undocumented pub fn"
)]

use std::hint::black_box;

use anomdet::control::CancelToken;
use anomdet::detect::{
    Combine, Detector, HalfSpaceTrees, IsolationForest, MatrixProfile, Poly, SubsequenceKnn,
    SubsequenceLof,
};
use anomdet::model::{Row, Series, Timestamp};
use anomdet::testing::gen_big;
use criterion::{Criterion, criterion_group, criterion_main};

fn fit_score(det: &mut dyn Detector, train: &Series, test: &Series) -> Vec<f64> {
    let cancel = CancelToken::new();
    det.fit(train, &cancel).expect("fit");
    det.score_series(test, &cancel).expect("score")
}

fn trees(c: &mut Criterion) {
    let big = gen_big(1_000_000, 42);
    let train = gen_big(10_000, 7);
    let mut group = c.benchmark_group("iforest");
    group.sample_size(10);
    group.bench_function("fit_score_1m_w100", |b| {
        b.iter(|| {
            let mut det = IsolationForest::new(100, 100, 256, 0);
            black_box(fit_score(&mut det, &big, &big))
        });
    });
    group.finish();

    let mut group = c.benchmark_group("hst");
    group.sample_size(10);
    for (name, n_trees, height) in [
        ("stream_1m_25x15", 25, 15),
        ("stream_1m_10x8_river_cfg", 10, 8),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut det = HalfSpaceTrees::new(n_trees, height, 250, 0);
                black_box(fit_score(&mut det, &train, &big))
            });
        });
    }
    // The row-at-a-time path (what a live replay calls), default 25 trees of height 15.
    group.bench_function("update_loop_1m_25x15", |b| {
        let mut det = HalfSpaceTrees::new(25, 15, 250, 0);
        det.fit(&train, &CancelToken::new()).expect("fit");
        let values = &big.columns()[0].values;
        b.iter(|| {
            det.reset();
            let mut sum = 0.0;
            for (index, x) in values.iter().enumerate() {
                let row = Row {
                    index,
                    ts: Timestamp(index as i64),
                    values: std::slice::from_ref(x),
                };
                sum += det.update(row).expect("update");
            }
            black_box(sum)
        });
    });
    group.finish();
}

fn subsequences(c: &mut Criterion) {
    let s100k = gen_big(100_000, 42);
    let mut group = c.benchmark_group("subsequence");
    group.sample_size(10);
    group.bench_function("mp_100k_w100", |b| {
        b.iter(|| {
            let mut det = MatrixProfile::new(100, 0, Combine::Max);
            black_box(fit_score(&mut det, &s100k, &s100k))
        });
    });
    group.bench_function("lof_100k_w100_train10k", |b| {
        b.iter(|| {
            let mut det = SubsequenceLof::new(100, 20, 10_000, Combine::Max);
            black_box(fit_score(&mut det, &s100k, &s100k))
        });
    });
    group.bench_function("knn_100k_w100_train10k", |b| {
        b.iter(|| {
            let mut det = SubsequenceKnn::new(100, 10, 10_000, Combine::Max);
            black_box(fit_score(&mut det, &s100k, &s100k))
        });
    });
    let big = gen_big(1_000_000, 42);
    group.bench_function("poly_1m", |b| {
        b.iter(|| {
            let mut det = Poly::from_params(3, 100, 1, Combine::Max);
            black_box(fit_score(&mut det, &s100k, &big))
        });
    });
    group.finish();
}

criterion_group!(benches, trees, subsequences);
criterion_main!(benches);
