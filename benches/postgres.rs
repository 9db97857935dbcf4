//! PostgreSQL backend speed (feature `timescale`), against a throwaway local cluster with the
//! server's default durability (or the server in `ANOMDET_PG_URL`). Targets from issue 9:
//! - `pg_write_1M`: storing a 1M-sample dataset (one column; binary COPY into the narrow
//!   `samples` table plus the timestamp chunks), at least 200k rows/s over loopback;
//! - `pg_downsample_1M_to_2000`: reading that series as 2 000 min/max/mean buckets, server
//!   side, in under 200 ms.
//!
//! Shape: timestamps one second apart, values from a seeded seasonal generator. Each write
//! iteration deletes its dataset afterwards, outside the timed section.
//!
//! Run: `cargo bench --features timescale --bench postgres -- --warm-up-time 1 --measurement-time 3`.

use std::time::{Duration, Instant};

use anomdet::model::Series;
use anomdet::storage::{NewDataset, PgTestServer, PostgresStorage, Storage};
use criterion::{Criterion, Throughput};

const ROWS: usize = 1_000_000;
const BUCKETS: usize = 2_000;

fn series() -> Series {
    Series::from_values(
        "value",
        anomdet::testing::seasonal_values(ROWS, 1_440, 0.1, 42),
    )
}

fn benches(c: &mut Criterion) {
    let server = PgTestServer::start_durable().expect("a PostgreSQL server for the bench");
    let db = server.fresh_database().expect("a bench database");
    let mut store = PostgresStorage::connect(db.url()).expect("connect");
    let series = series();

    let mut group = c.benchmark_group("pg_write_1M");
    group.sample_size(10);
    group.throughput(Throughput::Elements(ROWS as u64));
    let mut counter = 0_u64;
    group.bench_function("put_dataset", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                counter += 1;
                let new = NewDataset::named(format!("bench-{counter}"));
                let started = Instant::now();
                let meta = store.put_dataset(&new, &series).expect("store");
                total += started.elapsed();
                store.delete_dataset(meta.id).expect("cleanup");
            }
            total
        });
    });
    group.finish();

    let meta = store
        .put_dataset(&NewDataset::named("plot"), &series)
        .expect("store the plotted series");
    // Fresh statistics, as autovacuum would have them on a live server.
    store.list_datasets().expect("warm up");
    let mut group = c.benchmark_group("pg_downsample_1M_to_2000");
    group.sample_size(10);
    group.bench_function("min_max_mean", |b| {
        b.iter(|| {
            let buckets = store.downsample(meta.id, "value", BUCKETS).expect("read");
            assert_eq!(buckets.len(), BUCKETS, "one bucket per slot");
            buckets
        });
    });
    group.finish();
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    benches(&mut criterion);
    criterion.final_summary();
}
