//! Injector conformance: every registered kind is checked for exact ground truth, length,
//! determinism and streaming == batch, by looping over the registry (a new kind is covered
//! without touching this file); magnitudes are checked per kind; bad input gives clear errors.

use anomdet::inject::{
    Component, GenerateSpec, InjectError, InjectionPlan, InjectionSpec, InjectorEntry,
    LiveInjector, Stats, Target, apply_plan, generate, registry,
};
use anomdet::model::{Column, ParamValue, Series, Timestamp};

/// Three noisy, phase-shifted sines (`value-0`, `value-1`, `value-2`).
fn noisy(len: usize, seed: u64) -> Series {
    generate(&GenerateSpec {
        length: len,
        channels: 3,
        seed,
        noise: 0.2,
        channel_shift: 0.05,
        components: vec![
            Component::Sine {
                period: 50.0,
                amplitude: 2.0,
                phase: 0.0,
            },
            Component::Polynomial {
                coefficients: vec![10.0, 1.0],
            },
        ],
        ..GenerateSpec::default()
    })
    .expect("valid spec")
}

/// A spec of `entry` with default parameters; kinds that relate channels target one column.
fn spec(entry: &InjectorEntry, target: Target) -> InjectionSpec {
    let s = InjectionSpec::new(entry.info.id).with_target(target);
    if entry.info.min_columns > 1 {
        s.with_columns(&["value-0"])
    } else {
        s
    }
}

fn plan(seed: u64, injections: Vec<InjectionSpec>) -> InjectionPlan {
    InjectionPlan { seed, injections }
}

fn rows(start: i64, length: i64) -> Target {
    Target::Rows { start, length }
}

/// Per row: does any column differ bitwise?
fn changed(a: &Series, b: &Series) -> Vec<bool> {
    (0..a.len())
        .map(|i| {
            a.columns()
                .iter()
                .zip(b.columns())
                .any(|(x, y)| x.values[i].to_bits() != y.values[i].to_bits())
        })
        .collect()
}

fn assert_bit_identical(a: &Series, b: &Series, what: &str) {
    assert_eq!(a.timestamps(), b.timestamps(), "{what}: timestamps");
    assert_eq!(a.labels(), b.labels(), "{what}: labels");
    for (x, y) in a.columns().iter().zip(b.columns()) {
        for (i, (p, q)) in x.values.iter().zip(&y.values).enumerate() {
            assert_eq!(
                p.to_bits(),
                q.to_bits(),
                "{what}: column {} row {i}: {p} vs {q}",
                x.name
            );
        }
    }
}

/// Parameter variants beyond the defaults, so every mode goes through the shared checks.
fn variants() -> Vec<(&'static str, Vec<(&'static str, ParamValue)>)> {
    let text = |s: &str| ParamValue::Text(s.to_owned());
    vec![
        (
            "spike",
            vec![("scope", text("global")), ("direction", text("both"))],
        ),
        (
            "spike",
            vec![
                ("fraction", ParamValue::Float(0.1)),
                ("direction", text("down")),
            ],
        ),
        (
            "level_shift",
            vec![("onset", ParamValue::Int(30)), ("units", text("mean"))],
        ),
        ("trend", vec![("curve", text("quadratic"))]),
        ("variance", vec![("onset", ParamValue::Int(50))]),
        ("amplitude", vec![("factor", ParamValue::Float(0.2))]),
        ("frequency", vec![("factor", ParamValue::Float(0.3))]),
        ("frequency", vec![("factor", ParamValue::Float(3.5))]),
        ("flat_line", vec![("hold", text("mean"))]),
        (
            "flat_line",
            vec![("hold", text("value")), ("value", ParamValue::Float(-4.0))],
        ),
        (
            "lowered",
            vec![
                ("fraction", ParamValue::Float(0.5)),
                ("onset", ParamValue::Int(10)),
            ],
        ),
        (
            "custom_multiplier",
            vec![("multiplier", ParamValue::Float(-0.5))],
        ),
        (
            "pattern",
            vec![("shape", text("sine")), ("period", ParamValue::Int(7))],
        ),
        ("pattern", vec![("shape", text("sawtooth"))]),
        (
            "time_shift",
            vec![
                ("shift", ParamValue::Int(37)),
                ("transition", ParamValue::Int(20)),
            ],
        ),
        (
            "missing_values",
            vec![("fraction", ParamValue::Float(0.25))],
        ),
        ("dropout", vec![("fraction", ParamValue::Float(0.3))]),
        ("flip", vec![("mode", text("time"))]),
        (
            "correlation_break",
            vec![
                ("mode", text("independent")),
                ("strength", ParamValue::Float(0.7)),
            ],
        ),
    ]
}

/// Every kind with defaults, then every variant.
fn all_specs(target: &Target) -> Vec<InjectionSpec> {
    let mut out: Vec<InjectionSpec> = registry().iter().map(|e| spec(e, target.clone())).collect();
    for (kind, params) in variants() {
        let entry = registry()
            .iter()
            .find(|e| e.info.id == kind)
            .expect("variant of a registered kind");
        let mut s = spec(entry, target.clone());
        for (name, value) in params {
            s = s.with_param(name, value);
        }
        out.push(s);
    }
    out
}

fn entry_of(kind: &str) -> &'static InjectorEntry {
    anomdet::inject::find(kind).expect("registered kind")
}

#[test]
fn every_kind_changes_exactly_its_labelled_rows() {
    let base = noisy(2_000, 1);
    for s in all_specs(&rows(500, 200)) {
        let what = format!("{} {:?}", s.kind, s.params);
        let (out, windows) = apply_plan(&base, &plan(11, vec![s.clone()])).unwrap();
        let labels = out.labels().unwrap().to_vec();
        let diff = changed(&base, &out);
        let fraction = s.params.contains_key("fraction");
        let labelled = labels.iter().filter(|&&b| b).count();
        if fraction {
            assert!(
                labelled < 200 && labelled > 0,
                "{what}: {labelled} labelled rows"
            );
        } else {
            assert_eq!(labelled, 200, "{what}: length not honoured");
            assert_eq!(
                (windows[0].first_row, windows[0].last_row),
                (500, 699),
                "{what}"
            );
        }
        assert!(
            labels[..500].iter().chain(&labels[700..]).all(|&b| !b),
            "{what}: label outside"
        );
        for (i, (&d, &l)) in diff.iter().zip(&labels).enumerate() {
            assert!(!d || l, "{what}: row {i} changed but is not labelled");
        }
        let changed_count = diff.iter().filter(|&&b| b).count();
        if entry_of(&s.kind).info.exact {
            assert_eq!(
                diff, labels,
                "{what}: exact kind left a labelled row unchanged"
            );
        } else {
            assert!(
                changed_count * 10 >= labelled * 9,
                "{what}: only {changed_count} of {labelled} changed"
            );
        }
        // Ground-truth windows cover exactly the labelled rows.
        let mut from_windows = vec![false; base.len()];
        for w in &windows {
            from_windows[w.first_row..=w.last_row].fill(true);
            assert_eq!(w.start, base.timestamps()[w.first_row]);
            assert_eq!(w.kind, entry_of(&s.kind).info.id);
        }
        assert_eq!(from_windows, labels, "{what}: windows and labels disagree");
    }
}

#[test]
fn random_occurrences_change_only_labelled_rows() {
    let base = noisy(3_000, 2);
    let target = Target::Random {
        count: 6,
        length: 25,
        min_gap: 40,
    };
    for s in all_specs(&target) {
        let what = format!("{} {:?}", s.kind, s.params);
        let (out, windows) = apply_plan(&base, &plan(5, vec![s.clone()])).unwrap();
        let labels = out.labels().unwrap();
        for (i, (&d, &l)) in changed(&base, &out).iter().zip(labels).enumerate() {
            assert!(!d || l, "{what}: row {i} changed but is not labelled");
        }
        if !s.params.contains_key("fraction") {
            assert_eq!(windows.len(), 6, "{what}");
            assert!(
                windows.iter().all(|w| w.last_row + 1 - w.first_row == 25),
                "{what}"
            );
            for pair in windows.windows(2) {
                assert!(
                    pair[1].first_row >= pair[0].last_row + 1 + 40,
                    "{what}: gap"
                );
            }
        }
    }
}

#[test]
fn same_seed_is_bit_identical_and_another_seed_differs() {
    let base = noisy(1_500, 3);
    let target = Target::Random {
        count: 3,
        length: 30,
        min_gap: 10,
    };
    for s in all_specs(&target) {
        let what = format!("{} {:?}", s.kind, s.params);
        let a = apply_plan(&base, &plan(42, vec![s.clone()])).unwrap();
        let b = apply_plan(&base, &plan(42, vec![s.clone()])).unwrap();
        assert_bit_identical(&a.0, &b.0, &what);
        assert_eq!(a.1, b.1, "{what}");
        let c = apply_plan(&base, &plan(43, vec![s])).unwrap();
        assert_ne!(
            a.0.labels(),
            c.0.labels(),
            "{what}: placement ignores the seed"
        );
    }
}

#[test]
fn streaming_equals_batch_row_for_row() {
    let base = noisy(2_500, 4);
    let names = base.column_names();
    let mut plans: Vec<InjectionPlan> = all_specs(&Target::Random {
        count: 4,
        length: 60,
        min_gap: 5,
    })
    .into_iter()
    .map(|s| plan(9, vec![s]))
    .collect();
    // Stacked injections over the same rows and windows at the very start: each stage must
    // read the output of the one before it, and windows without context must agree too.
    plans.push(plan(
        1,
        vec![
            InjectionSpec::new("variance").with_target(rows(0, 300)),
            InjectionSpec::new("time_shift").with_target(rows(100, 300)),
            InjectionSpec::new("spike")
                .with_param("scope", ParamValue::Text("global".into()))
                .with_target(Target::Random {
                    count: 20,
                    length: 3,
                    min_gap: 0,
                }),
            InjectionSpec::new("frequency")
                .with_param("factor", ParamValue::Float(4.0))
                .with_target(rows(150, 100)),
            InjectionSpec::new("flip")
                .with_param("mode", ParamValue::Text("time".into()))
                .with_target(rows(2, 50)),
            InjectionSpec::new("correlation_break")
                .with_columns(&["value-1", "value-2"])
                .with_target(rows(200, 400)),
        ],
    ));
    for p in &plans {
        let what = format!(
            "{:?}",
            p.injections.iter().map(|s| &s.kind).collect::<Vec<_>>()
        );
        let (batch, _) = apply_plan(&base, p).unwrap();
        let mut live = LiveInjector::new(p, base.timestamps(), &names).unwrap();
        let mut buf = Vec::new();
        for i in 0..base.len() {
            let row = base.row_into(i, &mut buf).unwrap();
            let mut values = row.values.to_vec();
            let labelled = live.apply_row(i, &mut values).unwrap();
            assert_eq!(
                labelled,
                batch.labels().unwrap()[i],
                "{what}: label at row {i}"
            );
            for (c, v) in values.iter().enumerate() {
                let expected = batch.columns()[c].values[i];
                assert_eq!(
                    v.to_bits(),
                    expected.to_bits(),
                    "{what}: row {i} column {c}: {v} vs {expected}"
                );
            }
        }
        assert_eq!(live.next_row(), base.len());
    }
}

#[test]
fn live_rejects_rows_out_of_order_or_of_wrong_width() {
    let base = noisy(100, 5);
    let p = plan(
        1,
        vec![InjectionSpec::new("spike").with_target(rows(10, 5))],
    );
    let mut live = LiveInjector::new(&p, base.timestamps(), &base.column_names()).unwrap();
    let mut values = vec![0.0; 3];
    assert!(matches!(
        live.apply_row(1, &mut values),
        Err(InjectError::Live(_))
    ));
    assert!(matches!(
        live.apply_row(0, &mut [0.0]),
        Err(InjectError::Live(_))
    ));
    assert!(live.apply_row(0, &mut values).is_ok());
    assert_eq!(live.planned_windows().len(), 1);
    assert_eq!(live.planned_windows()[0].columns.len(), 3);
}

/// The new minus the old value at `row` of column 0.
fn delta(a: &Series, b: &Series, row: usize) -> f64 {
    b.columns()[0].values[row] - a.columns()[0].values[row]
}

fn one(base: &Series, s: InjectionSpec) -> Series {
    apply_plan(base, &plan(7, vec![s.with_columns(&["value-0"])]))
        .expect("applies")
        .0
}

/// Kinds with a size: the change equals the parameter times its unit.
#[test]
fn magnitudes_are_honoured() {
    let base = noisy(1_000, 6);
    let x = &base.columns()[0].values;
    let context = Stats::of(&x[300..400]);
    let (mean, unit) = (context.mean(), context.unit());
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * (1.0 + b.abs());
    let f = |v: f64| ParamValue::Float(v);
    let t = |v: &str| ParamValue::Text(v.to_owned());

    let out = one(
        &base,
        InjectionSpec::new("spike")
            .with_param("magnitude", f(4.0))
            .with_target(rows(400, 1)),
    );
    assert!(close(delta(&base, &out, 400), 4.0 * unit), "spike height");
    let out = one(
        &base,
        InjectionSpec::new("spike")
            .with_param("direction", t("down"))
            .with_target(rows(400, 1)),
    );
    assert!(close(delta(&base, &out, 400), -5.0 * unit), "spike down");
    let out = one(
        &base,
        InjectionSpec::new("spike")
            .with_param("scope", t("global"))
            .with_target(rows(400, 1)),
    );
    let before = Stats::of(&x[..400]);
    assert!(
        close(
            out.columns()[0].values[400],
            before.max + 5.0 * before.unit()
        ),
        "global extremum"
    );

    let out = one(
        &base,
        InjectionSpec::new("step")
            .with_param("offset", f(2.0))
            .with_param("units", t("absolute"))
            .with_target(rows(400, 50)),
    );
    assert!(
        (400..450).all(|i| close(delta(&base, &out, i), 2.0)),
        "absolute level shift"
    );
    let out = one(
        &base,
        InjectionSpec::new("level_shift")
            .with_param("onset", ParamValue::Int(10))
            .with_target(rows(400, 50)),
    );
    assert!(
        close(delta(&base, &out, 400), 0.3 * unit) && close(delta(&base, &out, 420), 3.0 * unit),
        "onset ramp"
    );

    let out = one(
        &base,
        InjectionSpec::new("trend")
            .with_param("drift", f(-6.0))
            .with_target(rows(400, 60)),
    );
    assert!(
        close(delta(&base, &out, 459), -6.0 * unit) && close(delta(&base, &out, 429), -3.0 * unit),
        "trend"
    );

    let out = one(
        &base,
        InjectionSpec::new("custom")
            .with_param("multiplier", f(3.0))
            .with_target(rows(400, 20)),
    );
    assert!(
        (400..420).all(|i| close(out.columns()[0].values[i], 3.0 * x[i])),
        "custom multiplier"
    );

    let out = one(
        &base,
        InjectionSpec::new("amplitude").with_target(rows(400, 20)),
    );
    assert!(
        (400..420).all(|i| close(out.columns()[0].values[i] - mean, 2.5 * (x[i] - mean))),
        "amplitude"
    );

    let out = one(&base, InjectionSpec::new("flip").with_target(rows(400, 20)));
    assert!(
        (400..420).all(|i| close(out.columns()[0].values[i] + x[i], 2.0 * mean)),
        "sign flip"
    );
    let out = one(
        &base,
        InjectionSpec::new("flip")
            .with_param("mode", t("time"))
            .with_target(rows(400, 20)),
    );
    assert!(
        (0..20).all(|k| out.columns()[0].values[400 + k].to_bits() == x[399 - k].to_bits()),
        "time flip"
    );
}

/// Kinds that copy constants or other rows, and the noise burst.
#[test]
fn copied_and_random_values_are_honoured() {
    let base = noisy(1_000, 6);
    let x = &base.columns()[0].values;
    let context = Stats::of(&x[300..400]);
    let (mean, unit) = (context.mean(), context.unit());
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * (1.0 + b.abs());
    let f = |v: f64| ParamValue::Float(v);

    let out = one(
        &base,
        InjectionSpec::new("offline").with_target(rows(400, 20)),
    );
    assert!(
        (400..420).all(|i| out.columns()[0].values[i] == 0.0),
        "dropout"
    );
    let out = one(
        &base,
        InjectionSpec::new("missing_values").with_target(rows(400, 20)),
    );
    assert!(
        (400..420).all(|i| out.columns()[0].values[i].is_nan()),
        "missing"
    );
    let out = one(
        &base,
        InjectionSpec::new("platform").with_target(rows(400, 20)),
    );
    assert!(
        (400..420).all(|i| out.columns()[0].values[i].to_bits() == x[399].to_bits()),
        "flat line holds the last value"
    );

    let out = one(
        &base,
        InjectionSpec::new("lowered").with_target(rows(400, 50)),
    );
    let range = context.max - context.min;
    for i in 400..450 {
        let drop = -delta(&base, &out, i);
        assert!(
            drop >= 0.299 * range && drop <= 0.401 * range,
            "lowered drop {drop} of range {range}"
        );
    }

    let out = one(
        &base,
        InjectionSpec::new("time_shift")
            .with_param("shift", ParamValue::Int(13))
            .with_target(rows(400, 50)),
    );
    assert!(
        (400..450).all(|i| out.columns()[0].values[i].to_bits() == x[i - 13].to_bits()),
        "time shift"
    );

    let out = one(
        &base,
        InjectionSpec::new("frequency")
            .with_param("factor", f(0.5))
            .with_target(rows(400, 50)),
    );
    assert!(
        (0..50)
            .step_by(2)
            .all(|k| out.columns()[0].values[400 + k + 1].to_bits() == x[400 + k / 2].to_bits()),
        "half speed"
    );
    let out = one(
        &base,
        InjectionSpec::new("frequency")
            .with_param("factor", f(2.0))
            .with_target(rows(400, 50)),
    );
    assert!(
        (0..50).all(|k| out.columns()[0].values[400 + k].to_bits() == x[350 + 2 * k].to_bits()),
        "double speed"
    );

    let out = one(
        &base,
        InjectionSpec::new("pattern")
            .with_param("amplitude", f(3.0))
            .with_target(rows(400, 40)),
    );
    assert!(
        (400..440).all(|i| close((out.columns()[0].values[i] - mean).abs(), 3.0 * unit)),
        "square pattern"
    );

    let out = one(
        &base,
        InjectionSpec::new("variance")
            .with_param("factor", f(4.0))
            .with_target(rows(100, 800)),
    );
    let noise: Vec<f64> = (100..900).map(|i| delta(&base, &out, i)).collect();
    let spread = Stats::of(&noise).std();
    let unit = Stats::of(&x[0..100]).unit();
    assert!(
        (spread / (4.0 * unit) - 1.0).abs() < 0.1,
        "variance {spread} vs {}",
        4.0 * unit
    );
}

#[test]
fn spike_trains_label_exactly_the_picked_rows() {
    let base = noisy(1_000, 7);
    let s = InjectionSpec::new("spike")
        .with_param("fraction", ParamValue::Float(0.1))
        .with_target(rows(200, 300));
    let (out, windows) = apply_plan(&base, &plan(3, vec![s])).unwrap();
    // 30 rows per column, three columns drawn independently.
    let rows_labelled = out.label_count();
    assert!((30..=90).contains(&rows_labelled), "{rows_labelled}");
    let cells: usize = windows
        .iter()
        .map(|w| (w.last_row + 1 - w.first_row) * w.columns.len())
        .sum();
    assert_eq!(cells, 90);
    assert_eq!(changed(&base, &out), out.labels().unwrap());
}

#[test]
fn correlation_break_reverses_the_relation() {
    let base = noisy(1_000, 8);
    let corr = |s: &Series, r: std::ops::Range<usize>| {
        let a = &s.columns()[0].values[r.clone()];
        let b = &s.columns()[1].values[r];
        let (sa, sb) = (Stats::of(a), Stats::of(b));
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - sa.mean()) * (y - sb.mean()))
            .sum::<f64>()
            / (a.len() as f64 * sa.std() * sb.std())
    };
    assert!(corr(&base, 500..700) > 0.8);
    let out = one(
        &base,
        InjectionSpec::new("correlation_break").with_target(rows(500, 200)),
    );
    assert!(corr(&out, 500..700) < -0.8, "{}", corr(&out, 500..700));
    let out = one(
        &base,
        InjectionSpec::new("correlation_break")
            .with_param("mode", ParamValue::Text("independent".into()))
            .with_target(rows(500, 200)),
    );
    assert!(corr(&out, 500..700).abs() < 0.6, "{}", corr(&out, 500..700));
}

#[test]
fn plans_compose_and_adding_an_injection_keeps_the_others() {
    let base = noisy(2_000, 9);
    let a = InjectionSpec::new("spike").with_target(Target::Random {
        count: 5,
        length: 1,
        min_gap: 10,
    });
    let b = InjectionSpec::new("level_shift")
        .with_columns(&["value-1"])
        .with_target(rows(1_000, 100));
    let only_a = apply_plan(&base, &plan(5, vec![a.clone()])).unwrap();
    let both = apply_plan(&base, &plan(5, vec![a.clone(), b.clone()])).unwrap();
    // Injection 0 draws from its own stream: its windows do not move when one is added.
    let a_windows: Vec<_> = both
        .1
        .iter()
        .filter(|w| w.injection == 0)
        .cloned()
        .collect();
    assert_eq!(a_windows, only_a.1);
    for i in (0..2_000).filter(|i| !(1_000..1_100).contains(i)) {
        assert_eq!(
            both.0.columns()[1].values[i].to_bits(),
            only_a.0.columns()[1].values[i].to_bits()
        );
    }
    // Applying a second plan to the first plan's output: labels are the union.
    let second = apply_plan(&only_a.0, &plan(8, vec![b])).unwrap();
    let union: Vec<bool> = only_a
        .0
        .labels()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, &l)| l || (1_000..1_100).contains(&i))
        .collect();
    assert_eq!(second.0.labels().unwrap(), union.as_slice());
    assert_eq!(changed(&base, &second.0), union);
}

#[test]
fn source_labels_are_kept() {
    let base = Series::new(
        (0..50).map(|i| Timestamp(i * 1_000)).collect(),
        vec![Column::new(
            "v",
            (0..50).map(|i| f64::from(i).sin()).collect(),
        )],
        Some((0..50).map(|i| i == 3).collect()),
    )
    .unwrap();
    let (out, _) = apply_plan(
        &base,
        &plan(
            1,
            vec![InjectionSpec::new("dropout").with_target(rows(10, 2))],
        ),
    )
    .unwrap();
    let expected: Vec<bool> = (0..50).map(|i| i == 3 || i == 10 || i == 11).collect();
    assert_eq!(out.labels().unwrap(), expected.as_slice());
    // A time target picks the rows in the inclusive range.
    let t = Target::Time {
        start: Timestamp(20_000),
        end: Timestamp(22_500),
    };
    let (out, w) = apply_plan(
        &base,
        &plan(1, vec![InjectionSpec::new("dropout").with_target(t)]),
    )
    .unwrap();
    assert_eq!((w[0].first_row, w[0].last_row), (20, 22));
    assert_eq!(out.label_count(), 4);
}

#[test]
fn bad_input_gives_clear_errors() {
    let base = noisy(100, 10);
    let err = |s: InjectionSpec| {
        let e = apply_plan(&base, &plan(1, vec![s])).unwrap_err();
        (e.to_string(), e)
    };
    let (msg, e) = err(InjectionSpec::new("spike").with_target(rows(10, -5)));
    assert!(
        msg.contains("injection #0 (spike)") && msg.contains("length must be at least 1, got -5"),
        "{msg}"
    );
    assert!(matches!(
        e.root(),
        InjectError::Target {
            field: "length",
            ..
        }
    ));
    let (msg, _) = err(InjectionSpec::new("spike").with_target(rows(90, 20)));
    assert!(msg.contains("past the end"), "{msg}");
    let (msg, e) = err(InjectionSpec::new("spike").with_columns(&["value-0", "temperature"]));
    assert!(
        msg.contains("\"temperature\"") && msg.contains("value-0, value-1, value-2"),
        "{msg}"
    );
    assert!(matches!(e.root(), InjectError::UnknownColumn { .. }));
    let (msg, e) = err(InjectionSpec::new("meteor"));
    assert!(
        msg.contains("\"meteor\"") && msg.contains("level_shift"),
        "{msg}"
    );
    assert!(matches!(e.root(), InjectError::UnknownKind { .. }));
    let (msg, _) =
        err(InjectionSpec::new("spike").with_param("magnitude", ParamValue::Float(-1.0)));
    assert!(msg.contains("magnitude"), "{msg}");
    let (msg, _) = err(InjectionSpec::new("spike").with_param("colour", ParamValue::Int(1)));
    assert!(msg.contains("colour"), "{msg}");
    let (msg, _) =
        err(InjectionSpec::new("level_shift").with_param("offset", ParamValue::Float(0.0)));
    assert!(msg.contains("offset"), "{msg}");
    let (msg, _) = err(InjectionSpec::new("correlation_break"));
    assert!(msg.contains("not targeted"), "{msg}");
    let (msg, _) = err(InjectionSpec::new("spike").with_target(Target::Random {
        count: 30,
        length: 5,
        min_gap: 0,
    }));
    assert!(msg.contains("do not fit"), "{msg}");
    let univariate = Series::from_values("v", vec![1.0; 20]);
    let e = apply_plan(
        &univariate,
        &plan(1, vec![InjectionSpec::new("correlation_break")]),
    )
    .unwrap_err();
    assert!(e.to_string().contains("at least 2 columns"), "{e}");
    // The error names the injection that failed, not the first one.
    let p = plan(
        1,
        vec![
            InjectionSpec::new("spike"),
            InjectionSpec::new("spike").with_target(rows(0, 0)),
        ],
    );
    assert!(
        apply_plan(&base, &p)
            .unwrap_err()
            .to_string()
            .starts_with("injection #1 (spike)")
    );
    assert!(matches!(
        InjectionPlan::from_json("{\"injections\": 3}"),
        Err(InjectError::Json { .. })
    ));
    assert!(
        LiveInjector::new(
            &plan(1, vec![InjectionSpec::new("nope")]),
            base.timestamps(),
            &base.column_names()
        )
        .is_err()
    );
}

#[test]
fn plans_round_trip_through_json() {
    let text = r#"{
        "seed": 7,
        "injections": [
            {"kind": "spike", "params": {"magnitude": 3, "direction": "both"},
             "target": {"type": "random", "count": 5, "length": 1, "min_gap": 20}},
            {"kind": "step", "params": {"offset": -2.5}, "columns": ["value-1"],
             "target": {"type": "rows", "start": 100, "length": 50}}
        ]
    }"#;
    let p = InjectionPlan::from_json(text).unwrap();
    assert_eq!(p.injections.len(), 2);
    assert_eq!(InjectionPlan::from_json(&p.to_json()).unwrap(), p);
    p.check().unwrap();
    let (out, windows) = apply_plan(&noisy(500, 11), &p).unwrap();
    assert_eq!(
        windows.iter().filter(|w| w.kind == "level_shift").count(),
        1
    );
    assert_eq!(windows.iter().filter(|w| w.kind == "spike").count(), 5);
    let mut union = vec![false; out.len()];
    for w in &windows {
        union[w.first_row..=w.last_row].fill(true);
    }
    assert_eq!(out.labels().unwrap(), union.as_slice());
}

#[test]
fn generator_plus_plan_makes_labelled_benchmark_data() {
    let spec = GenerateSpec {
        length: 5_000,
        channels: 2,
        seed: 3,
        noise: 0.05,
        components: vec![
            Component::Ecg {
                period: 80.0,
                amplitude: 1.0,
            },
            Component::RandomWalk {
                step: 0.01,
                smoothing: 0.9,
            },
        ],
        ..GenerateSpec::default()
    };
    let series = generate(&spec).unwrap();
    let p = plan(2, registry().iter().map(spec_for_bench).collect());
    let (out, windows) = apply_plan(&series, &p).unwrap();
    assert!(out.label_count() > 0);
    assert!(windows.iter().map(|w| w.injection).max() == Some(registry().len() - 1));
}

fn spec_for_bench(e: &InjectorEntry) -> InjectionSpec {
    spec(
        e,
        Target::Random {
            count: 2,
            length: 40,
            min_gap: 100,
        },
    )
}

/// The `injectors`, `inject` and `generate` subcommands, end to end through the binary.
mod cli {
    use std::process::{Command, Output};

    fn run(dir: &tempfile::TempDir, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_anomdet"))
            .args(args)
            .arg("--db")
            .arg(dir.path().join("db.sqlite"))
            .current_dir(dir.path())
            .env_remove("ANOMDET_DB")
            .output()
            .expect("run anomdet")
    }

    fn ok(dir: &tempfile::TempDir, args: &[&str]) -> String {
        let out = run(dir, args);
        assert!(
            out.status.success(),
            "anomdet {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    }

    fn fails(dir: &tempfile::TempDir, args: &[&str]) -> String {
        let out = run(dir, args);
        assert!(!out.status.success(), "anomdet {args:?} should fail");
        String::from_utf8(out.stderr).expect("utf-8")
    }

    fn meta(text: &str) -> serde_json::Value {
        serde_json::from_str(text).expect("json output")
    }

    #[test]
    fn injectors_lists_every_kind_with_its_schema() {
        let dir = tempfile::tempdir().expect("tempdir");
        let list = meta(&ok(&dir, &["injectors", "--json"]));
        let list = list.as_array().expect("array");
        assert_eq!(list.len(), anomdet::inject::registry().len());
        let spike = list
            .iter()
            .find(|k| k["id"] == "spike")
            .expect("spike listed");
        assert!(
            spike["params"]
                .as_array()
                .expect("params")
                .iter()
                .any(|p| p["name"] == "magnitude")
        );
        let table = ok(&dir, &["injectors"]);
        assert!(
            table.contains("level_shift") && table.contains("step"),
            "{table}"
        );
    }

    #[test]
    fn generate_then_inject_from_flags_and_from_a_plan() {
        let dir = tempfile::tempdir().expect("tempdir");
        let generated = meta(&ok(
            &dir,
            &[
                "generate",
                "--as",
                "gen",
                "--length",
                "2000",
                "--channels",
                "2",
                "--noise",
                "0.1",
                "--signal",
                "sine:period=50",
                "--signal",
                "random_walk:step=0.01",
                "--seed",
                "3",
                "--json",
            ],
        ));
        assert_eq!(generated["rows"], 2000);
        assert_eq!(generated["label_count"], 0);

        let spiked = meta(&ok(
            &dir,
            &[
                "inject",
                "gen",
                "--kind",
                "spike",
                "--magnitude",
                "3",
                "--count",
                "5",
                "--min-gap",
                "10",
                "--column",
                "value-1",
                "--seed",
                "7",
                "--as",
                "gen+spike",
                "--json",
            ],
        ));
        assert_eq!(spiked["label_count"], 5);
        assert_eq!(spiked["parent"], generated["id"]);
        let stored =
            anomdet::inject::InjectionPlan::from_json(spiked["plan_json"].as_str().expect("plan"))
                .expect("stored plan parses");
        assert_eq!(stored.seed, 7);
        assert_eq!(stored.injections[0].columns, vec!["value-1".to_owned()]);

        let plan = dir.path().join("plan.json");
        std::fs::write(
            &plan,
            r#"{"seed": 1, "injections": [{"kind": "step", "params": {"offset": 4},
                "target": {"type": "rows", "start": 100, "length": 50}}]}"#,
        )
        .expect("write plan");
        let stepped = meta(&ok(
            &dir,
            &[
                "inject",
                "gen+spike",
                "--plan",
                plan.to_str().expect("utf-8 path"),
                "--as",
                "both",
                "--json",
            ],
        ));
        // The source's labels are kept and the new rows added (a spike may fall in the window).
        let count = stepped["label_count"].as_u64().expect("count");
        assert!((50..=55).contains(&count), "{count}");
        let out = ok(
            &dir,
            &[
                "inject", "gen", "--kind", "dropout", "--start", "10", "--length", "5", "--as",
                "gen+gap",
            ],
        );
        assert!(out.contains("5 labelled"), "{out}");
    }

    #[test]
    fn bad_requests_fail_with_clear_messages() {
        let dir = tempfile::tempdir().expect("tempdir");
        ok(&dir, &["generate", "--as", "gen", "--length", "100"]);
        let err = fails(
            &dir,
            &[
                "inject", "gen", "--kind", "spike", "--column", "pressure", "--as", "x",
            ],
        );
        assert!(
            err.contains("\"pressure\"") && err.contains("value-0"),
            "{err}"
        );
        let err = fails(
            &dir,
            &[
                "inject", "gen", "--kind", "spike", "--start", "10", "--length", "-5", "--as", "x",
            ],
        );
        assert!(err.contains("length must be at least 1, got -5"), "{err}");
        let err = fails(
            &dir,
            &[
                "inject", "gen", "--kind", "spike", "--start", "90", "--length", "20", "--as", "x",
            ],
        );
        assert!(err.contains("past the end"), "{err}");
        let err = fails(&dir, &["inject", "gen", "--kind", "sparkle", "--as", "x"]);
        assert!(err.contains("\"sparkle\""), "{err}");
        let err = fails(
            &dir,
            &[
                "inject",
                "gen",
                "--kind",
                "dropout",
                "--magnitude",
                "2",
                "--as",
                "x",
            ],
        );
        assert!(err.contains("no magnitude"), "{err}");
        let err = fails(
            &dir,
            &["generate", "--as", "g2", "--signal", "sine:period=0"],
        );
        assert!(err.contains("period"), "{err}");
    }
}
