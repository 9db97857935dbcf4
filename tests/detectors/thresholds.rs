//! Thresholding end to end: detector scores → SPOT/DSPOT and the other rules → windows.

use anomdet::control::CancelToken;
use anomdet::detect::{DetectorSpec, SpotThreshold, ThresholdRule};
use anomdet::testing::seasonal_with_anomalies;

#[test]
fn spot_on_detector_scores_finds_the_planted_windows() {
    let series = seasonal_with_anomalies(6000, 50, 4500, 5200..5260, 1);
    let mut detector = DetectorSpec::new("robust_zscore").build().unwrap();
    let scores = detector.score_series(&series, &CancelToken::new()).unwrap();
    for rule in ["spot:1e-4", "dspot:1e-4:200", "mad:6", "top:0.02"] {
        let rule = ThresholdRule::parse(rule).unwrap();
        let windows = rule.windows(&scores, series.timestamps());
        assert!(!windows.is_empty(), "{rule:?} found nothing");
        assert!(
            windows
                .iter()
                .any(|w| w.first_row <= 4500 && w.last_row >= 4500),
            "{rule:?} missed the spike: {windows:?}"
        );
        assert!(
            windows
                .iter()
                .any(|w| w.first_row <= 5205 && w.last_row >= 5200),
            "{rule:?} missed the start of the shift: {windows:?}"
        );
        // Nothing flagged far from the anomalies.
        let labels = series.labels().unwrap();
        let false_rows: usize = windows
            .iter()
            .flat_map(|w| w.first_row..=w.last_row)
            .filter(|&r| !labels[r] && !(4500..4510).contains(&r) && !(5260..5360).contains(&r))
            .count();
        assert!(
            false_rows < 60,
            "{rule:?}: {false_rows} rows flagged away from the anomalies"
        );
    }
}

#[test]
fn spot_online_flags_like_the_batch_rule_after_calibration() {
    let series = seasonal_with_anomalies(5000, 50, 4000, 0..0, 2);
    let scores = DetectorSpec::new("rolling_zscore")
        .build()
        .unwrap()
        .score_series(&series, &CancelToken::new())
        .unwrap();
    let rule = ThresholdRule::parse("spot:1e-3").unwrap();
    let batch = rule.apply(&scores);
    let finite = scores.iter().filter(|s| s.is_finite()).count();
    let mut online = SpotThreshold::new(
        1e-3,
        0.98,
        0,
        anomdet::detect::threshold::calibration_len(finite),
    );
    let flags: Vec<bool> = scores.iter().map(|&s| online.update(s).1).collect();
    assert!(flags[4000] && batch[4000]);
    assert_eq!(flags[2000..], batch[2000..]);
}
