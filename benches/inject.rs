//! Injection throughput: every registered kind applied over a 10M-row window of a 10M-row
//! univariate series, in rows of the target window per second (target: >= 100M rows/s for
//! point-wise kinds). Kinds that read history (time shift, frequency, time flip, correlation
//! break) copy their window first and are reported in their own group. The series is cloned
//! outside the timed region (`iter_batched_ref`), so only the injection is measured.
//!
//! Also: live (row-by-row) application of a level shift over 1M rows, for scale.
//!
//! Run briefly: `cargo bench --bench inject -- --warm-up-time 1 --measurement-time 3`.

use criterion::{BatchSize, Criterion, Throughput};

use anomdet::inject::{
    Component, GenerateSpec, InjectionPlan, InjectionSpec, LiveInjector, Target, generate,
    injection_rng, registry,
};
use anomdet::model::{Params, Series};

const ROWS: usize = 10_000_000;

fn base(rows: usize, channels: usize) -> Series {
    generate(&GenerateSpec {
        length: rows,
        channels,
        seed: 1,
        noise: 0.1,
        components: vec![Component::Sine {
            period: 500.0,
            amplitude: 1.0,
            phase: 0.0,
        }],
        ..GenerateSpec::default()
    })
    .expect("valid spec")
}

fn kinds(c: &mut Criterion) {
    let univariate = base(ROWS, 1);
    let pair = base(ROWS, 2);
    for entry in registry() {
        let params = Params::resolve(entry.info.params, &std::collections::BTreeMap::default())
            .expect("defaults");
        let injector = (entry.build)(&params).expect("defaults build");
        let (series, columns) = if entry.info.min_columns > 1 {
            (&pair, vec![0])
        } else {
            (&univariate, vec![0])
        };
        // Leave the first 100 rows as context.
        let window = 100..ROWS;
        let group_name = if injector.lookback(window.len()).is_none() {
            "inject_pointwise"
        } else {
            "inject_history"
        };
        let mut group = c.benchmark_group(group_name);
        group.sample_size(10);
        group.throughput(Throughput::Elements(window.len() as u64));
        group.bench_function(entry.info.id, |b| {
            b.iter_batched_ref(
                || series.clone(),
                |s| {
                    injector
                        .apply(s, &columns, window.clone(), &mut injection_rng(7, 0))
                        .expect("applies")
                },
                BatchSize::LargeInput,
            );
        });
        group.finish();
    }
}

fn live(c: &mut Criterion) {
    let rows = 1_000_000;
    let series = base(rows, 1);
    let plan = InjectionPlan {
        seed: 1,
        injections: vec![InjectionSpec::new("level_shift").with_target(Target::Rows {
            start: 100,
            length: rows as i64 - 100,
        })],
    };
    let mut group = c.benchmark_group("inject_live");
    group.sample_size(10);
    group.throughput(Throughput::Elements(rows as u64));
    group.bench_function("level_shift_row_by_row", |b| {
        b.iter(|| {
            let mut live = LiveInjector::new(&plan, series.timestamps(), &series.column_names())
                .expect("plan");
            let values = &series.columns()[0].values;
            let mut cell = [0.0];
            let mut labelled = 0usize;
            for (i, &v) in values.iter().enumerate() {
                cell[0] = v;
                labelled += usize::from(live.apply_row(i, &mut cell).expect("row"));
            }
            labelled
        });
    });
    group.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    kinds(&mut c);
    live(&mut c);
    c.final_summary();
}
