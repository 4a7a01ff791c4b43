//! The kernel's own duties on std threads: finishing only when every fibril has, aborting,
//! reporting a deadlock and what is left open, refusing handlers that spin, and the parts of
//! the server API that chardev does not use.

mod common;

use common::{connect, finish_of, hangup, kernel, kernel_with, last_begin_obj, wait_for_event, K};
use sessions_core::server::Conn;
use sessions_core::sync::{Condvar, Mutex, StdPlatform};
use sessions_core::trace::Wait;
use sessions_core::Protocol;
use sessions_core::{
    Aborted, Errno, Event, Ipc, IpcError, KernelConfig, Method, ServerBuilder, Session, Style,
    Trace, TraceLevel, DEADLOCK_PANIC,
};
use std::panic::{catch_unwind, AssertUnwindSafe};

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    sessions_core::panic_message(p)
}

type Reader = sessions_core::Fibril<StdPlatform, Result<Vec<u8>, IpcError>>;

/// A reader of the empty chardev device, blocked at the server until someone writes.
fn blocked_reader(k: &K) -> (Session, Reader) {
    let dev = k.server("dev", sessions_core::proto::chardev::server(b""));
    let client = k.task("client");
    let sess = connect(&client, &dev, Style::Parallel);
    let s = sess.clone();
    let f = client.spawn("F", move || {
        sessions_core::proto::chardev::blocking::read(&s.begin()?, 4)
    });
    let id = f.id();
    wait_for_event(
        k,
        "F's data read",
        Some(id),
        |e| matches!(e, Event::Send { fibril, method: Method::DATA_READ, .. } if *fibril == id),
    );
    (sess, f)
}

#[test]
fn finish_waits_for_every_fibril_and_reports_the_deadlock_when_one_never_ends() {
    let k = kernel();
    let (_sess, f) = blocked_reader(&k);
    // F is not joined: finish must still wait for it, and F waits for data nobody writes.
    let r = catch_unwind(AssertUnwindSafe(|| k.finish()));
    let text = panic_text(
        r.expect_err("finish returned with F still blocked")
            .as_ref(),
    );
    assert!(text.starts_with(DEADLOCK_PANIC), "{text}");
    let report = k.deadlock().expect("the kernel keeps its report");
    assert!(
        report
            .to_string()
            .contains("fibril main waits for fibril F to finish"),
        "{report}"
    );
    assert!(
        report
            .fibrils
            .iter()
            .any(|(id, name, w)| *id == f.id() && name == "F" && matches!(w, Wait::Answer { .. })),
        "{report}"
    );
}

#[test]
fn abort_stops_a_parked_fibril_whose_join_then_returns_its_abort() {
    let k = kernel();
    let (_sess, f) = blocked_reader(&k);
    k.abort();
    let payload = f.join().expect_err("F stops");
    assert!(payload.is::<Aborted>());
    // An abort is not a failure of its own: nothing panicked first.
    assert_eq!(k.failure(), None);
    assert_eq!(k.deadlock(), None);
}

#[test]
fn a_fibril_that_panics_aborts_the_kernel_and_its_message_is_kept() {
    let k = kernel();
    let (_sess, reader) = blocked_reader(&k);
    let client = k.task("other");
    let p = client.spawn("P", || -> () { panic!("P gave up") });
    let payload = p.join().expect_err("P panicked");
    assert_eq!(panic_text(payload.as_ref()), "P gave up");
    assert_eq!(k.failure().as_deref(), Some("P gave up"));
    // The blocked reader was stopped by the abort P's panic caused.
    assert!(reader.join().expect_err("the reader stops").is::<Aborted>());
}

#[test]
fn the_finish_event_lists_what_was_left_open() {
    let k = kernel();
    let dev = k.server("dev", sessions_core::proto::chardev::server(b"abcd"));
    let client = k.task("client");
    let sess = connect(&client, &dev, Style::Serialize);
    let id = sess.id();
    let log = k.finish();
    let fin = finish_of(&log);
    assert_eq!(fin.open_sessions, [id]);
    assert_eq!(fin.open_phones, [(client.id(), 1)]);
    assert_eq!(fin.open_conns.len(), 1);
    assert!(
        fin.cached.is_empty() && fin.unanswered.is_empty(),
        "{fin:?}"
    );
    drop(sess);
}

#[test]
fn the_finish_event_lists_a_cached_exchange_and_an_unanswered_call() {
    let k = kernel();
    let dev = k.server("dev", sessions_core::proto::chardev::server(b""));
    let client = k.task("client");
    let sess = connect(&client, &dev, Style::Parallel);
    // A read of the empty device is never answered: its exchange stays out of the cache.
    let exch = sess.begin().unwrap();
    let cached = sess.begin().unwrap();
    let obj = last_begin_obj(&k);
    cached.end();
    let pending = exch
        .send(sessions_core::proto::chardev::READ, &[4])
        .unwrap();
    let call = pending.call();
    std::mem::forget((pending, exch));
    let log = k.finish();
    let fin = finish_of(&log);
    assert_eq!(fin.cached, [obj]);
    assert_eq!(fin.unanswered, [call]);
    std::mem::forget(sess);
}

/// Two connections whose handlers each change the server's state and wait for someone else
/// to change it: each wakes the other, for ever.
async fn restless(conn: Conn) {
    loop {
        let seen = conn.with_state(|n: &mut u64| {
            *n += 1;
            *n
        });
        conn.wait_until("a change", move |n: &u64| *n != seen).await;
    }
}

#[test]
fn handlers_that_keep_waking_each_other_are_refused_not_spun_for_ever() {
    let k = kernel();
    const RESTLESS: Protocol = Protocol {
        id: 7,
        name: "restless",
        methods: &[],
        style: None,
    };
    let server = k.server(
        "restless",
        ServerBuilder::new().serve(&RESTLESS, restless).state(0u64),
    );
    let client = k.task("client");
    let iface = RESTLESS.iface_with(Style::Serialize);
    let first = Session::connect(&client, &server, iface, 0, 0).unwrap();
    // A handler starts when its connection is accepted: the second one starts the spin.
    let r = catch_unwind(AssertUnwindSafe(|| {
        Session::connect(&client, &server, iface, 0, 0)
    }));
    let text = panic_text(r.expect_err("the second handler spins").as_ref());
    assert_eq!(
        text,
        "server handlers keep waking each other without making progress"
    );
    // The kernel is left mid-step: nothing is dropped into it.
    std::mem::forget((first, client, server, k));
}

/// A server whose data transfers fail: reads with EIO, writes of more than 2 bytes with
/// ENOTSUP; anything else where a data call is due is a protocol error.
async fn picky(mut conn: Conn) {
    while let Some(call) = conn.get_call().await {
        if call.method() == Method(Method::FIRST_USER) {
            match conn.data_read_receive().await {
                Ok(dr) => dr.fail(Errno::Eio),
                Err(Some(other)) => {
                    conn.protocol_error(&other, "DATA_READ");
                    other.answer_err(Errno::Einval);
                }
                Err(None) => return,
            }
        } else {
            match conn.data_write_receive().await {
                Ok(dw) if dw.size() > 2 => dw.fail(Errno::Enotsup),
                Ok(dw) => {
                    let n = dw.finalize().len() as u64;
                    call.answer(&[n]);
                    continue;
                }
                Err(Some(other)) => {
                    conn.protocol_error(&other, "DATA_WRITE");
                    other.answer_err(Errno::Einval);
                }
                Err(None) => return,
            }
        }
        call.answer(&[]);
    }
}

#[test]
fn failed_data_transfers_and_a_foreign_call_where_data_was_due_reach_the_client() {
    let k = kernel();
    const PICKY: Protocol = Protocol {
        id: 9,
        name: "picky",
        methods: &[],
        style: None,
    };
    let server = k.server("picky", ServerBuilder::new().serve(&PICKY, picky));
    let client = k.task("client");
    let sess =
        Session::connect(&client, &server, PICKY.iface_with(Style::Serialize), 0, 0).unwrap();
    let exch = sess.begin().unwrap();
    let first = exch.send(Method(Method::FIRST_USER), &[]).unwrap();
    assert_eq!(exch.data_read_start(4), Err(IpcError::Remote(Errno::Eio)));
    first.wait_for().unwrap();
    let write = Method(Method::FIRST_USER + 1);
    let w = exch.send(write, &[]).unwrap();
    assert_eq!(
        exch.data_write_start(b"xyz"),
        Err(IpcError::Remote(Errno::Enotsup))
    );
    w.wait_for().unwrap();
    let w = exch.send(write, &[]).unwrap();
    exch.data_write_start(b"xy").unwrap();
    assert_eq!(w.wait_for().unwrap().args[0], 2);
    // A call that is not the data write where one is due: the server says so.
    let w = exch.send(write, &[]).unwrap();
    let intruder = exch.send(Method(Method::FIRST_USER), &[]).unwrap();
    assert_eq!(intruder.wait_for(), Err(IpcError::Remote(Errno::Einval)));
    w.wait_for().unwrap();
    exch.end();
    hangup(sess);
    let log = k.finish();
    let errors: Vec<&str> = log
        .events
        .iter()
        .filter_map(|e| match e {
            Event::ProtocolError { expected, .. } => Some(expected.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(errors, ["DATA_WRITE"]);
}

#[test]
fn a_trace_keeps_its_level() {
    for level in [TraceLevel::Off, TraceLevel::Full, TraceLevel::Log] {
        let t = Trace::new(level);
        assert_eq!(t.level(), level);
        assert!(t.is_empty());
        assert_eq!(t.len(), 0);
    }
    assert!(!kernel().trace().is_empty());
    let k = kernel_with(KernelConfig {
        trace: TraceLevel::Off,
        ..KernelConfig::default()
    });
    assert_eq!(k.trace().level(), TraceLevel::Off);
    let log = k.finish();
    assert!(log.events.is_empty());
}

#[test]
fn the_sync_facade_s_types_say_which_backend_they_are() {
    let m: Mutex<StdPlatform, u32> = Mutex::new(1);
    assert_eq!(format!("{m:?}"), "Mutex<std>");
    assert_eq!(format!("{:?}", m.lock()), "MutexGuard<std>");
    assert_eq!(
        format!("{:?}", Condvar::<StdPlatform>::new()),
        "Condvar<std>"
    );
    let h = sessions_core::sync::spawn::<StdPlatform, _, _>("t".into(), || 3);
    assert_eq!(format!("{h:?}"), "JoinHandle<std>");
    assert_eq!(h.join().ok(), Some(3));
    const FIVE: Protocol = Protocol {
        id: 5,
        name: "five",
        methods: &[],
        style: None,
    };
    let b = ServerBuilder::new().serve(&FIVE, |_conn: Conn| async {});
    assert_eq!(format!("{b:?}"), "ServerBuilder { protocols: [\"five\"] }");
    let g = sessions_core::sync::Ghost::new(7u32);
    assert_eq!(format!("{g:?}"), "Ghost(..)");
    assert_eq!(g.with(|n| *n), 7);
}

#[test]
fn a_single_fibril_s_trace_reads_as_these_lines() {
    // One fibril, inline dispatch: the trace is the same in every run.
    let k = kernel();
    let dev = k.server("dev", sessions_core::proto::chardev::server(b"abcd"));
    let client = k.task("client");
    let sess = connect(&client, &dev, Style::Serialize);
    let exch = sess.begin().unwrap();
    assert_eq!(
        sessions_core::proto::chardev::blocking::read(&exch, 4).unwrap(),
        b"abcd"
    );
    let forgotten = exch.send(Method(Method::FIRST_USER + 9), &[]).unwrap();
    forgotten.forget();
    exch.end();
    hangup(sess);
    let log = k.finish();
    let names = sessions_core::trace::Names::from_events(&log.events);
    let lines: Vec<String> = log.events.iter().map(|e| names.event(e)).collect();
    assert_eq!(
        lines,
        [
            "task0 `main` created (client, 64 phones)",
            "fibril0 `main` created in task0",
            "task1 `dev` created (server, 64 phones)",
            "task1 serves protocol 1 `chardev`",
            "task2 `client` created (client, 64 phones)",
            "task2 opened phone0 (1 open)",
            "fibril0 sent call0 CONNECT_ME_TO",
            "task1 accepted conn0 for task2 phone0 (chardev/serialize)",
            "call0 answered EOK by Server (evidence call0)",
            "fibril0 received the answer to call0: EOK (evidence call0)",
            "task2 opened sess0 (chardev/serialize) on phone0 -> conn0",
            "fibril0 began exch0 on sess0 with obj0 phone0 (Wrapper)",
            "fibril0 started op0 `chardev.read`",
            "fibril0 sent call1 CHARDEV_READ on phone0 [fibril0 op0 exch0 step 0]",
            "conn0 path0 received call1 CHARDEV_READ",
            "fibril0 sent call2 DATA_READ on phone0 [fibril0 op0 exch0 step 1]",
            "conn0 path0 received call2 DATA_READ",
            "call2 answered EOK by Server (evidence call2)",
            "call1 answered EOK by Server (evidence call1)",
            "fibril0 received the answer to call1: EOK (evidence call1)",
            "fibril0 received the answer to call2: EOK (evidence call2)",
            "fibril0 sent call3 M1033 on phone0 [fibril0 op0 exch0 step 2]",
            "conn0 path0 received call3 M1033",
            "protocol error on conn0 path0: got call3 M1033, expected CHARDEV_READ, CHARDEV_WRITE or CHARDEV_CLOSE",
            "call3 answered ENOTSUP by Server (evidence call3)",
            "fibril0 forgot call3",
            "fibril0 ended exch0 (obj0)",
            "obj0 of sess0 cached",
            "fibril0 sent call4 HANGUP",
            "conn0 path0 received call4 HANGUP",
            "task2 closed phone0 (Hangup, 0 open)",
            "obj0 of sess0 left the cache (Hangup)",
            "fibril0 hung up sess0",
            "conn0 closed by Client",
            "finished: Finish { open_phones: [], open_conns: [], cached: [], open_sessions: [], unanswered: [] }",
        ]
    );
}

#[test]
fn a_deadlock_after_another_fibril_ended_is_seen_at_once() {
    let k = kernel();
    let dev = k.server("dev", sessions_core::proto::chardev::server(b""));
    let client = k.task("client");
    let done = client.spawn("done", || 7);
    assert_eq!(done.join().ok(), Some(7));
    // The only fibril left reads a device nobody writes: a deadlock, declared at once.
    let sess = connect(&client, &dev, Style::Serialize);
    let r = catch_unwind(AssertUnwindSafe(|| {
        sessions_core::proto::chardev::blocking::read(&sess.begin().unwrap(), 1)
    }));
    let text = panic_text(r.expect_err("the read can never finish").as_ref());
    assert!(text.starts_with(DEADLOCK_PANIC), "{text}");
    std::mem::forget(sess);
}
