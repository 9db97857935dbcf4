//! One frame of the plot panel, rendered headlessly through an `egui::Context` (layout +
//! tessellation, no GPU): the "UI never stalls" guard of issue 2 (target: under 4 ms of CPU for
//! 1M points decimated).
//!
//! Shapes (`ROWS`): 10k (a typical benchmark file), 100k (a day of 1 s data), 1M (the
//! issue's target). One value column with ground-truth windows, minute timestamps in 2023,
//! on a 1280×800 window (the plot is ~1000 px wide).
//!
//! Groups:
//! - `plot_frame_cached`: the view does not move, so the decimated points come from the cache
//!   (the steady state: hovering, other panels repainting);
//! - `plot_frame_recompute`: the decimation cache is dropped before every frame (the worst
//!   case: every frame of a continuous zoom);
//! - `plot_frame_undecimated`: every row handed to `egui_plot` as is, for comparison (10k and
//!   100k only: 1M takes far too long per frame, which is the point of decimating).
//! - `plot_frame_10m_x4`: the desktop-app issue's scale bar, 10M rows × 4 columns (second
//!   steps), four stacked plots: `zoomed_out` (whole span, cache dropped every frame: the
//!   min/max pyramid answers each bucket), `zoomed_in` (a 1/1000 slice, cache dropped),
//!   `panning` (the view moves by 2% of its width per frame, caches kept: what dragging
//!   costs), `zoom_steps` (the width changes by 5% per frame: every frame decimates anew),
//!   and `zoomed_out_no_pyramid` (the same view scanning all 40M values: why the pyramid).
//!   Building the data and its pyramids takes a few seconds before the group starts; the
//!   pyramid's bytes are printed to stderr.
//!
//! Run: `cargo bench --bench ui_frame -- --warm-up-time 1 --measurement-time 3`.

#![expect(
    missing_docs,
    reason = "criterion_group! generates an undocumented function"
)]

use std::hint::black_box;

use anomdet::app::panels::plot::{PlotPanel, PlotView};
use anomdet::app::plot::PlotData;
use anomdet::app::state::AppState;
use anomdet::model::{Column, Series, Timestamp};
use anomdet::storage::{DatasetId, DatasetMeta};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use egui::{Pos2, Rect, Vec2};
use egui_plot::{Line, Plot, PlotPoints};

const ROWS: &[usize] = &[10_000, 100_000, 1_000_000];

/// A seeded seasonal series, minute steps from 2023-01-01, with a labelled window every 50k
/// rows.
fn data(rows: usize) -> PlotData {
    data_with(rows, 1, 60)
}

/// `columns` seeded seasonal columns of `rows` rows, `step_secs` apart from 2023-01-01.
fn data_with(rows: usize, columns: usize, step_secs: i64) -> PlotData {
    let start = 1_672_531_200 * Timestamp::NANOS_PER_SEC;
    let step = step_secs * Timestamp::NANOS_PER_SEC;
    let timestamps = (0..rows as i64)
        .map(|i| Timestamp(start + i * step))
        .collect();
    let names: Vec<String> = (0..columns)
        .map(|c| {
            if c == 0 {
                "value".to_owned()
            } else {
                format!("value{c}")
            }
        })
        .collect();
    let cols = names
        .iter()
        .enumerate()
        .map(|(c, name)| {
            let values = anomdet::testing::seasonal_values(rows, 1_440, 0.2, 7 + c as u64);
            Column::new(name.as_str(), values)
        })
        .collect();
    let labels = (0..rows).map(|i| i % 50_000 < 30).collect();
    let series =
        Series::new(timestamps, cols, Some(labels)).unwrap_or_else(|e| panic!("bench series: {e}"));
    let meta = DatasetMeta {
        id: DatasetId(1),
        name: format!("bench-{rows}"),
        source: "bench".to_owned(),
        rows,
        columns: names,
        start: series.timestamps().first().copied(),
        end: series.timestamps().last().copied(),
        step_ns: Some(step),
        has_labels: true,
        label_count: series.label_count(),
        warnings: Vec::new(),
        parent: None,
        plan_json: None,
        created_ms: 0,
    };
    PlotData::new(meta, series)
}

fn input() -> egui::RawInput {
    egui::RawInput {
        screen_rect: Some(Rect::from_min_size(Pos2::ZERO, Vec2::new(1280.0, 800.0))),
        ..egui::RawInput::default()
    }
}

/// One full frame: layout of the panel plus tessellation of everything it painted.
fn frame(ctx: &egui::Context, panel: &mut PlotPanel, data: &PlotData, state: &AppState) -> usize {
    let mut cmds = Vec::new();
    let mut output = ctx.run_ui(input(), |ui| {
        egui::CentralPanel::default().show(ui, |ui| {
            let view = PlotView {
                data: Some(data),
                loading: false,
                state,
            };
            panel.ui(ui, view, &mut cmds);
        });
    });
    // No renderer here: the font atlas upload is dropped on purpose.
    output.textures_delta.clear();
    ctx.tessellate(output.shapes, output.pixels_per_point).len()
}

fn undecimated_frame(ctx: &egui::Context, data: &PlotData) -> usize {
    let points: Vec<[f64; 2]> = data
        .x
        .iter()
        .zip(&data.columns[0].values)
        .map(|(&x, &y)| [x, y])
        .collect();
    let mut output = ctx.run_ui(input(), |ui| {
        egui::CentralPanel::default().show(ui, |ui| {
            Plot::new("raw").show(ui, |plot_ui| {
                plot_ui.line(Line::new("value", PlotPoints::from(points.clone())));
            });
        });
    });
    // No renderer here: the font atlas upload is dropped on purpose.
    output.textures_delta.clear();
    ctx.tessellate(output.shapes, output.pixels_per_point).len()
}

fn bench_frames(c: &mut Criterion) {
    let state = AppState::default();
    let mut cached = c.benchmark_group("plot_frame_cached");
    cached.sample_size(20);
    for &rows in ROWS {
        let data = data(rows);
        let ctx = egui::Context::default();
        let mut panel = PlotPanel::default();
        for _ in 0..3 {
            frame(&ctx, &mut panel, &data, &state);
        }
        cached.bench_function(BenchmarkId::from_parameter(rows), |b| {
            b.iter(|| black_box(frame(&ctx, &mut panel, &data, &state)));
        });
    }
    cached.finish();

    let mut recompute = c.benchmark_group("plot_frame_recompute");
    recompute.sample_size(20);
    for &rows in ROWS {
        let data = data(rows);
        let ctx = egui::Context::default();
        let mut panel = PlotPanel::default();
        for _ in 0..3 {
            frame(&ctx, &mut panel, &data, &state);
        }
        recompute.bench_function(BenchmarkId::from_parameter(rows), |b| {
            b.iter(|| {
                panel.invalidate_caches();
                black_box(frame(&ctx, &mut panel, &data, &state))
            });
        });
    }
    recompute.finish();

    let mut raw = c.benchmark_group("plot_frame_undecimated");
    raw.sample_size(10);
    for &rows in &ROWS[..2] {
        let data = data(rows);
        let ctx = egui::Context::default();
        undecimated_frame(&ctx, &data);
        raw.bench_function(BenchmarkId::from_parameter(rows), |b| {
            b.iter(|| black_box(undecimated_frame(&ctx, &data)));
        });
    }
    raw.finish();
}

/// Rows of the scale case.
const BIG_ROWS: usize = 10_000_000;

#[expect(
    clippy::print_stderr,
    reason = "a bench reports the pyramid's memory next to its timings"
)]
fn bench_10m_x4(c: &mut Criterion) {
    let state = AppState::default();
    let built = std::time::Instant::now();
    let mut big = data_with(BIG_ROWS, 4, 1);
    eprintln!(
        "10M x 4: data and pyramids built in {:.1} s; pyramids {:.1} MB for {:.1} MB of values",
        built.elapsed().as_secs_f64(),
        big.pyramid_bytes() as f64 / 1e6,
        (big.columns.len() * BIG_ROWS * 8) as f64 / 1e6,
    );
    let (x0, x1) = big.x_range();
    let span = x1 - x0;
    let mut group = c.benchmark_group("plot_frame_10m_x4");
    group.sample_size(10);
    let ctx = egui::Context::default();
    let mut panel = PlotPanel::default();
    for _ in 0..3 {
        frame(&ctx, &mut panel, &big, &state);
    }
    group.bench_function("zoomed_out", |b| {
        b.iter(|| {
            panel.invalidate_caches();
            black_box(frame(&ctx, &mut panel, &big, &state))
        });
    });
    let slice = span / 1000.0;
    let mid = x0 + span / 2.0;
    // The plots keep their bounds in egui's memory, so one request zooms them for good.
    panel.set_x_view(mid, mid + slice);
    frame(&ctx, &mut panel, &big, &state);
    group.bench_function("zoomed_in", |b| {
        b.iter(|| {
            panel.invalidate_caches();
            black_box(frame(&ctx, &mut panel, &big, &state))
        });
    });
    // Panning: a view a tenth of the span wide moves by 2% of its width per frame.
    let width = span / 10.0;
    let mut left = x0;
    frame(&ctx, &mut panel, &big, &state);
    group.bench_function("panning", |b| {
        b.iter(|| {
            left += width * 0.02;
            if left + width > x1 {
                left = x0;
            }
            panel.set_x_view(left, left + width);
            black_box(frame(&ctx, &mut panel, &big, &state))
        });
    });
    let mut zoom = 1.0;
    group.bench_function("zoom_steps", |b| {
        b.iter(|| {
            zoom = if zoom < 0.001 { 1.0 } else { zoom * 0.95 };
            panel.set_x_view(mid - span * zoom / 2.0, mid + span * zoom / 2.0);
            black_box(frame(&ctx, &mut panel, &big, &state))
        });
    });
    big.pyramids.iter_mut().for_each(|p| *p = None);
    frame(&ctx, &mut panel, &big, &state);
    panel.set_x_view(x0, x1);
    frame(&ctx, &mut panel, &big, &state);
    group.bench_function("zoomed_out_no_pyramid", |b| {
        b.iter(|| {
            panel.invalidate_caches();
            black_box(frame(&ctx, &mut panel, &big, &state))
        });
    });
    group.finish();
}

criterion_group!(benches, bench_frames, bench_10m_x4);
criterion_main!(benches);
