//! Metrics as the user reads them: the cells of the judge table (shared by the panel and the
//! Markdown export) and the exports of an opened run: scores and labels as CSV, the metrics
//! report as Markdown or JSON, all at the threshold on screen.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use super::command::ExportFormat;
use super::truth::Truth;
use crate::error::{Error, Result};
use crate::eval::{EvalReport, Metrics};
use crate::storage::RunSummary;

/// Column headers of the metrics table, in [`metric_cells`] order.
pub const METRIC_HEADERS: [&str; 7] = [
    "VUS-PR", "VUS-ROC", "best F1", "event F1", "point F1", "PA-F1*", "delay",
];

/// Footnote of the PA-F1 column.
pub const PA_NOTE: &str = "* point-adjusted F1 is optimistic: random scores often reach 0.7 \
                           on long windows. Compare it with the random baseline row.";

/// One table row of metrics, formatted.
pub fn metric_cells(m: &Metrics) -> [String; 7] {
    let opt = |v: Option<f64>| v.map_or_else(|| "—".to_owned(), |v| format!("{v:.3}"));
    let delay = match (m.delay.mean_rows, m.delay.windows) {
        (_, 0) => "—".to_owned(),
        (Some(rows), n) => format!("{rows:.1} rows ({}/{n})", m.delay.detected),
        (None, n) => format!("none found (0/{n})"),
    };
    [
        opt(m.vus.map(|v| v.vus_pr)),
        opt(m.vus.map(|v| v.vus_roc)),
        format!("{:.3}", m.best_f1.f1),
        format!("{:.3}", m.event.f1),
        format!("{:.3}", m.point.f1),
        format!("{:.3}", m.point_adjusted.at_predictions.f1),
        delay,
    ]
}

/// What an export needs, copied out of the opened run (a worker writes it).
#[derive(Clone, Debug)]
pub struct ExportInput {
    /// The run.
    pub summary: RunSummary,
    /// Its scores.
    pub scores: std::sync::Arc<[f64]>,
    /// Flags at the threshold on screen.
    pub flags: Vec<bool>,
    /// That threshold.
    pub threshold: Option<f64>,
    /// Whether the user moved it away from the stored rule.
    pub rethresholded: bool,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    run: &'a RunSummary,
    dataset: &'a str,
    threshold: Option<f64>,
    rethresholded: bool,
    flagged_rows: usize,
    report: Option<&'a EvalReport>,
    note: Option<String>,
}

/// Writes `input` as `format` to `path` (blocking: call it on a worker).
///
/// # Errors
/// The file cannot be written, or the run is partial (CSV needs one score per row).
pub fn write_export(
    truth: &Truth,
    input: &ExportInput,
    format: ExportFormat,
    path: &Path,
) -> Result<()> {
    let text = match format {
        ExportFormat::ScoresCsv => {
            if input.scores.len() != truth.series.len() {
                return Err(Error::Invalid(format!(
                    "run {} has {} scores for {} rows: only complete runs can be exported",
                    input.summary.id,
                    input.scores.len(),
                    truth.series.len()
                )));
            }
            crate::import::write_series_csv(
                &truth.series,
                Some((&input.scores, &input.flags)),
                path,
            )?;
            return Ok(());
        }
        ExportFormat::ReportMarkdown => markdown(truth, input),
        ExportFormat::ReportJson => json(truth, input)?,
    };
    std::fs::write(path, text).map_err(|source| Error::Io {
        context: format!("writing {}", path.display()),
        source,
    })
}

fn evaluated(truth: &Truth, input: &ExportInput) -> (Option<EvalReport>, Option<String>) {
    match super::run_view::evaluate_flags(truth, &input.scores, &input.flags) {
        Ok(report) => (Some(report), None),
        Err(error) => (None, Some(error.to_string())),
    }
}

fn threshold_text(input: &ExportInput) -> String {
    let value = input
        .threshold
        .map_or_else(|| "none".to_owned(), |t| format!("{t:.6}"));
    if input.rethresholded {
        format!(
            "{value} (moved by hand from {})",
            input.summary.threshold_json
        )
    } else {
        format!("{value} (rule {})", input.summary.threshold_json)
    }
}

/// The metrics report of a run as Markdown.
pub fn markdown(truth: &Truth, input: &ExportInput) -> String {
    let (report, note) = evaluated(truth, input);
    let s = &input.summary;
    let flagged = input.flags.iter().filter(|&&f| f).count();
    let mut out = format!("# Run {}: {} on {}\n\n", s.id, s.detector, truth.meta.name);
    // Writing to a String cannot fail.
    let _ = writeln!(out, "- Parameters: {}", s.params.summary());
    let _ = writeln!(out, "- Seed: {}", s.seed);
    let _ = writeln!(out, "- Threshold: {}", threshold_text(input));
    let _ = writeln!(out, "- Flagged rows: {flagged} of {}", input.flags.len());
    let _ = writeln!(out, "- Status: {}, mode {}\n", s.status, s.mode);
    match report {
        Some(report) => {
            let _ = writeln!(out, "| | {} |", METRIC_HEADERS.join(" | "));
            let _ = writeln!(out, "|---|{}", "---|".repeat(METRIC_HEADERS.len()));
            let mut row = |name: &str, m: &Metrics| {
                let _ = writeln!(out, "| {name} | {} |", metric_cells(m).join(" | "));
            };
            row(&s.detector, &report.metrics);
            if let Some(b) = &report.baselines {
                row("random baseline", &b.random);
                row("constant baseline", &b.constant);
            }
            let _ = writeln!(
                out,
                "\n{} rows, {} anomalous in {} windows.\n\n{PA_NOTE}",
                report.rows, report.anomalous_rows, report.true_windows
            );
        }
        None => {
            let _ = writeln!(out, "No metrics: {}", note.unwrap_or_default());
        }
    }
    out
}

/// The metrics report of a run as JSON (run, threshold and the full [`EvalReport`]).
///
/// # Errors
/// Serialisation failed (cannot happen for these types).
pub fn json(truth: &Truth, input: &ExportInput) -> Result<String> {
    let (report, note) = evaluated(truth, input);
    let doc = JsonReport {
        run: &input.summary,
        dataset: &truth.meta.name,
        threshold: input.threshold,
        rethresholded: input.rethresholded,
        flagged_rows: input.flags.iter().filter(|&&f| f).count(),
        report: report.as_ref(),
        note,
    };
    serde_json::to_string_pretty(&doc).map_err(|e| Error::Invalid(format!("report JSON: {e}")))
}
