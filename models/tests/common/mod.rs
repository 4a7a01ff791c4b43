//! Shared by the shuttle test binaries of sessions-models.
#![allow(dead_code)]

use sessions_core::TraceLevel;
use sessions_models::driver::{run_shuttle, Scheduler};
use sessions_models::{Model, Outcome, Verdict, Violation};

/// The default PCT budget of the test suite: 1,000 executions at depth 3.
pub const PCT: Scheduler = Scheduler::Pct {
    seed: 0,
    depth: 3,
    iterations: 1000,
};

/// Runs `m` under shuttle PCT with the default budget and asserts it behaves as expected.
pub fn expect_as_declared<M: Model + Clone>(m: &M) -> Outcome {
    let out = run_shuttle(m, &PCT, TraceLevel::Full);
    let verdict = out.verdict(m.expect());
    let found: Vec<String> = out
        .finding
        .iter()
        .flat_map(|f| &f.violations)
        .map(|v| v.to_string())
        .collect();
    assert!(
        verdict.ok(),
        "{}: {verdict} after {} executions\n{}",
        m.name(),
        out.executions,
        found.join("\n")
    );
    if verdict == Verdict::Passed {
        assert_eq!(
            out.executions,
            1000,
            "{}: PCT ran its whole budget",
            m.name()
        );
    }
    out
}

/// The violations of a run's finding.
pub fn violations(out: &Outcome) -> Vec<Violation> {
    out.finding
        .as_ref()
        .map(|f| f.violations.clone())
        .unwrap_or_default()
}

/// The deadlock report among `v`; panics with `v` when there is none.
pub fn deadlock(v: &[Violation]) -> &sessions_core::trace::DeadlockReport {
    v.iter()
        .find_map(|v| match v {
            Violation::Deadlock { report, .. } => Some(report),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no deadlock in {v:?}"))
}
