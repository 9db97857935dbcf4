//! [`Preview`]: the selected dataset with the injection plan being edited applied, computed
//! on a worker by the same [`apply_plan`] that "Save as new dataset" stores, so what the user
//! sees before committing is exactly what gets saved.

use std::ops::Range;

use super::truth::Truth;
use crate::error::Result;
use crate::inject::{InjectionPlan, apply_plan};

/// An injected copy of the selected dataset, reduced to what the preview plot draws.
#[derive(Clone, Debug)]
pub struct Preview {
    /// The plan it shows.
    pub plan: InjectionPlan,
    /// Changed columns: index in the series and the injected values.
    pub columns: Vec<(usize, Vec<f64>)>,
    /// Injected row windows, sorted.
    pub windows: Vec<Range<usize>>,
}

impl Preview {
    /// Applies `plan` to `truth`'s series (blocking: call it on a worker).
    ///
    /// # Errors
    /// The plan does not fit the series (kind, parameter, column or target).
    pub fn compute(truth: &Truth, plan: InjectionPlan) -> Result<Self> {
        let (series, windows) = apply_plan(&truth.series, &plan)?;
        let names = series.column_names();
        let mut changed: Vec<usize> = windows
            .iter()
            .flat_map(|w| w.columns.iter())
            .filter_map(|c| names.iter().position(|n| n == c))
            .collect();
        changed.sort_unstable();
        changed.dedup();
        let (_, columns, _) = series.into_parts();
        let columns = changed
            .into_iter()
            .filter_map(|i| columns.get(i).map(|c| (i, c.values.clone())))
            .collect();
        let mut windows: Vec<Range<usize>> = windows
            .iter()
            .map(|w| w.first_row..w.last_row + 1)
            .collect();
        windows.sort_by_key(|w| (w.start, w.end));
        windows.dedup();
        Ok(Self {
            plan,
            columns,
            windows,
        })
    }

    /// The injected values of column `index`, when the plan changed it.
    pub fn column(&self, index: usize) -> Option<&[f64]> {
        self.columns
            .iter()
            .find(|(i, _)| *i == index)
            .map(|(_, v)| v.as_slice())
    }
}
