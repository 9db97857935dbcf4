//! Parameter schemas: how a detector or injector describes its settings so that the GUI can
//! render a form, the CLI can parse `--param k=v`, and both get the same validation.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The type, range and default of one parameter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ParamKind {
    /// A whole number in `[min, max]`.
    Int {
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
        /// Value used when none is given.
        default: i64,
    },
    /// A real number in `[min, max]`.
    Float {
        /// Smallest allowed value.
        min: f64,
        /// Largest allowed value.
        max: f64,
        /// Value used when none is given.
        default: f64,
    },
    /// On or off.
    Bool {
        /// Value used when none is given.
        default: bool,
    },
    /// One of a fixed list of words.
    Choice {
        /// Allowed words.
        options: &'static [&'static str],
        /// Value used when none is given (one of `options`).
        default: &'static str,
    },
}

/// One parameter of a detector or injector.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ParamSpec {
    /// Stable snake_case name, used on the CLI (`--param name=value`) and in stored specs.
    pub name: &'static str,
    /// Type, range and default.
    pub kind: ParamKind,
    /// One sentence for tooltips and `--help`.
    pub help: &'static str,
}

/// A parameter value as stored in specs (JSON) and passed around.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    /// On or off.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// A real number.
    Float(f64),
    /// A word (for choices).
    Text(String),
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bool(b) => write!(f, "{b}"),
            Self::Int(i) => write!(f, "{i}"),
            Self::Float(x) => write!(f, "{x}"),
            Self::Text(s) => f.write_str(s),
        }
    }
}

/// Why parameters were rejected. Every variant names the parameter.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum ParamsError {
    /// The name is not in the schema.
    #[error("unknown parameter {name:?} (known: {known})")]
    Unknown {
        /// The name given.
        name: String,
        /// Comma-separated known names.
        known: String,
    },
    /// Wrong type, e.g. text for a number.
    #[error("parameter {name:?} expects {expected}, got {got:?}")]
    Type {
        /// Parameter name.
        name: String,
        /// What was expected.
        expected: String,
        /// What was given.
        got: String,
    },
    /// Outside the allowed range or not one of the choices.
    #[error("parameter {name:?} = {got} is out of range ({allowed})")]
    Range {
        /// Parameter name.
        name: String,
        /// What was given.
        got: String,
        /// The allowed range or options.
        allowed: String,
    },
    /// A `k=v` argument without `=`.
    #[error("parameter {0:?} is not of the form name=value")]
    Syntax(String),
}

impl ParamSpec {
    /// The default as a value.
    pub fn default_value(&self) -> ParamValue {
        match self.kind {
            ParamKind::Int { default, .. } => ParamValue::Int(default),
            ParamKind::Float { default, .. } => ParamValue::Float(default),
            ParamKind::Bool { default } => ParamValue::Bool(default),
            ParamKind::Choice { default, .. } => ParamValue::Text(default.to_owned()),
        }
    }

    /// The allowed range or options, for help text and errors.
    pub fn allowed(&self) -> String {
        match self.kind {
            ParamKind::Int { min, max, .. } => format!("{min}..={max}"),
            ParamKind::Float { min, max, .. } => format!("{min}..={max}"),
            ParamKind::Bool { .. } => "true|false".to_owned(),
            ParamKind::Choice { options, .. } => options.join("|"),
        }
    }

    /// Parses command-line text into a checked value.
    pub fn parse_text(&self, text: &str) -> Result<ParamValue, ParamsError> {
        let text = text.trim();
        let value = match self.kind {
            ParamKind::Int { .. } => text.parse().map(ParamValue::Int).ok(),
            ParamKind::Float { .. } => text.parse().map(ParamValue::Float).ok(),
            ParamKind::Bool { .. } => match text.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Some(ParamValue::Bool(true)),
                "false" | "0" | "no" | "off" => Some(ParamValue::Bool(false)),
                _ => None,
            },
            ParamKind::Choice { .. } => Some(ParamValue::Text(text.to_owned())),
        };
        let value = value.ok_or_else(|| self.type_error(text))?;
        self.check(value)
    }

    /// Checks type and range, converting an integer given for a float parameter.
    pub fn check(&self, value: ParamValue) -> Result<ParamValue, ParamsError> {
        let range_error = |got: String| ParamsError::Range {
            name: self.name.to_owned(),
            got,
            allowed: self.allowed(),
        };
        match (self.kind, value) {
            (ParamKind::Int { min, max, .. }, ParamValue::Int(v)) => {
                if (min..=max).contains(&v) {
                    Ok(ParamValue::Int(v))
                } else {
                    Err(range_error(v.to_string()))
                }
            }
            (ParamKind::Int { min, max, .. }, ParamValue::Float(v))
                if v.fract() == 0.0 && v.is_finite() =>
            {
                let v = v as i64;
                if (min..=max).contains(&v) {
                    Ok(ParamValue::Int(v))
                } else {
                    Err(range_error(v.to_string()))
                }
            }
            (ParamKind::Float { min, max, .. }, ParamValue::Float(v)) => {
                if v.is_finite() && v >= min && v <= max {
                    Ok(ParamValue::Float(v))
                } else {
                    Err(range_error(v.to_string()))
                }
            }
            (ParamKind::Float { .. }, ParamValue::Int(v)) => {
                self.check(ParamValue::Float(v as f64))
            }
            (ParamKind::Bool { .. }, ParamValue::Bool(b)) => Ok(ParamValue::Bool(b)),
            (ParamKind::Choice { options, .. }, ParamValue::Text(t)) => {
                if options.contains(&t.as_str()) {
                    Ok(ParamValue::Text(t))
                } else {
                    Err(range_error(t))
                }
            }
            (_, other) => Err(self.type_error(&other.to_string())),
        }
    }

    fn type_error(&self, got: &str) -> ParamsError {
        let expected = match self.kind {
            ParamKind::Int { .. } => "a whole number",
            ParamKind::Float { .. } => "a number",
            ParamKind::Bool { .. } => "true or false",
            ParamKind::Choice { .. } => "one of the listed words",
        };
        ParamsError::Type {
            name: self.name.to_owned(),
            expected: expected.to_owned(),
            got: got.to_owned(),
        }
    }
}

/// A complete, checked set of parameter values: every schema entry present, each within range.
/// Built only through [`Params::resolve`], so a `Params` can be trusted ("parse, don't validate").
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Params(BTreeMap<String, ParamValue>);

impl Params {
    /// Checks `given` against `schema`: unknown names, wrong types and out-of-range values are
    /// errors; missing names get their defaults.
    pub fn resolve(
        schema: &[ParamSpec],
        given: &BTreeMap<String, ParamValue>,
    ) -> Result<Self, ParamsError> {
        for name in given.keys() {
            if !schema.iter().any(|s| s.name == name) {
                return Err(ParamsError::Unknown {
                    name: name.clone(),
                    known: schema.iter().map(|s| s.name).collect::<Vec<_>>().join(", "),
                });
            }
        }
        let mut values = BTreeMap::new();
        for spec in schema {
            let value = match given.get(spec.name) {
                Some(v) => spec.check(v.clone())?,
                None => spec.default_value(),
            };
            values.insert(spec.name.to_owned(), value);
        }
        Ok(Self(values))
    }

    /// Parses `name=value` strings (the CLI's `--param`) against a schema.
    pub fn parse_pairs(schema: &[ParamSpec], pairs: &[String]) -> Result<Self, ParamsError> {
        let mut given = BTreeMap::new();
        for pair in pairs {
            let (name, text) = pair
                .split_once('=')
                .ok_or_else(|| ParamsError::Syntax(pair.clone()))?;
            let name = name.trim();
            let spec =
                schema
                    .iter()
                    .find(|s| s.name == name)
                    .ok_or_else(|| ParamsError::Unknown {
                        name: name.to_owned(),
                        known: schema.iter().map(|s| s.name).collect::<Vec<_>>().join(", "),
                    })?;
            given.insert(name.to_owned(), spec.parse_text(text)?);
        }
        Self::resolve(schema, &given)
    }

    /// The raw map (for storage and display).
    pub fn as_map(&self) -> &BTreeMap<String, ParamValue> {
        &self.0
    }

    /// An integer parameter; `0` if absent or of another type (cannot happen after `resolve`).
    pub fn int(&self, name: &str) -> i64 {
        match self.0.get(name) {
            Some(ParamValue::Int(v)) => *v,
            Some(ParamValue::Float(v)) => *v as i64,
            _ => 0,
        }
    }

    /// A non-negative integer parameter as `usize`.
    pub fn usize(&self, name: &str) -> usize {
        usize::try_from(self.int(name)).unwrap_or(0)
    }

    /// A float parameter; NaN if absent (cannot happen after `resolve`).
    pub fn float(&self, name: &str) -> f64 {
        match self.0.get(name) {
            Some(ParamValue::Float(v)) => *v,
            Some(ParamValue::Int(v)) => *v as f64,
            _ => f64::NAN,
        }
    }

    /// A boolean parameter; `false` if absent.
    pub fn bool(&self, name: &str) -> bool {
        matches!(self.0.get(name), Some(ParamValue::Bool(true)))
    }

    /// A choice parameter; `""` if absent.
    pub fn text(&self, name: &str) -> &str {
        match self.0.get(name) {
            Some(ParamValue::Text(t)) => t,
            _ => "",
        }
    }

    /// `name=value` pairs joined by spaces, for listings.
    pub fn summary(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: &[ParamSpec] = &[
        ParamSpec {
            name: "window",
            kind: ParamKind::Int {
                min: 2,
                max: 100,
                default: 10,
            },
            help: "",
        },
        ParamSpec {
            name: "k",
            kind: ParamKind::Float {
                min: 0.0,
                max: 10.0,
                default: 3.0,
            },
            help: "",
        },
        ParamSpec {
            name: "combine",
            kind: ParamKind::Choice {
                options: &["max", "mean"],
                default: "max",
            },
            help: "",
        },
    ];

    #[test]
    fn defaults_fill_missing() {
        let p = Params::parse_pairs(SCHEMA, &[]).unwrap();
        assert_eq!(p.int("window"), 10);
        assert!((p.float("k") - 3.0).abs() < f64::EPSILON);
        assert_eq!(p.text("combine"), "max");
    }

    #[test]
    fn parses_and_checks_pairs() {
        let p = Params::parse_pairs(SCHEMA, &["window=20".into(), "k=2".into()]).unwrap();
        assert_eq!(p.int("window"), 20);
        assert!((p.float("k") - 2.0).abs() < f64::EPSILON);
        assert!(matches!(
            Params::parse_pairs(SCHEMA, &["window=1".into()]),
            Err(ParamsError::Range { .. })
        ));
        assert!(matches!(
            Params::parse_pairs(SCHEMA, &["window=abc".into()]),
            Err(ParamsError::Type { .. })
        ));
        assert!(matches!(
            Params::parse_pairs(SCHEMA, &["nope=1".into()]),
            Err(ParamsError::Unknown { .. })
        ));
        assert!(matches!(
            Params::parse_pairs(SCHEMA, &["window".into()]),
            Err(ParamsError::Syntax(_))
        ));
        assert!(matches!(
            Params::parse_pairs(SCHEMA, &["combine=median".into()]),
            Err(ParamsError::Range { .. })
        ));
        assert!(matches!(
            Params::parse_pairs(SCHEMA, &["k=NaN".into()]),
            Err(ParamsError::Range { .. })
        ));
    }
}
