//! Answers: every call that expects an answer gets exactly one, and the client that takes it is
//! the one that sent the call, with the answer's own evidence naming that call.

use super::{completed, Index};
use crate::violation::Violation;
use sessions_core::{CallId, Event, Method, TraceLog};
use std::collections::BTreeMap;

/// Runs the answers checker.
pub fn check(log: &TraceLog) -> Vec<Violation> {
    check_with(log, &Index::new(log))
}

pub(crate) fn check_with(log: &TraceLog, ix: &Index) -> Vec<Violation> {
    let mut answers: BTreeMap<CallId, u32> = BTreeMap::new();
    let mut receives: BTreeMap<CallId, u32> = BTreeMap::new();
    let mut out = Vec::new();
    for e in &log.events {
        match e {
            Event::Answer { call, .. } => *answers.entry(*call).or_default() += 1,
            Event::Receive {
                call,
                fibril,
                evidence,
                ..
            } => {
                *receives.entry(*call).or_default() += 1;
                let sender = ix.sent.get(call).map(|s| s.fibril);
                if sender != Some(*fibril) || evidence != call {
                    out.push(Violation::CrossedAnswer {
                        call: *call,
                        receiver: ix.fibril(*fibril),
                        sender: ix.fibril(sender.unwrap_or(*fibril)),
                        evidence: *evidence,
                    });
                }
            }
            _ => {}
        }
    }
    let done = completed(log);
    for (call, sent) in &ix.sent {
        if sent.method == Method::HANGUP {
            continue;
        }
        let n = answers.get(call).copied().unwrap_or(0);
        let taken = receives.get(call).copied().unwrap_or(0);
        if n == 0 && done {
            out.push(Violation::Unanswered {
                call: *call,
                method: sent.method,
                fibril: ix.fibril(sent.fibril),
            });
        } else if n > 1 || taken > 1 {
            out.push(Violation::AnsweredTwice {
                call: *call,
                method: sent.method,
                answers: n.max(taken),
            });
        }
    }
    out
}
