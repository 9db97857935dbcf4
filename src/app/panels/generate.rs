//! The Generate tab: a synthetic series from a few components (sine, square wave, ECG-like
//! beats, random walk, linear trend) plus noise, seeded, stored as a new unlabelled dataset
//! that the Inject tab can then fill with known anomalies.

use egui::{DragValue, RichText, Ui};

use crate::app::command::UiCommand;
use crate::app::flow::FlowCommand;
use crate::inject::{Component, GenerateSpec};
use crate::model::Timestamp;

/// The Generate tab's editing state.
#[derive(Clone, Debug, PartialEq)]
pub struct GeneratePanel {
    /// Dataset name.
    pub name: String,
    /// Rows.
    pub length: usize,
    /// Columns.
    pub channels: usize,
    /// Gaussian noise standard deviation.
    pub noise: f64,
    /// Seed.
    pub seed: u64,
    /// Sampling step in seconds.
    pub step_secs: f64,
    /// Sine wave (period in rows, amplitude).
    pub sine: Option<(f64, f64)>,
    /// Square wave (period in rows, amplitude).
    pub square: Option<(f64, f64)>,
    /// ECG-like beats (period in rows, amplitude).
    pub ecg: Option<(f64, f64)>,
    /// Random walk step.
    pub walk: Option<f64>,
    /// Linear trend: change per row.
    pub trend: Option<f64>,
}

impl Default for GeneratePanel {
    fn default() -> Self {
        Self {
            name: "synthetic".to_owned(),
            length: 5_000,
            channels: 1,
            noise: 0.1,
            seed: 1,
            step_secs: 1.0,
            sine: Some((100.0, 1.0)),
            square: None,
            ecg: None,
            walk: None,
            trend: None,
        }
    }
}

impl GeneratePanel {
    /// The generator spec these settings describe.
    pub fn spec(&self) -> GenerateSpec {
        let mut components = Vec::new();
        if let Some((period, amplitude)) = self.sine {
            components.push(Component::Sine {
                period,
                amplitude,
                phase: 0.0,
            });
        }
        if let Some((period, amplitude)) = self.square {
            components.push(Component::Square {
                period,
                amplitude,
                duty: 0.5,
                phase: 0.0,
            });
        }
        if let Some((period, amplitude)) = self.ecg {
            components.push(Component::Ecg { period, amplitude });
        }
        if let Some(step) = self.walk {
            components.push(Component::RandomWalk {
                step,
                smoothing: 0.0,
            });
        }
        if let Some(slope) = self.trend {
            components.push(Component::Polynomial {
                coefficients: vec![0.0, slope],
            });
        }
        GenerateSpec {
            length: self.length.max(1),
            channels: self.channels.max(1),
            seed: self.seed,
            noise: self.noise.max(0.0),
            step_ns: (self.step_secs * Timestamp::NANOS_PER_SEC as f64)
                .round()
                .max(1.0) as i64,
            components,
            ..GenerateSpec::default()
        }
    }

    /// Draws the tab.
    pub fn ui(&mut self, ui: &mut Ui, generating: bool, cmds: &mut Vec<UiCommand>) {
        ui.label(RichText::new("Generate a synthetic series").strong());
        ui.horizontal(|ui| {
            let label = ui.label("Name");
            ui.text_edit_singleline(&mut self.name)
                .labelled_by(label.id);
        });
        egui::Grid::new("anomdet-generate")
            .num_columns(2)
            .show(ui, |ui| {
                row(ui, "Rows", |ui, id| {
                    ui.add(DragValue::new(&mut self.length).range(2..=10_000_000))
                        .labelled_by(id);
                });
                row(ui, "Columns", |ui, id| {
                    ui.add(DragValue::new(&mut self.channels).range(1..=64))
                        .labelled_by(id);
                });
                row(ui, "Noise σ", |ui, id| {
                    ui.add(
                        DragValue::new(&mut self.noise)
                            .range(0.0..=100.0)
                            .speed(0.01),
                    )
                    .labelled_by(id);
                });
                row(ui, "Step (s)", |ui, id| {
                    ui.add(
                        DragValue::new(&mut self.step_secs)
                            .range(0.001..=86_400.0)
                            .speed(0.1),
                    )
                    .labelled_by(id);
                });
                row(ui, "Seed", |ui, id| {
                    ui.add(DragValue::new(&mut self.seed)).labelled_by(id);
                });
            });
        wave_ui(ui, "Sine", &mut self.sine, (100.0, 1.0));
        wave_ui(ui, "Square wave", &mut self.square, (200.0, 1.0));
        wave_ui(ui, "ECG beats", &mut self.ecg, (80.0, 1.0));
        scalar_ui(ui, "Random walk", "step", &mut self.walk, 0.1);
        scalar_ui(ui, "Trend", "per row", &mut self.trend, 0.001);
        ui.horizontal(|ui| {
            let ok = !generating && !self.name.trim().is_empty();
            if ui
                .add_enabled(ok, egui::Button::new("Generate series"))
                .on_hover_text("Generate on a worker and store it as a new dataset")
                .clicked()
            {
                cmds.push(UiCommand::Flow(FlowCommand::Generate {
                    spec: self.spec(),
                    name: self.name.trim().to_owned(),
                }));
            }
            if generating {
                ui.spinner();
            }
        });
    }
}

fn row(ui: &mut Ui, text: &str, add: impl FnOnce(&mut Ui, egui::Id)) {
    let label = ui.label(text);
    add(ui, label.id);
    ui.end_row();
}

fn wave_ui(ui: &mut Ui, text: &str, value: &mut Option<(f64, f64)>, default: (f64, f64)) {
    ui.horizontal(|ui| {
        let mut on = value.is_some();
        if ui.checkbox(&mut on, text).changed() {
            *value = on.then_some(default);
        }
        if let Some((period, amplitude)) = value {
            let label = ui.label("period");
            ui.add(DragValue::new(period).range(2.0..=1e7))
                .labelled_by(label.id);
            let label = ui.label("amplitude");
            ui.add(DragValue::new(amplitude).range(0.0..=1e6).speed(0.05))
                .labelled_by(label.id);
        }
    });
}

fn scalar_ui(ui: &mut Ui, text: &str, unit: &str, value: &mut Option<f64>, default: f64) {
    ui.horizontal(|ui| {
        let mut on = value.is_some();
        if ui.checkbox(&mut on, text).changed() {
            *value = on.then_some(default);
        }
        if let Some(v) = value {
            let label = ui.label(unit);
            ui.add(DragValue::new(v).speed(default / 10.0))
                .labelled_by(label.id);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_generates() {
        let mut panel = GeneratePanel {
            length: 300,
            ..GeneratePanel::default()
        };
        panel.walk = Some(0.2);
        panel.trend = Some(0.01);
        let series = crate::inject::generate(&panel.spec()).unwrap();
        assert_eq!(series.len(), 300);
    }
}
