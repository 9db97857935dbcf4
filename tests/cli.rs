//! CLI integration tests: run the built `anomdet` binary in a temporary directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

struct Cli {
    dir: TempDir,
}

impl Cli {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("test.sqlite")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).expect("write fixture");
        path
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_anomdet"))
            .arg("--db")
            .arg(self.db())
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("ANOMDET_DB")
            .output()
            .expect("run anomdet")
    }

    /// Runs and asserts success; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "anomdet {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    /// Runs and asserts exit code 2 with a one-line error; returns stderr.
    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "anomdet {args:?} should fail with 2"
        );
        let stderr = String::from_utf8(out.stderr).expect("utf-8 stderr");
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "one-line error expected: {stderr}"
        );
        assert!(stderr.starts_with("anomdet: error: "), "{stderr}");
        stderr
    }
}

/// A seasonal series with one obvious spike at row 300 and a label column marking it.
fn spike_csv() -> String {
    let mut text = String::from("timestamp,value,label\n");
    for i in 0..400 {
        let value = if i == 300 {
            50.0
        } else {
            (f64::from(i) / 8.0).sin()
        };
        let label = u8::from(i == 300);
        let minutes = i;
        text.push_str(&format!(
            "2024-01-01T{:02}:{:02}:00Z,{value},{label}\n",
            minutes / 60,
            minutes % 60
        ));
    }
    text
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).expect("valid JSON")
}

#[test]
fn import_list_show_export_delete_round_trip() {
    let cli = Cli::new();
    let file = cli.write("spiky.csv", &spike_csv());
    let out = cli.ok(&["import", file.to_str().unwrap()]);
    assert!(
        out.contains("imported \"spiky\": 400 rows, 1 column(s), 1 labelled anomalous"),
        "{out}"
    );

    let list = json(&cli.ok(&["datasets", "--json"]));
    assert_eq!(list[0]["name"], "spiky");
    assert_eq!(list[0]["rows"], 400);

    let shown = cli.ok(&["show", "spiky"]);
    assert!(shown.contains("rows      400"), "{shown}");
    assert!(shown.contains("step      1m"), "{shown}");
    assert!(shown.contains("1 rows labelled anomalous"), "{shown}");

    let exported = cli.path("out.csv");
    cli.ok(&["export", "spiky", "--out", exported.to_str().unwrap()]);
    let reimported = cli.ok(&[
        "import",
        exported.to_str().unwrap(),
        "--name",
        "again",
        "--json",
    ]);
    assert_eq!(json(&reimported)["rows"], 400);

    cli.ok(&["delete", "spiky"]);
    let list = json(&cli.ok(&["datasets", "--json"]));
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert_eq!(list[0]["name"], "again");
}

#[test]
fn run_detector_and_export_scores() {
    let cli = Cli::new();
    let file = cli.write("spiky.csv", &spike_csv());
    cli.ok(&["import", file.to_str().unwrap()]);
    let run = json(&cli.ok(&[
        "run",
        "spiky",
        "--detector",
        "rolling_zscore",
        "--param",
        "window=50",
        "--json",
    ]));
    assert_eq!(run["status"], "finished");
    assert_eq!(run["rows"], 400);
    assert!(run["flagged"].as_u64().unwrap() >= 1);

    let runs = json(&cli.ok(&["runs", "spiky", "--json"]));
    assert_eq!(runs.as_array().map(Vec::len), Some(1));

    let out = cli.path("scores.csv");
    let id = run["id"].to_string();
    cli.ok(&["export-run", &id, "--out", out.to_str().unwrap()]);
    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("timestamp,value,score,is_anomaly,label"));
    let spike_row: Vec<&str> = text.lines().nth(301).unwrap().split(',').collect();
    assert_eq!(spike_row[3], "1", "the spike is flagged: {spike_row:?}");
    assert_eq!(spike_row[4], "1", "and labelled");
    assert_eq!(text.lines().count(), 401);
}

#[test]
fn detectors_lists_schema_as_json() {
    let cli = Cli::new();
    let list = json(&cli.ok(&["detectors", "--json"]));
    let zscore = list
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == "rolling_zscore")
        .expect("rolling_zscore is registered");
    assert_eq!(zscore["params"][0]["name"], "window");
}

#[test]
fn errors_are_one_line_with_exit_code_2() {
    let cli = Cli::new();
    let err = cli.fails(&["import", "does-not-exist.csv"]);
    assert!(err.contains("does-not-exist.csv"), "{err}");

    let err = cli.fails(&["show", "nope"]);
    assert!(err.contains("no dataset"), "{err}");

    let file = cli.write("s.csv", &spike_csv());
    cli.ok(&["import", file.to_str().unwrap()]);
    let err = cli.fails(&["run", "s", "--detector", "no_such_detector"]);
    assert!(err.contains("unknown detector"), "{err}");
    let err = cli.fails(&[
        "run",
        "s",
        "--detector",
        "rolling_zscore",
        "--param",
        "window=1",
    ]);
    assert!(err.contains("window"), "{err}");
    let err = cli.fails(&[
        "run",
        "s",
        "--detector",
        "rolling_zscore",
        "--threshold",
        "bogus:1",
    ]);
    assert!(err.contains("threshold"), "{err}");
    let err = cli.fails(&["export-run", "999", "--out", "x.csv"]);
    assert!(err.contains("no run 999"), "{err}");
}

#[test]
fn bad_file_leaves_existing_data_intact() {
    let cli = Cli::new();
    let good = cli.write("good.csv", &spike_csv());
    cli.ok(&["import", good.to_str().unwrap()]);
    let bad = cli.write(
        "bad.csv",
        "timestamp,value\n2024-01-01T00:00:00Z,1\n2024-01-01T00:01:00Z,2,3\n",
    );
    cli.fails(&["import", bad.to_str().unwrap()]);
    let list = json(&cli.ok(&["datasets", "--json"]));
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert_eq!(list[0]["rows"], 400);
}

#[test]
fn database_location_from_environment() {
    let cli = Cli::new();
    let file = cli.write("s.csv", &spike_csv());
    let db = cli.path("env.sqlite");
    let status = Command::new(env!("CARGO_BIN_EXE_anomdet"))
        .args(["import", file.to_str().unwrap()])
        .env("ANOMDET_DB", &db)
        .output()
        .expect("run");
    assert!(status.status.success());
    assert!(
        Path::new(&db).exists(),
        "ANOMDET_DB decides where the database goes"
    );
}

#[test]
fn help_for_every_subcommand() {
    let cli = Cli::new();
    for sub in [
        "import",
        "datasets",
        "show",
        "export",
        "delete",
        "detectors",
        "run",
        "runs",
        "export-run",
    ] {
        let out = cli.ok(&[sub, "--help"]);
        assert!(out.contains("Usage: anomdet"), "{sub}: {out}");
    }
}
