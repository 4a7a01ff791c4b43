#![cfg(not(loom))]
//! The design note's example on std threads, and data transfer.
//!
//! Two fibrils call `chardev::read` (CHARDEV_READ then IPC_M_DATA_READ) at the same time on one
//! session. With exchanges the server never sees the calls mixed, so each read gets one
//! contiguous half of the device, whatever the schedule.

mod common;

use common::*;
use sessions_core::proto::chardev;
use sessions_core::trace::BeginHow;
use sessions_core::{Dispatch, Event, KernelConfig, Method, Style};
use std::collections::BTreeSet;

/// Runs of the seed example per style and dispatch: enough schedules on two cores to meet both
/// orders of the two reads many times.
const ROUNDS: usize = 200;

/// Checks one run of the seed example: the two reads reassemble the device, the server saw no
/// protocol error, every exchange's calls arrived contiguously, and nothing was left behind.
fn check_seed_run(style: Style, got: &[Vec<u8>; 2], log: &sessions_core::TraceLog) {
    let ev = &log.events;
    let mut halves = got.to_vec();
    halves.sort();
    assert_eq!(
        halves,
        [b"abcd".to_vec(), b"efgh".to_vec()],
        "{style}: reads got {got:?}"
    );
    assert_eq!(
        count(ev, |e| matches!(e, Event::ProtocolError { .. })),
        0,
        "{}",
        dump(ev)
    );
    assert_exchanges_contiguous(ev);
    assert_clean_finish(log);
    let b = begins(ev);
    assert_eq!(b.len(), 2, "{}", dump(ev));
    assert_ne!(b[0].fibril, b[1].fibril);
    match style {
        // One phone: both reads went through wrappers (or a reused wrapper) of the session phone.
        Style::Serialize => {
            assert_eq!(
                count(ev, is_connect_send),
                1,
                "only the session's own connect"
            );
            assert!(b
                .iter()
                .all(|x| matches!(x.how, BeginHow::Wrapper | BeginHow::Reused)));
        }
        // The first begin clones; the second clones too, or reuses the first's clone if that
        // exchange had already ended.
        Style::Parallel => {
            assert_eq!(b[0].how, BeginHow::Cloned, "{}", dump(ev));
            let peak = ev
                .iter()
                .filter_map(|e| match e {
                    Event::PhoneOpen { open, .. } => Some(*open),
                    _ => None,
                })
                .max();
            let clones = count(ev, |e| {
                matches!(
                    e,
                    Event::ExchBegin {
                        how: BeginHow::Cloned,
                        ..
                    }
                )
            });
            assert_eq!(peak, Some(1 + clones as u32), "{}", dump(ev));
        }
        _ => unreachable!(),
    }
}

#[test]
fn seed_concurrent_reads_on_a_serialize_session_get_correct_data() {
    for _ in 0..ROUNDS {
        let (got, log) = seed(Style::Serialize, Dispatch::Inline);
        check_seed_run(Style::Serialize, &got, &log);
    }
}

#[test]
fn seed_concurrent_reads_on_a_parallel_session_get_correct_data() {
    for _ in 0..ROUNDS {
        let (got, log) = seed(Style::Parallel, Dispatch::Inline);
        check_seed_run(Style::Parallel, &got, &log);
    }
}

#[test]
fn threaded_dispatch_gives_the_seed_example_the_same_results() {
    for style in [Style::Serialize, Style::Parallel] {
        let mut outcomes = [BTreeSet::new(), BTreeSet::new()];
        for (dispatch, outcome) in [Dispatch::Inline, Dispatch::Threaded]
            .into_iter()
            .zip(&mut outcomes)
        {
            for _ in 0..ROUNDS {
                let (got, log) = seed(style, dispatch);
                check_seed_run(style, &got, &log);
                let dispatcher = log.events.iter().any(
                    |e| matches!(e, Event::FibrilNew { name, .. } if name == "dev-dispatcher"),
                );
                assert_eq!(dispatcher, dispatch == Dispatch::Threaded);
                let mut halves = got.to_vec();
                halves.sort();
                outcome.insert(halves);
            }
        }
        assert_eq!(
            outcomes[0], outcomes[1],
            "{style}: inline and threaded runs differ"
        );
        assert_eq!(
            outcomes[1].len(),
            1,
            "{style}: threaded runs got {:?}",
            outcomes[1]
        );
    }
}

#[test]
fn data_read_and_write_move_real_bytes() {
    for dispatch in [Dispatch::Inline, Dispatch::Threaded] {
        let k = kernel_with(KernelConfig {
            dispatch,
            ..KernelConfig::default()
        });
        let dev = k.server("dev", chardev::server(b"head:"));
        let client = k.task("client");
        let sess = connect(&client, &dev, Style::Parallel);
        let every_byte: Vec<u8> = (0..=255u8).collect();
        let exch = sess.begin().unwrap();
        assert_eq!(chardev::blocking::write(&exch, &every_byte).unwrap(), 256);
        assert_eq!(chardev::blocking::read(&exch, 5).unwrap(), b"head:");
        assert_eq!(chardev::blocking::read(&exch, 256).unwrap(), every_byte);
        // A read asks for up to `size` bytes and gets what the device has.
        assert_eq!(chardev::blocking::write(&exch, b"xyz").unwrap(), 3);
        assert_eq!(chardev::blocking::read(&exch, 100).unwrap(), b"xyz");
        exch.end();
        hangup(sess);
        let log = k.finish();
        let ev = &log.events;
        // The bytes went through DATA_WRITE and DATA_READ calls answered by the server.
        let data_calls = count(ev, |e| {
            matches!(
                e,
                Event::Arrive {
                    method: Method::DATA_WRITE | Method::DATA_READ,
                    ..
                }
            )
        });
        assert_eq!(data_calls, 5, "{}", dump(ev));
        assert_clean_finish(&log);
    }
}

/// The seed example with the overlap forced: the device starts empty, so each read blocks at
/// the server until the main fibril writes. Under PARALLEL both reads are blocked at the server
/// at once, on two connections; under SERIALIZE the second waits for the first's exchange.
#[test]
fn seed_reads_blocked_at_the_server_at_once_get_correct_data() {
    for dispatch in [Dispatch::Inline, Dispatch::Threaded] {
        for style in [Style::Serialize, Style::Parallel] {
            for _ in 0..ROUNDS / 4 {
                let k = kernel_with(KernelConfig {
                    dispatch,
                    ..KernelConfig::default()
                });
                let dev = k.server("dev", chardev::server(b""));
                let client = k.task("client");
                let sess = connect(&client, &dev, style);
                let writer = connect(&client, &dev, Style::Parallel);
                let fibrils = ["A", "B"].map(|name| {
                    let sess = sess.clone();
                    client.spawn(name, move || {
                        let exch = sess.begin()?;
                        chardev::blocking::read(&exch, 4)
                    })
                });
                let data_read_arrived = |e: &Event| {
                    matches!(
                        e,
                        Event::Arrive {
                            method: Method::DATA_READ,
                            ..
                        }
                    )
                };
                // PARALLEL: wait until both reads are blocked at the server; SERIALIZE: until
                // the lock holder's is (the other fibril waits for the lock, or has not begun).
                let blocked = if style == Style::Parallel { 2 } else { 1 };
                wait_for_events(&k, "blocked DATA_READs", blocked, None, data_read_arrived);
                let exch = writer.begin().unwrap();
                chardev::blocking::write(&exch, SEED_DATA).unwrap();
                exch.end();
                let got = fibrils.map(|f| f.join().unwrap().unwrap());
                hangup(sess);
                hangup(writer);
                let log = k.finish();
                let mut halves = got.to_vec();
                halves.sort();
                assert_eq!(
                    halves,
                    [b"abcd".to_vec(), b"efgh".to_vec()],
                    "{style} {dispatch:?}"
                );
                assert_exchanges_contiguous(&log.events);
                assert_clean_finish(&log);
            }
        }
    }
}
