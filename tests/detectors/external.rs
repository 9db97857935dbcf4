//! The external-program detector: the shipped example script end to end (registered from its
//! config folder, listed, built by id, run through the shared invariants), and the failure
//! modes (crash, hang, garbage, missing program) as clear errors rather than hangs.
//!
//! Needs `python3` (for the example) and `sh` on the PATH.

use std::path::PathBuf;

use anomdet::control::CancelToken;
use anomdet::detect::external::{ExternalConfig, ExternalDetector, Format, load_dir};
use anomdet::detect::{DetectError, Detector, DetectorSpec, Family, load_externals, registry};
use anomdet::model::{Row, Timestamp};
use anomdet::testing::seasonal_series;

use super::invariants::check_detector;

fn assets() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/external")
}

fn shell(id: &str, script: &str, timeout_ms: u64) -> ExternalDetector {
    ExternalDetector::from_config(ExternalConfig {
        id: id.into(),
        name: id.into(),
        description: String::new(),
        command: "sh".into(),
        args: vec!["-c".into(), script.into()],
        format: Format::Csv,
        timeout_ms,
        multivariate: true,
        warm_up_rows: None,
        dir: PathBuf::new(),
    })
    .unwrap()
}

fn row(index: usize, values: &[f64]) -> Row<'_> {
    Row {
        index,
        ts: Timestamp(index as i64),
        values,
    }
}

fn backend_message(result: Result<impl std::fmt::Debug, DetectError>) -> String {
    match result {
        Err(DetectError::Backend { message, .. }) => message,
        other => panic!("expected a backend error, got {other:?}"),
    }
}

#[test]
fn example_script_is_registered_listed_and_satisfies_the_invariants() {
    let problems = load_externals(Some(&assets()));
    assert!(problems.is_empty(), "{problems:?}");
    let entry = registry()
        .iter()
        .find(|e| e.info.id == "mean_distance_py")
        .expect("the example appears in the registry");
    assert_eq!(entry.info.family, Family::External);
    assert_eq!(entry.info.params[0].name, "timeout_ms");
    check_detector("mean_distance_py", &|seed| {
        let mut spec = DetectorSpec::new("mean_distance_py");
        spec.seed = seed;
        spec.build().unwrap()
    });
}

#[test]
fn jsonl_format_reaches_the_program() {
    // The program echoes the row's index from the JSON line as its score.
    let mut detector = ExternalDetector::from_config(ExternalConfig {
        id: "jsonl_echo".into(),
        name: "echo".into(),
        description: String::new(),
        command: "sh".into(),
        args: vec![
            "-c".into(),
            r#"while read -r l; do echo "$l" | sed 's/.*"index":\([0-9]*\).*/\1/'; done"#.into(),
        ],
        format: Format::Jsonl,
        timeout_ms: 5000,
        multivariate: true,
        warm_up_rows: None,
        dir: PathBuf::new(),
    })
    .unwrap();
    let series = seasonal_series(50, 10, 0.1, 1);
    let scores = detector.score_series(&series, &CancelToken::new()).unwrap();
    assert_eq!(scores, (0..50).map(f64::from).collect::<Vec<_>>());
    assert!((detector.update(row(7, &[1.0])).unwrap() - 7.0).abs() < 1e-12);
}

#[test]
fn a_crash_is_an_error_with_the_exit_status_and_stderr() {
    let mut detector = shell("crashes", "read l; echo 1.5; echo boom >&2; exit 3", 5000);
    assert!((detector.update(row(0, &[1.0])).unwrap() - 1.5).abs() < 1e-12);
    let message = backend_message(detector.update(row(1, &[2.0])));
    assert!(message.contains("row 1"), "{message}");
    assert!(
        message.contains("boom") && message.contains('3'),
        "{message}"
    );
    // The batch path reports the same kind of failure.
    let mut detector = shell("crashes_batch", "echo boom >&2; exit 3", 5000);
    let message = backend_message(
        detector.score_series(&seasonal_series(100, 10, 0.1, 1), &CancelToken::new()),
    );
    assert!(
        message.contains("row 0") && message.contains("boom"),
        "{message}"
    );
}

#[test]
fn a_hang_times_out_and_is_killed() {
    let mut detector = shell("hangs", "exec sleep 60", 300);
    let message = backend_message(detector.update(row(0, &[1.0])));
    assert!(message.contains("within 300 ms"), "{message}");
    // Batch: the writer thread is blocked or done, the reader times out, nothing hangs.
    let series = seasonal_series(100_000, 10, 0.1, 1);
    let message = backend_message(detector.score_series(&series, &CancelToken::new()));
    assert!(
        message.contains("row 0") && message.contains("300 ms"),
        "{message}"
    );
    // Answers some rows, then stalls.
    let mut detector = shell(
        "stalls",
        "i=0; while read l; do i=$((i+1)); [ $i -gt 3 ] && exec sleep 60; echo 0.5; done",
        300,
    );
    let message = backend_message(
        detector.score_series(&seasonal_series(20, 10, 0.1, 1), &CancelToken::new()),
    );
    assert!(message.contains("row 3"), "{message}");
}

#[test]
fn garbage_output_is_an_error_naming_the_row_and_text() {
    let mut detector = shell(
        "garbage",
        "read l; echo 0.25; while read l; do echo hello; done",
        5000,
    );
    let series = seasonal_series(10, 5, 0.1, 1);
    let message = backend_message(detector.score_series(&series, &CancelToken::new()));
    assert!(
        message.contains("row 1") && message.contains("hello"),
        "{message}"
    );
    let mut detector = shell("infinite", "while read l; do echo inf; done", 5000);
    let message = backend_message(detector.update(row(0, &[1.0])));
    assert!(message.contains("not finite"), "{message}");
}

#[test]
fn a_missing_program_and_bad_configs_are_clear_errors() {
    let mut config = ExternalConfig::from_file(&assets().join("mean_distance.json")).unwrap();
    config.id = "missing_program".into();
    config.command = "/no/such/program".into();
    let mut detector = ExternalDetector::from_config(config).unwrap();
    let message = backend_message(detector.update(row(0, &[1.0])));
    assert!(message.contains("could not start"), "{message}");

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a_good.json"),
        r#"{"id":"good","name":"Good","command":"cat"}"#,
    )
    .unwrap();
    std::fs::write(dir.path().join("b_broken.json"), "{ not json").unwrap();
    std::fs::write(
        dir.path().join("c_bad_id.json"),
        r#"{"id":"Bad Id","name":"x","command":"cat"}"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("d_twice.json"),
        r#"{"id":"good","name":"Again","command":"cat"}"#,
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
    let (configs, problems) = load_dir(dir.path());
    assert_eq!(configs.len(), 1);
    assert_eq!(configs[0].dir, dir.path());
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(problems[0].contains("b_broken.json"));
    assert!(problems[1].contains("snake_case"));
    assert!(problems[2].contains("twice"));
    assert!(load_dir(&dir.path().join("missing")).0.is_empty());
}
