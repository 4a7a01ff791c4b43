#![cfg(not(loom))]
//! Beginning and ending exchanges: the session cache, wrappers, clones, reclaim, waiting for a
//! phone, and the SERIALIZE lock (checklist items 2-9 and 11 of the HelenOS reference).

mod common;

use common::*;
use sessions_core::proto::chardev;
use sessions_core::trace::{BeginHow, CacheOut, CloseBy, PhoneClose};
use sessions_core::{Event, ExchId, IpcError, KernelConfig, Method, Style};

#[test]
fn begin_reuses_the_oldest_released_exchange_first() {
    for style in [Style::Atomic, Style::Parallel] {
        let k = kernel();
        let dev = k.server("dev", chardev::server(b""));
        let client = k.task("client");
        let sess = connect(&client, &dev, style);
        let e1 = sess.begin().unwrap();
        let e2 = sess.begin().unwrap();
        let (x1, x2) = (e1.id(), e2.id());
        // Released in the opposite order of creation: "oldest" means oldest released.
        e2.end();
        e1.end();
        let e3 = sess.begin().unwrap();
        let e4 = sess.begin().unwrap();
        let (x3, x4) = (e3.id(), e4.id());
        e3.end();
        e4.end();
        hangup(sess);
        let log = k.finish();
        let ev = &log.events;
        let (b1, b2, b3, b4) = (
            begin_of(ev, x1),
            begin_of(ev, x2),
            begin_of(ev, x3),
            begin_of(ev, x4),
        );
        assert_ne!(
            b1.obj, b2.obj,
            "{style}: two exchanges open at once have two objects"
        );
        assert_eq!(
            (b3.how, b3.obj, b3.phone),
            (BeginHow::Reused, b2.obj, b2.phone),
            "{style}"
        );
        assert_eq!(
            (b4.how, b4.obj, b4.phone),
            (BeginHow::Reused, b1.obj, b1.phone),
            "{style}"
        );
        let reuses: Vec<_> = ev
            .iter()
            .filter_map(|e| match e {
                Event::CacheOut {
                    obj,
                    why: CacheOut::Reuse,
                    ..
                } => Some(*obj),
                _ => None,
            })
            .collect();
        assert_eq!(reuses, [b2.obj, b1.obj], "{style}:\n{}", dump(ev));
        // Reuse sends no IPC at all.
        let sends = count(&ev[end_of(ev, x1)..b4.at], |e| {
            matches!(e, Event::Send { .. })
        });
        assert_eq!(sends, 0, "{style}:\n{}", dump(ev));
        assert_clean_finish(&log);
    }
}

#[test]
fn atomic_and_serialize_begin_with_empty_cache_wraps_the_session_phone_without_ipc() {
    for style in [Style::Atomic, Style::Serialize] {
        let k = kernel();
        let dev = k.server("dev", chardev::server(b"data"));
        let client = k.task("client");
        let sess = connect(&client, &dev, style);
        let exch = sess.begin().unwrap();
        let x = exch.id();
        assert_eq!(
            chardev::blocking::read(&exch, 4).unwrap(),
            b"data",
            "{style}"
        );
        exch.end();
        hangup(sess.clone());
        let log = k.finish();
        let ev = &log.events;
        let opened = session_open(ev, sess.id());
        let b = begin_of(ev, x);
        assert_eq!(
            (b.how, b.phone),
            (BeginHow::Wrapper, opened.phone),
            "{style}"
        );
        // The only CONNECT_ME_TO is the session's own connect, before it opened.
        assert_eq!(count(ev, is_connect_send), 1, "{style}:\n{}", dump(ev));
        assert_eq!(
            count(&ev[opened.at..], is_connect_send),
            0,
            "{style}:\n{}",
            dump(ev)
        );
        assert_eq!(
            count(ev, |e| matches!(e, Event::PhoneOpen { .. })),
            1,
            "{style}"
        );
        // The read went over the session phone's own connection.
        let methods: Vec<Method> = arrivals(ev, opened.conn).into_iter().map(|a| a.2).collect();
        assert_eq!(
            methods,
            [chardev::READ, Method::DATA_READ, Method::HANGUP],
            "{style}"
        );
        assert_clean_finish(&log);
    }
}

#[test]
fn parallel_begin_with_empty_cache_sends_exactly_one_connect_me_to() {
    let k = kernel();
    let dev = k.server("dev", chardev::server(b"data"));
    let client = k.task("client");
    let iface = chardev::iface(Style::Parallel);
    let sess = sessions_core::Session::connect(&client, &dev, iface, 7, 9).unwrap();
    let exch = sess.begin().unwrap();
    let x = exch.id();
    assert_eq!(chardev::blocking::read(&exch, 4).unwrap(), b"data");
    exch.end();
    hangup(sess.clone());
    let log = k.finish();
    let ev = &log.events;
    let opened = session_open(ev, sess.id());
    let b = begin_of(ev, x);
    assert_eq!(b.how, BeginHow::Cloned);
    let between = &ev[opened.at..b.at];
    assert_eq!(count(between, is_connect_send), 1, "{}", dump(ev));
    let (send_at, _) = sent_call(ev, opened.at, opened.phone, Method::CONNECT_ME_TO);
    assert!(
        send_at < b.at,
        "the clone is requested on the session phone:\n{}",
        dump(ev)
    );
    // The new phone has its own connection, made with the session's interface, and it is the
    // exchange's phone; the session phone carried nothing but the clone request.
    assert_ne!(b.phone, opened.phone);
    let clone = conn_of_phone(ev, b.phone);
    assert_eq!(clone.iface, iface);
    assert!(clone.at < b.at);
    let methods: Vec<Method> = arrivals(ev, clone.conn).into_iter().map(|a| a.2).collect();
    assert_eq!(methods, [chardev::READ, Method::DATA_READ, Method::HANGUP]);
    let main: Vec<Method> = arrivals(ev, opened.conn).into_iter().map(|a| a.2).collect();
    assert_eq!(main, [Method::HANGUP]);
    assert_clean_finish(&log);
}

#[test]
fn args_set_changes_only_the_clone_arguments() {
    let k = kernel();
    let dev = k.server("dev", chardev::server(b"data"));
    let client = k.task("client");
    let sess = connect(&client, &dev, Style::Parallel);
    let before = sess.begin().unwrap();
    let new_iface = chardev::iface(Style::Serialize);
    sess.args_set(new_iface, 1, 2);
    // The session keeps its own interface and style; only clones made from now on change.
    assert_eq!(sess.style(), Style::Parallel);
    let after = sess.begin().unwrap();
    let (xb, xa) = (before.id(), after.id());
    assert_eq!(chardev::blocking::read(&after, 4).unwrap(), b"data");
    before.end();
    after.end();
    hangup(sess.clone());
    let log = k.finish();
    let ev = &log.events;
    let opened = session_open(ev, sess.id());
    assert_eq!(opened.iface, chardev::iface(Style::Parallel));
    assert_eq!(
        conn_of_phone(ev, opened.phone).iface,
        chardev::iface(Style::Parallel)
    );
    let (bb, ba) = (begin_of(ev, xb), begin_of(ev, xa));
    assert_eq!((bb.how, ba.how), (BeginHow::Cloned, BeginHow::Cloned));
    assert_eq!(
        conn_of_phone(ev, bb.phone).iface,
        chardev::iface(Style::Parallel)
    );
    assert_eq!(conn_of_phone(ev, ba.phone).iface, new_iface, "{}", dump(ev));
    assert_clean_finish(&log);
}

#[test]
fn parallel_session_holds_one_phone_plus_peak_concurrent_exchanges() {
    let k = kernel();
    let dev = k.server("dev", chardev::server(b""));
    let client = k.task("client");
    let sess = connect(&client, &dev, Style::Parallel);
    let peak: Vec<_> = (0..3).map(|_| sess.begin().unwrap()).collect();
    let peak_ids: Vec<ExchId> = peak.iter().map(|e| e.id()).collect();
    drop(peak);
    // Fewer concurrent exchanges later reuse cached clones: no new phone.
    let later: Vec<_> = (0..2).map(|_| sess.begin().unwrap()).collect();
    drop(later);
    let one = sess.begin().unwrap();
    one.end();
    let hung_up_at = k.trace().len();
    hangup(sess.clone());
    let log = k.finish();
    let ev = &log.events;
    let open_counts: Vec<u32> = ev
        .iter()
        .filter_map(|e| match e {
            Event::PhoneOpen { open, .. } => Some(*open),
            _ => None,
        })
        .collect();
    assert_eq!(open_counts, [1, 2, 3, 4], "{}", dump(ev));
    // The three concurrent exchanges had three distinct clones, none the session phone.
    let opened = session_open(ev, sess.id());
    let phones: std::collections::BTreeSet<_> =
        peak_ids.iter().map(|x| begin_of(ev, *x).phone).collect();
    assert_eq!(phones.len(), 3);
    assert!(!phones.contains(&opened.phone));
    // The phones stay until the hangup, which closes all four.
    assert_eq!(
        count(&ev[..hung_up_at], |e| matches!(e, Event::PhoneClose { .. })),
        0
    );
    let closes = count(&ev[hung_up_at..], |e| {
        matches!(
            e,
            Event::PhoneClose {
                why: PhoneClose::Hangup,
                ..
            }
        )
    });
    assert_eq!(closes, 4, "{}", dump(ev));
    assert_clean_finish(&log);
}

#[test]
fn reclaim_hangs_up_the_oldest_idle_clone_of_any_session() {
    // Three session phones and two clones fill the table.
    let k = kernel_with(KernelConfig {
        phone_limit: 5,
        ..KernelConfig::default()
    });
    let dev = k.server("dev", chardev::server(b""));
    let client = k.task("client");
    let [s1, s2, s3] = [(); 3].map(|()| connect(&client, &dev, Style::Parallel));
    let e = s1.begin().unwrap();
    let x1 = e.id();
    e.end();
    let e = s2.begin().unwrap();
    let x2 = e.id();
    e.end();
    let e3 = s3.begin().unwrap();
    let x3 = e3.id();
    e3.end();
    // s2's idle clone survived the reclaim: s2 reuses it.
    let e = s2.begin().unwrap();
    let x2b = e.id();
    e.end();
    for s in [s1.clone(), s2.clone(), s3.clone()] {
        hangup(s);
    }
    let log = k.finish();
    let ev = &log.events;
    let (b1, b2, b3) = (begin_of(ev, x1), begin_of(ev, x2), begin_of(ev, x3));
    let s3_phone = session_open(ev, s3.id()).phone;
    // s3's clone found the table full (the error is reported, not fatal) ...
    let full = index(
        ev,
        "the failed clone",
        |e| matches!(e, Event::SendFail { phone, method: Method::CONNECT_ME_TO, .. } if *phone == Some(s3_phone)),
    );
    // ... so the oldest idle exchange of the task, s1's, was taken out of the cache and hung up ...
    let reclaim = index(ev, "the reclaim", |e| {
        matches!(
            e,
            Event::CacheOut {
                why: CacheOut::Reclaim { .. },
                ..
            }
        )
    });
    assert!(
        matches!(&ev[reclaim], Event::CacheOut {
            obj,
            sess,
            why: CacheOut::Reclaim { for_sess, .. }
        } if *obj == b1.obj && *sess == s1.id() && *for_sess == s3.id()),
        "{:?}",
        ev[reclaim]
    );
    let closed = index(
        ev,
        "the reclaimed phone's close",
        |e| matches!(e, Event::PhoneClose { phone, why: PhoneClose::Hangup, .. } if *phone == b1.phone),
    );
    // ... and the clone was retried and made.
    assert!(
        full < reclaim && reclaim < closed && closed < b3.at,
        "{}",
        dump(ev)
    );
    assert_eq!(b3.how, BeginHow::Cloned);
    assert_eq!(
        count(ev, |e| matches!(
            e,
            Event::CacheOut {
                why: CacheOut::Reclaim { .. },
                ..
            }
        )),
        1
    );
    // The reclaimed connection got HANGUP as its last message and closed.
    let c1 = conn_of_phone(ev, b1.phone).conn;
    assert_eq!(arrivals(ev, c1).last().map(|a| a.2), Some(Method::HANGUP));
    assert!(ev.contains(&Event::ConnClose {
        conn: c1,
        by: CloseBy::Client
    }));
    let b2b = begin_of(ev, x2b);
    assert_eq!((b2b.how, b2b.obj), (BeginHow::Reused, b2.obj));
    assert_clean_finish(&log);
}

#[test]
fn reclaim_never_hangs_up_a_session_main_phone() {
    // An ATOMIC session's idle exchange is a wrapper of its main phone. It is the oldest idle
    // exchange of the task when a PARALLEL begin finds the table full; HelenOS would hang it up
    // (suspect S1). Here it is skipped: the begin waits, then reclaims a real clone.
    let k = kernel_with(KernelConfig {
        phone_limit: 3,
        ..KernelConfig::default()
    });
    let dev = k.server("dev", chardev::server(b""));
    let client = k.task("client");
    let atomic = connect(&client, &dev, Style::Atomic);
    let par = connect(&client, &dev, Style::Parallel);
    let wrapper = atomic.begin().unwrap();
    let xw = wrapper.id();
    wrapper.end();
    let held = par.begin().unwrap();
    let xh = held.id();
    let b = {
        let par = par.clone();
        client.spawn("B", move || -> Result<ExchId, IpcError> {
            let exch = par.begin()?;
            chardev::blocking::write(&exch, b"b")?;
            Ok(exch.id())
        })
    };
    let par_id = par.id();
    let waits = wait_for_event(
        &k,
        "B waiting for a phone",
        Some(b.id()),
        |e| matches!(e, Event::WaitPhone { sess, .. } if *sess == par_id),
    );
    let so_far = k.trace().snapshot().events;
    assert_eq!(
        count(&so_far, |e| matches!(
            e,
            Event::CacheOut {
                why: CacheOut::Reclaim { .. },
                ..
            }
        )),
        0
    );
    assert_eq!(
        count(&so_far, |e| matches!(e, Event::PhoneClose { .. })),
        0,
        "{}",
        dump(&so_far)
    );
    held.end();
    let xb = b.join().unwrap().unwrap();
    // The ATOMIC session still has its phone and its cached wrapper.
    let again = atomic.begin().unwrap();
    let xa = again.id();
    assert_eq!(chardev::blocking::write(&again, b"a").unwrap(), 1);
    again.end();
    hangup(atomic.clone());
    hangup(par.clone());
    let log = k.finish();
    let ev = &log.events;
    let (bw, bh, bb, ba) = (
        begin_of(ev, xw),
        begin_of(ev, xh),
        begin_of(ev, xb),
        begin_of(ev, xa),
    );
    let atomic_phone = session_open(ev, atomic.id()).phone;
    assert_eq!(bw.phone, atomic_phone);
    assert!(waits < end_of(ev, xh) && end_of(ev, xh) < bb.at);
    let reclaims: Vec<&Event> = ev
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::CacheOut {
                    why: CacheOut::Reclaim { .. },
                    ..
                }
            )
        })
        .collect();
    assert!(
        matches!(reclaims.as_slice(), [Event::CacheOut {
            obj,
            sess,
            why: CacheOut::Reclaim { for_sess, .. }
        }] if *obj == bh.obj && *sess == par.id() && *for_sess == par.id()),
        "{}",
        dump(ev)
    );
    assert_eq!(
        (ba.how, ba.obj, ba.phone),
        (BeginHow::Reused, bw.obj, atomic_phone)
    );
    // The ATOMIC session's phone closed once, at its own hangup.
    let closes: Vec<usize> = ev
        .iter()
        .enumerate()
        .filter(|(_, e)| matches!(e, Event::PhoneClose { phone, .. } if *phone == atomic_phone))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(closes.len(), 1);
    assert!(closes[0] > end_of(ev, xa), "{}", dump(ev));
    assert_clean_finish(&log);
}

#[test]
fn parallel_begin_waits_for_a_phone_and_wakes_when_an_exchange_ends() {
    // The session phone and one clone fill the table.
    let k = kernel_with(KernelConfig {
        phone_limit: 2,
        ..KernelConfig::default()
    });
    let dev = k.server("dev", chardev::server(b""));
    let client = k.task("client");
    let sess = connect(&client, &dev, Style::Parallel);
    let held = sess.begin().unwrap();
    let xh = held.id();
    let b = {
        let sess = sess.clone();
        client.spawn("B", move || -> Result<ExchId, IpcError> {
            let exch = sess.begin()?;
            chardev::blocking::write(&exch, b"b")?;
            Ok(exch.id())
        })
    };
    let b_fibril = b.id();
    let sess_id = sess.id();
    let waits = wait_for_event(
        &k,
        "B waiting for a phone",
        Some(b_fibril),
        |e| matches!(e, Event::WaitPhone { sess, .. } if *sess == sess_id),
    );
    held.end();
    let xb = b.join().unwrap().unwrap();
    hangup(sess);
    let log = k.finish();
    let ev = &log.events;
    assert_eq!(
        ev[waits],
        Event::WaitPhone {
            fibril: b_fibril,
            sess: sess_id
        }
    );
    let (bh, bb) = (begin_of(ev, xh), begin_of(ev, xb));
    let ended = end_of(ev, xh);
    assert!(waits < ended && ended < bb.at, "{}", dump(ev));
    assert_eq!(bb.fibril, b_fibril);
    // As HelenOS, the woken begin retries cloning without looking at its session's cache: it
    // reclaims the exchange that just ended and clones again.
    assert_eq!(bb.how, BeginHow::Cloned);
    let reclaim = index(ev, "the reclaim", |e| {
        matches!(
            e,
            Event::CacheOut {
                why: CacheOut::Reclaim { .. },
                ..
            }
        )
    });
    assert!(
        matches!(&ev[reclaim], Event::CacheOut {
            obj,
            sess,
            why: CacheOut::Reclaim { for_sess, .. }
        } if *obj == bh.obj && *sess == sess_id && *for_sess == sess_id),
        "{:?}",
        ev[reclaim]
    );
    assert!(ended < reclaim && reclaim < bb.at);
    assert_eq!(count(ev, |e| matches!(e, Event::WaitPhone { .. })), 1);
    assert_clean_finish(&log);
}

/// Writes one byte to the signal device: "I got this far".
fn signal(sig: &Sess) -> Result<(), IpcError> {
    let exch = sig.begin()?;
    chardev::blocking::write(&exch, b"!").map(|_| ())
}

/// Waits until `n` signals were written (and consumes them).
fn await_signals(sig: &Sess, n: usize) {
    let exch = sig.begin().unwrap();
    let mut got = 0;
    while got < n {
        got += chardev::blocking::read(&exch, n - got).unwrap().len();
    }
}

#[test]
fn serialize_grants_the_exchange_lock_in_arrival_order() {
    // A holder takes the lock and blocks at the server in a read of an empty device. Waiters
    // queue behind it; then the main fibril writes "abcd". The holder reads "a" and ends, and
    // each waiter in turn reads the next byte: the bytes show the order of the grants.
    //
    // A waiter's arrival is when its begin joins the lock's queue, in the same critical section
    // that allocates its exchange id, so exchange ids order arrivals. Waiters arrive when the OS
    // runs them; a round counts as contended when all of them had arrived before the release
    // (their ids are below the release exchange's). FIFO is checked in every round.
    const WAITERS: usize = 3;
    const ROUNDS: usize = 100;
    let mut contended = 0;
    for _ in 0..ROUNDS {
        let k = kernel();
        let dev = k.server("dev", chardev::server(b""));
        let sig_dev = k.server("sig", chardev::server(b""));
        let client = k.task("client");
        let sess = connect(&client, &dev, Style::Serialize);
        let writer = connect(&client, &dev, Style::Parallel);
        let sig = connect(&client, &sig_dev, Style::Parallel);
        let holder = {
            let (sess, sig) = (sess.clone(), sig.clone());
            client.spawn("holder", move || -> Result<(ExchId, Vec<u8>), IpcError> {
                let exch = sess.begin()?;
                signal(&sig)?;
                let got = chardev::blocking::read(&exch, 1)?;
                Ok((exch.id(), got))
            })
        };
        await_signals(&sig, 1);
        let waiters: Vec<_> = (0..WAITERS)
            .map(|i| {
                let (sess, sig) = (sess.clone(), sig.clone());
                client.spawn(
                    &format!("W{i}"),
                    move || -> Result<(ExchId, Vec<u8>), IpcError> {
                        signal(&sig)?;
                        let exch = sess.begin()?;
                        let got = chardev::blocking::read(&exch, 1)?;
                        Ok((exch.id(), got))
                    },
                )
            })
            .collect();
        await_signals(&sig, WAITERS);
        let release = writer.begin().unwrap();
        let release_id = release.id();
        chardev::blocking::write(&release, b"abcd").unwrap();
        release.end();
        let (held, first) = holder.join().unwrap().unwrap();
        let mut got: Vec<(ExchId, Vec<u8>)> = waiters
            .into_iter()
            .map(|w| w.join().unwrap().unwrap())
            .collect();
        for s in [sess.clone(), writer, sig] {
            hangup(s);
        }
        let log = k.finish();
        let ev = &log.events;
        assert_eq!(first, b"a");
        got.sort();
        let bytes: Vec<u8> = got.iter().map(|(_, b)| b[0]).collect();
        assert_eq!(
            bytes,
            b"bcd",
            "waiters in arrival order got {got:?}:\n{}",
            dump(ev)
        );
        let grants: Vec<ExchId> = begins(ev)
            .into_iter()
            .filter(|b| b.sess == sess.id())
            .map(|b| b.exch)
            .collect();
        let mut arrivals = grants.clone();
        arrivals.sort();
        assert_eq!(
            grants,
            arrivals,
            "grants out of arrival order:\n{}",
            dump(ev)
        );
        assert_eq!(grants[0], held);
        assert_exchanges_contiguous(ev);
        assert_clean_finish(&log);
        if got.iter().all(|(x, _)| *x < release_id) {
            contended += 1;
        }
    }
    assert!(
        contended > 0,
        "no round had all {WAITERS} waiters queued at once"
    );
}

#[test]
fn serialize_session_never_has_two_active_exchanges() {
    // A fibril that begins a second exchange on a SERIALIZE session while it holds one must not
    // get it: in HelenOS it blocks on the session's fibril mutex for ever (which this kernel
    // would report as a deadlock); refusing it with an error would do as well. Either way the
    // trace must never show two exchanges of the session active at once. (Today the second
    // begin succeeds, and ending the first then frees the lock while the second is active, so
    // other fibrils get in too.)
    let k = kernel();
    let dev = k.server("dev", chardev::server(b""));
    let client = k.task("client");
    let sess = connect(&client, &dev, Style::Serialize);
    let f = {
        let sess = sess.clone();
        client.spawn("F", move || -> Result<(), IpcError> {
            let first = sess.begin()?;
            let second = sess.begin()?;
            second.end();
            first.end();
            Ok(())
        })
    };
    let joined = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f.join()));
    let ev = k.trace().snapshot().events;
    let mut active = 0;
    for e in &ev {
        match e {
            Event::ExchBegin { sess: s, .. } if *s == sess.id() => {
                active += 1;
                assert!(
                    active <= 1,
                    "two SERIALIZE exchanges active at once:\n{}",
                    dump(&ev)
                );
            }
            Event::ExchEnd { .. } => active -= 1,
            _ => {}
        }
    }
    // The second begin blocked (a deadlock, reported as a panic) or failed; it never succeeded.
    assert!(
        !matches!(joined, Ok(Ok(Ok(())))),
        "both begins succeeded:\n{}",
        dump(&ev)
    );
}
