//! Who is who in a trace: the trace's own [`trace::Names`] (fibrils, protocols, connections)
//! and every call's `Send`, for naming fibrils, calls and methods in violations.

use crate::violation::{CallRef, FibrilRef};
use sessions_core::trace;
use sessions_core::{CallId, ConnId, Event, FibrilId, Method, PhoneId, Tag, TraceLog};
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
    /// The phone it went through.
    pub phone: Option<PhoneId>,
}

/// Names and sent calls of one trace, built once and shared by the checkers.
#[derive(Clone, Debug, Default)]
pub(crate) struct Names {
    known: trace::Names,
    sent: BTreeMap<CallId, Sent>,
    /// The forwarder's tag of each forwarded call, as of its last forward.
    forwarded: BTreeMap<CallId, Tag>,
}

impl Names {
    /// Collects the names and sends of `log`.
    pub fn new(log: &TraceLog) -> Self {
        let mut n = Names {
            known: trace::Names::from_events(&log.events),
            sent: BTreeMap::new(),
            forwarded: BTreeMap::new(),
        };
        for e in &log.events {
            match e {
                Event::Send {
                    call,
                    fibril,
                    method,
                    tag,
                    phone,
                } => {
                    let sent = Sent {
                        fibril: *fibril,
                        method: *method,
                        tag: *tag,
                        phone: *phone,
                    };
                    n.sent.insert(*call, sent);
                }
                Event::Forward { call, tag, .. } => {
                    n.forwarded.insert(*call, *tag);
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

    /// The tag `call` travels with now: its forwarder's, if it was forwarded, else its
    /// sender's.
    pub fn tag_of(&self, call: CallId) -> Option<Tag> {
        self.forwarded
            .get(&call)
            .copied()
            .or_else(|| self.sent(call).and_then(|s| s.tag))
    }

    /// Every sent call, in call-id order (the order calls were sent in).
    pub fn sends(&self) -> impl Iterator<Item = (CallId, &Sent)> {
        self.sent.iter().map(|(c, s)| (*c, s))
    }

    /// Fibril `id` with its name (its id when the trace never named it).
    pub fn fibril(&self, id: FibrilId) -> FibrilRef {
        match self.known.handlers.get(&id) {
            Some((conn, path)) => FibrilRef {
                id,
                name: self.known.handler(*conn, *path),
                handler: true,
            },
            None => FibrilRef {
                id,
                name: self.known.fibril(id),
                handler: false,
            },
        }
    }

    /// The name of `method` as `call` carried it: through the protocol of the connection it
    /// was sent to.
    pub fn method(&self, call: CallId, method: Method) -> String {
        let phone = self.sent(call).and_then(|s| s.phone);
        self.known.method_on(phone, method)
    }

    /// Interface `iface` with its protocol named.
    pub fn iface(&self, iface: sessions_core::Iface) -> String {
        self.known.iface(iface)
    }

    /// The name of `method` on connection `conn`.
    pub fn method_at(&self, conn: ConnId, method: Method) -> String {
        self.known.method(Some(conn), method)
    }

    /// Call `call` of method `method`, named by its tag.
    pub fn call(&self, call: CallId, method: Method, tag: &Tag) -> CallRef {
        CallRef {
            call,
            method,
            method_name: self.method(call, method),
            fibril: self.fibril(tag.fibril),
            exch: tag.exch,
            op: tag.op,
            step: tag.step,
        }
    }
}
