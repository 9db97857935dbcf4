//! Speed of the learned detectors against their Python peers (issue 7), fit and score timed
//! apart, wall and CPU seconds (best of `--reps`).
//!
//! ```text
//! cargo run --release --all-features --example learned_speed -- ocsvm [--reps N] [--export DIR]
//!     [--max-train N]   (default 10000: every window; N < 10000 fits on N evenly spaced ones)
//! cargo run --release --all-features --example learned_speed -- lstm|cnn [--epochs N] [--export DIR]
//! cargo run --release --all-features --example learned_speed -- neural-defaults [--reps N]
//! ```
//!
//! - `ocsvm`: one-class SVM, windows w = 100, fitted on all 10k windows of a `gen_big`-shaped
//!   training series and scoring the 10k windows of another (as `examples/speed.rs` case
//!   `ocsvm`). Peer: `scripts/peer_ocsvm.py` on the CSVs written by `--export`.
//! - `lstm`: LSTM autoencoder, 100k points, w = 64, hidden 32, batch 64, `AdamW` lr 0.005,
//!   every window trained on (80% train, 20% validation): seconds per epoch and score
//!   throughput. Peer: `scripts/peer_lstm_ae.py` (Keras 3 on TensorFlow-CPU, same sizes) on the exported
//!   CSV.
//! - `cnn`: CNN forecaster, the same series and sizes (channels 32) predicting the row after each
//!   window. Peer: `scripts/peer_cnn.py` (Keras `Conv1D` twin) on the exported CSV.
//! - `neural-defaults`: the three neural detectors at their registry defaults (w = 32, hidden or
//!   channels 16, 6 epochs, `max_train` 512) fitted on and scoring a 10k-point series.
//!
//! Data: the `gen_big.py`-shaped generator of `examples/speed.rs` (seeded). Linux only for CPU
//! time (`/proc/self/stat`); elsewhere CPU time prints as NaN.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anomdet::control::CancelToken;
use anomdet::detect::{Detector, DetectorSpec, NeuralConfig, NeuralDetector, OneClassSvm};
use anomdet::model::Series;
use anomdet::testing::{gen_big, process_cpu_seconds as cpu_seconds};

/// Best (wall, cpu) seconds of `reps` runs of `f`, and the last run's result.
fn timed<T>(
    reps: usize,
    mut f: impl FnMut() -> anyhow::Result<T>,
) -> anyhow::Result<(f64, f64, T)> {
    let (mut best_wall, mut best_cpu) = (f64::INFINITY, f64::INFINITY);
    let mut last = None;
    for _ in 0..reps.max(1) {
        let (wall, cpu) = (Instant::now(), cpu_seconds());
        last = Some(f()?);
        best_wall = best_wall.min(wall.elapsed().as_secs_f64());
        best_cpu = best_cpu.min(cpu_seconds() - cpu);
    }
    let last = last.ok_or_else(|| anyhow::anyhow!("no run"))?;
    Ok((best_wall, best_cpu, last))
}

/// Writes one column of values (with a header) as CSV.
fn write_column(path: &Path, header: &str, values: &[f64]) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(out, "{header}")?;
    for v in values {
        writeln!(out, "{v:.17e}")?;
    }
    out.flush()?;
    Ok(())
}

fn values(series: &Series) -> &[f64] {
    &series.columns()[0].values
}

#[expect(clippy::print_stdout, reason = "the example's output")]
fn ocsvm(reps: usize, max_train: usize, export: Option<&Path>) -> anyhow::Result<()> {
    let (train, test) = (gen_big(10_099, 3), gen_big(10_099, 4));
    let cancel = CancelToken::new();
    let new = || OneClassSvm::new(100, 0.05, 0.0, max_train);
    let (fit_wall, fit_cpu, det) = timed(reps, || {
        let mut det = new();
        det.fit(&train, &cancel)?;
        Ok(det)
    })?;
    let mut det = det;
    let (score_wall, score_cpu, scores) = timed(reps, || Ok(det.score_series(&test, &cancel)?))?;
    println!(
        "ocsvm w=100 nu=0.05 gamma=scale, {} of 10k train windows, {} support vectors",
        max_train.min(10_000),
        det.support_vectors()
    );
    println!("  fit              : wall {fit_wall:8.3} s  cpu {fit_cpu:8.3} s (best of {reps})");
    println!(
        "  score 10k windows: wall {score_wall:8.3} s  cpu {score_cpu:8.3} s (best of {reps})"
    );
    println!(
        "  total            : wall {:8.3} s  cpu {:8.3} s",
        fit_wall + score_wall,
        fit_cpu + score_cpu
    );
    if let Some(dir) = export {
        std::fs::create_dir_all(dir)?;
        write_column(&dir.join("ocsvm_train.csv"), "value", values(&train))?;
        write_column(&dir.join("ocsvm_test.csv"), "value", values(&test))?;
        write_column(&dir.join("ocsvm_scores_ours.csv"), "score", &scores)?;
        println!("  exported to {}", dir.display());
    }
    Ok(())
}

/// Which network the 100k-point case trains.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Net {
    LstmAutoencoder,
    CnnForecaster,
}

#[expect(clippy::print_stdout, reason = "the example's output")]
fn neural(net: Net, epochs: usize, reps: usize, export: Option<&Path>) -> anyhow::Result<()> {
    let series = gen_big(100_000, 42);
    // The forecaster's samples span the window plus the row it predicts.
    let span = if net == Net::CnnForecaster { 65 } else { 64 };
    let windows = series.len() - span + 1;
    let config = NeuralConfig {
        window: 64,
        hidden: 32,
        epochs,
        batch: 64,
        learning_rate: 0.005,
        max_train: windows,
        last_only: true,
    };
    let cancel = CancelToken::new();
    let (fit_wall, fit_cpu, det) = timed(1, || {
        let mut det = match net {
            Net::LstmAutoencoder => NeuralDetector::lstm_autoencoder(config, 0),
            Net::CnnForecaster => NeuralDetector::cnn_forecaster(config, 0),
        };
        det.fit(&series, &cancel)?;
        Ok(det)
    })?;
    let mut det = det;
    let (score_wall, score_cpu, scores) = timed(reps, || Ok(det.score_series(&series, &cancel)?))?;
    let trained = windows - windows / 5;
    let (name, file) = match net {
        Net::LstmAutoencoder => ("lstm_autoencoder w=64 hidden=32", "lstm"),
        Net::CnnForecaster => ("cnn_forecaster w=64 channels=32", "cnn"),
    };
    println!(
        "{name} batch=64, 100k points, {windows} windows ({trained} trained, the rest \
         validation), {epochs} epochs"
    );
    println!(
        "  fit (all epochs + validation): wall {fit_wall:8.3} s  cpu {fit_cpu:8.3} s  \
         => {:.3} s wall/epoch",
        fit_wall / epochs as f64
    );
    println!(
        "  score 100k points: wall {score_wall:8.3} s  cpu {score_cpu:8.3} s  \
         => {:.0} points/s (best of {reps})",
        series.len() as f64 / score_wall
    );
    if let Some(dir) = export {
        std::fs::create_dir_all(dir)?;
        write_column(
            &dir.join(format!("{file}_series.csv")),
            "value",
            values(&series),
        )?;
        write_column(
            &dir.join(format!("{file}_scores_ours.csv")),
            "score",
            &scores,
        )?;
        println!("  exported to {}", dir.display());
    }
    Ok(())
}

#[expect(clippy::print_stdout, reason = "the example's output")]
fn neural_defaults(reps: usize) -> anyhow::Result<()> {
    let series = gen_big(10_000, 42);
    let cancel = CancelToken::new();
    for id in ["lstm_autoencoder", "lstm_forecaster", "cnn_forecaster"] {
        let (fit_wall, fit_cpu, det) = timed(reps, || {
            let mut det = DetectorSpec::new(id).build()?;
            det.fit(&series, &cancel)?;
            Ok(det)
        })?;
        let mut det = det;
        let (score_wall, score_cpu, _) = timed(reps, || Ok(det.score_series(&series, &cancel)?))?;
        println!(
            "{id} (registry defaults), 10k points: fit wall {fit_wall:.3} s cpu {fit_cpu:.3} s; \
             score wall {score_wall:.3} s cpu {score_cpu:.3} s (best of {reps})"
        );
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    env_logger::init();
    let mut args = std::env::args().skip(1);
    let case = args.next().unwrap_or_else(|| "ocsvm".to_owned());
    let (mut reps, mut epochs, mut max_train, mut export) = (3, 1, 10_000, None::<PathBuf>);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| anyhow::anyhow!("{arg} needs a value"))
        };
        match arg.as_str() {
            "--reps" => reps = value()?.parse()?,
            "--epochs" => epochs = value()?.parse()?,
            "--max-train" => max_train = value()?.parse()?,
            "--export" => export = Some(PathBuf::from(value()?)),
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    match case.as_str() {
        "ocsvm" => ocsvm(reps, max_train, export.as_deref()),
        "lstm" => neural(Net::LstmAutoencoder, epochs, reps, export.as_deref()),
        "cnn" => neural(Net::CnnForecaster, epochs, reps, export.as_deref()),
        "neural-defaults" => neural_defaults(reps),
        other => anyhow::bail!("unknown case {other} (ocsvm, lstm, cnn, neural-defaults)"),
    }
}
