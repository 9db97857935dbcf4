//! Kinds that rescale or reshape values around the context level: `variance` (noise burst),
//! `amplitude`, `custom_multiplier` (the original `custom`), `lowered` (the original, fixed)
//! and `flip` (sign or time reversal).

use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;

use super::{CONTEXT, FRACTION, ONSET, PointEffect, UNITS, not_equal};
use crate::inject::registry::InjectorEntry;
use crate::inject::stats::{Units, choose_mask, normal, ramp};
use crate::inject::{Effect, History, InjectError, Injector, InjectorInfo, WindowInput};
use crate::model::{ParamKind, ParamSpec};

// ---------------------------------------------------------------------------------- variance

const VARIANCE_PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "factor",
        kind: ParamKind::Float {
            min: 0.01,
            max: 1e9,
            default: 3.0,
        },
        help: "Standard deviation of the added Gaussian noise, in `units`.",
    },
    UNITS,
    ONSET,
    CONTEXT,
];

static VARIANCE_INFO: InjectorInfo = InjectorInfo {
    id: "variance",
    aliases: &["noise"],
    name: "Variance / noise burst",
    description: "Gaussian noise with standard deviation `factor` x context standard deviation \
                  is added over the window (TSB-UAD white noise, GutenTAG variance), optionally \
                  creeping in over `onset` rows.",
    params: VARIANCE_PARAMS,
    min_columns: 1,
    exact: true,
    onset: true,
    magnitude: Some("factor"),
};

/// Registry entry.
pub(crate) const VARIANCE: InjectorEntry = InjectorEntry {
    info: &VARIANCE_INFO,
    build: |p| {
        Ok(Box::new(Variance {
            factor: p.float("factor"),
            units: Units::parse(p.text("units")),
            onset: p.usize("onset"),
            context: p.usize("context"),
        }))
    },
};

#[derive(Debug)]
struct Variance {
    factor: f64,
    units: Units,
    onset: usize,
    context: usize,
}

impl Injector for Variance {
    fn info(&self) -> &'static InjectorInfo {
        &VARIANCE_INFO
    }

    fn context_rows(&self) -> usize {
        self.context
    }

    fn prepare(
        &self,
        input: &WindowInput<'_>,
        rng: &mut ChaCha8Rng,
    ) -> Result<Box<dyn Effect>, InjectError> {
        let sigma = self.factor * self.units.scale(&input.context);
        let onset = self.onset;
        let mut own = ChaCha8Rng::from_rng(rng);
        Ok(PointEffect::boxed(
            move |k, x| x + ramp(k, onset) * sigma * normal(&mut own),
            None,
        ))
    }
}

// --------------------------------------------------------------------------------- amplitude

const AMPLITUDE_PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "factor",
        kind: ParamKind::Float {
            min: 0.0,
            max: 1e9,
            default: 2.5,
        },
        help: "Deviations from the context mean are multiplied by this (0 flattens, 2 doubles); \
               not 1.",
    },
    ONSET,
    CONTEXT,
];

static AMPLITUDE_INFO: InjectorInfo = InjectorInfo {
    id: "amplitude",
    aliases: &["scale"],
    name: "Amplitude change",
    description: "The signal's swing around the context mean is scaled by `factor`: \
                  m + factor x (x - m) (GutenTAG amplitude, TSB-UAD scale), optionally creeping \
                  in over `onset` rows.",
    params: AMPLITUDE_PARAMS,
    min_columns: 1,
    exact: true,
    onset: true,
    magnitude: Some("factor"),
};

/// Registry entry.
pub(crate) const AMPLITUDE: InjectorEntry = InjectorEntry {
    info: &AMPLITUDE_INFO,
    build: |p| {
        not_equal(
            "amplitude",
            "factor",
            p.float("factor"),
            1.0,
            "it would change nothing",
        )?;
        Ok(Box::new(Amplitude {
            factor: p.float("factor"),
            onset: p.usize("onset"),
            context: p.usize("context"),
        }))
    },
};

#[derive(Debug)]
struct Amplitude {
    factor: f64,
    onset: usize,
    context: usize,
}

impl Injector for Amplitude {
    fn info(&self) -> &'static InjectorInfo {
        &AMPLITUDE_INFO
    }

    fn context_rows(&self) -> usize {
        self.context
    }

    fn prepare(
        &self,
        input: &WindowInput<'_>,
        _rng: &mut ChaCha8Rng,
    ) -> Result<Box<dyn Effect>, InjectError> {
        let mean = input.context.mean();
        let (factor, onset) = (self.factor, self.onset);
        Ok(PointEffect::boxed(
            move |k, x| mean + (1.0 + ramp(k, onset) * (factor - 1.0)) * (x - mean),
            None,
        ))
    }
}

// ------------------------------------------------------------------------- custom_multiplier

const CUSTOM_PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "multiplier",
        kind: ParamKind::Float {
            min: -1e9,
            max: 1e9,
            default: 2.0,
        },
        help: "Each value is multiplied by this (the original `custom` magnitude); not 1.",
    },
    ONSET,
    FRACTION,
];

static CUSTOM_INFO: InjectorInfo = InjectorInfo {
    id: "custom_multiplier",
    aliases: &["custom"],
    name: "Custom multiplier",
    description: "x x multiplier, the original AnomDet `custom` method, with fractional \
                  multipliers allowed, optional creeping onset and an optional `fraction` of \
                  rows (the original `percentage`).",
    params: CUSTOM_PARAMS,
    min_columns: 1,
    exact: true,
    onset: true,
    magnitude: Some("multiplier"),
};

/// Registry entry.
pub(crate) const CUSTOM_MULTIPLIER: InjectorEntry = InjectorEntry {
    info: &CUSTOM_INFO,
    build: |p| {
        not_equal(
            "custom_multiplier",
            "multiplier",
            p.float("multiplier"),
            1.0,
            "it would change nothing",
        )?;
        Ok(Box::new(Multiplier {
            factor: p.float("multiplier"),
            onset: p.usize("onset"),
            fraction: p.float("fraction"),
        }))
    },
};

#[derive(Debug)]
struct Multiplier {
    factor: f64,
    onset: usize,
    fraction: f64,
}

impl Injector for Multiplier {
    fn info(&self) -> &'static InjectorInfo {
        &CUSTOM_INFO
    }

    fn prepare(
        &self,
        input: &WindowInput<'_>,
        rng: &mut ChaCha8Rng,
    ) -> Result<Box<dyn Effect>, InjectError> {
        let mask = choose_mask(input.len, self.fraction, rng);
        let (m, onset) = (self.factor, self.onset);
        Ok(PointEffect::boxed(
            move |k, x| x * (1.0 + ramp(k, onset) * (m - 1.0)),
            mask,
        ))
    }
}

// ----------------------------------------------------------------------------------- lowered

const LOWERED_PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "depth",
        kind: ParamKind::Float {
            min: 0.01,
            max: 0.99,
            default: 0.35,
        },
        help: "Mean drop as a share of the context range (the original drew 0.3..0.4).",
    },
    ParamSpec {
        name: "spread",
        kind: ParamKind::Float {
            min: 0.0,
            max: 0.5,
            default: 0.05,
        },
        help: "Each row's share is drawn uniformly from depth +/- spread.",
    },
    ParamSpec {
        name: "floor_at_zero",
        kind: ParamKind::Bool { default: true },
        help: "A positive value that would drop below 0 becomes value x share instead (the \
               original's rule for non-negative metrics).",
    },
    ONSET,
    FRACTION,
    CONTEXT,
];

static LOWERED_INFO: InjectorInfo = InjectorInfo {
    id: "lowered",
    aliases: &[],
    name: "Lowered",
    description: "The original AnomDet `lowered`, without its bugs: each row drops by r x range \
                  with r ~ U(depth +/- spread) drawn from the plan's seeded stream (not a \
                  re-seeded rng per chunk), range from each column's own context (not the first \
                  column's), and the depth is a parameter instead of being ignored.",
    params: LOWERED_PARAMS,
    min_columns: 1,
    exact: true,
    onset: true,
    magnitude: Some("depth"),
};

/// Registry entry.
pub(crate) const LOWERED: InjectorEntry = InjectorEntry {
    info: &LOWERED_INFO,
    build: |p| {
        Ok(Box::new(Lowered {
            depth: p.float("depth"),
            spread: p.float("spread"),
            floor: p.bool("floor_at_zero"),
            onset: p.usize("onset"),
            fraction: p.float("fraction"),
            context: p.usize("context"),
        }))
    },
};

#[derive(Debug)]
struct Lowered {
    depth: f64,
    spread: f64,
    floor: bool,
    onset: usize,
    fraction: f64,
    context: usize,
}

impl Injector for Lowered {
    fn info(&self) -> &'static InjectorInfo {
        &LOWERED_INFO
    }

    fn context_rows(&self) -> usize {
        self.context
    }

    fn prepare(
        &self,
        input: &WindowInput<'_>,
        rng: &mut ChaCha8Rng,
    ) -> Result<Box<dyn Effect>, InjectError> {
        let mask = choose_mask(input.len, self.fraction, rng);
        let mut own = ChaCha8Rng::from_rng(rng);
        let range = input.context.range();
        let lo = (self.depth - self.spread).max(0.001);
        let hi = (self.depth + self.spread).min(0.999).max(lo);
        let (floor, onset) = (self.floor, self.onset);
        Ok(PointEffect::boxed(
            move |k, x| {
                let r = lo + (hi - lo) * own.random::<f64>();
                let mut full = x - r * range;
                if floor && x > 0.0 && full < 0.0 {
                    full = x * r;
                }
                x + ramp(k, onset) * (full - x)
            },
            mask,
        ))
    }
}

// -------------------------------------------------------------------------------------- flip

const FLIP_PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "mode",
        kind: ParamKind::Choice {
            options: &["sign", "time"],
            default: "sign",
        },
        help: "sign: mirrored around the context mean (2m - x, upside down); time: the window \
               plays the rows just before it backwards (a mirror at the window start).",
    },
    CONTEXT,
];

static FLIP_INFO: InjectorInfo = InjectorInfo {
    id: "flip",
    aliases: &["reversal"],
    name: "Signal flip / reversal",
    description: "sign: the window is turned upside down around the context mean. time: row \
                  start+k takes the value of row start-1-k, so the pattern before the window \
                  is played in reverse (causal, unlike a reversal of the window itself, so it \
                  works on a live stream; a window at row 0 has nothing to mirror and keeps \
                  its first row).",
    params: FLIP_PARAMS,
    min_columns: 1,
    exact: true,
    onset: false,
    magnitude: None,
};

/// Registry entry.
pub(crate) const FLIP: InjectorEntry = InjectorEntry {
    info: &FLIP_INFO,
    build: |p| {
        Ok(Box::new(Flip {
            time: p.text("mode") == "time",
            context: p.usize("context"),
        }))
    },
};

#[derive(Debug)]
struct Flip {
    time: bool,
    context: usize,
}

impl Injector for Flip {
    fn info(&self) -> &'static InjectorInfo {
        &FLIP_INFO
    }

    fn context_rows(&self) -> usize {
        if self.time { 0 } else { self.context }
    }

    fn lookback(&self, window_len: usize) -> Option<usize> {
        self.time.then_some(window_len)
    }

    fn prepare(
        &self,
        input: &WindowInput<'_>,
        _rng: &mut ChaCha8Rng,
    ) -> Result<Box<dyn Effect>, InjectError> {
        if self.time {
            return Ok(Box::new(TimeMirror {
                column: input.column,
                start: input.first_row,
            }));
        }
        let twice_mean = 2.0 * input.context.mean();
        Ok(PointEffect::boxed(move |_k, x| twice_mean - x, None))
    }
}

/// Row `start + k` takes row `start - 1 - k` (clamped to the first readable row).
#[derive(Debug)]
struct TimeMirror {
    column: usize,
    start: usize,
}

impl Effect for TimeMirror {
    fn fill(&mut self, k0: usize, values: &mut [f64], history: &dyn History) {
        let first = history.first_row();
        for (j, v) in values.iter_mut().enumerate() {
            let k = k0 + j;
            let source = (self.start + k).min((self.start.saturating_sub(1 + k)).max(first));
            *v = history.value(self.column, source);
        }
    }
}
