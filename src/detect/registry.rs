//! The list of built-in detectors. Adding a detector = one file + one line in [`ENTRIES`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{DetectError, Detector, DetectorInfo, zscore};
use crate::model::{ParamValue, Params};

/// A registered detector: its description and how to build it from checked parameters.
#[derive(Clone, Copy, Debug)]
pub struct DetectorEntry {
    /// What it is.
    pub info: &'static DetectorInfo,
    /// Builds it from checked parameters and a seed.
    pub build: fn(&Params, u64) -> Result<Box<dyn Detector>, DetectError>,
}

/// Every built-in detector, in display order.
const ENTRIES: &[DetectorEntry] = &[zscore::ENTRY];

/// All built-in detectors.
pub fn registry() -> &'static [DetectorEntry] {
    ENTRIES
}

/// A detector by id.
pub fn find(id: &str) -> Result<&'static DetectorEntry, DetectError> {
    ENTRIES
        .iter()
        .find(|e| e.info.id == id)
        .ok_or_else(|| DetectError::UnknownDetector { id: id.to_owned() })
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
        let params =
            Params::resolve(entry.info.params, &self.params).map_err(|source| DetectError::Params {
                detector: entry.info.id,
                source,
            })?;
        Ok((entry, params))
    }

    /// Builds the live detector, checking the parameters.
    pub fn build(&self) -> Result<Box<dyn Detector>, DetectError> {
        let (entry, params) = self.resolve()?;
        (entry.build)(&params, self.seed)
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
                id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
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
