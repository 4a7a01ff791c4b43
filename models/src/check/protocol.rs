//! Protocol errors: a server that saw a call where its protocol wanted another (the chardev
//! server taking a foreign call as the data call) reported it; each report is a violation.

use super::Index;
use crate::violation::Violation;
use sessions_core::{Event, TraceLog};

/// Runs the protocol checker.
pub fn check(log: &TraceLog) -> Vec<Violation> {
    check_with(log, &Index::new(log))
}

pub(crate) fn check_with(log: &TraceLog, ix: &Index) -> Vec<Violation> {
    log.events
        .iter()
        .filter_map(|e| match e {
            Event::ProtocolError {
                conn,
                path,
                call,
                method,
                expected,
            } => Some(Violation::Protocol {
                conn: *conn,
                path: *path,
                call: *call,
                method: *method,
                expected: expected.clone(),
                sender: ix.sent.get(call).map(|s| ix.fibril(s.fibril)),
            }),
            _ => None,
        })
        .collect()
}
