//! Detection quality of every built-in detector with default parameters on a folder of
//! labelled CSV files: prints a Markdown table of ROC-AUC per detector and dataset (+ mean).
//!
//! `cargo run --example quality -- [DIR] [--max-rows N] [--only id,id]`
//! DIR defaults to `../shared/datasets` next to the crate. Each detector is fitted and scored
//! on the same series (unsupervised, as `anomdet run` does); NaN warm-up scores count as the
//! lowest score (the eval module's NaN contract). Files without both classes are skipped.
//! Long series are cut to `--max-rows` (default 20 000) to bound the slow detectors.

use std::path::PathBuf;
use std::time::Instant;

use anomdet::control::{CancelToken, Progress};
use anomdet::detect::{DetectorSpec, builtin};
use anomdet::eval::{clean_scores, roc_auc};
use anomdet::import::read_csv;
use anomdet::model::{Column, Series};

struct Options {
    dir: PathBuf,
    max_rows: usize,
    only: Option<Vec<String>>,
}

fn options() -> anyhow::Result<Options> {
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets");
    let mut max_rows = 20_000;
    let mut only = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--max-rows" => max_rows = args.next().unwrap_or_default().parse()?,
            "--only" => {
                only = Some(
                    args.next()
                        .unwrap_or_default()
                        .split(',')
                        .map(str::to_owned)
                        .collect(),
                );
            }
            _ => dir = PathBuf::from(arg),
        }
    }
    Ok(Options {
        dir,
        max_rows,
        only,
    })
}

fn truncate(series: Series, max_rows: usize) -> anyhow::Result<Series> {
    if series.len() <= max_rows {
        return Ok(series);
    }
    let (timestamps, columns, labels) = series.into_parts();
    let columns = columns
        .into_iter()
        .map(|c| Column::new(c.name, c.values[..max_rows].to_vec()))
        .collect();
    Ok(Series::new(
        timestamps[..max_rows].to_vec(),
        columns,
        labels.map(|l| l[..max_rows].to_vec()),
    )?)
}

#[expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "an example that prints its report"
)]
fn main() -> anyhow::Result<()> {
    let options = options()?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(&options.dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv") && !p.ends_with("manifest.csv"))
        .collect();
    files.sort();
    let detectors: Vec<&str> = builtin()
        .iter()
        .map(|e| e.info.id)
        .filter(|id| {
            options
                .only
                .as_ref()
                .is_none_or(|only| only.iter().any(|o| o == id))
        })
        .collect();
    let mut datasets = Vec::new();
    for path in &files {
        let imported = read_csv(path, &Progress::new(), &CancelToken::new())?;
        let series = truncate(imported.series, options.max_rows)?;
        let labels = series.labels().map(<[bool]>::to_vec).unwrap_or_default();
        if !labels.contains(&true) || !labels.contains(&false) {
            eprintln!(
                "skipping {} (needs normal and anomalous rows)",
                path.display()
            );
            continue;
        }
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        datasets.push((name, series, labels));
    }
    // auc[detector][dataset]
    let mut auc = vec![vec![f64::NAN; datasets.len()]; detectors.len()];
    let mut seconds = vec![0.0; detectors.len()];
    for (d, id) in detectors.iter().enumerate() {
        for (s, (name, series, labels)) in datasets.iter().enumerate() {
            let started = Instant::now();
            let mut detector = DetectorSpec::new(*id).build()?;
            let outcome = detector
                .fit(series, &CancelToken::new())
                .and_then(|()| detector.score_series(series, &CancelToken::new()));
            seconds[d] += started.elapsed().as_secs_f64();
            match outcome {
                Ok(scores) => {
                    auc[d][s] = roc_auc(labels, &clean_scores(&scores)).unwrap_or(f64::NAN);
                }
                Err(e) => eprintln!("{id} on {name}: {e}"),
            }
        }
        eprintln!("{id}: {:.1} s", seconds[d]);
    }
    println!("| dataset | {} |", detectors.join(" | "));
    println!("|---|{}", "---|".repeat(detectors.len()));
    for (s, (name, series, _)) in datasets.iter().enumerate() {
        let cells: Vec<String> = (0..detectors.len())
            .map(|d| format_auc(auc[d][s]))
            .collect();
        println!("| {name} ({} rows) | {} |", series.len(), cells.join(" | "));
    }
    let means: Vec<String> = auc
        .iter()
        .map(|row| {
            let finite: Vec<f64> = row.iter().copied().filter(|v| v.is_finite()).collect();
            format_auc(finite.iter().sum::<f64>() / finite.len() as f64)
        })
        .collect();
    println!("| **mean** | {} |", means.join(" | "));
    let times: Vec<String> = seconds.iter().map(|t| format!("{t:.1}")).collect();
    println!(
        "| seconds (debug build unless --release) | {} |",
        times.join(" | ")
    );
    Ok(())
}

fn format_auc(value: f64) -> String {
    if value.is_finite() {
        format!("{value:.3}")
    } else {
        "–".to_owned()
    }
}
