//! The fuzzing entry point: arbitrary bytes become a valid [`Case`] and run through the same
//! path as the property test. The `cargo fuzz` target in `scenarios/fuzz/` calls [`run`]; a
//! normal test runs it on the committed corpus, so CI exercises it without nightly.

use crate::gen::Case;
use arbitrary::{Arbitrary, Unstructured};
use sessions_core::TraceLevel;
use sessions_models::driver::{run_shuttle, Scheduler};
use sessions_models::{Model, Verdict};

/// PCT executions per fuzz input.
pub const ITERATIONS: usize = 20;

/// Decodes `data` into a case and checks it under shuttle PCT. `Err` describes an
/// unexpected violation (the case, the schedule's seed and every violation).
pub fn run(data: &[u8]) -> Result<(), String> {
    let Ok(case) = Case::arbitrary(&mut Unstructured::new(data)) else {
        return Ok(());
    };
    let out = run_shuttle(
        &case.scenario,
        &Scheduler::Pct {
            seed: case.seed,
            depth: 3,
            iterations: ITERATIONS,
        },
        TraceLevel::Full,
    );
    match out.verdict(case.scenario.expect()) {
        Verdict::Passed | Verdict::ExpectedFinding => Ok(()),
        _ => {
            let mut msg = format!("{case}\n");
            for v in out.finding.iter().flat_map(|f| &f.violations) {
                msg.push_str(&format!("  {v}\n"));
            }
            Err(msg)
        }
    }
}
