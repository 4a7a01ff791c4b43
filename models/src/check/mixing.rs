//! No mixing: the server sees each operation's calls as one contiguous run, in send order.
//!
//! Each operation is judged from both ends: what its client *sent* towards a connection (or
//! virtual path) and what the server *received* there. Arrivals are grouped by connection and
//! path, in arrival order; only tagged calls take part (framework messages such as
//! `CONNECT_ME_TO`, HANGUP and PATH_END carry no tag and belong to no operation).
//!
//! An operation is *open* at a connection from its first call's arrival there until every step
//! it still has to send there has arrived. A step that never arrives (refused at the send, or
//! bounced off a connection that is gone) keeps the operation open for good: the server is
//! left waiting for it, so a run cut short by a refused call, a hangup or a slam is still
//! judged. An operation stops being open when its path instance or connection closes.
//!
//! - [`Violation::Mixing`]: a foreign tagged call arrived while an operation was open, and the
//!   operation's next step arrived later. Each interrupted operation is reported once per
//!   connection and path, with its first intruder.
//! - [`Violation::Interrupted`]: the same, but the operation's next step never arrived; the
//!   report says what became of it (refused with which error, or bounced).
//! - [`Violation::OutOfOrder`]: a call arrived while an earlier step of its operation had
//!   neither arrived nor been refused (`SendFail`) or bounced. Calls of an operation are sent
//!   in step order, so the arrival must be the lowest step still outstanding.
//! - [`Violation::PathReused`]: a virtual path instance (from `PathOpen` to `PathClose`)
//!   carried calls of a second exchange. Reported once per intruding exchange and instance.
//! - [`Violation::Split`]: a call arrived at another connection or path than its operation's
//!   first call did. A forwarded call is a step of the forwarder's operation, so a forward
//!   routed anywhere but the forwarder's own connection is reported here.
//! - [`Violation::Misrouted`]: a call of a multiplexed exchange reached another path than the
//!   one its `ExchBegin` gave it. Such a call is not also blamed as [`Violation::PathReused`].
//!
//! Under ATOMIC style every exchange shares the session phone, so two multi-call operations
//! interleaving there are reported as mixing like any other.

use super::Names;
use crate::violation::{CallRef, Fate, Missing, Violation};
use sessions_core::trace::BeginHow;
use sessions_core::{CallId, ConnId, Event, ExchId, Method, OpId, PathId, Tag, TraceLog};
use std::collections::{BTreeMap, BTreeSet};

/// Runs the mixing checker on `log` and returns every violation, in trace order.
pub fn check(log: &TraceLog) -> Vec<Violation> {
    check_with(log, &Names::new(log))
}

type Stream = (ConnId, PathId);

/// What became of one step of an operation, over the whole trace.
#[derive(Clone)]
enum Outcome {
    /// It arrived at this stream.
    Arrived(Stream),
    /// It never arrived.
    Lost(Fate),
}

/// One step an operation sent, or tried to send.
#[derive(Clone)]
struct Step {
    call: Option<CallId>,
    method: Method,
    tag: Tag,
    outcome: Outcome,
}

/// An operation open at a stream: it arrived there and may owe more.
struct Open {
    /// Its highest step that arrived there so far.
    arrived: u32,
    /// Its latest call that arrived there.
    last: CallRef,
}

/// A virtual path instance: from its `PathOpen` to its `PathClose`.
#[derive(Default)]
struct Instance {
    /// The exchange of its first tagged call.
    owner: Option<ExchId>,
    /// Other exchanges already reported on it.
    intruders: BTreeSet<ExchId>,
}

/// Every step of every operation, with what became of it.
fn steps(log: &TraceLog) -> BTreeMap<OpId, BTreeMap<u32, Step>> {
    let mut ops: BTreeMap<OpId, BTreeMap<u32, Step>> = BTreeMap::new();
    let mut of_call: BTreeMap<CallId, Tag> = BTreeMap::new();
    for e in &log.events {
        match e {
            Event::Send {
                call,
                method,
                tag: Some(t),
                ..
            } => {
                of_call.insert(*call, *t);
                let step = Step {
                    call: Some(*call),
                    method: *method,
                    tag: *t,
                    // Until it arrives, a sent call counts as lost in transit.
                    outcome: Outcome::Lost(Fate::Bounced { call: *call }),
                };
                ops.entry(t.op).or_default().insert(t.step, step);
            }
            Event::Forward {
                call, method, tag, ..
            } => {
                // The forwarded call is the forwarder's operation's next step from now on.
                of_call.insert(*call, *tag);
                let step = Step {
                    call: Some(*call),
                    method: *method,
                    tag: *tag,
                    outcome: Outcome::Lost(Fate::Bounced { call: *call }),
                };
                ops.entry(tag.op).or_default().insert(tag.step, step);
            }
            Event::SendFail {
                method,
                tag: Some(t),
                error,
                ..
            } => {
                let step = Step {
                    call: None,
                    method: *method,
                    tag: *t,
                    outcome: Outcome::Lost(Fate::Refused {
                        error: error.clone(),
                    }),
                };
                ops.entry(t.op).or_default().insert(t.step, step);
            }
            Event::Arrive {
                conn,
                path,
                call,
                method,
                tag: Some(t),
            } => {
                let step = ops.entry(t.op).or_default().entry(t.step);
                let s = step.or_insert_with(|| Step {
                    call: Some(*call),
                    method: *method,
                    tag: *t,
                    outcome: Outcome::Arrived((*conn, *path)),
                });
                s.outcome = Outcome::Arrived((*conn, *path));
            }
            Event::Bounce { call, method, .. } => {
                if let Some(t) = of_call.get(call) {
                    let s = ops.entry(t.op).or_default().entry(t.step);
                    s.or_insert_with(|| Step {
                        call: Some(*call),
                        method: *method,
                        tag: *t,
                        outcome: Outcome::Lost(Fate::Bounced { call: *call }),
                    });
                }
            }
            _ => {}
        }
    }
    ops
}

pub(crate) fn check_with(log: &TraceLog, names: &Names) -> Vec<Violation> {
    let ops = steps(log);
    let mut open: BTreeMap<Stream, BTreeMap<OpId, Open>> = BTreeMap::new();
    let mut reported: BTreeSet<(Stream, OpId)> = BTreeSet::new();
    let mut instances: BTreeMap<Stream, Instance> = BTreeMap::new();
    let mut exch_path: BTreeMap<ExchId, PathId> = BTreeMap::new();
    // Per operation: where its first call arrived.
    let mut first_at: BTreeMap<OpId, Stream> = BTreeMap::new();
    // Per operation: the steps that arrived, were refused or bounced.
    let mut settled: BTreeMap<OpId, BTreeSet<u32>> = BTreeMap::new();
    let mut out = Vec::new();
    for e in &log.events {
        match e {
            Event::ExchBegin {
                exch,
                how: BeginHow::Path(p),
                ..
            } => {
                exch_path.insert(*exch, *p);
            }
            Event::PathOpen { conn, path } => {
                instances.insert((*conn, *path), Instance::default());
            }
            Event::PathClose { conn, path } => {
                instances.remove(&(*conn, *path));
                open.remove(&(*conn, *path));
            }
            Event::ConnClose { conn, .. } => {
                open.retain(|(c, _), _| c != conn);
            }
            Event::SendFail { tag: Some(t), .. } => {
                settled.entry(t.op).or_default().insert(t.step);
            }
            Event::Bounce { call, .. } => {
                if let Some(t) = names.tag_of(*call) {
                    settled.entry(t.op).or_default().insert(t.step);
                }
            }
            Event::Arrive {
                conn,
                path,
                call,
                method,
                tag: Some(tag),
            } => {
                let stream = (*conn, *path);
                let here = names.call(*call, *method, tag);
                match first_at.get(&tag.op) {
                    None => {
                        first_at.insert(tag.op, stream);
                    }
                    Some(first) if *first != stream => out.push(Violation::Split {
                        conn: *conn,
                        path: *path,
                        first: *first,
                        call: here.clone(),
                    }),
                    Some(_) => {}
                }
                routing(&mut out, &mut instances, &exch_path, stream, tag, &here);
                // Order: the lowest step of the operation still outstanding.
                let steps = settled.entry(tag.op).or_default();
                let expected_step = (0..).find(|s| !steps.contains(s)).unwrap_or(u32::MAX);
                if tag.step != expected_step {
                    out.push(Violation::OutOfOrder {
                        conn: *conn,
                        path: *path,
                        call: here.clone(),
                        expected_step,
                    });
                }
                steps.insert(tag.step);
                // Contiguity: no other operation is open here.
                let here_open = open.entry(stream).or_default();
                for (op, o) in here_open.iter() {
                    if *op == tag.op || reported.contains(&(stream, *op)) {
                        continue;
                    }
                    let Some(next) = due(&ops, *op, o.arrived, stream) else {
                        continue;
                    };
                    reported.insert((stream, *op));
                    out.push(interruption(names, stream, o, here.clone(), next));
                }
                let o = here_open.entry(tag.op).or_insert(Open {
                    arrived: tag.step,
                    last: here.clone(),
                });
                o.arrived = o.arrived.max(tag.step);
                o.last = here;
                // Done here once nothing more is due.
                here_open.retain(|op, o| due(&ops, *op, o.arrived, stream).is_some());
            }
            _ => {}
        }
    }
    out
}

/// The next step `op` owes `stream` after step `arrived`: one that arrives there later, or
/// one that never arrives anywhere.
fn due(
    ops: &BTreeMap<OpId, BTreeMap<u32, Step>>,
    op: OpId,
    arrived: u32,
    stream: Stream,
) -> Option<&Step> {
    ops.get(&op)?
        .range(arrived + 1..)
        .map(|(_, s)| s)
        .find(|s| match &s.outcome {
            Outcome::Arrived(at) => *at == stream,
            Outcome::Lost(_) => true,
        })
}

/// The violation for operation `o`, interrupted at `stream` by `intruder`, whose next step is
/// `next`.
fn interruption(
    names: &Names,
    (conn, path): Stream,
    o: &Open,
    intruder: CallRef,
    next: &Step,
) -> Violation {
    match &next.outcome {
        Outcome::Arrived(_) => Violation::Mixing {
            conn,
            path,
            before: o.last.clone(),
            intruder,
            after: names.call(
                next.call.expect("an arrived step was sent"),
                next.method,
                &next.tag,
            ),
        },
        Outcome::Lost(fate) => Violation::Interrupted {
            conn,
            path,
            before: o.last.clone(),
            intruder,
            missing: Missing {
                method: next.method,
                method_name: names.method_at(conn, next.method),
                fibril: names.fibril(next.tag.fibril),
                exch: next.tag.exch,
                op: next.tag.op,
                step: next.tag.step,
                fate: fate.clone(),
            },
        },
    }
}

/// Routing of a multiplexed exchange's call: its exchange's own path, and one exchange per
/// path instance.
fn routing(
    out: &mut Vec<Violation>,
    instances: &mut BTreeMap<Stream, Instance>,
    exch_path: &BTreeMap<ExchId, PathId>,
    (conn, path): Stream,
    tag: &Tag,
    here: &CallRef,
) {
    let own = tag.exch.and_then(|x| exch_path.get(&x).copied());
    if let Some(expected) = own.filter(|p| *p != path) {
        out.push(Violation::Misrouted {
            conn,
            path,
            expected,
            call: here.clone(),
        });
    } else if let (Some(inst), Some(exch)) = (instances.get_mut(&(conn, path)), tag.exch) {
        match inst.owner {
            None => inst.owner = Some(exch),
            Some(first) if first != exch && inst.intruders.insert(exch) => {
                out.push(Violation::PathReused {
                    conn,
                    path,
                    first,
                    intruder: here.clone(),
                });
            }
            Some(_) => {}
        }
    }
}
