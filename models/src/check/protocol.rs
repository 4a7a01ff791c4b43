//! Protocol errors: each `ProtocolError` a server reported (the chardev server taking a
//! foreign call as its data call, say) is a [`Violation::Protocol`], naming the fibril whose
//! tag the offending call carried.

use super::Names;
use crate::violation::Violation;
use sessions_core::{Event, TraceLog};

/// Runs the protocol checker on `log` and returns every violation, in trace order.
pub fn check(log: &TraceLog) -> Vec<Violation> {
    check_with(log, &Names::new(log))
}

pub(crate) fn check_with(log: &TraceLog, names: &Names) -> Vec<Violation> {
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
                method_name: names.method_at(*conn, *method),
                expected: expected.clone(),
                sender: names
                    .sent(*call)
                    .and_then(|s| s.tag)
                    .map(|t| names.fibril(t.fibril)),
                because: Vec::new(),
            }),
            _ => None,
        })
        .collect()
}
