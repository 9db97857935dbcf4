//! The live view under a fast stream: "60 frames/s while a stream replays 100k rows/s"
//! (issue 8). Each iteration is one frame: ~1 667 new rows (100 000 / 60) in one batch are
//! applied to the stream's [`LiveData`] (buffers, pyramids, runs, classification), then the
//! live plots are laid out and tessellated headlessly through an `egui::Context` (no GPU),
//! after 1M rows were already received. The budget is 16 ms of CPU per frame.
//!
//! Shape: 2 value columns and 2 detectors (4 stacked plots: 2 value lines, 2 score lines,
//! 2 threshold lines), 1 s steps, a labelled window every 50k rows, a detection every ~5k
//! rows (some hit a window), on a 1280×800 window.
//!
//! Groups (`live_frame`):
//! - `follow_2k`: follow mode on the newest 2 000 rows (the default view);
//! - `follow_200k`: follow mode on the newest 200 000 rows (the widest offered);
//! - `all_rows`: zoomed out to every row received (> 1M rows in view: the pyramid answers);
//! - `apply_only`: the batch applied, no frame (what draining costs).
//!
//! After the groups, 600 frames of `follow_2k` and of `all_rows` are run once more and their
//! CPU time (this thread's user + system time, from `/proc/thread-self/stat`) is printed to
//! stderr, with the buffers' memory.
//!
//! Run: `cargo bench --all-features --bench ui_live -- --warm-up-time 1 --measurement-time 3`.

#![expect(
    missing_docs,
    reason = "criterion_group! generates an undocumented function"
)]

use std::hint::black_box;

use anomdet::app::state::AppState;
use anomdet::app::watch::{LiveData, LiveView};
use anomdet::model::Timestamp;
use anomdet::stream::StreamBatch;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use egui::{Pos2, Rect, Vec2};

/// Rows received before measuring.
const PRELOAD: usize = 1_000_000;
/// Rows per frame: 100k rows/s at 60 frames/s.
const ROWS_PER_FRAME: usize = 100_000 / 60;
/// Rows per batch while preloading.
const PRELOAD_BATCH: usize = 4_096;

/// A deterministic batch of rows `start..start + rows`.
fn batch(start: usize, rows: usize) -> StreamBatch {
    let range = start..start + rows;
    let t0 = 1_672_531_200 * Timestamp::NANOS_PER_SEC;
    let wave = |i: usize, period: f64| (i as f64 * std::f64::consts::TAU / period).sin();
    let noise = |i: usize| ((i.wrapping_mul(2_654_435_761) % 1_000) as f64 / 1_000.0) - 0.5;
    let label = |i: usize| i % 50_000 < 30;
    let flag = |i: usize, d: usize| {
        let phase = (i + d * 777) % 5_000;
        phase < 10 || (label(i) && d == 0)
    };
    StreamBatch {
        rows: range.clone(),
        timestamps: range
            .clone()
            .map(|i| Timestamp(t0 + i as i64 * Timestamp::NANOS_PER_SEC))
            .collect(),
        values: (0..2)
            .map(|c| {
                range
                    .clone()
                    .map(|i| wave(i, 1_440.0 + f64::from(c) * 300.0) + 0.1 * noise(i))
                    .collect()
            })
            .collect(),
        labels: range.clone().map(label).collect(),
        scores: (0..2)
            .map(|d| {
                range
                    .clone()
                    .map(|i| noise(i + d).abs() * 2.0 + if flag(i, d) { 6.0 } else { 0.0 })
                    .collect()
            })
            .collect(),
        thresholds: (0..2).map(|_| vec![4.0; rows]).collect(),
        flags: (0..2)
            .map(|d| range.clone().map(|i| flag(i, d)).collect())
            .collect(),
        events: Vec::new(),
        first_row_at: std::time::Duration::ZERO,
    }
}

fn preloaded() -> LiveData {
    let mut data = LiveData::new(
        vec!["temperature".into(), "pressure".into()],
        &["rolling_zscore".into(), "half_space_trees".into()],
        100_000_000,
        &[],
        &[],
    );
    let mut row = 0;
    while row < PRELOAD {
        data.apply(&batch(row, PRELOAD_BATCH));
        row += PRELOAD_BATCH;
    }
    data
}

fn input() -> egui::RawInput {
    egui::RawInput {
        screen_rect: Some(Rect::from_min_size(Pos2::ZERO, Vec2::new(1280.0, 800.0))),
        ..egui::RawInput::default()
    }
}

/// One frame: the stacked live plots laid out and tessellated.
fn frame(ctx: &egui::Context, view: &mut LiveView, data: &LiveData, state: &AppState) -> usize {
    let mut output = ctx.run_ui(input(), |ui| {
        egui::CentralPanel::default().show(ui, |ui| {
            view.plots_ui(ui, 1, data, state);
        });
    });
    // No renderer here: the font atlas upload is dropped on purpose.
    output.textures_delta.clear();
    ctx.tessellate(output.shapes, output.pixels_per_point).len()
}

/// A live view in one of the bench's modes, after a few frames to settle egui's memory.
fn setup(mode: &str, data: &LiveData, state: &AppState) -> (egui::Context, LiveView) {
    let ctx = egui::Context::default();
    let mut view = LiveView::default();
    match mode {
        "follow_200k" => view.follow_rows = 200_000,
        "all_rows" => view.show_all(),
        _ => {}
    }
    for _ in 0..3 {
        frame(&ctx, &mut view, data, state);
    }
    (ctx, view)
}

fn bench_live(c: &mut Criterion) {
    let state = AppState::default();
    let mut data = preloaded();
    let mut next = data.len();
    let mut group = c.benchmark_group("live_frame");
    group.sample_size(20);
    for mode in ["follow_2k", "follow_200k", "all_rows"] {
        let (ctx, mut view) = setup(mode, &data, &state);
        group.bench_function(mode, |b| {
            b.iter_batched(
                || {
                    let new = batch(next, ROWS_PER_FRAME);
                    next += ROWS_PER_FRAME;
                    new
                },
                |new| {
                    data.apply(&new);
                    black_box(frame(&ctx, &mut view, &data, &state))
                },
                BatchSize::SmallInput,
            );
        });
    }
    group.bench_function("apply_only", |b| {
        b.iter_batched(
            || {
                let new = batch(next, ROWS_PER_FRAME);
                next += ROWS_PER_FRAME;
                new
            },
            |new| data.apply(&new),
            BatchSize::SmallInput,
        );
    });
    group.finish();
    cpu_report(&mut data, &state);
}

/// This thread's CPU time (user + system), from `/proc/thread-self/stat`; `None` elsewhere.
fn thread_cpu_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // Clock ticks: 100 per second on Linux.
    Some((utime + stime) / 100.0)
}

#[expect(
    clippy::print_stderr,
    reason = "a bench reports CPU per frame and memory next to its timings"
)]
fn cpu_report(data: &mut LiveData, state: &AppState) {
    const FRAMES: usize = 600;
    for mode in ["follow_2k", "all_rows"] {
        let (ctx, mut view) = setup(mode, data, state);
        let rows_before = data.len();
        let (Some(cpu0), wall0) = (thread_cpu_secs(), std::time::Instant::now()) else {
            return;
        };
        let mut points = 0;
        for _ in 0..FRAMES {
            let new = batch(data.len(), ROWS_PER_FRAME);
            data.apply(&new);
            black_box(frame(&ctx, &mut view, data, state));
            points = points.max(view.points_drawn);
        }
        let cpu = thread_cpu_secs().unwrap_or(cpu0) - cpu0;
        let wall = wall0.elapsed().as_secs_f64();
        eprintln!(
            "live_frame/{mode}: {FRAMES} frames from {rows_before} rows, +{ROWS_PER_FRAME} rows \
             each: CPU {:.2} ms/frame, wall {:.2} ms/frame, at most {points} points drawn per \
             frame; buffers {:.0} MB",
            cpu * 1e3 / FRAMES as f64,
            wall * 1e3 / FRAMES as f64,
            data.heap_bytes() as f64 / 1e6,
        );
    }
}

criterion_group!(benches, bench_live);
criterion_main!(benches);
