//! Resources: no task ever holds more phones than its table allows; when the model has ended
//! and its sessions hung up, no phone, cached exchange, session or server connection remains;
//! and a connection the client closed receives HANGUP as its very last message.

use super::{completed, Index};
use crate::violation::{Leak, Violation};
use sessions_core::trace::PhoneClose;
use sessions_core::{ConnId, Event, Method, ObjId, PhoneId, SessId, TaskId, TraceLog};
use std::collections::{BTreeMap, BTreeSet};

/// Runs the resources checker.
pub fn check(log: &TraceLog) -> Vec<Violation> {
    check_with(log, &Index::new(log))
}

pub(crate) fn check_with(log: &TraceLog, _ix: &Index) -> Vec<Violation> {
    let mut limit: BTreeMap<TaskId, u32> = BTreeMap::new();
    let mut open: BTreeMap<TaskId, u32> = BTreeMap::new();
    let mut peak: BTreeMap<TaskId, u32> = BTreeMap::new();
    let mut conn_of_phone: BTreeMap<PhoneId, ConnId> = BTreeMap::new();
    let mut conns: BTreeSet<ConnId> = BTreeSet::new();
    let mut hangup_seen: BTreeSet<ConnId> = BTreeSet::new();
    let mut after_hangup: BTreeSet<ConnId> = BTreeSet::new();
    let mut closed_by_client: Vec<ConnId> = Vec::new();
    let mut cached: BTreeSet<ObjId> = BTreeSet::new();
    let mut sessions: BTreeSet<SessId> = BTreeSet::new();
    let mut out = Vec::new();
    for e in &log.events {
        match e {
            Event::TaskNew {
                task, phone_limit, ..
            } => {
                limit.insert(*task, *phone_limit);
            }
            Event::PhoneOpen { task, .. } => {
                let n = open.entry(*task).or_default();
                *n += 1;
                let p = peak.entry(*task).or_default();
                *p = (*p).max(*n);
            }
            Event::PhoneClose {
                task, phone, why, ..
            } => {
                let n = open.entry(*task).or_default();
                *n = n.saturating_sub(1);
                let conn = conn_of_phone.get(phone).copied();
                if let (PhoneClose::Hangup, Some(c)) = (why, conn) {
                    if conns.contains(&c) {
                        closed_by_client.push(c);
                    }
                }
            }
            Event::ConnOpen { conn, phone, .. } => {
                conn_of_phone.insert(*phone, *conn);
                conns.insert(*conn);
            }
            Event::ConnClose { conn, .. } => {
                conns.remove(conn);
            }
            Event::Arrive {
                conn, call, method, ..
            } => {
                if hangup_seen.contains(conn) && after_hangup.insert(*conn) {
                    out.push(Violation::HangupNotLast {
                        conn: *conn,
                        after: Some(*call),
                    });
                }
                if *method == Method::HANGUP {
                    hangup_seen.insert(*conn);
                }
            }
            Event::CacheIn { obj, .. } => {
                cached.insert(*obj);
            }
            Event::CacheOut { obj, .. } => {
                cached.remove(obj);
            }
            Event::SessionOpen { sess, .. } => {
                sessions.insert(*sess);
            }
            Event::SessionHangup { sess, .. } => {
                sessions.remove(sess);
            }
            _ => {}
        }
    }
    for (task, p) in &peak {
        let l = limit.get(task).copied().unwrap_or(u32::MAX);
        if *p > l {
            out.push(Violation::PhoneLimit {
                task: *task,
                open: *p,
                limit: l,
            });
        }
    }
    if !completed(log) {
        return out;
    }
    for conn in closed_by_client {
        if !hangup_seen.contains(&conn) {
            out.push(Violation::HangupNotLast { conn, after: None });
        }
    }
    out.extend(
        open.into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(task, open)| Violation::Leak(Leak::Phones { task, open })),
    );
    out.extend(
        conns
            .into_iter()
            .map(|conn| Violation::Leak(Leak::Conn { conn })),
    );
    out.extend(
        cached
            .into_iter()
            .map(|obj| Violation::Leak(Leak::Cached { obj })),
    );
    out.extend(
        sessions
            .into_iter()
            .map(|sess| Violation::Leak(Leak::Session { sess })),
    );
    out
}
