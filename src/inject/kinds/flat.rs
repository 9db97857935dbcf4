//! Kinds that replace values by a constant: `flat_line` (alias `platform`), `dropout` (alias
//! `offline`, the original `AnomDet` method) and `missing_values` (NaN gaps).

use rand_chacha::ChaCha8Rng;

use super::{CONTEXT, FRACTION, PointEffect};
use crate::inject::registry::InjectorEntry;
use crate::inject::stats::choose_mask;
use crate::inject::{Effect, InjectError, Injector, InjectorInfo, WindowInput};
use crate::model::{ParamKind, ParamSpec};

// --------------------------------------------------------------------------------- flat_line

const FLAT_PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "hold",
        kind: ParamKind::Choice {
            options: &["last", "mean", "value"],
            default: "last",
        },
        help: "last: the last finite value before the window (a stuck sensor); mean: the \
               context mean; value: the `value` parameter (GutenTAG platform).",
    },
    ParamSpec {
        name: "value",
        kind: ParamKind::Float {
            min: -1e12,
            max: 1e12,
            default: 0.0,
        },
        help: "The constant for hold=value (and the fallback when there is no earlier row).",
    },
    CONTEXT,
];

static FLAT_INFO: InjectorInfo = InjectorInfo {
    id: "flat_line",
    aliases: &["platform", "stuck"],
    name: "Flat line / platform",
    description: "The window holds one constant: the last value before it, the context mean, \
                  or a given value. Rows that already had that value keep it (not exact).",
    params: FLAT_PARAMS,
    min_columns: 1,
    exact: false,
    onset: false,
    magnitude: Some("value"),
};

/// Registry entry.
pub(crate) const FLAT_LINE: InjectorEntry = InjectorEntry {
    info: &FLAT_INFO,
    build: |p| {
        Ok(Box::new(FlatLine {
            hold: match p.text("hold") {
                "mean" => Hold::Mean,
                "value" => Hold::Value,
                _ => Hold::Last,
            },
            value: p.float("value"),
            context: p.usize("context"),
        }))
    },
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hold {
    Last,
    Mean,
    Value,
}

#[derive(Debug)]
struct FlatLine {
    hold: Hold,
    value: f64,
    context: usize,
}

impl Injector for FlatLine {
    fn info(&self) -> &'static InjectorInfo {
        &FLAT_INFO
    }

    fn context_rows(&self) -> usize {
        if self.hold == Hold::Value {
            0
        } else {
            self.context
        }
    }

    fn prepare(
        &self,
        input: &WindowInput<'_>,
        _rng: &mut ChaCha8Rng,
    ) -> Result<Box<dyn Effect>, InjectError> {
        let c = &input.context;
        let level = match self.hold {
            Hold::Last if c.count > 0 => c.last,
            Hold::Mean if c.count > 0 => c.mean(),
            _ => self.value,
        };
        Ok(PointEffect::boxed(move |_k, _x| level, None))
    }
}

// ----------------------------------------------------------------------------------- dropout

const DROPOUT_PARAMS: &[ParamSpec] = &[FRACTION];

static DROPOUT_INFO: InjectorInfo = InjectorInfo {
    id: "dropout",
    aliases: &["offline"],
    name: "Dropout to zero",
    description: "Values drop to 0, as if the source went offline (the original AnomDet \
                  `offline`). Rows that were already 0 stay 0 (not exact).",
    params: DROPOUT_PARAMS,
    min_columns: 1,
    exact: false,
    onset: false,
    magnitude: None,
};

/// Registry entry.
pub(crate) const DROPOUT: InjectorEntry = InjectorEntry {
    info: &DROPOUT_INFO,
    build: |p| {
        Ok(Box::new(Constant {
            info: &DROPOUT_INFO,
            value: 0.0,
            fraction: p.float("fraction"),
        }))
    },
};

// ---------------------------------------------------------------------------- missing_values

const MISSING_PARAMS: &[ParamSpec] = &[FRACTION];

static MISSING_INFO: InjectorInfo = InjectorInfo {
    id: "missing_values",
    aliases: &["missing", "gap"],
    name: "Missing values",
    description: "Values become NaN (missing), as a gap or, with `fraction` < 1, sprinkled at \
                  random rows. Detectors must carry on over them (see the model NaN contract).",
    params: MISSING_PARAMS,
    min_columns: 1,
    exact: false,
    onset: false,
    magnitude: None,
};

/// Registry entry.
pub(crate) const MISSING_VALUES: InjectorEntry = InjectorEntry {
    info: &MISSING_INFO,
    build: |p| {
        Ok(Box::new(Constant {
            info: &MISSING_INFO,
            value: f64::NAN,
            fraction: p.float("fraction"),
        }))
    },
};

/// Every (picked) row becomes `value`.
#[derive(Debug)]
struct Constant {
    info: &'static InjectorInfo,
    value: f64,
    fraction: f64,
}

impl Injector for Constant {
    fn info(&self) -> &'static InjectorInfo {
        self.info
    }

    fn prepare(
        &self,
        input: &WindowInput<'_>,
        rng: &mut ChaCha8Rng,
    ) -> Result<Box<dyn Effect>, InjectError> {
        let mask = choose_mask(input.len, self.fraction, rng);
        let value = self.value;
        Ok(PointEffect::boxed(move |_k, _x| value, mask))
    }
}
