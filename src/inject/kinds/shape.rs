//! Kinds that change the shape in time: `frequency` (resampling), `pattern` (a different
//! waveform) and `time_shift` (a delay). All read earlier rows only (see the module docs of
//! `inject` on causality).

use rand_chacha::ChaCha8Rng;

use super::{CONTEXT, PointEffect, UNITS, not_equal};
use crate::inject::registry::InjectorEntry;
use crate::inject::stats::{Units, interpolate};
use crate::inject::{Effect, History, InjectError, Injector, InjectorInfo, WindowInput};
use crate::model::{ParamKind, ParamSpec};

// --------------------------------------------------------------------------------- frequency

const FREQUENCY_PARAMS: &[ParamSpec] = &[ParamSpec {
    name: "factor",
    kind: ParamKind::Float {
        min: 0.05,
        max: 20.0,
        default: 2.0,
    },
    help: "Speed of the signal inside the window relative to normal (2: twice the frequency, \
           0.5: half); not 1.",
}];

static FREQUENCY_INFO: InjectorInfo = InjectorInfo {
    id: "frequency",
    aliases: &["resample"],
    name: "Frequency change",
    description: "The window plays the signal faster or slower (linear interpolation between \
                  rows). Slower (factor < 1) starts at the window start and falls behind; \
                  faster (factor > 1) replays the len x factor rows that end at the window's \
                  last row, so it needs len x (factor - 1) earlier rows and never looks ahead.",
    params: FREQUENCY_PARAMS,
    min_columns: 1,
    exact: false,
    onset: false,
    magnitude: Some("factor"),
};

/// Registry entry.
pub(crate) const FREQUENCY: InjectorEntry = InjectorEntry {
    info: &FREQUENCY_INFO,
    build: |p| {
        not_equal(
            "frequency",
            "factor",
            p.float("factor"),
            1.0,
            "it would change nothing",
        )?;
        Ok(Box::new(Frequency {
            factor: p.float("factor"),
        }))
    },
};

#[derive(Debug)]
struct Frequency {
    factor: f64,
}

impl Injector for Frequency {
    fn info(&self) -> &'static InjectorInfo {
        &FREQUENCY_INFO
    }

    fn lookback(&self, window_len: usize) -> Option<usize> {
        Some(if self.factor > 1.0 {
            (window_len as f64 * (self.factor - 1.0)).ceil() as usize
        } else {
            1
        })
    }

    fn prepare(
        &self,
        input: &WindowInput<'_>,
        _rng: &mut ChaCha8Rng,
    ) -> Result<Box<dyn Effect>, InjectError> {
        Ok(Box::new(Resample {
            column: input.column,
            start: input.first_row,
            len: input.len,
            factor: self.factor,
        }))
    }
}

#[derive(Debug)]
struct Resample {
    column: usize,
    start: usize,
    len: usize,
    factor: f64,
}

impl Effect for Resample {
    fn fill(&mut self, k0: usize, values: &mut [f64], history: &dyn History) {
        let (start, len, f) = (self.start as f64, self.len as f64, self.factor);
        for (j, v) in values.iter_mut().enumerate() {
            let k = (k0 + j) as f64;
            // Both positions are <= start + k (the current row), so no look-ahead.
            let pos = if f > 1.0 {
                start + len - (len - k) * f
            } else {
                start - 1.0 + (k + 1.0) * f
            };
            *v = interpolate(history, self.column, pos, self.start + k0 + j);
        }
    }
}

// ----------------------------------------------------------------------------------- pattern

const PATTERN_PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "shape",
        kind: ParamKind::Choice {
            options: &["square", "sine", "sawtooth", "triangle"],
            default: "square",
        },
        help: "The waveform that replaces the window.",
    },
    ParamSpec {
        name: "period",
        kind: ParamKind::Int {
            min: 2,
            max: 10_000_000,
            default: 20,
        },
        help: "Period of the new waveform in rows.",
    },
    ParamSpec {
        name: "amplitude",
        kind: ParamKind::Float {
            min: 0.01,
            max: 1e9,
            default: 2.0,
        },
        help: "Peak of the new waveform around the context mean, in `units`.",
    },
    UNITS,
    CONTEXT,
];

static PATTERN_INFO: InjectorInfo = InjectorInfo {
    id: "pattern",
    aliases: &["shape"],
    name: "Pattern change",
    description: "The window is replaced by a different waveform (square, sine, sawtooth, \
                  triangle) of the given period, centred on the context mean with `amplitude` \
                  context standard deviations (GutenTAG pattern, for any base signal).",
    params: PATTERN_PARAMS,
    min_columns: 1,
    exact: true,
    onset: false,
    magnitude: Some("amplitude"),
};

/// Registry entry.
pub(crate) const PATTERN: InjectorEntry = InjectorEntry {
    info: &PATTERN_INFO,
    build: |p| {
        Ok(Box::new(Pattern {
            shape: match p.text("shape") {
                "sine" => Wave::Sine,
                "sawtooth" => Wave::Sawtooth,
                "triangle" => Wave::Triangle,
                _ => Wave::Square,
            },
            period: p.usize("period").max(2) as f64,
            amplitude: p.float("amplitude"),
            units: Units::parse(p.text("units")),
            context: p.usize("context"),
        }))
    },
};

/// A periodic waveform with values in [-1, 1].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wave {
    Sine,
    Square,
    Sawtooth,
    Triangle,
}

impl Wave {
    /// The value at phase `u` (in periods).
    pub(crate) fn at(self, u: f64) -> f64 {
        let frac = u - u.floor();
        match self {
            Self::Sine => (std::f64::consts::TAU * frac).sin(),
            Self::Square => {
                if frac < 0.5 {
                    1.0
                } else {
                    -1.0
                }
            }
            Self::Sawtooth => 2.0 * frac - 1.0,
            Self::Triangle => 1.0 - 4.0 * (frac - 0.5).abs(),
        }
    }
}

#[derive(Debug)]
struct Pattern {
    shape: Wave,
    period: f64,
    amplitude: f64,
    units: Units,
    context: usize,
}

impl Injector for Pattern {
    fn info(&self) -> &'static InjectorInfo {
        &PATTERN_INFO
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
        let peak = self.amplitude * self.units.scale(&input.context);
        let (shape, period) = (self.shape, self.period);
        // Quarter-period phase so that a sine starts at its peak, not at the mean.
        Ok(PointEffect::boxed(
            move |k, _x| {
                mean + peak * shape.at(k as f64 / period + 0.25 * f64::from(shape == Wave::Sine))
            },
            None,
        ))
    }
}

// -------------------------------------------------------------------------------- time_shift

const SHIFT_PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "shift",
        kind: ParamKind::Int {
            min: 1,
            max: 10_000_000,
            default: 10,
        },
        help: "Delay in rows: row i shows the value of row i - shift.",
    },
    ParamSpec {
        name: "transition",
        kind: ParamKind::Int {
            min: 0,
            max: 10_000_000,
            default: 0,
        },
        help: "Rows over which the shift blends in at the window start and out at its end \
               (GutenTAG transition_window; 0: abrupt).",
    },
];

static SHIFT_INFO: InjectorInfo = InjectorInfo {
    id: "time_shift",
    aliases: &["pattern_shift"],
    name: "Time shift",
    description: "The window shows the signal `shift` rows late (a phase shift of a periodic \
                  pattern; GutenTAG pattern-shift), blended in and out over `transition` rows. \
                  Only delays: an advance would need rows that have not arrived yet.",
    params: SHIFT_PARAMS,
    min_columns: 1,
    exact: false,
    onset: false,
    magnitude: Some("shift"),
};

/// Registry entry.
pub(crate) const TIME_SHIFT: InjectorEntry = InjectorEntry {
    info: &SHIFT_INFO,
    build: |p| {
        Ok(Box::new(TimeShift {
            shift: p.usize("shift").max(1),
            transition: p.usize("transition"),
        }))
    },
};

#[derive(Debug)]
struct TimeShift {
    shift: usize,
    transition: usize,
}

impl Injector for TimeShift {
    fn info(&self) -> &'static InjectorInfo {
        &SHIFT_INFO
    }

    fn lookback(&self, _window_len: usize) -> Option<usize> {
        Some(self.shift)
    }

    fn prepare(
        &self,
        input: &WindowInput<'_>,
        _rng: &mut ChaCha8Rng,
    ) -> Result<Box<dyn Effect>, InjectError> {
        Ok(Box::new(Delay {
            column: input.column,
            start: input.first_row,
            len: input.len,
            shift: self.shift,
            transition: self.transition,
        }))
    }
}

#[derive(Debug)]
struct Delay {
    column: usize,
    start: usize,
    len: usize,
    shift: usize,
    transition: usize,
}

impl Effect for Delay {
    fn fill(&mut self, k0: usize, values: &mut [f64], history: &dyn History) {
        let first = history.first_row();
        for (j, v) in values.iter_mut().enumerate() {
            let k = k0 + j;
            let row = self.start + k;
            let shifted = history.value(self.column, row.saturating_sub(self.shift).max(first));
            let weight = if self.transition == 0 {
                1.0
            } else {
                let t = self.transition as f64;
                ((k + 1) as f64 / t).min((self.len - k) as f64 / t).min(1.0)
            };
            *v = if weight >= 1.0 {
                shifted
            } else {
                *v + weight * (shifted - *v)
            };
        }
    }
}
