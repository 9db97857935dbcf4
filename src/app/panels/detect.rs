//! The Detect tab: tick one or several detectors (grouped by family, description on hover),
//! edit each one's parameters in the generated form (defaults pre-filled), choose the
//! threshold rule and the seed, and run them as one batch job on a worker, with progress and
//! Cancel. "Run as stream" is the hook for the streaming jobs engine.

use std::collections::BTreeMap;

use egui::{DragValue, RichText, Ui};

use crate::app::command::UiCommand;
use crate::app::flow::{BatchStatus, FlowCommand, RunMode};
use crate::app::widgets::param_form::param_form_ui;
use crate::detect::{DetectorSpec, Family, ThresholdRule, registry};
use crate::model::ParamValue;
use crate::storage::DatasetMeta;

/// The threshold rules offered, with the number each one takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleKind {
    /// `median + k · robust sigma` of the scores.
    Mad,
    /// Top fraction of scores.
    Quantile,
    /// A fixed score.
    Fixed,
    /// SPOT (extreme value theory) with a risk `q`.
    Spot,
}

/// The Detect tab's editing state.
#[derive(Debug)]
pub struct DetectPanel {
    /// Ticked detector ids, in registry order.
    pub chosen: Vec<&'static str>,
    /// Parameters set per detector id (others take defaults).
    pub params: BTreeMap<&'static str, BTreeMap<String, ParamValue>>,
    /// Seed of randomised detectors.
    pub seed: u64,
    /// Threshold rule kind.
    pub rule: RuleKind,
    /// `k` of the MAD rule.
    pub mad_k: f64,
    /// Contamination of the quantile rule.
    pub contamination: f64,
    /// Value of the fixed rule.
    pub fixed: f64,
    /// Risk of the SPOT rule.
    pub spot_q: f64,
    /// Speed of a stream run: real time × this factor.
    pub speed: f64,
    /// Stream as fast as possible instead.
    pub max_speed: bool,
}

impl Default for DetectPanel {
    fn default() -> Self {
        Self {
            chosen: vec!["rolling_zscore"],
            params: BTreeMap::new(),
            seed: 0,
            rule: RuleKind::Mad,
            mad_k: 4.0,
            contamination: 0.01,
            fixed: 3.0,
            spot_q: 1e-3,
            speed: 10.0,
            max_speed: true,
        }
    }
}

/// What the Detect tab shows besides its own state.
#[derive(Clone, Copy, Debug)]
pub struct DetectView<'a> {
    /// The selected dataset.
    pub meta: Option<&'a DatasetMeta>,
    /// The running batch job.
    pub batch: Option<&'a BatchStatus>,
    /// Whether stream runs can be started (the jobs engine is wired).
    pub stream_available: bool,
    /// The label-free ranking of the selected dataset, when computed.
    pub suggestion: Option<&'a crate::eval::DetectorRanking>,
    /// True while the ranking is being computed.
    pub suggesting: bool,
}

impl DetectPanel {
    /// The threshold rule chosen.
    pub fn rule(&self) -> ThresholdRule {
        match self.rule {
            RuleKind::Mad => ThresholdRule::Mad { k: self.mad_k },
            RuleKind::Quantile => ThresholdRule::Quantile {
                contamination: self.contamination,
            },
            RuleKind::Fixed => ThresholdRule::Fixed { value: self.fixed },
            RuleKind::Spot => ThresholdRule::Spot {
                q: self.spot_q,
                level: crate::detect::threshold::SPOT_DEFAULT_LEVEL,
                depth: None,
            },
        }
    }

    /// One spec per ticked detector.
    pub fn specs(&self) -> Vec<DetectorSpec> {
        self.chosen
            .iter()
            .map(|&id| DetectorSpec {
                id: id.to_owned(),
                params: self.params.get(id).cloned().unwrap_or_default(),
                seed: self.seed,
            })
            .collect()
    }

    /// Ticks or unticks a detector.
    pub fn set_chosen(&mut self, id: &'static str, on: bool) {
        let ordered = |chosen: &[&str]| {
            registry()
                .iter()
                .map(|e| e.info.id)
                .filter(|i| chosen.contains(i))
                .collect::<Vec<_>>()
        };
        let mut chosen = self.chosen.clone();
        chosen.retain(|&c| c != id);
        if on {
            chosen.push(id);
        }
        self.chosen = ordered(&chosen);
    }

    /// Draws the tab.
    pub fn ui(&mut self, ui: &mut Ui, view: DetectView<'_>, cmds: &mut Vec<UiCommand>) {
        let Some(meta) = view.meta else {
            ui.label("Select a dataset to run detectors on it.");
            return;
        };
        ui.label(RichText::new(format!("Detect anomalies in {}", meta.name)).strong());
        self.rule_ui(ui);
        ui.horizontal(|ui| {
            let label = ui.label("Seed");
            ui.add(DragValue::new(&mut self.seed)).labelled_by(label.id);
        });
        self.run_ui(ui, view, cmds);
        ui.separator();
        egui::ScrollArea::vertical()
            .id_salt("anomdet-detectors")
            .auto_shrink([false, false])
            .show(ui, |ui| self.detectors_ui(ui));
    }

    fn rule_ui(&mut self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            let names = [
                (RuleKind::Mad, "k·MAD"),
                (RuleKind::Quantile, "Top fraction"),
                (RuleKind::Fixed, "Fixed"),
                (RuleKind::Spot, "SPOT"),
            ];
            let shown = names
                .iter()
                .find(|(k, _)| *k == self.rule)
                .map_or("", |(_, n)| *n);
            egui::ComboBox::from_label("Threshold")
                .selected_text(shown)
                .show_ui(ui, |ui| {
                    for (kind, name) in names {
                        ui.selectable_value(&mut self.rule, kind, name);
                    }
                })
                .response
                .on_hover_text("How scores become flags; the results panel can move it later");
            let (value, range, text): (&mut f64, std::ops::RangeInclusive<f64>, &str) =
                match self.rule {
                    RuleKind::Mad => (&mut self.mad_k, 0.0..=50.0, "k"),
                    RuleKind::Quantile => (&mut self.contamination, 1e-5..=0.5, "fraction"),
                    RuleKind::Fixed => (&mut self.fixed, -1e12..=1e12, "value"),
                    RuleKind::Spot => (&mut self.spot_q, 1e-8..=0.1, "risk q"),
                };
            let label = ui.label(text);
            ui.add(DragValue::new(value).range(range).speed(0.01))
                .labelled_by(label.id);
        });
    }

    fn run_ui(&mut self, ui: &mut Ui, view: DetectView<'_>, cmds: &mut Vec<UiCommand>) {
        if let Some(batch) = view.batch {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(format!(
                    "Running {} ({} of {})",
                    batch.current,
                    batch.done + 1,
                    batch.total
                ));
            });
            ui.horizontal(|ui| {
                ui.add(
                    egui::ProgressBar::new(batch.fraction)
                        .desired_width(180.0)
                        .show_percentage(),
                );
                if ui.button("Cancel run").clicked() {
                    cmds.push(UiCommand::Flow(FlowCommand::CancelDetectors));
                }
            });
            return;
        }
        let none = self.chosen.is_empty();
        ui.horizontal(|ui| {
            let run = ui
                .add_enabled(!none, egui::Button::new("Run batch"))
                .on_hover_text("Score the whole dataset with every ticked detector on a worker");
            if run.clicked() {
                cmds.push(UiCommand::Flow(FlowCommand::RunDetectors {
                    specs: self.specs(),
                    rule: self.rule(),
                    mode: RunMode::Batch,
                }));
            }
            let stream = ui
                .add_enabled(
                    !none && view.stream_available,
                    egui::Button::new("Run as stream"),
                )
                .on_hover_text("Replay the dataset row by row (online scoring) at the chosen speed")
                .on_disabled_hover_text("Streaming runs need the jobs engine");
            if stream.clicked() {
                cmds.push(UiCommand::Flow(FlowCommand::RunDetectors {
                    specs: self.specs(),
                    rule: self.rule(),
                    mode: RunMode::Stream {
                        speed: (!self.max_speed).then_some(self.speed),
                    },
                }));
            }
        });
        ui.horizontal(|ui| {
            ui.checkbox(&mut self.max_speed, "Stream at full speed");
            let label = ui.label("× real time");
            ui.add_enabled(
                view.stream_available && !self.max_speed,
                DragValue::new(&mut self.speed)
                    .range(crate::stream::MIN_SPEED..=crate::stream::MAX_SPEED)
                    .speed(0.5),
            )
            .labelled_by(label.id);
        });
        if none {
            ui.label(RichText::new("Tick at least one detector below.").weak());
        }
        self.suggest_ui(ui, &view, cmds);
    }

    /// "Which detector for this series?": ranks the ticked detectors (or, with fewer than two
    /// ticked, every non-neural one) by how well they catch anomalies injected into copies of
    /// the series, without its labels.
    fn suggest_ui(&mut self, ui: &mut Ui, view: &DetectView<'_>, cmds: &mut Vec<UiCommand>) {
        ui.horizontal(|ui| {
            let button = ui
                .add_enabled(!view.suggesting, egui::Button::new("Suggest a detector"))
                .on_hover_text(
                    "Inject spikes, level shifts, variance changes and trends into copies of this \
                     series and rank the ticked detectors (all but the neural ones when fewer \
                     than two are ticked) by VUS-PR on them; labels are not used",
                );
            if button.clicked() {
                let candidates = if self.chosen.len() >= 2 {
                    self.specs()
                } else {
                    crate::engine::default_detectors()
                        .into_iter()
                        .filter(|spec| !spec.id.starts_with("lstm"))
                        .collect()
                };
                cmds.push(UiCommand::Flow(FlowCommand::Suggest { candidates }));
            }
            if view.suggesting {
                ui.spinner();
            }
        });
        let Some(ranking) = view.suggestion else {
            return;
        };
        let Some(best) = ranking.detectors.first() else {
            return;
        };
        ui.label(format!(
            "Suggested: {} (VUS-PR {:.2} on injected anomalies)",
            best.detector, best.score
        ));
        let rest: Vec<String> = ranking
            .detectors
            .iter()
            .skip(1)
            .take(4)
            .map(|r| format!("{} {:.2}", r.detector, r.score))
            .collect();
        if !rest.is_empty() {
            ui.label(RichText::new(format!("then {}", rest.join(", "))).weak())
                .on_hover_text(
                    "Measured on synthetic anomalies: on real anomalies of another shape the \
                     order can differ",
                );
        }
    }

    fn detectors_ui(&mut self, ui: &mut Ui) {
        let families = [
            (Family::Statistical, "Statistical"),
            (Family::Subsequence, "Sub-sequence"),
            (Family::Trees, "Trees"),
            (Family::Learned, "Learned"),
            (Family::Neural, "Neural"),
            (Family::Baseline, "Baselines"),
            (Family::External, "External programs"),
        ];
        for (family, title) in families {
            let entries: Vec<_> = registry()
                .iter()
                .filter(|e| e.info.family == family)
                .collect();
            if entries.is_empty() {
                continue;
            }
            ui.label(RichText::new(title).strong());
            for entry in entries {
                let id = entry.info.id;
                let mut on = self.chosen.contains(&id);
                if ui
                    .checkbox(&mut on, entry.info.name)
                    .on_hover_text(entry.info.description)
                    .changed()
                {
                    self.set_chosen(id, on);
                }
                if on {
                    ui.indent(("anomdet-detector-params", id), |ui| {
                        let values = self.params.entry(id).or_default();
                        param_form_ui(ui, ("detect-params", id), entry.info.params, values);
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_follow_the_ticks_in_registry_order() {
        let mut panel = DetectPanel::default();
        panel.set_chosen("isolation_forest", true);
        panel.set_chosen("rolling_zscore", false);
        panel.set_chosen("robust_zscore", true);
        panel
            .params
            .entry("isolation_forest")
            .or_default()
            .insert("n_trees".to_owned(), ParamValue::Int(10));
        let specs = panel.specs();
        let ids: Vec<&str> = specs.iter().map(|s| s.id.as_str()).collect();
        let known: Vec<&str> = registry().iter().map(|e| e.info.id).collect();
        assert!(ids.iter().all(|id| known.contains(id)), "{ids:?}");
        assert!(ids.contains(&"isolation_forest"));
        for spec in &specs {
            spec.build().unwrap();
        }
        panel.rule = RuleKind::Quantile;
        assert!(panel.rule().check().is_ok());
    }
}
