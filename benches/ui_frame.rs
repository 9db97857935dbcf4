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
    let start = 1_672_531_200 * Timestamp::NANOS_PER_SEC;
    let step = 60 * Timestamp::NANOS_PER_SEC;
    let timestamps = (0..rows as i64)
        .map(|i| Timestamp(start + i * step))
        .collect();
    let values = anomdet::testing::seasonal_values(rows, 1_440, 0.2, 7);
    let labels = (0..rows).map(|i| i % 50_000 < 30).collect();
    let series = Series::new(timestamps, vec![Column::new("value", values)], Some(labels))
        .unwrap_or_else(|e| panic!("bench series: {e}"));
    let meta = DatasetMeta {
        id: DatasetId(1),
        name: format!("bench-{rows}"),
        source: "bench".to_owned(),
        rows,
        columns: vec!["value".to_owned()],
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

criterion_group!(benches, bench_frames);
criterion_main!(benches);
