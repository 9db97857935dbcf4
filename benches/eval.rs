//! Metric speed. The headline: VUS-PR on 100k rows with TSB-AD's defaults (slidingWindow 100,
//! 250 thresholds), which TSB-AD itself computes in O(n·L·T).
//!
//! SHAPES: 100k rows, 50 windows of 40 rows (2 % anomalous), scores = uniform noise + 0.5 on
//! anomalous rows, seeded. Run with
//! `cargo bench --bench eval -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;

use anomdet::eval::{self, EvalOptions, VusOptions};
use criterion::{Criterion, criterion_main};

const ROWS: usize = 100_000;

fn inputs() -> (Vec<bool>, Vec<f64>) {
    let mut labels = vec![false; ROWS];
    for k in 0..50 {
        let start = 1000 + k * 1900;
        labels[start..start + 40].fill(true);
    }
    let scores = eval::random_scores(ROWS, 1)
        .iter()
        .zip(&labels)
        .map(|(r, &l)| r + if l { 0.5 } else { 0.0 })
        .collect();
    (labels, scores)
}

fn vus(c: &mut Criterion) {
    let (labels, scores) = inputs();
    let mut group = c.benchmark_group("vus_100k");
    group.sample_size(10);
    for window in [10, 100] {
        let opts = VusOptions {
            sliding_window: window,
            thresholds: 250,
        };
        group.bench_function(format!("sliding_window_{window}"), |b| {
            b.iter(|| eval::vus(black_box(&labels), black_box(&scores), &opts));
        });
    }
    group.finish();
}

fn ranking(c: &mut Criterion) {
    let (labels, scores) = inputs();
    let mut group = c.benchmark_group("ranking_100k");
    group.sample_size(10);
    group.bench_function("roc_auc", |b| {
        b.iter(|| eval::roc_auc(black_box(&labels), black_box(&scores)));
    });
    group.bench_function("best_f1", |b| {
        b.iter(|| eval::best_f1(black_box(&labels), black_box(&scores)));
    });
    group.bench_function("tsbad_scores", |b| {
        b.iter(|| eval::tsbad_scores(black_box(&labels), black_box(&scores)));
    });
    group.finish();
}

fn full_report(c: &mut Criterion) {
    let (labels, scores) = inputs();
    let predicted = eval::predictions_at_rate(&scores, 2000);
    let mut group = c.benchmark_group("evaluate_100k");
    group.sample_size(10);
    group.bench_function("with_baselines", |b| {
        b.iter(|| {
            eval::evaluate(
                black_box(&labels),
                black_box(&scores),
                &predicted,
                None,
                &EvalOptions::default(),
            )
        });
    });
    group.finish();
}

/// Every group, with the command line's criterion settings (written out instead of
/// `criterion_group!`, whose generated function has no docs).
fn benches() {
    let mut c = Criterion::default().configure_from_args();
    vus(&mut c);
    ranking(&mut c);
    full_report(&mut c);
}

criterion_main!(benches);
