//! Replay stream benches (issue 6 targets):
//! - `replay_max_speed`: end-to-end replay of 10M rows at max speed through rolling z-score
//!   (fixed threshold, nothing stored), in 4096-row batches over the bounded channel to a
//!   consumer that reads every batch. Target ≥ 20M rows/s. The timer starts once the stream is
//!   started (loading the dataset from the in-memory store is not replay).
//! - `batch_rows` sweep on 1M rows: why batching matters.
//! - per-row latency at 10 000 rows/s on the wall clock (1 ms steps at 10×, 30 000 rows = 3 s):
//!   receive time minus the row's due time, printed as percentiles (target p99 < 20 ms).
//!
//! Run: `cargo bench --bench stream -- --warm-up-time 1 --measurement-time 3`.
#![expect(
    missing_docs,
    clippy::unwrap_used,
    reason = "criterion_group! generates an undocumented pub fn; a bench may panic on setup"
)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};

use anomdet::detect::{DetectorSpec, ThresholdRule};
use anomdet::engine::Engine;
use anomdet::model::{Column, Series, Timestamp};
use anomdet::stream::{Clock, Speed, StreamEvent, StreamOptions, StreamSpec, WallClock, Warmup};

/// `(rows, batch_rows)`: the target shape, then a sweep on 1M rows.
const SHAPES: &[(usize, usize)] = &[
    (10_000_000, 4096),
    (1_000_000, 256),
    (1_000_000, 1024),
    (1_000_000, 16_384),
];

fn series(len: usize, step_ns: i64) -> Series {
    let values = anomdet::testing::seasonal_values(len, 100, 0.1, 7);
    let timestamps = (0..len as i64).map(|i| Timestamp(i * step_ns)).collect();
    Series::new(timestamps, vec![Column::new("value", values)], None).unwrap()
}

fn spec(engine: &Engine, data: &Series, speed: Speed, batch_rows: usize) -> StreamSpec {
    let id = engine.store_series("bench", data).unwrap().id;
    let mut spec = StreamSpec::new(id, vec![DetectorSpec::new("rolling_zscore")]);
    spec.speed = speed;
    spec.threshold = ThresholdRule::Fixed { value: 4.0 };
    spec.warmup = Warmup::FirstRows { rows: 0 };
    spec.persist = false;
    spec.batch_rows = batch_rows;
    spec
}

fn replay(c: &mut Criterion) {
    let mut group = c.benchmark_group("replay_max_speed");
    group.sample_size(10);
    for &(rows, batch_rows) in SHAPES {
        let engine = Engine::in_memory();
        let spec = spec(
            &engine,
            &series(rows, 1_000_000_000),
            Speed::Max,
            batch_rows,
        );
        group.throughput(Throughput::Elements(rows as u64));
        group.bench_with_input(
            BenchmarkId::from_parameter(format!("{rows}x{batch_rows}")),
            &spec,
            |b, spec| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let handle = engine.start_stream(spec.clone()).unwrap();
                        let started = Instant::now();
                        let mut received = 0usize;
                        let mut checksum = 0.0;
                        for batch in handle.events() {
                            received += batch.len();
                            checksum += batch.scores[0].last().copied().unwrap_or(0.0);
                        }
                        total += started.elapsed();
                        assert_eq!(received, rows);
                        black_box(checksum);
                        handle.join().unwrap();
                    }
                    total
                });
            },
        );
    }
    group.finish();
}

/// Per-row latency from "due" to "received" at 10 000 rows/s on the wall clock.
fn latency_report() {
    const ROWS: usize = 30_000;
    const SPEED: f64 = 10.0;
    let step_ns = 1_000_000; // 1 ms between rows; at 10x = 10 000 rows/s
    let engine = Engine::in_memory();
    let data = series(ROWS, step_ns);
    let spec = spec(&engine, &data, Speed::Factor(SPEED), 4096);
    let clock = Arc::new(WallClock::new());
    let options = StreamOptions::with_clock(Arc::clone(&clock) as Arc<dyn Clock>);
    let handle = engine.start_stream_with(spec, options).unwrap();
    let mut latencies_us: Vec<f64> = Vec::with_capacity(ROWS);
    let mut anchor: Option<(Duration, i64)> = None;
    for batch in handle.events() {
        let now = clock.now();
        if batch
            .events
            .iter()
            .any(|e| matches!(e, StreamEvent::Finished(_)))
            && batch.is_empty()
        {
            break;
        }
        if batch.is_empty() {
            continue;
        }
        // Rows are due `ts / speed` after the first row, which was replayed when due.
        let (t0, ts0) = *anchor.get_or_insert((batch.first_row_at, batch.timestamps[0].nanos()));
        for ts in &batch.timestamps {
            let due = t0 + Duration::from_nanos(((ts.nanos() - ts0) as f64 / SPEED) as u64);
            latencies_us.push(now.saturating_sub(due).as_secs_f64() * 1e6);
        }
    }
    handle.join().unwrap();
    latencies_us.sort_by(f64::total_cmp);
    let pct = |p: f64| latencies_us[((latencies_us.len() - 1) as f64 * p) as usize] / 1000.0;
    #[expect(clippy::print_stdout, reason = "a bench reports its figures")]
    {
        println!(
            "stream latency at 10000 rows/s over {} rows: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            latencies_us.len(),
            pct(0.5),
            pct(0.9),
            pct(0.99),
            pct(1.0)
        );
    }
}

criterion_group!(benches, replay);

fn main() {
    latency_report();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
