//! The list of built-in injector kinds. Adding a kind = one type in a `kinds/` file + one line
//! in [`ENTRIES`]; the shared tests then cover it automatically.

use super::kinds;
use super::{InjectError, Injector, InjectorInfo};
use crate::model::Params;

/// A registered kind: its description and how to build it from checked parameters.
#[derive(Clone, Copy, Debug)]
pub struct InjectorEntry {
    /// What it is.
    pub info: &'static InjectorInfo,
    /// Builds it from checked parameters (cross-parameter checks happen here).
    pub build: fn(&Params) -> Result<Box<dyn Injector>, InjectError>,
}

/// Every built-in kind, in display order.
const ENTRIES: &[InjectorEntry] = &[
    kinds::point::SPIKE,
    kinds::offset::LEVEL_SHIFT,
    kinds::offset::TREND,
    kinds::scale::VARIANCE,
    kinds::scale::AMPLITUDE,
    kinds::shape::FREQUENCY,
    kinds::flat::FLAT_LINE,
    kinds::flat::DROPOUT,
    kinds::scale::LOWERED,
    kinds::scale::CUSTOM_MULTIPLIER,
    kinds::shape::PATTERN,
    kinds::shape::TIME_SHIFT,
    kinds::flat::MISSING_VALUES,
    kinds::scale::FLIP,
    kinds::correlation::CORRELATION_BREAK,
];

/// All built-in kinds.
pub fn registry() -> &'static [InjectorEntry] {
    ENTRIES
}

/// A kind by id or alias (`step` finds `level_shift`).
pub fn find(id: &str) -> Result<&'static InjectorEntry, InjectError> {
    ENTRIES
        .iter()
        .find(|e| e.info.id == id || e.info.aliases.contains(&id))
        .ok_or_else(|| InjectError::UnknownKind {
            kind: id.to_owned(),
            known: ENTRIES
                .iter()
                .map(|e| e.info.id)
                .collect::<Vec<_>>()
                .join(", "),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_aliases_are_unique_snake_case() {
        let mut ids: Vec<&str> = ENTRIES
            .iter()
            .flat_map(|e| std::iter::once(e.info.id).chain(e.info.aliases.iter().copied()))
            .collect();
        for id in &ids {
            assert!(
                id.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{id} is not snake_case"
            );
        }
        let n = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), n, "duplicate id or alias");
    }

    #[test]
    fn original_anomdet_ids_resolve() {
        for (old, new) in [
            ("spike", "spike"),
            ("step", "level_shift"),
            ("lowered", "lowered"),
            ("offline", "dropout"),
            ("custom", "custom_multiplier"),
            ("extremum", "spike"),
            ("platform", "flat_line"),
        ] {
            assert_eq!(find(old).unwrap().info.id, new);
        }
        assert!(matches!(find("nope"), Err(InjectError::UnknownKind { .. })));
    }

    #[test]
    fn every_default_builds_and_every_param_is_documented() {
        for entry in ENTRIES {
            let params =
                Params::resolve(entry.info.params, &std::collections::BTreeMap::default()).unwrap();
            (entry.build)(&params).unwrap();
            assert!(!entry.info.description.is_empty());
            for p in entry.info.params {
                assert!(
                    !p.help.is_empty(),
                    "{}.{} has no help",
                    entry.info.id,
                    p.name
                );
            }
            assert_eq!(
                entry.info.onset,
                entry.info.params.iter().any(|p| p.name == "onset"),
                "{}: onset flag and schema disagree",
                entry.info.id
            );
            if let Some(name) = entry.info.magnitude {
                assert!(
                    entry.info.params.iter().any(|p| p.name == name),
                    "{}: magnitude parameter {name} is not in the schema",
                    entry.info.id
                );
            }
        }
    }
}
