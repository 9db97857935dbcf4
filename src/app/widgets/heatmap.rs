//! A labelled heatmap of a small matrix: the robustness matrix (detectors × perturbations,
//! one metric per cell) and any other table of scores in `[lo, hi]`.
//!
//! Takes plain data ([`HeatmapData`]: row labels, column labels, `Vec<Vec<f64>>`) so it can be
//! fed by whatever computes the matrix (the evaluation module, a stored report) without
//! knowing its types. Row and column labels are real labels (readable by screen readers and
//! kittest); cells are painted, with the value written in each cell and a tooltip naming row,
//! column and value. Non-finite cells are grey with an em dash.

use egui::{Align2, Color32, FontId, Rect, Sense, Stroke, Ui, Vec2};

/// The matrix to draw.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HeatmapData {
    /// Title above the map.
    pub title: String,
    /// One label per row (detectors, say).
    pub rows: Vec<String>,
    /// One label per column (perturbations, say).
    pub columns: Vec<String>,
    /// `values[row][column]`; missing or non-finite entries are drawn as "no value".
    pub values: Vec<Vec<f64>>,
    /// The value range mapped onto the colour scale; `None` takes the finite min and max.
    pub range: Option<(f64, f64)>,
}

impl HeatmapData {
    /// The value at `(row, column)`, if present and finite.
    pub fn value(&self, row: usize, column: usize) -> Option<f64> {
        self.values
            .get(row)?
            .get(column)
            .copied()
            .filter(|v| v.is_finite())
    }

    /// The colour scale's range: `range`, else the finite min and max (a flat matrix gets a
    /// unit-wide range so it still maps to one colour).
    pub fn scale(&self) -> (f64, f64) {
        if let Some((lo, hi)) = self.range.filter(|(lo, hi)| hi > lo) {
            return (lo, hi);
        }
        let mut finite = self
            .values
            .iter()
            .flatten()
            .copied()
            .filter(|v| v.is_finite());
        let Some(first) = finite.next() else {
            return (0.0, 1.0);
        };
        let (lo, hi) = finite.fold((first, first), |(lo, hi), v| (lo.min(v), hi.max(v)));
        if hi > lo {
            (lo, hi)
        } else {
            (lo - 0.5, lo + 0.5)
        }
    }
}

/// Colour stops of the scale, low to high (viridis, readable on dark and light themes).
const STOPS: [Color32; 5] = [
    Color32::from_rgb(68, 1, 84),
    Color32::from_rgb(59, 82, 139),
    Color32::from_rgb(33, 145, 140),
    Color32::from_rgb(94, 201, 98),
    Color32::from_rgb(253, 231, 37),
];

/// Colour of cells with no value.
const MISSING: Color32 = Color32::from_gray(90);

/// The colour of `t` in `[0, 1]` (clamped) on the scale.
pub fn scale_color(t: f64) -> Color32 {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let pos = t * (STOPS.len() - 1) as f64;
    let idx = (pos.floor() as usize).min(STOPS.len() - 2);
    let frac = (pos - idx as f64) as f32;
    let (lo, hi) = (STOPS[idx], STOPS[idx + 1]);
    let mix = |from: u8, to: u8| {
        (f32::from(from) + (f32::from(to) - f32::from(from)) * frac).round() as u8
    };
    Color32::from_rgb(
        mix(lo.r(), hi.r()),
        mix(lo.g(), hi.g()),
        mix(lo.b(), hi.b()),
    )
}

/// Black or white, whichever reads better on `fill`.
fn text_on(fill: Color32) -> Color32 {
    let luma =
        0.299 * f32::from(fill.r()) + 0.587 * f32::from(fill.g()) + 0.114 * f32::from(fill.b());
    if luma > 140.0 {
        Color32::BLACK
    } else {
        Color32::WHITE
    }
}

/// Cell size in points.
const CELL: Vec2 = Vec2::new(72.0, 26.0);

/// Draws the heatmap. Returns the row and column of the hovered cell, if any.
pub fn heatmap_ui(ui: &mut Ui, data: &HeatmapData) -> Option<(usize, usize)> {
    if !data.title.is_empty() {
        ui.strong(data.title.as_str());
    }
    if data.rows.is_empty() || data.columns.is_empty() {
        ui.label("No matrix to show.");
        return None;
    }
    let (lo, hi) = data.scale();
    let mut hovered = None;
    egui::ScrollArea::both()
        .id_salt(("anomdet-heatmap", data.title.as_str()))
        .max_height(ui.available_height().max(120.0))
        .show(ui, |ui| {
            egui::Grid::new(("anomdet-heatmap-grid", data.title.as_str()))
                .spacing([2.0, 2.0])
                .show(ui, |ui| {
                    ui.label("");
                    for column in &data.columns {
                        ui.add_sized(
                            [CELL.x, CELL.y],
                            egui::Label::new(column.as_str()).truncate(),
                        )
                        .on_hover_text(column.as_str());
                    }
                    ui.end_row();
                    for (r, row) in data.rows.iter().enumerate() {
                        ui.label(row.as_str());
                        for (c, column) in data.columns.iter().enumerate() {
                            if cell_ui(ui, data.value(r, c), (lo, hi), row, column) {
                                hovered = Some((r, c));
                            }
                        }
                        ui.end_row();
                    }
                });
            legend_ui(ui, lo, hi);
        });
    hovered
}

fn cell_ui(ui: &mut Ui, value: Option<f64>, (lo, hi): (f64, f64), row: &str, column: &str) -> bool {
    let (rect, response) = ui.allocate_exact_size(CELL, Sense::hover());
    let fill = value.map_or(MISSING, |v| scale_color((v - lo) / (hi - lo)));
    let text = value.map_or_else(|| "—".to_owned(), format_cell);
    if ui.is_rect_visible(rect) {
        let painter = ui.painter();
        painter.rect_filled(rect, 2.0, fill);
        if response.hovered() {
            painter.rect_stroke(
                rect,
                2.0,
                Stroke::new(1.5, ui.visuals().strong_text_color()),
                egui::StrokeKind::Inside,
            );
        }
        painter.text(
            rect.center(),
            Align2::CENTER_CENTER,
            &text,
            FontId::monospace(12.0),
            text_on(fill),
        );
    }
    let hovered = response.hovered();
    response.on_hover_text(format!("{row} × {column}: {text}"));
    hovered
}

fn legend_ui(ui: &mut Ui, lo: f64, hi: f64) {
    ui.horizontal(|ui| {
        ui.label(format_cell(lo));
        let (rect, _) = ui.allocate_exact_size(Vec2::new(160.0, 12.0), Sense::hover());
        let steps = 32;
        for i in 0..steps {
            let t0 = i as f32 / steps as f32;
            let t1 = (i + 1) as f32 / steps as f32;
            let cell = Rect::from_min_max(
                egui::pos2(rect.left() + rect.width() * t0, rect.top()),
                egui::pos2(rect.left() + rect.width() * t1, rect.bottom()),
            );
            ui.painter()
                .rect_filled(cell, 0.0, scale_color(f64::from(t0)));
        }
        ui.label(format_cell(hi));
    });
}

/// A cell value in at most five characters where possible.
fn format_cell(v: f64) -> String {
    if v.abs() >= 1000.0 || (v != 0.0 && v.abs() < 0.001) {
        format!("{v:.1e}")
    } else {
        format!("{v:.3}")
    }
}

#[cfg(test)]
mod tests {
    use egui_kittest::{Harness, kittest::Queryable as _};

    use super::*;

    fn matrix() -> HeatmapData {
        HeatmapData {
            title: "Robustness (VUS-PR)".to_owned(),
            rows: vec!["zscore".to_owned(), "iforest".to_owned()],
            columns: vec![
                "noise 0.1".to_owned(),
                "drift".to_owned(),
                "gaps".to_owned(),
            ],
            values: vec![vec![0.9, 0.5, f64::NAN], vec![0.2, 0.7]],
            range: None,
        }
    }

    #[test]
    fn renders_row_and_column_labels_and_values() {
        let data = matrix();
        let mut harness = Harness::builder().with_size([600.0, 300.0]).build_ui(|ui| {
            heatmap_ui(ui, &data);
        });
        harness.run();
        for label in [
            "Robustness (VUS-PR)",
            "zscore",
            "iforest",
            "noise 0.1",
            "drift",
            "gaps",
        ] {
            assert!(harness.query_by_label(label).is_some(), "label {label:?}");
        }
        assert_eq!(data.value(0, 2), None, "NaN is no value");
        assert_eq!(data.value(1, 2), None, "a short row has no value");
        assert_eq!(data.scale(), (0.2, 0.9));
    }

    #[test]
    fn the_scale_runs_from_dark_to_bright_and_text_stays_readable() {
        assert_eq!(scale_color(0.0), STOPS[0]);
        assert_eq!(scale_color(1.0), STOPS[4]);
        assert_eq!(scale_color(7.0), STOPS[4], "clamped");
        assert_eq!(text_on(scale_color(0.0)), Color32::WHITE);
        assert_eq!(text_on(scale_color(1.0)), Color32::BLACK);
        let flat = HeatmapData {
            values: vec![vec![3.0]],
            ..HeatmapData::default()
        };
        assert_eq!(flat.scale(), (2.5, 3.5));
        assert_eq!(format_cell(0.5), "0.500");
        assert_eq!(format_cell(12_345.0), "1.2e4");
    }
}
