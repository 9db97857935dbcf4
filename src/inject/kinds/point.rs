//! `spike` (alias `extremum`, the original `AnomDet` `spike`): point outliers, single or as a
//! spike train, local or global, up, down or either.

use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;

use super::{CONTEXT, FRACTION, PointEffect, UNITS};
use crate::inject::registry::InjectorEntry;
use crate::inject::stats::{Units, choose_mask};
use crate::inject::{Effect, InjectError, Injector, InjectorInfo, WindowInput};
use crate::model::{ParamKind, ParamSpec, Params};

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "magnitude",
        kind: ParamKind::Float {
            min: 0.01,
            max: 1e9,
            default: 5.0,
        },
        help: "Height of each spike in `units` (default: standard deviations of the context).",
    },
    ParamSpec {
        name: "direction",
        kind: ParamKind::Choice {
            options: &["up", "down", "both"],
            default: "up",
        },
        help: "Spikes go up, down, or each one either way at random.",
    },
    ParamSpec {
        name: "scope",
        kind: ParamKind::Choice {
            options: &["local", "global"],
            default: "local",
        },
        help: "local: the value moves by magnitude x unit of the context; global: the value \
               becomes a new all-time extreme, beyond the max (min) of every earlier row by \
               magnitude x unit of every earlier row.",
    },
    UNITS,
    FRACTION,
    CONTEXT,
];

static INFO: InjectorInfo = InjectorInfo {
    id: "spike",
    aliases: &["extremum"],
    name: "Spike / extremum",
    description: "Point outliers. Every row of the window (or a `fraction` of them: a spike \
                  train) jumps up or down by `magnitude` context standard deviations, or with \
                  scope=global becomes a new extreme beyond every earlier value. A single-row \
                  window is a classic point anomaly (GutenTAG extremum).",
    params: PARAMS,
    min_columns: 1,
    exact: true,
    onset: false,
    magnitude: Some("magnitude"),
};

/// Registry entry.
pub(crate) const SPIKE: InjectorEntry = InjectorEntry { info: &INFO, build };

#[expect(
    clippy::unnecessary_wraps,
    reason = "registry build functions share one fallible signature"
)]
fn build(p: &Params) -> Result<Box<dyn Injector>, InjectError> {
    Ok(Box::new(Spike {
        magnitude: p.float("magnitude"),
        direction: match p.text("direction") {
            "down" => -1,
            "both" => 0,
            _ => 1,
        },
        global: p.text("scope") == "global",
        units: Units::parse(p.text("units")),
        fraction: p.float("fraction"),
        context: p.usize("context"),
    }))
}

#[derive(Debug)]
struct Spike {
    magnitude: f64,
    /// +1 up, -1 down, 0 random per spike.
    direction: i8,
    global: bool,
    units: Units,
    fraction: f64,
    context: usize,
}

impl Injector for Spike {
    fn info(&self) -> &'static InjectorInfo {
        &INFO
    }

    fn context_rows(&self) -> usize {
        self.context
    }

    fn needs_global(&self) -> bool {
        self.global
    }

    fn prepare(
        &self,
        input: &WindowInput<'_>,
        rng: &mut ChaCha8Rng,
    ) -> Result<Box<dyn Effect>, InjectError> {
        let stats = match (self.global, input.global) {
            (true, Some(g)) => g,
            _ => input.context,
        };
        let height = self.magnitude * self.units.scale(&stats);
        let mask = choose_mask(input.len, self.fraction, rng);
        let mut own = ChaCha8Rng::from_rng(rng);
        let direction = self.direction;
        let global = self.global;
        Ok(PointEffect::boxed(
            move |_k, x| {
                let up = match direction {
                    1 => true,
                    -1 => false,
                    _ => own.random::<bool>(),
                };
                let sign = if up { 1.0 } else { -1.0 };
                let base = match (global, up) {
                    (true, true) if stats.count > 0 => stats.max,
                    (true, false) if stats.count > 0 => stats.min,
                    _ => x,
                };
                base + sign * height
            },
            mask,
        ))
    }
}
