//! One generic check, [`check_detector`], run over EVERY built-in detector in the registry
//! (so a newly registered detector is covered without touching this file) and over the
//! external example program (in `external.rs`).
//!
//! What is checked, per detector:
//! - batch == streaming: `score_series` equals `reset` + `update` over the rows, with the same
//!   NaN positions and values equal within 1e-9 relative (the per-column statistical
//!   detectors are bit-exact; their unit tests assert that);
//! - same seed → bit-identical scores (two detectors built from the same spec);
//! - `reset` then replay gives the same scores as the first pass (after streaming half a
//!   series into the detector first);
//! - finite after warm-up: NaN only as a prefix no longer than the detector's declared
//!   `warm_up_rows` (or, when it declares none, shorter than half the series);
//! - a planted spike and a planted level shift in a seasonal series score higher than every
//!   normal point, for the detectors [`expectation`] says should catch them (windowed
//!   families: the best row within two periods of the anomaly, against rows farther away);
//! - a NaN input and a row of the wrong width give an error or a score, never a panic;
//! - bad parameters (below min, above max, wrong type, unknown choice) → `DetectError::Params`,
//!   and the extreme allowed values build and run without panicking.

use anomdet::control::CancelToken;
use anomdet::detect::{DetectError, Detector, DetectorEntry, DetectorSpec, Family, builtin};
use anomdet::model::{Column, ParamKind, ParamSpec, ParamValue, Row, Series, Timestamp};
use anomdet::testing::{seasonal_series, seasonal_values, seasonal_with_anomalies};

/// Rows of the synthetic series (period 50): long enough for every default warm-up.
const LEN: usize = 1200;
const PERIOD: usize = 50;
const SPIKE_AT: usize = 900;
const SHIFT_FROM: usize = 800;

/// What a detector is expected to catch: (spike, level shift).
///
/// Baselines catch nothing by design. Detectors not listed (added later) are expected to
/// catch the spike at least: every real detector should see a +8 spike on a sine with ±0.1
/// noise; list them here when they should (or cannot) also catch the shift.
pub fn expectation(id: &str) -> (bool, bool) {
    match id {
        "random" | "constant" => (false, false),
        "rolling_zscore" | "robust_zscore" | "ewma" | "cusum" | "seasonal_esd" | "hbos" => {
            (true, true)
        }
        "mean_distance_py" => (true, true),
        "half_space_trees" | "poly" | "matrix_profile" | "subsequence_knn" | "subsequence_lof"
        | "rrcf" => (true, true),
        // On windows of one period a single +8 point moves a 100-dimensional window too
        // little for random axis-parallel cuts: windowed isolation forest is a collective-
        // anomaly detector (point mode, `window=1`, catches the spike; see its unit tests).
        "isolation_forest" => (false, true),
        // A step in a 64-value window is not a salient frequency anomaly.
        "spectral_residual" => (true, false),
        _ => (true, false),
    }
}

fn cancel() -> CancelToken {
    CancelToken::new()
}

/// Two columns with different scales, so per-column combination is exercised.
pub fn two_columns() -> Series {
    let a = seasonal_values(LEN, PERIOD, 0.1, 11);
    let b: Vec<f64> = seasonal_values(LEN, 30, 0.2, 12)
        .iter()
        .map(|v| v * 50.0 + 1000.0)
        .collect();
    Series::new(
        (0..LEN as i64)
            .map(|i| Timestamp(i * 1_000_000_000))
            .collect(),
        vec![Column::new("a", a), Column::new("b", b)],
        None,
    )
    .unwrap()
}

fn streamed(detector: &mut dyn Detector, series: &Series) -> Vec<f64> {
    detector.reset();
    let mut buf = Vec::new();
    (0..series.len())
        .map(|i| {
            detector
                .update(series.row_into(i, &mut buf).unwrap())
                .unwrap()
        })
        .collect()
}

#[track_caller]
fn assert_same(id: &str, what: &str, a: &[f64], b: &[f64]) {
    assert_eq!(a.len(), b.len(), "{id}: {what}: lengths differ");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let same =
            (x.is_nan() && y.is_nan()) || (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0);
        assert!(same, "{id}: {what}: row {i}: {x} vs {y}");
    }
}

#[track_caller]
fn assert_bits(id: &str, what: &str, a: &[f64], b: &[f64]) {
    assert_eq!(a.len(), b.len(), "{id}: {what}: lengths differ");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            x.to_bits() == y.to_bits(),
            "{id}: {what}: row {i}: {x} vs {y}"
        );
    }
}

/// Fits on `train` and scores `series` in batch.
fn fit_score(detector: &mut dyn Detector, train: &Series, series: &Series) -> Vec<f64> {
    detector.fit(train, &cancel()).unwrap();
    detector.score_series(series, &cancel()).unwrap()
}

/// Max finite score over `rows` (NaN when none is finite).
fn max_over(scores: &[f64], rows: impl Iterator<Item = usize>) -> f64 {
    rows.map(|i| scores[i])
        .filter(|s| s.is_finite())
        .fold(f64::NAN, f64::max)
}

/// Every check above for one detector; `make(seed)` builds a fresh, unfitted instance.
pub fn check_detector(id: &str, make: &dyn Fn(u64) -> Box<dyn Detector>) {
    let series = two_columns();
    let train = {
        let a = seasonal_values(LEN, PERIOD, 0.1, 21);
        let b: Vec<f64> = seasonal_values(LEN, 30, 0.2, 22)
            .iter()
            .map(|v| v * 50.0 + 1000.0)
            .collect();
        Series::new(
            series.timestamps().to_vec(),
            vec![Column::new("a", a), Column::new("b", b)],
            None,
        )
        .unwrap()
    };

    // Batch == streaming.
    let mut detector = make(7);
    let batch = fit_score(detector.as_mut(), &train, &series);
    let stream = streamed(detector.as_mut(), &series);
    assert_same(id, "batch vs streaming", &batch, &stream);

    // Same seed → same scores.
    let mut twin = make(7);
    let again = fit_score(twin.as_mut(), &train, &series);
    assert_bits(id, "same seed", &batch, &again);

    // Reset then replay: stream half, reset, replay everything.
    let mut buf = Vec::new();
    for i in 0..LEN / 2 {
        twin.update(series.row_into(i, &mut buf).unwrap()).unwrap();
    }
    let replay = streamed(twin.as_mut(), &series);
    assert_same(id, "reset then replay", &replay, &stream);

    // Finite after warm-up: NaN only as a prefix.
    let prefix = batch.iter().take_while(|s| s.is_nan()).count();
    assert!(
        batch[prefix..].iter().all(|s| s.is_finite()),
        "{id}: NaN after the warm-up prefix ({prefix} rows)"
    );
    match detector.warm_up_rows() {
        Some(declared) => assert!(
            prefix <= declared,
            "{id}: {prefix} NaN rows but warm-up is {declared}"
        ),
        None => assert!(prefix < LEN / 2, "{id}: {prefix} NaN rows of {LEN}"),
    }

    // Planted anomalies (univariate), fitted on clean data of the same shape. Point-wise
    // families must put the spike's own row on top; windowed families (subsequence, trees,
    // learned, neural) score windows, so rows within `near` of the anomaly count as the
    // anomaly's and are left out of the "normal" rows.
    let (spike, shift) = expectation(id);
    let near = match detector.info().family {
        Family::Statistical | Family::Baseline | Family::External => 0,
        _ => 2 * PERIOD,
    };
    let clean = seasonal_series(LEN, PERIOD, 0.1, 31);
    if spike {
        let planted = seasonal_with_anomalies(LEN, PERIOD, SPIKE_AT, 0..0, 5);
        let mut detector = make(7);
        let scores = fit_score(detector.as_mut(), &clean, &planted);
        let zone = SPIKE_AT - near..=SPIKE_AT + near;
        let at = max_over(&scores, zone.clone());
        let normal = max_over(&scores, (0..LEN).filter(|i| !zone.contains(i)));
        assert!(
            at > normal,
            "{id}: spike scores {at}, a normal row {normal}"
        );
    }
    if shift {
        let planted = seasonal_with_anomalies(LEN, PERIOD, usize::MAX, SHIFT_FROM..LEN, 6);
        let mut detector = make(7);
        let scores = fit_score(detector.as_mut(), &clean, &planted);
        let inside = max_over(&scores, SHIFT_FROM - near..LEN);
        let normal = max_over(&scores, 0..SHIFT_FROM - near);
        assert!(
            inside > normal,
            "{id}: shift scores {inside}, a normal row {normal}"
        );
    }

    // NaN input and a wrong-width row: error or score, never a panic.
    let mut detector = make(7);
    detector.fit(&train, &cancel()).unwrap();
    let mut with_nan = series.clone();
    with_nan.values_mut(0).unwrap()[100] = f64::NAN;
    detector.score_series(&with_nan, &cancel()).ok();
    detector.reset();
    detector
        .update(Row {
            index: 0,
            ts: Timestamp(0),
            values: &[1.0, 2.0],
        })
        .ok();
    let wrong = detector.update(Row {
        index: 1,
        ts: Timestamp(1),
        values: &[1.0, 2.0, 3.0],
    });
    assert!(
        wrong.is_err(),
        "{id}: a row of 3 values after rows of 2 must be an error"
    );
}

/// Values that must be rejected for one parameter.
fn bad_values(spec: &ParamSpec) -> Vec<ParamValue> {
    match spec.kind {
        ParamKind::Int { min, max, .. } => {
            let mut bad = vec![
                ParamValue::Text("seven".into()),
                ParamValue::Bool(true),
                ParamValue::Float(1.5),
            ];
            if min > i64::MIN {
                bad.push(ParamValue::Int(min - 1));
            }
            if max < i64::MAX {
                bad.push(ParamValue::Int(max + 1));
            }
            bad
        }
        ParamKind::Float { min, max, .. } => vec![
            ParamValue::Text("seven".into()),
            ParamValue::Bool(false),
            ParamValue::Float(f64::NAN),
            ParamValue::Float(min - 1.0 - min.abs()),
            ParamValue::Float(max + 1.0 + max.abs()),
        ],
        ParamKind::Bool { .. } => vec![ParamValue::Int(1), ParamValue::Text("yes".into())],
        ParamKind::Choice { .. } => vec![
            ParamValue::Text("no_such_option".into()),
            ParamValue::Int(0),
        ],
    }
}

/// Values that must be accepted (the range's ends).
fn edge_values(spec: &ParamSpec) -> Vec<ParamValue> {
    match spec.kind {
        ParamKind::Int { min, max, .. } => vec![ParamValue::Int(min), ParamValue::Int(max)],
        ParamKind::Float { min, max, .. } => vec![ParamValue::Float(min), ParamValue::Float(max)],
        ParamKind::Bool { .. } => vec![ParamValue::Bool(false), ParamValue::Bool(true)],
        ParamKind::Choice { options, .. } => options
            .iter()
            .map(|o| ParamValue::Text((*o).into()))
            .collect(),
    }
}

fn check_params(entry: &DetectorEntry) {
    let id = entry.info.id;
    let short = Series::from_values("v", seasonal_values(64, 16, 0.1, 1));
    for spec in entry.info.params {
        for value in bad_values(spec) {
            let mut detector_spec = DetectorSpec::new(id);
            detector_spec.params.insert(spec.name.into(), value.clone());
            let result = detector_spec.build();
            assert!(
                matches!(result, Err(DetectError::Params { .. })),
                "{id}: {}={value:?} should be rejected, got {result:?}",
                spec.name
            );
        }
        for value in edge_values(spec) {
            let mut detector_spec = DetectorSpec::new(id);
            detector_spec.params.insert(spec.name.into(), value.clone());
            // An edge value may clash with another parameter's default (a parameter error);
            // anything else must build, and running it may error but never panic.
            match detector_spec.build() {
                Ok(mut detector) => {
                    if detector.fit(&short, &cancel()).is_ok() {
                        detector.score_series(&short, &cancel()).ok();
                    }
                }
                Err(DetectError::Params { .. }) => {}
                Err(e) => panic!("{id}: {}={value:?} is allowed but failed: {e}", spec.name),
            }
        }
    }
    let mut unknown = DetectorSpec::new(id);
    unknown
        .params
        .insert("no_such_param".into(), ParamValue::Int(1));
    assert!(
        matches!(unknown.build(), Err(DetectError::Params { .. })),
        "{id}: unknown parameter accepted"
    );
}

/// Runs `check` for every built-in detector, collecting failures so that one report lists
/// every detector that breaks a rule.
fn for_every_builtin(check: &dyn Fn(&'static DetectorEntry)) {
    let mut failures = Vec::new();
    for entry in builtin() {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(entry)));
        if let Err(panic) = outcome {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            failures.push(format!("{}: {message}", entry.info.id));
        }
    }
    assert!(
        failures.is_empty(),
        "{} detector(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_builtin_detector_satisfies_the_invariants() {
    assert!(
        builtin().len() >= 9,
        "expected at least the statistical detectors and baselines"
    );
    for_every_builtin(&|entry| {
        let id = entry.info.id;
        check_detector(id, &|seed| {
            let mut spec = DetectorSpec::new(id);
            spec.seed = seed;
            spec.build()
                .unwrap_or_else(|e| panic!("{id}: default parameters must build: {e}"))
        });
    });
}

#[test]
fn every_builtin_detector_rejects_bad_parameters() {
    for_every_builtin(&check_params);
}

#[test]
fn random_depends_on_the_seed_and_constant_is_flat() {
    let series = two_columns();
    let score = |id: &str, seed: u64| {
        let mut spec = DetectorSpec::new(id);
        spec.seed = seed;
        let mut detector = spec.build().unwrap();
        detector.score_series(&series, &cancel()).unwrap()
    };
    assert_ne!(score("random", 1), score("random", 2));
    let flat = score("constant", 1);
    assert!(flat.iter().all(|&s| s == flat[0]));
}

#[test]
fn per_column_detectors_attribute_scores_to_columns() {
    let mut values = two_columns();
    // A spike in column b only: b's score must dominate that row.
    values.values_mut(1).unwrap()[700] += 5000.0;
    for id in [
        "rolling_zscore",
        "robust_zscore",
        "ewma",
        "cusum",
        "seasonal_esd",
        "hbos",
        "spectral_residual",
    ] {
        let mut detector = DetectorSpec::new(id).build().unwrap();
        detector.fit(&two_columns(), &cancel()).unwrap();
        let detailed = detector.score_series_detailed(&values, &cancel()).unwrap();
        let columns = detailed
            .columns
            .unwrap_or_else(|| panic!("{id}: no per-column scores"));
        assert_eq!(columns.len(), 2);
        assert!(
            columns[1][700] > columns[0][700],
            "{id}: column b should explain row 700"
        );
        assert_same(
            id,
            "detailed vs plain",
            &detailed.scores,
            &detector.score_series(&values, &cancel()).unwrap(),
        );
        // Streaming exposes the last row's column scores too.
        let mut buf = Vec::new();
        detector.reset();
        for i in 0..=700 {
            detector
                .update(values.row_into(i, &mut buf).unwrap())
                .unwrap();
        }
        let last = detector.column_scores().unwrap();
        assert_same(
            id,
            "streamed column scores",
            last,
            &[columns[0][700], columns[1][700]],
        );
    }
}
