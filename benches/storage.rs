//! Storage throughput: store + load of a 1M-row × 1-column dataset in a SQLite file
//! (target from issue 2: under 1 s for both together), plus each half on its own, and the
//! in-memory backend as a floor.
//!
//! Shape: timestamps one second apart, values from a seeded seasonal generator, no labels:
//! 16 MB of payload (8 B timestamp + 8 B value per row). The file lives in a temp dir; each
//! iteration deletes what it stored, outside the timed section, so the file does not grow.
//!
//! Run: `cargo bench --bench storage -- --warm-up-time 1 --measurement-time 3`.

use std::time::{Duration, Instant};

use anomdet::model::Series;
use anomdet::storage::{MemoryStorage, NewDataset, SqliteStorage, Storage};
use criterion::{Criterion, Throughput, criterion_main};

const ROWS: usize = 1_000_000;

fn series() -> Series {
    Series::from_values(
        "value",
        anomdet::testing::seasonal_values(ROWS, 1_440, 0.1, 42),
    )
}

/// Times `put` + `load` (or one of them) per iteration; cleanup is not timed.
fn bench_backend(c: &mut Criterion, label: &str, store: &mut dyn Storage, series: &Series) {
    let mut group = c.benchmark_group(format!("storage_{label}_1M_x1"));
    group.sample_size(10);
    group.throughput(Throughput::Elements(ROWS as u64));
    let mut counter = 0_u64;
    for (name, time_put, time_load) in [
        ("store_and_load", true, true),
        ("store", true, false),
        ("load", false, true),
    ] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    counter += 1;
                    let new = NewDataset::named(format!("bench-{counter}"));
                    let started = Instant::now();
                    let meta = store.put_dataset(&new, series).expect("bench setup");
                    let stored = started.elapsed();
                    let started = Instant::now();
                    let loaded = store.load_series(meta.id).expect("bench setup");
                    let load = started.elapsed();
                    assert_eq!(loaded.len(), ROWS, "loaded everything");
                    total += if time_put { stored } else { Duration::ZERO };
                    total += if time_load { load } else { Duration::ZERO };
                    store.delete_dataset(meta.id).expect("bench setup");
                }
                total
            });
        });
    }
    group.finish();
}

fn storage(c: &mut Criterion) {
    let series = series();
    let dir = tempfile::tempdir().expect("bench setup");
    let mut sqlite = SqliteStorage::open(&dir.path().join("bench.sqlite")).expect("bench setup");
    bench_backend(c, "sqlite_file", &mut sqlite, &series);
    let mut memory = MemoryStorage::default();
    bench_backend(c, "memory", &mut memory, &series);
}

/// The group `criterion_main!` runs (written out: `criterion_group!` makes an undocumented
/// `pub fn`).
fn benches() {
    let mut criterion = Criterion::default().configure_from_args();
    storage(&mut criterion);
}

criterion_main!(benches);
