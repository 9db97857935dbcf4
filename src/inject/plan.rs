//! Plans: injections as serialisable data ([`InjectionSpec`], [`InjectionPlan`], JSON), their
//! batch application ([`apply_plan`]) and the ground-truth windows it returns.

use std::collections::BTreeMap;
use std::ops::Range;

use rand::SeedableRng as _;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::driver::{self, ChangedRows};
use super::{InjectError, Injector, InjectorEntry, Target, find};
use crate::model::{ParamValue, Params, Series, Timestamp};

/// One injection as data: which kind, its parameters, where, and on which columns.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InjectionSpec {
    /// Kind id or alias (`spike`, `level_shift`, `step`, ...).
    pub kind: String,
    /// Given parameters; missing ones take their defaults.
    #[serde(default)]
    pub params: BTreeMap<String, ParamValue>,
    /// Where it goes.
    #[serde(default)]
    pub target: Target,
    /// Column names to change; empty means every column.
    #[serde(default)]
    pub columns: Vec<String>,
}

impl InjectionSpec {
    /// A spec of `kind` with default parameters, one random single-row window, all columns.
    pub fn new(kind: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            params: BTreeMap::new(),
            target: Target::default(),
            columns: Vec::new(),
        }
    }

    /// Sets one parameter (builder style).
    #[must_use]
    pub fn with_param(mut self, name: &str, value: ParamValue) -> Self {
        self.params.insert(name.to_owned(), value);
        self
    }

    /// Sets the target (builder style).
    #[must_use]
    pub fn with_target(mut self, target: Target) -> Self {
        self.target = target;
        self
    }

    /// Sets the columns (builder style).
    #[must_use]
    pub fn with_columns(mut self, columns: &[&str]) -> Self {
        self.columns = columns.iter().map(|&c| c.to_owned()).collect();
        self
    }

    /// The registry entry and checked parameters.
    pub fn resolve(&self) -> Result<(&'static InjectorEntry, Params), InjectError> {
        let entry = find(&self.kind)?;
        let params = Params::resolve(entry.info.params, &self.params).map_err(|source| {
            InjectError::Params {
                kind: entry.info.id,
                source,
            }
        })?;
        Ok((entry, params))
    }

    /// Builds the live injector, checking the parameters.
    pub fn build(&self) -> Result<Box<dyn Injector>, InjectError> {
        let (entry, params) = self.resolve()?;
        (entry.build)(&params)
    }

    /// Column names → indices in `names` (empty: all, in series order).
    pub fn column_indices(&self, names: &[String]) -> Result<Vec<usize>, InjectError> {
        if self.columns.is_empty() {
            return Ok((0..names.len()).collect());
        }
        let mut indices = Vec::with_capacity(self.columns.len());
        for wanted in &self.columns {
            let index = names.iter().position(|n| n == wanted).ok_or_else(|| {
                InjectError::UnknownColumn {
                    column: wanted.clone(),
                    available: names.join(", "),
                }
            })?;
            if !indices.contains(&index) {
                indices.push(index);
            }
        }
        indices.sort_unstable();
        Ok(indices)
    }
}

/// Several injections applied in order, with the seed that makes them reproducible. Stored
/// as JSON with the dataset copy it produced.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct InjectionPlan {
    /// Seed of every random draw (placements, magnitudes, noise).
    #[serde(default)]
    pub seed: u64,
    /// Injections, applied in order.
    pub injections: Vec<InjectionSpec>,
}

impl InjectionPlan {
    /// Parses a plan from JSON.
    pub fn from_json(text: &str) -> Result<Self, InjectError> {
        serde_json::from_str(text).map_err(|e| InjectError::Json {
            what: "injection plan",
            message: e.to_string(),
        })
    }

    /// The plan as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Builds every injector and checks every parameter without touching data.
    pub fn check(&self) -> Result<(), InjectError> {
        for (index, spec) in self.injections.iter().enumerate() {
            spec.build().map_err(|e| e.at(index, &spec.kind))?;
        }
        Ok(())
    }
}

/// One ground-truth window an injection created.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InjectedWindow {
    /// Position of the injection in its plan.
    pub injection: usize,
    /// Canonical kind id.
    pub kind: String,
    /// Columns changed over exactly these rows.
    pub columns: Vec<String>,
    /// First row (inclusive).
    pub first_row: usize,
    /// Last row (inclusive).
    pub last_row: usize,
    /// Timestamp of the first row.
    pub start: Timestamp,
    /// Timestamp of the last row.
    pub end: Timestamp,
}

/// The rng stream of injection `index` of a plan with `seed`: `ChaCha8` seeded with `seed`, on
/// stream `index`, so each injection draws independently of the others.
pub fn injection_rng(seed: u64, index: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(index as u64);
    rng
}

/// One injection of a plan, built and placed against a series' shape.
#[derive(Debug)]
pub(crate) struct Placed {
    pub(crate) kind: &'static str,
    pub(crate) injector: Box<dyn Injector>,
    pub(crate) columns: Vec<usize>,
    pub(crate) windows: Vec<Range<usize>>,
    pub(crate) rng: ChaCha8Rng,
}

/// Builds injection `index` of `plan` and resolves its columns and windows.
pub(crate) fn place(
    plan: &InjectionPlan,
    index: usize,
    timestamps: &[Timestamp],
    names: &[String],
) -> Result<Placed, InjectError> {
    let spec = &plan.injections[index];
    let wrap = |e: InjectError| e.at(index, &spec.kind);
    let injector = spec.build().map_err(wrap)?;
    let columns = spec.column_indices(names).map_err(wrap)?;
    let info = injector.info();
    if names.len() < info.min_columns {
        return Err(wrap(InjectError::Input {
            kind: info.id,
            message: format!(
                "needs a series with at least {} columns, this one has {}",
                info.min_columns,
                names.len()
            ),
        }));
    }
    let mut rng = injection_rng(plan.seed, index);
    let windows = spec.target.resolve(timestamps, &mut rng).map_err(wrap)?;
    Ok(Placed {
        kind: info.id,
        injector,
        columns,
        windows,
        rng,
    })
}

/// Applies every injection of `plan` to a copy of `series`, in order.
///
/// Returns the copy, whose labels are the source's labels OR every injected row, and the
/// ground-truth windows sorted by injection, then row. The same series and plan always give
/// bit-identical output.
///
/// # Errors
/// Unknown kind or column, bad parameters, a target that does not fit; the error names the
/// injection (`injection #2 (spike): ...`).
pub fn apply_plan(
    series: &Series,
    plan: &InjectionPlan,
) -> Result<(Series, Vec<InjectedWindow>), InjectError> {
    let mut out = series.clone();
    let names = series.column_names();
    let mut injected = vec![false; series.len()];
    let mut windows = Vec::new();
    for index in 0..plan.injections.len() {
        let mut placed = place(plan, index, series.timestamps(), &names)?;
        let changed = driver::apply_windows(
            placed.injector.as_ref(),
            &mut out,
            &placed.columns,
            &placed.windows,
            &mut placed.rng,
        )
        .map_err(|e| e.at(index, &plan.injections[index].kind))?;
        for c in &changed {
            injected[c.rows.clone()].fill(true);
        }
        windows.extend(group_windows(
            index,
            placed.kind,
            &changed,
            &names,
            series.timestamps(),
        ));
    }
    let labels = match series.labels() {
        Some(old) => old.iter().zip(&injected).map(|(&a, &b)| a || b).collect(),
        None => injected,
    };
    out.set_labels(Some(labels))
        .map_err(|e| InjectError::Input {
            kind: "plan",
            message: e.to_string(),
        })?;
    Ok((out, windows))
}

/// Merges per-column changed rows with identical rows into one window naming all columns.
pub(crate) fn group_windows(
    injection: usize,
    kind: &str,
    changed: &[ChangedRows],
    names: &[String],
    timestamps: &[Timestamp],
) -> Vec<InjectedWindow> {
    let mut by_rows: BTreeMap<(usize, usize), Vec<usize>> = BTreeMap::new();
    for c in changed {
        by_rows
            .entry((c.rows.start, c.rows.end))
            .or_default()
            .push(c.column);
    }
    by_rows
        .into_iter()
        .map(|((first, end), mut columns)| {
            columns.sort_unstable();
            InjectedWindow {
                injection,
                kind: kind.to_owned(),
                columns: columns.iter().map(|&c| names[c].clone()).collect(),
                first_row: first,
                last_row: end - 1,
                start: timestamps[first],
                end: timestamps[end - 1],
            }
        })
        .collect()
}
