//! Helpers shared by the integration tests of sessions-core: kernels on std threads, queries
//! over a recorded trace, and a way to wait for a traced event without sleeping.
//!
//! Every test binary uses a different subset of these, hence the `dead_code` allowance.
#![allow(dead_code)]

use sessions_core::proto::chardev;
use sessions_core::sync::{Platform, StdPlatform};
use sessions_core::trace::{BeginHow, Finish};
use sessions_core::{
    CallId, ConnId, Dispatch, Event, ExchId, FibrilId, Iface, IpcError, Kernel, KernelConfig,
    Method, ObjId, PhoneId, ServerRef, SessId, Session, Style, Task, TraceLog,
};
use std::collections::BTreeSet;

/// The kernel every test runs on: std threads.
pub type K = Kernel<StdPlatform>;
/// A session on std threads.
pub type Sess = Session;
/// A client task on std threads.
pub type Client = Task<StdPlatform>;

/// A kernel with the default configuration (inline dispatch, full trace).
pub fn kernel() -> K {
    kernel_with(KernelConfig::default())
}

/// A kernel with `cfg`, watched for hangs ([`watch`]).
pub fn kernel_with(cfg: KernelConfig) -> K {
    let k = Kernel::new(cfg);
    watch(&k);
    k
}

/// How long a kernel of these std tests may record nothing, unfinished, before the watchdog
/// ends the test binary with its table of who waits for what. Every test here finishes in
/// milliseconds; a hang (a lost notification in the kernel, say, which std threads cannot
/// report otherwise since the kernel counts the sleeper as running) becomes a failure that
/// names the woken fibrils that never ran, instead of a test run that never ends.
const STALL: std::time::Duration = std::time::Duration::from_secs(60);

/// Adds `k` to what the watchdog of this test binary watches, starting it if need be.
// The watchdog is test scaffolding around the kernels, not part of any model: it may use the
// wall clock and threads of its own.
#[allow(clippy::disallowed_methods, clippy::disallowed_types)]
fn watch(k: &K) {
    use std::io::Write;
    use std::sync::{Mutex, Once};
    use std::time::Instant;
    static WATCHED: Mutex<Vec<(sessions_core::Trace, usize, Option<Instant>)>> =
        Mutex::new(Vec::new());
    static START: Once = Once::new();
    WATCHED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push((k.trace().clone(), 0, None));
    START.call_once(|| {
        std::thread::spawn(|| loop {
            std::thread::sleep(std::time::Duration::from_millis(500));
            let mut watched = WATCHED.lock().unwrap_or_else(|p| p.into_inner());
            watched.retain_mut(|(trace, seen, since)| {
                let len = trace.len();
                if len != *seen || since.is_none() {
                    (*seen, *since) = (len, Some(Instant::now()));
                    return true;
                }
                if since.is_some_and(|t| t.elapsed() < STALL) {
                    return true;
                }
                let log = trace.snapshot();
                if matches!(log.events.last(), Some(Event::Finish(_))) {
                    return false;
                }
                let report = trace.note_stall(STALL.as_secs());
                if report.fibrils.is_empty() && report.woken.is_empty() && report.server.is_empty()
                {
                    // Left unfinished by its test, but nobody waits in it.
                    return false;
                }
                // Straight to the file descriptor: the test harness captures `eprintln!`.
                let _ = writeln!(
                    std::io::stderr(),
                    "a kernel of this test binary hangs: {report}\n{}",
                    dump(&log.events)
                );
                std::process::exit(101);
            });
        });
    });
}

/// Connects `client` to `server`'s chardev interface with exchange style `style`.
pub fn connect(client: &Client, server: &ServerRef, style: Style) -> Sess {
    Session::connect(client, server, chardev::iface(style), 0, 0)
        .unwrap_or_else(|e| panic!("connecting a {style} chardev session failed: {e}"))
}

/// A server task `name` that first connects to `dev` (SERIALIZE chardev), as a server's main
/// does, then serves `protocol` with `handler`, which gets that session with each connection.
pub fn serving_with_session<F, Fut>(
    k: &K,
    name: &str,
    dev: &ServerRef,
    protocol: &sessions_core::Protocol,
    handler: F,
) -> ServerRef
where
    F: Fn(sessions_core::Conn, Session) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let task = k.task(name);
    let to_dev = connect(&task, dev, Style::Serialize);
    task.serve(
        sessions_core::ServerBuilder::new()
            .serve(protocol, move |conn| handler(conn, to_dev.clone())),
    )
}

/// Hangs up `sess`, which must succeed.
pub fn hangup(sess: Sess) {
    let id = sess.id();
    if let Err(e) = sess.hangup() {
        panic!("hanging up {id} failed: {e}");
    }
}

/// The trace as numbered lines, for failure messages.
pub fn dump(events: &[Event]) -> String {
    let names = sessions_core::trace::Names::from_events(events);
    events
        .iter()
        .enumerate()
        .map(|(i, e)| format!("{i:4}: {}\n", names.event(e)))
        .collect()
}

/// Index of the first event matching `pred`.
pub fn find(events: &[Event], pred: impl Fn(&Event) -> bool) -> Option<usize> {
    events.iter().position(pred)
}

/// Index of the first event matching `pred`; panics with the trace when there is none.
pub fn index(events: &[Event], what: &str, pred: impl Fn(&Event) -> bool) -> usize {
    find(events, pred).unwrap_or_else(|| panic!("no {what} in the trace:\n{}", dump(events)))
}

/// Number of events matching `pred`.
pub fn count(events: &[Event], pred: impl Fn(&Event) -> bool) -> usize {
    events.iter().filter(|e| pred(e)).count()
}

/// Whether `e` is the `Send` of a `CONNECT_ME_TO`.
pub fn is_connect_send(e: &Event) -> bool {
    matches!(
        e,
        Event::Send {
            method: Method::CONNECT_ME_TO,
            ..
        }
    )
}

/// An `ExchBegin` event, flattened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Begin {
    /// Its index in the trace.
    pub at: usize,
    pub exch: ExchId,
    pub sess: SessId,
    pub fibril: FibrilId,
    pub obj: ObjId,
    pub phone: PhoneId,
    pub how: BeginHow,
}

/// Every exchange begin, in trace order.
pub fn begins(events: &[Event]) -> Vec<Begin> {
    events
        .iter()
        .enumerate()
        .filter_map(|(at, e)| match *e {
            Event::ExchBegin {
                exch,
                sess,
                fibril,
                obj,
                phone,
                how,
            } => Some(Begin {
                at,
                exch,
                sess,
                fibril,
                obj,
                phone,
                how,
            }),
            _ => None,
        })
        .collect()
}

/// The begin of exchange `exch`.
pub fn begin_of(events: &[Event], exch: ExchId) -> Begin {
    begins(events)
        .into_iter()
        .find(|b| b.exch == exch)
        .unwrap_or_else(|| panic!("{exch} never began:\n{}", dump(events)))
}

/// Index of the `ExchEnd` of `exch`.
pub fn end_of(events: &[Event], exch: ExchId) -> usize {
    index(
        events,
        "exchange end",
        |e| matches!(e, Event::ExchEnd { exch: x, .. } if *x == exch),
    )
}

/// What a `SessionOpen` event says about a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Opened {
    pub at: usize,
    pub phone: PhoneId,
    pub conn: ConnId,
    pub iface: Iface,
}

/// The `SessionOpen` event of `sess`.
pub fn session_open(events: &[Event], sess: SessId) -> Opened {
    events
        .iter()
        .enumerate()
        .find_map(|(at, e)| match *e {
            Event::SessionOpen {
                sess: s,
                phone,
                conn,
                iface,
                ..
            } if s == sess => Some(Opened {
                at,
                phone,
                conn,
                iface,
            }),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{sess} never opened:\n{}", dump(events)))
}

/// A `ConnOpen` event, flattened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnOpened {
    pub at: usize,
    pub conn: ConnId,
    pub phone: PhoneId,
    pub iface: Iface,
}

/// Every accepted connection, in trace order.
pub fn conn_opens(events: &[Event]) -> Vec<ConnOpened> {
    events
        .iter()
        .enumerate()
        .filter_map(|(at, e)| match *e {
            Event::ConnOpen {
                conn, phone, iface, ..
            } => Some(ConnOpened {
                at,
                conn,
                phone,
                iface,
            }),
            _ => None,
        })
        .collect()
}

/// The connection accepted for the client phone `phone`.
pub fn conn_of_phone(events: &[Event], phone: PhoneId) -> ConnOpened {
    conn_opens(events)
        .into_iter()
        .find(|c| c.phone == phone)
        .unwrap_or_else(|| panic!("no connection for {phone}:\n{}", dump(events)))
}

/// Calls that reached connection `conn`, in the order its handler saw them:
/// (trace index, call, method).
pub fn arrivals(events: &[Event], conn: ConnId) -> Vec<(usize, CallId, Method)> {
    events
        .iter()
        .enumerate()
        .filter_map(|(at, e)| match *e {
            Event::Arrive {
                conn: c,
                call,
                method,
                ..
            } if c == conn => Some((at, call, method)),
            _ => None,
        })
        .collect()
}

/// The call of the first `Send` of `method` on `phone` at or after index `from`.
pub fn sent_call(events: &[Event], from: usize, phone: PhoneId, method: Method) -> (usize, CallId) {
    events
        .iter()
        .enumerate()
        .skip(from)
        .find_map(|(at, e)| match *e {
            Event::Send {
                call,
                phone: p,
                method: m,
                ..
            } if p == Some(phone) && m == method => Some((at, call)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no {method} sent on {phone}:\n{}", dump(events)))
}

/// The `Finish` event of a finished kernel.
pub fn finish_of(log: &TraceLog) -> &Finish {
    match log.events.last() {
        Some(Event::Finish(f)) => f,
        _ => panic!("the trace does not end with Finish:\n{}", dump(&log.events)),
    }
}

/// Asserts that nothing was left behind: no phone, connection, cached exchange, session or
/// unanswered call.
pub fn assert_clean_finish(log: &TraceLog) {
    assert_eq!(
        finish_of(log),
        &Finish::default(),
        "left behind:\n{}",
        dump(&log.events)
    );
}

/// Asserts checklist item 20: at every connection, the calls of one exchange arrive as one
/// contiguous run.
pub fn assert_exchanges_contiguous(events: &[Event]) {
    for c in conn_opens(events) {
        let mut done = BTreeSet::new();
        let mut current: Option<ExchId> = None;
        for e in events {
            let Event::Arrive {
                conn,
                tag: Some(tag),
                call,
                ..
            } = e
            else {
                continue;
            };
            let Some(exch) = tag.exch else { continue };
            if *conn != c.conn || current == Some(exch) {
                continue;
            }
            assert!(
                !done.contains(&exch),
                "{call} of {exch} arrived at {conn} after another exchange's calls:\n{}",
                dump(events)
            );
            if let Some(prev) = current.replace(exch) {
                done.insert(prev);
            }
        }
    }
}

/// How many times [`wait_for_event`] looks before it gives up. Not a clock: a budget far beyond
/// what any awaited event needs, so that a core bug fails the test instead of hanging it.
const SPIN_BUDGET: u64 = 50_000_000;

/// Waits, without sleeping, until the trace of `k` records an event matching `pred`, and
/// returns its index. Fails at once if fibril `watch` finishes first (it can then never
/// produce the event).
pub fn wait_for_event(
    k: &K,
    what: &str,
    watch: Option<FibrilId>,
    pred: impl Fn(&Event) -> bool,
) -> usize {
    wait_for_events(k, what, 1, watch, pred)
}

/// Like [`wait_for_event`], until `n` events match; returns the index of the `n`-th.
pub fn wait_for_events(
    k: &K,
    what: &str,
    n: usize,
    watch: Option<FibrilId>,
    pred: impl Fn(&Event) -> bool,
) -> usize {
    let (mut seen, mut matched) = (0, 0);
    for _ in 0..SPIN_BUDGET {
        if k.trace().len() > seen {
            let log = k.trace().snapshot();
            for (i, e) in log.events.iter().enumerate().skip(seen) {
                if pred(e) {
                    matched += 1;
                    if matched == n {
                        return i;
                    }
                }
                if matches!(e, Event::FibrilExit { fibril, .. } if Some(*fibril) == watch) {
                    panic!("{e:?} before {what} was recorded:\n{}", dump(&log.events));
                }
            }
            seen = log.events.len();
        }
        StdPlatform::yield_now();
    }
    panic!(
        "{what} was never recorded:\n{}",
        dump(&k.trace().snapshot().events)
    );
}

/// The device content of the seed example.
pub const SEED_DATA: &[u8] = b"abcdefgh";

/// The design note's example: fibrils A and B each call `chardev::read` of 4 bytes, at the
/// same time, on one session of style `style`. Returns what each read (A first) and the trace.
pub fn seed(style: Style, dispatch: Dispatch) -> ([Vec<u8>; 2], TraceLog) {
    let k = kernel_with(KernelConfig {
        dispatch,
        ..KernelConfig::default()
    });
    let dev = k.server("dev", chardev::server(SEED_DATA));
    let client = k.task("client");
    let sess = connect(&client, &dev, style);
    let fibrils = ["A", "B"].map(|name| {
        let sess = sess.clone();
        client.spawn(name, move || -> Result<Vec<u8>, IpcError> {
            let exch = sess.begin()?;
            chardev::blocking::read(&exch, 4)
        })
    });
    let got = fibrils.map(|f| {
        f.join()
            .unwrap_or_else(|_| panic!("a seed fibril panicked"))
            .unwrap_or_else(|e| panic!("a seed read failed under {style}: {e}"))
    });
    hangup(sess);
    (got, k.finish())
}

/// The exchange object named by the trace's latest `ExchBegin` event.
pub fn last_begin_obj(k: &K) -> ObjId {
    k.trace()
        .snapshot()
        .events
        .iter()
        .rev()
        .find_map(|e| match e {
            Event::ExchBegin { obj, .. } => Some(*obj),
            _ => None,
        })
        .expect("an exchange began")
}
