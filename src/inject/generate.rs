//! The synthetic series generator: sums of base signals (sine, square, sawtooth, random walk,
//! ECG-like beats, cylinder-bell-funnel events, polynomial trend) plus Gaussian noise, over
//! one or more channels, seeded. With an [`InjectionPlan`](super::InjectionPlan) applied on
//! top it produces labelled benchmark data.
//!
//! Channels differ by their noise and random components (each channel draws from its own
//! `ChaCha8` stream of the seed) and, with `channel_shift`, by a phase offset of the periodic
//! components. Columns are named `value-0`, `value-1`, ... (the `GutenTAG`/`TimeEval` layout).

use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::InjectError;
use super::kinds::shape::Wave;
use super::stats::normal;
use crate::model::{Column, Series, Timestamp};

/// Largest series the generator makes (rows x channels).
pub const MAX_CELLS: usize = 200_000_000;

/// One base signal; the series is the sum of its components. Periods are in rows; `phase` is
/// a fraction of a period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Component {
    /// `amplitude · sin(2π (i / period + phase))`.
    Sine {
        /// Rows per cycle.
        #[serde(default = "default_period")]
        period: f64,
        /// Peak height.
        #[serde(default = "one")]
        amplitude: f64,
        /// Phase as a fraction of a period.
        #[serde(default)]
        phase: f64,
    },
    /// ±amplitude, high for the first `duty` share of each period.
    Square {
        /// Rows per cycle.
        #[serde(default = "default_period")]
        period: f64,
        /// Peak height.
        #[serde(default = "one")]
        amplitude: f64,
        /// Share of the period spent high, in (0, 1).
        #[serde(default = "half")]
        duty: f64,
        /// Phase as a fraction of a period.
        #[serde(default)]
        phase: f64,
    },
    /// Rises from -amplitude to +amplitude over the first `width` share of each period, then
    /// falls back (width 1: a plain sawtooth, 0.5: a triangle).
    Sawtooth {
        /// Rows per cycle.
        #[serde(default = "default_period")]
        period: f64,
        /// Peak height.
        #[serde(default = "one")]
        amplitude: f64,
        /// Share of the period spent rising, in (0, 1].
        #[serde(default = "one")]
        width: f64,
        /// Phase as a fraction of a period.
        #[serde(default)]
        phase: f64,
    },
    /// Cumulative Gaussian steps of standard deviation `step`, smoothed by an exponential
    /// moving average with weight `smoothing` in [0, 1) on the previous value.
    RandomWalk {
        /// Standard deviation of one step.
        #[serde(default = "tenth")]
        step: f64,
        /// 0: raw walk; close to 1: very smooth.
        #[serde(default)]
        smoothing: f64,
    },
    /// ECG-like beats: P, Q, R, S, T waves as Gaussian bumps, one beat per `period` rows.
    Ecg {
        /// Rows per beat.
        #[serde(default = "default_period")]
        period: f64,
        /// Height of the R peak.
        #[serde(default = "one")]
        amplitude: f64,
    },
    /// Cylinder-bell-funnel: every `period` rows one event, cylinder (plateau), bell (rising
    /// ramp) or funnel (falling ramp) at random, with random onset, length and height.
    Cbf {
        /// Rows per event slot.
        #[serde(default = "default_cbf_period")]
        period: f64,
        /// Typical event height.
        #[serde(default = "one")]
        amplitude: f64,
    },
    /// `c0 + c1 t + c2 t² + ...` with `t` running from 0 to 1 over the series.
    Polynomial {
        /// Coefficients from the constant up.
        coefficients: Vec<f64>,
    },
}

fn default_period() -> f64 {
    100.0
}
fn default_cbf_period() -> f64 {
    128.0
}
fn one() -> f64 {
    1.0
}
fn half() -> f64 {
    0.5
}
fn tenth() -> f64 {
    0.1
}
fn default_length() -> usize {
    10_000
}
fn one_usize() -> usize {
    1
}
fn second() -> i64 {
    Timestamp::NANOS_PER_SEC
}

/// What to generate, as data (JSON). Missing fields take the defaults shown.
///
/// ```json
/// {"length": 10000, "channels": 1, "seed": 0, "noise": 0.05,
///  "components": [{"type": "sine", "period": 100}, {"type": "polynomial", "coefficients": [0, 2]}]}
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerateSpec {
    /// Rows (default 10 000).
    #[serde(default = "default_length")]
    pub length: usize,
    /// Columns (default 1).
    #[serde(default = "one_usize")]
    pub channels: usize,
    /// Seed of every random draw.
    #[serde(default)]
    pub seed: u64,
    /// Standard deviation of the Gaussian noise added to every value (default 0).
    #[serde(default)]
    pub noise: f64,
    /// Phase offset of the periodic components per channel, as a fraction of a period.
    #[serde(default)]
    pub channel_shift: f64,
    /// First timestamp, nanoseconds since the epoch (default 0).
    #[serde(default)]
    pub start_ns: i64,
    /// Spacing of rows in nanoseconds (default one second).
    #[serde(default = "second")]
    pub step_ns: i64,
    /// Signals summed into every channel (default: one sine of period 100).
    #[serde(default)]
    pub components: Vec<Component>,
}

impl Default for GenerateSpec {
    fn default() -> Self {
        Self {
            length: default_length(),
            channels: 1,
            seed: 0,
            noise: 0.0,
            channel_shift: 0.0,
            start_ns: 0,
            step_ns: second(),
            components: Vec::new(),
        }
    }
}

impl GenerateSpec {
    /// Parses a spec from JSON.
    pub fn from_json(text: &str) -> Result<Self, InjectError> {
        serde_json::from_str(text).map_err(|e| InjectError::Json {
            what: "generator spec",
            message: e.to_string(),
        })
    }

    /// The spec as compact JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    fn check(&self) -> Result<(), InjectError> {
        let bad = |field: &str, message: String| InjectError::Generate {
            field: field.to_owned(),
            message,
        };
        if self.length == 0 || self.channels == 0 {
            return Err(bad("length", "and channels must be at least 1".to_owned()));
        }
        if self.length.saturating_mul(self.channels) > MAX_CELLS {
            return Err(bad(
                "length",
                format!("x channels must be at most {MAX_CELLS} values"),
            ));
        }
        if !(self.noise >= 0.0 && self.noise.is_finite()) {
            return Err(bad(
                "noise",
                format!("must be a finite number >= 0, got {}", self.noise),
            ));
        }
        if self.step_ns <= 0 {
            return Err(bad(
                "step_ns",
                format!("must be positive, got {}", self.step_ns),
            ));
        }
        let end = (self.length as i64 - 1)
            .checked_mul(self.step_ns)
            .and_then(|d| d.checked_add(self.start_ns));
        if end.is_none() {
            return Err(bad(
                "step_ns",
                "x length overflows the timestamp range".to_owned(),
            ));
        }
        for (i, c) in self.components.iter().enumerate() {
            let field = |name: &str| format!("components[{i}].{name}");
            let (period, extra) = match *c {
                Component::Sine { period, .. } | Component::Ecg { period, .. } => {
                    (Some(period), None)
                }
                Component::Cbf { period, .. } => (Some(period.max(0.0) / 4.0), None),
                Component::Square { period, duty, .. } => (
                    Some(period),
                    (!(duty > 0.0 && duty < 1.0)).then_some(("duty", duty)),
                ),
                Component::Sawtooth { period, width, .. } => (
                    Some(period),
                    (!(width > 0.0 && width <= 1.0)).then_some(("width", width)),
                ),
                Component::RandomWalk { step, smoothing } => (
                    None,
                    (!(step >= 0.0 && step.is_finite() && (0.0..1.0).contains(&smoothing)))
                        .then_some(("step/smoothing", step)),
                ),
                Component::Polynomial { ref coefficients } => (
                    None,
                    coefficients
                        .iter()
                        .find(|c| !c.is_finite())
                        .map(|&c| ("coefficients", c)),
                ),
            };
            if let Some(p) = period
                && !(p >= 1.0 && p.is_finite())
            {
                return Err(bad(
                    &field("period"),
                    format!("must be at least 1 row, got {p}"),
                ));
            }
            if let Some((name, value)) = extra {
                return Err(bad(&field(name), format!("is out of range: {value}")));
            }
        }
        Ok(())
    }
}

/// Generates the series `spec` describes (no labels).
///
/// # Errors
/// [`InjectError::Generate`] naming the field of a bad setting.
pub fn generate(spec: &GenerateSpec) -> Result<Series, InjectError> {
    spec.check()?;
    let default = [Component::Sine {
        period: default_period(),
        amplitude: 1.0,
        phase: 0.0,
    }];
    let components = if spec.components.is_empty() {
        &default[..]
    } else {
        &spec.components[..]
    };
    let n = spec.length;
    let mut columns = Vec::with_capacity(spec.channels);
    for channel in 0..spec.channels {
        let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
        rng.set_stream(channel as u64);
        let shift = spec.channel_shift * channel as f64;
        let mut values = vec![0.0; n];
        for component in components {
            add_component(&mut values, component, shift, &mut rng);
        }
        if spec.noise > 0.0 {
            for v in &mut values {
                *v += spec.noise * normal(&mut rng);
            }
        }
        columns.push(Column::new(format!("value-{channel}"), values));
    }
    let timestamps = (0..n as i64)
        .map(|i| Timestamp(spec.start_ns + i * spec.step_ns))
        .collect();
    Series::new(timestamps, columns, None).map_err(|e| InjectError::Generate {
        field: "length".to_owned(),
        message: e.to_string(),
    })
}

fn periodic(values: &mut [f64], period: f64, phase: f64, f: impl Fn(f64) -> f64) {
    for (i, v) in values.iter_mut().enumerate() {
        let u = i as f64 / period + phase;
        *v += f(u - u.floor());
    }
}

fn add_component(values: &mut [f64], component: &Component, shift: f64, rng: &mut ChaCha8Rng) {
    let n = values.len();
    match *component {
        Component::Sine {
            period,
            amplitude,
            phase,
        } => {
            periodic(values, period, phase + shift, |u| {
                amplitude * Wave::Sine.at(u)
            });
        }
        Component::Square {
            period,
            amplitude,
            duty,
            phase,
        } => {
            periodic(values, period, phase + shift, |u| {
                if u < duty { amplitude } else { -amplitude }
            });
        }
        Component::Sawtooth {
            period,
            amplitude,
            width,
            phase,
        } => {
            periodic(values, period, phase + shift, |u| {
                let s = if u < width {
                    u / width
                } else {
                    (1.0 - u) / (1.0 - width)
                };
                amplitude * (2.0 * s - 1.0)
            });
        }
        Component::Ecg { period, amplitude } => {
            // (centre as a share of the beat, width, height relative to R): P Q R S T.
            const WAVES: [(f64, f64, f64); 5] = [
                (0.20, 0.025, 0.12),
                (0.37, 0.010, -0.15),
                (0.40, 0.010, 1.0),
                (0.43, 0.010, -0.25),
                (0.65, 0.040, 0.30),
            ];
            periodic(values, period, shift, |u| {
                amplitude
                    * WAVES
                        .iter()
                        .map(|&(c, w, a)| a * (-(u - c) * (u - c) / (2.0 * w * w)).exp())
                        .sum::<f64>()
            });
        }
        Component::RandomWalk { step, smoothing } => {
            let (mut walk, mut smooth) = (0.0, 0.0);
            for v in values.iter_mut() {
                walk += step * normal(rng);
                smooth = smoothing * smooth + (1.0 - smoothing) * walk;
                *v += smooth;
            }
        }
        Component::Cbf { period, amplitude } => add_cbf(values, period, amplitude, rng),
        Component::Polynomial { ref coefficients } => {
            let scale = if n > 1 { (n - 1) as f64 } else { 1.0 };
            for (i, v) in values.iter_mut().enumerate() {
                let t = i as f64 / scale;
                *v += coefficients.iter().rev().fold(0.0, |acc, &c| acc * t + c);
            }
        }
    }
}

/// Saito's cylinder-bell-funnel events scaled to `period` rows (the classic uses 128):
/// onset a ∈ [1/8, 1/4) of the slot, length ∈ [1/4, 3/4) of it, height (1 + η/6) · amplitude.
fn add_cbf(values: &mut [f64], period: f64, amplitude: f64, rng: &mut ChaCha8Rng) {
    let slot = period.round().max(4.0) as usize;
    let mut slot_start = 0;
    while slot_start < values.len() {
        let shape = rng.random_range(0..3u8);
        let a = rng.random_range(slot / 8..slot / 4 + 1);
        let len = rng.random_range(slot / 4..(3 * slot) / 4 + 1).max(1);
        let height = amplitude * (1.0 + normal(rng) / 6.0);
        for k in 0..len {
            let Some(v) = values.get_mut(slot_start + a + k) else {
                break;
            };
            let t = k as f64 / len as f64;
            *v += height
                * match shape {
                    0 => 1.0,
                    1 => t,
                    _ => 1.0 - t,
                };
        }
        slot_start += slot;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_spec_is_a_sine() {
        let s = generate(&GenerateSpec {
            length: 200,
            ..GenerateSpec::default()
        })
        .unwrap();
        assert_eq!(s.column_names(), vec!["value-0"]);
        let v = &s.columns()[0].values;
        assert!((v[25] - 1.0).abs() < 1e-12 && v[0].abs() < 1e-12);
    }

    #[test]
    fn same_seed_same_series_and_channels_differ() {
        let spec = GenerateSpec {
            length: 500,
            channels: 3,
            seed: 9,
            noise: 0.1,
            components: vec![
                Component::RandomWalk {
                    step: 0.2,
                    smoothing: 0.5,
                },
                Component::Cbf {
                    period: 64.0,
                    amplitude: 2.0,
                },
                Component::Ecg {
                    period: 50.0,
                    amplitude: 1.0,
                },
                Component::Square {
                    period: 40.0,
                    amplitude: 1.0,
                    duty: 0.3,
                    phase: 0.0,
                },
                Component::Sawtooth {
                    period: 30.0,
                    amplitude: 1.0,
                    width: 0.5,
                    phase: 0.1,
                },
                Component::Polynomial {
                    coefficients: vec![1.0, -2.0, 3.0],
                },
            ],
            ..GenerateSpec::default()
        };
        let a = generate(&spec).unwrap();
        assert_eq!(a, generate(&spec).unwrap());
        assert_ne!(a.columns()[0].values, a.columns()[1].values);
        assert!(
            a.columns()
                .iter()
                .flat_map(|c| &c.values)
                .all(|v| v.is_finite())
        );
        let other = generate(&GenerateSpec { seed: 10, ..spec }).unwrap();
        assert_ne!(a.columns()[0].values, other.columns()[0].values);
    }

    #[test]
    fn polynomial_runs_over_unit_time() {
        let spec = GenerateSpec {
            length: 11,
            components: vec![Component::Polynomial {
                coefficients: vec![1.0, 2.0, 3.0],
            }],
            ..GenerateSpec::default()
        };
        let v = generate(&spec).unwrap().columns()[0].values.clone();
        assert!((v[0] - 1.0).abs() < 1e-12 && (v[10] - 6.0).abs() < 1e-12);
    }

    #[test]
    fn bad_settings_name_their_field() {
        let err = |spec: GenerateSpec| generate(&spec).unwrap_err().to_string();
        assert!(
            err(GenerateSpec {
                length: 0,
                ..GenerateSpec::default()
            })
            .contains("length")
        );
        assert!(
            err(GenerateSpec {
                noise: -1.0,
                ..GenerateSpec::default()
            })
            .contains("noise")
        );
        let spec = GenerateSpec {
            components: vec![Component::Square {
                period: 10.0,
                amplitude: 1.0,
                duty: 1.5,
                phase: 0.0,
            }],
            ..GenerateSpec::default()
        };
        assert!(err(spec).contains("components[0].duty"));
        let spec = GenerateSpec {
            components: vec![Component::Sine {
                period: 0.0,
                amplitude: 1.0,
                phase: 0.0,
            }],
            ..GenerateSpec::default()
        };
        assert!(err(spec).contains("components[0].period"));
        assert!(GenerateSpec::from_json(r#"{"length": 5, "bogus": 1}"#).is_err());
        let spec =
            GenerateSpec::from_json(r#"{"length": 5, "components": [{"type": "sine"}]}"#).unwrap();
        assert_eq!(generate(&spec).unwrap().len(), 5);
    }
}
