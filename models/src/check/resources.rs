//! Resources: phone tables within their limits, nothing left open at the end, and HANGUP as
//! every client-closed connection's last message.
//!
//! Everything is derived from the events, not from the kernel's own [`Finish`] summary:
//!
//! - [`Violation::PhoneLimit`]: a task's open phones, counted from `PhoneOpen` and
//!   `PhoneClose`, exceeded the `phone_limit` of its `TaskNew`; once per task, where it first
//!   happened, with the peak.
//! - [`Violation::HangupNotLast`] with `after: Some(call)`: each call that arrived at a
//!   connection after its HANGUP (recorded once, on path 0, even for multiplexed connections).
//! - [`Violation::HangupNotLast`] with `after: None`, in a [`completed`] trace: the client hung
//!   up the phone of a connection that was still open, and no HANGUP ever arrived there.
//! - [`Violation::Leak`], in a completed trace: phones still open per task, connections opened
//!   and never closed, exchange objects whose last cache event put them in the cache, and
//!   sessions never hung up. A task's death (`TaskDeath`) ends its sessions; the kernel closes
//!   its phones, connections and cached objects with events of their own, so nothing of a dead
//!   task is reported unless the kernel left it open.
//!
//! End-state violations follow the others: missing hangups, then leaked phones (by task),
//! connections, cached objects and sessions, each in the order they were created.
//!
//! [`Finish`]: sessions_core::trace::Finish

use super::completed;
use crate::violation::{Leak, Violation};
use sessions_core::trace::PhoneClose;
use sessions_core::{ConnId, Event, Method, ObjId, PhoneId, SessId, TaskId, TraceLog};
use std::collections::{BTreeMap, BTreeSet};

/// Runs the resources checker on `log` and returns every violation, in trace order.
pub fn check(log: &TraceLog) -> Vec<Violation> {
    let mut tasks: BTreeMap<TaskId, Phones> = BTreeMap::new();
    let mut conns: BTreeMap<ConnId, Conn> = BTreeMap::new();
    let mut conn_of: BTreeMap<(TaskId, PhoneId), ConnId> = BTreeMap::new();
    let mut cached: BTreeMap<ObjId, bool> = BTreeMap::new();
    let mut sessions: BTreeSet<SessId> = BTreeSet::new();
    let mut sess_task: BTreeMap<SessId, TaskId> = BTreeMap::new();
    let mut out = Vec::new();
    for e in &log.events {
        match e {
            Event::TaskNew {
                task, phone_limit, ..
            } => {
                tasks.entry(*task).or_default().limit = Some(*phone_limit);
            }
            Event::PhoneOpen { task, .. } => {
                let t = tasks.entry(*task).or_default();
                t.open += 1;
                let limit = t.limit.unwrap_or(u32::MAX);
                if t.open > limit {
                    match t.reported {
                        Some(i) => {
                            if let Violation::PhoneLimit { open, .. } = &mut out[i] {
                                *open = (*open).max(t.open);
                            }
                        }
                        None => {
                            t.reported = Some(out.len());
                            out.push(Violation::PhoneLimit {
                                task: *task,
                                open: t.open,
                                limit,
                            });
                        }
                    }
                }
            }
            Event::PhoneClose {
                task, phone, why, ..
            } => {
                let t = tasks.entry(*task).or_default();
                t.open = t.open.saturating_sub(1);
                let conn = conn_of.get(&(*task, *phone)).and_then(|c| conns.get_mut(c));
                if let (PhoneClose::Hangup, Some(c)) = (why, conn) {
                    c.closed_by_client |= c.open;
                }
            }
            Event::ConnOpen {
                conn,
                client,
                phone,
                ..
            } => {
                conn_of.insert((*client, *phone), *conn);
                conns.entry(*conn).or_default().open = true;
            }
            Event::ConnClose { conn, .. } => {
                conns.entry(*conn).or_default().open = false;
            }
            Event::Arrive {
                conn, call, method, ..
            } => {
                let c = conns.entry(*conn).or_default();
                if c.hangup {
                    out.push(Violation::HangupNotLast {
                        conn: *conn,
                        after: Some(*call),
                    });
                }
                c.hangup |= *method == Method::HANGUP;
            }
            Event::CacheIn { obj, .. } => {
                cached.insert(*obj, true);
            }
            Event::CacheOut { obj, .. } => {
                cached.insert(*obj, false);
            }
            Event::SessionOpen { sess, task, .. } => {
                sessions.insert(*sess);
                sess_task.insert(*sess, *task);
            }
            Event::TaskDeath { task, .. } => {
                sessions.retain(|s| sess_task.get(s) != Some(task));
            }
            Event::SessionHangup { sess, .. } => {
                sessions.remove(sess);
            }
            _ => {}
        }
    }
    if !completed(log) {
        return out;
    }
    out.extend(
        conns
            .iter()
            .filter(|(_, c)| c.closed_by_client && !c.hangup)
            .map(|(conn, _)| Violation::HangupNotLast {
                conn: *conn,
                after: None,
            }),
    );
    out.extend(tasks.iter().filter(|(_, t)| t.open > 0).map(|(task, t)| {
        Violation::Leak(Leak::Phones {
            task: *task,
            open: t.open,
        })
    }));
    out.extend(
        conns
            .iter()
            .filter(|(_, c)| c.open)
            .map(|(conn, _)| Violation::Leak(Leak::Conn { conn: *conn })),
    );
    out.extend(
        cached
            .iter()
            .filter(|(_, in_cache)| **in_cache)
            .map(|(obj, _)| Violation::Leak(Leak::Cached { obj: *obj })),
    );
    out.extend(
        sessions
            .into_iter()
            .map(|sess| Violation::Leak(Leak::Session { sess })),
    );
    out
}

/// A task's phone table.
#[derive(Default)]
struct Phones {
    limit: Option<u32>,
    open: u32,
    /// Where its `PhoneLimit` sits in the output, once reported.
    reported: Option<usize>,
}

/// A server connection.
#[derive(Default)]
struct Conn {
    open: bool,
    /// A HANGUP arrived.
    hangup: bool,
    /// The client hung up its phone while the connection was open.
    closed_by_client: bool,
}
