//! Answers: every call gets exactly one answer, and the client that takes it is the one that
//! sent the call.
//!
//! - [`Violation::CrossedAnswer`]: a `Receive` by another fibril than the call's sender, or
//!   whose evidence names another call. (A receive of a call the trace never sent names the
//!   sender `unknown sender`.)
//! - [`Violation::AnsweredTwice`]: a sent call answered, or received, more than once; reported once,
//!   where the second answer or receive happened, with the highest count.
//! - [`Violation::Unanswered`]: in a [`completed`] trace, a sent call other
//!   than HANGUP (which is never answered) with no answer; reported after the rest, in send
//!   order.

use super::{completed, Names};
use crate::violation::{FibrilRef, Violation};
use sessions_core::{CallId, Event, FibrilId, Method, TraceLog};
use std::collections::BTreeMap;

/// Runs the answers checker on `log` and returns every violation, in trace order.
pub fn check(log: &TraceLog) -> Vec<Violation> {
    check_with(log, &Names::new(log))
}

#[derive(Default)]
struct Count {
    answers: u32,
    receives: u32,
    /// Where its `AnsweredTwice` sits in the output, once reported.
    reported: Option<usize>,
}

pub(crate) fn check_with(log: &TraceLog, names: &Names) -> Vec<Violation> {
    let mut counts: BTreeMap<CallId, Count> = BTreeMap::new();
    let mut out = Vec::new();
    for e in &log.events {
        let call = match e {
            Event::Answer { call, .. } => {
                counts.entry(*call).or_default().answers += 1;
                *call
            }
            Event::Receive {
                call,
                fibril,
                evidence,
                ..
            } => {
                counts.entry(*call).or_default().receives += 1;
                let sender = names.sent(*call).map(|s| s.fibril);
                if sender != Some(*fibril) || evidence != call {
                    out.push(Violation::CrossedAnswer {
                        call: *call,
                        receiver: names.fibril(*fibril),
                        sender: sender.map_or_else(unknown_sender, |f| names.fibril(f)),
                        evidence: *evidence,
                    });
                }
                *call
            }
            _ => continue,
        };
        let c = counts.entry(call).or_default();
        let n = c.answers.max(c.receives);
        match (n > 1, c.reported, names.sent(call)) {
            (true, Some(i), _) => {
                if let Violation::AnsweredTwice { answers, .. } = &mut out[i] {
                    *answers = n;
                }
            }
            (true, None, Some(sent)) => {
                c.reported = Some(out.len());
                out.push(Violation::AnsweredTwice {
                    call,
                    method: sent.method,
                    method_name: names.method(call, sent.method),
                    answers: n,
                });
            }
            _ => {}
        }
    }
    if completed(log) {
        for (call, sent) in names.sends() {
            let answered = counts.get(&call).is_some_and(|c| c.answers > 0);
            if sent.method != Method::HANGUP && !answered {
                out.push(Violation::Unanswered {
                    call,
                    method: sent.method,
                    method_name: names.method(call, sent.method),
                    fibril: names.fibril(sent.fibril),
                });
            }
        }
    }
    out
}

/// The sender named for a call the trace never sent.
fn unknown_sender() -> FibrilRef {
    FibrilRef {
        id: FibrilId(u32::MAX),
        name: "unknown sender".into(),
        handler: false,
    }
}
