//! Generated scenarios, each checked under shuttle PCT with the seed it carries.
//!
//! A failing case is shrunk by proptest (on the raw form, so every step is a valid scenario
//! with its own seed) and the minimal one is written as a failure file holding the concrete
//! scenario and the schedule, which replays without proptest.
#![cfg(not(loom))]

use proptest::strategy::Strategy;
use proptest::test_runner::{
    Config, FileFailurePersistence, RngAlgorithm, TestError, TestRng, TestRunner,
};
use sessions_core::{Bug, Style, TraceLevel};
use sessions_models::driver::{run_shuttle, Outcome, Scheduler};
use sessions_models::failure::{self, FailureFile};
use sessions_models::{Checker, Model, Violation};
use sessions_scenarios::{gen, AnyModel, Case, Scenario};
use std::path::{Path, PathBuf};

/// PCT executions per generated case.
const ITERATIONS: usize = 30;

fn pct(case: &Case) -> Scheduler {
    Scheduler::Pct {
        seed: case.seed,
        depth: 3,
        iterations: ITERATIONS,
    }
}

fn run(case: &Case) -> Outcome {
    run_shuttle(&case.scenario, &pct(case), TraceLevel::Full)
}

fn failures_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("generated-failures")
}

/// Runs `cases` generated cases of `strategy`; on failure returns the minimal case and the
/// failure file written for it.
fn hunt(
    strategy: impl Strategy<Value = Case>,
    cases: u32,
    persist: bool,
) -> Option<(Case, Vec<Violation>, PathBuf)> {
    let persistence = if persist {
        Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/prop.txt",
        )) as _)
    } else {
        None
    };
    let config = Config {
        cases,
        failure_persistence: persistence,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let result = runner.run(&strategy, |case| {
        let out = run(&case);
        match out.finding {
            None => Ok(()),
            Some(f) => Err(proptest::test_runner::TestCaseError::fail(
                f.violations
                    .iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join("\n"),
            )),
        }
    });
    let minimal = match result {
        Ok(()) => return None,
        Err(TestError::Fail(_, minimal)) => minimal,
        Err(TestError::Abort(why)) => panic!("proptest aborted: {why}"),
    };
    let out = run(&minimal);
    let finding = out
        .finding
        .expect("the minimal case fails again: its seed is part of it");
    let file = FailureFile::new(
        &AnyModel::Scenario(Box::new(minimal.scenario.clone())),
        &pct(&minimal),
        &finding,
    )
    .expect("a shuttle finding has a schedule");
    let path = file
        .save(&failures_dir())
        .expect("the failure file is written");
    Some((minimal, finding.violations, path))
}

#[test]
fn generated_scenarios_pass_every_oracle() {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(128);
    if let Some((minimal, violations, path)) = hunt(gen::cases(), cases, true) {
        let found: Vec<String> = violations.iter().map(|v| v.to_string()).collect();
        panic!(
            "a generated scenario fails:\n{minimal}\n{}\nfailure file: {} (replay: sessions replay {})",
            found.join("\n"),
            path.display(),
            path.display()
        );
    }
}

#[test]
fn generation_finds_an_injected_bug_and_shrinks_it_to_a_replayable_failure_file() {
    let (minimal, violations, path) = hunt(
        gen::cases_with_bug(Style::Serialize, Bug::SerializeNoLock),
        256,
        false,
    )
    .expect("generation finds the SERIALIZE session that takes no lock");
    let s = &minimal.scenario;
    assert!(
        s.fibrils.len() <= 2 && s.op_count() <= 4,
        "shrunk to {} fibrils and {} operations:\n{minimal}",
        s.fibrils.len(),
        s.op_count()
    );
    // Two exchanges ran at once on the session phone: the mixing checker names the connection
    // and two different fibrils' operations.
    let mixing = violations
        .iter()
        .find_map(|v| match v {
            Violation::Mixing {
                conn,
                before,
                intruder,
                ..
            } => Some((*conn, before.clone(), intruder.clone())),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no mixing among {violations:?}"));
    assert_ne!(mixing.1.fibril, mixing.2.fibril);
    assert_ne!(mixing.1.exch, mixing.2.exch);
    assert!(
        violations
            .iter()
            .all(|v| matches!(v.checker(), Checker::Mixing | Checker::Protocol)),
        "{violations:?}"
    );

    // The file holds the concrete scenario and schedule, and replays to the same violations
    // and trace without proptest.
    let file: FailureFile<AnyModel> = failure::load(&path).expect("the failure file loads");
    assert_eq!(
        file.model,
        AnyModel::Scenario(Box::new(minimal.scenario.clone()))
    );
    assert_eq!(file.model_name, file.model.name());
    let replayed = failure::replay(&file, TraceLevel::Full).expect("the schedule fits");
    assert!(replayed.same_violations && replayed.same_trace);
}

#[test]
fn committed_regression_scenarios_pass() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for path in files {
        let scenario = Scenario::from_json(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for seed in 0..8 {
            let out = run_shuttle(
                &scenario,
                &Scheduler::Pct {
                    seed,
                    depth: 3,
                    iterations: 200,
                },
                TraceLevel::Full,
            );
            let found: Vec<String> = out
                .finding
                .iter()
                .flat_map(|f| &f.violations)
                .map(|v| v.to_string())
                .collect();
            assert!(
                out.finding.is_none(),
                "{} (seed {seed}):\n{}",
                path.display(),
                found.join("\n")
            );
        }
    }
}
