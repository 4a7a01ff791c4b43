//! Checkers: pure functions over one execution's trace, each returning every violation found,
//! in the order the trace reveals them.
//!
//! They read only the trace: the order events happened in (recorded under the kernel's one
//! lock) and the ghost tags calls carry. End-state checks (unanswered calls, leaks, exchanges
//! never ended) apply only to [`completed`] traces: a deadlocked or aborted execution is
//! reported as such, not as the pile of consequences that follows from it.
//!
//! - [`mixing`]: the calls of one operation reach the server as one contiguous run, in send
//!   order; a virtual path carries one exchange at a time, and only its own exchange's calls.
//! - [`answers`]: every call gets exactly one answer, and its own sender takes it.
//! - [`resources`]: phone tables stay within their limits, nothing is left open at the end,
//!   and HANGUP is every client-closed connection's last message.
//! - [`accounting`]: every exchange ends exactly once, and an exchange object is never used
//!   while cached, by two exchanges at once, or reclaimed while in use.
//! - [`protocol`]: every protocol error a server reported.
//! - deadlock: the kernel's report of an execution where no fibril could run any more.
//! - [`because`]: not a checker but an explainer: the earlier events behind a deadlock, a
//!   protocol error or a panic.

pub mod accounting;
pub mod answers;
pub mod because;
pub mod mixing;
mod names;
pub mod protocol;
pub mod resources;

pub(crate) use names::Names;

use crate::violation::Violation;
use sessions_core::{Event, TraceLog};

/// Whether the execution ran to its end: the kernel recorded its final state
/// ([`Event::Finish`]) and nothing deadlocked.
pub fn completed(log: &TraceLog) -> bool {
    log.deadlock.is_none() && log.events.iter().any(|e| matches!(e, Event::Finish(_)))
}

/// Runs every checker on `log`, in the order mixing, answers, resources, accounting,
/// protocol, deadlock, and returns all their violations in that order, each deadlock and
/// protocol error with the earlier events that explain it ([`because`]).
pub fn check(log: &TraceLog) -> Vec<Violation> {
    checked(log, None)
}

/// [`check`] on the trace of an execution that panicked with `message` (at `location`): the
/// checkers' violations come first, as the likely reason for the panic, and the panic last.
pub fn check_panicked(log: &TraceLog, message: String, location: Option<String>) -> Vec<Violation> {
    checked(
        log,
        Some(Violation::Panic {
            message,
            location,
            because: Vec::new(),
        }),
    )
}

fn checked(log: &TraceLog, panic: Option<Violation>) -> Vec<Violation> {
    let names = Names::new(log);
    let mut v = mixing::check_with(log, &names);
    v.extend(answers::check_with(log, &names));
    v.extend(resources::check(log));
    v.extend(accounting::check_with(log, &names));
    v.extend(protocol::check_with(log, &names));
    v.extend(log.deadlock.iter().map(|report| Violation::Deadlock {
        report: report.clone(),
        because: Vec::new(),
    }));
    v.extend(panic);
    because::explain(log, &names, &mut v);
    v
}
