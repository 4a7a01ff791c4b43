#![cfg(not(loom))]
//! Hanging up sessions, and connections that end: the HANGUP message, clones torn down with
//! their session, busy hangups, woken waiters, and calls that a connection never handles
//! (checklist items 12, 13, 18 and 19, and this crate's corrections S3, S4 and S6).

mod common;

use common::*;
use sessions_core::proto::chardev;
use sessions_core::server::Conn;
use sessions_core::trace::{AnsweredBy, BeginHow, CacheOut, CloseBy, PhoneClose};
use sessions_core::Protocol;
use sessions_core::{
    CallId, ConnId, Dispatch, Errno, Event, HangupError, Ipc, IpcError, KernelConfig, Method,
    ServerBuilder, Session, Style,
};

#[test]
fn every_connection_gets_hangup_as_its_last_message() {
    for dispatch in [Dispatch::Inline, Dispatch::Threaded] {
        let k = kernel_with(KernelConfig {
            dispatch,
            ..KernelConfig::default()
        });
        let dev = k.server("dev", chardev::server(b"0123456789ab"));
        let client = k.task("client");
        let par = connect(&client, &dev, Style::Parallel);
        let ser = connect(&client, &dev, Style::Serialize);
        let atomic = connect(&client, &dev, Style::Atomic);
        // Two clones at once on the PARALLEL session.
        let (p1, p2) = (par.begin().unwrap(), par.begin().unwrap());
        assert_eq!(chardev::blocking::read(&p1, 2).unwrap(), b"01");
        assert_eq!(chardev::blocking::read(&p2, 2).unwrap(), b"23");
        drop((p1, p2));
        for sess in [&ser, &atomic] {
            let exch = sess.begin().unwrap();
            assert_eq!(chardev::blocking::read(&exch, 4).unwrap().len(), 4);
        }
        for sess in [par, ser, atomic] {
            hangup(sess);
        }
        let log = k.finish();
        let ev = &log.events;
        let conns = conn_opens(ev);
        assert_eq!(
            conns.len(),
            5,
            "three session phones and two clones:\n{}",
            dump(ev)
        );
        for c in conns {
            let arrived = arrivals(ev, c.conn);
            let hangups: Vec<_> = arrived.iter().filter(|a| a.2 == Method::HANGUP).collect();
            assert_eq!(hangups.len(), 1, "{} {dispatch:?}:\n{}", c.conn, dump(ev));
            assert_eq!(
                arrived.last(),
                hangups.last().copied(),
                "{} {dispatch:?}:\n{}",
                c.conn,
                dump(ev)
            );
            let closed = index(
                ev,
                "the connection's close",
                |e| matches!(e, Event::ConnClose { conn, .. } if *conn == c.conn),
            );
            assert_eq!(
                ev[closed],
                Event::ConnClose {
                    conn: c.conn,
                    by: CloseBy::Client
                }
            );
            assert!(hangups[0].0 < closed);
        }
        assert_clean_finish(&log);
    }
}

#[test]
fn hangup_of_a_parallel_session_hangs_up_every_cached_clone() {
    let k = kernel();
    let dev = k.server("dev", chardev::server(b""));
    let client = k.task("client");
    let par = connect(&client, &dev, Style::Parallel);
    let atomic = connect(&client, &dev, Style::Atomic);
    let clones: Vec<_> = (0..3).map(|_| par.begin().unwrap()).collect();
    let clone_ids: Vec<_> = clones.iter().map(|e| e.id()).collect();
    drop(clones);
    // Two wrappers of one phone: the phone must be hung up once, not twice.
    let wrappers: Vec<_> = (0..2).map(|_| atomic.begin().unwrap()).collect();
    let wrapper_ids: Vec<_> = wrappers.iter().map(|e| e.id()).collect();
    drop(wrappers);
    let (par_id, atomic_id) = (par.id(), atomic.id());
    let hung_up_at = k.trace().len();
    hangup(par);
    hangup(atomic);
    let log = k.finish();
    let ev = &log.events;
    let after = &ev[hung_up_at..];
    for (sess, ids) in [(par_id, &clone_ids), (atomic_id, &wrapper_ids)] {
        for x in ids {
            let obj = begin_of(ev, *x).obj;
            let out = Event::CacheOut {
                obj,
                sess,
                why: CacheOut::Hangup,
            };
            assert!(
                after.contains(&out),
                "{obj} of {sess} was not released:\n{}",
                dump(ev)
            );
        }
    }
    let mut phones = vec![
        session_open(ev, par_id).phone,
        session_open(ev, atomic_id).phone,
    ];
    phones.extend(clone_ids.iter().map(|x| begin_of(ev, *x).phone));
    for phone in phones {
        let closes = count(
            after,
            |e| matches!(e, Event::PhoneClose { phone: p, why: PhoneClose::Hangup, .. } if *p == phone),
        );
        assert_eq!(closes, 1, "{phone} closed {closes} times:\n{}", dump(ev));
        let conn = conn_of_phone(ev, phone).conn;
        assert_eq!(arrivals(ev, conn).last().map(|a| a.2), Some(Method::HANGUP));
        assert!(ev.contains(&Event::ConnClose {
            conn,
            by: CloseBy::Client
        }));
    }
    // Nothing remains: no phone, no server connection, no cached exchange.
    assert_clean_finish(&log);
}

#[test]
fn hangup_with_active_exchanges_is_refused_with_busy() {
    for style in [Style::Atomic, Style::Serialize, Style::Parallel] {
        let k = kernel();
        let dev = k.server("dev", chardev::server(b""));
        let client = k.task("client");
        let sess = connect(&client, &dev, style);
        let id = sess.id();
        let exch = sess.begin().unwrap();
        let x = exch.id();
        let HangupError { session, error } = sess.hangup().unwrap_err();
        assert_eq!(error, IpcError::Busy, "{style}");
        assert_eq!(error.errno(), Errno::Ebusy);
        assert_eq!(
            session.id(),
            id,
            "{style}: the session comes back in the error"
        );
        // Nothing was torn down: the exchange still works.
        assert_eq!(
            chardev::blocking::write(&exch, b"still here").unwrap(),
            10,
            "{style}"
        );
        exch.end();
        session.hangup().unwrap_or_else(|e| panic!("{style}: {e}"));
        let log = k.finish();
        let ev = &log.events;
        let ended = end_of(ev, x);
        let hung = index(ev, "the hangup", |e| {
            matches!(e, Event::SessionHangup { .. })
        });
        assert_eq!(count(ev, |e| matches!(e, Event::SessionHangup { .. })), 1);
        assert!(ended < hung, "{style}:\n{}", dump(ev));
        assert_eq!(
            count(&ev[..ended], |e| matches!(e, Event::PhoneClose { .. })),
            0,
            "{style}"
        );
        assert_clean_finish(&log);
    }
}

#[test]
fn a_hung_up_session_refuses_begin_and_a_second_hangup() {
    let k = kernel();
    let dev = k.server("dev", chardev::server(b""));
    let client = k.task("client");
    let sess = connect(&client, &dev, Style::Parallel);
    let other_handle = sess.clone();
    hangup(sess);
    assert_eq!(other_handle.begin().unwrap_err(), IpcError::SessionClosed);
    let HangupError { error, .. } = other_handle.hangup().unwrap_err();
    assert_eq!(error, IpcError::SessionClosed);
    let log = k.finish();
    assert_eq!(
        count(&log.events, |e| matches!(e, Event::SessionHangup { .. })),
        1
    );
    assert_eq!(
        count(&log.events, |e| matches!(e, Event::ExchBegin { .. })),
        0
    );
    assert_clean_finish(&log);
}

#[test]
fn hangup_wakes_a_fibril_waiting_for_a_phone_with_session_closed() {
    // Two session phones and s2's clone fill the table; s1 has no exchange, so a fibril
    // waiting for a phone for s1 does not keep s1 from hanging up (it is not counted as an
    // active exchange). HelenOS would free the session under the sleeper (suspect S4).
    let k = kernel_with(KernelConfig {
        phone_limit: 3,
        ..KernelConfig::default()
    });
    let dev = k.server("dev", chardev::server(b""));
    let client = k.task("client");
    let s1 = connect(&client, &dev, Style::Parallel);
    let s2 = connect(&client, &dev, Style::Parallel);
    let held = s2.begin().unwrap();
    let b = {
        let s1 = s1.clone();
        client.spawn("B", move || s1.begin().map(|e| e.id()))
    };
    let (b_fibril, s1_id) = (b.id(), s1.id());
    let waits = wait_for_event(
        &k,
        "B waiting for a phone",
        Some(b_fibril),
        |e| matches!(e, Event::WaitPhone { sess, .. } if *sess == s1_id),
    );
    hangup(s1);
    assert_eq!(b.join().unwrap(), Err(IpcError::SessionClosed));
    held.end();
    hangup(s2);
    let log = k.finish();
    let ev = &log.events;
    assert_eq!(
        ev[waits],
        Event::WaitPhone {
            fibril: b_fibril,
            sess: s1_id
        }
    );
    let hung = index(
        ev,
        "s1's hangup",
        |e| matches!(e, Event::SessionHangup { sess, .. } if *sess == s1_id),
    );
    let exited = index(
        ev,
        "B's exit",
        |e| matches!(e, Event::FibrilExit { fibril, .. } if *fibril == b_fibril),
    );
    assert!(waits < hung && hung < exited, "{}", dump(ev));
    assert_eq!(
        count(
            ev,
            |e| matches!(e, Event::ExchBegin { sess, .. } if *sess == s1_id)
        ),
        0
    );
    assert_clean_finish(&log);
}

#[test]
fn a_fibril_waiting_for_a_phone_wakes_when_another_session_hangs_up() {
    // The two session phones fill the table and no exchange is idle, so B waits for a phone
    // for s1. Hanging up s2 frees a slot: B must wake and clone. Nothing else will ever wake
    // it (no exchange is active to end).
    let k = kernel_with(KernelConfig {
        phone_limit: 2,
        ..KernelConfig::default()
    });
    let dev = k.server("dev", chardev::server(b""));
    let client = k.task("client");
    let s1 = connect(&client, &dev, Style::Parallel);
    let s2 = connect(&client, &dev, Style::Parallel);
    let b = {
        let s1 = s1.clone();
        client.spawn("B", move || s1.begin().map(|e| e.id()))
    };
    let s1_id = s1.id();
    wait_for_event(
        &k,
        "B waiting for a phone",
        Some(b.id()),
        |e| matches!(e, Event::WaitPhone { sess, .. } if *sess == s1_id),
    );
    hangup(s2);
    let joined = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| b.join()));
    assert!(
        k.deadlock().is_none(),
        "B was never woken: {}",
        k.deadlock().unwrap_or_default()
    );
    let x = joined.unwrap().unwrap().unwrap();
    hangup(s1);
    let log = k.finish();
    assert_eq!(begin_of(&log.events, x).how, BeginHow::Cloned);
    assert_clean_finish(&log);
}

/// Every answer to `call`: (retval, who answered).
fn answers(events: &[Event], call: CallId) -> Vec<(Option<Errno>, AnsweredBy)> {
    events
        .iter()
        .filter_map(|e| match *e {
            Event::Answer {
                call: c,
                retval,
                by,
                ..
            } if c == call => Some((retval, by)),
            _ => None,
        })
        .collect()
}

/// The connection behind the phone of exchange `x`.
fn conn_of_exch(events: &[Event], x: sessions_core::ExchId) -> ConnId {
    conn_of_phone(events, begin_of(events, x).phone).conn
}

#[test]
fn calls_held_by_a_server_that_closes_mid_read_are_answered_ehangup() {
    let k = kernel();
    let device = chardev::Device::new(b"data").with_fault(chardev::Fault::CloseMidRead);
    let dev = k.server("dev", chardev::server_with(device));
    let client = k.task("client");
    let sess = connect(&client, &dev, Style::Parallel);
    let exch = sess.begin().unwrap();
    let x = exch.id();
    assert_eq!(chardev::blocking::read(&exch, 4), Err(IpcError::Hangup));
    exch.end();
    hangup(sess);
    let log = k.finish();
    let ev = &log.events;
    let conn = conn_of_exch(ev, x);
    let arrived = arrivals(ev, conn);
    let methods: Vec<Method> = arrived.iter().map(|a| a.2).collect();
    assert_eq!(methods, [chardev::READ, Method::DATA_READ], "{}", dump(ev));
    // The handler returned holding both calls: the framework answered them EHANGUP.
    for (_, call, _) in &arrived {
        assert_eq!(
            answers(ev, *call),
            [(Some(Errno::Ehangup), AnsweredBy::Kernel)],
            "{call}:\n{}",
            dump(ev)
        );
    }
    assert!(ev.contains(&Event::ConnClose {
        conn,
        by: CloseBy::Server
    }));
    assert_clean_finish(&log);
}

const GATE: Protocol = Protocol {
    id: 7,
    name: "gate",
    methods: &[],
    style: None,
};
const HOLD: Method = Method(Method::FIRST_USER + 100);
const OPEN: Method = Method(Method::FIRST_USER + 101);
const PING: Method = Method(Method::FIRST_USER + 102);

/// The state of the gate server.
#[derive(Debug, Default)]
struct Gate {
    open: bool,
}

/// A handler that, on HOLD, waits until some connection sends OPEN and then returns without
/// answering: whatever queued behind HOLD meanwhile is left over. PING echoes its argument.
async fn gate(mut conn: Conn) {
    while let Some(call) = conn.get_call().await {
        match call.method() {
            OPEN => {
                conn.with_state(|g: &mut Gate| g.open = true);
                call.answer(&[]);
            }
            HOLD => {
                conn.wait_until("the gate", |g: &Gate| g.open).await;
                return;
            }
            _ => {
                let x = call.arg(0);
                call.answer(&[x]);
            }
        }
    }
}

#[test]
fn calls_queued_behind_a_returning_handler_are_answered_ehangup() {
    for dispatch in [Dispatch::Inline, Dispatch::Threaded] {
        let k = kernel_with(KernelConfig {
            dispatch,
            ..KernelConfig::default()
        });
        let srv = k.server(
            "gate",
            ServerBuilder::new()
                .serve(&GATE, gate)
                .state(Gate::default()),
        );
        let client = k.task("client");
        let iface = GATE.iface_with(Style::Parallel);
        let a = Session::connect(&client, &srv, iface, 0, 0).unwrap();
        let b = Session::connect(&client, &srv, iface, 0, 0).unwrap();
        let exch = a.begin().unwrap();
        let x = exch.id();
        assert_eq!(exch.request(PING, &[5]).unwrap().args[0], 5);
        let hold = exch.send(HOLD, &[]).unwrap();
        let queued = [
            exch.send(PING, &[1]).unwrap(),
            exch.send(PING, &[2]).unwrap(),
        ];
        let queued_calls = queued.each_ref().map(|q| q.call());
        let opener = b.begin().unwrap();
        opener.request(OPEN, &[]).unwrap();
        opener.end();
        assert_eq!(hold.wait_for(), Err(IpcError::Hangup), "{dispatch:?}");
        for q in queued {
            assert_eq!(q.wait_for(), Err(IpcError::Hangup), "{dispatch:?}");
        }
        exch.end();
        hangup(a);
        hangup(b);
        let log = k.finish();
        let ev = &log.events;
        for call in queued_calls {
            assert_eq!(
                answers(ev, call),
                [(Some(Errno::Ehangup), AnsweredBy::Kernel)],
                "{dispatch:?}:\n{}",
                dump(ev)
            );
        }
        let conn = conn_of_exch(ev, x);
        assert!(
            ev.contains(&Event::ConnClose {
                conn,
                by: CloseBy::Server
            }),
            "{dispatch:?}"
        );
        if dispatch == Dispatch::Inline {
            // Inline, the handler was waiting for the gate when the PINGs came: they queued.
            let methods: Vec<Method> = arrivals(ev, conn).into_iter().map(|a| a.2).collect();
            assert_eq!(methods, [PING, HOLD, PING, PING], "{}", dump(ev));
        }
        assert_clean_finish(&log);
    }
}

/// A handler that answers its first call (with its argument plus one) and returns.
async fn oneshot(mut conn: Conn) {
    if let Some(call) = conn.get_call().await {
        let x = call.arg(0);
        call.answer(&[x + 1]);
    }
}

#[test]
fn a_call_to_a_connection_whose_handler_returned_is_answered_ehangup() {
    // HelenOS's label routing would deliver it into a freed connection (suspect S6); here the
    // kernel answers it EHANGUP and the call never reaches a handler.
    let k = kernel();
    let srv = k.server("oneshot", ServerBuilder::new().serve(&GATE, oneshot));
    let client = k.task("client");
    let sess = Session::connect(&client, &srv, GATE.iface_with(Style::Parallel), 0, 0).unwrap();
    let exch = sess.begin().unwrap();
    let x = exch.id();
    assert_eq!(exch.request(PING, &[41]).unwrap().args[0], 42);
    let late = exch.send(PING, &[1]).unwrap();
    let late_call = late.call();
    assert_eq!(late.wait_for(), Err(IpcError::Hangup));
    exch.end();
    hangup(sess);
    let log = k.finish();
    let ev = &log.events;
    let conn = conn_of_exch(ev, x);
    let closed = index(
        ev,
        "the handler's return",
        |e| matches!(e, Event::ConnClose { conn: c, .. } if *c == conn),
    );
    assert_eq!(
        ev[closed],
        Event::ConnClose {
            conn,
            by: CloseBy::Server
        }
    );
    let bounced = index(
        ev,
        "the bounce",
        |e| matches!(e, Event::Bounce { call, .. } if *call == late_call),
    );
    assert_eq!(
        ev[bounced],
        Event::Bounce {
            conn,
            call: late_call,
            method: PING
        }
    );
    assert!(closed < bounced);
    assert_eq!(
        answers(ev, late_call),
        [(Some(Errno::Ehangup), AnsweredBy::Kernel)]
    );
    assert!(
        arrivals(ev, conn).iter().all(|a| a.1 != late_call),
        "it never reached the handler"
    );
    assert_clean_finish(&log);
}

#[test]
fn sends_on_a_slammed_phone_fail_with_slammed() {
    let k = kernel();
    let device = chardev::Device::new(b"").with_fault(chardev::Fault::CloseMidRead);
    let dev = k.server("dev", chardev::server_with(device));
    let client = k.task("client");
    let sess = connect(&client, &dev, Style::Parallel);
    let exch = sess.begin().unwrap();
    let x = exch.id();
    // The server dies mid-read; its EHANGUP answers slam the exchange's phone.
    assert_eq!(chardev::blocking::read(&exch, 4), Err(IpcError::Hangup));
    let slammed_at = k.trace().len();
    assert_eq!(
        exch.send(chardev::WRITE, &[1]).unwrap_err(),
        IpcError::Slammed
    );
    assert_eq!(chardev::blocking::read(&exch, 4), Err(IpcError::Slammed));
    assert_eq!(
        chardev::blocking::write(&exch, b"x"),
        Err(IpcError::Slammed)
    );
    assert_eq!(exch.data_write_start(b"x"), Err(IpcError::Slammed));
    // Another exchange of the session has its own clone and still works.
    let other = sess.begin().unwrap();
    let y = other.id();
    assert_eq!(chardev::blocking::write(&other, b"ok").unwrap(), 2);
    other.end();
    exch.end();
    hangup(sess);
    let log = k.finish();
    let ev = &log.events;
    let phone = begin_of(ev, x).phone;
    let fails: Vec<(Method, IpcError)> = ev[slammed_at..]
        .iter()
        .filter_map(|e| match e {
            Event::SendFail {
                phone: p,
                method,
                error,
                ..
            } if *p == Some(phone) => Some((*method, error.clone())),
            _ => None,
        })
        .collect();
    let expected = [
        chardev::WRITE,
        chardev::READ,
        chardev::WRITE,
        Method::DATA_WRITE,
    ]
    .map(|m| (m, IpcError::Slammed));
    assert_eq!(fails, expected, "{}", dump(ev));
    // None of them reached the server.
    assert_eq!(
        count(
            &ev[slammed_at..],
            |e| matches!(e, Event::Send { phone: p, .. } if *p == Some(phone))
        ),
        0
    );
    assert_ne!(begin_of(ev, y).phone, phone);
    assert_clean_finish(&log);
}

#[test]
fn an_exchange_whose_clone_was_slammed_is_freed_at_end_not_cached() {
    let k = kernel();
    let device = chardev::Device::new(b"").with_fault(chardev::Fault::CloseMidRead);
    let dev = k.server("dev", chardev::server_with(device));
    let client = k.task("client");
    let sess = connect(&client, &dev, Style::Parallel);
    let dead = sess.begin().unwrap();
    let xd = dead.id();
    assert_eq!(chardev::blocking::read(&dead, 4), Err(IpcError::Hangup));
    dead.end();
    // The next exchange gets a fresh clone, not the dead one.
    let fresh = sess.begin().unwrap();
    let xf = fresh.id();
    assert_eq!(chardev::blocking::write(&fresh, b"ok").unwrap(), 2);
    fresh.end();
    hangup(sess);
    let log = k.finish();
    let ev = &log.events;
    let (bd, bf) = (begin_of(ev, xd), begin_of(ev, xf));
    let ended = end_of(ev, xd);
    assert!(
        !ev.contains(&Event::CacheIn {
            obj: bd.obj,
            sess: bd.sess
        }),
        "{}",
        dump(ev)
    );
    let closed = index(
        ev,
        "the dead clone's close",
        |e| matches!(e, Event::PhoneClose { phone, why: PhoneClose::Hangup, .. } if *phone == bd.phone),
    );
    assert!(ended < closed && closed < bf.at, "{}", dump(ev));
    assert_eq!(bf.how, BeginHow::Cloned);
    assert_ne!(bf.phone, bd.phone);
    assert_clean_finish(&log);
}

#[test]
fn a_wakeup_for_a_phone_is_not_lost_when_the_woken_fibril_s_session_is_hung_up() {
    // Three session phones and s3's clone fill the table. B waits for a phone for s1, then C
    // for s2. Ending s3's exchange wakes B only (HelenOS's condvar_signal); hanging s1 up right
    // away sends B home with SessionClosed (if it has not run yet). The idle clone and s1's
    // freed slot are still there for C, so C must get a phone: it must not sleep for ever.
    // Which of B and the hangup goes first is up to the OS; C must be served either way.
    const ROUNDS: usize = 20;
    for _ in 0..ROUNDS {
        let k = kernel_with(KernelConfig {
            phone_limit: 4,
            ..KernelConfig::default()
        });
        let dev = k.server("dev", chardev::server(b""));
        let client = k.task("client");
        let [s1, s2, s3] = [(); 3].map(|()| connect(&client, &dev, Style::Parallel));
        let held = s3.begin().unwrap();
        let waiter = |name: &str, sess: &Sess| {
            let sess = sess.clone();
            client.spawn(name, move || sess.begin().map(|e| e.id()))
        };
        let is_wait = |e: &Event| matches!(e, Event::WaitPhone { .. });
        let b = waiter("B", &s1);
        wait_for_event(&k, "B waiting for a phone", Some(b.id()), is_wait);
        let c = waiter("C", &s2);
        wait_for_events(&k, "C waiting for a phone", 2, Some(c.id()), is_wait);
        held.end();
        let s1_left = s1.hangup().err().map(|e| e.session);
        let joined =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (b.join(), c.join())));
        assert!(
            k.deadlock().is_none(),
            "C was never woken: {}",
            k.deadlock().unwrap_or_default()
        );
        let (rb, rc) = joined.unwrap();
        assert!(matches!(rb.unwrap(), Ok(_) | Err(IpcError::SessionClosed)));
        rc.unwrap().unwrap();
        for s in s1_left.into_iter().chain([s2, s3]) {
            hangup(s);
        }
        assert_clean_finish(&k.finish());
    }
}

#[test]
fn hangup_takes_only_its_own_clones_out_of_the_task_s_reclaim_list() {
    // Four phones: two sessions and a cached clone each.
    let k = kernel_with(KernelConfig {
        phone_limit: 4,
        ..KernelConfig::default()
    });
    let dev = k.server("dev", chardev::server(b""));
    let client = k.task("client");
    let (s1, s2) = (
        connect(&client, &dev, Style::Parallel),
        connect(&client, &dev, Style::Parallel),
    );
    s1.begin().unwrap().end();
    s2.begin().unwrap().end();
    let kept = last_begin_obj(&k);
    hangup(s1);
    // Two sessions more fill the table again; the next clone must reclaim s2's cached clone,
    // the only idle exchange left in the task.
    let (s3, s4) = (
        connect(&client, &dev, Style::Parallel),
        connect(&client, &dev, Style::Parallel),
    );
    let exch = s3.begin().expect("a phone is reclaimed for s3");
    let reclaimed: Vec<_> = k
        .trace()
        .snapshot()
        .events
        .iter()
        .filter_map(|e| match e {
            Event::CacheOut {
                obj,
                why: CacheOut::Reclaim { .. },
                ..
            } => Some(*obj),
            _ => None,
        })
        .collect();
    assert_eq!(reclaimed, [kept]);
    exch.end();
    for s in [s2, s3, s4] {
        hangup(s);
    }
    k.finish();
}
