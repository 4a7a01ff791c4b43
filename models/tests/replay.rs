//! Failure files: a committed file from a real failing run replays to the same violations and
//! trace (also with logging turned up), and malformed, truncated or mismatched files are refused
//! with an error that says what is wrong.
//!
//! Regenerate the fixture (after a deliberate change to the model or the trace format) with
//! `SESSIONS_REGENERATE_FIXTURES=1 cargo test -p sessions-models --test replay`.
#![cfg(not(loom))]

use sessions_core::TraceLevel;
use sessions_models::driver::{run_shuttle, Scheduler};
use sessions_models::failure::{self, FailureError, FailureFile, FORMAT};
use sessions_models::{Builtin, BuiltinModel, Violation};
use std::path::{Path, PathBuf};

/// Whether the server saw A's READ, B's READ, A's DATA_READ, B's DATA_READ, in that order.
fn note_order(log: &sessions_core::TraceLog) -> bool {
    use sessions_core::{Event, FibrilId, Method};
    let seen: Vec<(FibrilId, Method)> = log
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Arrive {
                tag: Some(t),
                method,
                ..
            } => Some((t.fibril, *method)),
            _ => None,
        })
        .collect();
    let (a, b) = (FibrilId(1), FibrilId(2));
    let (r, d) = (sessions_core::proto::chardev::READ, Method::DATA_READ);
    seen == [(a, r), (b, r), (a, d), (b, d)]
}

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/naive-phone.json")
}

fn load_fixture() -> FailureFile<BuiltinModel> {
    let path = fixture();
    if std::env::var_os("SESSIONS_REGENERATE_FIXTURES").is_some() {
        // The first PCT seed whose first failing execution shows the design note's order
        // (AR1, BR1, AR2, BR2) literally, so the fixture doubles as the README's picture.
        let m = BuiltinModel::from(Builtin::NaivePhone);
        let (found_by, finding) = (0..100)
            .map(|seed| {
                let s = Scheduler::Pct {
                    seed,
                    depth: 3,
                    iterations: 1000,
                };
                let f = run_shuttle(&m, &s, TraceLevel::Full)
                    .finding
                    .expect("the naive phone fails");
                (s, f)
            })
            .find(|(_, f)| note_order(&f.trace))
            .expect("some seed shows (AR1, BR1, AR2, BR2)");
        let file = FailureFile::new(&m, &found_by, &finding).unwrap();
        // Tests run in parallel: write aside and rename, so no reader sees half a file.
        let tmp = path.with_extension(format!("{}.tmp", std::process::id()));
        std::fs::write(&tmp, file.to_json()).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
    }
    failure::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn committed_failure_file_replays_to_the_same_violations_and_trace() {
    let file = load_fixture();
    assert!(file
        .violations
        .iter()
        .any(|v| matches!(v, Violation::Mixing { .. })));
    assert!(
        note_order(&file.trace),
        "the fixture shows (AR1, BR1, AR2, BR2)"
    );
    let replayed = failure::replay(&file, TraceLevel::Full).unwrap();
    assert!(replayed.same_violations, "{:?}", replayed.violations());
    assert!(replayed.same_trace);
    assert_eq!(replayed.outcome.executions, 1);
}

#[test]
fn replay_is_the_same_with_logging_turned_up() {
    let file = load_fixture();
    // `Log` prints every event to standard error as it happens; the schedule, the violations
    // and the trace stay the same.
    let loud = failure::replay(&file, TraceLevel::Log).unwrap();
    assert!(loud.same_violations && loud.same_trace);
}

#[test]
fn the_file_holds_everything_needed_to_reproduce() {
    let text = std::fs::read_to_string(fixture()).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    for key in [
        "format",
        "harness",
        "model_name",
        "model",
        "backend",
        "found_by",
        "execution",
        "schedule",
        "violations",
        "trace",
    ] {
        assert!(v.get(key).is_some(), "no `{key}`");
    }
    assert_eq!(v["format"], FORMAT);
    assert_eq!(v["found_by"]["scheduler"], "pct");
    assert!(v["found_by"]["seed"].is_u64());
    assert_eq!(v["model"]["model"], "naive-phone");
}

fn refused(name: &str, text: &str) -> String {
    match failure::parse::<BuiltinModel>(Path::new(name), text) {
        Ok(_) => panic!("{name} was accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn malformed_truncated_and_mismatched_files_are_refused_with_clear_errors() {
    let good = std::fs::read_to_string(fixture()).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&good).unwrap();

    let e = refused("truncated.json", &good[..good.len() / 2]);
    assert!(
        e.starts_with("truncated.json:") && e.contains("EOF while parsing"),
        "{e}"
    );

    let e = refused("garbage.json", "%% this is not json");
    assert!(
        e.starts_with("garbage.json:1:1:") && e.contains("expected value"),
        "{e}"
    );

    let e = refused("array.json", "[1, 2]");
    assert!(e.contains("top level is not a JSON object"), "{e}");

    let e = refused("noformat.json", "{\"harness\": \"x\"}");
    assert!(e.contains("no `format` field"), "{e}");

    v["format"] = serde_json::json!(FORMAT + 1);
    let e = refused("future.json", &v.to_string());
    assert!(
        e.contains(&format!("format {} is not supported", FORMAT + 1))
            && e.contains(&format!("reads format {FORMAT}")),
        "{e}"
    );
    // Format 1 traces carried no protocol events: their methods could not be named.
    v["format"] = serde_json::json!(1);
    let e = refused("old.json", &v.to_string());
    assert!(e.contains("format 1 is not supported"), "{e}");
    v["format"] = serde_json::json!(FORMAT);

    let mut renamed = v.clone();
    renamed["model_name"] = serde_json::json!("seed-read/parallel");
    let e = refused("renamed.json", &renamed.to_string());
    assert!(
        e.contains("names model `seed-read/parallel` but its parameters describe `naive-phone`"),
        "{e}"
    );

    let mut unknown = v.clone();
    unknown["model"] = serde_json::json!({ "model": "no-such-model" });
    let e = refused("unknown.json", &unknown.to_string());
    assert!(e.contains("unknown variant `no-such-model`"), "{e}");

    let mut empty = v.clone();
    empty["schedule"]["steps"] = serde_json::json!("");
    let e = refused("empty.json", &empty.to_string());
    assert!(e.contains("the schedule is empty"), "{e}");

    let mut bad_step = v.clone();
    bad_step["schedule"]["steps"] = serde_json::json!("0 1 x 2");
    let e = refused("badstep.json", &bad_step.to_string());
    assert!(e.contains("step 2 of the schedule is `x`"), "{e}");

    let mut extra = v.clone();
    extra["surprise"] = serde_json::json!(true);
    let e = refused("extra.json", &extra.to_string());
    assert!(e.contains("unknown field `surprise`"), "{e}");

    let mut nothing = v.clone();
    nothing["violations"] = serde_json::json!([]);
    let e = refused("nothing.json", &nothing.to_string());
    assert!(e.contains("records no violation"), "{e}");

    let e = match failure::load::<BuiltinModel>(Path::new("/nonexistent/failure.json")) {
        Err(e @ FailureError::Io { .. }) => e.to_string(),
        other => panic!("{other:?}"),
    };
    assert!(
        e.contains("/nonexistent/failure.json") && e.contains("No such file"),
        "{e}"
    );
}

#[test]
fn a_schedule_that_no_longer_fits_the_model_is_refused_at_replay() {
    let mut file = load_fixture();
    // The same schedule driven into another model diverges: a clear error, not a panic.
    file.model = BuiltinModel::from(Builtin::SeedRead {
        style: sessions_core::Style::Parallel,
        reads: 2,
    });
    file.model_name = sessions_models::Model::name(&file.model);
    file.schedule.steps.truncate(5);
    match failure::replay(&file, TraceLevel::Full) {
        Err(FailureError::Diverged { message }) => {
            assert!(message.contains("schedule"), "{message}")
        }
        Err(e) => panic!("{e}"),
        Ok(r) => panic!("replayed: {:?}", r.violations()),
    }
}

#[test]
fn assert_model_saves_a_replayable_failure_file_when_a_model_fails() {
    use sessions_models::assert_model;
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("assert-model");
    let _ = std::fs::remove_dir_all(&dir);
    // A model that passes returns its outcome.
    let ok = assert_model(&BuiltinModel::from(Builtin::SeedRead {
        style: sessions_core::Style::Parallel,
        reads: 1,
    }));
    assert_eq!(ok.executions, 1000);
    // A model with an injected bug, declared as passing, fails the test with a saved file.
    let bad = BuiltinModel::from(Builtin::SeedRead {
        style: sessions_core::Style::Serialize,
        reads: 1,
    })
    .with_bug(sessions_core::Bug::SerializeNoLock);
    let declared_passing = PassingWrapper(bad);
    std::env::set_var(sessions_models::harness::FAILURE_DIR_ENV, &dir);
    let panic =
        std::panic::catch_unwind(|| assert_model(&declared_passing)).expect_err("the model fails");
    std::env::remove_var(sessions_models::harness::FAILURE_DIR_ENV);
    let message = panic
        .downcast_ref::<String>()
        .expect("a text panic")
        .clone();
    assert!(
        message.contains("UNEXPECTED VIOLATION") && message.contains("[mixing]"),
        "{message}"
    );
    let path = message
        .lines()
        .find_map(|l| l.strip_prefix("failure file: "))
        .expect("the file is named");
    let file: FailureFile<PassingWrapper> = failure::load(Path::new(path)).unwrap();
    assert!(
        failure::replay(&file, TraceLevel::Full)
            .unwrap()
            .same_violations
    );
}

/// A built-in model that declares it passes whatever bug it carries.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct PassingWrapper(BuiltinModel);

impl sessions_models::Model for PassingWrapper {
    fn name(&self) -> String {
        self.0.name()
    }
    fn config(&self) -> sessions_core::KernelConfig {
        self.0.config()
    }
    fn threads(&self) -> usize {
        self.0.threads()
    }
    fn run<P: sessions_core::sync::Platform>(&self, k: &sessions_core::Kernel<P>) {
        self.0.run(k)
    }
}
