//! Servers that are clients: a three-task stack (client -> relay -> device) written against
//! the public API, run on std threads and under shuttle, passing every checker; and the same
//! stack with a mistake, reported with both hops named.
#![cfg(not(loom))]

mod common;
mod stack_model;

use sessions_core::{Dispatch, Style, TraceLevel};
use sessions_models::driver::run_std;
use sessions_models::relay::{Mistake, Mode};
use sessions_models::{Model, Violation};
use stack_model::Stack;

const STYLES: [Style; 3] = [Style::Serialize, Style::Parallel, Style::Multiplexed];

#[test]
fn a_relay_whose_handler_is_a_client_passes_every_checker_under_every_style() {
    for front in STYLES {
        for back in STYLES {
            for dispatch in [Dispatch::Inline, Dispatch::Threaded] {
                for mode in [Mode::Relay, Mode::Forward] {
                    let m = Stack {
                        dispatch,
                        mode,
                        ..Stack::new(front, back)
                    };
                    common::expect_as_declared(&m);
                }
            }
        }
    }
}

#[test]
fn a_handler_waiting_for_a_lock_a_phone_or_a_path_suspends_and_resumes() {
    use sessions_models::trace_stats::Coverage;
    // Two relay handlers at once (two PARALLEL clones, or two paths of one multiplexed
    // connection), competing for the relay's one session to the device.
    let cases = [
        (
            Stack::new(Style::Parallel, Style::Serialize),
            Coverage::HANDLER_WAIT_LOCK,
        ),
        (
            // The relay's table holds its session phone and one clone.
            Stack {
                phone_limit: 2,
                ..Stack::new(Style::Multiplexed, Style::Parallel)
            },
            Coverage::HANDLER_WAIT_PHONE,
        ),
        (
            Stack {
                path_limit: 1,
                ..Stack::new(Style::Parallel, Style::Multiplexed)
            },
            Coverage::HANDLER_WAIT_PATH,
        ),
    ];
    // Inline, a relay read runs whole in its client's critical section (the relay's and the
    // device's handlers are polled there, one after the other), so handlers compete only
    // when each server has a dispatcher thread of its own.
    for (m, what) in cases {
        common::expect_as_declared(&m);
        let m = Stack {
            dispatch: Dispatch::Threaded,
            ..m
        };
        let out = common::expect_as_declared(&m);
        assert!(
            out.coverage.executions_with(what) > 0,
            "{}: no execution had {what}: {}",
            m.name(),
            out.coverage
        );
    }
}

#[test]
fn the_stack_runs_on_std_threads() {
    for back in STYLES {
        let m = Stack::new(Style::Parallel, back);
        let out = run_std(&m, 20, TraceLevel::Full);
        assert!(
            out.verdict(m.expect()).ok(),
            "{}: {:?}",
            m.name(),
            out.finding
        );
    }
}

#[test]
fn a_deadlock_two_hops_deep_names_every_hop() {
    // The device holds 4 bytes for two reads of 4: the second waits at the device, inside the
    // relay's handler, inside fibril B's exchange.
    let m = Stack {
        bytes: 4,
        ..Stack::new(Style::Parallel, Style::Serialize)
    };
    let out = common::expect_as_declared(&m);
    let v = common::violations(&out);
    let text = v[0].to_string();
    let report = common::deadlock(&v);
    let lines = report.lines();
    // The chain, in order: the blocked client, the relay's handler it waits for, the device's
    // handler that one waits for.
    let at = |needle: &str| {
        lines
            .iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no `{needle}` in {lines:#?}"))
    };
    let client = at("(RELAY_READ) on conn");
    let relay = at("at relay waits for the answer to");
    let device = at("at dev waits for chardev data");
    assert!(client < relay && relay < device, "{lines:#?}");
    assert!(
        lines[relay].starts_with("the handler of conn"),
        "{lines:#?}"
    );
    assert!(
        lines[relay].contains("(CHARDEV_READ) on conn0 at dev"),
        "{lines:#?}"
    );
    assert!(
        text.contains("at relay") && text.contains("at dev"),
        "{text}"
    );
}

#[test]
fn a_relay_that_never_ends_its_exchange_is_reported_with_both_hops() {
    // SERIALIZE: the first handler keeps the device session's lock; the next begin waits for
    // it forever, and the report says who holds it.
    let m = Stack {
        bug: Some(Mistake::KeepsExchange),
        ..Stack::new(Style::Parallel, Style::Serialize)
    };
    let out = common::expect_as_declared(&m);
    let v = common::violations(&out);
    let lines = common::deadlock(&v).lines();
    assert!(
        lines.iter().any(|l| l.starts_with("the handler of conn")
            && l.contains("at relay waits for the exchange lock of SERIALIZE sess0, held by the handler of conn")),
        "{lines:#?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("(RELAY_READ) on conn")),
        "{lines:#?}"
    );
    // PARALLEL: nothing waits, but the exchanges the relay began are never ended, and its
    // session cannot be hung up.
    let m = Stack {
        bug: Some(Mistake::KeepsExchange),
        ..Stack::new(Style::Parallel, Style::Parallel)
    };
    let out = common::expect_as_declared(&m);
    let v = common::violations(&out);
    let not_ended: Vec<_> = v
        .iter()
        .filter(|v| matches!(v, Violation::NotEnded { .. }))
        .collect();
    assert_eq!(not_ended.len(), 2, "{v:?}");
    assert!(
        not_ended[0].to_string().contains("by the handler of conn"),
        "{}",
        not_ended[0]
    );
}

#[test]
fn clients_sharing_an_atomic_session_to_the_relay_mix_there() {
    let m = Stack::new(Style::Atomic, Style::Serialize);
    let out = common::expect_as_declared(&m);
    let v = common::violations(&out);
    assert!(v[0].to_string().contains("RELAY_READ"), "{}", v[0]);
}
