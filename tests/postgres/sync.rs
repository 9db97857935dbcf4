//! `sync` between SQLite and PostgreSQL, through the engine function and the CLI.

use std::process::Command;

use anomdet::engine;
use anomdet::model::Params;
use anomdet::storage::conformance::{assert_same_bits, assert_same_series, sample_series};
use anomdet::storage::{
    JobUpdate, NewDataset, NewJob, NewRun, PostgresStorage, RunStatus, SqliteStorage, Storage,
};

use super::database;

fn fill(store: &mut dyn Storage) {
    let a = store
        .put_dataset(
            &NewDataset::named("sensor ' a"),
            &sample_series(70_000, 2, true, 5),
        )
        .unwrap();
    let mut derived = NewDataset::named("sensor ' a injected");
    derived.parent = Some(a.id);
    derived.plan_json = Some("{\"spike\": 1}".to_owned());
    let b = store
        .put_dataset(&derived, &sample_series(10, 1, true, 6))
        .unwrap();
    let job = store
        .put_job(&NewJob {
            dataset: b.id,
            kind: "stream".to_owned(),
            spec_json: "{}".to_owned(),
            status: RunStatus::Running,
            rows_total: 10,
            owner_pid: 42,
            created_ms: None,
            finished_ms: None,
        })
        .unwrap();
    store
        .update_job(
            job,
            &JobUpdate {
                status: Some(RunStatus::Finished),
                rows_done: Some(10),
                rows_per_sec: Some(123.5),
                summary_json: Some("{\"delays\": [1]}".to_owned()),
                ..JobUpdate::default()
            },
        )
        .unwrap();
    store
        .put_run(&NewRun {
            dataset: b.id,
            detector: "zscore".to_owned(),
            params: Params::default(),
            seed: 3,
            threshold_json: "{}".to_owned(),
            mode: "stream".to_owned(),
            status: RunStatus::Finished,
            error: None,
            scores: vec![f64::NAN, -0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
            predicted: vec![
                false, false, false, true, false, false, false, false, true, true,
            ],
            metrics_json: "{\"f1\": 0.5}".to_owned(),
            fit_secs: 0.1,
            score_secs: 0.2,
            job: Some(job),
            created_ms: None,
        })
        .unwrap();
}

/// Everything a sync must carry over, compared store against store.
fn assert_same_content(a: &dyn Storage, b: &dyn Storage) {
    let (da, db) = (a.list_datasets().unwrap(), b.list_datasets().unwrap());
    assert_eq!(da.len(), db.len(), "dataset count");
    for (x, y) in da.iter().zip(&db) {
        assert_eq!(x.name, y.name, "names");
        assert_eq!(
            x.parent.is_some(),
            y.parent.is_some(),
            "parent link of {:?}",
            x.name
        );
        assert_eq!(x.plan_json, y.plan_json, "plan");
        assert_same_series(
            &a.load_series(x.id).unwrap(),
            &b.load_series(y.id).unwrap(),
            &x.name,
        );
        let (ra, rb) = (
            a.list_runs(Some(x.id)).unwrap(),
            b.list_runs(Some(y.id)).unwrap(),
        );
        assert_eq!(ra.len(), rb.len(), "runs of {:?}", x.name);
        for (r, s) in ra.iter().zip(&rb) {
            let (r, s) = (a.run(r.id).unwrap(), b.run(s.id).unwrap());
            assert_same_bits(&r.scores, &s.scores, "scores");
            assert_eq!(r.predicted, s.predicted, "predictions");
            assert_eq!(r.summary.metrics_json, s.summary.metrics_json, "metrics");
            let (ja, jb) = (
                a.job(r.summary.job.unwrap()).unwrap(),
                b.job(s.summary.job.unwrap()).unwrap(),
            );
            assert_eq!(
                (ja.status, ja.rows_done, ja.summary_json),
                (jb.status, jb.rows_done, jb.summary_json),
                "job"
            );
        }
    }
}

#[test]
fn sqlite_to_postgres_and_back_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let mut local = SqliteStorage::open(&dir.path().join("local.sqlite")).unwrap();
    fill(&mut local);
    let db = database();
    let mut remote = PostgresStorage::connect(db.url()).unwrap();
    let report = engine::sync(&local, &mut remote, &[]).unwrap();
    assert_eq!(report.copied.len(), 2, "{report:?}");
    assert_eq!((report.runs, report.jobs), (1, 1), "{report:?}");
    assert_same_content(&local, &remote);
    let again = engine::sync(&local, &mut remote, &[]).unwrap();
    assert!(
        again.copied.is_empty() && again.skipped.len() == 2,
        "{again:?}"
    );
    let mut back = SqliteStorage::open(&dir.path().join("back.sqlite")).unwrap();
    engine::sync(&remote, &mut back, &[]).unwrap();
    assert_same_content(&local, &back);
}

#[test]
fn cli_sync_copies_the_named_dataset_only() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("local.sqlite");
    {
        let mut local = SqliteStorage::open(&file).unwrap();
        fill(&mut local);
    }
    let db = database();
    let output = Command::new(env!("CARGO_BIN_EXE_anomdet"))
        .args(["sync", "--from"])
        .arg(&file)
        .args([
            "--to",
            db.url().secret_url(),
            "--dataset",
            "sensor ' a injected",
        ])
        .env_remove("ANOMDET_DB")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("1 datasets, 1 runs and 1 jobs copied"),
        "{stdout}"
    );
    assert!(stdout.contains("PostgreSQL"), "target described: {stdout}");
    let remote = PostgresStorage::connect(db.url()).unwrap();
    let names: Vec<String> = remote
        .list_datasets()
        .unwrap()
        .into_iter()
        .map(|m| m.name)
        .collect();
    assert_eq!(names, ["sensor ' a injected"], "only the named dataset");
    let listed = Command::new(env!("CARGO_BIN_EXE_anomdet"))
        .args(["--db", db.url().secret_url(), "datasets"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&listed.stdout).contains("sensor ' a injected"),
        "--db postgres:// works for other commands: {}{}",
        String::from_utf8_lossy(&listed.stdout),
        String::from_utf8_lossy(&listed.stderr)
    );
}
