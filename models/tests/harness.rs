//! `assert_model` on a user's own model that fails: the panic names an absolute failure file
//! and the exact command that re-runs the failing execution, and that command (this test
//! binary with `SESSIONS_REPLAY` set) replays it.
#![cfg(not(loom))]

use serde::{Deserialize, Serialize};
use sessions_core::proto::chardev;
use sessions_core::sync::Platform;
use sessions_core::{Kernel, KernelConfig, Session, Style};
use sessions_models::harness::{FAILURE_DIR_ENV, REPLAY_ENV};
use sessions_models::{assert_model, Model};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The design note's naive client written as a user would, wrongly declared to pass.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct RawReads;

impl Model for RawReads {
    fn name(&self) -> String {
        "user/raw-reads".into()
    }
    fn config(&self) -> KernelConfig {
        KernelConfig::default()
    }
    fn threads(&self) -> usize {
        3
    }
    fn run<P: Platform>(&self, k: &Kernel<P>) {
        let dev = k.server("dev", chardev::server(b"abcdefgh"));
        let client = k.task("client");
        let iface = chardev::iface(Style::Serialize);
        let sess = Session::connect(&client, &dev, iface, 0, 0).expect("connect");
        let fibrils: Vec<_> = ["A", "B"]
            .into_iter()
            .map(|name| {
                let s = sess.clone();
                client.spawn(name, move || {
                    chardev::blocking::read(&s.raw_phone(), 4).is_ok()
                })
            })
            .collect();
        for f in fibrils {
            let _ = f.join();
        }
        sess.hangup().expect("hangup");
    }
}

/// Run only as a child of the tests below.
#[test]
#[ignore = "fails on purpose; run by the tests below"]
fn user_model_under_test() {
    assert_model(&RawReads);
}

fn child(envs: &[(&str, &Path)]) -> (bool, String) {
    let mut cmd = Command::new(std::env::current_exe().expect("the test binary"));
    cmd.args([
        "--ignored",
        "--exact",
        "user_model_under_test",
        "--nocapture",
    ])
    .env_remove(REPLAY_ENV)
    .env_remove("SESSIONS_LOG");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("the test binary runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn after<'a>(text: &'a str, label: &str) -> &'a str {
    let start = text
        .find(label)
        .unwrap_or_else(|| panic!("no `{label}` in:\n{text}"))
        + label.len();
    text[start..].lines().next().unwrap_or_default().trim()
}

#[test]
fn a_failure_of_a_user_model_names_its_file_and_the_command_that_replays_it() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("harness-failures");
    let _ = std::fs::remove_dir_all(&dir);
    let (passed, text) = child(&[(FAILURE_DIR_ENV, &dir)]);
    assert!(!passed, "{text}");
    assert!(text.contains("[mixing]"), "{text}");
    let file = PathBuf::from(after(&text, "failure file: "));
    assert!(file.is_absolute() && file.is_file(), "{}", file.display());
    let command = after(&text, "re-run this execution: ");
    assert_eq!(
        command,
        format!(
            "{REPLAY_ENV}={} cargo test -p sessions-models --test harness -- --exact user_model_under_test",
            file.display()
        )
    );
    assert!(
        after(&text, "draw it: ").starts_with(&format!("sessions trace {}", file.display())),
        "{text}"
    );
    // The command's environment replays the file: the same failure, at once.
    let (passed, text) = child(&[(REPLAY_ENV, &file)]);
    assert!(!passed, "{text}");
    assert!(
        text.contains(&format!(
            "replayed {}: UNEXPECTED VIOLATION, the same violations as the file",
            file.display()
        )),
        "{text}"
    );
    // With SESSIONS_LOG, every event of the replay is printed as it happens.
    let (_, logged) = child(&[(REPLAY_ENV, &file), ("SESSIONS_LOG", Path::new("1"))]);
    assert!(logged.contains("[sessions] "), "{logged}");
    // Shuttle's own noise about expected panics stays out of it.
    assert!(
        !text.contains("Task failed, serializing schedule"),
        "{text}"
    );
}

#[test]
fn a_replay_file_for_another_model_or_other_parameters_is_not_silently_used() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/naive-phone.json");
    // A file of another model: the test runs as usual, and says so.
    let (passed, text) = child(&[(REPLAY_ENV, &fixture)]);
    assert!(!passed, "{text}");
    assert!(
        text.contains(
            "SESSIONS_REPLAY names a failure of `naive-phone`; `user/raw-reads` runs as usual"
        ),
        "{text}"
    );
    // A file that does not exist is an error, not a normal run.
    let (passed, text) = child(&[(REPLAY_ENV, Path::new("/nonexistent/failure.json"))]);
    assert!(!passed);
    assert!(
        text.contains("SESSIONS_REPLAY: /nonexistent/failure.json"),
        "{text}"
    );
}
