//! The oracles on a user's own protocol: a model written outside the harness, with its own
//! server, judged from what its clients sent as well as from what its server received.
#![cfg(not(loom))]

mod common;

use serde::{Deserialize, Serialize};
use sessions_core::server::Conn;
use sessions_core::sync::Platform;
use sessions_core::{Errno, Ipc, IpcError, Kernel, KernelConfig, Method, ServerBuilder, Session};
use sessions_core::{Protocol, Style};
use sessions_models::violation::Fate;
use sessions_models::{Checker, Expect, Model, Violation};

/// `BEGIN(x)`: the first call of an operation.
const BEGIN: Method = Method(Method::FIRST_USER);
/// `DATA(x)`: its second call, which must come next on the connection.
const DATA: Method = Method(Method::FIRST_USER + 1);
/// The two-call protocol. Its method numbers are chardev's (every protocol numbers from
/// `FIRST_USER`); traces and violations name them by this protocol.
const PROTOCOL: Protocol = Protocol {
    id: 7,
    name: "two-call",
    methods: &[(BEGIN, "TWO_BEGIN"), (DATA, "TWO_DATA")],
    style: None,
};

/// A strict server: after `BEGIN` the next call must be `DATA`; anything else and it closes
/// the connection (the framework answers what it held with EHANGUP).
async fn strict(mut conn: Conn) {
    while let Some(first) = conn.get_call().await {
        if first.method() != BEGIN {
            first.answer_err(Errno::Einval);
            continue;
        }
        match conn.get_call().await {
            Some(second) if second.method() == DATA => {
                second.answer(&[]);
                first.answer(&[]);
            }
            _ => return,
        }
    }
}

/// The client stub: both calls, then both answers.
fn two_call<C: Ipc>(c: &C, x: u64) -> Result<(), IpcError> {
    c.op("two-call");
    let a = c.send(BEGIN, &[x])?;
    let b = c.send(DATA, &[x])?;
    a.wait_for()?;
    b.wait_for()?;
    Ok(())
}

/// Fibrils A and B run the two-call operation concurrently on one session of `style`.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct TwoCall {
    style: Style,
}

impl Model for TwoCall {
    fn name(&self) -> String {
        format!("two-call/{}", self.style)
    }

    fn config(&self) -> KernelConfig {
        KernelConfig::default()
    }

    fn expect(&self) -> Expect {
        match self.style {
            Style::Atomic => Expect::Finding(Checker::Mixing),
            _ => Expect::Pass,
        }
    }

    fn threads(&self) -> usize {
        3
    }

    fn run<P: Platform>(&self, k: &Kernel<P>) {
        let server = k.server("strict", ServerBuilder::new().serve(&PROTOCOL, strict));
        let client = k.task("client");
        let iface = PROTOCOL.iface_with(self.style);
        let sess = Session::connect(&client, &server, iface, 0, 0).expect("connect");
        let fibrils: Vec<_> = [("A", 1), ("B", 2)]
            .into_iter()
            .map(|(name, x)| {
                let sess = sess.clone();
                client.spawn(name, move || two_call(&sess.begin()?, x))
            })
            .collect();
        let results: Vec<Result<(), IpcError>> = fibrils
            .into_iter()
            .map(|f| f.join().expect("no panic"))
            .collect();
        if self.expect() == Expect::Pass {
            assert_eq!(results, [Ok(()), Ok(())]);
        }
        sess.hangup().expect("hangup");
    }
}

#[test]
fn an_operation_whose_second_call_never_arrives_is_still_judged_as_mixing() {
    let out = common::expect_as_declared(&TwoCall {
        style: Style::Atomic,
    });
    let v = common::violations(&out);
    // B's BEGIN arrived where A's DATA was due; the server closed the connection, so A's DATA
    // never arrived: it bounced, or its send was refused on the slammed phone.
    let Some(Violation::Interrupted {
        before,
        intruder,
        missing,
        ..
    }) = v
        .iter()
        .find(|v| matches!(v, Violation::Interrupted { .. }))
    else {
        panic!("{v:?}")
    };
    let text = v
        .iter()
        .find(|v| matches!(v, Violation::Interrupted { .. }))
        .map(|v| v.to_string())
        .unwrap_or_default();
    assert!(
        text.starts_with("[mixing] on conn0 path0, ")
            && text.contains("was still due, and it never came ("),
        "{text}"
    );
    // The methods are named by the connection's protocol, not by chardev's table, whose
    // methods have the same numbers.
    assert!(
        text.contains("TWO_BEGIN") && text.contains("step 1 TWO_DATA"),
        "{text}"
    );
    assert!(!text.contains("CHARDEV"), "{text}");
    let trace = &out.finding.as_ref().expect("a finding").trace;
    let names = sessions_core::trace::Names::from_events(&trace.events);
    let lines: Vec<String> = trace.events.iter().map(|e| names.event(e)).collect();
    assert!(
        lines
            .iter()
            .any(|l| l.ends_with("received call2 TWO_BEGIN")
                || l.contains("received call3 TWO_BEGIN")),
        "{lines:#?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("(two-call/atomic)")),
        "{lines:#?}"
    );
    assert_eq!((before.method, intruder.method), (BEGIN, BEGIN));
    assert_ne!(before.fibril, intruder.fibril);
    assert_eq!((missing.method, missing.step), (DATA, 1));
    assert_eq!(missing.fibril, before.fibril);
    assert!(
        matches!(
            &missing.fate,
            Fate::Refused {
                error: IpcError::Slammed | IpcError::PhoneHungUp
            } | Fate::Bounced { .. }
        ),
        "{missing:?}"
    );
}

#[test]
fn the_same_protocol_with_exchanges_that_exclude_each_other_passes() {
    for style in [Style::Serialize, Style::Parallel, Style::Multiplexed] {
        common::expect_as_declared(&TwoCall { style });
    }
}

/// Fibril B blocks reading an empty device while main joins it; fibril A panics.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct FibrilPanics;

impl Model for FibrilPanics {
    fn name(&self) -> String {
        "fibril-panics".into()
    }
    fn config(&self) -> KernelConfig {
        KernelConfig::default()
    }
    fn expect(&self) -> Expect {
        Expect::Finding(Checker::Panic)
    }
    fn threads(&self) -> usize {
        3
    }
    fn run<P: Platform>(&self, k: &Kernel<P>) {
        use sessions_core::proto::chardev;
        let dev = k.server("dev", chardev::server(b""));
        let client = k.task("client");
        let iface = chardev::iface(Style::Parallel);
        let sess = Session::connect(&client, &dev, iface, 0, 0).expect("connect");
        let s = sess.clone();
        let b = client.spawn("B", move || chardev::blocking::read(&s.begin()?, 4));
        let a = client.spawn("A", || -> () { panic!("fibril A gave up: boom") });
        let _ = b.join();
        let _ = a.join();
        sess.hangup().expect("hangup");
    }
}

#[test]
fn a_fibril_s_panic_stops_the_execution_and_is_reported_with_its_own_message() {
    // Main waits for B, B for an answer that never comes: only the abort that A's panic
    // causes ends them, and the report is A's panic, not the aborts that follow it.
    let out = common::expect_as_declared(&FibrilPanics);
    let v = common::violations(&out);
    let Some(Violation::Panic {
        message, location, ..
    }) = v.last()
    else {
        panic!("{v:?}")
    };
    assert_eq!(message, "fibril A gave up: boom");
    assert!(
        location
            .as_deref()
            .is_some_and(|l| l.contains("oracles.rs")),
        "{location:?}"
    );
    // Every fibril's thread ended: the trace records A's end, then nothing of the unwinding.
    let trace = &out.finding.expect("a finding").trace;
    let exits: Vec<_> = trace
        .events
        .iter()
        .filter_map(|e| match e {
            sessions_core::Event::FibrilExit { panicked, .. } => Some(*panicked),
            _ => None,
        })
        .collect();
    assert_eq!(exits, [true]);
}
