//! [`RobustnessMatrix`]: which detector catches which kind of injected anomaly, at what
//! magnitude, how fast. Rows are detectors, columns `kind@magnitude`; every cell averages
//! `repeats` seeded injections. Pure: the engine fills it with [`CellRun`]s, this file
//! aggregates, finds the smallest reliable magnitude, and renders (CSV, Markdown, and
//! [`HeatmapGrid`] for the GUI's heatmap widget).

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::leaderboard::csv_field;

/// One detector on one injected series (one repeat of one cell).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CellRun {
    /// VUS-PR against the injected labels (None when undefined or failed).
    pub vus_pr: Option<f64>,
    /// Injected windows.
    pub windows: usize,
    /// Injected windows with a flagged row inside.
    pub detected: usize,
    /// Flagged events (runs of flags) that touch no injected window: false alarms.
    pub false_events: usize,
    /// Delay in rows of every detected window.
    pub delays_rows: Vec<usize>,
    /// Why the detector failed, if it did.
    pub error: Option<String>,
}

/// One (detector, kind, magnitude) cell, aggregated over its repeats.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RobustnessCell {
    /// Detector id.
    pub detector: String,
    /// Injector kind id.
    pub kind: String,
    /// Magnitude given to the kind's size parameter.
    pub magnitude: f64,
    /// Repeats that ran (failures excluded).
    pub repeats: usize,
    /// Mean VUS-PR over repeats (None when no repeat defined it).
    pub vus_pr: Option<f64>,
    /// Detected windows / injected windows, over all repeats (0 when nothing ran).
    pub detection_rate: f64,
    /// Mean delay in rows over detected windows.
    pub mean_delay_rows: Option<f64>,
    /// Mean number of false-alarm events per repeat.
    pub false_events: f64,
    /// Failed repeats, with the first error.
    pub failures: usize,
    /// The first error seen.
    pub error: Option<String>,
}

impl RobustnessCell {
    /// Aggregates the repeats of one cell.
    pub fn from_runs(detector: &str, kind: &str, magnitude: f64, runs: &[CellRun]) -> Self {
        let ok: Vec<&CellRun> = runs.iter().filter(|r| r.error.is_none()).collect();
        let vus: Vec<f64> = ok.iter().filter_map(|r| r.vus_pr).collect();
        let windows: usize = ok.iter().map(|r| r.windows).sum();
        let detected: usize = ok.iter().map(|r| r.detected).sum();
        let delays: Vec<usize> = ok.iter().flat_map(|r| r.delays_rows.clone()).collect();
        Self {
            detector: detector.to_owned(),
            kind: kind.to_owned(),
            magnitude,
            repeats: ok.len(),
            vus_pr: mean(&vus),
            detection_rate: if windows == 0 {
                0.0
            } else {
                detected as f64 / windows as f64
            },
            mean_delay_rows: mean(&delays.iter().map(|&d| d as f64).collect::<Vec<_>>()),
            false_events: mean(&ok.iter().map(|r| r.false_events as f64).collect::<Vec<_>>())
                .unwrap_or(0.0),
            failures: runs.len() - ok.len(),
            error: runs.iter().find_map(|r| r.error.clone()),
        }
    }

    /// The value of one cell field.
    pub fn get(&self, value: CellValue) -> Option<f64> {
        match value {
            CellValue::VusPr => self.vus_pr,
            CellValue::DetectionRate => (self.repeats > 0).then_some(self.detection_rate),
            CellValue::DelayRows => self.mean_delay_rows,
            CellValue::FalseEvents => (self.repeats > 0).then_some(self.false_events),
        }
    }
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// Which number of a cell a grid shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CellValue {
    /// Mean VUS-PR (threshold-free).
    #[default]
    VusPr,
    /// Fraction of injected windows the flags hit.
    DetectionRate,
    /// Mean detection delay (rows).
    DelayRows,
    /// Mean false-alarm events per series.
    FalseEvents,
}

impl CellValue {
    /// Every value, in display order.
    pub const ALL: &'static [Self] = &[
        Self::VusPr,
        Self::DetectionRate,
        Self::DelayRows,
        Self::FalseEvents,
    ];

    /// The `snake_case` id.
    pub fn id(self) -> &'static str {
        match self {
            Self::VusPr => "vus_pr",
            Self::DetectionRate => "detection_rate",
            Self::DelayRows => "mean_delay_rows",
            Self::FalseEvents => "false_events",
        }
    }

    /// Parses an id.
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.replace('-', "_").to_ascii_lowercase();
        Self::ALL
            .iter()
            .copied()
            .find(|v| v.id() == t || (t == "delay" && *v == Self::DelayRows))
            .ok_or_else(|| {
                format!(
                    "unknown cell value {text:?} (one of: vus_pr, detection_rate, mean_delay_rows, false_events)"
                )
            })
    }
}

/// A plain grid for a heatmap: `values[row][col]`, NaN where a cell has no value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HeatmapGrid {
    /// What the values are.
    pub title: String,
    /// One label per row (detectors).
    pub row_labels: Vec<String>,
    /// One label per column (`kind@magnitude`).
    pub col_labels: Vec<String>,
    /// Row-major values.
    pub values: Vec<Vec<f64>>,
}

/// The detector × (kind, magnitude) matrix.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RobustnessMatrix {
    /// Detector ids (rows), in input order.
    pub detectors: Vec<String>,
    /// Kind ids, in input order.
    pub kinds: Vec<String>,
    /// Magnitudes, ascending.
    pub magnitudes: Vec<f64>,
    /// Repeats per cell.
    pub repeats: usize,
    /// Seed of the first repeat (repeat r uses `seed + r`).
    pub seed: u64,
    /// Detection rate at or above which a detector "reliably" detects a kind.
    pub reliable_rate: f64,
    /// Cells, detector-major, then kind, then magnitude.
    pub cells: Vec<RobustnessCell>,
    /// True when cancelled before every cell finished.
    pub cancelled: bool,
}

impl RobustnessMatrix {
    /// The cell of `(detector, kind, magnitude)` by index.
    pub fn cell(&self, detector: usize, kind: usize, magnitude: usize) -> Option<&RobustnessCell> {
        let per_detector = self.kinds.len() * self.magnitudes.len();
        self.cells
            .get(detector * per_detector + kind * self.magnitudes.len() + magnitude)
    }

    /// Column labels, `kind@magnitude`, kind-major.
    pub fn column_labels(&self) -> Vec<String> {
        self.kinds
            .iter()
            .flat_map(|k| self.magnitudes.iter().map(move |m| format!("{k}@{m}")))
            .collect()
    }

    /// Rows = detectors, columns = `kind@magnitude`, values = `value` (NaN when missing).
    pub fn to_grid(&self, value: CellValue) -> HeatmapGrid {
        let values = (0..self.detectors.len())
            .map(|d| {
                (0..self.kinds.len())
                    .flat_map(|k| (0..self.magnitudes.len()).map(move |m| (k, m)))
                    .map(|(k, m)| {
                        self.cell(d, k, m)
                            .and_then(|c| c.get(value))
                            .unwrap_or(f64::NAN)
                    })
                    .collect()
            })
            .collect();
        HeatmapGrid {
            title: value.id().to_owned(),
            row_labels: self.detectors.clone(),
            col_labels: self.column_labels(),
            values,
        }
    }

    /// The smallest magnitude from which on (it and every larger one tested) detector `d`
    /// detects kind `k` at a rate of at least [`Self::reliable_rate`]; `None` if never.
    pub fn min_reliable_magnitude(&self, detector: usize, kind: usize) -> Option<f64> {
        let mut best = None;
        for m in (0..self.magnitudes.len()).rev() {
            match self.cell(detector, kind, m) {
                Some(c) if c.repeats > 0 && c.detection_rate >= self.reliable_rate => {
                    best = Some(self.magnitudes[m]);
                }
                _ => break,
            }
        }
        best
    }

    /// Detectors × kinds: the smallest reliable magnitude (NaN = never).
    pub fn reliable_grid(&self) -> HeatmapGrid {
        HeatmapGrid {
            title: format!(
                "smallest magnitude detected at rate >= {}",
                self.reliable_rate
            ),
            row_labels: self.detectors.clone(),
            col_labels: self.kinds.clone(),
            values: (0..self.detectors.len())
                .map(|d| {
                    (0..self.kinds.len())
                        .map(|k| self.min_reliable_magnitude(d, k).unwrap_or(f64::NAN))
                        .collect()
                })
                .collect(),
        }
    }

    /// One line per cell: detector, kind, magnitude and every value.
    pub fn to_csv(&self) -> String {
        let mut out = String::from(
            "detector,kind,magnitude,repeats,vus_pr,detection_rate,mean_delay_rows,false_events,failures,error\n",
        );
        let opt = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
        for c in &self.cells {
            writeln!(
                out,
                "{},{},{},{},{},{},{},{},{},{}",
                csv_field(&c.detector),
                csv_field(&c.kind),
                c.magnitude,
                c.repeats,
                opt(c.vus_pr),
                c.detection_rate,
                opt(c.mean_delay_rows),
                c.false_events,
                c.failures,
                csv_field(c.error.as_deref().unwrap_or(""))
            )
            .ok();
        }
        out
    }

    /// Markdown: one table per value, then the smallest reliable magnitudes.
    pub fn to_markdown(&self) -> String {
        let mut md = format!(
            "# AnomDet robustness matrix\n\n{} detectors × {} kinds × {} magnitudes, {} repeats \
             per cell (seeds {}..{}).{}\n",
            self.detectors.len(),
            self.kinds.len(),
            self.magnitudes.len(),
            self.repeats,
            self.seed,
            self.seed + self.repeats as u64,
            if self.cancelled {
                " CANCELLED: partial results."
            } else {
                ""
            }
        );
        for value in [
            CellValue::VusPr,
            CellValue::DetectionRate,
            CellValue::DelayRows,
        ] {
            writeln!(md, "\n## {}\n", value.id()).ok();
            grid_markdown(&mut md, &self.to_grid(value));
        }
        writeln!(
            md,
            "\n## Smallest reliable magnitude (detection rate >= {})\n",
            self.reliable_rate
        )
        .ok();
        grid_markdown(&mut md, &self.reliable_grid());
        md
    }
}

/// Appends a grid as a Markdown table (`-` for NaN).
pub fn grid_markdown(md: &mut String, grid: &HeatmapGrid) {
    writeln!(md, "| | {} |", grid.col_labels.join(" | ")).ok();
    writeln!(md, "|---|{}", "---|".repeat(grid.col_labels.len())).ok();
    for (label, row) in grid.row_labels.iter().zip(&grid.values) {
        let cells: Vec<String> = row.iter().map(|&v| fmt_cell(v)).collect();
        writeln!(md, "| {label} | {} |", cells.join(" | ")).ok();
    }
}

/// `0.512`, or `-` for NaN.
pub fn fmt_cell(v: f64) -> String {
    if v.is_nan() {
        "-".to_owned()
    } else if v.fract() == 0.0 && v.abs() < 1e6 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(detected: usize, vus: f64) -> CellRun {
        CellRun {
            vus_pr: Some(vus),
            windows: 2,
            detected,
            false_events: 1,
            delays_rows: vec![0; detected],
            error: None,
        }
    }

    fn matrix() -> RobustnessMatrix {
        // One detector, one kind, magnitudes 1, 2, 4: detects half at 1, all at 2 and 4.
        let cells = vec![
            RobustnessCell::from_runs("z", "spike", 1.0, &[run(1, 0.2), run(1, 0.4)]),
            RobustnessCell::from_runs("z", "spike", 2.0, &[run(2, 0.8), run(2, 0.9)]),
            RobustnessCell::from_runs("z", "spike", 4.0, &[run(2, 1.0), run(2, 1.0)]),
        ];
        RobustnessMatrix {
            detectors: vec!["z".into()],
            kinds: vec!["spike".into()],
            magnitudes: vec![1.0, 2.0, 4.0],
            repeats: 2,
            seed: 0,
            reliable_rate: 0.9,
            cells,
            cancelled: false,
        }
    }

    #[test]
    fn cells_aggregate_repeats_and_failures() {
        let mut runs = vec![run(1, 0.2), run(2, 0.6)];
        runs.push(CellRun {
            error: Some("too short".into()),
            ..run(0, 0.0)
        });
        let c = RobustnessCell::from_runs("z", "spike", 3.0, &runs);
        assert_eq!((c.repeats, c.failures), (2, 1));
        assert!((c.vus_pr.unwrap() - 0.4).abs() < 1e-12);
        assert!((c.detection_rate - 0.75).abs() < 1e-12);
        assert_eq!(c.error.as_deref(), Some("too short"));
    }

    #[test]
    fn grid_and_reliable_magnitude() {
        let m = matrix();
        let g = m.to_grid(CellValue::DetectionRate);
        assert_eq!(g.col_labels, vec!["spike@1", "spike@2", "spike@4"]);
        assert_eq!(g.values, vec![vec![0.5, 1.0, 1.0]]);
        assert_eq!(m.min_reliable_magnitude(0, 0), Some(2.0));
        let md = m.to_markdown();
        assert!(md.contains("| z | 0.500 | 1 | 1 |"), "{md}");
        let csv = m.to_csv();
        assert_eq!(csv.lines().count(), 4);
        assert_eq!(CellValue::parse("delay"), Ok(CellValue::DelayRows));
    }

    #[test]
    fn a_gap_at_a_larger_magnitude_means_not_reliable_below_it() {
        let mut m = matrix();
        m.cells[2].detection_rate = 0.0;
        assert_eq!(m.min_reliable_magnitude(0, 0), None);
    }
}
