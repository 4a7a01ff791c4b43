//! Task death, step by step on one thread: what the kernel answers, slams, closes and frees.

mod common;

use common::{connect, hangup, kernel};
use sessions_core::proto::chardev;
use sessions_core::trace::{CloseBy, PhoneClose};
use sessions_core::{Event, Ipc, IpcError, Killed, Style, TaskId, USAGE_PANIC};
use std::panic::{catch_unwind, AssertUnwindSafe};

#[test]
fn a_killed_server_answers_held_and_queued_calls_and_slams_its_clients_phones() {
    let k = kernel();
    let dev = k.server("dev", chardev::server(b""));
    let other = k.server("other", chardev::server(b"abcd"));
    let client = k.task("client");
    let atomic = connect(&client, &dev, Style::Atomic);
    let parallel = connect(&client, &dev, Style::Parallel);
    let elsewhere = connect(&client, &other, Style::Parallel);
    // A cached exchange to the doomed server, and one to another server.
    parallel.begin().unwrap().end();
    assert_eq!(
        chardev::blocking::read(&elsewhere.begin().unwrap(), 2).unwrap(),
        b"ab"
    );
    // The device is empty: its handler holds a read's two calls, and a third call queues.
    let raw = atomic.raw_phone();
    let held = [
        raw.send(chardev::READ, &[4]).unwrap(),
        raw.send_data_read(4).unwrap(),
    ];
    let queued = raw.send(chardev::READ, &[4]).unwrap();
    k.kill(dev.task());
    for aid in held {
        assert_eq!(aid.wait_for(), Err(IpcError::Hangup));
    }
    assert_eq!(queued.wait_for(), Err(IpcError::Hangup));
    // The phones connected to it are slammed: the next call fails at once (HelenOS's S7,
    // for the cached exchange), and a begin that needs a clone returns an error.
    assert_eq!(
        raw.send(chardev::READ, &[1]).unwrap_err(),
        IpcError::Slammed
    );
    let cached = parallel.begin().unwrap();
    assert_eq!(
        cached.send(chardev::READ, &[1]).unwrap_err(),
        IpcError::Slammed
    );
    let also = parallel.begin().unwrap_err();
    assert_eq!(also, IpcError::Slammed);
    cached.end();
    // The other server's session keeps its cache.
    assert_eq!(
        chardev::blocking::read(&elsewhere.begin().unwrap(), 2).unwrap(),
        b"cd"
    );
    // Killing twice does nothing more.
    k.kill(dev.task());
    hangup(atomic);
    hangup(parallel);
    hangup(elsewhere);
    let log = k.finish();
    let deaths = log
        .events
        .iter()
        .filter(|e| matches!(e, Event::TaskDeath { .. }))
        .count();
    assert_eq!(deaths, 1);
    assert!(log.events.iter().any(|e| matches!(
        e,
        Event::ConnClose {
            by: CloseBy::Death,
            ..
        }
    )));
    common::assert_clean_finish(&log);
}

#[test]
fn a_killed_client_stops_its_fibrils_and_hangs_up_every_phone_once() {
    let k = kernel();
    let dev = k.server("dev", chardev::server(b""));
    let victim = k.task("victim");
    let sess = connect(&victim, &dev, Style::Parallel);
    let s = sess.clone();
    // A waits in a read of the empty device.
    let a = victim.spawn("A", move || chardev::blocking::read(&s.begin()?, 4));
    common::wait_for_event(
        &k,
        "A's read to arrive",
        Some(a.id()),
        |e| matches!(e, Event::Arrive { method, .. } if *method == sessions_core::Method::DATA_READ),
    );
    k.kill(victim.id());
    let stopped = a.join().expect_err("A stops with its task");
    assert!(stopped.is::<Killed>());
    // Its sessions died with it: a hangup finds them gone.
    assert_eq!(sess.hangup().unwrap_err().error, IpcError::SessionClosed);
    let writer = k.task("writer");
    let w = connect(&writer, &dev, Style::Serialize);
    // The dead client's handler is still waiting for data; feeding it lets it answer (nobody
    // listens) and see the HANGUP its connection got at the death.
    chardev::blocking::write(&w.begin().unwrap(), b"wxyz").unwrap();
    hangup(w);
    let log = k.finish();
    let victim_phones: Vec<_> = log
        .events
        .iter()
        .filter(|e| matches!(e, Event::PhoneClose { task, .. } if *task == victim.id()))
        .collect();
    assert!(!victim_phones.is_empty());
    assert!(victim_phones.iter().all(|e| matches!(
        e,
        Event::PhoneClose {
            why: PhoneClose::Hangup | PhoneClose::Death,
            ..
        }
    )));
    common::assert_clean_finish(&log);
}

#[test]
fn the_main_task_cannot_be_killed() {
    let k = kernel();
    let err = catch_unwind(AssertUnwindSafe(|| k.kill(TaskId(0)))).unwrap_err();
    let msg = sessions_core::panic_message(err.as_ref());
    assert!(
        msg.starts_with(USAGE_PANIC) && msg.contains("main task"),
        "{msg}"
    );
}

#[test]
fn a_killed_server_owes_no_answer_to_a_hangup_and_frees_an_ended_path() {
    let k = common::kernel_with(sessions_core::KernelConfig {
        path_limit: 1,
        ..sessions_core::KernelConfig::default()
    });
    let dev = k.server("dev", chardev::server(b""));
    let client = k.task("client");
    // A session hung up while its connection's handler is busy: its HANGUP is queued.
    let doomed = connect(&client, &dev, Style::Atomic);
    let raw = doomed.raw_phone();
    let held = [
        raw.send(chardev::READ, &[4]).unwrap(),
        raw.send_data_read(4).unwrap(),
    ];
    hangup(doomed);
    // A multiplexed exchange ended while its path's handler is busy: its PATH_END is queued,
    // and the session's one path id stays reserved until it is answered.
    let mux = connect(&client, &dev, Style::Multiplexed);
    let exch = mux.begin().unwrap();
    let mux_held = [
        exch.send(chardev::READ, &[4]).unwrap(),
        exch.send_data_read(4).unwrap(),
    ];
    exch.end();
    k.kill(dev.task());
    for aid in held.into_iter().chain(mux_held) {
        assert_eq!(aid.wait_for(), Err(IpcError::Hangup));
    }
    // The PATH_END was answered: a begin gets the path id at once (its calls then fail on
    // the slammed phone).
    let again = mux.begin().unwrap();
    assert_eq!(
        again.send(chardev::READ, &[1]).unwrap_err(),
        IpcError::Slammed
    );
    again.end();
    // Nobody accepts connections for a dead server.
    let late =
        sessions_core::Session::connect(&client, &dev, chardev::iface(Style::Parallel), 0, 0);
    assert_eq!(late.unwrap_err(), IpcError::Hangup);
    hangup(mux);
    let log = k.finish();
    let hangups: Vec<_> = log
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Send { call, method, .. } if *method == sessions_core::Method::HANGUP => {
                Some(*call)
            }
            _ => None,
        })
        .collect();
    assert!(!hangups.is_empty());
    assert!(
        !log.events.iter().any(|e| matches!(e,
            Event::Answer { call, .. } if hangups.contains(call))),
        "a HANGUP message got an answer"
    );
    common::assert_clean_finish(&log);
}

#[test]
fn killing_a_server_whose_handler_waits_as_a_client_drops_its_exchange_quietly() {
    use sessions_core::{Protocol, Session};
    const GET: sessions_core::Method = sessions_core::Method(sessions_core::Method::FIRST_USER);
    const PROXY: Protocol = Protocol {
        id: 35,
        name: "proxy",
        methods: &[(GET, "PROXY_GET")],
        style: None,
    };
    let k = kernel();
    let dev = k.server("dev", chardev::server(b""));
    let proxy =
        common::serving_with_session(&k, "proxy", &dev, &PROXY, |mut conn, to_dev| async move {
            while let Some(call) = conn.get_call().await {
                // Waits in the device's read, holding its exchange, when the proxy dies.
                let exch = to_dev.begin_async().await.expect("begin");
                let got = chardev::read(&exch, 1).await;
                exch.end_async().await;
                call.answer(&[got.map(|b| b[0] as u64).unwrap_or(0)]);
            }
        });
    let client = k.task("client");
    let sess = Session::connect(&client, &proxy, PROXY.iface_with(Style::Parallel), 0, 0).unwrap();
    let exch = sess.begin().unwrap();
    let pending = exch.send(GET, &[]).unwrap();
    k.kill(proxy.task());
    assert_eq!(pending.wait_for(), Err(IpcError::Hangup));
    exch.end();
    hangup(sess);
    // The device still waits for data in the dead proxy's read: like any read, it ends when
    // data comes, and then its handler finds the HANGUP the death sent.
    let writer = k.task("writer");
    let w = connect(&writer, &dev, Style::Serialize);
    chardev::blocking::write(&w.begin().unwrap(), b"z").unwrap();
    hangup(w);
    let log = k.finish();
    common::assert_clean_finish(&log);
    assert!(!log
        .events
        .iter()
        .any(|e| matches!(e, Event::FibrilExit { panicked: true, .. })));
    // The proxy's handler, a client when it died, stopped once: its fibril exits once.
    let handler = log
        .events
        .iter()
        .find_map(|e| match e {
            Event::HandlerFibril { fibril, .. } => Some(*fibril),
            _ => None,
        })
        .expect("the proxy's handler acted as a client");
    let exits = log
        .events
        .iter()
        .filter(|e| matches!(e, Event::FibrilExit { fibril, .. } if *fibril == handler))
        .count();
    assert_eq!(exits, 1);
}
