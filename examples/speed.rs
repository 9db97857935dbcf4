//! Speed of the detectors with a peer figure (`../shared/peers/PEERS.md`), as wall time AND
//! process CPU time per run, so that figures taken on a shared, loaded machine can still be
//! compared (CPU seconds are what the run cost; wall seconds on an idle 2-core machine are
//! about CPU seconds / 2 for the parallel detectors).
//!
//! `cargo run --release --example speed -- [case,case] [--reps N]`; cases: `zscore`,
//! `iforest`, `hst`, `hst_default`, `mp`, `lof`, `knn`, `ocsvm`. Data as in
//! `benches/detectors_sub.rs` (`gen_big`-shaped, seeded). Linux only for CPU time
//! (`/proc/self/stat`); elsewhere CPU time prints as NaN.

use std::time::Instant;

use anomdet::control::CancelToken;
use anomdet::detect::{
    Combine, Detector, DetectorSpec, HalfSpaceTrees, IsolationForest, MatrixProfile, OneClassSvm,
    SubsequenceKnn, SubsequenceLof,
};
use anomdet::model::Series;
use anomdet::testing::{gen_big, process_cpu_seconds as cpu_seconds};

fn case(name: &str) -> anyhow::Result<(Box<dyn Detector>, Series, Series, &'static str)> {
    let big = || gen_big(1_000_000, 42);
    let s100k = || gen_big(100_000, 42);
    Ok(match name {
        "zscore" => {
            let s = big();
            let det = DetectorSpec::new("rolling_zscore").build()?;
            (
                det,
                s.clone(),
                s,
                "1M points; peer pandas 0.153 s; target >= 65M points/s",
            )
        }
        "iforest" => {
            let s = big();
            let det = Box::new(IsolationForest::new(100, 100, 256, 0));
            (
                det,
                s.clone(),
                s,
                "fit+score 1M windows w=100; sklearn 5.45 s",
            )
        }
        "hst" => (
            Box::new(HalfSpaceTrees::new(10, 8, 250, 0)),
            gen_big(10_000, 7),
            big(),
            "1M rows, 10 trees height 8 (river cfg); river 16.5 s",
        ),
        "hst_default" => (
            Box::new(HalfSpaceTrees::new(25, 15, 250, 0)),
            gen_big(10_000, 7),
            big(),
            "1M rows, defaults 25 trees height 15",
        ),
        "mp" => {
            let s = s100k();
            let det = Box::new(MatrixProfile::new(100, 0, Combine::Max));
            (det, s.clone(), s, "100k points w=100; stumpy 14.9 s")
        }
        "lof" => {
            let s = s100k();
            let det = Box::new(SubsequenceLof::new(100, 20, 10_000, Combine::Max));
            (
                det,
                s.clone(),
                s,
                "100k, 10k train windows; PyOD 5.95 s (10k), 45.3 s (full)",
            )
        }
        "knn" => {
            let s = s100k();
            let det = Box::new(SubsequenceKnn::new(100, 10, 10_000, Combine::Max));
            (det, s.clone(), s, "100k, 10k train windows; no peer")
        }
        "ocsvm" => {
            let train = gen_big(10_099, 3);
            let test = gen_big(10_099, 4);
            let det = Box::new(OneClassSvm::new(100, 0.05, 0.0, 10_000));
            (
                det,
                train,
                test,
                "fit 10k windows w=100 + score 10k; PyOD 28.7 s",
            )
        }
        other => anyhow::bail!("unknown case {other}"),
    })
}

fn main() -> anyhow::Result<()> {
    let mut cases = vec![
        "zscore".to_owned(),
        "iforest".to_owned(),
        "hst".to_owned(),
        "mp".to_owned(),
        "lof".to_owned(),
    ];
    let mut reps = 3;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--reps" {
            reps = args.next().unwrap_or_default().parse()?;
        } else {
            cases = arg.split(',').map(str::to_owned).collect();
        }
    }
    let cancel = CancelToken::new();
    for name in &cases {
        let (mut det, train, test, note) = case(name)?;
        let (mut best_wall, mut best_cpu) = (f64::INFINITY, f64::INFINITY);
        for _ in 0..reps.max(1) {
            let (wall, cpu) = (Instant::now(), cpu_seconds());
            det.fit(&train, &cancel)?;
            let scores = det.score_series(&test, &cancel)?;
            std::hint::black_box(scores);
            best_wall = best_wall.min(wall.elapsed().as_secs_f64());
            best_cpu = best_cpu.min(cpu_seconds() - cpu);
        }
        #[expect(clippy::print_stdout, reason = "the example's output")]
        {
            println!(
                "{name:12} wall {best_wall:8.3} s  cpu {best_cpu:8.2} s  (best of {reps}; \
                 {} rows; {note})",
                test.len()
            );
        }
    }
    Ok(())
}
