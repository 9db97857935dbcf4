//! Bench leaderboard, robustness matrix and label-free ranking, end to end: through the engine
//! on the two NAB series in `assets/` and on seeded synthetic series, and through the binary
//! (output formats parse back).

use std::path::PathBuf;
use std::process::Command;

use anomdet::control::CancelToken;
use anomdet::detect::DetectorSpec;
use anomdet::engine::{
    BenchConfig, Engine, RobustnessConfig, RunControl, SelectionConfig, rank_labelled,
    rank_unlabelled, robustness_matrix,
};
use anomdet::eval::{
    CellValue, Leaderboard, MetricId, RankAgreement, RobustnessMatrix, RunMetrics,
};
use anomdet::testing::{seasonal_series, seasonal_with_anomalies};

const ASSETS: [&str; 2] = [
    "nab_art_daily_jumpsup.csv",
    "nab_ec2_cpu_utilization_825cc2.csv",
];

fn asset(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("assets")
        .join(name)
        .display()
        .to_string()
}

fn specs(ids: &[&str]) -> Vec<DetectorSpec> {
    ids.iter().map(|&id| DetectorSpec::new(id)).collect()
}

#[test]
fn bench_over_the_assets_ranks_stores_and_keeps_baselines() {
    let engine = Engine::in_memory();
    let inputs: Vec<String> = ASSETS.iter().map(|a| asset(a)).collect();
    let datasets = engine.bench_datasets(&inputs, &CancelToken::new()).unwrap();
    assert_eq!(datasets.len(), 2);
    // A second resolution reuses the imported datasets instead of importing again.
    let again = engine.bench_datasets(&inputs, &CancelToken::new()).unwrap();
    assert_eq!(
        again.iter().map(|d| d.id).collect::<Vec<_>>(),
        datasets.iter().map(|d| d.id).collect::<Vec<_>>()
    );
    assert_eq!(engine.list_datasets().unwrap().len(), 2);

    let config = BenchConfig {
        detectors: specs(&["rolling_zscore", "hbos", "cusum", "constant"]),
        jobs: 2,
        ..BenchConfig::default()
    };
    let control = RunControl::default();
    let board = engine.bench(&datasets, &config, &control).unwrap();
    assert_eq!(control.progress.get(), (8, 8));
    assert!(!board.cancelled);
    assert_eq!(board.datasets.len(), 2);
    assert_eq!(board.rows.len(), 4);
    assert_eq!(board.entries.len(), 8);
    for dataset in &board.datasets {
        let mut ranks: Vec<f64> = board
            .entries
            .iter()
            .filter(|e| &e.dataset == dataset)
            .map(|e| e.rank)
            .collect();
        ranks.sort_by(f64::total_cmp);
        assert!(
            (ranks.iter().sum::<f64>() - 10.0).abs() < 1e-9,
            "ranks of 4 detectors sum to 10: {ranks:?}"
        );
    }
    for e in &board.entries {
        let card = e.card.expect("every detector ran");
        let random = e.random.expect("random baseline beside every result");
        assert!(card.vus_pr.is_some() && random.vus_pr.is_some());
        // Point adjustment flatters random scores on NAB's wide windows.
        assert!(random.pa_f1_optimistic > 0.5, "{random:?}");
    }
    // The mean-rank order is sorted and the constant detector is not on top.
    assert!(
        board
            .rows
            .windows(2)
            .all(|w| w[0].mean_rank <= w[1].mean_rank)
    );
    assert_ne!(board.rows[0].detector, "constant");

    let runs = engine.list_runs(None).unwrap();
    assert_eq!(runs.len(), 8);
    for run in &runs {
        let metrics = RunMetrics::from_json(&run.metrics_json).expect("metrics stored");
        assert!(metrics.random.is_some() && metrics.constant.is_some());
        assert!(run.job.is_some());
    }
    let ids: Vec<i64> = board.entries.iter().filter_map(|e| e.run).collect();
    assert_eq!(ids.len(), 8);

    // Output formats parse back.
    let csv = board.to_csv();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header = reader.headers().unwrap().clone();
    for column in [
        "dataset",
        "detector",
        "rank",
        "vus_pr",
        "random_vus_pr",
        "pa_f1_optimistic",
    ] {
        assert!(header.iter().any(|h| h == column), "{column} missing");
    }
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 8);
    let vus_col = header.iter().position(|h| h == "vus_pr").unwrap();
    for r in &records {
        let v: f64 = r[vus_col].parse().unwrap();
        assert!((0.0..=1.0).contains(&v));
    }
    let json = serde_json::to_string(&board).unwrap();
    let back: Leaderboard = serde_json::from_str(&json).unwrap();
    assert_eq!(back, board);
    let md = board.to_markdown();
    assert!(md.starts_with("# AnomDet leaderboard"));
    assert!(md.contains("VUS-PR per dataset"));
    assert_eq!(board.rank_metric, MetricId::VusPr);
}

/// A seasonal series with noise: spikes of 8 context σ stand out, level shifts of 0.25 σ do
/// not, so a spike-catching detector must show exactly that pattern.
#[test]
fn robustness_matrix_has_the_known_answer_for_a_spike_detector() {
    let base = seasonal_series(1500, 50, 0.3, 11);
    let config = RobustnessConfig {
        detectors: specs(&["rolling_zscore", "constant"]),
        kinds: vec!["spike".into(), "level_shift".into()],
        magnitudes: vec![8.0, 0.25],
        repeats: 2,
        seed: 5,
        windows: 3,
        window_len: 20,
        jobs: 2,
        ..RobustnessConfig::default()
    };
    let m = robustness_matrix(&base, &config, &RunControl::default()).unwrap();
    assert_eq!(m.magnitudes, vec![0.25, 8.0], "sorted ascending");
    assert_eq!(m.cells.len(), 2 * 2 * 2);
    let cell = |d: usize, k: usize, mag: usize| m.cell(d, k, mag).unwrap();
    let spike_big = cell(0, 0, 1);
    let spike_small = cell(0, 0, 0);
    let shift_small = cell(0, 1, 0);
    assert_eq!(
        (spike_big.detector.as_str(), spike_big.kind.as_str()),
        ("rolling_zscore", "spike")
    );
    assert_eq!(spike_big.repeats, 2);
    assert!(spike_big.detection_rate >= 0.99, "{spike_big:?}");
    assert!(spike_big.vus_pr.unwrap() > 0.4, "{spike_big:?}");
    assert_eq!(
        spike_big.mean_delay_rows,
        Some(0.0),
        "a spike is caught on its own row"
    );
    assert!(spike_small.vus_pr.unwrap() < spike_big.vus_pr.unwrap());
    assert!(shift_small.detection_rate <= 0.34, "{shift_small:?}");
    assert_eq!(m.min_reliable_magnitude(0, 0), Some(8.0));
    // A shift of 8 σ is caught too, one of 0.25 σ is not.
    assert_eq!(m.min_reliable_magnitude(0, 1), Some(8.0));
    assert_eq!(m.min_reliable_magnitude(1, 0), None);
    // The constant detector never flags under a MAD rule and so detects nothing.
    assert!(cell(1, 0, 1).detection_rate < 0.01, "{:?}", cell(1, 0, 1));

    let grid = m.to_grid(CellValue::VusPr);
    assert_eq!(grid.row_labels, vec!["rolling_zscore", "constant"]);
    assert_eq!(
        grid.col_labels,
        vec!["spike@0.25", "spike@8", "level_shift@0.25", "level_shift@8"]
    );
    assert_eq!(grid.values.len(), 2);
    assert!(grid.values.iter().all(|row| row.len() == 4));
    assert!((grid.values[0][1] - spike_big.vus_pr.unwrap()).abs() < 1e-12);

    // Same seed, same matrix; JSON and CSV parse back.
    let again = robustness_matrix(&base, &config, &RunControl::default()).unwrap();
    assert_eq!(again, m);
    let back: RobustnessMatrix = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
    assert_eq!(back, m);
    let csv = m.to_csv();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    assert_eq!(reader.records().count(), 8);
}

#[test]
fn robustness_refuses_sizeless_kinds_and_short_series() {
    let base = seasonal_series(400, 50, 0.1, 1);
    let config = RobustnessConfig {
        detectors: specs(&["rolling_zscore"]),
        kinds: vec!["dropout".into()],
        magnitudes: vec![1.0],
        repeats: 1,
        ..RobustnessConfig::default()
    };
    let err = robustness_matrix(&base, &config, &RunControl::default()).unwrap_err();
    assert!(err.to_string().contains("no size parameter"), "{err}");
    let config = RobustnessConfig {
        kinds: vec!["level_shift".into()],
        windows: 50,
        ..config
    };
    let err = robustness_matrix(&base, &config, &RunControl::default()).unwrap_err();
    assert!(err.to_string().contains("too short"), "{err}");
}

#[test]
fn label_free_ranking_prefers_a_real_detector_and_agrees_with_the_truth() {
    let detectors = specs(&["rolling_zscore", "random", "constant"]);
    let labelled = seasonal_with_anomalies(1500, 50, 700, 1000..1040, 3);
    let config = SelectionConfig {
        detectors: detectors.clone(),
        kinds: vec![("spike".into(), 6.0), ("level_shift".into(), 4.0)],
        repeats: 2,
        jobs: 2,
        ..SelectionConfig::default()
    };
    let suggested = rank_unlabelled(&labelled, &config, &RunControl::default()).unwrap();
    assert_eq!(suggested.detectors.len(), 3);
    assert_eq!(
        suggested.top().unwrap().detector,
        "rolling_zscore",
        "{suggested:?}"
    );
    let truth = rank_labelled(
        &labelled,
        &detectors,
        &config.vus,
        2,
        &RunControl::default(),
    )
    .unwrap();
    assert_eq!(truth.top().unwrap().detector, "rolling_zscore", "{truth:?}");
    let agree = RankAgreement::compare(&suggested, &truth).unwrap();
    assert!(agree.top1_hit);
    assert!(agree.regret.abs() < 1e-12);
    assert!(agree.spearman.unwrap() > 0.0, "{agree:?}");

    let unlabelled = seasonal_series(300, 50, 0.1, 1);
    assert!(
        rank_labelled(
            &unlabelled,
            &detectors,
            &config.vus,
            1,
            &RunControl::default()
        )
        .is_err()
    );
}

fn anomdet(dir: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_anomdet"))
        .arg("--db")
        .arg(dir.join("bench.sqlite"))
        .args(args)
        .current_dir(dir)
        .env_remove("ANOMDET_DB")
        .output()
        .expect("run anomdet");
    assert!(
        out.status.success(),
        "anomdet {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}

#[test]
fn cli_bench_writes_every_format_and_runs_list_stored_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let a = asset(ASSETS[0]);
    let b = asset(ASSETS[1]);
    let out_dir = dir.path().join("report");
    let out_text = out_dir.display().to_string();
    let csv_text = anomdet(
        dir.path(),
        &[
            "bench",
            "-D",
            &a,
            &b,
            "-d",
            "rolling_zscore,hbos",
            "-j",
            "2",
            "--format",
            "csv",
            "--out",
            &out_text,
        ],
    );
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    assert_eq!(reader.records().count(), 4);
    let json = std::fs::read_to_string(out_dir.join("leaderboard.json")).unwrap();
    let board: Leaderboard = serde_json::from_str(&json).unwrap();
    assert_eq!(board.rows.len(), 2);
    let md = std::fs::read_to_string(out_dir.join("leaderboard.md")).unwrap();
    assert!(md.contains("| # | detector |"), "{md}");
    let table = anomdet(dir.path(), &["bench", "-D", &a, "-d", "hbos"]);
    assert!(table.contains("random baseline in brackets"), "{table}");

    let runs: serde_json::Value =
        serde_json::from_str(&anomdet(dir.path(), &["runs", "--json"])).unwrap();
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 5, "4 + 1 runs stored (datasets reused)");
    for run in runs {
        let m = RunMetrics::from_json(run["metrics_json"].as_str().unwrap());
        assert!(m.is_some(), "{run}");
    }

    let matrix_json = anomdet(
        dir.path(),
        &[
            "robustness",
            &a,
            "-d",
            "rolling_zscore",
            "-k",
            "spike",
            "-m",
            "2,8",
            "-r",
            "1",
            "--format",
            "json",
        ],
    );
    let matrix: RobustnessMatrix = serde_json::from_str(&matrix_json).unwrap();
    assert_eq!(matrix.cells.len(), 2);
    let rank = anomdet(
        dir.path(),
        &[
            "rank",
            &a,
            "-d",
            "rolling_zscore,hbos",
            "-r",
            "1",
            "--format",
            "json",
        ],
    );
    let rank: serde_json::Value = serde_json::from_str(&rank).unwrap();
    assert_eq!(
        rank["datasets"][0]["suggested"]["detectors"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert!(rank["datasets"][0]["truth"].is_object(), "{rank}");
}
