//! Every built-in model under shuttle PCT (1,000 executions at depth 3), each a test named after
//! what it shows.
#![cfg(not(loom))]

mod common;

use common::{deadlock, expect_as_declared, violations};
use sessions_core::trace::BeginHow;
use sessions_core::{Event, Method, PathId, Style, TraceLevel};
use sessions_models::driver::{run_shuttle, run_std, Scheduler};
use sessions_models::trace_stats::Coverage;
use sessions_models::{Builtin, BuiltinModel, Checker, Model, Verdict, Violation};

fn model(b: Builtin) -> BuiltinModel {
    b.into()
}

#[test]
fn seed_example_passes_under_serialize_parallel_and_multiplexed() {
    for style in [Style::Serialize, Style::Parallel, Style::Multiplexed] {
        expect_as_declared(&model(Builtin::SeedRead { style, reads: 1 }));
        expect_as_declared(&model(Builtin::SeedRead { style, reads: 2 }));
    }
}

#[test]
fn seed_example_passes_with_threaded_dispatch() {
    for style in [Style::Serialize, Style::Parallel, Style::Multiplexed] {
        expect_as_declared(&model(Builtin::SeedRead { style, reads: 1 }).threaded());
    }
}

#[test]
fn seed_example_passes_on_std_threads() {
    for style in [Style::Serialize, Style::Parallel, Style::Multiplexed] {
        let m = model(Builtin::SeedRead { style, reads: 1 });
        let out = run_std(&m, 200, TraceLevel::Full);
        assert_eq!(
            out.verdict(m.expect()),
            Verdict::Passed,
            "{:?}",
            out.finding.map(|f| f.violations)
        );
        assert_eq!(out.executions, 200);
    }
}

#[test]
fn write_while_read_passes_under_parallel_and_multiplexed() {
    expect_as_declared(&model(Builtin::WriteWhileRead {
        style: Style::Parallel,
    }));
    expect_as_declared(&model(Builtin::WriteWhileRead {
        style: Style::Multiplexed,
    }));
}

#[test]
fn write_while_read_under_serialize_is_reported_as_the_deadlock_it_is() {
    let out = expect_as_declared(&model(Builtin::WriteWhileRead {
        style: Style::Serialize,
    }));
    let v = violations(&out);
    let report = deadlock(&v);
    // A waits for the answer to its read; B waits for the session's exchange lock, which A holds;
    // the server's read handler waits for data that only B would write.
    let text = report.to_string();
    assert!(text.contains("fibril A waits for the answer to"), "{text}");
    assert!(
        text.contains("fibril B waits for the exchange lock of SERIALIZE sess0, held by fibril A"),
        "{text}"
    );
    assert!(
        report.server.iter().any(|w| w.what == "chardev data"),
        "{text}"
    );
}

#[test]
fn naive_phone_mixes_the_two_reads_as_the_design_note_predicts() {
    let out = expect_as_declared(&model(Builtin::NaivePhone));
    let v = violations(&out);
    let (conn, before, intruder) = v
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
        .expect("a mixing violation");
    // One connection (the session's only one), two operations of different fibrils, no exchange.
    assert_eq!(conn.0, 0);
    assert_ne!(before.fibril, intruder.fibril);
    assert_ne!(before.op, intruder.op);
    assert_eq!((before.exch, intruder.exch), (None, None));
    // The server saw both CHARDEV_READs first, then both data reads: a mixture such as the
    // design note's (AR1, BR1, AR2, BR2). (core's tests pin that exact order under shuttle.)
    let trace = &out.finding.as_ref().unwrap().trace;
    let seen: Vec<(String, Method)> = trace
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Arrive {
                tag: Some(t),
                method,
                ..
            } => Some((name_of(trace, t.fibril), *method)),
            _ => None,
        })
        .collect();
    let read = sessions_core::proto::chardev::READ;
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert_eq!(
        (seen[0].1, seen[1].1, seen[2].1, seen[3].1),
        (read, read, Method::DATA_READ, Method::DATA_READ)
    );
    assert_ne!(seen[0].0, seen[1].0);
    assert_ne!(seen[2].0, seen[3].0);
    assert!(
        v.iter().any(|v| v.checker() == Checker::Protocol),
        "the chardev server noticed too"
    );
}

fn name_of(trace: &sessions_core::TraceLog, f: sessions_core::FibrilId) -> String {
    trace
        .events
        .iter()
        .find_map(|e| match e {
            Event::FibrilNew { fibril, name, .. } if *fibril == f => Some(name.clone()),
            _ => None,
        })
        .unwrap()
}

#[test]
fn two_call_operations_under_atomic_are_found_mixing() {
    let out = expect_as_declared(&model(Builtin::AtomicTwoCall));
    let v = violations(&out);
    let Some(Violation::Mixing {
        before,
        intruder,
        after,
        ..
    }) = v.iter().find(|v| v.checker() == Checker::Mixing)
    else {
        panic!("no mixing in {v:?}")
    };
    // Under ATOMIC the operations run in exchanges, and two different exchanges interleave.
    assert!(before.exch.is_some() && intruder.exch.is_some());
    assert_ne!(before.exch, intruder.exch);
    assert_eq!(before.exch, after.exch);
}

#[test]
fn phone_exhaustion_clones_reclaims_and_waits_without_deadlock_or_leak() {
    let m = model(Builtin::PhoneExhaustion);
    let out = expect_as_declared(&m);
    // Across the explored executions, every path of a PARALLEL begin happened.
    let c = &out.coverage;
    for what in [
        Coverage::CLONE_FAILED,
        Coverage::RECLAIM,
        Coverage::WAIT_PHONE,
        Coverage::REUSE,
        Coverage::CLONE,
    ] {
        assert!(c.executions_with(what) > 0, "no execution had {what}: {c}");
    }
    assert!(c.max_open_phones <= 3, "{c}");
}

#[test]
fn a_fibril_waits_for_a_phone_and_wakes_when_an_exchange_ends() {
    let out = expect_as_declared(&model(Builtin::WaitForPhone));
    assert!(
        out.coverage.executions_with(Coverage::WAIT_PHONE) > 0,
        "{}",
        out.coverage
    );
}

#[test]
fn a_multiplexed_begin_waits_for_a_free_path_without_deadlock() {
    let out = expect_as_declared(&model(Builtin::WaitForPath));
    assert!(
        out.coverage.executions_with(Coverage::WAIT_PATH) > 0,
        "{}",
        out.coverage
    );
}

#[test]
fn hangup_is_refused_while_busy_and_wakes_phone_waiters_with_an_error() {
    let out = expect_as_declared(&model(Builtin::Hangup {
        style: Style::Parallel,
    }));
    let c = &out.coverage;
    assert!(c.executions_with(Coverage::BUSY_HANGUP) > 0, "{c}");
    assert!(c.executions_with(Coverage::WOKEN_BY_HANGUP) > 0, "{c}");
    // Under MULTIPLEXED no fibril waits for a phone, but hangup is refused while busy as well.
    let out = expect_as_declared(&model(Builtin::Hangup {
        style: Style::Multiplexed,
    }));
    assert!(
        out.coverage.executions_with(Coverage::BUSY_HANGUP) > 0,
        "{}",
        out.coverage
    );
}

#[test]
fn a_server_dying_mid_exchange_gives_errors_not_hangs_and_leaks_nothing() {
    for style in [Style::Serialize, Style::Parallel, Style::Multiplexed] {
        expect_as_declared(&model(Builtin::ServerDies { style }));
    }
}

#[test]
fn an_early_ended_multiplexed_exchange_keeps_its_path_until_the_server_frees_it() {
    expect_as_declared(&model(Builtin::EarlyEnd));
}

#[test]
fn dfs_explores_the_seed_example_exhaustively_within_a_bound() {
    let m = model(Builtin::SeedRead {
        style: Style::Parallel,
        reads: 1,
    });
    let out = run_shuttle(
        &m,
        &Scheduler::Dfs {
            max_iterations: Some(20_000),
        },
        TraceLevel::Full,
    );
    assert!(out.finding.is_none());
    assert!(out.executions > 100, "{}", out.executions);
}

#[test]
fn every_model_in_the_default_list_is_named_uniquely() {
    let names: Vec<String> = BuiltinModel::all().iter().map(|m| m.name()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), names.len(), "{names:?}");
    for n in &names {
        assert_eq!(
            BuiltinModel::by_name(n).map(|m| m.name()).as_deref(),
            Some(n.as_str())
        );
    }
}

#[test]
fn an_operation_cut_short_by_a_refused_send_never_hands_its_connection_on() {
    for style in [Style::Serialize, Style::Parallel, Style::Multiplexed] {
        let out = expect_as_declared(&model(Builtin::CutShort { style }));
        // Every execution cut fibril A's write short.
        let c = &out.coverage;
        assert_eq!(
            c.executions_with(Coverage::CUT_SHORT),
            out.executions,
            "{c}"
        );
        let ev = out.last_trace.expect("a trace").events;
        let (at, exch) = ev
            .iter()
            .enumerate()
            .find_map(|(i, e)| match e {
                Event::ExchBroken { exch, .. } => Some((i, *exch)),
                _ => None,
            })
            .expect("the cut");
        let (obj, phone, path) = ev
            .iter()
            .find_map(|e| match e {
                Event::ExchBegin {
                    exch: x,
                    obj,
                    phone,
                    how,
                    ..
                } if *x == exch => Some((*obj, *phone, *how)),
                _ => None,
            })
            .expect("its begin");
        let path = match path {
            BeginHow::Path(p) => p,
            _ => PathId::CONN,
        };
        let conn = ev
            .iter()
            .find_map(|e| match e {
                Event::ConnOpen { conn, phone: p, .. } if *p == phone => Some(*conn),
                _ => None,
            })
            .expect("its connection");
        // After the cut, no operation's call reaches that connection (or path), and no
        // exchange takes the broken exchange's object again.
        for e in &ev[at..] {
            match e {
                Event::Arrive {
                    conn: c,
                    path: p,
                    tag: Some(t),
                    call,
                    ..
                } if (*c, *p) == (conn, path) => {
                    panic!(
                        "{style}: {call} of {} reached {conn} {path} after the cut",
                        t.op
                    )
                }
                Event::ExchBegin { obj: o, exch, .. } if *o == obj => {
                    panic!("{style}: {exch} took {obj} after the cut")
                }
                _ => {}
            }
        }
    }
}

#[test]
fn reclaim_passes_over_a_cached_wrapper_of_a_main_phone() {
    let out = expect_as_declared(&model(Builtin::MixedExhaustion));
    let c = &out.coverage;
    for what in [
        Coverage::CLONE_FAILED,
        Coverage::RECLAIM,
        Coverage::WAIT_PHONE,
    ] {
        assert!(c.executions_with(what) > 0, "no execution had {what}: {c}");
    }
}

#[test]
fn a_refused_clone_fails_its_begin_and_leaves_other_sessions_cached_exchanges_alone() {
    let out = expect_as_declared(&model(Builtin::CloneRefused));
    let c = &out.coverage;
    assert_eq!(
        c.executions_with(Coverage::CLONE_REFUSED),
        out.executions,
        "{c}"
    );
    assert_eq!(c.executions_with(Coverage::RECLAIM), 0, "{c}");
}

/// Fibrils A and B read twice each through two PARALLEL sessions of one task, with the server
/// on its own thread so that a clone's round trip takes a while; after the run the model checks
/// its own trace for checklist item 8: `async_sess_mutex` is held across the round trip, so no
/// other fibril of the task begins or ends an exchange between a clone request and its answer.
#[derive(Clone)]
struct CloneHoldsTheMutex;

impl Model for CloneHoldsTheMutex {
    fn name(&self) -> String {
        "clone-holds-the-mutex".into()
    }
    fn config(&self) -> sessions_core::KernelConfig {
        sessions_core::KernelConfig {
            dispatch: sessions_core::Dispatch::Threaded,
            ..Default::default()
        }
    }
    fn threads(&self) -> usize {
        4
    }
    fn run<P: sessions_core::sync::Platform>(&self, k: &sessions_core::Kernel<P>) {
        use sessions_core::proto::chardev;
        let dev = k.server("dev", chardev::server(b"abcdefghijklmnop"));
        let client = k.task("client");
        let iface = chardev::iface(Style::Parallel);
        let sessions: Vec<_> = (0..2)
            .map(|_| sessions_core::Session::connect(&client, &dev, iface, 0, 0).unwrap())
            .collect();
        let fibrils: Vec<_> = ["A", "B"]
            .into_iter()
            .zip(sessions.clone())
            .map(|(name, s)| {
                client.spawn(name, move || {
                    for _ in 0..2 {
                        chardev::blocking::read(&s.begin().unwrap(), 4).unwrap();
                    }
                })
            })
            .collect();
        for f in fibrils {
            f.join().unwrap();
        }
        for s in sessions {
            s.hangup().unwrap();
        }
        let log = k.finish();
        // Each clone's window, from its request to its answer, by the fibril that waits.
        let mut open: Option<(sessions_core::CallId, sessions_core::FibrilId)> = None;
        for e in &log.events {
            match e {
                Event::Send {
                    call,
                    fibril,
                    phone: Some(_),
                    method: Method::CONNECT_ME_TO,
                    ..
                } => open = Some((*call, *fibril)),
                Event::Receive { call, .. } if open.is_some_and(|(c, _)| c == *call) => open = None,
                Event::ExchBegin { fibril, exch, .. } => {
                    if let Some((c, holder)) = open.filter(|(_, f)| f != fibril) {
                        panic!("{exch} began while {holder} held async_sess_mutex for {c}");
                    }
                }
                Event::CacheIn { obj, .. } => {
                    if let Some((c, holder)) = open {
                        panic!("{obj} was cached while {holder} held async_sess_mutex for {c}");
                    }
                }
                _ => {}
            }
        }
    }
}

#[test]
fn a_clone_round_trip_holds_the_async_framework_mutex_so_other_ends_wait() {
    let out = expect_as_declared(&CloneHoldsTheMutex);
    // The run did contend: some execution's clone was answered after another fibril had
    // already asked for the mutex.
    assert!(
        out.coverage.executions_with(Coverage::WAIT_MUTEX) > 0,
        "{}",
        out.coverage
    );
}

#[test]
fn two_hangups_queued_behind_a_clone_round_trip_end_one_ok_and_one_closed() {
    // The model asserts one Ok and one SessionClosed in every execution; the run shows that
    // some execution had a fibril queue for async_sess_mutex, as the race needs.
    let out = expect_as_declared(&BuiltinModel::from(Builtin::HangupRace));
    assert!(
        out.coverage.executions_with(Coverage::WAIT_MUTEX) > 0,
        "{}",
        out.coverage
    );
}

/// How many executions of [`WokenIntoAHeldMutex`] had B queue for `async_sess_mutex` after it
/// was woken from its wait for a phone. Written after each execution's trace is complete.
static WOKEN_INTO_HELD: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A phone table too small for a clone per reader: A and B read on one PARALLEL session, D on
/// another, server threads. B may wait for a phone until A's exchange ends; D may meanwhile reclaim A's idle clone and hold
/// `async_sess_mutex` across its own clone's round trip, so that B, woken, must queue for the
/// mutex before it looks at its cache again.
#[derive(Clone)]
struct WokenIntoAHeldMutex;

impl Model for WokenIntoAHeldMutex {
    fn name(&self) -> String {
        "woken-into-a-held-mutex".into()
    }
    fn config(&self) -> sessions_core::KernelConfig {
        sessions_core::KernelConfig {
            phone_limit: 4,
            dispatch: sessions_core::Dispatch::Threaded,
            ..Default::default()
        }
    }
    fn threads(&self) -> usize {
        5
    }
    fn run<P: sessions_core::sync::Platform>(&self, k: &sessions_core::Kernel<P>) {
        use sessions_core::proto::chardev;
        let dev = k.server("dev", chardev::server(b"abcdefghijkl"));
        let client = k.task("client");
        let iface = chardev::iface(Style::Parallel);
        let s1 = sessions_core::Session::connect(&client, &dev, iface, 0, 0).unwrap();
        let s2 = sessions_core::Session::connect(&client, &dev, iface, 0, 0).unwrap();
        let reader = |s: &sessions_core::Session| {
            let s = s.clone();
            move || {
                chardev::blocking::read(&s.begin().unwrap(), 4)
                    .unwrap()
                    .len()
            }
        };
        let a = client.spawn("A", reader(&s1));
        let b = client.spawn("B", reader(&s1));
        let d = client.spawn("D", reader(&s2));
        for f in [a, b, d] {
            assert_eq!(f.join().unwrap(), 4);
        }
        s1.hangup().unwrap();
        s2.hangup().unwrap();
        let log = k.finish();
        // Fibrils that waited for a phone, and whether one of them then queued for the mutex.
        let mut waited = Vec::new();
        for e in &log.events {
            match e {
                Event::WaitPhone { fibril, .. } => waited.push(*fibril),
                Event::LockWait {
                    fibril,
                    wait: sessions_core::trace::Wait::AsyncMutex { .. },
                } if waited.contains(fibril) => {
                    WOKEN_INTO_HELD.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    break;
                }
                _ => {}
            }
        }
    }
}

#[test]
fn a_begin_woken_for_a_phone_queues_for_the_mutex_another_fibril_holds() {
    let out = expect_as_declared(&WokenIntoAHeldMutex);
    assert!(
        out.coverage.executions_with(Coverage::WAIT_PHONE) > 0,
        "{}",
        out.coverage
    );
    assert!(WOKEN_INTO_HELD.load(std::sync::atomic::Ordering::Relaxed) > 0);
}
