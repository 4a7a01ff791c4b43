//! No mixing: on every connection, and on every virtual path of a multiplexed one, the calls of
//! one operation arrive as one contiguous run, in the order they were sent; a path instance
//! carries one exchange's calls, and a multiplexed exchange's calls reach its own path.

use super::Index;
use crate::violation::{CallRef, Violation};
use sessions_core::trace::BeginHow;
use sessions_core::{ConnId, Event, ExchId, OpId, PathId, TraceLog};
use std::collections::{BTreeMap, BTreeSet};

/// Runs the mixing checker.
pub fn check(log: &TraceLog) -> Vec<Violation> {
    check_with(log, &Index::new(log))
}

#[derive(Default)]
struct Stream {
    arrivals: Vec<CallRef>,
    /// Per operation: position of its last arrival in `arrivals`.
    last: BTreeMap<OpId, usize>,
    reported: BTreeSet<OpId>,
    /// The exchange the current path instance was opened for.
    owner: Option<ExchId>,
    owner_reported: bool,
}

pub(crate) fn check_with(log: &TraceLog, ix: &Index) -> Vec<Violation> {
    let mut streams: BTreeMap<(ConnId, PathId), Stream> = BTreeMap::new();
    let mut exch_path: BTreeMap<ExchId, PathId> = BTreeMap::new();
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
            Event::PathOpen { conn, path } | Event::PathClose { conn, path } => {
                let s = streams.entry((*conn, *path)).or_default();
                s.owner = None;
                s.owner_reported = false;
            }
            Event::Arrive {
                conn,
                path,
                call,
                method,
                tag: Some(tag),
            } => {
                let a = ix.call(*call, *method, *tag);
                if let Some(expected) = tag
                    .exch
                    .and_then(|x| exch_path.get(&x))
                    .filter(|p| *p != path)
                {
                    out.push(Violation::Misrouted {
                        conn: *conn,
                        path: *path,
                        expected: *expected,
                        call: a.clone(),
                    });
                }
                let s = streams.entry((*conn, *path)).or_default();
                if let Some(exch) = tag.exch.filter(|x| exch_path.get(x) == Some(path)) {
                    match s.owner {
                        None => s.owner = Some(exch),
                        Some(first) if first != exch && !s.owner_reported => {
                            s.owner_reported = true;
                            out.push(Violation::PathReused {
                                conn: *conn,
                                path: *path,
                                first,
                                intruder: a.clone(),
                            });
                        }
                        Some(_) => {}
                    }
                }
                let here = s.arrivals.len();
                if let Some(&prev) = s.last.get(&tag.op) {
                    let before = &s.arrivals[prev];
                    if prev + 1 < here && s.reported.insert(tag.op) {
                        out.push(Violation::Mixing {
                            conn: *conn,
                            path: *path,
                            before: before.clone(),
                            intruder: s.arrivals[prev + 1].clone(),
                            after: a.clone(),
                        });
                    }
                    if tag.step != before.step + 1 {
                        out.push(Violation::OutOfOrder {
                            conn: *conn,
                            path: *path,
                            call: a.clone(),
                            expected_step: before.step + 1,
                        });
                    }
                }
                s.last.insert(tag.op, here);
                s.arrivals.push(a);
            }
            _ => {}
        }
    }
    out
}
