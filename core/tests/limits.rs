#![cfg(not(loom))]
//! Limits and refusals: the phone table, the per-phone call limit, unknown interfaces, and
//! clones that fail for reasons no reclaim can cure (checklist items 16, 23 and 24).

mod common;

use common::*;
use sessions_core::proto::chardev;
use sessions_core::trace::{AnsweredBy, CacheOut, PhoneClose};
use sessions_core::{Errno, Event, Iface, Ipc, IpcError, KernelConfig, Method, Session, Style};

/// Whether `e` is a failed send of `method` with error `error`.
fn send_failed(e: &Event, method: Method, error: &IpcError) -> bool {
    matches!(e, Event::SendFail { method: m, error: x, .. } if *m == method && x == error)
}

#[test]
fn connect_fails_with_phone_limit_when_the_table_is_full() {
    let k = kernel_with(KernelConfig {
        phone_limit: 2,
        ..KernelConfig::default()
    });
    let dev = k.server("dev", chardev::server(b""));
    let client = k.task("client");
    let s1 = connect(&client, &dev, Style::Serialize);
    let s2 = connect(&client, &dev, Style::Serialize);
    let refused = Session::connect(&client, &dev, chardev::iface(Style::Serialize), 0, 0);
    assert_eq!(refused.unwrap_err(), IpcError::PhoneLimit);
    assert_eq!(IpcError::PhoneLimit.errno(), Errno::Elimit);
    // A slot freed by a hangup can be used again.
    hangup(s1);
    let s3 = connect(&client, &dev, Style::Serialize);
    hangup(s2);
    hangup(s3);
    let log = k.finish();
    let ev = &log.events;
    let failed = index(ev, "the refused connect", |e| {
        send_failed(e, Method::CONNECT_ME_TO, &IpcError::PhoneLimit)
    });
    // No phone was taken for it: the table never held more than two.
    let opens: Vec<(usize, u32)> = ev
        .iter()
        .enumerate()
        .filter_map(|(i, e)| match e {
            Event::PhoneOpen { open, .. } => Some((i, *open)),
            _ => None,
        })
        .collect();
    assert_eq!(
        opens.iter().map(|o| o.1).collect::<Vec<_>>(),
        [1, 2, 2],
        "{}",
        dump(ev)
    );
    assert!(opens[1].0 < failed && failed < opens[2].0);
    assert_eq!(count(ev, |e| matches!(e, Event::SessionOpen { .. })), 3);
    assert_clean_finish(&log);
}

#[test]
fn send_fails_with_call_limit_when_a_phone_has_too_many_unanswered_calls() {
    let k = kernel_with(KernelConfig {
        call_limit: 2,
        ..KernelConfig::default()
    });
    let dev = k.server("dev", chardev::server(b""));
    let client = k.task("client");
    let sess = connect(&client, &dev, Style::Parallel);
    let writer = connect(&client, &dev, Style::Parallel);
    let exch = sess.begin().unwrap();
    let x = exch.id();
    // A read of the empty device: both calls stay unanswered at the server.
    exch.op("read");
    let r1 = exch.send(chardev::READ, &[1]).unwrap();
    let r2 = exch.send_data_read(1).unwrap();
    // The first call of the next operation fails at once instead of blocking. Nothing of that
    // operation reached the server, so the exchange stays usable.
    exch.op("another read");
    assert_eq!(
        exch.send(chardev::READ, &[1]).unwrap_err(),
        IpcError::CallLimit
    );
    assert_eq!(
        chardev::blocking::write(&exch, b"z"),
        Err(IpcError::CallLimit)
    );
    assert_eq!(IpcError::CallLimit.errno(), Errno::Elimit);
    let w = writer.begin().unwrap();
    assert_eq!(chardev::blocking::write(&w, b"xy").unwrap(), 2);
    w.end();
    assert_eq!(r1.wait_for().unwrap().args[0], 1);
    assert_eq!(r2.wait_for().unwrap().data, b"x");
    // With the answers in, the phone takes calls again.
    assert_eq!(chardev::blocking::read(&exch, 1).unwrap(), b"y");
    exch.end();
    hangup(sess);
    hangup(writer);
    let log = k.finish();
    let ev = &log.events;
    let phone = begin_of(ev, x).phone;
    let fails: Vec<Method> = ev
        .iter()
        .filter_map(|e| match e {
            Event::SendFail {
                phone: p,
                method,
                error,
                ..
            } if *p == Some(phone) => {
                assert_eq!(*error, IpcError::CallLimit);
                Some(*method)
            }
            _ => None,
        })
        .collect();
    assert_eq!(fails, [chardev::READ, chardev::WRITE], "{}", dump(ev));
    assert_clean_finish(&log);
}

#[test]
fn connect_to_an_unknown_interface_is_refused_with_no_interface() {
    let k = kernel();
    let dev = k.server("dev", chardev::server(b""));
    let client = k.task("client");
    let unknown = Iface::new(99, Style::Parallel);
    let refused = Session::connect(&client, &dev, unknown, 0, 0);
    assert_eq!(refused.unwrap_err(), IpcError::NoInterface);
    let log = k.finish();
    let ev = &log.events;
    // The first connect goes through the naming service: it is sent on no phone.
    let call = ev
        .iter()
        .find_map(|e| match e {
            Event::Send {
                call,
                phone: None,
                method: Method::CONNECT_ME_TO,
                ..
            } => Some(*call),
            _ => None,
        })
        .expect("the connect was sent");
    let answer = index(
        ev,
        "the refusal",
        |e| matches!(e, Event::Answer { call: c, .. } if *c == call),
    );
    assert!(matches!(
        ev[answer],
        Event::Answer {
            retval: Some(Errno::Enoent),
            by: AnsweredBy::Kernel,
            conn: None,
            ..
        }
    ));
    // The phone taken for the connection went back to the table.
    assert!(ev.iter().any(|e| matches!(
        e,
        Event::PhoneClose {
            open: 0,
            why: PhoneClose::Refused,
            ..
        }
    )));
    assert_eq!(
        count(ev, |e| matches!(
            e,
            Event::ConnOpen { .. } | Event::SessionOpen { .. }
        )),
        0
    );
    assert_clean_finish(&log);
}

#[test]
fn parallel_begin_whose_clone_is_refused_returns_the_error() {
    // HelenOS treats every clone error like a full table: it reclaims idle exchanges and then
    // waits for ever. A refused clone is final here: begin returns the error, reclaims nothing
    // (another session's idle clone stays cached) and does not wait.
    let k = kernel();
    let dev = k.server("dev", chardev::server(b""));
    let client = k.task("client");
    let other = connect(&client, &dev, Style::Parallel);
    let idle = other.begin().unwrap();
    let xi = idle.id();
    idle.end();
    let sess = connect(&client, &dev, Style::Parallel);
    sess.args_set(Iface::new(99, Style::Parallel), 0, 0);
    assert_eq!(sess.begin().unwrap_err(), IpcError::NoInterface);
    // The other session's idle clone was left alone.
    let again = other.begin().unwrap();
    let xa = again.id();
    again.end();
    let sess_id = sess.id();
    hangup(sess);
    hangup(other);
    let log = k.finish();
    let ev = &log.events;
    let opened = session_open(ev, sess_id);
    let (_, call) = sent_call(ev, opened.at, opened.phone, Method::CONNECT_ME_TO);
    let answer = index(
        ev,
        "the refusal",
        |e| matches!(e, Event::Answer { call: c, .. } if *c == call),
    );
    assert!(matches!(
        ev[answer],
        Event::Answer {
            retval: Some(Errno::Enoent),
            by: AnsweredBy::Kernel,
            ..
        }
    ));
    assert_eq!(
        count(ev, |e| matches!(
            e,
            Event::CacheOut {
                why: CacheOut::Reclaim { .. },
                ..
            }
        )),
        0
    );
    assert_eq!(count(ev, |e| matches!(e, Event::WaitPhone { .. })), 0);
    assert_eq!(
        count(
            ev,
            |e| matches!(e, Event::ExchBegin { sess, .. } if *sess == sess_id)
        ),
        0
    );
    assert_eq!(begin_of(ev, xa).obj, begin_of(ev, xi).obj);
    assert_clean_finish(&log);
}

#[test]
fn parallel_begin_on_a_dead_session_phone_returns_the_error() {
    // The server closes the session phone's own connection (a raw read hits the fault), which
    // slams the phone. No clone can be made over it and no reclaim can help: begin fails.
    let k = kernel();
    let device = chardev::Device::new(b"").with_fault(chardev::Fault::CloseMidRead);
    let dev = k.server("dev", chardev::server_with(device));
    let client = k.task("client");
    let sess = connect(&client, &dev, Style::Parallel);
    assert_eq!(
        chardev::blocking::read(&sess.raw_phone(), 4),
        Err(IpcError::Hangup)
    );
    assert_eq!(sess.begin().unwrap_err(), IpcError::Slammed);
    let sess_id = sess.id();
    hangup(sess);
    let log = k.finish();
    let ev = &log.events;
    let phone = session_open(ev, sess_id).phone;
    let failed = index(ev, "the failed clone", |e| {
        send_failed(e, Method::CONNECT_ME_TO, &IpcError::Slammed)
    });
    assert!(matches!(ev[failed], Event::SendFail { phone: p, .. } if p == Some(phone)));
    assert_eq!(
        count(ev, |e| matches!(
            e,
            Event::WaitPhone { .. } | Event::ExchBegin { .. }
        )),
        0
    );
    assert_clean_finish(&log);
}

#[test]
fn parallel_begin_on_a_saturated_session_phone_fails_with_call_limit() {
    let k = kernel_with(KernelConfig {
        call_limit: 2,
        ..KernelConfig::default()
    });
    let dev = k.server("dev", chardev::server(b""));
    let client = k.task("client");
    let sess = connect(&client, &dev, Style::Parallel);
    let writer = connect(&client, &dev, Style::Parallel);
    // Two unanswered calls on the session phone itself (a blocked raw read).
    let raw = sess.raw_phone();
    let r1 = raw.send(chardev::READ, &[1]).unwrap();
    let r2 = raw.send_data_read(1).unwrap();
    assert_eq!(sess.begin().unwrap_err(), IpcError::CallLimit);
    let w = writer.begin().unwrap();
    chardev::blocking::write(&w, b"r").unwrap();
    w.end();
    assert_eq!(r1.wait_for().unwrap().args[0], 1);
    assert_eq!(r2.wait_for().unwrap().data, b"r");
    // The phone is free again: the clone is made.
    let exch = sess.begin().unwrap();
    exch.end();
    let sess_id = sess.id();
    hangup(sess);
    hangup(writer);
    let log = k.finish();
    let ev = &log.events;
    let phone = session_open(ev, sess_id).phone;
    let failed = index(ev, "the failed clone", |e| {
        send_failed(e, Method::CONNECT_ME_TO, &IpcError::CallLimit)
    });
    assert!(matches!(ev[failed], Event::SendFail { phone: p, .. } if p == Some(phone)));
    assert_eq!(count(ev, |e| matches!(e, Event::WaitPhone { .. })), 0);
    assert_clean_finish(&log);
}

#[test]
fn a_multiplexed_exchange_that_sent_nothing_frees_its_path_at_once() {
    // One virtual path: an exchange that ends without a call must give it back, though the
    // server never saw the path (the kernel answers its PATH_END itself).
    let k = kernel_with(KernelConfig {
        path_limit: 1,
        ..KernelConfig::default()
    });
    let dev = k.server("dev", chardev::server(b"ab"));
    let client = k.task("client");
    let sess = connect(&client, &dev, Style::Multiplexed);
    for _ in 0..2 {
        sess.begin().unwrap().end();
    }
    let exch = sess.begin().unwrap();
    assert_eq!(chardev::blocking::read(&exch, 2).unwrap(), b"ab");
    exch.end();
    hangup(sess);
    k.finish();
}
