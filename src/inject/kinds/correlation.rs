//! `correlation_break`: a multi-column anomaly. The target channel stops following the other
//! channels: it moves against them (`invert`) or on its own (`independent`).

use rand::SeedableRng as _;
use rand_chacha::ChaCha8Rng;

use super::{CONTEXT, ONSET};
use crate::inject::registry::InjectorEntry;
use crate::inject::stats::{Stats, normal, ramp};
use crate::inject::{Effect, History, InjectError, Injector, InjectorInfo, WindowInput};
use crate::model::{ParamKind, ParamSpec};

const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        name: "mode",
        kind: ParamKind::Choice {
            options: &["invert", "independent"],
            default: "invert",
        },
        help: "invert: the channel mirrors the others' standardised movement (it goes up when \
               they go down); independent: it follows its own random AR(1) path.",
    },
    ParamSpec {
        name: "strength",
        kind: ParamKind::Float {
            min: 0.01,
            max: 1.0,
            default: 1.0,
        },
        help: "Blend between the original channel (0) and the broken one (1).",
    },
    ONSET,
    CONTEXT,
];

static INFO: InjectorInfo = InjectorInfo {
    id: "correlation_break",
    aliases: &["mode_correlation"],
    name: "Correlation break",
    description: "For each target column c, the reference is the mean standardised value of \
                  the columns not targeted, z = mean_o (x_o - m_o) / s_o (context statistics). \
                  invert writes m_c - s_c z, so c moves against the others; independent writes \
                  m_c + s_c g with g an AR(1) path of unit variance. Needs a column that is not \
                  targeted.",
    params: PARAMS,
    min_columns: 2,
    exact: true,
    onset: true,
    magnitude: Some("strength"),
};

/// Registry entry.
pub(crate) const CORRELATION_BREAK: InjectorEntry = InjectorEntry {
    info: &INFO,
    build: |p| {
        Ok(Box::new(CorrelationBreak {
            independent: p.text("mode") == "independent",
            strength: p.float("strength"),
            onset: p.usize("onset"),
            context: p.usize("context"),
        }))
    },
};

#[derive(Debug)]
struct CorrelationBreak {
    independent: bool,
    strength: f64,
    onset: usize,
    context: usize,
}

impl Injector for CorrelationBreak {
    fn info(&self) -> &'static InjectorInfo {
        &INFO
    }

    fn context_rows(&self) -> usize {
        self.context
    }

    fn lookback(&self, _window_len: usize) -> Option<usize> {
        Some(0)
    }

    fn prepare(
        &self,
        input: &WindowInput<'_>,
        rng: &mut ChaCha8Rng,
    ) -> Result<Box<dyn Effect>, InjectError> {
        let history = input.history;
        let others: Vec<(usize, f64, f64)> = (0..history.columns())
            .filter(|c| !input.target_columns.contains(c))
            .map(|c| {
                let mut s = Stats::default();
                for row in history.first_row()..input.first_row {
                    s.push(history.value(c, row));
                }
                (c, s.mean(), s.unit())
            })
            .collect();
        if others.is_empty() {
            return Err(InjectError::Input {
                kind: INFO.id,
                message: "needs at least one column that is not targeted, to break the \
                          relation with (name the target in `columns`)"
                    .to_owned(),
            });
        }
        let mut own = ChaCha8Rng::from_rng(rng);
        let ar = normal(&mut own);
        Ok(Box::new(Break {
            start: input.first_row,
            mean: input.context.mean(),
            unit: input.context.unit(),
            others,
            independent: self.independent,
            strength: self.strength,
            onset: self.onset,
            rng: own,
            ar,
        }))
    }
}

#[derive(Debug)]
struct Break {
    start: usize,
    mean: f64,
    unit: f64,
    /// (column, context mean, context unit) of every non-target column.
    others: Vec<(usize, f64, f64)>,
    independent: bool,
    strength: f64,
    onset: usize,
    rng: ChaCha8Rng,
    ar: f64,
}

impl Effect for Break {
    fn fill(&mut self, k0: usize, values: &mut [f64], history: &dyn History) {
        const PHI: f64 = 0.9;
        let innovation = (1.0 - PHI * PHI).sqrt();
        for (j, v) in values.iter_mut().enumerate() {
            let k = k0 + j;
            let target = if self.independent {
                if k > 0 {
                    self.ar = PHI * self.ar + innovation * normal(&mut self.rng);
                }
                self.mean + self.unit * self.ar
            } else {
                let row = self.start + k;
                let (mut sum, mut n) = (0.0, 0usize);
                for &(c, m, s) in &self.others {
                    let z = (history.value(c, row) - m) / s;
                    if z.is_finite() {
                        sum += z;
                        n += 1;
                    }
                }
                let z = if n == 0 { 0.0 } else { sum / n as f64 };
                self.mean - self.unit * z
            };
            let w = self.strength * ramp(k, self.onset);
            *v = if w >= 1.0 {
                target
            } else {
                *v + w * (target - *v)
            };
        }
    }
}
