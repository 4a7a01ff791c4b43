//! The fuzzing entry points. [`run`]: arbitrary bytes become a valid [`Case`] and run through
//! the same path as the property test. [`json`]: bytes go to the JSON decoders a user's files
//! reach (scenarios, failure files, built-in models), which must refuse bad input with an
//! error, never a panic. The `cargo fuzz` targets in `scenarios/fuzz/` call them; a normal test
//! runs them on the committed corpora, so CI exercises them without nightly.

use crate::gen::Case;
use crate::{AnyModel, Scenario};
use arbitrary::{Arbitrary, Unstructured};
use sessions_core::TraceLevel;
use sessions_models::driver::{run_shuttle, Scheduler};
use sessions_models::failure;
use sessions_models::BuiltinModel;
use sessions_models::{Model, Verdict};
use std::path::Path;

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

/// What the JSON decoders made of one input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Decoded {
    /// A valid scenario.
    pub scenario: bool,
    /// A failure file, whatever its model.
    pub failure: bool,
    /// A failure file of a model this crate runs.
    pub runnable_failure: bool,
    /// A built-in model.
    pub builtin: bool,
}

/// Feeds `data` to every JSON decoder of user input. Each must accept or refuse it without
/// panicking; what one accepts must survive a round trip through its own serialization.
///
/// # Panics
/// When a decoder panics, or a round trip changes a value: both are bugs the fuzzer reports.
pub fn json(data: &[u8]) -> Decoded {
    let Ok(text) = std::str::from_utf8(data) else {
        return Decoded::default();
    };
    let path = Path::new("fuzz-input.json");
    let mut d = Decoded::default();
    if let Ok(s) = Scenario::from_json(text) {
        d.scenario = true;
        let _ = s.config().validate();
        let again = Scenario::from_json(&s.to_json());
        assert_eq!(
            again.as_ref(),
            Ok(&s),
            "a scenario changed through its JSON"
        );
    }
    if let Ok(f) = failure::parse_recorded(path, text) {
        d.failure = true;
        let again = failure::parse_recorded(path, &f.to_json()).expect("a failure file re-reads");
        assert_eq!(
            again.model, f.model,
            "a failure file's model changed through its JSON"
        );
        assert_eq!(
            again.trace, f.trace,
            "a failure file's trace changed through its JSON"
        );
    }
    if let Ok(f) = failure::parse::<AnyModel>(path, text) {
        d.runnable_failure = true;
        let _ = f.model.config().validate();
    }
    if let Ok(m) = serde_json::from_str::<BuiltinModel>(text) {
        d.builtin = true;
        let json = serde_json::to_string(&m).expect("a model serializes");
        let again: BuiltinModel = serde_json::from_str(&json).expect("a model re-reads");
        assert_eq!(again, m, "a built-in model changed through its JSON");
    }
    d
}
