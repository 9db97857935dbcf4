//! Colours and sizes of the desktop app, in one place so panels never invent their own
//! (rerun bans ad-hoc `Color32::from_rgb` outside its theme; we keep the same discipline by
//! review). Everything here is a constant or a pure function of an index.

use egui::Color32;

/// Line colours for value columns, cycled by column index. Chosen to stay readable on both
/// the dark and the light egui theme (Tableau 10, slightly brightened).
const SERIES: [Color32; 8] = [
    Color32::from_rgb(78, 151, 219),
    Color32::from_rgb(242, 142, 43),
    Color32::from_rgb(89, 186, 88),
    Color32::from_rgb(225, 87, 89),
    Color32::from_rgb(176, 122, 201),
    Color32::from_rgb(237, 201, 72),
    Color32::from_rgb(118, 183, 178),
    Color32::from_rgb(255, 157, 167),
];

/// The colour of value column `index`.
pub fn series_color(index: usize) -> Color32 {
    SERIES[index % SERIES.len()]
}

/// Fill of a ground-truth (labelled) anomaly window.
pub const LABEL_FILL: Color32 = Color32::from_rgba_premultiplied(110, 30, 30, 70);

/// Border of a ground-truth anomaly window.
pub const LABEL_BORDER: Color32 = Color32::from_rgba_premultiplied(200, 60, 60, 140);

/// Text colour of errors in the status bar.
pub const ERROR_TEXT: Color32 = Color32::from_rgb(235, 90, 90);

/// Text colour of warnings in the status bar and the dataset list.
pub const WARNING_TEXT: Color32 = Color32::from_rgb(230, 180, 60);

/// Backdrop painted over the window while files are dragged over it.
pub const DROP_BACKDROP: Color32 = Color32::from_black_alpha(170);

/// Text of the drop hint.
pub const DROP_TEXT: Color32 = Color32::WHITE;

/// Line width of plotted series, in points.
pub const LINE_WIDTH: f32 = 1.2;

/// Smallest height of one stacked plot, in points; below this the stack scrolls.
pub const MIN_PLOT_HEIGHT: f32 = 110.0;

/// Default width of the dataset panel, in points.
pub const DATASET_PANEL_WIDTH: f32 = 360.0;

/// Highest number of rows of the import-warnings list before it scrolls, in points.
pub const WARNINGS_LIST_HEIGHT: f32 = 140.0;

// ---- workflow: injection preview, scores, detections (issue 8 steps 2-6) ----

/// Fill of a window an injection plan created (told apart from labelled windows).
pub const INJECTED_FILL: Color32 = Color32::from_rgba_premultiplied(80, 40, 120, 70);

/// Border of an injected window.
pub const INJECTED_BORDER: Color32 = Color32::from_rgba_premultiplied(170, 110, 230, 160);

/// Fill of the row window being placed on the preview plot.
pub const TARGET_FILL: Color32 = Color32::from_rgba_premultiplied(40, 70, 110, 60);

/// Border of the row window being placed.
pub const TARGET_BORDER: Color32 = Color32::from_rgba_premultiplied(90, 160, 230, 180);

/// The original values under an injection preview.
pub const ORIGINAL_LINE: Color32 = Color32::from_gray(140);

/// A detection that overlaps a truth window (true positive).
pub const HIT_FILL: Color32 = Color32::from_rgba_premultiplied(40, 110, 50, 110);

/// A detection outside every truth window (false positive).
pub const FALSE_FILL: Color32 = Color32::from_rgba_premultiplied(130, 80, 10, 110);

/// Outline of a truth window no detection touched (missed).
pub const MISS_BORDER: Color32 = Color32::from_rgb(235, 70, 70);

/// Outline of the selected detection.
pub const SELECTED_BORDER: Color32 = Color32::from_rgb(240, 220, 80);

/// A detector's score line.
pub const SCORE_LINE: Color32 = Color32::from_rgb(120, 190, 240);

/// The threshold line.
pub const THRESHOLD_LINE: Color32 = Color32::from_rgb(240, 170, 60);

/// Default width of the workflow panel, in points.
pub const WORKFLOW_PANEL_WIDTH: f32 = 360.0;

/// Default height of the results area under the data plot, in points.
pub const RESULTS_HEIGHT: f32 = 340.0;
