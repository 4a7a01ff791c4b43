//! Checkers: pure functions over one execution's trace, each returning every violation found.
//!
//! They read only the trace: the order events happened in (recorded under the kernel's one
//! lock) and the ghost tags calls carry. End-state checks (unanswered calls, leaks, exchanges
//! never ended) apply only to [`completed`] traces: a deadlocked execution is reported as a
//! deadlock, not as the pile of consequences that follows from it.

pub mod accounting;
pub mod answers;
mod index;
pub mod mixing;
pub mod protocol;
pub mod resources;

pub use index::Index;

use crate::violation::Violation;
use sessions_core::{Event, TraceLog};

/// Whether the execution ran to its end: the kernel recorded what was left open and nothing
/// deadlocked.
pub fn completed(log: &TraceLog) -> bool {
    log.deadlock.is_none() && log.events.iter().any(|e| matches!(e, Event::Finish(_)))
}

/// Runs every checker on `log`: mixing, answers, resources, accounting, protocol, deadlock.
pub fn check(log: &TraceLog) -> Vec<Violation> {
    let index = Index::new(log);
    let mut v = mixing::check_with(log, &index);
    v.extend(answers::check_with(log, &index));
    v.extend(resources::check_with(log, &index));
    v.extend(accounting::check_with(log, &index));
    v.extend(protocol::check_with(log, &index));
    if let Some(report) = &log.deadlock {
        v.push(Violation::Deadlock {
            report: report.clone(),
        });
    }
    v
}
