//! Because: the earlier events of a trace that explain a deadlock, a protocol error or a
//! panic, attached to the violation as its "because" lines ([`Cause`]).
//!
//! - [`Cause::OwedAnswers`]: an exchange began on a connection (or path) whose earlier
//!   exchange still had unanswered calls there. It explains a deadlock in which a fibril waits
//!   for an answer on that connection, or the connection's handler waits, while those calls
//!   are still unanswered; and a protocol error on that connection after the begin.
//! - [`Cause::WedgedByForget`]: the same, when one of the owed calls was forgotten by its
//!   sender before its exchange object was cached: the cached exchange was wedged behind it.
//! - [`Cause::ReclaimedForFailedBegin`]: a begin reclaimed another session's cached exchange
//!   and then failed. It explains every deadlock and panic of the trace (the victim session
//!   lost its phone for nothing, and the begin's error is what the model saw).

use super::Names;
use crate::violation::{Cause, Violation};
use sessions_core::trace::{BeginHow, CacheOut, Wait};
use sessions_core::{CallId, ConnId, Event, ExchId, FibrilId, Method, ObjId, PathId, PhoneId};
use sessions_core::{SessId, TraceLog};
use std::collections::{BTreeMap, BTreeSet};

/// A call of an exchange, as far as the explanation needs it.
struct Call {
    exch: ExchId,
    method: Method,
    at: (ConnId, PathId),
    answered: bool,
    forgotten: bool,
}

/// A begin on a connection that still owed an earlier exchange answers.
struct Owed {
    cause: Cause,
    at: (ConnId, PathId),
    /// The owed calls.
    calls: Vec<CallId>,
}

/// Adds to every deadlock, protocol error and panic in `violations` the causes that `log`
/// shows for it.
pub(crate) fn explain(log: &TraceLog, names: &Names, violations: &mut [Violation]) {
    let mut phone_conn: BTreeMap<PhoneId, ConnId> = BTreeMap::new();
    let mut calls: BTreeMap<CallId, Call> = BTreeMap::new();
    // Per exchange object: the exchange that used it last, and whether it is cached.
    let mut obj_exch: BTreeMap<ObjId, ExchId> = BTreeMap::new();
    // Forgotten, unanswered calls of an exchange when its object was cached.
    let mut cached_with: BTreeMap<ObjId, Vec<CallId>> = BTreeMap::new();
    let mut owed: Vec<Owed> = Vec::new();
    // Per protocol error (connection, call): the begins on its connection before it.
    let mut protocol: BTreeMap<(ConnId, CallId), Vec<Cause>> = BTreeMap::new();
    // Reclaims by each fibril since its last successful begin.
    let mut reclaims: BTreeMap<FibrilId, Vec<(ObjId, SessId, SessId)>> = BTreeMap::new();
    let mut failed_begins: Vec<Cause> = Vec::new();
    for e in &log.events {
        match e {
            Event::ConnOpen { conn, phone, .. } => {
                phone_conn.insert(*phone, *conn);
            }
            Event::Arrive {
                conn,
                path,
                call,
                method,
                tag: Some(t),
            } => {
                if let Some(exch) = t.exch {
                    calls.insert(
                        *call,
                        Call {
                            exch,
                            method: *method,
                            at: (*conn, *path),
                            answered: false,
                            forgotten: false,
                        },
                    );
                }
            }
            Event::Answer { call, .. } => {
                if let Some(c) = calls.get_mut(call) {
                    c.answered = true;
                }
            }
            Event::Forget { call, .. } => {
                if let Some(c) = calls.get_mut(call) {
                    c.forgotten = true;
                }
            }
            Event::CacheIn { obj, .. } => {
                let exch = obj_exch.get(obj).copied();
                let wedged: Vec<CallId> = calls
                    .iter()
                    .filter(|(_, c)| Some(c.exch) == exch && c.forgotten && !c.answered)
                    .map(|(id, _)| *id)
                    .collect();
                cached_with.insert(*obj, wedged);
            }
            Event::ExchBegin {
                exch,
                fibril,
                obj,
                phone,
                how,
                ..
            } => {
                reclaims.remove(fibril);
                let previous = obj_exch.insert(*obj, *exch);
                let Some(&conn) = phone_conn.get(phone) else {
                    continue;
                };
                let path = match how {
                    BeginHow::Path(p) => *p,
                    _ => PathId::CONN,
                };
                let owing: Vec<(CallId, &Call)> = calls
                    .iter()
                    .filter(|(_, c)| c.at == (conn, path) && !c.answered && c.exch != *exch)
                    .map(|(id, c)| (*id, c))
                    .collect();
                let Some(&(_, first)) = owing.first() else {
                    continue;
                };
                let earlier = first.exch;
                let wedged = cached_with
                    .get(obj)
                    .filter(|_| previous == Some(earlier))
                    .and_then(|w| w.iter().find(|c| owing.iter().any(|(o, _)| o == *c)));
                let cause = match wedged {
                    Some(call) => Cause::WedgedByForget {
                        obj: *obj,
                        earlier,
                        call: *call,
                        method: calls[call].method,
                        method_name: names.method_at(conn, calls[call].method),
                        conn,
                        exch: *exch,
                        fibril: names.fibril(*fibril),
                    },
                    None => Cause::OwedAnswers {
                        exch: *exch,
                        fibril: names.fibril(*fibril),
                        conn,
                        earlier,
                        calls: owing
                            .iter()
                            .filter(|(_, c)| c.exch == earlier)
                            .map(|(id, c)| (*id, c.method, names.method_at(conn, c.method)))
                            .collect(),
                    },
                };
                owed.push(Owed {
                    cause,
                    at: (conn, path),
                    calls: owing.iter().map(|(id, _)| *id).collect(),
                });
            }
            Event::ProtocolError { conn, call, .. } => {
                let causes = owed
                    .iter()
                    .filter(|o| o.at.0 == *conn)
                    .map(|o| o.cause.clone())
                    .collect();
                protocol.insert((*conn, *call), causes);
            }
            Event::CacheOut {
                obj,
                sess,
                why: CacheOut::Reclaim { for_sess, by },
            } => {
                reclaims
                    .entry(*by)
                    .or_default()
                    .push((*obj, *sess, *for_sess));
            }
            Event::BeginFail {
                fibril,
                sess,
                error,
            } => {
                for (obj, victim, for_sess) in reclaims.remove(fibril).unwrap_or_default() {
                    if for_sess == *sess && victim != *sess {
                        failed_begins.push(Cause::ReclaimedForFailedBegin {
                            fibril: names.fibril(*fibril),
                            sess: *sess,
                            obj,
                            victim,
                            error: error.clone(),
                        });
                    }
                }
            }
            _ => {}
        }
    }
    for v in violations.iter_mut() {
        let causes: Vec<Cause> = match &*v {
            Violation::Deadlock { report, .. } => {
                let mut conns: BTreeSet<ConnId> = report.server.iter().map(|w| w.conn).collect();
                conns.extend(report.fibrils.iter().filter_map(|(_, _, w)| match w {
                    Wait::Answer { conn, .. } => *conn,
                    _ => None,
                }));
                // Only what still blocks: owed calls that were never answered.
                let still = |o: &&Owed| o.calls.iter().any(|c| !calls[c].answered);
                owed.iter()
                    .filter(|o| conns.contains(&o.at.0))
                    .filter(still)
                    .map(|o| o.cause.clone())
                    .chain(failed_begins.iter().cloned())
                    .collect()
            }
            Violation::Protocol { conn, call, .. } => {
                protocol.get(&(*conn, *call)).cloned().unwrap_or_default()
            }
            Violation::Panic { .. } => failed_begins.clone(),
            _ => continue,
        };
        if let Some(because) = v.because_mut() {
            for c in causes {
                if !because.contains(&c) {
                    because.push(c);
                }
            }
        }
    }
}
