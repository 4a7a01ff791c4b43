//! Accounting: every begun exchange ends exactly once, and an exchange object is never used
//! while it sits in the cache, by two exchanges at once, or reclaimed while in use.
//!
//! Each exchange object's state is tracked from the events: `CacheIn` puts it in the cache,
//! `CacheOut` takes it out, `ExchBegin` makes it active for that exchange and `ExchEnd` ends
//! that. The kernel's normal orders are `CacheOut { Reuse }` then `ExchBegin` to reuse an
//! object, and `ExchEnd` then `CacheIn` to end; multiplexed exchanges use fresh objects and
//! never touch the cache.
//!
//! - [`Violation::CachedInUse`]: an `ExchBegin` took an object that was cached or active for
//!   another exchange (naming the new exchange); a `CacheIn` of an object still active
//!   (naming each active exchange); a tagged `Send` of an exchange whose object was cached.
//!   Reported once per object and exchange.
//! - [`Violation::ReclaimedActive`]: a `CacheOut { Reclaim }` of an object still active, once
//!   per active exchange.
//! - [`Violation::ReclaimedMainPhone`]: a `CacheOut { Reclaim }` of an object whose phone
//!   (from its `ExchBegin`) is the main phone of a session still open (HelenOS's suspect S1:
//!   a cached ATOMIC or SERIALIZE exchange wraps its session's phone).
//! - [`Violation::NeedlessReclaim`]: a `CacheOut { Reclaim }` by a fibril whose last clone
//!   attempt did not fail for want of a phone (refused with `PhoneLimit`, or answered ELIMIT
//!   or ENOMEM): reclaim frees phones, so it cannot help a clone the server refused.
//! - [`Violation::CloneArgs`]: a clone request (`CloneRequest`) asked for another interface
//!   than its session's last `ArgsSet` named: the clone reaches another port than the one
//!   the session's owner chose (HelenOS's checklist items 14 and 15, for callback sessions).
//! - [`Violation::EndedTwice`]: a second `ExchEnd` of one exchange, reported once.
//! - [`Violation::NotEnded`]: in a [`completed`] trace, an exchange begun and never ended (by
//!   a task that is still alive: a dead task's exchanges die with it);
//!   reported after the rest, in the order the exchanges began.

use super::{completed, Names};
use crate::violation::Violation;
use sessions_core::trace::CacheOut;
use sessions_core::{
    CallId, Errno, Event, ExchId, FibrilId, Iface, IpcError, Method, ObjId, PhoneId, SessId,
    TaskId, TraceLog,
};
use std::collections::{BTreeMap, BTreeSet};

/// Runs the accounting checker on `log` and returns every violation, in trace order.
pub fn check(log: &TraceLog) -> Vec<Violation> {
    check_with(log, &Names::new(log))
}

/// An exchange object.
#[derive(Default)]
struct Obj {
    cached: bool,
    /// The exchanges begun on it and not ended.
    active: BTreeSet<ExchId>,
}

/// An exchange.
struct Exch {
    obj: ObjId,
    sess: SessId,
    fibril: FibrilId,
    ends: u32,
}

pub(crate) fn check_with(log: &TraceLog, names: &Names) -> Vec<Violation> {
    let mut objs: BTreeMap<ObjId, Obj> = BTreeMap::new();
    let mut exchs: BTreeMap<ExchId, Exch> = BTreeMap::new();
    let mut begun: Vec<ExchId> = Vec::new();
    let mut reported: BTreeSet<(ObjId, ExchId)> = BTreeSet::new();
    let mut out = Vec::new();
    let mut in_use = |out: &mut Vec<Violation>, obj: ObjId, exch: ExchId, sess: SessId| {
        if reported.insert((obj, exch)) {
            out.push(Violation::CachedInUse { obj, exch, sess });
        }
    };
    // Per object: its phone. Per open session: its main phone.
    let mut obj_phone: BTreeMap<ObjId, PhoneId> = BTreeMap::new();
    let mut main_phones: BTreeMap<SessId, PhoneId> = BTreeMap::new();
    // Per fibril: its pending clone request, and how its last clone attempt ended.
    let mut cloning: BTreeMap<FibrilId, CallId> = BTreeMap::new();
    let mut clone_result: BTreeMap<FibrilId, Result<(), IpcError>> = BTreeMap::new();
    // Per session: the interface its clones were last set to ask for.
    let mut clone_iface: BTreeMap<SessId, Iface> = BTreeMap::new();
    // Per session: its task; and the tasks that died.
    let mut sess_task: BTreeMap<SessId, TaskId> = BTreeMap::new();
    let mut dead: BTreeSet<TaskId> = BTreeSet::new();
    for e in &log.events {
        match e {
            Event::TaskDeath { task, .. } => {
                dead.insert(*task);
            }
            Event::ArgsSet { sess, iface } => {
                clone_iface.insert(*sess, *iface);
            }
            Event::CloneRequest { sess, call, iface } => {
                if let Some(set) = clone_iface.get(sess).filter(|set| *set != iface) {
                    out.push(Violation::CloneArgs {
                        sess: *sess,
                        call: *call,
                        asked: names.iface(*iface),
                        set: names.iface(*set),
                    });
                }
            }
            Event::SessionOpen {
                sess, phone, task, ..
            } => {
                main_phones.insert(*sess, *phone);
                sess_task.insert(*sess, *task);
            }
            Event::SessionHangup { sess, .. } => {
                main_phones.remove(sess);
            }
            Event::Send {
                call,
                fibril,
                phone: Some(_),
                method: Method::CONNECT_ME_TO,
                ..
            } => {
                cloning.insert(*fibril, *call);
            }
            Event::SendFail {
                fibril,
                phone: Some(_),
                method: Method::CONNECT_ME_TO,
                error,
                ..
            } => {
                clone_result.insert(*fibril, Err(error.clone()));
            }
            Event::Answer { call, retval, .. } => {
                if let Some((&f, _)) = cloning.iter().find(|(_, c)| *c == call) {
                    cloning.remove(&f);
                    let r = retval.map_or(Ok(()), |e| Err(IpcError::from_errno(e)));
                    clone_result.insert(f, r);
                }
            }
            Event::ExchBegin {
                exch,
                sess,
                fibril,
                obj,
                phone,
                ..
            } => {
                obj_phone.insert(*obj, *phone);
                let o = objs.entry(*obj).or_default();
                if o.cached || !o.active.is_empty() {
                    in_use(&mut out, *obj, *exch, *sess);
                }
                o.active.insert(*exch);
                let x = Exch {
                    obj: *obj,
                    sess: *sess,
                    fibril: *fibril,
                    ends: 0,
                };
                if exchs.insert(*exch, x).is_none() {
                    begun.push(*exch);
                }
            }
            Event::ExchEnd { exch, obj, .. } => {
                let obj = match exchs.get_mut(exch) {
                    Some(x) => {
                        x.ends += 1;
                        if x.ends == 2 {
                            out.push(Violation::EndedTwice { exch: *exch });
                        }
                        x.obj
                    }
                    None => *obj,
                };
                objs.entry(obj).or_default().active.remove(exch);
            }
            Event::CacheIn { obj, sess } => {
                let o = objs.entry(*obj).or_default();
                for exch in &o.active {
                    in_use(&mut out, *obj, *exch, *sess);
                }
                o.cached = true;
            }
            Event::CacheOut { obj, sess, why } => {
                let o = objs.entry(*obj).or_default();
                if let CacheOut::Reclaim { for_sess, by } = why {
                    out.extend(o.active.iter().map(|exch| Violation::ReclaimedActive {
                        obj: *obj,
                        exch: *exch,
                    }));
                    let phone = obj_phone.get(obj).copied();
                    if let Some((owner, phone)) = main_phones
                        .iter()
                        .find(|(_, p)| Some(**p) == phone)
                        .map(|(s, p)| (*s, *p))
                    {
                        out.push(Violation::ReclaimedMainPhone {
                            obj: *obj,
                            phone,
                            owner,
                        });
                    }
                    let shortage = matches!(
                        clone_result.get(by),
                        Some(Err(IpcError::PhoneLimit | IpcError::Remote(Errno::Enomem)))
                    );
                    if !shortage {
                        out.push(Violation::NeedlessReclaim {
                            obj: *obj,
                            victim: *sess,
                            for_sess: *for_sess,
                            fibril: names.fibril(*by),
                            error: clone_result.get(by).and_then(|r| r.clone().err()),
                        });
                    }
                }
                o.cached = false;
            }
            Event::Send { tag: Some(tag), .. } => {
                let exch = tag.exch.and_then(|e| Some((e, exchs.get(&e)?)));
                if let Some((exch, x)) = exch {
                    if objs.get(&x.obj).is_some_and(|o| o.cached) {
                        in_use(&mut out, x.obj, exch, x.sess);
                    }
                }
            }
            _ => {}
        }
    }
    if completed(log) {
        for exch in begun {
            let x = &exchs[&exch];
            let died = sess_task.get(&x.sess).is_some_and(|t| dead.contains(t));
            if x.ends == 0 && !died {
                out.push(Violation::NotEnded {
                    exch,
                    fibril: names.fibril(x.fibril),
                });
            }
        }
    }
    out
}
