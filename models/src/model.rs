//! Models: programs over the kernel, written once and run under every backend.

use crate::violation::{Checker, Violation};
use serde::{Deserialize, Serialize};
use sessions_core::sync::Platform;
use sessions_core::{Kernel, KernelConfig};
use std::fmt;

/// A model: builds servers, sessions and fibrils on a kernel, runs them to completion, and
/// hangs its sessions up. Generic over the backend, so the same code runs on std threads,
/// under shuttle and under loom.
///
/// `run` must be a pure function of the model's parameters and the schedule: no wall clock,
/// no randomness, no hash-map order. It may assert on what the system returned (wrong data
/// is a finding too); the harness checks the trace afterwards.
pub trait Model: Send + Sync + 'static {
    /// A stable name (`seed-read/parallel`).
    fn name(&self) -> String;

    /// The kernel to run on (trace level and bug are overridden by the driver where it says so).
    fn config(&self) -> KernelConfig;

    /// Runs the model on `k`. Called once per explored execution.
    fn run<P: Platform>(&self, k: &Kernel<P>);

    /// What a correct system does with this model.
    fn expect(&self) -> Expect {
        Expect::Pass
    }

    /// Threads the model uses, including the main thread and server dispatchers (loom allows
    /// at most 5).
    fn threads(&self) -> usize;
}

/// What the harness expects of a model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    /// Every explored execution passes every checker.
    Pass,
    /// Some execution is reported by this checker (a known problem the model demonstrates).
    Finding(Checker),
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expect::Pass => f.write_str("pass"),
            Expect::Finding(c) => write!(f, "{c} finding"),
        }
    }
}

/// How a run compares with its model's expectation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Expected to pass, and passed.
    Passed,
    /// Expected a finding, and it was found.
    ExpectedFinding,
    /// Expected a finding that no explored execution showed.
    Missed,
    /// Expected a finding that did not show on std threads, which cannot force the
    /// interleaving that shows it: not a failure of the run.
    Uncontrolled,
    /// A violation nobody expected.
    Unexpected,
}

impl Verdict {
    /// Judges a run's violations (`None`: no execution failed) against `expect`.
    pub fn of(expect: Expect, found: Option<&[Violation]>) -> Verdict {
        match (expect, found) {
            (Expect::Pass, None) => Verdict::Passed,
            (Expect::Finding(_), None) => Verdict::Missed,
            (Expect::Finding(c), Some(v)) if v.iter().any(|v| v.checker() == c) => {
                Verdict::ExpectedFinding
            }
            (_, Some(_)) => Verdict::Unexpected,
        }
    }

    /// Whether the run is as it should be.
    pub fn ok(self) -> bool {
        matches!(
            self,
            Verdict::Passed | Verdict::ExpectedFinding | Verdict::Uncontrolled
        )
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Passed => "passed",
            Verdict::ExpectedFinding => "expected finding reproduced",
            Verdict::Missed => "expected finding not found",
            Verdict::Uncontrolled => "expected finding not found under std threads",
            Verdict::Unexpected => "UNEXPECTED VIOLATION",
        })
    }
}
