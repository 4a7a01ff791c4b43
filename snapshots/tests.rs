//! Canonical protocol traces, reviewed as insta snapshots in this folder (a test target of
//! `sessions-scenarios`, kept here so that `cargo insta review` at the workspace root finds
//! the snapshots).
//!
//! Each trace comes from a fixed schedule: the first execution of shuttle's DFS, or the first
//! execution of a seeded PCT run that shows what the snapshot is about (the naive client's mixed
//! order, a reclaim). The text swimlanes name only logical ids (fibril A, sess0, exch2, conn1).
//! A change to the protocol changes them, and `cargo test` fails until `cargo insta review`
//! accepts it.
#![cfg(not(loom))]

use sessions_core::sync::Platform;
use sessions_core::{Event, Kernel, KernelConfig, Method, Style, TraceLevel, TraceLog};
use sessions_models::check;
use sessions_models::driver::{run_shuttle, Scheduler};
use sessions_models::failure::{self, FailureFile};
use sessions_models::{Builtin, BuiltinModel, Expect, Model};
use sessions_scenarios::render::{render, Format};
use std::path::Path;

fn snapshot(name: &str, log: &TraceLog, title: &str) {
    let violations = check::check(log);
    let text = render(log, &violations, Format::Text, title);
    insta::with_settings!({
        snapshot_path => ".",
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => title,
    }, {
        insta::assert_snapshot!(name, text);
    });
}

/// The first execution of shuttle's DFS: a fixed schedule.
fn first_dfs(m: &BuiltinModel) -> TraceLog {
    let out = run_shuttle(
        m,
        &Scheduler::Dfs {
            max_iterations: Some(1),
        },
        TraceLevel::Full,
    );
    match out.finding {
        Some(f) => f.trace,
        None => out.last_trace.expect("one execution ran"),
    }
}

/// A model that stops the run at the first execution whose trace satisfies `target`.
#[derive(Clone)]
struct Until {
    model: BuiltinModel,
    target: fn(&TraceLog) -> bool,
}

impl Model for Until {
    fn name(&self) -> String {
        self.model.name()
    }
    fn config(&self) -> KernelConfig {
        self.model.config()
    }
    fn expect(&self) -> Expect {
        Expect::Pass
    }
    fn threads(&self) -> usize {
        self.model.threads()
    }
    fn run<P: Platform>(&self, k: &Kernel<P>) {
        self.model.run(k);
        if (self.target)(&k.finish()) {
            panic!("target reached");
        }
    }
}

/// The first execution of PCT with seed 0 whose trace satisfies `target`.
fn first_pct(model: BuiltinModel, target: fn(&TraceLog) -> bool) -> TraceLog {
    let out = run_shuttle(
        &Until { model, target },
        &Scheduler::Pct {
            seed: 0,
            depth: 3,
            iterations: 10_000,
        },
        TraceLevel::Full,
    );
    out.finding.expect("PCT reaches the target").trace
}

#[test]
fn seed_example_under_each_exchange_style() {
    for style in Style::ALL {
        let m = match style {
            Style::Atomic => BuiltinModel::from(Builtin::AtomicTwoCall),
            style => BuiltinModel::from(Builtin::SeedRead { style, reads: 1 }),
        };
        snapshot(
            &format!("seed-read-{style}"),
            &first_dfs(&m),
            &format!("{} (first DFS execution)", m.name()),
        );
    }
}

#[test]
fn write_while_read() {
    for style in [Style::Parallel, Style::Multiplexed, Style::Serialize] {
        let m = BuiltinModel::from(Builtin::WriteWhileRead { style });
        snapshot(
            &format!("write-while-read-{style}"),
            &first_dfs(&m),
            &format!("{} (first DFS execution)", m.name()),
        );
    }
}

fn arrival_methods(log: &TraceLog) -> Vec<(u32, Method)> {
    log.events
        .iter()
        .filter_map(|e| match e {
            Event::Arrive {
                tag: Some(t),
                method,
                ..
            } => Some((t.fibril.0, *method)),
            _ => None,
        })
        .collect()
}

#[test]
fn naive_client_mixed_order() {
    // The design note's (AR1, BR1, AR2, BR2), literally: fibril A is fibril 1.
    let log = first_pct(BuiltinModel::from(Builtin::NaivePhone), |log| {
        let (r, d) = (sessions_core::proto::chardev::READ, Method::DATA_READ);
        arrival_methods(log) == [(1, r), (2, r), (1, d), (2, d)]
    });
    snapshot(
        "naive-phone-ar1-br1-ar2-br2",
        &log,
        "naive-phone: the server sees (AR1, BR1, AR2, BR2)",
    );
}

#[test]
fn phone_exhaustion_with_reclaim() {
    let log = first_pct(BuiltinModel::from(Builtin::PhoneExhaustion), |log| {
        log.events.iter().any(|e| {
            matches!(
                e,
                Event::CacheOut {
                    why: sessions_core::trace::CacheOut::Reclaim { .. },
                    ..
                }
            )
        }) && log
            .events
            .iter()
            .any(|e| matches!(e, Event::WaitPhone { .. }))
    });
    snapshot(
        "phone-exhaustion-reclaim",
        &log,
        "phone-exhaustion: a clone fails, a fibril waits, an idle clone is reclaimed",
    );
}

#[test]
fn every_committed_failure_file() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/tests/fixtures");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for path in files {
        let file: FailureFile<BuiltinModel> =
            failure::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let replayed = failure::replay(&file, TraceLevel::Full).expect("the fixture replays");
        assert!(replayed.same_trace);
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        snapshot(
            &format!("failure-{stem}"),
            &replayed.trace(),
            &format!("{} (failure file {stem}.json)", file.model_name),
        );
    }
}

/// Environment variable that makes [`the_drawn_docs_match_a_fresh_render`] rewrite the drawings
/// in `docs/` instead of failing.
const UPDATE_DOCS_ENV: &str = "SESSIONS_UPDATE_DOCS";

#[test]
fn the_drawn_docs_match_a_fresh_render() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fixture = root.join("models/tests/fixtures/naive-phone.json");
    let text = failure::read_text(&fixture).expect("the fixture reads");
    let file = failure::parse_recorded(&fixture, &text).expect("the fixture parses");
    let mut stale = Vec::new();
    for (format, ext) in [(Format::Svg, "svg"), (Format::Html, "html")] {
        let drawn = render(&file.trace, &file.violations, format, &file.model_name);
        let path = root.join(format!("docs/naive-phone.{ext}"));
        if std::env::var_os(UPDATE_DOCS_ENV).is_some() {
            std::fs::write(&path, &drawn).expect("docs/ is writable");
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(drawn.as_str()) {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "{} no longer match(es) a fresh render of {}; redraw with {UPDATE_DOCS_ENV}=1 cargo test -p sessions-snapshots",
        stale.join(", "),
        fixture.display()
    );
}
