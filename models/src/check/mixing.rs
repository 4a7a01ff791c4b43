//! No mixing: the server sees each operation's calls as one contiguous run, in send order.
//!
//! Arrivals are grouped by connection and virtual path, in arrival order. Only tagged calls
//! take part: framework messages (`CONNECT_ME_TO`, HANGUP, PATH_END) carry no tag and belong
//! to no operation.
//!
//! - [`Violation::Mixing`]: a foreign tagged call arrived between two calls of an operation.
//!   Each interrupted operation is reported once per connection and path, with its first
//!   intruder.
//! - [`Violation::OutOfOrder`]: a call arrived while an earlier step of its operation had
//!   neither arrived nor been refused (`SendFail`) or bounced. Calls of an operation are sent
//!   in step order, so the arrival must be the lowest step still outstanding.
//! - [`Violation::PathReused`]: a virtual path instance (from `PathOpen` to `PathClose`)
//!   carried calls of a second exchange. Reported once per intruding exchange and instance.
//! - [`Violation::Misrouted`]: a call of a multiplexed exchange reached another path than the
//!   one its `ExchBegin` gave it. Such a call is not also blamed as [`Violation::PathReused`].
//!
//! Under ATOMIC style every exchange shares the session phone, so two multi-call operations
//! interleaving there are reported as mixing like any other.

use super::Names;
use crate::violation::{CallRef, Violation};
use sessions_core::trace::BeginHow;
use sessions_core::{ConnId, Event, ExchId, OpId, PathId, TraceLog};
use std::collections::{BTreeMap, BTreeSet};

/// Runs the mixing checker on `log` and returns every violation, in trace order.
pub fn check(log: &TraceLog) -> Vec<Violation> {
    check_with(log, &Names::new(log))
}

/// The tagged arrivals of one connection and path.
#[derive(Default)]
struct Stream {
    arrivals: Vec<CallRef>,
    /// Per operation: the index in `arrivals` of its latest call.
    last: BTreeMap<OpId, usize>,
    /// Operations already reported as interrupted.
    interrupted: BTreeSet<OpId>,
}

/// A virtual path instance: from its `PathOpen` to its `PathClose`.
#[derive(Default)]
struct Instance {
    /// The exchange of its first tagged call.
    owner: Option<ExchId>,
    /// Other exchanges already reported on it.
    intruders: BTreeSet<ExchId>,
}

pub(crate) fn check_with(log: &TraceLog, names: &Names) -> Vec<Violation> {
    let mut streams: BTreeMap<(ConnId, PathId), Stream> = BTreeMap::new();
    let mut instances: BTreeMap<(ConnId, PathId), Instance> = BTreeMap::new();
    let mut exch_path: BTreeMap<ExchId, PathId> = BTreeMap::new();
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
            }
            Event::SendFail { tag: Some(t), .. } => {
                settled.entry(t.op).or_default().insert(t.step);
            }
            Event::Bounce { call, .. } => {
                if let Some(t) = names.sent(*call).and_then(|s| s.tag) {
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
                let (conn, path) = (*conn, *path);
                let here = names.call(*call, *method, tag);
                // Routing: its exchange's own path, and one exchange per path instance.
                let own = tag.exch.and_then(|x| exch_path.get(&x).copied());
                if let Some(expected) = own.filter(|p| *p != path) {
                    out.push(Violation::Misrouted {
                        conn,
                        path,
                        expected,
                        call: here.clone(),
                    });
                } else if let (Some(inst), Some(exch)) =
                    (instances.get_mut(&(conn, path)), tag.exch)
                {
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
                // Order: the lowest step of the operation still outstanding.
                let steps = settled.entry(tag.op).or_default();
                let expected_step = (0..).find(|s| !steps.contains(s)).unwrap_or(u32::MAX);
                if tag.step != expected_step {
                    out.push(Violation::OutOfOrder {
                        conn,
                        path,
                        call: here.clone(),
                        expected_step,
                    });
                }
                steps.insert(tag.step);
                // Contiguity: nothing foreign since the operation's previous call here.
                let s = streams.entry((conn, path)).or_default();
                let at = s.arrivals.len();
                if let Some(&prev) = s.last.get(&tag.op) {
                    if prev + 1 < at && s.interrupted.insert(tag.op) {
                        out.push(Violation::Mixing {
                            conn,
                            path,
                            before: s.arrivals[prev].clone(),
                            intruder: s.arrivals[prev + 1].clone(),
                            after: here.clone(),
                        });
                    }
                }
                s.last.insert(tag.op, at);
                s.arrivals.push(here);
            }
            _ => {}
        }
    }
    out
}
