//! The detector × injected kind × magnitude robustness matrix, and detector selection on
//! unlabelled data (inject several kinds into the user's series, rank detectors by how well
//! they catch them). Both score in memory on a bounded worker pool; nothing is stored.
//!
//! Placement: windows go at seeded positions spread over the last 80 % of the series (the
//! first 20 % stays clean so detectors warm up and thresholds calibrate). Repeat `r` uses seed
//! `seed + r`, and the positions depend only on that seed, so every kind and magnitude of a
//! repeat is injected at the same rows: a paired comparison. The base series' own labels are
//! dropped first, so the labels are exactly the injected rows.

use std::sync::atomic::{AtomicU64, Ordering};

use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::bench::{score_once, worker_pool};
use super::{Engine, RunControl};
use crate::detect::{DetectorSpec, ThresholdRule};
use crate::error::{Error, Result};
use crate::eval::{self, CellRun, DetectorRanking, RobustnessCell, RobustnessMatrix, VusOptions};
use crate::inject::{self, InjectionPlan, InjectionSpec, Target, apply_plan};
use crate::model::{ParamValue, Series};
use crate::storage::DatasetId;

/// What a robustness matrix runs.
#[derive(Clone, Debug)]
pub struct RobustnessConfig {
    /// Detectors (rows).
    pub detectors: Vec<DetectorSpec>,
    /// Injector kind ids (each must have a size parameter).
    pub kinds: Vec<String>,
    /// Magnitudes, set on each kind's size parameter (sorted ascending on use).
    pub magnitudes: Vec<f64>,
    /// Injections per cell, seeds `seed..seed + repeats`.
    pub repeats: usize,
    /// Seed of the first repeat.
    pub seed: u64,
    /// Windows injected per series.
    pub windows: usize,
    /// Rows per window for kinds other than `spike` (spikes are single rows).
    pub window_len: usize,
    /// Threshold rule for the flag-based numbers (detection rate, delay, false alarms).
    pub rule: ThresholdRule,
    /// Worker threads; 0 = the number of cores.
    pub jobs: usize,
    /// VUS options.
    pub vus: VusOptions,
    /// Detection rate that counts as "reliably detected".
    pub reliable_rate: f64,
}

impl Default for RobustnessConfig {
    fn default() -> Self {
        Self {
            detectors: super::bench::default_detectors(),
            kinds: vec!["spike".into(), "level_shift".into(), "variance".into()],
            magnitudes: vec![1.0, 2.0, 4.0, 8.0],
            repeats: 3,
            seed: 0,
            windows: 3,
            window_len: 20,
            rule: ThresholdRule::default(),
            jobs: 0,
            vus: VusOptions::default(),
            reliable_rate: 0.9,
        }
    }
}

/// What label-free detector selection injects and runs.
#[derive(Clone, Debug)]
pub struct SelectionConfig {
    /// Candidate detectors.
    pub detectors: Vec<DetectorSpec>,
    /// `(kind, magnitude)` pairs injected together into each copy.
    pub kinds: Vec<(String, f64)>,
    /// Copies, seeds `seed..seed + repeats`.
    pub repeats: usize,
    /// Seed of the first copy.
    pub seed: u64,
    /// Windows per kind per copy.
    pub windows_per_kind: usize,
    /// Rows per window for kinds other than `spike`.
    pub window_len: usize,
    /// Worker threads; 0 = the number of cores.
    pub jobs: usize,
    /// VUS options.
    pub vus: VusOptions,
}

impl Default for SelectionConfig {
    fn default() -> Self {
        Self {
            detectors: super::bench::default_detectors(),
            kinds: vec![
                ("spike".into(), 4.0),
                ("level_shift".into(), 3.0),
                ("variance".into(), 3.0),
                ("trend".into(), 3.0),
            ],
            repeats: 3,
            seed: 0,
            windows_per_kind: 2,
            window_len: 20,
            jobs: 0,
            vus: VusOptions::default(),
        }
    }
}

/// Rows per window of `kind`: spikes are point anomalies, everything else spans `len` rows.
fn length_of(kind: &str, len: usize) -> usize {
    if kind == "spike" { 1 } else { len.max(1) }
}

/// `count` window starts for windows of up to `max_len` rows, spread over the last 80 % of
/// `rows` with seeded jitter, in order and never overlapping.
fn positions(rows: usize, count: usize, max_len: usize, seed: u64) -> Result<Vec<usize>> {
    let start = rows / 5;
    let span = rows.saturating_sub(start);
    let slot = span.checked_div(count).unwrap_or(0);
    if count == 0 || slot < max_len + 2 {
        return Err(Error::Invalid(format!(
            "a series of {rows} rows is too short for {count} windows of {max_len} rows \
             (the first 20 % stays clean)"
        )));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Ok((0..count)
        .map(|i| start + i * slot + rng.random_range(0..=slot - max_len - 1))
        .collect())
}

/// One injection of `kind` at `magnitude` over `len` rows at `first`.
fn injection(kind: &str, magnitude: f64, first: usize, len: usize) -> Result<InjectionSpec> {
    let entry = inject::find(kind)?;
    let Some(param) = entry.info.magnitude else {
        let sized: Vec<&str> = inject::registry()
            .iter()
            .filter(|e| e.info.magnitude.is_some())
            .map(|e| e.info.id)
            .collect();
        return Err(Error::Invalid(format!(
            "injector {kind:?} has no size parameter (kinds with one: {})",
            sized.join(", ")
        )));
    };
    let spec = InjectionSpec::new(entry.info.id)
        .with_param(param, ParamValue::Float(magnitude))
        .with_target(Target::Rows {
            start: first as i64,
            length: len as i64,
        });
    spec.build()?;
    Ok(spec)
}

/// `base` without labels, with `plan` applied: the injected series, labelled exactly.
fn injected(base: &Series, plan: &InjectionPlan) -> Result<Series> {
    let mut clean = base.clone();
    clean
        .set_labels(None)
        .map_err(|e| Error::Invalid(e.to_string()))?;
    Ok(apply_plan(&clean, plan)?.0)
}

/// Scores every (series, detector) pair on the pool: `out[series][detector]`. `None` for
/// pairs skipped by cancellation.
fn score_grid(
    series: &[Series],
    detectors: &[DetectorSpec],
    rule: ThresholdRule,
    vus: &VusOptions,
    jobs: usize,
    control: &RunControl,
) -> Result<Vec<Vec<Option<CellRun>>>> {
    let items: Vec<(usize, usize)> = (0..series.len())
        .flat_map(|s| (0..detectors.len()).map(move |d| (s, d)))
        .collect();
    control.progress.set_total(items.len() as u64);
    control.progress.set_done(0);
    let done = AtomicU64::new(0);
    let pool = worker_pool("robustness", jobs)?;
    let flat: Vec<Option<CellRun>> = pool.install(|| {
        items
            .par_iter()
            .map(|&(s, d)| {
                if control.cancel.is_cancelled() {
                    return None;
                }
                let run = judge(&series[s], &detectors[d], rule, vus, control);
                control
                    .progress
                    .set_done(done.fetch_add(1, Ordering::Relaxed) + 1);
                run
            })
            .collect()
    });
    let mut out = vec![Vec::with_capacity(detectors.len()); series.len()];
    for ((s, _), run) in items.into_iter().zip(flat) {
        out[s].push(run);
    }
    Ok(out)
}

/// Fits, scores and judges one detector on one labelled series.
fn judge(
    series: &Series,
    spec: &DetectorSpec,
    rule: ThresholdRule,
    vus: &VusOptions,
    control: &RunControl,
) -> Option<CellRun> {
    let labels = series.labels().unwrap_or_default();
    let truth = eval::spans(labels).len();
    let failed = |error: String| CellRun {
        vus_pr: None,
        windows: truth,
        detected: 0,
        false_events: 0,
        delays_rows: Vec::new(),
        error: Some(error),
    };
    let scores = match score_once(spec, series, &control.cancel).outcome {
        Ok(s) => s,
        Err(crate::detect::DetectError::Cancelled) => return None,
        Err(e) => return Some(failed(e.to_string())),
    };
    let flags = rule.apply(&scores);
    let clean = eval::clean_scores(&scores);
    let vus_pr = eval::vus(labels, &clean, vus).ok().map(|v| v.vus_pr);
    let events = match eval::event_f1(labels, &flags) {
        Ok(e) => e,
        Err(e) => return Some(failed(format!("evaluation: {e}"))),
    };
    let delays_rows = eval::detection_delays(labels, &flags, None)
        .map(|d| d.iter().filter_map(|w| w.delay_rows).collect())
        .unwrap_or_default();
    Some(CellRun {
        vus_pr,
        windows: events.true_events,
        detected: events.detected_events,
        false_events: events.predicted_events - events.correct_predicted_events,
        delays_rows,
        error: None,
    })
}

/// The robustness matrix of `config` on `base` (its labels are ignored).
///
/// # Errors
/// Unknown detector or kind, a kind without a size parameter, a magnitude its parameter
/// rejects, or a series too short for the windows.
pub fn robustness_matrix(
    base: &Series,
    config: &RobustnessConfig,
    control: &RunControl,
) -> Result<RobustnessMatrix> {
    for spec in &config.detectors {
        spec.resolve()?;
    }
    let mut magnitudes = config.magnitudes.clone();
    magnitudes.sort_by(f64::total_cmp);
    magnitudes.dedup();
    let repeats = config.repeats.max(1);
    let max_len = config
        .kinds
        .iter()
        .map(|k| length_of(k, config.window_len))
        .max()
        .unwrap_or(1);
    // series[(kind * magnitudes + magnitude) * repeats + repeat]
    let mut series = Vec::new();
    for kind in &config.kinds {
        for &magnitude in &magnitudes {
            for r in 0..repeats {
                let seed = config.seed + r as u64;
                let len = length_of(kind, config.window_len);
                let injections = positions(base.len(), config.windows, max_len, seed)?
                    .into_iter()
                    .map(|first| injection(kind, magnitude, first, len))
                    .collect::<Result<Vec<_>>>()?;
                series.push(injected(base, &InjectionPlan { seed, injections })?);
            }
        }
    }
    let runs = score_grid(
        &series,
        &config.detectors,
        config.rule,
        &config.vus,
        config.jobs,
        control,
    )?;
    let mut cells = Vec::new();
    for (d, spec) in config.detectors.iter().enumerate() {
        for (k, kind) in config.kinds.iter().enumerate() {
            for (m, &magnitude) in magnitudes.iter().enumerate() {
                let base_index = (k * magnitudes.len() + m) * repeats;
                let cell_runs: Vec<CellRun> = (0..repeats)
                    .filter_map(|r| runs[base_index + r][d].clone())
                    .collect();
                cells.push(RobustnessCell::from_runs(
                    &spec.id, kind, magnitude, &cell_runs,
                ));
            }
        }
    }
    Ok(RobustnessMatrix {
        detectors: config.detectors.iter().map(|d| d.id.clone()).collect(),
        kinds: config.kinds.clone(),
        magnitudes,
        repeats,
        seed: config.seed,
        reliable_rate: config.reliable_rate,
        cells,
        cancelled: control.cancel.is_cancelled(),
    })
}

/// Ranks detectors on `base` without its labels: `repeats` copies each get
/// `windows_per_kind` windows of every `(kind, magnitude)` (kinds interleaved in a seeded
/// order), and a detector's score is its mean VUS-PR against the injected rows. Real, unknown
/// anomalies in `base` count against every detector alike.
///
/// # Errors
/// As [`robustness_matrix`].
pub fn rank_unlabelled(
    base: &Series,
    config: &SelectionConfig,
    control: &RunControl,
) -> Result<DetectorRanking> {
    for spec in &config.detectors {
        spec.resolve()?;
    }
    let repeats = config.repeats.max(1);
    let per_copy = config.kinds.len() * config.windows_per_kind.max(1);
    let max_len = config
        .kinds
        .iter()
        .map(|(k, _)| length_of(k, config.window_len))
        .max()
        .unwrap_or(1);
    let mut copies = Vec::new();
    for r in 0..repeats {
        let seed = config.seed + r as u64;
        let mut order: Vec<usize> = (0..per_copy).map(|i| i % config.kinds.len()).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
        for i in (1..order.len()).rev() {
            order.swap(i, rng.random_range(0..=i));
        }
        let injections = positions(base.len(), per_copy, max_len, seed)?
            .into_iter()
            .zip(order)
            .map(|(first, k)| {
                let (kind, magnitude) = &config.kinds[k];
                injection(kind, *magnitude, first, length_of(kind, config.window_len))
            })
            .collect::<Result<Vec<_>>>()?;
        copies.push(injected(base, &InjectionPlan { seed, injections })?);
    }
    let runs = score_grid(
        &copies,
        &config.detectors,
        ThresholdRule::default(),
        &config.vus,
        config.jobs,
        control,
    )?;
    if control.cancel.is_cancelled() {
        return Err(Error::Cancelled);
    }
    let scores: Vec<(String, f64)> = config
        .detectors
        .iter()
        .enumerate()
        .map(|(d, spec)| {
            let vals: Vec<f64> = runs
                .iter()
                .filter_map(|copy| copy[d].as_ref().and_then(|r| r.vus_pr))
                .collect();
            let score = if vals.len() == repeats {
                vals.iter().sum::<f64>() / vals.len() as f64
            } else {
                f64::NAN
            };
            (spec.id.clone(), score)
        })
        .collect();
    Ok(DetectorRanking::from_scores(&scores))
}

/// The true ranking of `detectors` on a labelled series: VUS-PR against its own labels.
///
/// # Errors
/// Unknown detectors; a series without labels or anomalous rows.
pub fn rank_labelled(
    series: &Series,
    detectors: &[DetectorSpec],
    vus: &VusOptions,
    jobs: usize,
    control: &RunControl,
) -> Result<DetectorRanking> {
    match series.labels() {
        Some(l) if l.contains(&true) => {}
        _ => {
            return Err(Error::Invalid(
                "the series has no anomalous labelled row: no true ranking".to_owned(),
            ));
        }
    }
    let runs = score_grid(
        std::slice::from_ref(series),
        detectors,
        ThresholdRule::default(),
        vus,
        jobs,
        control,
    )?;
    if control.cancel.is_cancelled() {
        return Err(Error::Cancelled);
    }
    let scores: Vec<(String, f64)> = detectors
        .iter()
        .zip(&runs[0])
        .map(|(spec, r)| {
            (
                spec.id.clone(),
                r.as_ref().and_then(|r| r.vus_pr).unwrap_or(f64::NAN),
            )
        })
        .collect();
    Ok(DetectorRanking::from_scores(&scores))
}

impl Engine {
    /// [`robustness_matrix`] on a stored dataset.
    pub fn robustness(
        &self,
        dataset: DatasetId,
        config: &RobustnessConfig,
        control: &RunControl,
    ) -> Result<RobustnessMatrix> {
        robustness_matrix(&self.load_series(dataset)?, config, control)
    }

    /// [`rank_unlabelled`] on a stored dataset: the suggested detectors, best first.
    pub fn suggest_detectors(
        &self,
        dataset: DatasetId,
        config: &SelectionConfig,
        control: &RunControl,
    ) -> Result<DetectorRanking> {
        rank_unlabelled(&self.load_series(dataset)?, config, control)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_spread_ordered_and_seeded() {
        let p = positions(1000, 4, 20, 7).unwrap();
        assert_eq!(p.len(), 4);
        assert!(p[0] >= 200);
        assert!(p.windows(2).all(|w| w[1] >= w[0] + 22), "{p:?}");
        assert_eq!(p, positions(1000, 4, 20, 7).unwrap());
        assert!(positions(50, 4, 20, 7).is_err());
    }

    #[test]
    fn kinds_without_size_are_refused_by_name() {
        let err = injection("dropout", 2.0, 10, 5).unwrap_err();
        assert!(err.to_string().contains("no size parameter"), "{err}");
        assert!(injection("spike", 3.0, 10, 1).is_ok());
    }

    #[test]
    fn injected_labels_are_exactly_the_windows() {
        let base = crate::testing::seasonal_with_anomalies(500, 50, 50, 60..70, 1);
        let plan = InjectionPlan {
            seed: 1,
            injections: vec![injection("level_shift", 3.0, 300, 20).unwrap()],
        };
        let s = injected(&base, &plan).unwrap();
        let labels = s.labels().unwrap();
        assert_eq!(labels.iter().filter(|&&l| l).count(), 20);
        assert!(labels[300..320].iter().all(|&l| l));
    }
}
