//! The robustness matrix in the comparison window: a form (detectors, injected kinds,
//! magnitudes, repeats), a worker that runs the engine's
//! [`robustness`](crate::engine::Engine::robustness) on the selected dataset with progress
//! and Cancel, and the result as a [heatmap](crate::app::widgets::heatmap) of one chosen cell
//! value ([`RobustnessMatrix::to_grid`]).
//!
//! Owns the task and the last matrix; a matrix handed in from elsewhere (a stored report)
//! is shown the same way until one is computed.

use egui::{RichText, Ui};

use crate::app::theme;
use crate::app::widgets::heatmap::{HeatmapData, heatmap_ui};
use crate::detect::{DetectorSpec, Family};
use crate::engine::{Engine, Notifier, RobustnessConfig, RunControl, Task};
use crate::eval::{CellValue, RobustnessMatrix};
use crate::storage::DatasetId;

/// Detectors ticked by default: quick ones, so a first matrix takes seconds.
const DEFAULT_DETECTORS: [&str; 3] = ["rolling_zscore", "robust_zscore", "cusum"];

/// The robustness section's state.
#[derive(Debug)]
pub struct RobustnessPanel {
    /// Detector ids to run (rows of the matrix).
    pub detectors: Vec<String>,
    /// Injector kinds (each with a size parameter).
    pub kinds: Vec<String>,
    /// Magnitudes as typed, comma-separated.
    pub magnitudes: String,
    /// Seeded injections per cell.
    pub repeats: usize,
    /// The cell value the heatmap shows.
    pub value: CellValue,
    task: Option<(DatasetId, Task<RobustnessMatrix>)>,
    matrix: Option<(DatasetId, RobustnessMatrix)>,
    external: Option<HeatmapData>,
    message: Option<String>,
}

impl Default for RobustnessPanel {
    fn default() -> Self {
        Self {
            detectors: DEFAULT_DETECTORS.iter().map(|&d| d.to_owned()).collect(),
            kinds: RobustnessConfig::default().kinds,
            magnitudes: "1, 2, 4, 8".to_owned(),
            repeats: 2,
            value: CellValue::default(),
            task: None,
            matrix: None,
            external: None,
            message: None,
        }
    }
}

/// Parses `"1, 2.5,4"` into magnitudes; names the first entry that is not a positive number.
pub fn parse_magnitudes(text: &str) -> Result<Vec<f64>, String> {
    let values: Vec<f64> = text
        .split([',', ' ', ';'])
        .filter(|t| !t.trim().is_empty())
        .map(|t| {
            t.trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v > 0.0)
                .ok_or_else(|| format!("magnitude {:?} is not a positive number", t.trim()))
        })
        .collect::<Result<_, _>>()?;
    if values.is_empty() {
        return Err("give at least one magnitude, e.g. 1, 2, 4".to_owned());
    }
    Ok(values)
}

impl RobustnessPanel {
    /// Shows `matrix` (computed elsewhere) until one is computed here; `None` clears it.
    pub fn set_external(&mut self, matrix: Option<HeatmapData>) {
        self.external = matrix;
    }

    /// The matrix computed here, if any.
    pub fn matrix(&self) -> Option<&RobustnessMatrix> {
        self.matrix.as_ref().map(|(_, m)| m)
    }

    /// The heatmap shown now: the computed matrix's grid of [`Self::value`], else the one
    /// handed in.
    pub fn heatmap(&self) -> Option<HeatmapData> {
        match &self.matrix {
            Some((_, matrix)) => Some(heatmap_of(matrix, self.value)),
            None => self.external.clone(),
        }
    }

    /// True while the matrix is computed.
    pub fn is_busy(&self) -> bool {
        self.task.is_some()
    }

    /// The last failure or cancellation, in words.
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// Starts computing the matrix of `dataset` on a worker (replacing a running one).
    pub fn start(&mut self, engine: &Engine, notifier: &Notifier, dataset: DatasetId) {
        self.message = None;
        let magnitudes = match parse_magnitudes(&self.magnitudes) {
            Ok(m) => m,
            Err(error) => {
                self.message = Some(error);
                return;
            }
        };
        if self.detectors.is_empty() || self.kinds.is_empty() {
            self.message = Some("Tick at least one detector and one kind.".to_owned());
            return;
        }
        let config = RobustnessConfig {
            detectors: self.detectors.iter().map(DetectorSpec::new).collect(),
            kinds: self.kinds.clone(),
            magnitudes,
            repeats: self.repeats.max(1),
            ..RobustnessConfig::default()
        };
        let engine = engine.clone();
        match Task::spawn("robustness", notifier.clone(), move |cancel, progress| {
            let control = RunControl {
                cancel: cancel.clone(),
                progress: progress.clone(),
            };
            engine.robustness(dataset, &config, &control)
        }) {
            Ok(task) => self.task = Some((dataset, task)),
            Err(error) => self.message = Some(format!("Could not start: {error}")),
        }
    }

    /// Asks the running computation to stop (the cells done so far are kept).
    pub fn cancel(&self) {
        if let Some((_, task)) = &self.task {
            task.cancel();
        }
    }

    /// Collects the finished computation.
    pub fn poll(&mut self) {
        let Some((dataset, task)) = &mut self.task else {
            return;
        };
        let Some(result) = task.poll() else {
            return;
        };
        let dataset = *dataset;
        self.task = None;
        match result {
            Ok(matrix) => {
                if matrix.cancelled {
                    self.message =
                        Some("Cancelled: cells not computed are shown as “—”.".to_owned());
                }
                self.matrix = Some((dataset, matrix));
            }
            Err(crate::error::Error::Cancelled) => self.message = Some("Cancelled.".to_owned()),
            Err(error) => self.message = Some(format!("The robustness matrix failed: {error}")),
        }
    }

    /// The section: a collapsing form, progress or the heatmap.
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        engine: &Engine,
        notifier: &Notifier,
        dataset: Option<DatasetId>,
    ) {
        self.poll();
        egui::CollapsingHeader::new("Robustness matrix")
            .default_open(true)
            .show(ui, |ui| {
                ui.label(
                    RichText::new(
                        "Injects each kind at each magnitude into copies of the selected \
                         dataset and scores them with each detector (nothing is stored).",
                    )
                    .small()
                    .weak(),
                );
                egui::CollapsingHeader::new("Detectors, kinds and magnitudes")
                    .id_salt("anomdet-robustness-form")
                    .show(ui, |ui| self.form_ui(ui));
                self.actions_ui(ui, engine, notifier, dataset);
                if let Some(message) = &self.message {
                    ui.label(RichText::new(message.as_str()).color(theme::WARNING_TEXT));
                }
                if self.matrix.is_some() {
                    ui.horizontal(|ui| {
                        ui.label("Cell value:");
                        egui::ComboBox::from_id_salt("anomdet-robustness-value")
                            .selected_text(self.value.id())
                            .show_ui(ui, |ui| {
                                for &v in CellValue::ALL {
                                    ui.selectable_value(&mut self.value, v, v.id());
                                }
                            });
                    });
                }
                match self.heatmap() {
                    Some(map) => {
                        heatmap_ui(ui, &map);
                    }
                    None => {
                        ui.label("No robustness matrix computed yet.");
                    }
                }
            });
    }

    fn form_ui(&mut self, ui: &mut Ui) {
        ui.label("Detectors:");
        ui.horizontal_wrapped(|ui| {
            for entry in crate::detect::registry()
                .iter()
                .filter(|e| e.info.family != Family::Baseline)
            {
                toggle(ui, &mut self.detectors, entry.info.id);
            }
        });
        ui.label("Injected kinds:");
        ui.horizontal_wrapped(|ui| {
            for entry in crate::inject::registry()
                .iter()
                .filter(|e| e.info.magnitude.is_some())
            {
                toggle(ui, &mut self.kinds, entry.info.id);
            }
        });
        ui.horizontal(|ui| {
            let label = ui.label("Magnitudes:");
            ui.add(egui::TextEdit::singleline(&mut self.magnitudes).desired_width(140.0))
                .labelled_by(label.id);
            let label = ui.label("Repeats:");
            ui.add(egui::DragValue::new(&mut self.repeats).range(1..=20))
                .labelled_by(label.id);
        });
    }

    fn actions_ui(
        &mut self,
        ui: &mut Ui,
        engine: &Engine,
        notifier: &Notifier,
        dataset: Option<DatasetId>,
    ) {
        ui.horizontal(|ui| {
            if let Some((_, task)) = &self.task {
                let (done, total) = task.progress().get();
                ui.add(
                    egui::ProgressBar::new(task.progress().fraction())
                        .desired_width(220.0)
                        .text(format!("{done} / {total} scored")),
                );
                if ui.button("Cancel robustness").clicked() {
                    self.cancel();
                }
                ui.ctx()
                    .request_repaint_after(std::time::Duration::from_millis(100));
            } else {
                let start = ui
                    .add_enabled(dataset.is_some(), egui::Button::new("Compute matrix"))
                    .on_hover_text("Runs on a worker; the window stays usable")
                    .on_disabled_hover_text("Select a dataset first");
                if start.clicked()
                    && let Some(dataset) = dataset
                {
                    self.start(engine, notifier, dataset);
                }
            }
        });
    }
}

/// A checkbox that adds `id` to or removes it from `set`.
fn toggle(ui: &mut Ui, set: &mut Vec<String>, id: &str) {
    let mut on = set.iter().any(|s| s == id);
    if ui.checkbox(&mut on, id).changed() {
        if on {
            set.push(id.to_owned());
        } else {
            set.retain(|s| s != id);
        }
    }
}

/// The heatmap of `value` over `matrix` (fractions on a fixed 0..1 scale).
pub fn heatmap_of(matrix: &RobustnessMatrix, value: CellValue) -> HeatmapData {
    let grid = matrix.to_grid(value);
    let range = match value {
        CellValue::VusPr | CellValue::DetectionRate => Some((0.0, 1.0)),
        CellValue::DelayRows | CellValue::FalseEvents => None,
    };
    HeatmapData {
        title: format!("Robustness: {}", grid.title),
        rows: grid.row_labels,
        columns: grid.col_labels,
        values: grid.values,
        range,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magnitudes_parse_and_bad_ones_are_named() {
        assert_eq!(parse_magnitudes("1, 2.5;4").unwrap(), vec![1.0, 2.5, 4.0]);
        assert!(parse_magnitudes("1, x").unwrap_err().contains("\"x\""));
        assert!(parse_magnitudes("-1").is_err());
        assert!(parse_magnitudes("  ").is_err());
    }

    #[test]
    fn a_matrix_becomes_a_heatmap_of_the_chosen_value() {
        let matrix = RobustnessMatrix {
            detectors: vec!["a".into(), "b".into()],
            kinds: vec!["spike".into()],
            magnitudes: vec![1.0, 2.0],
            repeats: 1,
            seed: 0,
            reliable_rate: 0.9,
            cells: Vec::new(),
            cancelled: true,
        };
        let map = heatmap_of(&matrix, CellValue::DetectionRate);
        assert_eq!(map.rows, ["a", "b"]);
        assert_eq!(map.columns, ["spike@1", "spike@2"]);
        assert!(map.values.iter().flatten().all(|v| v.is_nan()));
        assert_eq!(map.range, Some((0.0, 1.0)));
        assert_eq!(heatmap_of(&matrix, CellValue::DelayRows).range, None);
    }
}
