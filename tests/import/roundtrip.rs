//! Every `assets/*.csv` goes import → store → load → export → import and comes back equal,
//! through both storage backends.

use std::path::PathBuf;

use anomdet::control::{CancelToken, Progress};
use anomdet::import::{read_csv, write_series_csv};
use anomdet::model::Series;
use anomdet::storage::{MemoryStorage, NewDataset, SqliteStorage, Storage};

fn assets() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("round-trip step")
        .map(|e| e.expect("round-trip step").path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    files.sort();
    files
}

/// Equal, with NaN equal to NaN (bit patterns are canonical after import).
#[track_caller]
fn assert_same(a: &Series, b: &Series, what: &str) {
    assert_eq!(a.timestamps(), b.timestamps(), "{what}: timestamps");
    assert_eq!(a.column_names(), b.column_names(), "{what}: names");
    assert_eq!(a.labels(), b.labels(), "{what}: labels");
    for (x, y) in a.columns().iter().zip(b.columns()) {
        let bits =
            |c: &anomdet::model::Column| c.values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(x), bits(y), "{what}: column {}", x.name);
    }
}

fn round_trip(storage: &mut dyn Storage, backend: &str) {
    let files = assets();
    assert!(
        files.len() >= 3,
        "expected the NAB and synthetic assets, found {files:?}"
    );
    let out = tempfile::tempdir().expect("round-trip step");
    let (p, c) = (Progress::new(), CancelToken::new());
    for file in files {
        let what = format!("{backend}: {}", file.display());
        let first = read_csv(&file, &p, &c).unwrap_or_else(|e| panic!("{e}"));
        assert!(first.warnings.is_empty(), "{what}: {:?}", first.warnings);
        assert!(first.series.len() >= 1000, "{what}");
        assert!(first.series.labels().is_some(), "{what}: labels");
        let name = file
            .file_stem()
            .expect("round-trip step")
            .to_string_lossy()
            .into_owned();
        let meta = storage
            .put_dataset(&NewDataset::named(name), &first.series)
            .expect("round-trip step");
        let loaded = storage.load_series(meta.id).expect("round-trip step");
        assert_same(&loaded, &first.series, &what);
        let exported = out.path().join(format!(
            "{backend}-{}",
            file.file_name().expect("round-trip step").to_string_lossy()
        ));
        write_series_csv(&loaded, None, &exported).expect("round-trip step");
        let second = read_csv(&exported, &p, &c).expect("round-trip step");
        assert!(second.warnings.is_empty(), "{what}: {:?}", second.warnings);
        assert_same(&second.series, &first.series, &what);
    }
}

#[test]
fn assets_round_trip_through_memory_storage() {
    round_trip(&mut MemoryStorage::default(), "memory");
}

#[test]
fn assets_round_trip_through_sqlite() {
    round_trip(&mut SqliteStorage::open_in_memory().unwrap(), "sqlite");
}

#[test]
fn export_with_scores_reimports_with_ground_truth() {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/nab_art_daily_jumpsup.csv");
    let (p, c) = (Progress::new(), CancelToken::new());
    let series = read_csv(&file, &p, &c).unwrap().series;
    let scores: Vec<f64> = (0..series.len())
        .map(|i| if i < 10 { f64::NAN } else { i as f64 / 7.0 })
        .collect();
    let predicted: Vec<bool> = (0..series.len()).map(|i| i % 100 == 0).collect();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run.csv");
    write_series_csv(&series, Some((&scores, &predicted)), &out).unwrap();
    let back = read_csv(&out, &p, &c).unwrap();
    assert_eq!(back.label_column.as_deref(), Some("label"));
    assert_eq!(back.series.labels(), series.labels());
    assert_eq!(back.series.column_names(), ["value", "score", "is_anomaly"]);
    let got = &back.series.columns()[1].values;
    assert!(got[..10].iter().all(|v| v.is_nan()));
    assert_eq!(got[10..], scores[10..]);
}
