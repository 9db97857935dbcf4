//! `level_shift` (alias `step`, `GutenTAG` `mean`) and `trend` (drift): additive changes of the
//! level.

use rand_chacha::ChaCha8Rng;

use super::{CONTEXT, ONSET, PointEffect, UNITS, not_equal};
use crate::inject::registry::InjectorEntry;
use crate::inject::stats::{Units, ramp};
use crate::inject::{Effect, InjectError, Injector, InjectorInfo, WindowInput};
use crate::model::{ParamKind, ParamSpec, Params};

const SHIFT_PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "offset",
        kind: ParamKind::Float {
            min: -1e9,
            max: 1e9,
            default: 3.0,
        },
        help: "Size of the shift in `units` (negative: down); not 0.",
    },
    UNITS,
    ONSET,
    CONTEXT,
];

static SHIFT_INFO: InjectorInfo = InjectorInfo {
    id: "level_shift",
    aliases: &["step", "mean"],
    name: "Level shift",
    description: "The mean moves by `offset` (context standard deviations by default; \
                  units=mean gives the original AnomDet step, x + mean x magnitude) for the \
                  whole window, optionally creeping in over `onset` rows.",
    params: SHIFT_PARAMS,
    min_columns: 1,
    exact: true,
    onset: true,
    magnitude: Some("offset"),
};

/// Registry entry.
pub(crate) const LEVEL_SHIFT: InjectorEntry = InjectorEntry {
    info: &SHIFT_INFO,
    build: build_shift,
};

fn build_shift(p: &Params) -> Result<Box<dyn Injector>, InjectError> {
    not_equal(
        "level_shift",
        "offset",
        p.float("offset"),
        0.0,
        "it would change nothing",
    )?;
    Ok(Box::new(LevelShift {
        offset: p.float("offset"),
        units: Units::parse(p.text("units")),
        onset: p.usize("onset"),
        context: p.usize("context"),
    }))
}

#[derive(Debug)]
struct LevelShift {
    offset: f64,
    units: Units,
    onset: usize,
    context: usize,
}

impl Injector for LevelShift {
    fn info(&self) -> &'static InjectorInfo {
        &SHIFT_INFO
    }

    fn context_rows(&self) -> usize {
        self.context
    }

    fn prepare(
        &self,
        input: &WindowInput<'_>,
        _rng: &mut ChaCha8Rng,
    ) -> Result<Box<dyn Effect>, InjectError> {
        let delta = self.offset * self.units.scale(&input.context);
        let onset = self.onset;
        Ok(PointEffect::boxed(
            move |k, x| x + ramp(k, onset) * delta,
            None,
        ))
    }
}

const TREND_PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "drift",
        kind: ParamKind::Float {
            min: -1e9,
            max: 1e9,
            default: 3.0,
        },
        help: "How far the level has drifted at the window's last row, in `units`; not 0.",
    },
    ParamSpec {
        name: "curve",
        kind: ParamKind::Choice {
            options: &["linear", "quadratic"],
            default: "linear",
        },
        help: "Shape of the drift: grows linearly or quadratically over the window.",
    },
    UNITS,
    CONTEXT,
];

static TREND_INFO: InjectorInfo = InjectorInfo {
    id: "trend",
    aliases: &["drift"],
    name: "Trend / drift",
    description: "A drift is added over the window: drift x ((k+1)/len)^p, reaching `drift` \
                  context standard deviations at the last row (p = 1 linear, 2 quadratic). \
                  The level jumps back after the window.",
    params: TREND_PARAMS,
    min_columns: 1,
    exact: true,
    onset: false,
    magnitude: Some("drift"),
};

/// Registry entry.
pub(crate) const TREND: InjectorEntry = InjectorEntry {
    info: &TREND_INFO,
    build: build_trend,
};

fn build_trend(p: &Params) -> Result<Box<dyn Injector>, InjectError> {
    not_equal(
        "trend",
        "drift",
        p.float("drift"),
        0.0,
        "it would change nothing",
    )?;
    Ok(Box::new(Trend {
        drift: p.float("drift"),
        quadratic: p.text("curve") == "quadratic",
        units: Units::parse(p.text("units")),
        context: p.usize("context"),
    }))
}

#[derive(Debug)]
struct Trend {
    drift: f64,
    quadratic: bool,
    units: Units,
    context: usize,
}

impl Injector for Trend {
    fn info(&self) -> &'static InjectorInfo {
        &TREND_INFO
    }

    fn context_rows(&self) -> usize {
        self.context
    }

    fn prepare(
        &self,
        input: &WindowInput<'_>,
        _rng: &mut ChaCha8Rng,
    ) -> Result<Box<dyn Effect>, InjectError> {
        let total = self.drift * self.units.scale(&input.context);
        let len = input.len as f64;
        let quadratic = self.quadratic;
        Ok(PointEffect::boxed(
            move |k, x| {
                let t = (k + 1) as f64 / len;
                x + total * if quadratic { t * t } else { t }
            },
            None,
        ))
    }
}
