//! The loom suite: every built-in model that fits loom's thread limit, explored exhaustively
//! up to the preemption bound (`LOOM_MAX_PREEMPTIONS`, default
//! `sessions_models::driver::LOOM_DEFAULT_PREEMPTIONS`).
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test -p sessions-models --release --test loom`.
//! Each test prints how many executions loom explored.
#![cfg(loom)]

use sessions_core::{Bug, Style, TraceLevel};
use sessions_models::builtin::{bug_checker, bug_model};
use sessions_models::driver::run_loom;
use sessions_models::{Builtin, BuiltinModel, Checker, Expect, Model, Verdict};

mod stack_model;

/// The preemption bound for `m`: the suite's default (3, or `LOOM_MAX_PREEMPTIONS`), except 2
/// for models with a server dispatcher thread, whose fourth thread multiplies the interleavings
/// (the threaded seed example takes 10.9 million executions at bound 3), and 1 for those with
/// five threads (`hangup-race` passes two million executions at bound 2). A bound counts
/// preemptions only: which thread runs when one blocks is always explored, so `hangup-race`'s
/// two hangups queueing behind C's clone round trip needs none.
fn bound(m: &BuiltinModel) -> Option<usize> {
    if m.dispatch() != sessions_core::Dispatch::Threaded {
        None
    } else if m.threads() >= 5 {
        Some(1)
    } else {
        Some(2)
    }
}

fn explore(m: BuiltinModel) -> sessions_models::Outcome {
    explore_with(&m, bound(&m))
}

/// Explores `m` within `bound` (the suite's default when `None`), prints how many executions
/// it took, and asserts the outcome is as `m` expects.
fn explore_with<M: Model + Clone>(m: &M, bound: Option<usize>) -> sessions_models::Outcome {
    assert!(
        m.threads() <= 5,
        "{} needs {} threads",
        m.name(),
        m.threads()
    );
    let out = run_loom(m, bound, TraceLevel::Full);
    let verdict = out.verdict(m.expect());
    println!(
        "loom {:45} {:>8} executions {:>8.0}/s  {verdict}",
        m.name(),
        out.executions,
        out.rate(),
    );
    let found: Vec<String> = out
        .finding
        .iter()
        .flat_map(|f| &f.violations)
        .map(|v| v.to_string())
        .collect();
    assert!(
        verdict.ok(),
        "{}: {verdict}\n{}",
        m.name(),
        found.join("\n")
    );
    out
}

#[test]
fn every_builtin_model_behaves_as_expected_under_loom() {
    for m in BuiltinModel::all() {
        explore(m);
    }
}

#[test]
fn every_injected_bug_is_found_by_its_checker_under_loom() {
    for bug in Bug::ALL {
        let out = explore(bug_model(bug));
        let f = out.finding.expect("a finding");
        assert!(
            f.violations.iter().any(|v| v.checker() == bug_checker(bug)),
            "{bug}: {:?}",
            f.violations
        );
    }
}

#[test]
fn tracing_adds_no_execution_to_explore() {
    let m = BuiltinModel::from(Builtin::SeedRead {
        style: Style::Parallel,
        reads: 1,
    });
    let full = run_loom(&m, None, TraceLevel::Full);
    let off = run_loom(&m, None, TraceLevel::Off);
    println!(
        "loom seed-read/parallel: {} executions traced, {} untraced",
        full.executions, off.executions
    );
    assert!(full.finding.is_none() && off.finding.is_none());
    assert_eq!(full.executions, off.executions);
}

#[test]
fn serialize_write_while_read_deadlock_names_both_fibrils() {
    let m = BuiltinModel::from(Builtin::WriteWhileRead {
        style: Style::Serialize,
    });
    assert_eq!(m.expect(), Expect::Finding(Checker::Deadlock));
    let out = run_loom(&m, None, TraceLevel::Full);
    assert_eq!(out.verdict(m.expect()), Verdict::ExpectedFinding);
    let report = out
        .finding
        .unwrap()
        .violations
        .into_iter()
        .find_map(|v| {
            if let sessions_models::Violation::Deadlock { report, .. } = v {
                Some(report)
            } else {
                None
            }
        })
        .expect("a deadlock");
    let names: Vec<&str> = report.fibrils.iter().map(|(_, n, _)| n.as_str()).collect();
    assert!(names.contains(&"A") && names.contains(&"B"), "{report}");
}

#[test]
fn a_loom_failure_reruns_in_isolation_from_its_checkpoint() {
    use sessions_models::driver::run_loom_with;
    use sessions_models::LoomOptions;
    let file = std::env::temp_dir().join(format!(
        "sessions-loom-checkpoint-{}.json",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&file);
    let options = LoomOptions {
        preemption_bound: None,
        checkpoint_file: Some(file.clone()),
        checkpoint_interval: Some(1),
    };
    let m = BuiltinModel::from(Builtin::NaivePhone);
    // The first run explores until the mixing shows, saving its cursor before every execution.
    let first = run_loom_with(&m, &options, TraceLevel::Full);
    let found = first.finding.expect("loom finds the mixing").violations;
    assert!(first.executions > 1, "{}", first.executions);
    // The rerun starts from the saved cursor: the failing execution comes first.
    let again = run_loom_with(&m, &options, TraceLevel::Full);
    println!(
        "loom checkpoint: failure at execution {}, rerun fails at execution {}",
        first.executions, again.executions
    );
    assert_eq!(again.executions, 1);
    assert_eq!(again.finding.expect("the same failure").violations, found);
    let _ = std::fs::remove_file(&file);
}

#[test]
fn loom_max_branches_is_honoured_as_given() {
    use sessions_models::driver::{loom_builder, LOOM_DEFAULT_BRANCHES};
    use sessions_models::LoomOptions;
    // The suite runs one test at a time (`--test-threads=1`), so the variable is this test's.
    let before = std::env::var_os("LOOM_MAX_BRANCHES");
    std::env::set_var("LOOM_MAX_BRANCHES", "777");
    let given = loom_builder(&LoomOptions::default()).max_branches;
    std::env::remove_var("LOOM_MAX_BRANCHES");
    let default = loom_builder(&LoomOptions::default()).max_branches;
    if let Some(v) = before {
        std::env::set_var("LOOM_MAX_BRANCHES", v);
    }
    assert_eq!(given, 777);
    assert_eq!(default, LOOM_DEFAULT_BRANCHES);
}

#[test]
fn a_relay_whose_handler_is_a_client_passes_under_loom() {
    use stack_model::Stack;
    for (front, back) in [
        (Style::Parallel, Style::Serialize),
        (Style::Serialize, Style::Parallel),
        (Style::Multiplexed, Style::Multiplexed),
    ] {
        explore_with(&Stack::new(front, back), None);
    }
}

#[test]
fn a_relay_that_never_ends_its_exchange_is_found_under_loom() {
    use sessions_models::relay::Mistake;
    use stack_model::Stack;
    let m = Stack {
        bug: Some(Mistake::KeepsExchange),
        ..Stack::new(Style::Parallel, Style::Serialize)
    };
    let out = explore_with(&m, None);
    let v = out.finding.expect("a finding").violations;
    let report = v
        .iter()
        .find_map(|v| match v {
            sessions_models::Violation::Deadlock { report, .. } => Some(report),
            _ => None,
        })
        .expect("a deadlock");
    let text = report.to_string();
    assert!(
        text.contains("(RELAY_READ) on conn") && text.contains("held by the handler of conn"),
        "{text}"
    );
}
