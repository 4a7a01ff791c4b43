//! Handlers that are clients: what they may do (connect, begin, wait, end, hang up, all by
//! awaiting), what they may not (block), and the ownership rules both contexts share.

mod common;

use common::{connect, hangup, kernel, kernel_with};
use sessions_core::proto::chardev;
use sessions_core::server::Conn;
use sessions_core::{
    Dispatch, Errno, Event, Ipc, IpcError, KernelConfig, Method, Protocol, ServerBuilder,
    ServerRef, Session, Style, USAGE_PANIC,
};
use std::panic::{catch_unwind, AssertUnwindSafe};

const FETCH: Method = Method(Method::FIRST_USER);
/// `FETCH(size)`: the server reads `size` bytes from a device and answers with the first.
const FETCHER: Protocol = Protocol {
    id: 30,
    name: "fetcher",
    methods: &[(FETCH, "FETCH")],
    style: None,
};

/// Connects to `dev` from inside the handler, reads, ends, hangs up: the whole client
/// lifecycle, awaited.
async fn fetch_lazily(mut conn: Conn, dev: ServerRef) {
    while let Some(call) = conn.get_call().await {
        let size = call.arg(0) as usize;
        let sess = Session::connect_async(conn.task(), &dev, chardev::iface(Style::Parallel), 0, 0)
            .await
            .expect("the handler connects");
        let exch = sess.begin_async().await.expect("begin");
        let got = chardev::read(&exch, size).await;
        exch.end_async().await;
        sess.hangup_async().await.expect("hangup");
        match got {
            Ok(bytes) => call.answer(&[bytes[0] as u64]),
            Err(e) => call.answer_err(e.errno()),
        }
    }
}

#[test]
fn a_handler_connects_reads_ends_and_hangs_up_by_awaiting() {
    for dispatch in [Dispatch::Inline, Dispatch::Threaded] {
        let k = kernel_with(KernelConfig {
            dispatch,
            ..KernelConfig::default()
        });
        let dev = k.server("dev", chardev::server(b"xyz"));
        let d = dev.clone();
        let fetcher = k.server(
            "fetcher",
            ServerBuilder::new().serve(&FETCHER, move |conn| fetch_lazily(conn, d.clone())),
        );
        let client = k.task("client");
        let sess = Session::connect(
            &client,
            &fetcher,
            FETCHER.iface_with(Style::Serialize),
            0,
            0,
        )
        .unwrap();
        let exch = sess.begin().unwrap();
        assert_eq!(exch.request(FETCH, &[2]).unwrap().args[0], b'x' as u64);
        exch.end();
        hangup(sess);
        let log = k.finish();
        // The session to the device is the fetcher's: its task opened the phone, and the
        // handler's own fibril sent the calls.
        let fetcher_task = fetcher.task();
        assert!(log.events.iter().any(|e| matches!(e,
            Event::SessionOpen { task, .. } if *task == fetcher_task)));
        let handler = log
            .events
            .iter()
            .find_map(|e| match e {
                Event::HandlerFibril { fibril, .. } => Some(*fibril),
                _ => None,
            })
            .expect("the handler got a fibril of its own");
        assert!(log.events.iter().any(|e| matches!(e,
            Event::Send { fibril, method, .. } if *fibril == handler && *method == chardev::READ)));
        common::assert_clean_finish(&log);
    }
}

/// Runs `f` expecting a usage error; returns its message.
fn usage_error(f: impl FnOnce()) -> String {
    let err = catch_unwind(AssertUnwindSafe(f)).expect_err("a usage error");
    let msg = sessions_core::panic_message(err.as_ref());
    assert!(msg.starts_with(USAGE_PANIC), "{msg}");
    msg
}

/// A server whose handler does `misuse` with a session to `dev` when a call comes.
fn misusing_server(
    k: &common::K,
    dev: &ServerRef,
    misuse: fn(&Session) -> Result<(), IpcError>,
) -> ServerRef {
    common::serving_with_session(
        k,
        "relay",
        dev,
        &FETCHER,
        move |mut conn, to_dev| async move {
            while let Some(call) = conn.get_call().await {
                let _ = misuse(&to_dev);
                call.answer(&[]);
            }
        },
    )
}

fn call_relay(k: &common::K, relay: &ServerRef) {
    let client = k.task("client");
    let sess = Session::connect(&client, relay, FETCHER.iface_with(Style::Atomic), 0, 0).unwrap();
    let _ = sess.raw_phone().request(FETCH, &[1]);
}

#[test]
fn a_blocking_call_inside_a_handler_is_a_usage_error_naming_the_handler_and_the_call() {
    let k = kernel();
    let dev = k.server("dev", chardev::server(b"ab"));
    let relay = misusing_server(&k, &dev, |s| s.begin().map(drop));
    let msg = usage_error(|| call_relay(&k, &relay));
    assert!(
        msg.contains("the handler of conn1 at relay called the blocking `Session::begin`")
            && msg.contains("`Session::begin_async`"),
        "{msg}"
    );

    let k = kernel();
    let dev = k.server("dev", chardev::server(b"ab"));
    let relay = misusing_server(&k, &dev, |s| {
        let exch = s.begin_async();
        // A future the handler blocks on instead of awaiting.
        s.block_on(exch).map(drop)
    });
    let msg = usage_error(|| call_relay(&k, &relay));
    assert!(msg.contains("called the blocking `block_on`"), "{msg}");

    let k = kernel();
    let dev = k.server("dev", chardev::server(b"ab"));
    let relay = misusing_server(&k, &dev, |s| s.clone().hangup().map_err(|e| e.error));
    let msg = usage_error(|| call_relay(&k, &relay));
    assert!(msg.contains("`Session::hangup`"), "{msg}");
}

#[test]
fn the_kernel_api_inside_a_handler_is_a_usage_error() {
    let k = kernel();
    let k2 = k.clone();
    let srv = k.server(
        "spawner",
        ServerBuilder::new().serve(&FETCHER, move |mut conn| {
            let k = k2.clone();
            async move {
                while let Some(call) = conn.get_call().await {
                    let _ = k.task("from-a-handler");
                    call.answer(&[]);
                }
            }
        }),
    );
    let msg = usage_error(|| call_relay(&k, &srv));
    assert!(
        msg.contains("the handler of conn0 at spawner called the blocking `kernel API`"),
        "{msg}"
    );
}

#[test]
fn a_handler_that_drops_an_exchange_without_ending_it_is_told_so() {
    let k = kernel();
    let dev = k.server("dev", chardev::server(b"ab"));
    let relay =
        common::serving_with_session(&k, "relay", &dev, &FETCHER, |mut conn, to_dev| async move {
            while let Some(call) = conn.get_call().await {
                let exch = to_dev.begin_async().await.expect("begin");
                drop(exch);
                call.answer(&[]);
            }
        });
    let msg = usage_error(|| call_relay(&k, &relay));
    assert!(
        msg.contains("the handler of conn1 at relay dropped exch0 without ending it")
            && msg.contains("end_async().await"),
        "{msg}"
    );
}

#[test]
fn an_exchange_ends_and_an_answer_is_taken_only_where_they_began() {
    let k = kernel();
    let dev = k.server("dev", chardev::server(b"abcd"));
    let client = k.task("client");
    let sess = connect(&client, &dev, Style::Serialize);
    // An exchange moved to another fibril and ended there.
    let exch = sess.begin().unwrap();
    let other = client.spawn("other", move || exch.end());
    let msg = sessions_core::panic_message(other.join().expect_err("a usage error").as_ref());
    assert!(
        msg.starts_with(USAGE_PANIC)
            && msg.contains("exch0 was begun by fibril main and ended by fibril other"),
        "{msg}"
    );

    // An answer waited for by a fibril that did not send the call.
    let k = kernel();
    let dev = k.server("dev", chardev::server(b"abcd"));
    let client = k.task("client");
    let sess = connect(&client, &dev, Style::Parallel);
    let exch = sess.begin().unwrap();
    let aid = exch.send(chardev::CLOSE, &[]).unwrap();
    let other = client.spawn("other", move || aid.wait_for().map(drop));
    let msg = sessions_core::panic_message(other.join().expect_err("a usage error").as_ref());
    assert!(
        msg.contains("fibril other waited for the answer to call2, which fibril main sent"),
        "{msg}"
    );
    // The panic aborted the kernel: ending the exchange now would stop main too.
    std::mem::forget(exch);
}

#[test]
fn a_protocol_that_fixes_its_style_refuses_connections_in_another() {
    const FIXED: Protocol = Protocol {
        id: 31,
        name: "fixed",
        methods: &[],
        style: Some(Style::Serialize),
    };
    let k = kernel();
    let srv = k.server(
        "fixed",
        ServerBuilder::new().serve(&FIXED, |mut conn: Conn| async move {
            while let Some(call) = conn.get_call().await {
                call.answer_err(Errno::Enotsup);
            }
        }),
    );
    let client = k.task("client");
    assert_eq!(FIXED.iface(), FIXED.iface_with(Style::Serialize));
    let err = Session::connect(&client, &srv, FIXED.iface_with(Style::Parallel), 0, 0).unwrap_err();
    assert_eq!(err, IpcError::NoInterface);
    let ok = Session::connect(&client, &srv, FIXED.iface(), 0, 0).unwrap();
    hangup(ok);
    k.finish();
}

const PIPE_READ: Method = Method(Method::FIRST_USER);
const PIPE_WRITE: Method = Method(Method::FIRST_USER + 1);
/// `PIPE_READ(size)` + data read and `PIPE_WRITE(n)` + data write, forwarded to a device.
const PIPE: Protocol = Protocol {
    id: 32,
    name: "pipe",
    methods: &[(PIPE_READ, "PIPE_READ"), (PIPE_WRITE, "PIPE_WRITE")],
    style: None,
};

/// Forwards each operation's data call to the device behind `dev`, after the device's own
/// first call, on one exchange, as HelenOS's VFS does with a file system.
async fn pipe(mut conn: Conn, dev: Session) {
    while let Some(call) = conn.get_call().await {
        let exch = dev.begin_async().await.expect("begin");
        let first = match call.method() {
            PIPE_READ => {
                let dr = conn.data_read_receive().await.expect("a data read");
                let aid = exch.send(chardev::READ, &[dr.size() as u64]).unwrap();
                dr.forward(&exch).expect("forwarded");
                aid
            }
            _ => {
                let dw = conn.data_write_receive().await.expect("a data write");
                let aid = exch.send(chardev::WRITE, &[dw.size() as u64]).unwrap();
                dw.forward(&exch).expect("forwarded");
                aid
            }
        };
        exch.end_async().await;
        match first.await {
            Ok(r) => call.answer(&[r.args[0]]),
            Err(e) => call.answer_err(e.errno()),
        }
    }
}

#[test]
fn forwarded_data_calls_land_in_the_forwarder_s_connection_and_answer_the_original_caller() {
    for style in [Style::Serialize, Style::Parallel, Style::Multiplexed] {
        let k = kernel();
        let dev = k.server("dev", chardev::server(b""));
        let relay = k.task("pipe");
        let to_dev = connect(&relay, &dev, style);
        let d = to_dev.clone();
        let srv = relay.serve(ServerBuilder::new().serve(&PIPE, move |conn| pipe(conn, d.clone())));
        let client = k.task("client");
        let sess = Session::connect(&client, &srv, PIPE.iface_with(style), 0, 0).unwrap();
        let exch = sess.begin().unwrap();
        // A write, then a read, both through the pipe.
        let w = exch.send(PIPE_WRITE, &[3]).unwrap();
        exch.send_data_write(b"xyz").unwrap().wait_for().unwrap();
        assert_eq!(w.wait_for().unwrap().args[0], 3);
        let r = exch.send(PIPE_READ, &[2]).unwrap();
        let data = exch.send_data_read(2).unwrap();
        let data = data.wait_for().unwrap().data;
        assert_eq!((r.wait_for().unwrap().args[0], data), (2, b"xy".to_vec()));
        exch.end();
        hangup(sess);
        hangup(to_dev);
        let log = k.finish();
        let names = sessions_core::trace::Names::from_events(&log.events);
        // Each forward: the call leaves the pipe's connection, travels on the pipe's phone,
        // arrives at the connection the pipe's own first call of that exchange reached, and
        // its answer goes to main, which sent it.
        let forwards: Vec<_> = log
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Forward {
                    call, phone, tag, ..
                } => Some((*call, *phone, *tag)),
                _ => None,
            })
            .collect();
        assert_eq!(forwards.len(), 2, "{style}");
        for (call, phone, tag) in forwards {
            let arrived: Vec<_> = log
                .events
                .iter()
                .filter_map(|e| match e {
                    Event::Arrive {
                        call: c,
                        conn,
                        tag: t,
                        ..
                    } if *c == call => Some((*conn, *t)),
                    _ => None,
                })
                .collect();
            let (first_conn, last_tag) = (arrived[0].0, arrived[1].1);
            assert_eq!(names.conns[&first_conn].server, srv.task(), "{style}");
            let at_dev = arrived[1].0;
            assert_eq!(names.phone_conn(phone), Some(at_dev), "{style}");
            assert_eq!(
                last_tag,
                Some(tag),
                "{style}: it travels as the pipe's step"
            );
            assert_eq!(tag.step, 1, "{style}: after the device's own first call");
            let step0 = log.events.iter().find_map(|e| match e {
                Event::Arrive {
                    conn, tag: Some(t), ..
                } if t.op == tag.op && t.step == 0 => Some(*conn),
                _ => None,
            });
            assert_eq!(step0, Some(at_dev), "{style}: the same connection context");
            assert!(log.events.iter().any(|e| matches!(e,
                Event::Receive { call: c, fibril, evidence, .. }
                    if *c == call && fibril.0 == 0 && *evidence == call)));
        }
        common::assert_clean_finish(&log);
    }
}

const ASK: Method = Method(Method::FIRST_USER);
/// Two protocols of one task: `front` answers by asking `back`, a server in its own task.
const FRONT: Protocol = Protocol {
    id: 33,
    name: "front",
    methods: &[(ASK, "FRONT_ASK")],
    style: None,
};
const BACK: Protocol = Protocol {
    id: 34,
    name: "back",
    methods: &[(ASK, "BACK_ASK")],
    style: None,
};

#[test]
fn a_handler_connects_to_a_server_in_its_own_task() {
    for dispatch in [Dispatch::Inline, Dispatch::Threaded] {
        let k = kernel_with(KernelConfig {
            dispatch,
            ..KernelConfig::default()
        });
        let task = k.task("both");
        let me = task.serve(
            ServerBuilder::new().serve(&BACK, |mut conn: Conn| async move {
                while let Some(call) = conn.get_call().await {
                    let x = call.arg(0);
                    call.answer(&[x + 1]);
                }
            }),
        );
        let m = me.clone();
        let me = task.serve(ServerBuilder::new().serve(&FRONT, move |mut conn: Conn| {
            let me = m.clone();
            async move {
                while let Some(call) = conn.get_call().await {
                    let back = Session::connect_async(
                        conn.task(),
                        &me,
                        BACK.iface_with(Style::Serialize),
                        0,
                        0,
                    )
                    .await
                    .expect("a connection to its own task");
                    let exch = back.begin_async().await.expect("begin");
                    let got = exch.send(ASK, &[call.arg(0)]).unwrap().await;
                    exch.end_async().await;
                    back.hangup_async().await.expect("hangup");
                    call.answer(&[got.expect("an answer").args[0] * 10]);
                }
            }
        }));
        let client = k.task("client");
        let sess = Session::connect(&client, &me, FRONT.iface_with(Style::Parallel), 0, 0).unwrap();
        let exch = sess.begin().unwrap();
        assert_eq!(exch.request(ASK, &[4]).unwrap().args[0], 50, "{dispatch:?}");
        exch.end();
        hangup(sess);
        common::assert_clean_finish(&k.finish());
    }
}
