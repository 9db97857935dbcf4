//! The generated parameter form: one widget per [`ParamSpec`] (a slider over the schema's
//! range for numbers, logarithmic when the range spans decades; a checkbox; a combo box),
//! with the parameter's help as tooltip. Values the user never touched stay out of the map,
//! so the registry's defaults apply; "Defaults" clears the map.

use std::collections::BTreeMap;
use std::hash::Hash;

use egui::{Slider, Ui};

use crate::model::{ParamKind, ParamSpec, ParamValue};

/// Above this ratio between the ends of a range, sliders are logarithmic.
const LOG_RATIO: f64 = 1000.0;

/// Draws a form for `schema` editing `values` (missing entries show their defaults).
/// Returns true when a value changed.
pub fn param_form_ui(
    ui: &mut Ui,
    id_salt: impl Hash + std::fmt::Debug,
    schema: &[ParamSpec],
    values: &mut BTreeMap<String, ParamValue>,
) -> bool {
    let mut changed = false;
    ui.push_id(id_salt, |ui| {
        if schema.is_empty() {
            ui.label(egui::RichText::new("No parameters.").weak());
            return;
        }
        for spec in schema {
            changed |= param_ui(ui, spec, values);
        }
        let customised = !values.is_empty();
        if ui
            .add_enabled(customised, egui::Button::new("Defaults").small())
            .on_hover_text("Reset every parameter to its default")
            .clicked()
        {
            values.clear();
            changed = true;
        }
    });
    changed
}

fn param_ui(ui: &mut Ui, spec: &ParamSpec, values: &mut BTreeMap<String, ParamValue>) -> bool {
    let current = values
        .get(spec.name)
        .and_then(|v| spec.check(v.clone()).ok())
        .unwrap_or_else(|| spec.default_value());
    let help = format!("{} (range {})", spec.help, spec.allowed());
    let new = match spec.kind {
        ParamKind::Int { min, max, .. } => {
            let ParamValue::Int(mut v) = current else {
                return false;
            };
            let span = (max as f64) - (min as f64);
            let slider = Slider::new(&mut v, min..=max)
                .text(spec.name)
                .logarithmic(is_wide(min as f64, max as f64, span))
                .integer();
            ui.add(slider)
                .on_hover_text(help)
                .changed()
                .then_some(ParamValue::Int(v))
        }
        ParamKind::Float { min, max, .. } => {
            let ParamValue::Float(mut v) = current else {
                return false;
            };
            let (lo, hi) = (finite_or(min, -1e12), finite_or(max, 1e12));
            let slider = Slider::new(&mut v, lo..=hi)
                .text(spec.name)
                .logarithmic(is_wide(lo, hi, hi - lo))
                .max_decimals(6);
            ui.add(slider)
                .on_hover_text(help)
                .changed()
                .then_some(ParamValue::Float(v))
        }
        ParamKind::Bool { .. } => {
            let ParamValue::Bool(mut v) = current else {
                return false;
            };
            ui.checkbox(&mut v, spec.name)
                .on_hover_text(help)
                .changed()
                .then_some(ParamValue::Bool(v))
        }
        ParamKind::Choice { options, .. } => {
            let ParamValue::Text(now) = current else {
                return false;
            };
            let mut picked = None;
            egui::ComboBox::from_label(spec.name)
                .selected_text(now.as_str())
                .show_ui(ui, |ui| {
                    for &option in options {
                        if ui.selectable_label(now == option, option).clicked() && now != option {
                            picked = Some(ParamValue::Text(option.to_owned()));
                        }
                    }
                })
                .response
                .on_hover_text(help);
            picked
        }
    };
    match new {
        Some(value) => {
            values.insert(spec.name.to_owned(), value);
            true
        }
        None => false,
    }
}

fn is_wide(min: f64, max: f64, span: f64) -> bool {
    let low = if min > 0.0 { min } else { 1.0 };
    span > 0.0 && max / low >= LOG_RATIO
}

fn finite_or(v: f64, fallback: f64) -> f64 {
    if v.is_finite() { v } else { fallback }
}

#[cfg(test)]
mod tests {
    use egui_kittest::{Harness, kittest::Queryable as _};

    use super::*;

    const SCHEMA: &[ParamSpec] = &[
        ParamSpec {
            name: "window",
            kind: ParamKind::Int {
                min: 2,
                max: 100_000,
                default: 50,
            },
            help: "rows",
        },
        ParamSpec {
            name: "robust",
            kind: ParamKind::Bool { default: false },
            help: "median",
        },
    ];

    #[test]
    fn form_shows_defaults_and_records_edits_only() {
        let mut harness = Harness::new_ui_state(
            |ui, values: &mut BTreeMap<String, ParamValue>| {
                param_form_ui(ui, "form", SCHEMA, values);
            },
            BTreeMap::new(),
        );
        harness.run();
        assert!(harness.state().is_empty());
        harness.get_by_label("robust").click();
        harness.run();
        assert_eq!(harness.state().get("robust"), Some(&ParamValue::Bool(true)));
        harness.get_by_label("Defaults").click();
        harness.run();
        assert!(harness.state().is_empty());
    }
}
