//! Import speed: a 1M-row, 1-value CSV (`timestamp,value,label`, RFC 3339 timestamps), the
//! file that `scripts/bench_pandas_import.py` times with `pandas.read_csv` + `pd.to_datetime`.
//! The file is generated into a temporary folder in the setup (same content as the script's).
//! Also: the same file written back (`write_series_csv`).
//!
//! `cargo bench --bench import -- --warm-up-time 1 --measurement-time 5`

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::Path;

use anomdet::control::{CancelToken, Progress};
use anomdet::import::{read_csv, write_series_csv};
use anomdet::model::Timestamp;
use criterion::{Criterion, criterion_main};

const ROWS: u64 = 1_000_000;

/// `timestamp,value,label`: one row a minute from 2024-01-01, values with 6 decimals from an
/// integer hash, label 1 on every 997th row. Byte-identical to the Python script's file.
fn write_input(path: &Path, rows: u64) {
    let t0 = 1_704_067_200 * Timestamp::NANOS_PER_SEC;
    let mut text = String::with_capacity(rows as usize * 36 + 32);
    text.push_str("timestamp,value,label\n");
    for i in 0..rows {
        let ts = Timestamp(t0 + i as i64 * 60 * Timestamp::NANOS_PER_SEC).to_rfc3339();
        let value = (i * 2_654_435_761 % 1_000_003) as f64 / 1_000_003.0 * 100.0;
        let label = u8::from(i % 997 == 0);
        let _ = writeln!(text, "{ts},{value:.6},{label}");
    }
    std::fs::write(path, text).expect("write the bench input");
}

fn bench_import(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("import_1m.csv");
    write_input(&input, ROWS);
    let (progress, cancel) = (Progress::new(), CancelToken::new());
    let imported = read_csv(&input, &progress, &cancel).expect("bench input imports");
    assert_eq!(imported.series.len() as u64, ROWS);
    assert!(imported.warnings.is_empty());

    let mut group = c.benchmark_group("import");
    group.sample_size(10);
    group.bench_function("read_csv_1m_rows_rfc3339_value_label", |b| {
        b.iter(|| black_box(read_csv(&input, &progress, &cancel).expect("imports")));
    });
    let output = dir.path().join("export_1m.csv");
    group.bench_function("write_series_csv_1m_rows", |b| {
        b.iter(|| write_series_csv(&imported.series, None, &output).expect("writes"));
    });
    group.finish();
}

/// The group `criterion_main!` runs (written out: `criterion_group!` makes an undocumented
/// `pub fn`).
fn benches() {
    let mut criterion = Criterion::default().configure_from_args();
    bench_import(&mut criterion);
}

criterion_main!(benches);
