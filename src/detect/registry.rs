//! The list of detectors: the built-ins (adding one = one file + one line in [`ENTRIES`]) and
//! the external programs registered by config files ([`super::external`]), loaded once per
//! process (or on [`load_externals`]) and leaked so that every entry is `&'static`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use parking_lot::RwLock;
use serde::{Deserialize, Serialize};

use super::external::{self, ExternalConfig, ExternalDetector};
// Part A (statistical, baselines); the line below holds the other families.
use super::{Family, baseline, cusum, ewma, hbos, robust_z, shesd, spectral_residual};

use super::{
    DetectError, Detector, DetectorInfo, hst, iforest, learned, matrix_profile, neural, poly, rrcf,
    subseq_knn, subseq_lof, zscore,
};
use crate::model::{ParamValue, Params};

/// How a registry entry builds its detector from checked parameters and a seed.
pub type BuildFn = fn(&Params, u64) -> Result<Box<dyn Detector>, DetectError>;

/// A registered detector: its description and how to build it from checked parameters.
#[derive(Clone, Copy, Debug)]
pub struct DetectorEntry {
    /// What it is.
    pub info: &'static DetectorInfo,
    /// Builds it from checked parameters and a seed.
    pub build: BuildFn,
}

/// Every built-in detector, in display order.
const ENTRIES: &[DetectorEntry] = &[
    zscore::ENTRY,
    robust_z::ENTRY,
    ewma::ENTRY,
    cusum::ENTRY,
    shesd::ENTRY,
    hbos::ENTRY,
    spectral_residual::ENTRY,
    matrix_profile::ENTRY,
    subseq_knn::ENTRY,
    subseq_lof::ENTRY,
    poly::ENTRY,
    iforest::ENTRY,
    hst::ENTRY,
    rrcf::ENTRY,
    learned::ocsvm::ENTRY,
    learned::dbscan::ENTRY,
    learned::kmeans::ENTRY,
    learned::pca::ENTRY,
    neural::lstm_ae::ENTRY,
    neural::forecaster::ENTRY,
    neural::conv_forecaster::ENTRY,
    baseline::RANDOM_ENTRY,
    baseline::CONSTANT_ENTRY,
];

/// Built-in detectors followed by the external ones loaded from the config folder (see
/// [`super::external`]); loaded on first use. Listings (CLI, GUI) use this.
pub fn registry() -> &'static [DetectorEntry] {
    if let Some(loaded) = EXTERNALS.read().as_ref() {
        return loaded.all;
    }
    load_externals(None);
    EXTERNALS
        .read()
        .as_ref()
        .map_or(ENTRIES, |loaded| loaded.all)
}

/// The built-in detectors only (what the shared invariant tests run over).
pub fn builtin() -> &'static [DetectorEntry] {
    ENTRIES
}

/// A detector by id, built-in or external.
pub fn find(id: &str) -> Result<&'static DetectorEntry, DetectError> {
    registry()
        .iter()
        .find(|e| e.info.id == id)
        .ok_or_else(|| DetectError::UnknownDetector { id: id.to_owned() })
}

/// The loaded external detectors.
struct Externals {
    /// Built-ins then externals (leaked once per load).
    all: &'static [DetectorEntry],
    configs: Vec<Arc<ExternalConfig>>,
    problems: Vec<String>,
}

static EXTERNALS: RwLock<Option<Externals>> = RwLock::new(None);

/// (Re)loads external detector configs from `dir` (default: [`external::default_dir`]) and
/// returns the problems found (bad files, ids clashing with built-ins), which are also logged.
/// Runs that are already built keep working; new builds see the new set.
pub fn load_externals(dir: Option<&Path>) -> Vec<String> {
    let dir = dir.map(Path::to_path_buf).or_else(external::default_dir);
    let (configs, mut problems) = dir.as_deref().map(external::load_dir).unwrap_or_default();
    let mut kept = Vec::new();
    for config in configs {
        if ENTRIES.iter().any(|e| e.info.id == config.id) {
            problems.push(format!(
                "external detector id {:?} clashes with a built-in detector; ignored",
                config.id
            ));
        } else {
            kept.push(Arc::new(config));
        }
    }
    for problem in &problems {
        log::warn!("{problem}");
    }
    let mut all: Vec<DetectorEntry> = ENTRIES.to_vec();
    all.extend(kept.iter().map(|c| *external::leak_entry(c)));
    *EXTERNALS.write() = Some(Externals {
        all: Box::leak(all.into_boxed_slice()),
        configs: kept,
        problems: problems.clone(),
    });
    problems
}

/// Problems found by the last load of external detectors.
pub fn external_problems() -> Vec<String> {
    registry();
    EXTERNALS
        .read()
        .as_ref()
        .map(|e| e.problems.clone())
        .unwrap_or_default()
}

impl DetectorEntry {
    /// Builds the detector from checked parameters: the `build` function for built-ins, the
    /// loaded config for externals (use this rather than calling `build` directly).
    pub fn instantiate(
        &self,
        params: &Params,
        seed: u64,
    ) -> Result<Box<dyn Detector>, DetectError> {
        if self.info.family != Family::External {
            return (self.build)(params, seed);
        }
        let config = EXTERNALS
            .read()
            .as_ref()
            .and_then(|e| e.configs.iter().find(|c| c.id == self.info.id).cloned())
            .ok_or_else(|| DetectError::UnknownDetector {
                id: self.info.id.to_owned(),
            })?;
        Ok(ExternalDetector::from_params(self.info, config, params))
    }
}

/// A detector as data: id, parameters and seed. Serialised into stored runs; `build` checks the
/// parameters and returns a live detector.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DetectorSpec {
    /// Registry id.
    pub id: String,
    /// Given parameters (missing ones take defaults).
    #[serde(default)]
    pub params: BTreeMap<String, ParamValue>,
    /// Seed for randomised detectors.
    #[serde(default)]
    pub seed: u64,
}

impl DetectorSpec {
    /// A spec with default parameters and seed 0.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            params: BTreeMap::new(),
            seed: 0,
        }
    }

    /// The checked parameters (defaults filled in).
    pub fn resolve(&self) -> Result<(&'static DetectorEntry, Params), DetectError> {
        let entry = find(&self.id)?;
        let params = Params::resolve(entry.info.params, &self.params).map_err(|source| {
            DetectError::Params {
                detector: entry.info.id,
                source,
            }
        })?;
        Ok((entry, params))
    }

    /// Builds the live detector, checking the parameters.
    pub fn build(&self) -> Result<Box<dyn Detector>, DetectError> {
        let (entry, params) = self.resolve()?;
        entry.instantiate(&params, self.seed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_snake_case() {
        let mut ids: Vec<&str> = registry().iter().map(|e| e.info.id).collect();
        for id in &ids {
            assert!(
                id.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{id} is not snake_case"
            );
        }
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), registry().len(), "duplicate detector id");
    }

    #[test]
    fn unknown_id_and_bad_params_are_errors() {
        assert!(matches!(
            DetectorSpec::new("nope").build(),
            Err(DetectError::UnknownDetector { .. })
        ));
        let mut spec = DetectorSpec::new("rolling_zscore");
        spec.params.insert("window".into(), ParamValue::Int(-3));
        assert!(matches!(spec.build(), Err(DetectError::Params { .. })));
    }
}
