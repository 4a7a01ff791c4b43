//! What the checkers look up: fibril names and every call's `Send`.

use crate::violation::{CallRef, FibrilRef};
use sessions_core::{CallId, Event, FibrilId, Method, Tag, TraceLog};
use std::collections::BTreeMap;

/// A sent call, as its `Send` event recorded it.
#[derive(Clone, Copy, Debug)]
pub struct Sent {
    /// Position of the `Send` event.
    pub at: usize,
    /// The sender.
    pub fibril: FibrilId,
    /// The method.
    pub method: Method,
    /// The ghost tag.
    pub tag: Option<Tag>,
}

/// Look-ups over one trace, built once and shared by the checkers.
#[derive(Clone, Debug, Default)]
pub struct Index {
    names: BTreeMap<FibrilId, String>,
    /// Every sent call.
    pub sent: BTreeMap<CallId, Sent>,
}

impl Index {
    /// Indexes `log`.
    pub fn new(log: &TraceLog) -> Self {
        let mut ix = Index::default();
        for (at, e) in log.events.iter().enumerate() {
            match e {
                Event::FibrilNew { fibril, name, .. } => {
                    ix.names.insert(*fibril, name.clone());
                }
                Event::Send {
                    call,
                    fibril,
                    method,
                    tag,
                    ..
                } => {
                    ix.sent.insert(
                        *call,
                        Sent {
                            at,
                            fibril: *fibril,
                            method: *method,
                            tag: *tag,
                        },
                    );
                }
                _ => {}
            }
        }
        ix
    }

    /// Fibril `id` with its name.
    pub fn fibril(&self, id: FibrilId) -> FibrilRef {
        FibrilRef {
            id,
            name: self
                .names
                .get(&id)
                .cloned()
                .unwrap_or_else(|| id.to_string()),
        }
    }

    /// Call `call` with its method and tag, if it was sent with a tag.
    pub fn call(&self, call: CallId, method: Method, tag: Tag) -> CallRef {
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
