//! The jobs panel (the Watch tab of the workflow panel): every stream this window started,
//! with its state, progress, throughput and Pause/Resume/Cancel (Space pauses or resumes the
//! focused one), the newest detections of the focused stream, then every stored job (of
//! this and earlier sessions, batch and stream) with its state, progress and throughput.

use egui::{RichText, Ui};

use super::view::{format_rate, status_label};
use super::{LiveStatus, Watch, WatchCommand};
use crate::app::command::UiCommand;
use crate::app::panels::datasets::thousands;
use crate::storage::JobRecord;

/// Detections listed for the focused stream.
const DETECTIONS_LISTED: usize = 12;

impl Watch {
    /// Draws the jobs panel.
    pub fn panel_ui(&self, ui: &mut Ui, cmds: &mut Vec<UiCommand>) {
        egui::ScrollArea::vertical()
            .id_salt("anomdet-jobs-scroll")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                ui.label(RichText::new("Streams").strong());
                if self.streams().is_empty() {
                    ui.label(
                        RichText::new(
                            "No stream yet: pick detectors in the Detect tab and press \
                             \"Run as stream\".",
                        )
                        .weak(),
                    );
                }
                let focused = self.focused().map(super::LiveStream::key);
                for stream in self.streams().iter().rev() {
                    let key = stream.key();
                    ui.separator();
                    ui.horizontal(|ui| {
                        let title = format!("#{key} {}", stream.info().title);
                        if ui
                            .selectable_label(focused == Some(key), title)
                            .on_hover_text("Show this stream in the live view")
                            .clicked()
                        {
                            cmds.push(UiCommand::Watch(WatchCommand::Focus(key)));
                        }
                    });
                    ui.horizontal(|ui| {
                        status_label(ui, stream);
                        if let Some(job) = stream.job().filter(|j| j.0 > 0) {
                            ui.label(RichText::new(format!("job {job}")).weak());
                        }
                        if let Some(rate) = stream.rows_per_sec() {
                            ui.label(format!("{} rows/s", format_rate(rate)));
                        }
                    });
                    let (rows, total) = (stream.rows(), stream.rows_total());
                    if total > 0 {
                        ui.add(
                            egui::ProgressBar::new(rows as f32 / total as f32).text(format!(
                                "{} / {} rows",
                                thousands(rows),
                                thousands(total)
                            )),
                        );
                    }
                    ui.horizontal(|ui| {
                        if stream.is_controllable() {
                            if stream.status() == LiveStatus::Paused {
                                if ui.button(format!("Resume #{key}")).clicked() {
                                    cmds.push(UiCommand::Watch(WatchCommand::Resume(key)));
                                }
                            } else if ui.button(format!("Pause #{key}")).clicked() {
                                cmds.push(UiCommand::Watch(WatchCommand::Pause(key)));
                            }
                            if ui.button(format!("Cancel #{key}")).clicked() {
                                cmds.push(UiCommand::Watch(WatchCommand::Cancel(key)));
                            }
                        } else if !stream.is_active()
                            && ui.button(format!("Close #{key}")).clicked()
                        {
                            cmds.push(UiCommand::Watch(WatchCommand::Close(key)));
                        }
                    });
                    if let Some(error) = stream.error() {
                        ui.colored_label(crate::app::theme::ERROR_TEXT, error);
                    }
                    for notice in stream.notices() {
                        ui.label(RichText::new(notice).small().weak());
                    }
                }
                if let Some(stream) = self.focused()
                    && let Some(data) = stream.data()
                {
                    ui.separator();
                    ui.label(RichText::new("Detections (newest first)").strong());
                    let items = data.recent_detections(DETECTIONS_LISTED);
                    if items.is_empty() {
                        ui.label(RichText::new("none yet").weak());
                    }
                    for item in items {
                        let class = match (item.hit, item.open) {
                            (true, _) => "true positive",
                            (false, true) => "open, no truth yet",
                            (false, false) => "false positive",
                        };
                        let detector = data
                            .detectors
                            .get(item.detector)
                            .map_or("", |d| d.id.as_str());
                        ui.label(
                            RichText::new(format!(
                                "{detector}: rows {}..{} · {class}",
                                item.rows.start, item.rows.end
                            ))
                            .small(),
                        );
                    }
                }
                ui.separator();
                ui.horizontal(|ui| {
                    ui.label(RichText::new("Stored jobs").strong());
                    if ui.small_button("Refresh jobs").clicked() {
                        cmds.push(UiCommand::Watch(WatchCommand::RefreshJobs));
                    }
                });
                if self.stored_jobs().is_empty() {
                    ui.label(RichText::new("none").weak());
                }
                for job in self.stored_jobs().iter().rev() {
                    job_row_ui(ui, job);
                }
            });
    }
}

fn job_row_ui(ui: &mut Ui, job: &JobRecord) {
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new(format!("job {} ({})", job.id, job.kind)).small());
        ui.label(RichText::new(job.status.as_str()).small().strong());
        let total = job.rows_total.max(1);
        ui.label(
            RichText::new(format!(
                "{} / {} rows ({:.0} %)",
                thousands(job.rows_done),
                thousands(job.rows_total),
                100.0 * job.rows_done as f64 / total as f64
            ))
            .small(),
        );
        if job.rows_per_sec.is_finite() {
            ui.label(RichText::new(format!("{} rows/s", format_rate(job.rows_per_sec))).small());
        }
    });
}
