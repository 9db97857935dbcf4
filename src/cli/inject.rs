//! Injection subcommands: `injectors` (list kinds and their parameters), `inject` (store an
//! injected copy of a dataset, from a plan file or from flags) and `generate` (store a
//! synthetic, optionally injected, dataset).

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use serde::Serialize;

use super::output::Output;
use super::output::{ParamJson, params_json, params_text};
use crate::engine::Engine;
use crate::inject::{self, Component, GenerateSpec, InjectionPlan, InjectionSpec, Target};
use crate::model::{ParamValue, Timestamp};

/// `anomdet injectors`.
#[derive(Debug, Args)]
pub struct InjectorsArgs {
    /// Print JSON (ids, aliases, parameter schemas).
    #[arg(long)]
    pub json: bool,
}

/// `anomdet inject NAME (--plan FILE | --kind KIND ...) --as NEW`.
#[derive(Debug, Args)]
pub struct InjectArgs {
    /// Dataset to inject into (name or `#id`).
    pub dataset: String,
    /// Name of the injected copy.
    #[arg(long = "as", value_name = "NEW")]
    pub new_name: String,
    /// A JSON injection plan (`{"seed": 7, "injections": [...]}`); replaces the flags below.
    #[arg(long, value_name = "FILE", conflicts_with = "kind")]
    pub plan: Option<PathBuf>,
    /// Kind of one injection (see `anomdet injectors`).
    #[arg(long, required_unless_present = "plan")]
    pub kind: Option<String>,
    /// Size of the anomaly: sets the kind's magnitude parameter (spike height, shift offset...).
    #[arg(long, allow_hyphen_values = true)]
    pub magnitude: Option<f64>,
    /// Any other parameter, `name=value`; repeat for several.
    #[arg(long = "param", short, value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Number of windows at random positions (ignored with --start or --from).
    #[arg(long, default_value_t = 1)]
    pub count: i64,
    /// Rows per window.
    #[arg(long, default_value_t = 1, allow_hyphen_values = true)]
    pub length: i64,
    /// Untouched rows between random windows.
    #[arg(long, default_value_t = 0)]
    pub min_gap: i64,
    /// Place one window at this row instead of at random.
    #[arg(long, allow_hyphen_values = true, conflicts_with = "from")]
    pub start: Option<i64>,
    /// Place one window over a time range: from (RFC 3339, or seconds since the epoch) ...
    #[arg(long, requires = "to")]
    pub from: Option<String>,
    /// ... to (inclusive).
    #[arg(long, requires = "from")]
    pub to: Option<String>,
    /// Column to change; repeat for several (default: all).
    #[arg(long = "column", short, value_name = "NAME")]
    pub columns: Vec<String>,
    /// Seed of every random draw.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Print the plan used (JSON) before storing.
    #[arg(long)]
    pub print_plan: bool,
    /// Print the stored dataset as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `anomdet generate [--spec FILE | --signal ...] [--plan FILE] --as NAME`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Name of the new dataset.
    #[arg(long = "as", value_name = "NAME")]
    pub name: String,
    /// A JSON generator spec; replaces the flags below.
    #[arg(long, value_name = "FILE")]
    pub spec: Option<PathBuf>,
    /// A signal component, `KIND[:name=value,...]`, summed with the others; repeat for several.
    /// Kinds: sine, square, sawtooth, `random_walk`, ecg, cbf, polynomial (coefficients as
    /// `coefficients=1/0.5/-2`). Default: `sine:period=100`.
    #[arg(long = "signal", value_name = "KIND[:K=V,...]")]
    pub signals: Vec<String>,
    /// Rows.
    #[arg(long, default_value_t = 10_000)]
    pub length: usize,
    /// Columns (`value-0`, `value-1`, ...).
    #[arg(long, default_value_t = 1)]
    pub channels: usize,
    /// Standard deviation of the Gaussian noise.
    #[arg(long, default_value_t = 0.0)]
    pub noise: f64,
    /// Phase offset per channel, as a fraction of each period.
    #[arg(long, default_value_t = 0.0)]
    pub channel_shift: f64,
    /// Seed of the generator.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// An injection plan to apply to the generated series (labelled benchmark data).
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// Print the stored dataset as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
struct InjectorJson {
    id: &'static str,
    aliases: &'static [&'static str],
    name: &'static str,
    description: &'static str,
    min_columns: usize,
    exact: bool,
    onset: bool,
    magnitude: Option<&'static str>,
    params: Vec<ParamJson>,
}

pub(super) fn injectors(args: &InjectorsArgs, out: &mut Output) -> anyhow::Result<()> {
    let list: Vec<InjectorJson> = inject::registry()
        .iter()
        .map(|e| InjectorJson {
            id: e.info.id,
            aliases: e.info.aliases,
            name: e.info.name,
            description: e.info.description,
            min_columns: e.info.min_columns,
            exact: e.info.exact,
            onset: e.info.onset,
            magnitude: e.info.magnitude,
            params: params_json(e.info.params),
        })
        .collect();
    if args.json {
        return out.json(&list);
    }
    let rows = list
        .iter()
        .map(|k| {
            vec![
                k.id.to_owned(),
                k.aliases.join(", "),
                k.name.to_owned(),
                params_text(&k.params),
            ]
        })
        .collect();
    out.table(
        &["id", "aliases", "name", "parameters (default, allowed)"],
        rows,
    )
}

/// Seconds since the epoch (a number) or RFC 3339 text.
fn parse_time(text: &str) -> anyhow::Result<Timestamp> {
    if let Ok(secs) = text.trim().parse::<f64>() {
        anyhow::ensure!(secs.is_finite(), "time {text:?} is not finite");
        return Ok(Timestamp(
            (secs * Timestamp::NANOS_PER_SEC as f64).round() as i64
        ));
    }
    let dt = chrono::DateTime::parse_from_rfc3339(text.trim())
        .with_context(|| format!("time {text:?} is neither seconds nor RFC 3339"))?;
    dt.timestamp_nanos_opt()
        .map(Timestamp)
        .with_context(|| format!("time {text:?} is out of range"))
}

/// The plan from `--plan`, or one injection built from the flags.
fn plan_from_args(args: &InjectArgs) -> anyhow::Result<InjectionPlan> {
    if let Some(path) = &args.plan {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the plan {}", path.display()))?;
        return Ok(InjectionPlan::from_json(&text)?);
    }
    let kind = args
        .kind
        .as_deref()
        .context("give --plan FILE or --kind KIND")?;
    let entry = inject::find(kind)?;
    let mut params = crate::model::Params::parse_pairs(entry.info.params, &args.params)
        .map_err(|e| anyhow::anyhow!("injector {:?}: {e}", entry.info.id))?
        .as_map()
        .clone();
    // Keep only what the user gave, so the stored plan shows the choices, not every default.
    let given: Vec<&str> = args
        .params
        .iter()
        .filter_map(|p| p.split('=').next())
        .map(str::trim)
        .collect();
    params.retain(|name, _| given.contains(&name.as_str()));
    if let Some(m) = args.magnitude {
        let name = entry.info.magnitude.with_context(|| {
            format!(
                "{:?} has no magnitude; set its parameters with --param",
                entry.info.id
            )
        })?;
        params.insert(name.to_owned(), ParamValue::Float(m));
    }
    let target = match (args.start, &args.from, &args.to) {
        (Some(start), _, _) => Target::Rows {
            start,
            length: args.length,
        },
        (None, Some(from), Some(to)) => Target::Time {
            start: parse_time(from)?,
            end: parse_time(to)?,
        },
        _ => Target::Random {
            count: args.count,
            length: args.length,
            min_gap: args.min_gap,
        },
    };
    Ok(InjectionPlan {
        seed: args.seed,
        injections: vec![InjectionSpec {
            kind: entry.info.id.to_owned(),
            params,
            target,
            columns: args.columns.clone(),
        }],
    })
}

pub(super) fn inject(engine: &Engine, args: &InjectArgs, out: &mut Output) -> anyhow::Result<()> {
    let source = engine.find_dataset(&args.dataset)?;
    let plan = plan_from_args(args)?;
    if args.print_plan {
        out.line(&plan.to_json())?;
    }
    let meta = engine.inject_dataset(source.id, &plan, &args.new_name)?;
    if args.json {
        return out.json(&meta);
    }
    out.line(&format!(
        "stored {:?} ({}): {} rows, {} labelled anomalous, from {:?} with {} injection(s), seed {}",
        meta.name,
        meta.id,
        meta.rows,
        meta.label_count,
        source.name,
        plan.injections.len(),
        plan.seed
    ))
}

/// `KIND[:name=value,...]` → a component (numbers as numbers, `a/b/c` as a list).
fn parse_signal(text: &str) -> anyhow::Result<Component> {
    let (kind, rest) = text.split_once(':').unwrap_or((text, ""));
    let mut object = serde_json::Map::new();
    object.insert(
        "type".to_owned(),
        serde_json::Value::String(kind.trim().to_owned()),
    );
    for pair in rest.split(',').filter(|p| !p.trim().is_empty()) {
        let (name, value) = pair
            .split_once('=')
            .with_context(|| format!("signal {text:?}: {pair:?} is not name=value"))?;
        let number = |v: &str| {
            v.trim()
                .parse::<f64>()
                .with_context(|| format!("signal {text:?}: {name} = {v:?} is not a number"))
        };
        let json = if name.trim() == "coefficients" {
            serde_json::Value::from(
                value
                    .split('/')
                    .map(number)
                    .collect::<anyhow::Result<Vec<_>>>()?,
            )
        } else {
            serde_json::Value::from(number(value)?)
        };
        object.insert(name.trim().to_owned(), json);
    }
    serde_json::from_value(serde_json::Value::Object(object)).with_context(|| {
        format!(
            "signal {text:?} (kinds: sine, square, sawtooth, random_walk, ecg, cbf, polynomial)"
        )
    })
}

pub(super) fn generate(
    engine: &Engine,
    args: &GenerateArgs,
    out: &mut Output,
) -> anyhow::Result<()> {
    let spec = match &args.spec {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the generator spec {}", path.display()))?;
            GenerateSpec::from_json(&text)?
        }
        None => GenerateSpec {
            length: args.length,
            channels: args.channels,
            seed: args.seed,
            noise: args.noise,
            channel_shift: args.channel_shift,
            components: args
                .signals
                .iter()
                .map(|s| parse_signal(s))
                .collect::<anyhow::Result<_>>()?,
            ..GenerateSpec::default()
        },
    };
    let plan = match &args.plan {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the plan {}", path.display()))?;
            Some(InjectionPlan::from_json(&text)?)
        }
        None => None,
    };
    let meta = engine.generate_dataset(&spec, plan.as_ref(), &args.name)?;
    if args.json {
        return out.json(&meta);
    }
    out.line(&format!(
        "generated {:?} ({}): {} rows x {} column(s), {} labelled anomalous",
        meta.name,
        meta.id,
        meta.rows,
        meta.columns.len(),
        meta.label_count
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_parse_into_components() {
        assert_eq!(
            parse_signal("sine:period=50,amplitude=2").unwrap(),
            Component::Sine {
                period: 50.0,
                amplitude: 2.0,
                phase: 0.0
            }
        );
        assert_eq!(
            parse_signal("polynomial:coefficients=1/0/-2").unwrap(),
            Component::Polynomial {
                coefficients: vec![1.0, 0.0, -2.0]
            }
        );
        assert!(parse_signal("sine:period=abc").is_err());
        assert!(parse_signal("wobble").is_err());
        assert!(parse_signal("sine:speed=3").is_err());
    }

    #[test]
    fn times_parse_as_seconds_or_rfc3339() {
        assert_eq!(parse_time("1.5").unwrap(), Timestamp(1_500_000_000));
        assert_eq!(
            parse_time("1970-01-01T00:00:02Z").unwrap(),
            Timestamp(2_000_000_000)
        );
        assert!(parse_time("yesterday").is_err());
    }
}
