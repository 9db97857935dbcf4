//! Reference floors: `random` (seeded uniform scores) and `constant` (the same score for every
//! row). Any detector worth its cost beats both; on a ranking metric `random` sits near 0.5
//! ROC-AUC and `constant` at exactly 0.5, which makes them the lines every comparison table
//! needs.

use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;

use super::registry::DetectorEntry;
use super::{DetectError, Detector, DetectorInfo, Family};
use crate::control::CancelToken;
use crate::model::{ParamKind, ParamSpec, Params, Row, Series};

static RANDOM_INFO: DetectorInfo = DetectorInfo {
    id: "random",
    name: "Random (baseline)",
    family: Family::Baseline,
    multivariate: true,
    streaming: true,
    description: "Uniform random scores in [0, 1) from a ChaCha8 generator seeded by the spec's \
                  seed. The floor a useful detector must clearly beat.",
    params: &[],
};

const CONSTANT_PARAMS: &[ParamSpec] = &[ParamSpec {
    name: "value",
    kind: ParamKind::Float {
        min: -1e12,
        max: 1e12,
        default: 0.0,
    },
    help: "The score given to every row.",
}];

static CONSTANT_INFO: DetectorInfo = DetectorInfo {
    id: "constant",
    name: "Constant (baseline)",
    family: Family::Baseline,
    multivariate: true,
    streaming: true,
    description: "The same score for every row: no information at all (ROC-AUC exactly 0.5). \
                  Shows what a metric gives a detector that ranks nothing.",
    params: CONSTANT_PARAMS,
};

/// Registry entry of `random`.
pub(super) const RANDOM_ENTRY: DetectorEntry = DetectorEntry {
    info: &RANDOM_INFO,
    build: build_random,
};

/// Registry entry of `constant`.
pub(super) const CONSTANT_ENTRY: DetectorEntry = DetectorEntry {
    info: &CONSTANT_INFO,
    build: build_constant,
};

#[expect(
    clippy::unnecessary_wraps,
    reason = "the registry's build signature is fallible"
)]
fn build_random(_params: &Params, seed: u64) -> Result<Box<dyn Detector>, DetectError> {
    Ok(Box::new(RandomScores::new(seed)))
}

#[expect(
    clippy::unnecessary_wraps,
    reason = "the registry's build signature is fallible"
)]
fn build_constant(params: &Params, _seed: u64) -> Result<Box<dyn Detector>, DetectError> {
    Ok(Box::new(ConstantScores {
        value: params.float("value"),
        width: None,
    }))
}

/// Rows must keep the width seen first (in `fit` or the first row).
fn check_width(
    width: &mut Option<usize>,
    row: Row<'_>,
    info: &'static DetectorInfo,
) -> Result<(), DetectError> {
    match *width {
        Some(w) if w != row.values.len() => Err(DetectError::Input {
            detector: info.id,
            message: format!(
                "row {} has {} values, expected {w}",
                row.index,
                row.values.len()
            ),
        }),
        _ => {
            *width = Some(row.values.len());
            Ok(())
        }
    }
}

/// Seeded uniform scores; `reset` restarts the sequence.
#[derive(Clone, Debug)]
pub struct RandomScores {
    seed: u64,
    rng: ChaCha8Rng,
    width: Option<usize>,
}

impl RandomScores {
    /// Scores from the generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            rng: ChaCha8Rng::seed_from_u64(seed),
            width: None,
        }
    }
}

impl Detector for RandomScores {
    fn info(&self) -> &'static DetectorInfo {
        &RANDOM_INFO
    }

    fn fit(&mut self, train: &Series, _cancel: &CancelToken) -> Result<(), DetectError> {
        self.width = Some(train.columns().len());
        Ok(())
    }

    fn reset(&mut self) {
        self.rng = ChaCha8Rng::seed_from_u64(self.seed);
    }

    fn update(&mut self, row: Row<'_>) -> Result<f64, DetectError> {
        check_width(&mut self.width, row, &RANDOM_INFO)?;
        Ok(self.rng.random::<f64>())
    }

    fn warm_up_rows(&self) -> Option<usize> {
        Some(0)
    }
}

/// The same score for every row.
#[derive(Clone, Copy, Debug)]
pub struct ConstantScores {
    value: f64,
    width: Option<usize>,
}

impl Detector for ConstantScores {
    fn info(&self) -> &'static DetectorInfo {
        &CONSTANT_INFO
    }

    fn fit(&mut self, train: &Series, _cancel: &CancelToken) -> Result<(), DetectError> {
        self.width = Some(train.columns().len());
        Ok(())
    }

    fn reset(&mut self) {}

    fn update(&mut self, row: Row<'_>) -> Result<f64, DetectError> {
        check_width(&mut self.width, row, &CONSTANT_INFO)?;
        Ok(self.value)
    }

    fn score_series(
        &mut self,
        series: &Series,
        _cancel: &CancelToken,
    ) -> Result<Vec<f64>, DetectError> {
        Ok(vec![self.value; series.len()])
    }

    fn warm_up_rows(&self) -> Option<usize> {
        Some(0)
    }
}
