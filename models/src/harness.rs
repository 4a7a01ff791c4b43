//! The one-line test: run a model under shuttle PCT and fail the test, with a saved failure
//! file, unless it behaves as it declares.

use crate::driver::{default_level, run_shuttle, Outcome, Scheduler};
use crate::failure::FailureFile;
use crate::model::Model;
use crate::violation::report;
use serde::Serialize;
use std::path::PathBuf;

/// Environment variable naming the folder failure files go to (default `failures`, relative to
/// the working directory: the package's folder under `cargo test`).
pub const FAILURE_DIR_ENV: &str = "SESSIONS_FAILURE_DIR";

/// Environment variable overriding the PCT seed of [`assert_model`] (default 0).
pub const SEED_ENV: &str = "SESSIONS_SEED";

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
/// [`Model::expect`] says.
///
/// # Panics
/// Otherwise, with the violations found and the path of a failure file holding the model, the
/// schedule and the trace, ready for `sessions replay` or
/// [`failure::replay`](crate::failure::replay).
pub fn assert_model<M: Model + Clone + Serialize>(model: &M) -> Outcome {
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
            Some(Ok(path)) => message.push_str(&format!(
                "\nfailure file: {}\nreplay it: sessions replay {}",
                path.display(),
                path.display()
            )),
            Some(Err(e)) => {
                message.push_str(&format!("\n(the failure file could not be saved: {e})"))
            }
            None => {}
        }
    }
    panic!("{message}");
}
