//! Saving the plot as a PNG: pick a file (native dialog, on a worker), ask the window for a
//! screenshot of the next frame (`ViewportCommand::Screenshot`, through
//! [`egui::Context::request_screenshot`]), crop it to the plot's rectangle and encode it with
//! the `image` crate on a worker. The UI thread only moves the request along each frame.
//!
//! Headless (kittest, no renderer) a screenshot never arrives; [`save_png`] and [`crop`] are
//! the pure parts and are tested directly.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crossbeam_channel::{Receiver, bounded};
use egui::{Color32, ColorImage, Rect};

use crate::engine::{Notifier, Task};
use crate::error::{Error, Result};

/// The export in progress, if any.
#[derive(Debug, Default)]
enum Stage {
    #[default]
    Idle,
    /// The save dialog is open.
    Picking(Task<Option<PathBuf>>),
    /// The screenshot was requested; it arrives on the channel after the next frame.
    Waiting {
        path: PathBuf,
        rect: Rect,
        pixels_per_point: f32,
        image: Receiver<Arc<ColorImage>>,
        frames: u32,
    },
    /// The image is being encoded and written.
    Saving(Task<PathBuf>),
}

/// Frames to wait for a screenshot before giving up (a headless window never sends one).
const MAX_WAIT_FRAMES: u32 = 120;

/// The PNG export of one plot area.
#[derive(Debug, Default)]
pub struct PngExport {
    stage: Stage,
    message: Option<std::result::Result<String, String>>,
}

impl PngExport {
    /// Opens the save dialog (on a worker); the export continues in [`Self::step`].
    pub fn start(&mut self, notifier: &Notifier) {
        if !matches!(self.stage, Stage::Idle) {
            return;
        }
        let task = Task::spawn("png-dialog", notifier.clone(), |_, _| {
            Ok(rfd::FileDialog::new()
                .set_title("Save the plot as PNG")
                .add_filter("PNG image", &["png"])
                .set_file_name("anomdet-plot.png")
                .save_file())
        });
        match task {
            Ok(task) => {
                self.message = None;
                self.stage = Stage::Picking(task);
            }
            Err(error) => self.message = Some(Err(format!("Could not open the dialog: {error}"))),
        }
    }

    /// Saves the area `rect` (in points) of the next frame to `path`, skipping the dialog.
    pub fn start_to(
        &mut self,
        ctx: &egui::Context,
        path: PathBuf,
        rect: Rect,
        notifier: &Notifier,
    ) {
        let (tx, rx) = bounded(1);
        let notifier = notifier.clone();
        ctx.request_screenshot(move |image| {
            // Only the first image matters; a full channel means one is already there.
            tx.try_send(image).ok();
            notifier.notify();
        });
        self.message = None;
        self.stage = Stage::Waiting {
            path,
            rect,
            pixels_per_point: ctx.pixels_per_point(),
            image: rx,
            frames: 0,
        };
    }

    /// The "Save PNG…" button and the last export's outcome, on one line. Returns true when
    /// the button was clicked (then call [`Self::start`]).
    pub fn button_ui(&self, ui: &mut egui::Ui) -> bool {
        let clicked = ui
            .add_enabled(!self.is_busy(), egui::Button::new("Save PNG…"))
            .on_hover_text("Save the plots as they are on screen as a PNG image.")
            .clicked();
        if self.is_busy() {
            ui.spinner();
        }
        match &self.message {
            Some(Ok(text)) => {
                ui.label(egui::RichText::new(text.as_str()).small());
            }
            Some(Err(text)) => {
                ui.label(
                    egui::RichText::new(text.as_str())
                        .small()
                        .color(crate::app::theme::ERROR_TEXT),
                );
            }
            None => {}
        }
        clicked
    }

    /// True while an export runs.
    pub fn is_busy(&self) -> bool {
        !matches!(self.stage, Stage::Idle)
    }

    /// The outcome of the last export, in words (`Err` for failures).
    pub fn message(&self) -> Option<&std::result::Result<String, String>> {
        self.message.as_ref()
    }

    /// Moves the export along; call once per frame with the plot area's current rectangle.
    pub fn step(&mut self, ctx: &egui::Context, rect: Rect, notifier: &Notifier) {
        match std::mem::take(&mut self.stage) {
            Stage::Idle => {}
            Stage::Picking(mut task) => match task.poll() {
                None => self.stage = Stage::Picking(task),
                Some(Ok(Some(path))) => {
                    self.start_to(ctx, with_png_extension(path), rect, notifier);
                }
                Some(Ok(None)) => {}
                Some(Err(error)) => {
                    self.message = Some(Err(format!("Could not open the dialog: {error}")));
                }
            },
            Stage::Waiting {
                path,
                rect,
                pixels_per_point,
                image,
                frames,
            } => match image.try_recv() {
                Ok(image) => {
                    let worker_path = path.clone();
                    let task = Task::spawn("png-save", notifier.clone(), move |_, _| {
                        let cropped = crop(&image, rect, pixels_per_point);
                        save_png(&cropped, &worker_path)?;
                        Ok(worker_path)
                    });
                    match task {
                        Ok(task) => self.stage = Stage::Saving(task),
                        Err(error) => self.message = Some(Err(format!("Could not save: {error}"))),
                    }
                }
                Err(_) if frames >= MAX_WAIT_FRAMES => {
                    self.message = Some(Err(
                        "The window sent no screenshot (is it minimised?); try again.".to_owned(),
                    ));
                }
                Err(_) => {
                    ctx.request_repaint();
                    self.stage = Stage::Waiting {
                        path,
                        rect,
                        pixels_per_point,
                        image,
                        frames: frames + 1,
                    };
                }
            },
            Stage::Saving(mut task) => match task.poll() {
                None => self.stage = Stage::Saving(task),
                Some(Ok(path)) => self.message = Some(Ok(format!("Saved {}", path.display()))),
                Some(Err(error)) => {
                    self.message = Some(Err(format!("Could not save the PNG: {error}")));
                }
            },
        }
    }
}

fn with_png_extension(path: PathBuf) -> PathBuf {
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"))
    {
        path
    } else {
        path.with_extension("png")
    }
}

/// The part of a screenshot under `rect` (points), clamped to the image.
pub fn crop(image: &ColorImage, rect: Rect, pixels_per_point: f32) -> ColorImage {
    let ppp = if pixels_per_point > 0.0 {
        pixels_per_point
    } else {
        1.0
    };
    let [w, h] = image.size;
    let x0 = ((rect.min.x * ppp).round().max(0.0) as usize).min(w);
    let y0 = ((rect.min.y * ppp).round().max(0.0) as usize).min(h);
    let x1 = ((rect.max.x * ppp).round().max(0.0) as usize).clamp(x0, w);
    let y1 = ((rect.max.y * ppp).round().max(0.0) as usize).clamp(y0, h);
    if x1 == x0 || y1 == y0 {
        return image.clone();
    }
    image.region_by_pixels([x0, y0], [x1 - x0, y1 - y0])
}

/// Writes `image` to `path` as an RGBA PNG.
pub fn save_png(image: &ColorImage, path: &Path) -> Result<()> {
    let [w, h] = image.size;
    let bytes: Vec<u8> = image
        .pixels
        .iter()
        .flat_map(Color32::to_srgba_unmultiplied)
        .collect();
    let (w32, h32) = (
        u32::try_from(w).map_err(|_| Error::Invalid(format!("image too wide: {w} pixels")))?,
        u32::try_from(h).map_err(|_| Error::Invalid(format!("image too tall: {h} pixels")))?,
    );
    image::save_buffer_with_format(
        path,
        &bytes,
        w32,
        h32,
        image::ExtendedColorType::Rgba8,
        image::ImageFormat::Png,
    )
    .map_err(|error| match error {
        image::ImageError::IoError(source) => Error::Io {
            context: format!("writing {}", path.display()),
            source,
        },
        other => Error::Invalid(format!("encoding {} as PNG: {other}", path.display())),
    })
}

#[cfg(test)]
mod tests {
    use egui::pos2;

    use super::*;

    #[test]
    fn crops_to_the_plot_and_saves_a_png_that_decodes() {
        let mut image = ColorImage::filled([40, 30], Color32::BLACK);
        image.pixels[10 * 40 + 20] = Color32::from_rgb(255, 0, 0);
        // A 2x display: the rect in points covers pixels 10..30 × 6..20.
        let cropped = crop(
            &image,
            Rect::from_min_max(pos2(5.0, 3.0), pos2(15.0, 10.0)),
            2.0,
        );
        assert_eq!(cropped.size, [20, 14]);
        assert_eq!(cropped.pixels[4 * 20 + 10], Color32::from_rgb(255, 0, 0));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plot.png");
        save_png(&cropped, &path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let icon = eframe::icon_data::from_png_bytes(&bytes).unwrap();
        assert_eq!((icon.width, icon.height), (20, 14));
        assert_eq!(&icon.rgba[(4 * 20 + 10) * 4..][..4], &[255, 0, 0, 255]);
        assert!(save_png(&cropped, &dir.path().join("missing/dir/x.png")).is_err());
    }

    /// The whole export after the dialog, headless: the screenshot request leaves the frame
    /// as a `ViewportCommand::Screenshot` (what eframe turns into a GPU read-back); the test
    /// completes it with a synthetic 2x image, and the file written is that image cropped to
    /// the plot's rectangle.
    #[test]
    fn a_screenshot_answered_after_the_frame_is_cropped_encoded_and_written() {
        use egui_kittest::Harness;

        struct State {
            export: PngExport,
            rect: Rect,
        }
        let rect = Rect::from_min_max(pos2(10.0, 20.0), pos2(60.0, 45.0));
        let mut harness = Harness::builder().with_size([200.0, 100.0]).build_ui_state(
            |ui, s: &mut State| {
                ui.label("plot area");
                s.export.step(ui.ctx(), s.rect, &Notifier::noop());
            },
            State {
                export: PngExport::default(),
                rect,
            },
        );
        harness.run();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plot.png");
        let ctx = harness.ctx.clone();
        harness
            .state_mut()
            .export
            .start_to(&ctx, path.clone(), rect, &Notifier::noop());
        assert!(harness.state().export.is_busy());
        harness.step();
        let callback = harness
            .output()
            .viewport_output
            .values()
            .flat_map(|v| &v.commands)
            .find_map(|c| match c {
                egui::ViewportCommand::Screenshot(cb) => Some(cb.clone()),
                _ => None,
            })
            .expect("the frame asked the window for a screenshot");
        // A 2x screen: every pixel encodes its own position.
        let ppp = harness.ctx.pixels_per_point();
        let (w, h) = ((200.0 * ppp) as usize, (100.0 * ppp) as usize);
        let mut screen = ColorImage::filled([w, h], Color32::BLACK);
        for y in 0..h {
            for x in 0..w {
                screen.pixels[y * w + x] = Color32::from_rgb(x as u8, y as u8, 7);
            }
        }
        callback.complete(Arc::new(screen));
        for _ in 0..500 {
            harness.step();
            if !harness.state().export.is_busy() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let message = harness.state().export.message().cloned();
        assert!(
            matches!(&message, Some(Ok(text)) if text.contains("plot.png")),
            "{message:?}"
        );
        let icon = eframe::icon_data::from_png_bytes(&std::fs::read(&path).unwrap()).unwrap();
        let (cw, ch) = ((50.0 * ppp) as usize, (25.0 * ppp) as usize);
        assert_eq!((icon.width as usize, icon.height as usize), (cw, ch));
        // The top-left pixel of the file is the screen's pixel at the rect's corner.
        let corner = ((10.0 * ppp) as u8, (20.0 * ppp) as u8);
        assert_eq!(&icon.rgba[..4], &[corner.0, corner.1, 7, 255]);
        let last = (cw * ch - 1) * 4;
        assert_eq!(
            &icon.rgba[last..last + 4],
            &[corner.0 + cw as u8 - 1, corner.1 + ch as u8 - 1, 7, 255]
        );
    }

    #[test]
    fn out_of_range_rects_are_clamped_and_names_get_an_extension() {
        let image = ColorImage::filled([10, 10], Color32::WHITE);
        let cropped = crop(
            &image,
            Rect::from_min_max(pos2(-5.0, 5.0), pos2(50.0, 50.0)),
            1.0,
        );
        assert_eq!(cropped.size, [10, 5]);
        assert_eq!(
            with_png_extension(PathBuf::from("a/plot")),
            PathBuf::from("a/plot.png")
        );
        assert_eq!(
            with_png_extension(PathBuf::from("b.PNG")),
            PathBuf::from("b.PNG")
        );
    }
}
