//! Generated scenarios under loom: a small sweep per exchange style (SERIALIZE, PARALLEL,
//! MULTIPLEXED), each scenario explored exhaustively up to the loom suite's preemption bound.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test -p sessions-scenarios --release --test loom`.
#![cfg(loom)]

use sessions_core::{Style, TraceLevel};
use sessions_models::driver::run_loom;
use sessions_models::{Model, Verdict};
use sessions_scenarios::gen;

/// Scenarios per style.
const CASES: usize = 4;

/// Loom's cost grows steeply with fibrils and operations: the sweep takes generated scenarios
/// of two fibrils and at most three operations, on inline dispatch, at the suite's preemption bound.
fn small(case: &sessions_scenarios::Case) -> bool {
    let s = &case.scenario;
    s.fibrils.len() == 2 && s.op_count() <= 3 && s.dispatch == sessions_core::Dispatch::Inline
}

#[test]
fn generated_scenarios_pass_under_loom_in_every_generated_style() {
    for style in [Style::Serialize, Style::Parallel, Style::Multiplexed] {
        let cases: Vec<_> = gen::sweep(7, 200, Some(style))
            .expect("a generated style")
            .into_iter()
            .filter(small)
            .take(CASES)
            .collect();
        assert_eq!(cases.len(), CASES);
        for case in cases {
            let s = &case.scenario;
            assert!(s.threads() <= 5);
            let out = run_loom(s, None, TraceLevel::Full);
            println!(
                "loom {:28} {:>8} executions {:>8.0}/s  {}",
                s.name(),
                out.executions,
                out.rate(),
                out.verdict(s.expect())
            );
            let found: Vec<String> = out
                .finding
                .iter()
                .flat_map(|f| &f.violations)
                .map(|v| v.to_string())
                .collect();
            assert_eq!(
                out.verdict(s.expect()),
                Verdict::Passed,
                "{case}\n{}",
                found.join("\n")
            );
        }
    }
}
