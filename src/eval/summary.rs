//! The headline numbers of an evaluation in flat form: [`ScoreCard`] (one run or baseline),
//! [`RunMetrics`] (what is stored with a run as `metrics_json`, so run listings and the GUI
//! show metrics without recomputing them) and [`MetricId`] (a metric chosen by name, for
//! ranking leaderboards and filling robustness heatmaps).
//!
//! Flat on purpose: the stored JSON has numbers at the top level and one nested level for the
//! baselines (`random.vus_pr`), which is what generic viewers can flatten.

use serde::{Deserialize, Serialize};

use super::report::{EvalReport, Metrics};

/// The headline metrics of one (labels, scores, flags) evaluation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ScoreCard {
    /// VUS-PR (None when no row is normal).
    pub vus_pr: Option<f64>,
    /// VUS-ROC (None when no row is normal).
    pub vus_roc: Option<f64>,
    /// PR-AUC (average precision).
    pub pr_auc: f64,
    /// ROC-AUC (None when no row is normal).
    pub roc_auc: Option<f64>,
    /// Best point F1 over all thresholds (oracle threshold).
    pub best_f1: f64,
    /// Point F1 of the run's own flags.
    pub f1: f64,
    /// Event-wise F1 of the flags.
    pub event_f1: f64,
    /// Range-based F1 of the flags (Tatbul et al.).
    pub range_f1: f64,
    /// Best point-adjusted F1. OPTIMISTIC: random scores reach ~0.7 on long windows.
    pub pa_f1_optimistic: f64,
    /// NAB standard-profile score, normalised (None when undefined).
    pub nab_standard: Option<f64>,
    /// True windows.
    pub true_windows: usize,
    /// True windows with at least one flagged row.
    pub detected_windows: usize,
    /// Mean detection delay in rows over detected windows.
    pub mean_delay_rows: Option<f64>,
}

impl ScoreCard {
    /// The headline numbers of a full [`Metrics`].
    pub fn from_metrics(m: &Metrics) -> Self {
        Self {
            vus_pr: m.vus.map(|v| v.vus_pr),
            vus_roc: m.vus.map(|v| v.vus_roc),
            pr_auc: m.pr_auc,
            roc_auc: m.roc_auc,
            best_f1: m.best_f1.f1,
            f1: m.point.f1,
            event_f1: m.event.f1,
            range_f1: m.range.f1,
            pa_f1_optimistic: m.point_adjusted.best.f1,
            nab_standard: m.nab.map(|n| n.standard.normalized),
            true_windows: m.delay.windows,
            detected_windows: m.delay.detected,
            mean_delay_rows: m.delay.mean_rows,
        }
    }

    /// Fraction of true windows detected by the flags (0 when there is none).
    pub fn detection_rate(&self) -> f64 {
        if self.true_windows == 0 {
            0.0
        } else {
            self.detected_windows as f64 / self.true_windows as f64
        }
    }

    /// The value of one metric.
    pub fn get(&self, metric: MetricId) -> Option<f64> {
        match metric {
            MetricId::VusPr => self.vus_pr,
            MetricId::VusRoc => self.vus_roc,
            MetricId::PrAuc => Some(self.pr_auc),
            MetricId::RocAuc => self.roc_auc,
            MetricId::BestF1 => Some(self.best_f1),
            MetricId::F1 => Some(self.f1),
            MetricId::EventF1 => Some(self.event_f1),
            MetricId::RangeF1 => Some(self.range_f1),
            MetricId::PaF1 => Some(self.pa_f1_optimistic),
            MetricId::Nab => self.nab_standard,
            MetricId::DetectionRate => Some(self.detection_rate()),
            MetricId::DelayRows => self.mean_delay_rows,
        }
    }
}

/// What is stored as a run's `metrics_json` after evaluation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunMetrics {
    /// The run's own metrics, at the top level.
    #[serde(flatten)]
    pub run: ScoreCard,
    /// Rows evaluated.
    pub rows: usize,
    /// Rows labelled anomalous.
    pub anomalous_rows: usize,
    /// VUS sliding window used.
    pub sliding_window: usize,
    /// The random-score baseline on the same labels (same alarm budget).
    pub random: Option<ScoreCard>,
    /// The constant-score baseline.
    pub constant: Option<ScoreCard>,
}

impl RunMetrics {
    /// The flat summary of a report.
    pub fn from_report(report: &EvalReport) -> Self {
        Self {
            run: ScoreCard::from_metrics(&report.metrics),
            rows: report.rows,
            anomalous_rows: report.anomalous_rows,
            sliding_window: report.options.vus.sliding_window,
            random: report
                .baselines
                .as_ref()
                .map(|b| ScoreCard::from_metrics(&b.random)),
            constant: report
                .baselines
                .as_ref()
                .map(|b| ScoreCard::from_metrics(&b.constant)),
        }
    }

    /// Compact JSON (what storage keeps).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }

    /// Parses stored JSON; `None` for runs never evaluated (`{}`) or foreign JSON.
    pub fn from_json(text: &str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }
}

/// A metric chosen by name (CLI `--metric`, leaderboard ranking, heatmap values).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricId {
    /// VUS-PR (the default: robust to window length and threshold).
    #[default]
    VusPr,
    /// VUS-ROC.
    VusRoc,
    /// PR-AUC.
    PrAuc,
    /// ROC-AUC.
    RocAuc,
    /// Best point F1 (oracle threshold).
    BestF1,
    /// Point F1 of the flags.
    F1,
    /// Event F1 of the flags.
    EventF1,
    /// Range F1 of the flags.
    RangeF1,
    /// Best point-adjusted F1 (optimistic).
    PaF1,
    /// NAB standard score.
    Nab,
    /// Fraction of true windows detected by the flags.
    DetectionRate,
    /// Mean detection delay in rows (lower is better).
    DelayRows,
}

impl MetricId {
    /// Every metric, in display order.
    pub const ALL: &'static [Self] = &[
        Self::VusPr,
        Self::VusRoc,
        Self::PrAuc,
        Self::RocAuc,
        Self::BestF1,
        Self::F1,
        Self::EventF1,
        Self::RangeF1,
        Self::PaF1,
        Self::Nab,
        Self::DetectionRate,
        Self::DelayRows,
    ];

    /// The `snake_case` id (CLI and CSV column name).
    pub fn id(self) -> &'static str {
        match self {
            Self::VusPr => "vus_pr",
            Self::VusRoc => "vus_roc",
            Self::PrAuc => "pr_auc",
            Self::RocAuc => "roc_auc",
            Self::BestF1 => "best_f1",
            Self::F1 => "f1",
            Self::EventF1 => "event_f1",
            Self::RangeF1 => "range_f1",
            Self::PaF1 => "pa_f1_optimistic",
            Self::Nab => "nab_standard",
            Self::DetectionRate => "detection_rate",
            Self::DelayRows => "mean_delay_rows",
        }
    }

    /// Human label for tables.
    pub fn label(self) -> &'static str {
        match self {
            Self::VusPr => "VUS-PR",
            Self::VusRoc => "VUS-ROC",
            Self::PrAuc => "PR-AUC",
            Self::RocAuc => "ROC-AUC",
            Self::BestF1 => "best F1",
            Self::F1 => "F1",
            Self::EventF1 => "event F1",
            Self::RangeF1 => "range F1",
            Self::PaF1 => "PA-F1 (optimistic)",
            Self::Nab => "NAB",
            Self::DetectionRate => "detection rate",
            Self::DelayRows => "delay (rows)",
        }
    }

    /// False for metrics where lower is better (delay).
    pub fn higher_is_better(self) -> bool {
        self != Self::DelayRows
    }

    /// Parses an id (`vus_pr`) or a label (`VUS-PR`), ignoring case, `-` and `_`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let norm = |s: &str| {
            s.chars()
                .filter(char::is_ascii_alphanumeric)
                .collect::<String>()
                .to_ascii_lowercase()
        };
        let wanted = norm(text);
        Self::ALL
            .iter()
            .copied()
            .find(|m| norm(m.id()) == wanted || norm(m.label()) == wanted)
            .ok_or_else(|| {
                let ids: Vec<&str> = Self::ALL.iter().map(|m| m.id()).collect();
                format!("unknown metric {text:?} (one of: {})", ids.join(", "))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::{EvalOptions, evaluate};

    #[test]
    fn stored_json_is_flat_and_round_trips() {
        let mut labels = vec![false; 300];
        labels[100..120].fill(true);
        let scores: Vec<f64> = labels.iter().map(|&l| f64::from(u8::from(l))).collect();
        let report = evaluate(&labels, &scores, &labels, None, &EvalOptions::default()).unwrap();
        let stored = RunMetrics::from_report(&report);
        let json = stored.to_json();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert!(value["vus_pr"].as_f64().unwrap() > 0.99, "{json}");
        assert!(value["random"]["vus_pr"].is_f64(), "{json}");
        assert_eq!(RunMetrics::from_json(&json), Some(stored.clone()));
        assert_eq!(RunMetrics::from_json("{}"), None);
        assert!((stored.run.detection_rate() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn metric_ids_parse_by_id_and_label() {
        for &m in MetricId::ALL {
            assert_eq!(MetricId::parse(m.id()), Ok(m));
            assert_eq!(MetricId::parse(m.label()), Ok(m));
        }
        assert_eq!(MetricId::parse("VUS_PR"), Ok(MetricId::VusPr));
        assert!(MetricId::parse("accuracy").is_err());
        assert!(!MetricId::DelayRows.higher_is_better());
    }
}
