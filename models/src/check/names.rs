//! Who is who in a trace: fibril names from `FibrilNew`, and every call's `Send`, for naming
//! fibrils and calls in violations.

use crate::violation::{CallRef, FibrilRef};
use sessions_core::{CallId, Event, FibrilId, Method, Tag, TraceLog};
use std::collections::BTreeMap;

/// A call as its `Send` event recorded it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sent {
    /// The sender.
    pub fibril: FibrilId,
    /// The method.
    pub method: Method,
    /// The ghost tag, if the call carried one.
    pub tag: Option<Tag>,
}

/// Fibril names and sent calls of one trace, built once and shared by the checkers.
#[derive(Clone, Debug, Default)]
pub(crate) struct Names {
    fibrils: BTreeMap<FibrilId, String>,
    sent: BTreeMap<CallId, Sent>,
}

impl Names {
    /// Collects the names and sends of `log`.
    pub fn new(log: &TraceLog) -> Self {
        let mut n = Names::default();
        for e in &log.events {
            match e {
                Event::FibrilNew { fibril, name, .. } => {
                    n.fibrils.insert(*fibril, name.clone());
                }
                Event::Send {
                    call,
                    fibril,
                    method,
                    tag,
                    ..
                } => {
                    let sent = Sent {
                        fibril: *fibril,
                        method: *method,
                        tag: *tag,
                    };
                    n.sent.insert(*call, sent);
                }
                _ => {}
            }
        }
        n
    }

    /// The `Send` of `call`, if the trace has one.
    pub fn sent(&self, call: CallId) -> Option<&Sent> {
        self.sent.get(&call)
    }

    /// Every sent call, in call-id order (the order calls were sent in).
    pub fn sends(&self) -> impl Iterator<Item = (CallId, &Sent)> {
        self.sent.iter().map(|(c, s)| (*c, s))
    }

    /// Fibril `id` with its name (its id when the trace never named it).
    pub fn fibril(&self, id: FibrilId) -> FibrilRef {
        let name = self.fibrils.get(&id).cloned();
        FibrilRef {
            id,
            name: name.unwrap_or_else(|| id.to_string()),
        }
    }

    /// Call `call` of method `method`, named by its tag.
    pub fn call(&self, call: CallId, method: Method, tag: &Tag) -> CallRef {
        CallRef {
            call,
            method,
            fibril: self.fibril(tag.fibril),
            exch: tag.exch,
            op: tag.op,
            step: tag.step,
        }
    }
}
