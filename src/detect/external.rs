//! External detectors: a user's program (any language) scores rows it reads from its stdin,
//! registered from a small JSON file so that it shows up in the CLI and GUI like a built-in.
//!
//! # Protocol
//! The program gets one line per row on stdin and must answer each with one line on stdout
//! (and flush), before or after reading the next row:
//! - `"format": "csv"` (default): the row's values separated by commas, missing values as
//!   `NaN` (e.g. `1.5,NaN,3`);
//! - `"format": "jsonl"`: `{"index":0,"ts":<ns since epoch>,"values":[1.5,null,3]}`.
//!
//! The answer is a number (higher = more anomalous) or `nan`/empty for "no score yet". The
//! program's working directory is the folder of its config file. `reset` restarts it; a batch
//! run starts a fresh process, writes all rows from a writer thread and closes stdin at the end.
//!
//! # Config (`<dir>/*.json`)
//! `{"id": "mean_distance_py", "name": "Mean distance (Python)", "command": "python3",
//!   "args": ["mean_distance.py"], "format": "csv", "timeout_ms": 5000}` plus optional
//! `description`, `multivariate` (default true) and `warm_up_rows`. The folder is
//! `$ANOMDET_DETECTORS_DIR`, else `detectors/` in the platform config folder
//! (`~/.config/anomdet/detectors` on Linux).
//!
//! # Failure
//! A program that cannot start, exits, stays silent longer than `timeout_ms` for one row, or
//! prints something that is not a number is a [`DetectError::Backend`] naming the detector,
//! the row and the program's last stderr lines; the program is killed on every error and when
//! the detector is dropped. The app never waits longer than the timeout: stdout is read by a
//! named thread into a bounded channel, and the caller waits with `recv_timeout`.

use std::io::{BufRead as _, BufReader, BufWriter, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, bounded};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use super::registry::DetectorEntry;
use super::{DetectError, Detector, DetectorInfo, Family};
use crate::control::CancelToken;
use crate::model::{ParamKind, ParamSpec, Params, Row, Series};

/// Environment variable naming the folder of external detector configs.
pub const DIR_ENV: &str = "ANOMDET_DETECTORS_DIR";

/// Lines of program output buffered ahead of the reader.
const CHANNEL_LINES: usize = 1024;
/// Bytes of the program's stderr kept for error messages.
const STDERR_TAIL: usize = 2000;

/// How rows are written to the program.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Comma-separated values, one row per line.
    #[default]
    Csv,
    /// One JSON object per line: index, timestamp (ns), values (null = missing).
    Jsonl,
}

/// One external detector's config file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalConfig {
    /// Stable `snake_case` id (stored with runs; must not clash with a built-in).
    pub id: String,
    /// Display name.
    pub name: String,
    /// What it catches (shown in listings).
    #[serde(default)]
    pub description: String,
    /// Program to run (looked up in `PATH`, or relative to the config's folder).
    pub command: String,
    /// Its arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// Row encoding.
    #[serde(default)]
    pub format: Format,
    /// Longest wait for one row's score, in milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// True (default) when the program scores all columns jointly.
    #[serde(default = "default_true")]
    pub multivariate: bool,
    /// Leading rows the program may answer with `nan`.
    #[serde(default)]
    pub warm_up_rows: Option<usize>,
    /// Folder the program runs in (the config file's folder; not part of the file).
    #[serde(skip)]
    pub dir: PathBuf,
}

fn default_timeout_ms() -> u64 {
    10_000
}

fn default_true() -> bool {
    true
}

impl ExternalConfig {
    /// Reads and checks one config file; `dir` is set to the file's folder.
    pub fn from_file(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut config: Self =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        config.dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        config
            .check()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(config)
    }

    /// Checks id, command and timeout.
    pub fn check(&self) -> Result<(), String> {
        let snake = !self.id.is_empty()
            && self
                .id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !snake {
            return Err(format!("id {:?} must be snake_case (a-z, 0-9, _)", self.id));
        }
        if self.command.trim().is_empty() {
            return Err("command is empty".into());
        }
        if !(1..=3_600_000).contains(&self.timeout_ms) {
            return Err(format!(
                "timeout_ms {} must be in 1..=3600000",
                self.timeout_ms
            ));
        }
        Ok(())
    }
}

/// The config folder: `$ANOMDET_DETECTORS_DIR`, else `detectors/` in the platform config
/// folder.
pub fn default_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(DIR_ENV) {
        return Some(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("org", "anomdet", "anomdet")
        .map(|d| d.config_dir().join("detectors"))
}

/// Every `*.json` config in `dir` (sorted by file name) and the problems found (unreadable
/// files, bad JSON, bad ids). A missing folder is no problem: no externals.
pub fn load_dir(dir: &Path) -> (Vec<ExternalConfig>, Vec<String>) {
    let Ok(read) = std::fs::read_dir(dir) else {
        return (Vec::new(), Vec::new());
    };
    let mut paths: Vec<PathBuf> = read
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    let mut configs: Vec<ExternalConfig> = Vec::new();
    let mut problems = Vec::new();
    for path in paths {
        match ExternalConfig::from_file(&path) {
            Ok(c) if configs.iter().any(|o| o.id == c.id) => {
                problems.push(format!(
                    "{}: id {:?} is used twice; ignored",
                    path.display(),
                    c.id
                ));
            }
            Ok(c) => configs.push(c),
            Err(e) => problems.push(e),
        }
    }
    (configs, problems)
}

/// A registry entry for `config`, leaked so it lives as long as the built-ins (configs are
/// loaded once per process, or on an explicit reload: a few hundred bytes each).
pub(super) fn leak_entry(config: &ExternalConfig) -> &'static DetectorEntry {
    let params: &'static [ParamSpec] = Box::leak(Box::new([ParamSpec {
        name: "timeout_ms",
        kind: ParamKind::Int {
            min: 1,
            max: 3_600_000,
            default: config.timeout_ms as i64,
        },
        help: "Longest wait for the program's score of one row, in milliseconds.",
    }]));
    let leak = |s: &str| -> &'static str { Box::leak(s.to_owned().into_boxed_str()) };
    let description = if config.description.is_empty() {
        format!(
            "External program: {} {}",
            config.command,
            config.args.join(" ")
        )
    } else {
        config.description.clone()
    };
    let info: &'static DetectorInfo = Box::leak(Box::new(DetectorInfo {
        id: leak(&config.id),
        name: leak(&config.name),
        family: Family::External,
        multivariate: config.multivariate,
        streaming: true,
        description: leak(&description),
        params,
    }));
    Box::leak(Box::new(DetectorEntry {
        info,
        build: build_unbound,
    }))
}

/// The entry's `build` field: an external needs its config, which a plain `fn` cannot carry,
/// so [`super::DetectorSpec::build`] and [`DetectorEntry::instantiate`] route externals to
/// [`ExternalDetector::new`] instead.
fn build_unbound(_params: &Params, _seed: u64) -> Result<Box<dyn Detector>, DetectError> {
    Err(DetectError::Backend {
        detector: "external",
        message:
            "external detectors are built with DetectorSpec::build or DetectorEntry::instantiate"
                .into(),
    })
}

/// A running program with its stdout reader.
struct Process {
    child: Child,
    stdin: Option<BufWriter<ChildStdin>>,
    lines: Option<Receiver<std::io::Result<String>>>,
    threads: Vec<JoinHandle<()>>,
    stderr: Arc<Mutex<String>>,
}

impl std::fmt::Debug for Process {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Process(pid {})", self.child.id())
    }
}

impl Process {
    fn spawn(config: &ExternalConfig) -> Result<Self, String> {
        let mut child = Command::new(&config.command)
            .args(&config.args)
            .current_dir(if config.dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                &config.dir
            })
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("could not start {:?}: {e}", config.command))?;
        let stdout = child.stdout.take().ok_or("no stdout pipe")?;
        let mut stderr_pipe = child.stderr.take().ok_or("no stderr pipe")?;
        let stdin = child.stdin.take().map(BufWriter::new);
        let (tx, rx) = bounded(CHANNEL_LINES);
        let reader = std::thread::Builder::new()
            .name(format!("external-{}-stdout", config.id))
            .spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| format!("could not start the reader thread: {e}"))?;
        let stderr = Arc::new(Mutex::new(String::new()));
        let tail = Arc::clone(&stderr);
        let stderr_reader = std::thread::Builder::new()
            .name(format!("external-{}-stderr", config.id))
            .spawn(move || {
                let mut chunk = [0u8; 1024];
                while let Ok(n) = stderr_pipe.read(&mut chunk) {
                    if n == 0 {
                        break;
                    }
                    let mut text = tail.lock();
                    text.push_str(&String::from_utf8_lossy(&chunk[..n]));
                    if text.len() > 2 * STDERR_TAIL {
                        let cut = text.len() - STDERR_TAIL;
                        let cut = (cut..text.len())
                            .find(|&i| text.is_char_boundary(i))
                            .unwrap_or(0);
                        text.replace_range(..cut, "");
                    }
                }
            })
            .map_err(|e| format!("could not start the stderr thread: {e}"))?;
        Ok(Self {
            child,
            stdin,
            lines: Some(rx),
            threads: vec![reader, stderr_reader],
            stderr,
        })
    }

    /// Exit status (if it has exited) and the end of its stderr, for messages.
    fn post_mortem(&mut self) -> String {
        // Give a dying program a moment (up to 500 ms) so that its last words and its exit
        // status are in: the stderr thread ends at EOF, and the status is ready just after
        // the pipes close (later still on a busy machine).
        let mut polled = self.child.try_wait();
        for _ in 0..100 {
            let stderr_done = self.threads.get(1).is_none_or(JoinHandle::is_finished);
            if stderr_done && !matches!(polled, Ok(None)) {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
            polled = self.child.try_wait();
        }
        let status = match polled {
            Ok(Some(status)) => format!("exited with {status}"),
            Ok(None) => "still running".to_owned(),
            Err(e) => format!("status unknown ({e})"),
        };
        let stderr = self.stderr.lock();
        let stderr = stderr.trim();
        let tail: String = stderr
            .char_indices()
            .rev()
            .nth(STDERR_TAIL.min(400))
            .map_or(stderr, |(i, _)| &stderr[i..])
            .to_owned();
        if tail.is_empty() {
            status
        } else {
            format!("{status}; stderr: {tail}")
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // Close stdin, drop the receiver (unblocks a reader waiting on a full channel), kill
        // and reap. The reader threads are not joined: they end at EOF, which a grandchild
        // holding the pipes could delay indefinitely, and the app must never wait on that.
        self.stdin.take();
        self.lines.take();
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// A detector backed by an external program (see module docs).
#[derive(Debug)]
pub struct ExternalDetector {
    info: &'static DetectorInfo,
    config: Arc<ExternalConfig>,
    timeout: Duration,
    process: Option<Process>,
    width: Option<usize>,
}

impl ExternalDetector {
    /// A detector for `config` described by `info`, waiting at most `timeout_ms` per row. The
    /// program starts on the first row.
    pub fn new(info: &'static DetectorInfo, config: Arc<ExternalConfig>, timeout_ms: u64) -> Self {
        Self {
            info,
            config,
            timeout: Duration::from_millis(timeout_ms.max(1)),
            process: None,
            width: None,
        }
    }

    /// A detector straight from a config, without registering it (its description is leaked
    /// like a registered one's; meant for tests and one-off runs).
    pub fn from_config(config: ExternalConfig) -> Result<Self, DetectError> {
        config.check().map_err(|message| DetectError::Backend {
            detector: "external",
            message,
        })?;
        let info = leak_entry(&config).info;
        let timeout_ms = config.timeout_ms;
        Ok(Self::new(info, Arc::new(config), timeout_ms))
    }

    /// Builds from checked parameters (`timeout_ms`).
    pub(super) fn from_params(
        info: &'static DetectorInfo,
        config: Arc<ExternalConfig>,
        params: &Params,
    ) -> Box<dyn Detector> {
        let timeout = u64::try_from(params.int("timeout_ms")).unwrap_or(config.timeout_ms);
        Box::new(Self::new(info, config, timeout))
    }

    fn error(&self, message: String) -> DetectError {
        DetectError::Backend {
            detector: self.info.id,
            message,
        }
    }

    fn process(&mut self) -> Result<&mut Process, DetectError> {
        if self.process.is_none() {
            let process = Process::spawn(&self.config).map_err(|e| self.error(e))?;
            self.process = Some(process);
        }
        self.process.as_mut().ok_or_else(|| DetectError::Backend {
            detector: "external",
            message: "no process".into(),
        })
    }

    /// Waits for the score of row `index`; kills the program on any failure.
    fn receive(&mut self, index: usize) -> Result<f64, DetectError> {
        let timeout = self.timeout;
        let outcome = {
            let process = self.process()?;
            let Some(lines) = process.lines.as_ref() else {
                return Err(self.error("output channel closed".into()));
            };
            match lines.recv_timeout(timeout) {
                Ok(Ok(line)) => parse_score(&line).map_err(|e| format!("row {index}: {e}")),
                Ok(Err(e)) => Err(format!("row {index}: reading its output failed: {e}")),
                Err(RecvTimeoutError::Timeout) => Err(format!(
                    "no score for row {index} within {} ms; the program was stopped",
                    timeout.as_millis()
                )),
                Err(RecvTimeoutError::Disconnected) => Err(format!(
                    "the program ended before scoring row {index} ({})",
                    process.post_mortem()
                )),
            }
        };
        outcome.map_err(|message| {
            self.process = None;
            self.error(message)
        })
    }

    fn check_width(&mut self, width: usize, index: usize) -> Result<(), DetectError> {
        match self.width {
            Some(w) if w != width => Err(DetectError::Input {
                detector: self.info.id,
                message: format!("row {index} has {width} values, expected {w}"),
            }),
            _ => {
                self.width = Some(width);
                Ok(())
            }
        }
    }
}

/// One row in the configured format, with its newline.
fn encode(format: Format, row: Row<'_>, out: &mut String) {
    use std::fmt::Write as _;
    out.clear();
    match format {
        Format::Csv => {
            for (i, v) in row.values.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write!(out, "{v}").ok();
            }
        }
        Format::Jsonl => {
            write!(
                out,
                "{{\"index\":{},\"ts\":{},\"values\":[",
                row.index, row.ts.0
            )
            .ok();
            for (i, v) in row.values.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if v.is_finite() {
                    write!(out, "{v}").ok();
                } else {
                    out.push_str("null");
                }
            }
            out.push_str("]}");
        }
    }
    out.push('\n');
}

/// A score line: a finite number, or `nan` / empty for "no score yet".
fn parse_score(line: &str) -> Result<f64, String> {
    let text = line.trim();
    if text.is_empty() || text.eq_ignore_ascii_case("nan") || text == "null" {
        return Ok(f64::NAN);
    }
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(v) => Err(format!("score {v} is not finite")),
        Err(_) => {
            let shown: String = text.chars().take(80).collect();
            Err(format!("expected one number per line, got {shown:?}"))
        }
    }
}

impl Detector for ExternalDetector {
    fn info(&self) -> &'static DetectorInfo {
        self.info
    }

    fn fit(&mut self, train: &Series, _cancel: &CancelToken) -> Result<(), DetectError> {
        // The protocol has no training phase: the program learns online (or from its own
        // files). Only the width is checked.
        self.width = None;
        self.check_width(train.columns().len(), 0)
    }

    fn reset(&mut self) {
        self.process = None;
    }

    fn update(&mut self, row: Row<'_>) -> Result<f64, DetectError> {
        self.check_width(row.values.len(), row.index)?;
        let format = self.config.format;
        let mut line = String::new();
        encode(format, row, &mut line);
        let written = {
            let process = self.process()?;
            match process.stdin.as_mut() {
                Some(stdin) => stdin
                    .write_all(line.as_bytes())
                    .and_then(|()| stdin.flush())
                    .map_err(|e| {
                        format!(
                            "writing row {} failed: {e} ({})",
                            row.index,
                            process.post_mortem()
                        )
                    }),
                None => Err("stdin closed".to_owned()),
            }
        };
        if let Err(message) = written {
            self.process = None;
            return Err(self.error(message));
        }
        self.receive(row.index)
    }

    fn score_series(
        &mut self,
        series: &Series,
        cancel: &CancelToken,
    ) -> Result<Vec<f64>, DetectError> {
        self.reset();
        self.check_width(series.columns().len(), 0)?;
        self.process()?;
        let format = self.config.format;
        let stdin = self.process.as_mut().and_then(|p| p.stdin.take());
        let result = std::thread::scope(|scope| {
            let writer = std::thread::Builder::new()
                .name(format!("external-{}-stdin", self.info.id))
                .spawn_scoped(scope, move || {
                    let Some(mut stdin) = stdin else { return };
                    let mut buf = Vec::new();
                    let mut line = String::new();
                    for index in 0..series.len() {
                        let Some(row) = series.row_into(index, &mut buf) else {
                            break;
                        };
                        encode(format, row, &mut line);
                        if stdin.write_all(line.as_bytes()).is_err() {
                            return;
                        }
                    }
                    stdin.flush().ok();
                })
                .map_err(|e| self.error(format!("could not start the writer thread: {e}")))?;
            let mut scores = Vec::with_capacity(series.len());
            for index in 0..series.len() {
                if index % 1024 == 0 && cancel.is_cancelled() {
                    self.process = None;
                    return Err(DetectError::Cancelled);
                }
                match self.receive(index) {
                    Ok(score) => scores.push(score),
                    Err(e) => {
                        // `receive` killed the program, so the writer's next write fails.
                        writer.join().ok();
                        return Err(e);
                    }
                }
            }
            writer.join().ok();
            Ok(scores)
        });
        // A batch run ends the program: the next `update` starts from a clean state.
        self.process = None;
        result
    }

    fn warm_up_rows(&self) -> Option<usize> {
        self.config.warm_up_rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Timestamp;

    #[test]
    fn encodes_both_formats() {
        let row = Row {
            index: 3,
            ts: Timestamp(7),
            values: &[1.5, f64::NAN, -2.0],
        };
        let mut out = String::new();
        encode(Format::Csv, row, &mut out);
        assert_eq!(out, "1.5,NaN,-2\n");
        encode(Format::Jsonl, row, &mut out);
        assert_eq!(out, "{\"index\":3,\"ts\":7,\"values\":[1.5,null,-2]}\n");
        let parsed: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(parsed["values"][1], serde_json::Value::Null);
    }

    #[test]
    fn parses_scores_and_rejects_garbage() {
        assert_eq!(parse_score(" 2.5 \r"), Ok(2.5));
        assert!(parse_score("nan").unwrap().is_nan());
        assert!(parse_score("").unwrap().is_nan());
        assert!(parse_score("inf").is_err());
        assert!(parse_score("hello").unwrap_err().contains("hello"));
    }

    #[test]
    fn config_checks_id_command_and_timeout() {
        let config: ExternalConfig =
            serde_json::from_str(r#"{"id":"ok_1","name":"n","command":"sh"}"#).unwrap();
        assert!(config.check().is_ok());
        assert_eq!(config.timeout_ms, 10_000);
        assert!(config.multivariate);
        for bad in [
            r#"{"id":"Bad","name":"n","command":"sh"}"#,
            r#"{"id":"ok","name":"n","command":" "}"#,
            r#"{"id":"ok","name":"n","command":"sh","timeout_ms":0}"#,
        ] {
            let config: ExternalConfig = serde_json::from_str(bad).unwrap();
            assert!(config.check().is_err(), "{bad}");
        }
        assert!(
            serde_json::from_str::<ExternalConfig>(
                r#"{"id":"x","name":"n","command":"sh","oops":1}"#
            )
            .is_err()
        );
    }
}
