//! Jobs and the replay stream (issue 6): pacing on a manual clock, pause/resume/seek/speed,
//! cancellation, stream == batch for every detector, live == batch injection, bounded memory
//! under a slow consumer, stored jobs, the CLI, and a stream killed with SIGKILL.
//!
//! No test sleeps or asserts on wall time: pacing runs on a `ManualClock`, and waiting loops
//! only bound how long a broken build could hang.

mod control;
mod crash;
mod equality;
mod models;

use std::sync::Arc;
use std::time::Duration;

use anomdet::detect::{DetectorSpec, ThresholdRule};
use anomdet::engine::Engine;
use anomdet::model::{Column, Series, Timestamp};
use anomdet::storage::DatasetId;
use anomdet::stream::{
    Clock, ManualClock, Speed, StreamBatch, StreamEvent, StreamHandle, StreamOptions, StreamSpec,
    Warmup,
};

/// Generous: only so that a broken stream cannot hang the test run.
pub const RECV_TIMEOUT: Duration = Duration::from_mins(1);

/// `len` rows, one per second, a sine with a spike at `len / 2`.
pub fn spiky(len: usize) -> Series {
    let mut values = anomdet::testing::seasonal_values(len, 25, 0.05, 9);
    values[len / 2] += 10.0;
    let timestamps = (0..len as i64)
        .map(|i| Timestamp(1_700_000_000 * Timestamp::NANOS_PER_SEC + i * Timestamp::NANOS_PER_SEC))
        .collect();
    Series::new(timestamps, vec![Column::new("value", values)], None).unwrap()
}

/// An engine with `series` stored as `name`.
pub fn engine_with(series: &Series) -> (Engine, DatasetId) {
    let engine = Engine::in_memory();
    let meta = engine.store_series("data", series).unwrap();
    (engine, meta.id)
}

/// A spec streaming rolling z-score with a fixed threshold and no fitting.
pub fn zscore_spec(dataset: DatasetId, speed: Speed) -> StreamSpec {
    let mut spec = StreamSpec::new(dataset, vec![DetectorSpec::new("rolling_zscore")]);
    spec.speed = speed;
    spec.threshold = ThresholdRule::Fixed { value: 4.0 };
    spec.warmup = Warmup::FirstRows { rows: 0 };
    spec
}

/// Starts `spec` on a manual clock; batches are sent as soon as the replay would wait.
pub fn start_manual(engine: &Engine, mut spec: StreamSpec) -> (StreamHandle, ManualClock) {
    spec.flush_every = Duration::ZERO;
    let clock = ManualClock::new();
    let options = StreamOptions::with_clock(Arc::new(clock.clone()) as Arc<dyn Clock>);
    (engine.start_stream_with(spec, options).unwrap(), clock)
}

/// The next batch (panics after [`RECV_TIMEOUT`]).
pub fn next_batch(handle: &StreamHandle) -> StreamBatch {
    handle
        .events()
        .recv_timeout(RECV_TIMEOUT)
        .expect("a batch from the stream")
}

/// Receives batches until one carries an event matching `pred`; returns every batch seen.
pub fn until_event(handle: &StreamHandle, pred: impl Fn(&StreamEvent) -> bool) -> Vec<StreamBatch> {
    let mut seen = Vec::new();
    loop {
        let batch = next_batch(handle);
        let hit = batch.events.iter().any(&pred);
        seen.push(batch);
        if hit {
            return seen;
        }
    }
}

/// Drains a stream to its end: all rows' scores per detector, labels, values of column 0.
#[derive(Debug, Default)]
pub struct Drained {
    pub rows: Vec<usize>,
    pub scores: Vec<Vec<f64>>,
    pub flags: Vec<Vec<bool>>,
    pub labels: Vec<bool>,
    pub values: Vec<Vec<f64>>,
    pub events: Vec<StreamEvent>,
}

pub fn drain(handle: &StreamHandle) -> Drained {
    let mut out = Drained::default();
    while let Ok(batch) = handle.events().recv_timeout(RECV_TIMEOUT) {
        if out.scores.is_empty() {
            out.scores = vec![Vec::new(); batch.scores.len()];
            out.flags = vec![Vec::new(); batch.flags.len()];
            out.values = vec![Vec::new(); batch.values.len()];
        }
        out.rows.extend(batch.rows.clone());
        for (all, s) in out.scores.iter_mut().zip(&batch.scores) {
            all.extend(s);
        }
        for (all, s) in out.flags.iter_mut().zip(&batch.flags) {
            all.extend(s);
        }
        for (all, s) in out.values.iter_mut().zip(&batch.values) {
            all.extend(s);
        }
        out.labels.extend(&batch.labels);
        let finished = batch
            .events
            .iter()
            .any(|e| matches!(e, StreamEvent::Finished(_)));
        out.events.extend(batch.events);
        if finished {
            break;
        }
    }
    out
}
