//! Engine calls for injection and generation: an injected copy of a stored dataset, or a
//! generated (optionally injected) dataset, stored with its parent and the plan that made it so
//! that it can be reproduced exactly.

use super::Engine;
use crate::error::Result;
use crate::inject::{GenerateSpec, InjectionPlan, apply_plan, generate};
use crate::storage::{DatasetId, DatasetMeta, NewDataset};

impl Engine {
    /// Applies `plan` to a copy of dataset `source` and stores it as `new_name`, with
    /// `parent = source` and the plan as JSON. Labels are the source's OR the injected rows.
    ///
    /// # Errors
    /// Unknown dataset, a plan that does not fit the dataset (kind, parameter, column,
    /// target), or a taken name. Nothing is stored on error.
    pub fn inject_dataset(
        &self,
        source: DatasetId,
        plan: &InjectionPlan,
        new_name: &str,
    ) -> Result<DatasetMeta> {
        let parent = self.dataset(source)?;
        let series = self.load_series(source)?;
        let (injected, _windows) = apply_plan(&series, plan)?;
        let new = NewDataset {
            name: new_name.to_owned(),
            source: format!("inject of {} ({source})", parent.name),
            warnings: Vec::new(),
            parent: Some(source),
            plan_json: Some(plan.to_json()),
            created_ms: None,
        };
        self.store_dataset(&new, &injected)
    }

    /// Generates the series `spec` describes, applies `plan` when given, and stores it as
    /// `name`. The source field records the generator spec as JSON, the plan is stored as the
    /// dataset's plan, so both halves can be re-run.
    ///
    /// # Errors
    /// A bad generator setting, a plan that does not fit, or a taken name.
    pub fn generate_dataset(
        &self,
        spec: &GenerateSpec,
        plan: Option<&InjectionPlan>,
        name: &str,
    ) -> Result<DatasetMeta> {
        let mut series = generate(spec)?;
        if let Some(plan) = plan {
            series = apply_plan(&series, plan)?.0;
        } else {
            series
                .set_labels(Some(vec![false; series.len()]))
                .map_err(|e| crate::Error::Invalid(e.to_string()))?;
        }
        let new = NewDataset {
            name: name.to_owned(),
            source: format!("generated: {}", spec.to_json()),
            warnings: Vec::new(),
            parent: None,
            plan_json: plan.map(InjectionPlan::to_json),
            created_ms: None,
        };
        self.store_dataset(&new, &series)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inject::{InjectionSpec, Target};
    use crate::model::Series;

    #[test]
    fn injected_copy_keeps_parent_plan_and_labels() {
        let engine = Engine::in_memory();
        let values: Vec<f64> = (0..300).map(|i| (f64::from(i) / 7.0).sin()).collect();
        let source = engine
            .store_series("base", &Series::from_values("value", values))
            .unwrap();
        let plan = InjectionPlan {
            seed: 3,
            injections: vec![InjectionSpec::new("step").with_target(Target::Rows {
                start: 100,
                length: 20,
            })],
        };
        let meta = engine
            .inject_dataset(source.id, &plan, "base+step")
            .unwrap();
        assert_eq!(meta.parent, Some(source.id));
        assert_eq!(meta.label_count, 20);
        let stored = InjectionPlan::from_json(meta.plan_json.as_deref().unwrap()).unwrap();
        assert_eq!(stored, plan);
        // Re-applying the stored plan reproduces the stored copy exactly.
        let again = apply_plan(&engine.load_series(source.id).unwrap(), &stored)
            .unwrap()
            .0;
        assert_eq!(again, engine.load_series(meta.id).unwrap());
        assert!(
            engine
                .inject_dataset(source.id, &plan, "base+step")
                .is_err()
        );
    }

    #[test]
    fn generated_dataset_records_spec_and_plan() {
        let engine = Engine::in_memory();
        let spec = GenerateSpec {
            length: 500,
            noise: 0.1,
            seed: 4,
            ..GenerateSpec::default()
        };
        let unlabelled = engine.generate_dataset(&spec, None, "gen").unwrap();
        assert_eq!((unlabelled.rows, unlabelled.label_count), (500, 0));
        assert!(unlabelled.source.starts_with("generated: {"));
        let plan = InjectionPlan {
            seed: 1,
            injections: vec![InjectionSpec::new("spike").with_target(Target::Random {
                count: 4,
                length: 1,
                min_gap: 10,
            })],
        };
        let labelled = engine
            .generate_dataset(&spec, Some(&plan), "gen+spikes")
            .unwrap();
        assert_eq!(labelled.label_count, 4);
        assert!(labelled.plan_json.is_some());
    }
}
