//! PostgreSQL backend speed (feature `timescale`), against the server in `ANOMDET_PG_URL`
//! (CI's throwaway cluster: `source .ci/pg.sh; pg_start`). Without it the bench prints
//! SKIPPED and measures nothing. Targets from issue 9:
//! - `pg_write_1M`: storing a 1M-sample dataset (one column; binary COPY into the narrow
//!   `samples` table, its 32-row block summaries, and the timestamp chunks), at least
//!   200k rows/s over loopback;
//! - `pg_downsample_1M_to_2000`: reading that series as 2 000 min/max/mean buckets, server
//!   side, in under 200 ms.
//!
//! The server's durability settings are printed first (`fsync`, `synchronous_commit`, ...):
//! CI's cluster runs with `fsync=off`; for an honest figure also run against a server with
//! `fsync=on` (e.g. `ALTER SYSTEM SET fsync = on; SELECT pg_reload_conf();` on the CI cluster
//! as the `postgres` user).
//!
//! Shape: timestamps one second apart, values from a seeded seasonal generator. Each write
//! iteration deletes its dataset afterwards, outside the timed section.
//!
//! Run: `cargo bench --all-features --bench postgres -- --warm-up-time 1 --measurement-time 3`.

use std::time::{Duration, Instant};

use anomdet::model::Series;
use anomdet::storage::{NewDataset, PgTestServer, PgUrl, PostgresStorage, Storage};
use criterion::{Criterion, Throughput};

const ROWS: usize = 1_000_000;
const BUCKETS: usize = 2_000;

fn series() -> Series {
    Series::from_values(
        "value",
        anomdet::testing::seasonal_values(ROWS, 1_440, 0.1, 42),
    )
}

/// The server's version and the settings that decide write speed.
fn server_settings(url: &PgUrl) -> String {
    let settings =
        postgres::Client::connect(url.secret_url(), postgres::NoTls).and_then(|mut c| {
            c.query(
                "SELECT name, setting FROM pg_settings WHERE name IN ('server_version', 'fsync', \
             'synchronous_commit', 'full_page_writes', 'wal_level', 'shared_buffers', \
             'max_wal_size') ORDER BY name",
                &[],
            )
        });
    match settings {
        Ok(rows) => rows
            .iter()
            .map(|row| format!("{}={}", row.get::<_, String>(0), row.get::<_, String>(1)))
            .collect::<Vec<_>>()
            .join(" "),
        Err(e) => format!("(settings unavailable: {e})"),
    }
}

fn benches(c: &mut Criterion, server: &PgTestServer) {
    let db = server.fresh_database().expect("a bench database");
    #[expect(clippy::print_stderr, reason = "a bench reports its conditions")]
    {
        eprintln!("pg bench server: {}", server_settings(db.url()));
    }
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
    if std::env::var_os("ANOMDET_PG_URL").is_none() {
        #[expect(clippy::print_stderr, reason = "a skipped bench says why")]
        {
            eprintln!(
                "SKIPPED postgres bench: set ANOMDET_PG_URL to a PostgreSQL server \
                 (`source .ci/pg.sh; pg_start` starts a throwaway one)"
            );
        }
        return;
    }
    let server = PgTestServer::shared().expect("the server in ANOMDET_PG_URL");
    let mut criterion = Criterion::default().configure_from_args();
    benches(&mut criterion, server);
    criterion.final_summary();
}
