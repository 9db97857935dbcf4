//! Where the CLI writes: tables for people, JSON for scripts, progress bars on stderr.

use std::io::Write;
use std::time::Duration;

use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::engine::Task;
use crate::model::ParamSpec;

/// The CLI's standard output (a buffer in tests).
#[derive(Debug)]
pub struct Output {
    sink: Sink,
}

#[derive(Debug)]
enum Sink {
    Stdout,
    Buffer(Vec<u8>),
}

impl Output {
    /// Writes to the process's stdout.
    pub fn stdout() -> Self {
        Self { sink: Sink::Stdout }
    }

    /// Writes into memory (tests).
    pub fn buffer() -> Self {
        Self {
            sink: Sink::Buffer(Vec::new()),
        }
    }

    /// What was written to a buffer output (empty for stdout).
    pub fn buffered_text(&self) -> String {
        match &self.sink {
            Sink::Stdout => String::new(),
            Sink::Buffer(b) => String::from_utf8_lossy(b).into_owned(),
        }
    }

    /// Writes one line.
    pub fn line(&mut self, text: &str) -> anyhow::Result<()> {
        match &mut self.sink {
            Sink::Stdout => {
                let mut lock = std::io::stdout().lock();
                writeln!(lock, "{text}")?;
            }
            Sink::Buffer(b) => writeln!(b, "{text}")?,
        }
        Ok(())
    }

    /// Writes a value as pretty JSON.
    pub fn json(&mut self, value: &impl Serialize) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(value)?;
        self.line(&text)
    }

    /// Writes a table with a header row.
    pub fn table(&mut self, header: &[&str], rows: Vec<Vec<String>>) -> anyhow::Result<()> {
        let mut table = Table::new();
        table
            .load_style(UTF8_BORDERS_ONLY)
            .set_header(header.to_vec());
        for row in rows {
            table.add_row(row);
        }
        self.line(&table.to_string())
    }
}

/// Waits for a task while drawing a progress bar on stderr (hidden when stderr is not a
/// terminal, as indicatif does).
pub fn wait_with_progress<T: Send + 'static>(task: Task<T>, message: &str) -> crate::Result<T> {
    let bar = ProgressBar::new(1000);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {percent}% ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(message.to_owned());
    let mut task = task;
    loop {
        if let Some(result) = task.poll() {
            bar.finish_and_clear();
            return result;
        }
        bar.set_position((task.progress().fraction() * 1000.0) as u64);
        bar.tick();
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One parameter of a detector or injector as `detectors --json` / `injectors --json` print it.
#[derive(Debug, Serialize)]
pub(super) struct ParamJson {
    name: &'static str,
    default: String,
    allowed: String,
    help: &'static str,
}

/// A parameter schema in its printed form.
pub(super) fn params_json(schema: &[ParamSpec]) -> Vec<ParamJson> {
    schema
        .iter()
        .map(|p| ParamJson {
            name: p.name,
            default: p.default_value().to_string(),
            allowed: p.allowed(),
            help: p.help,
        })
        .collect()
}

/// `name=default (allowed)` per line, for the table cell listing a schema.
pub(super) fn params_text(params: &[ParamJson]) -> String {
    params
        .iter()
        .map(|p| format!("{}={} ({})", p.name, p.default, p.allowed))
        .collect::<Vec<_>>()
        .join("\n")
}
