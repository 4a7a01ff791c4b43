//! Accounting: every begun exchange ends exactly once; an exchange object is used by at most one
//! active exchange and never while it sits in the cache; reclaim never takes an active one.

use super::{completed, Index};
use crate::violation::Violation;
use sessions_core::trace::CacheOut;
use sessions_core::{Event, ExchId, FibrilId, ObjId, SessId, TraceLog};
use std::collections::{BTreeMap, BTreeSet};

/// Runs the accounting checker.
pub fn check(log: &TraceLog) -> Vec<Violation> {
    check_with(log, &Index::new(log))
}

#[derive(Default)]
struct Obj {
    cached: bool,
    active: Option<ExchId>,
}

struct Exch {
    obj: ObjId,
    sess: SessId,
    fibril: FibrilId,
    ends: u32,
}

pub(crate) fn check_with(log: &TraceLog, ix: &Index) -> Vec<Violation> {
    let mut objs: BTreeMap<ObjId, Obj> = BTreeMap::new();
    let mut exchs: BTreeMap<ExchId, Exch> = BTreeMap::new();
    let mut reported: BTreeSet<(ObjId, ExchId)> = BTreeSet::new();
    let mut out = Vec::new();
    let mut in_use = |out: &mut Vec<Violation>, obj: ObjId, exch: ExchId, sess: SessId| {
        if reported.insert((obj, exch)) {
            out.push(Violation::CachedInUse { obj, exch, sess });
        }
    };
    for e in &log.events {
        match e {
            Event::ExchBegin {
                exch,
                sess,
                fibril,
                obj,
                ..
            } => {
                let o = objs.entry(*obj).or_default();
                if o.cached {
                    in_use(&mut out, *obj, *exch, *sess);
                }
                if let Some(other) = o.active {
                    in_use(&mut out, *obj, other, *sess);
                }
                o.active = Some(*exch);
                exchs.insert(
                    *exch,
                    Exch {
                        obj: *obj,
                        sess: *sess,
                        fibril: *fibril,
                        ends: 0,
                    },
                );
            }
            Event::ExchEnd { exch, obj, .. } => {
                if let Some(x) = exchs.get_mut(exch) {
                    x.ends += 1;
                    if x.ends == 2 {
                        out.push(Violation::EndedTwice { exch: *exch });
                    }
                }
                let o = objs.entry(*obj).or_default();
                if o.active == Some(*exch) {
                    o.active = None;
                }
            }
            Event::CacheIn { obj, sess } => {
                let o = objs.entry(*obj).or_default();
                if let Some(active) = o.active {
                    in_use(&mut out, *obj, active, *sess);
                }
                o.cached = true;
            }
            Event::CacheOut { obj, why, .. } => {
                let o = objs.entry(*obj).or_default();
                if let (CacheOut::Reclaim { .. }, Some(active)) = (why, o.active) {
                    out.push(Violation::ReclaimedActive {
                        obj: *obj,
                        exch: active,
                    });
                }
                o.cached = false;
            }
            Event::Send { tag: Some(tag), .. } => {
                if let Some(x) = tag.exch.and_then(|e| exchs.get(&e).map(|x| (e, x))) {
                    let (exch, x) = x;
                    if objs.get(&x.obj).is_some_and(|o| o.cached) {
                        in_use(&mut out, x.obj, exch, x.sess);
                    }
                }
            }
            _ => {}
        }
    }
    if completed(log) {
        for (exch, x) in &exchs {
            if x.ends == 0 {
                out.push(Violation::NotEnded {
                    exch: *exch,
                    fibril: ix.fibril(x.fibril),
                });
            }
        }
    }
    out
}
