//! Every injected bug is caught, under shuttle PCT within the default budget (1,000 executions
//! at depth 3), by the checker that exists for it; each test asserts on what was found.
#![cfg(not(loom))]

mod common;

use common::{deadlock, expect_as_declared, violations};
use sessions_core::trace::Wait;
use sessions_core::{Bug, Event};
use sessions_models::builtin::{bug_checker, bug_model};
use sessions_models::violation::Leak;
use sessions_models::{Checker, Expect, Model, Violation};

fn found(bug: Bug) -> Vec<Violation> {
    let m = bug_model(bug);
    assert_eq!(m.expect(), Expect::Finding(bug_checker(bug)));
    violations(&expect_as_declared(&m))
}

#[test]
fn serialize_without_its_lock_is_caught_as_mixing_of_two_exchanges() {
    let v = found(Bug::SerializeNoLock);
    let Some(Violation::Mixing {
        conn,
        before,
        intruder,
        ..
    }) = v.iter().find(|v| v.checker() == Checker::Mixing)
    else {
        panic!("{v:?}")
    };
    // Both exchanges use the session's one phone, so they meet on its one connection.
    assert_eq!(conn.0, 0);
    assert!(before.exch.is_some() && intruder.exch.is_some() && before.exch != intruder.exch);
    assert_ne!(before.fibril, intruder.fibril);
}

#[test]
fn an_exchange_cached_while_in_use_is_caught_by_accounting() {
    let m = bug_model(Bug::CacheWhileInUse);
    let out = expect_as_declared(&m);
    let v = violations(&out);
    let (obj, exch) = v
        .iter()
        .find_map(|v| {
            if let Violation::CachedInUse { obj, exch, .. } = v {
                Some((*obj, *exch))
            } else {
                None
            }
        })
        .unwrap_or_else(|| panic!("{v:?}"));
    // In the trace, two exchanges took that object without an end between them.
    let events = &out.finding.unwrap().trace.events;
    let begins: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::ExchBegin { exch, obj: o, .. } if *o == obj => Some(*exch),
            _ => None,
        })
        .collect();
    assert!(begins.contains(&exch) && begins.len() >= 2, "{begins:?}");
}

#[test]
fn reclaim_of_an_active_exchange_is_caught_by_accounting() {
    let v = found(Bug::ReclaimActive);
    assert!(
        v.iter()
            .any(|v| matches!(v, Violation::ReclaimedActive { .. })),
        "{v:?}"
    );
}

#[test]
fn a_lost_wakeup_on_exchange_end_is_caught_as_a_deadlock_on_a_phone() {
    let v = found(Bug::LostWakeup);
    let report = deadlock(&v);
    // The fibril that waited for a phone sleeps for ever although the exchange it waited for ended.
    assert!(
        report
            .fibrils
            .iter()
            .any(|(_, _, w)| matches!(w, Wait::AvailPhone { .. })),
        "{report}"
    );
}

#[test]
fn hangup_without_the_hangup_message_is_caught_by_resources() {
    let v = found(Bug::NoHangupMessage);
    let leaked: Vec<_> = v
        .iter()
        .filter_map(|v| {
            if let Violation::Leak(Leak::Conn { conn }) = v {
                Some(*conn)
            } else {
                None
            }
        })
        .collect();
    let unannounced: Vec<_> = v
        .iter()
        .filter_map(|v| {
            if let Violation::HangupNotLast { conn, after: None } = v {
                Some(*conn)
            } else {
                None
            }
        })
        .collect();
    // Every connection the client closed is still open at the server and never got HANGUP.
    assert!(!leaked.is_empty(), "{v:?}");
    assert_eq!(leaked, unannounced);
}

#[test]
fn a_path_id_reused_too_early_is_caught_on_the_reused_path() {
    let v = found(Bug::PathReuseEarly);
    let Some(Violation::PathReused {
        path,
        first,
        intruder,
        ..
    }) = v.iter().find(|v| matches!(v, Violation::PathReused { .. }))
    else {
        panic!("{v:?}")
    };
    // The second exchange landed on path 1 while the server still held the first one's state.
    assert_eq!(path.0, 1);
    assert_ne!(Some(*first), intruder.exch);
}

#[test]
fn calls_routed_by_connection_instead_of_path_are_caught_as_misrouted() {
    let v = found(Bug::RouteByConnection);
    let Some(Violation::Misrouted {
        path,
        expected,
        call,
        ..
    }) = v.iter().find(|v| matches!(v, Violation::Misrouted { .. }))
    else {
        panic!("{v:?}")
    };
    assert_ne!(path, expected);
    assert!(call.exch.is_some());
}

#[test]
fn reclaim_of_a_wrapped_main_phone_is_caught_by_accounting() {
    let v = found(Bug::ReclaimMainPhone);
    let Some(Violation::ReclaimedMainPhone { owner, .. }) = v
        .iter()
        .find(|v| matches!(v, Violation::ReclaimedMainPhone { .. }))
    else {
        panic!("{v:?}")
    };
    // The victim is the SERIALIZE session, the model's first.
    assert_eq!(owner.0, 0, "{v:?}");
}

#[test]
fn reclaim_after_a_refused_clone_is_caught_as_needless_and_ends_in_a_wait_for_ever() {
    let v = found(Bug::ReclaimOnRefusal);
    let Some(Violation::NeedlessReclaim {
        victim,
        for_sess,
        fibril,
        error,
        ..
    }) = v
        .iter()
        .find(|v| matches!(v, Violation::NeedlessReclaim { .. }))
    else {
        panic!("{v:?}")
    };
    // Fibril A's begin on the refused session took the other session's cached clone.
    assert_eq!((victim.0, for_sess.0, fibril.name.as_str()), (0, 1, "A"));
    assert_eq!(*error, Some(sessions_core::IpcError::NoInterface));
    // With nothing left to reclaim, A waits for a phone that no end can give it.
    let report = deadlock(&v);
    assert!(
        report
            .fibrils
            .iter()
            .any(|(_, name, w)| name == "A" && matches!(w, Wait::AvailPhone { .. })),
        "{report}"
    );
}

#[test]
fn a_lost_notification_is_reported_with_the_fibril_that_never_ran_again() {
    // The kernel counts the woken fibril as running, so only shuttle's view of every thread
    // finds the deadlock; the report names the fibril whose thread was never notified.
    let v = found(Bug::LostNotify);
    let report = deadlock(&v);
    assert!(
        report
            .woken
            .iter()
            .any(|(_, name)| name == "A" || name == "B"),
        "{report}"
    );
    assert!(report
        .to_string()
        .contains("was woken but its thread never ran again"));
}

/// Fibril B waits for the one spare phone, which main holds, and main then ends its exchange:
/// under `lost-notify` the kernel unparks B and never notifies its thread. The order is forced
/// (main ends only once B waits), so every execution on std threads hangs the same way.
#[derive(Clone)]
struct HeldPhone;

impl Model for HeldPhone {
    fn name(&self) -> String {
        "held-phone+bug:lost-notify".into()
    }
    fn config(&self) -> sessions_core::KernelConfig {
        sessions_core::KernelConfig {
            phone_limit: 2,
            bug: Some(Bug::LostNotify),
            ..Default::default()
        }
    }
    fn expect(&self) -> Expect {
        Expect::Finding(Checker::Deadlock)
    }
    fn threads(&self) -> usize {
        2
    }
    fn run<P: sessions_core::sync::Platform>(&self, k: &sessions_core::Kernel<P>) {
        use sessions_core::proto::chardev;
        let dev = k.server("dev", chardev::server(b"abcd"));
        let client = k.task("client");
        let iface = chardev::iface(sessions_core::Style::Parallel);
        let sess = sessions_core::Session::connect(&client, &dev, iface, 0, 0).unwrap();
        let held = sess.begin().unwrap();
        let s = sess.clone();
        let b = client.spawn("B", move || chardev::blocking::read(&s.begin()?, 4));
        while !k
            .trace()
            .snapshot()
            .events
            .iter()
            .any(|e| matches!(e, Event::WaitPhone { .. }))
        {
            P::yield_now();
        }
        drop(held);
        let _ = b.join();
        sess.hangup().unwrap();
    }
}

/// Runs `m` once on std threads with a one-second stall watchdog and returns the stall's report,
/// having checked that it is one and that main waits in it to join.
fn stall_of<M: sessions_models::Model + Clone>(m: &M) -> sessions_core::trace::DeadlockReport {
    let hooks = sessions_models::Hooks {
        stall: Some(std::time::Duration::from_secs(1)),
        ..sessions_models::Hooks::default()
    };
    let out = sessions_models::driver::run_std_with(m, 1, sessions_core::TraceLevel::Full, &hooks);
    let report = deadlock(&violations(&out)).clone();
    assert_eq!(report.stalled_secs, Some(1), "{report}");
    assert!(
        report
            .fibrils
            .iter()
            .any(|(_, n, w)| n == "main" && matches!(w, Wait::Join { .. })),
        "{report}"
    );
    report
}

#[test]
fn on_std_threads_a_lost_notification_is_a_reported_stall_not_a_hang() {
    let report = stall_of(&HeldPhone);
    assert_eq!(
        report
            .woken
            .iter()
            .map(|(_, n)| n.as_str())
            .collect::<Vec<_>>(),
        ["B"],
        "{report}"
    );
}

/// Set to let [`SpinsAfterWake`]'s fibril B stop spinning.
static STOP_SPINNING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Fibril B waits for the exchange lock of a SERIALIZE session, which main holds; main hands
/// it over, and B, woken and running, spins outside the kernel until the test stops it.
#[derive(Clone)]
struct SpinsAfterWake;

impl Model for SpinsAfterWake {
    fn name(&self) -> String {
        "spins-after-wake".into()
    }
    fn config(&self) -> sessions_core::KernelConfig {
        sessions_core::KernelConfig::default()
    }
    fn threads(&self) -> usize {
        2
    }
    fn run<P: sessions_core::sync::Platform>(&self, k: &sessions_core::Kernel<P>) {
        use sessions_core::proto::chardev;
        let dev = k.server("dev", chardev::server(b""));
        let client = k.task("client");
        let iface = chardev::iface(sessions_core::Style::Serialize);
        let sess = sessions_core::Session::connect(&client, &dev, iface, 0, 0).unwrap();
        let held = sess.begin().unwrap();
        let s = sess.clone();
        let b = client.spawn("B", move || {
            let exch = s.begin().unwrap();
            while !STOP_SPINNING.load(std::sync::atomic::Ordering::Relaxed) {
                P::yield_now();
            }
            exch.end();
        });
        // Hand the lock over only once B waits for it, so that B is woken in every run.
        while !k
            .trace()
            .waits()
            .iter()
            .any(|(_, w)| matches!(w, Wait::SerialLock { .. }))
        {
            P::yield_now();
        }
        drop(held);
        let _ = b.join();
        sess.hangup().unwrap();
    }
}

#[test]
fn a_stall_blames_no_lost_notification_on_a_fibril_that_woke_and_ran() {
    let report = stall_of(&SpinsAfterWake);
    STOP_SPINNING.store(true, std::sync::atomic::Ordering::Relaxed);
    // B was woken, ran, and spins: a stall, but nobody's notification was lost.
    assert!(report.woken.is_empty(), "{report}");
}

#[test]
fn a_forward_routed_to_the_wrong_connection_splits_the_forwarder_s_operation() {
    let v = found(Bug::ForwardWrongConn);
    let Some(Violation::Split {
        conn, first, call, ..
    }) = v.iter().find(|v| matches!(v, Violation::Split { .. }))
    else {
        panic!("{v:?}")
    };
    // The relay's CHARDEV_READ went to its exchange's clone; the data read it forwarded
    // after it went to the session's main connection instead.
    assert_ne!(*conn, first.0);
    assert_eq!(call.method, sessions_core::Method::DATA_READ);
    assert_eq!(call.step, 1);
    assert!(call.fibril.handler, "{call:?}");
    assert!(
        call.fibril.to_string().starts_with("the handler of conn"),
        "{call:?}"
    );
    assert!(call.fibril.to_string().ends_with("at relay"), "{call:?}");
    let text = v
        .iter()
        .find(|v| matches!(v, Violation::Split { .. }))
        .map(|v| v.to_string())
        .unwrap_or_default();
    assert!(text.contains("two server contexts"), "{text}");
}

#[test]
fn a_handler_resumed_with_another_call_s_answer_is_a_crossed_answer() {
    let v = found(Bug::HandlerCrossedAnswer);
    let Some(Violation::CrossedAnswer { receiver, .. }) = v
        .iter()
        .find(|v| matches!(v, Violation::CrossedAnswer { .. }))
    else {
        panic!("{v:?}")
    };
    // The relay's handler, waiting for its CHARDEV_READ's answer, took its data read's.
    assert!(
        receiver.handler && receiver.to_string().ends_with("at relay"),
        "{receiver:?}"
    );
}

#[test]
fn a_callback_session_whose_args_set_is_ignored_asks_for_the_wrong_port() {
    let v = found(Bug::CallbackArgsIgnored);
    let Some(Violation::CloneArgs { asked, set, .. }) =
        v.iter().find(|v| matches!(v, Violation::CloneArgs { .. }))
    else {
        panic!("{v:?}")
    };
    // The clone asked for the interface the callback session was created with (none);
    // `args_set` had named the client's notify port.
    assert_eq!(set, "notify/parallel");
    assert_ne!(asked, set);
}

#[test]
fn a_death_that_forgets_queued_calls_leaves_their_senders_waiting_for_ever() {
    let v = found(Bug::DeathForgetsQueued);
    let report = deadlock(&v);
    // A fibril waits for the answer to a call the dead device had queued; nothing will ever
    // answer it.
    assert!(
        report
            .fibrils
            .iter()
            .any(|(_, name, w)| (name == "A" || name == "B")
                && matches!(w, Wait::Answer { conn: Some(_), .. })),
        "{report}"
    );
    assert!(report.to_string().contains("at dev"), "{report}");
}
