//! Failure files: a failing shuttle execution as one self-contained, versioned JSON file, and
//! its deterministic replay.
//!
//! A file holds everything needed to reproduce the failure without the test that found it:
//! the harness version, the model's name and parameters, the backend and scheduler (with its
//! seed), the exact schedule, the violations and the trace. [`load`] refuses anything
//! malformed, truncated, of another format version or whose parts disagree, with an error
//! that names the problem; [`replay`] re-executes the schedule and compares.

use crate::driver::{run_shuttle, Finding, Outcome, Schedule, Scheduler};
use crate::model::Model;
use crate::violation::Violation;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sessions_core::{TraceLevel, TraceLog};
use std::fmt;
use std::path::{Path, PathBuf};

/// The format version this harness writes and reads.
pub const FORMAT: u32 = 2;

/// The harness that writes files: package name and version.
pub const HARNESS: &str = concat!(env!("CARGO_PKG_NAME"), " ", env!("CARGO_PKG_VERSION"));

/// The largest failure or scenario file read (64 MiB): a larger one is refused before it is
/// read whole.
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// A failing execution, ready to be saved and replayed.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailureFile<M> {
    /// Format version ([`FORMAT`]).
    pub format: u32,
    /// The harness that wrote it ([`HARNESS`]).
    pub harness: String,
    /// The model's name; must match what `model` describes.
    pub model_name: String,
    /// The model's parameters.
    pub model: M,
    /// The backend (`shuttle`).
    pub backend: String,
    /// The scheduler that found the failure, with its seed.
    pub found_by: Scheduler,
    /// The execution (from 1) in which it was found.
    pub execution: u64,
    /// The schedule that reproduces it.
    pub schedule: Schedule,
    /// What the checkers reported.
    pub violations: Vec<Violation>,
    /// The execution's trace.
    pub trace: TraceLog,
}

/// Why a failure file was refused or did not replay.
#[derive(Debug)]
pub enum FailureError {
    /// The file could not be read or written.
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The file is not valid JSON, or not shaped like a failure file.
    Json {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// The file is of a format version this harness does not read.
    Version {
        /// The file.
        path: PathBuf,
        /// The version it declares.
        found: String,
    },
    /// The file's parts contradict each other.
    Mismatch {
        /// The file.
        path: PathBuf,
        /// What disagrees.
        message: String,
    },
    /// The schedule does not fit the model (the model or the system changed since).
    Diverged {
        /// Where and how.
        message: String,
    },
    /// The file is larger than [`MAX_FILE_BYTES`].
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// The file is not UTF-8 text.
    NotText {
        /// The file.
        path: PathBuf,
    },
}

impl fmt::Display for FailureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailureError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            FailureError::Json { path, line, column, message } => {
                write!(f, "{}:{line}:{column}: {message}", path.display())
            }
            FailureError::Version { path, found } => write!(
                f,
                "{}: failure file format {found} is not supported: this harness ({HARNESS}) reads format {FORMAT}",
                path.display()
            ),
            FailureError::Mismatch { path, message } => write!(f, "{}: {message}", path.display()),
            FailureError::Diverged { message } => write!(
                f,
                "the schedule no longer fits the model ({message}); the model or the system changed since the file was written"
            ),
            FailureError::TooLarge { path } => write!(
                f,
                "{}: larger than {} MiB, more than any failure or scenario file holds",
                path.display(),
                MAX_FILE_BYTES >> 20
            ),
            FailureError::NotText { path } => write!(f, "{}: not UTF-8 text", path.display()),
        }
    }
}

/// The message of every variant already says what went wrong, the I/O error's included, so
/// there is no separate source to print twice.
impl std::error::Error for FailureError {}

/// Reads a failure or scenario file as text, refusing one larger than [`MAX_FILE_BYTES`]
/// before reading it whole.
pub fn read_text(path: &Path) -> Result<String, FailureError> {
    use std::io::Read;
    let io = |source| FailureError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    if file.metadata().map_err(io)?.len() > MAX_FILE_BYTES {
        return Err(FailureError::TooLarge {
            path: path.to_path_buf(),
        });
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(FailureError::TooLarge {
            path: path.to_path_buf(),
        });
    }
    String::from_utf8(bytes).map_err(|_| FailureError::NotText {
        path: path.to_path_buf(),
    })
}

impl<M: Model + Clone + Serialize> FailureFile<M> {
    /// The file for `finding`, found in `model` by `found_by`. `None` if the finding has no
    /// shuttle schedule (std and loom runs are not replayable this way).
    pub fn new(model: &M, found_by: &Scheduler, finding: &Finding) -> Option<Self> {
        Some(FailureFile {
            format: FORMAT,
            harness: HARNESS.to_string(),
            model_name: model.name(),
            model: model.clone(),
            backend: "shuttle".to_string(),
            found_by: found_by.clone(),
            execution: finding.execution,
            schedule: finding.schedule.clone()?,
            violations: finding.violations.clone(),
            trace: finding.trace.clone(),
        })
    }
}

impl<M: Serialize> FailureFile<M> {
    /// The file's JSON text.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("a failure file serializes");
        s.push('\n');
        s
    }

    /// Writes the file into `dir` (created if missing) under a name made of the model's name
    /// and the seed; returns its path.
    pub fn save(&self, dir: &Path) -> Result<PathBuf, FailureError> {
        let io = |path: &Path, source| FailureError::Io {
            path: path.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let stem: String = self
            .model_name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let seed = match &self.found_by {
            Scheduler::Random { seed, .. } | Scheduler::Pct { seed, .. } => format!("seed{seed}"),
            other => other.name().to_string(),
        };
        let path = dir.join(format!("{stem}-{seed}-exec{}.json", self.execution));
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, self.to_json()).map_err(|e| io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| io(&path, e))?;
        Ok(path)
    }
}

/// Reads and validates a failure file.
pub fn load<M: Model + DeserializeOwned>(path: &Path) -> Result<FailureFile<M>, FailureError> {
    parse(path, &read_text(path)?)
}

/// Validates failure-file text; `path` only names it in errors.
pub fn parse<M: Model + DeserializeOwned>(
    path: &Path,
    text: &str,
) -> Result<FailureFile<M>, FailureError> {
    let file = parse_recorded(path, text)?;
    let model: M =
        serde_json::from_value(file.model.clone()).map_err(|e| FailureError::Mismatch {
            path: path.to_path_buf(),
            message: format!(
                "the file's model `{}` is not one this program can run ({e}); the test that \
                 wrote the file replays it with {}=<file>",
                file.model_name,
                crate::harness::REPLAY_ENV
            ),
        })?;
    if model.name() != file.model_name {
        return Err(FailureError::Mismatch {
            path: path.to_path_buf(),
            message: format!(
                "the file names model `{}` but its parameters describe `{}`",
                file.model_name,
                model.name()
            ),
        });
    }
    Ok(FailureFile {
        format: file.format,
        harness: file.harness,
        model_name: file.model_name,
        model,
        backend: file.backend,
        found_by: file.found_by,
        execution: file.execution,
        schedule: file.schedule,
        violations: file.violations,
        trace: file.trace,
    })
}

/// Validates failure-file text whatever model it holds (a built-in one, a scenario, or a
/// model of a user's own crate, which this harness cannot run but can still draw): the model
/// stays JSON. `path` only names the file in errors.
pub fn parse_recorded(
    path: &Path,
    text: &str,
) -> Result<FailureFile<serde_json::Value>, FailureError> {
    let json_err = |e: serde_json::Error| FailureError::Json {
        path: path.to_path_buf(),
        line: e.line(),
        column: e.column(),
        message: e
            .to_string()
            .split(" at line ")
            .next()
            .unwrap_or_default()
            .to_string(),
    };
    let value: serde_json::Value = serde_json::from_str(text).map_err(json_err)?;
    let Some(obj) = value.as_object() else {
        return Err(FailureError::Mismatch {
            path: path.to_path_buf(),
            message: "not a failure file: the top level is not a JSON object".into(),
        });
    };
    match obj.get("format") {
        None => {
            return Err(FailureError::Mismatch {
                path: path.to_path_buf(),
                message: "not a failure file: it has no `format` field".into(),
            })
        }
        Some(v) if v.as_u64().is_none() => {
            return Err(FailureError::Mismatch {
                path: path.to_path_buf(),
                message: format!("`format` must be a whole number, not {v}"),
            })
        }
        Some(v) if v.as_u64() != Some(FORMAT as u64) => {
            return Err(FailureError::Version {
                path: path.to_path_buf(),
                found: v.to_string(),
            })
        }
        Some(_) => {}
    }
    let file: FailureFile<serde_json::Value> = serde_json::from_str(text).map_err(json_err)?;
    let mismatch = |message: String| FailureError::Mismatch {
        path: path.to_path_buf(),
        message,
    };
    if file.backend != "shuttle" {
        return Err(mismatch(format!(
            "backend `{}` cannot be replayed: only shuttle schedules can",
            file.backend
        )));
    }
    if file.schedule.steps.is_empty() {
        return Err(mismatch("the schedule is empty".into()));
    }
    if file.violations.is_empty() {
        return Err(mismatch(
            "the file records no violation: there is nothing to reproduce".into(),
        ));
    }
    Ok(file)
}

/// What a replay showed.
#[derive(Clone, Debug)]
pub struct Replayed {
    /// The replay run.
    pub outcome: Outcome,
    /// Whether it reported exactly the file's violations.
    pub same_violations: bool,
    /// Whether it recorded exactly the file's trace.
    pub same_trace: bool,
}

impl Replayed {
    /// The violations the replay found.
    pub fn violations(&self) -> &[Violation] {
        self.outcome
            .finding
            .as_ref()
            .map(|f| f.violations.as_slice())
            .unwrap_or_default()
    }

    /// The replay's trace.
    pub fn trace(&self) -> TraceLog {
        match &self.outcome.finding {
            Some(f) => f.trace.clone(),
            None => self.outcome.last_trace.clone().unwrap_or_default(),
        }
    }
}

/// Re-executes the file's schedule at trace level `level` (logging never changes the
/// schedule) and compares the result with the file.
pub fn replay<M: Model + Clone>(
    file: &FailureFile<M>,
    level: TraceLevel,
) -> Result<Replayed, FailureError> {
    let outcome = run_shuttle(
        &file.model,
        &Scheduler::Replay {
            schedule: file.schedule.clone(),
        },
        level,
    );
    if let Some(message) = outcome.divergence.clone() {
        return Err(FailureError::Diverged { message });
    }
    let (same_violations, same_trace) = match &outcome.finding {
        Some(f) => (f.violations == file.violations, f.trace == file.trace),
        None => (false, outcome.last_trace.as_ref() == Some(&file.trace)),
    };
    Ok(Replayed {
        outcome,
        same_violations,
        same_trace,
    })
}
