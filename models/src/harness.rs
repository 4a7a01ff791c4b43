//! The one-line test: run a model under shuttle PCT and fail the test, with a saved failure
//! file, unless it behaves as it declares.
//!
//! A failure file written here leads back to the test: the panic message names the file by
//! its absolute path and gives the exact command that re-runs the failing execution in this
//! test, with [`REPLAY_ENV`] set to the file (as `SHUTTLE_RANDOM_SEED` or `PROPTEST_` variables
//! work for those tools). `sessions trace FILE` draws the recorded trace of any failure file,
//! whatever crate its model lives in.

use crate::driver::{default_level, run_shuttle, Outcome, Scheduler};
use crate::failure::{self, FailureFile};
use crate::model::Model;
use crate::violation::report;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Environment variable naming the folder failure files go to (default `failures`, relative to
/// the working directory: the package's folder under `cargo test`).
pub const FAILURE_DIR_ENV: &str = "SESSIONS_FAILURE_DIR";

/// Environment variable overriding the PCT seed of [`assert_model`] (default 0).
pub const SEED_ENV: &str = "SESSIONS_SEED";

/// Environment variable naming a failure file: [`assert_model`] then replays its schedule
/// instead of searching, for the model the file was written for (set `SESSIONS_LOG=1` too for
/// every event as it happens). Calls for other models run as usual.
pub const REPLAY_ENV: &str = "SESSIONS_REPLAY";

/// The scheduler [`assert_model`] uses: PCT, depth 3, 1,000 executions, seed from
/// [`SEED_ENV`] or 0.
pub fn default_scheduler() -> Scheduler {
    let seed = std::env::var(SEED_ENV)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Scheduler::Pct {
        seed,
        depth: 3,
        iterations: 1000,
    }
}

/// Runs `model` under [`default_scheduler`] and returns the outcome if the model behaved as its
/// [`Model::expect`] says. With [`REPLAY_ENV`] naming a failure file of this model, replays
/// that file's schedule instead.
///
/// # Panics
/// Otherwise, with the violations found, the absolute path of a failure file holding the
/// model, the schedule and the trace, and the command that re-runs the failing execution.
pub fn assert_model<M: Model + Clone + Serialize>(model: &M) -> Outcome {
    if let Some(path) = std::env::var_os(REPLAY_ENV) {
        if let Some(out) = replay_requested(model, Path::new(&path)) {
            return out;
        }
    }
    let scheduler = default_scheduler();
    let out = run_shuttle(model, &scheduler, default_level());
    let verdict = out.verdict(model.expect());
    if verdict.ok() {
        return out;
    }
    let mut message = format!(
        "{}: {verdict} after {} executions",
        model.name(),
        out.executions
    );
    if let Some(f) = &out.finding {
        message.push('\n');
        message.push_str(&report(&f.violations));
        let dir = std::env::var_os(FAILURE_DIR_ENV)
            .map(PathBuf::from)
            .unwrap_or_else(|| "failures".into());
        match FailureFile::new(model, &scheduler, f).map(|file| file.save(&dir)) {
            Some(Ok(path)) => {
                let path = std::fs::canonicalize(&path).unwrap_or(path);
                message.push_str(&format!(
                    "\nfailure file: {p}\nre-run this execution: {REPLAY_ENV}={p} {}\ndraw it: sessions trace {p} --format html -o trace.html",
                    rerun_command(),
                    p = path.display()
                ));
            }
            Some(Err(e)) => {
                message.push_str(&format!("\n(the failure file could not be saved: {e})"))
            }
            None => {}
        }
    }
    panic!("{message}");
}

/// Replays the file at `path` if it was written for `model`; `None` if it is another model's.
///
/// # Panics
/// If the file cannot be read, names this model with other parameters, does not fit the model
/// any more, or its execution still fails.
fn replay_requested<M: Model + Clone + Serialize>(model: &M, path: &Path) -> Option<Outcome> {
    let file = failure::read_text(path)
        .and_then(|text| failure::parse_recorded(path, &text))
        .unwrap_or_else(|e| panic!("{REPLAY_ENV}: {e}"));
    if file.model_name != model.name() {
        eprintln!(
            "{REPLAY_ENV} names a failure of `{}`; `{}` runs as usual",
            file.model_name,
            model.name()
        );
        return None;
    }
    let params = serde_json::to_value(model).expect("a model serializes");
    if params != file.model {
        panic!(
            "{REPLAY_ENV}: {} was written for `{}` with other parameters: {} (this test has {params})",
            path.display(),
            file.model_name,
            file.model
        );
    }
    let schedule = file.schedule.clone();
    let out = run_shuttle(model, &Scheduler::Replay { schedule }, default_level());
    if let Some(d) = &out.divergence {
        panic!(
            "{}: replaying {}: {}",
            model.name(),
            path.display(),
            failure::FailureError::Diverged { message: d.clone() }
        );
    }
    let verdict = out.verdict(model.expect());
    match &out.finding {
        Some(f) if !verdict.ok() => {
            let same = if f.violations == file.violations {
                "the same violations as the file"
            } else {
                "other violations than the file's"
            };
            panic!(
                "{}: replayed {}: {verdict}, {same}\n{}",
                model.name(),
                path.display(),
                report(&f.violations)
            );
        }
        _ if !verdict.ok() => panic!("{}: replayed {}: {verdict}", model.name(), path.display()),
        _ => {
            eprintln!(
                "{}: replayed {}: {verdict}: the failure no longer happens",
                model.name(),
                path.display()
            );
            Some(out)
        }
    }
}

/// The `cargo test` command that runs the calling test alone, as far as the process can tell:
/// its package, its test target and its name.
fn rerun_command() -> String {
    let mut cmd = String::from("cargo test");
    if let Ok(pkg) = std::env::var("CARGO_PKG_NAME") {
        cmd.push_str(&format!(" -p {pkg}"));
        let target = std::env::current_exe().ok().and_then(|exe| {
            let stem = exe.file_stem()?.to_str()?.to_string();
            // Test binaries are named `<target>-<hash>`.
            Some(match stem.rsplit_once('-') {
                Some((target, hash)) if hash.chars().all(|c| c.is_ascii_hexdigit()) => {
                    target.to_string()
                }
                _ => stem,
            })
        });
        match target {
            Some(t) if t == pkg.replace('-', "_") => cmd.push_str(" --lib"),
            Some(t) => cmd.push_str(&format!(" --test {t}")),
            None => {}
        }
    }
    match std::thread::current().name() {
        Some(name) if name != "main" => cmd.push_str(&format!(" -- --exact {name}")),
        _ => {}
    }
    cmd
}
