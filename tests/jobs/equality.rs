//! A stream computes exactly what batch computes: every built-in detector's scores, and the
//! live injection's values and labels.

use anomdet::control::CancelToken;
use anomdet::detect::{DetectorSpec, ThresholdRule, builtin};
use anomdet::inject::{InjectionPlan, InjectionSpec, Target, apply_plan};
use anomdet::model::{Column, Series, Timestamp};
use anomdet::storage::RunStatus;
use anomdet::stream::{Speed, StreamSpec, Warmup};
use anomdet::testing::{bits, seasonal_values, seasonal_with_anomalies};

use super::{drain, engine_with};

fn batch_scores(spec: &DetectorSpec, train: &Series, series: &Series) -> Vec<f64> {
    let mut detector = spec.build().unwrap();
    detector.fit(train, &CancelToken::new()).unwrap();
    detector.score_series(series, &CancelToken::new()).unwrap()
}

#[test]
fn stream_scores_equal_batch_scores_for_every_builtin_detector_side_by_side() {
    let series = seasonal_with_anomalies(1200, 50, 900, 800..820, 5);
    let (engine, id) = engine_with(&series);
    let specs: Vec<DetectorSpec> = builtin()
        .iter()
        .map(|entry| DetectorSpec::new(entry.info.id))
        .collect();
    assert!(specs.len() >= 10, "the registry is populated");
    let mut spec = StreamSpec::new(id, specs.clone());
    spec.speed = Speed::Max;
    spec.warmup = Warmup::WholeDataset;
    spec.threshold = ThresholdRule::Fixed { value: 3.0 };
    spec.batch_rows = 64;
    let handle = engine.start_stream(spec).unwrap();
    let runs = handle.runs().to_vec();
    let streamed = drain(&handle);
    let outcome = handle.join().unwrap();
    assert_eq!(outcome.status, RunStatus::Finished, "{:?}", outcome.error);
    assert_eq!(streamed.rows, (0..1200).collect::<Vec<_>>());
    let mut differ = Vec::new();
    for (d, detector) in specs.iter().enumerate() {
        let batch = batch_scores(detector, &series, &series);
        if bits(&streamed.scores[d]) != bits(&batch) {
            differ.push(detector.id.clone());
        }
        let stored = engine.run(runs[d]).unwrap();
        assert_eq!(
            bits(&stored.scores),
            bits(&streamed.scores[d]),
            "{} stored",
            detector.id
        );
        assert_eq!(
            stored.predicted, streamed.flags[d],
            "{} flags stored",
            detector.id
        );
        let expected: Vec<bool> = batch.iter().map(|&s| s >= 3.0).collect();
        assert_eq!(
            streamed.flags[d], expected,
            "{} fixed threshold online",
            detector.id
        );
    }
    assert!(differ.is_empty(), "stream != batch for {differ:?}");
}

fn two_columns(len: usize) -> Series {
    let timestamps = (0..len as i64)
        .map(|i| Timestamp(i * 60 * Timestamp::NANOS_PER_SEC))
        .collect();
    let a = seasonal_values(len, 40, 0.1, 1);
    let b: Vec<f64> = seasonal_values(len, 40, 0.1, 2)
        .iter()
        .map(|v| 100.0 + 10.0 * v)
        .collect();
    let labels = (0..len).map(|i| i == 10).collect();
    Series::new(
        timestamps,
        vec![Column::new("a", a), Column::new("b", b)],
        Some(labels),
    )
    .unwrap()
}

#[test]
fn live_injection_equals_batch_injection() {
    let series = two_columns(1500);
    let plan = InjectionPlan {
        seed: 42,
        injections: vec![
            InjectionSpec::new("spike").with_target(Target::Random {
                count: 5,
                length: 1,
                min_gap: 20,
            }),
            InjectionSpec::new("level_shift").with_target(Target::Rows {
                start: 700,
                length: 80,
            }),
            InjectionSpec::new("variance").with_target(Target::Rows {
                start: 1000,
                length: 50,
            }),
            InjectionSpec::new("dropout").with_target(Target::Rows {
                start: 1200,
                length: 30,
            }),
        ],
    };
    let (injected, windows) = apply_plan(&series, &plan).unwrap();
    let (engine, id) = engine_with(&series);
    let detectors = vec![
        DetectorSpec::new("rolling_zscore"),
        DetectorSpec::new("ewma"),
    ];
    let mut spec = StreamSpec::new(id, detectors.clone());
    spec.speed = Speed::Max;
    spec.warmup = Warmup::WholeDataset;
    spec.plan = Some(plan);
    spec.batch_rows = 100;
    let handle = engine.start_stream(spec).unwrap();
    let streamed = drain(&handle);
    handle.join().unwrap();
    for (c, column) in injected.columns().iter().enumerate() {
        assert_eq!(
            bits(&streamed.values[c]),
            bits(&column.values),
            "column {}",
            column.name
        );
    }
    assert_eq!(streamed.labels, injected.labels().unwrap(), "labels");
    for (d, detector) in detectors.iter().enumerate() {
        let batch = batch_scores(detector, &series, &injected);
        assert_eq!(
            bits(&streamed.scores[d]),
            bits(&batch),
            "{} on injected data",
            detector.id
        );
    }
    let started = streamed
        .events
        .iter()
        .find_map(|e| match e {
            anomdet::stream::StreamEvent::Started { planned, .. } => Some(planned.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(started, windows, "planned windows announced up front");
}
