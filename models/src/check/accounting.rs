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
//! - [`Violation::EndedTwice`]: a second `ExchEnd` of one exchange, reported once.
//! - [`Violation::NotEnded`]: in a [`completed`] trace, an exchange begun and never ended;
//!   reported after the rest, in the order the exchanges began.

use super::{completed, Names};
use crate::violation::Violation;
use sessions_core::trace::CacheOut;
use sessions_core::{Event, ExchId, FibrilId, ObjId, SessId, TraceLog};
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
            Event::CacheOut { obj, why, .. } => {
                let o = objs.entry(*obj).or_default();
                if let CacheOut::Reclaim { .. } = why {
                    out.extend(o.active.iter().map(|exch| Violation::ReclaimedActive {
                        obj: *obj,
                        exch: *exch,
                    }));
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
            if x.ends == 0 {
                out.push(Violation::NotEnded {
                    exch,
                    fibril: names.fibril(x.fibril),
                });
            }
        }
    }
    out
}
