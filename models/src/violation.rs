//! Violations: what the checkers find, as values that can be printed, saved and compared.

use serde::{Deserialize, Serialize};
use sessions_core::trace::DeadlockReport;
use sessions_core::{
    CallId, ConnId, ExchId, FibrilId, IpcError, Method, ObjId, OpId, PathId, PhoneId, SessId,
    TaskId,
};
use std::fmt;

/// A fibril, by id and by the name the model gave it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FibrilRef {
    /// The id.
    pub id: FibrilId,
    /// The name (`A`, `main`; for a handler's own fibril, `the handler of conn1 at relay`).
    pub name: String,
    /// Whether it is a handler context's own fibril (a server acting as a client).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub handler: bool,
}

impl fmt::Display for FibrilRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.handler {
            f.write_str(&self.name)
        } else {
            write!(f, "fibril {}", self.name)
        }
    }
}

/// One call of an operation, as a violation names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRef {
    /// The call.
    pub call: CallId,
    /// Its method.
    pub method: Method,
    /// The method's name in the protocol of the connection it was sent on.
    #[serde(default)]
    pub method_name: String,
    /// The fibril that sent it.
    pub fibril: FibrilRef,
    /// Its exchange, if any.
    pub exch: Option<ExchId>,
    /// Its operation.
    pub op: OpId,
    /// Its step in the operation.
    pub step: u32,
}

impl fmt::Display for CallRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} ({} {}",
            self.call, self.method_name, self.fibril, self.op
        )?;
        if let Some(e) = self.exch {
            write!(f, ", {e}")?;
        }
        write!(f, ", step {})", self.step)
    }
}

/// What became of a call that an interrupted operation still owed its connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "fate", rename_all = "snake_case")]
pub enum Fate {
    /// The send was refused before the call reached any server.
    Refused {
        /// The error the sender got.
        error: IpcError,
    },
    /// The call was sent but bounced off a connection that was gone.
    Bounced {
        /// The call.
        call: CallId,
    },
}

impl fmt::Display for Fate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fate::Refused { error } => write!(f, "its send was refused: {error}"),
            Fate::Bounced { call } => write!(f, "{call} bounced off the closed connection"),
        }
    }
}

/// A step of an operation that never reached its connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Missing {
    /// Its method.
    pub method: Method,
    /// The method's name in the protocol of the connection it was sent on.
    #[serde(default)]
    pub method_name: String,
    /// The fibril that sent (or tried to send) it.
    pub fibril: FibrilRef,
    /// Its exchange, if any.
    pub exch: Option<ExchId>,
    /// Its operation.
    pub op: OpId,
    /// Its step in the operation.
    pub step: u32,
    /// What became of it.
    pub fate: Fate,
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "step {} {} ({} {}",
            self.step, self.method_name, self.fibril, self.op
        )?;
        if let Some(e) = self.exch {
            write!(f, ", {e}")?;
        }
        write!(f, ")")
    }
}

/// An earlier event of a trace that explains a later failure: the "because" line of a
/// deadlock, a protocol error or a panic.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cause", rename_all = "snake_case")]
pub enum Cause {
    /// An exchange began on a connection (or path) that still owed answers to an earlier
    /// exchange: the server handles those calls first, and the new exchange's calls wait
    /// behind them.
    OwedAnswers {
        /// The exchange that began.
        exch: ExchId,
        /// Who began it.
        fibril: FibrilRef,
        /// The connection it began on.
        conn: ConnId,
        /// The earlier exchange.
        earlier: ExchId,
        /// Its calls still unanswered when the new exchange began, with their methods and
        /// the methods' names.
        calls: Vec<(CallId, Method, String)>,
    },
    /// An exchange object went back to the cache while a call its exchange had forgotten was
    /// still unanswered, and a later exchange reused it: the connection was wedged behind the
    /// forgotten call.
    WedgedByForget {
        /// The exchange object.
        obj: ObjId,
        /// The exchange that forgot the call.
        earlier: ExchId,
        /// The forgotten call.
        call: CallId,
        /// Its method.
        method: Method,
        /// The method's name in its connection's protocol.
        #[serde(default)]
        method_name: String,
        /// The connection.
        conn: ConnId,
        /// The exchange that reused the object.
        exch: ExchId,
        /// Who began it.
        fibril: FibrilRef,
    },
    /// A begin hung up another session's cached exchange to free a phone, and then failed
    /// anyway.
    ReclaimedForFailedBegin {
        /// The fibril whose begin it was.
        fibril: FibrilRef,
        /// The session it began on.
        sess: SessId,
        /// The reclaimed exchange object.
        obj: ObjId,
        /// The session that lost it.
        victim: SessId,
        /// Why the begin failed.
        error: IpcError,
    },
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::OwedAnswers {
                exch,
                fibril,
                conn,
                earlier,
                calls,
            } => {
                let calls: Vec<String> = calls.iter().map(|(c, _, m)| format!("{c} {m}")).collect();
                write!(
                    f,
                    "because {exch} of {fibril} began on {conn} while it still owed {earlier} \
                     the answers to {}: the server handles those first",
                    calls.join(", ")
                )
            }
            Cause::WedgedByForget {
                obj,
                earlier,
                call,
                method_name,
                conn,
                exch,
                fibril,
                ..
            } => write!(
                f,
                "because {obj} went back to the cache while {call} {method_name}, forgotten by \
                 {earlier}, was unanswered on {conn}, and {exch} of {fibril} reused it: the \
                 connection was wedged behind the forgotten call"
            ),
            Cause::ReclaimedForFailedBegin {
                fibril,
                sess,
                obj,
                victim,
                error,
            } => write!(
                f,
                "because the begin of {fibril} on {sess} reclaimed {obj} of {victim} (hanging \
                 up its phone) and then failed anyway: {error}"
            ),
        }
    }
}

/// What is left over after the model ended and its sessions hung up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "what", rename_all = "snake_case")]
pub enum Leak {
    /// Phones still open in a task.
    Phones {
        /// The task.
        task: TaskId,
        /// How many.
        open: u32,
    },
    /// A server connection whose handler still runs.
    Conn {
        /// The connection.
        conn: ConnId,
    },
    /// An exchange object still cached.
    Cached {
        /// The object.
        obj: ObjId,
    },
    /// A session never hung up.
    Session {
        /// The session.
        sess: SessId,
    },
}

/// The checker a violation comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Checker {
    /// Calls of one operation arrive as one contiguous run, in order.
    Mixing,
    /// Every call gets exactly one answer, and it reaches its own caller.
    Answers,
    /// Phones within limits; nothing open after the end; hangup is every connection's last
    /// message.
    Resources,
    /// Exchanges begun and ended once; cached exchanges never in use.
    Accounting,
    /// Servers saw no protocol error.
    Protocol,
    /// Some fibril could never run again.
    Deadlock,
    /// The model or the system panicked.
    Panic,
}

impl Checker {
    /// Every checker.
    pub const ALL: [Checker; 7] = [
        Checker::Mixing,
        Checker::Answers,
        Checker::Resources,
        Checker::Accounting,
        Checker::Protocol,
        Checker::Deadlock,
        Checker::Panic,
    ];

    /// Lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Checker::Mixing => "mixing",
            Checker::Answers => "answers",
            Checker::Resources => "resources",
            Checker::Accounting => "accounting",
            Checker::Protocol => "protocol",
            Checker::Deadlock => "deadlock",
            Checker::Panic => "panic",
        }
    }
}

impl fmt::Display for Checker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Checker {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Checker::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| format!("unknown checker `{s}`"))
    }
}

/// A violation of one of the harness's properties, found in one execution's trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Violation {
    /// A foreign call arrived between two calls of one operation on a connection (or path).
    Mixing {
        /// The connection.
        conn: ConnId,
        /// The path (0 unless multiplexed).
        path: PathId,
        /// The call of the interrupted operation that arrived before the intruder.
        before: CallRef,
        /// The foreign call.
        intruder: CallRef,
        /// The call of the interrupted operation that arrived after the intruder.
        after: CallRef,
    },
    /// A foreign call arrived while an operation was still owed a step at its connection (or
    /// path), and that step never arrived: it was refused or bounced, so the server was left
    /// taking whatever came next as the rest of the operation.
    Interrupted {
        /// The connection.
        conn: ConnId,
        /// The path (0 unless multiplexed).
        path: PathId,
        /// The interrupted operation's last call that arrived.
        before: CallRef,
        /// The foreign call.
        intruder: CallRef,
        /// The step that was due and never came.
        missing: Missing,
    },
    /// Calls of one operation arrived in another order than they were sent.
    OutOfOrder {
        /// The connection.
        conn: ConnId,
        /// The path.
        path: PathId,
        /// The call that arrived too early.
        call: CallRef,
        /// The step that should have come.
        expected_step: u32,
    },
    /// A virtual path carried calls of a second exchange before the server freed it.
    PathReused {
        /// The connection.
        conn: ConnId,
        /// The path.
        path: PathId,
        /// The exchange the path was opened for.
        first: ExchId,
        /// A later exchange's call that landed on the same path instance.
        intruder: CallRef,
    },
    /// A call reached another connection (or path) than the earlier calls of its operation:
    /// one operation split across two server contexts, as a forward routed to the wrong
    /// connection makes it.
    Split {
        /// The connection it reached.
        conn: ConnId,
        /// The path it reached.
        path: PathId,
        /// Where the operation's earlier calls went.
        first: (ConnId, PathId),
        /// The call.
        call: CallRef,
    },
    /// A call of a multiplexed exchange reached another path than its exchange's.
    Misrouted {
        /// The connection.
        conn: ConnId,
        /// The path it reached.
        path: PathId,
        /// The path its exchange was given.
        expected: PathId,
        /// The call.
        call: CallRef,
    },
    /// A call that expects an answer never got one.
    Unanswered {
        /// The call.
        call: CallId,
        /// Its method.
        method: Method,
        /// The method's name in its connection's protocol.
        #[serde(default)]
        method_name: String,
        /// Its sender.
        fibril: FibrilRef,
    },
    /// A call was answered more than once.
    AnsweredTwice {
        /// The call.
        call: CallId,
        /// Its method.
        method: Method,
        /// The method's name in its connection's protocol.
        #[serde(default)]
        method_name: String,
        /// How many answers it got.
        answers: u32,
    },
    /// A client received an answer that is not its own call's.
    CrossedAnswer {
        /// The call the client waited for.
        call: CallId,
        /// The fibril that received the answer.
        receiver: FibrilRef,
        /// The fibril that sent `call`.
        sender: FibrilRef,
        /// The call the answer says it answers.
        evidence: CallId,
    },
    /// A task held more phones than its table allows.
    PhoneLimit {
        /// The task.
        task: TaskId,
        /// Phones open.
        open: u32,
        /// The limit.
        limit: u32,
    },
    /// Something was left open after the model ended and its sessions hung up.
    Leak(Leak),
    /// A client-closed connection received something after its HANGUP, or never received
    /// the HANGUP.
    HangupNotLast {
        /// The connection.
        conn: ConnId,
        /// What arrived after the hangup (none: the hangup never arrived).
        after: Option<CallId>,
    },
    /// An exchange was begun and never ended.
    NotEnded {
        /// The exchange.
        exch: ExchId,
        /// Who began it.
        fibril: FibrilRef,
    },
    /// An exchange was ended more than once.
    EndedTwice {
        /// The exchange.
        exch: ExchId,
    },
    /// An exchange object was in use by an active exchange while it sat in the cache, or two
    /// active exchanges used it at once.
    CachedInUse {
        /// The object.
        obj: ObjId,
        /// The active exchange using it.
        exch: ExchId,
        /// The session.
        sess: SessId,
    },
    /// Reclaim hung up the phone of an exchange that was still active.
    ReclaimedActive {
        /// The object.
        obj: ObjId,
        /// The active exchange that lost its phone.
        exch: ExchId,
    },
    /// Reclaim hung up a phone that is still an open session's main phone (through a cached
    /// ATOMIC or SERIALIZE exchange, which wraps it): that session loses its connection.
    ReclaimedMainPhone {
        /// The reclaimed object.
        obj: ObjId,
        /// The phone.
        phone: PhoneId,
        /// The session whose main phone it is.
        owner: SessId,
    },
    /// A begin reclaimed another exchange's phone although its clone had not failed for want
    /// of a phone: reclaim frees phones, so it cannot help a clone the server refused.
    NeedlessReclaim {
        /// The reclaimed object.
        obj: ObjId,
        /// The session that lost it.
        victim: SessId,
        /// The session the begin was for.
        for_sess: SessId,
        /// The fibril whose begin reclaimed it.
        fibril: FibrilRef,
        /// How its last clone attempt failed (none: it made none).
        error: Option<IpcError>,
    },
    /// A clone request asked for another interface than its session's clones were set to
    /// (`async_sess_args_set`).
    CloneArgs {
        /// The session.
        sess: SessId,
        /// The clone's `CONNECT_ME_TO`.
        call: CallId,
        /// The interface it asked for, named.
        asked: String,
        /// The interface the session's clones were set to, named.
        set: String,
    },
    /// A server reported a protocol error.
    Protocol {
        /// The connection.
        conn: ConnId,
        /// The path.
        path: PathId,
        /// The offending call.
        call: CallId,
        /// Its method.
        method: Method,
        /// The method's name in its connection's protocol.
        #[serde(default)]
        method_name: String,
        /// What the server expected.
        expected: String,
        /// Who sent the offending call, if it carried a tag.
        sender: Option<FibrilRef>,
        /// Earlier events of the trace that led to it.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        because: Vec<Cause>,
    },
    /// No fibril could run any more.
    Deadlock {
        /// Who was blocked where.
        report: DeadlockReport,
        /// Earlier events of the trace that led to it.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        because: Vec<Cause>,
    },
    /// The model or the system panicked.
    Panic {
        /// The panic message.
        message: String,
        /// Where it panicked (`file:line:column`), when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        location: Option<String>,
        /// Earlier events of the trace that led to it.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        because: Vec<Cause>,
    },
}

impl Violation {
    /// The checker that reports this violation.
    pub fn checker(&self) -> Checker {
        match self {
            Violation::Mixing { .. }
            | Violation::Interrupted { .. }
            | Violation::OutOfOrder { .. }
            | Violation::PathReused { .. }
            | Violation::Misrouted { .. }
            | Violation::Split { .. } => Checker::Mixing,
            Violation::Unanswered { .. }
            | Violation::AnsweredTwice { .. }
            | Violation::CrossedAnswer { .. } => Checker::Answers,
            Violation::PhoneLimit { .. } | Violation::Leak(_) | Violation::HangupNotLast { .. } => {
                Checker::Resources
            }
            Violation::NotEnded { .. }
            | Violation::EndedTwice { .. }
            | Violation::CachedInUse { .. }
            | Violation::ReclaimedActive { .. }
            | Violation::ReclaimedMainPhone { .. }
            | Violation::NeedlessReclaim { .. }
            | Violation::CloneArgs { .. } => Checker::Accounting,
            Violation::Protocol { .. } => Checker::Protocol,
            Violation::Deadlock { .. } => Checker::Deadlock,
            Violation::Panic { .. } => Checker::Panic,
        }
    }

    /// The calls the violation involves, for highlighting in diagrams.
    pub fn calls(&self) -> Vec<CallId> {
        match self {
            Violation::Mixing {
                before,
                intruder,
                after,
                ..
            } => vec![before.call, intruder.call, after.call],
            Violation::Interrupted {
                before,
                intruder,
                missing,
                ..
            } => {
                let mut calls = vec![before.call, intruder.call];
                if let Fate::Bounced { call } = missing.fate {
                    calls.push(call);
                }
                calls
            }
            Violation::OutOfOrder { call, .. } => vec![call.call],
            Violation::PathReused { intruder, .. } => vec![intruder.call],
            Violation::Misrouted { call, .. } | Violation::Split { call, .. } => vec![call.call],
            Violation::Unanswered { call, .. }
            | Violation::AnsweredTwice { call, .. }
            | Violation::Protocol { call, .. } => vec![*call],
            Violation::CrossedAnswer { call, evidence, .. } => vec![*call, *evidence],
            Violation::HangupNotLast { after, .. } => after.iter().copied().collect(),
            _ => Vec::new(),
        }
    }

    /// The connection the violation happened on, if it is about one.
    pub fn conn(&self) -> Option<ConnId> {
        match self {
            Violation::Mixing { conn, .. }
            | Violation::Interrupted { conn, .. }
            | Violation::OutOfOrder { conn, .. }
            | Violation::PathReused { conn, .. }
            | Violation::Misrouted { conn, .. }
            | Violation::Split { conn, .. }
            | Violation::HangupNotLast { conn, .. }
            | Violation::Protocol { conn, .. } => Some(*conn),
            Violation::Leak(Leak::Conn { conn }) => Some(*conn),
            _ => None,
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::Mixing { conn, path, before, intruder, after } => write!(
                f,
                "[mixing] on {conn} {path}, {intruder} arrived between {before} and {after}: \
                 the server cannot tell that it belongs to another operation"
            ),
            Violation::Interrupted { conn, path, before, intruder, missing } => write!(
                f,
                "[mixing] on {conn} {path}, {intruder} arrived after {before} while {missing} \
                 was still due, and it never came ({}): the server takes the foreign call as the \
                 rest of the interrupted operation",
                missing.fate
            ),
            Violation::OutOfOrder { conn, path, call, expected_step } => write!(
                f,
                "[mixing] on {conn} {path}, {call} arrived where step {expected_step} of its operation was due"
            ),
            Violation::PathReused { conn, path, first, intruder } => write!(
                f,
                "[mixing] on {conn} {path}, {intruder} landed on the path instance opened for {first}: \
                 the path id was reused before the server freed the path"
            ),
            Violation::Split { conn, path, first: (c0, p0), call } => write!(
                f,
                "[mixing] on {conn} {path}, {call} arrived, but its operation's earlier calls went \
                 to {c0} {p0}: one operation's calls reached two server contexts"
            ),
            Violation::Misrouted { conn, path, expected, call } => write!(
                f,
                "[mixing] on {conn}, {call} reached {path} although its exchange runs on {expected}"
            ),
            Violation::Unanswered { call, method_name, fibril, .. } => {
                write!(f, "[answers] {call} {method_name} sent by {fibril} was never answered")
            }
            Violation::AnsweredTwice { call, method_name, answers, .. } => {
                write!(f, "[answers] {call} {method_name} was answered {answers} times")
            }
            Violation::CrossedAnswer { call, receiver, sender, evidence } => write!(
                f,
                "[answers] {receiver} waited for {call} (sent by {sender}) but received the answer to {evidence}"
            ),
            Violation::PhoneLimit { task, open, limit } => {
                write!(f, "[resources] {task} had {open} phones open, above its limit of {limit}")
            }
            Violation::Leak(leak) => match leak {
                Leak::Phones { task, open } => {
                    write!(f, "[resources] {task} still had {open} phones open after every session hung up")
                }
                Leak::Conn { conn } => write!(f, "[resources] server connection {conn} was still open at the end"),
                Leak::Cached { obj } => write!(f, "[resources] exchange object {obj} was still cached at the end"),
                Leak::Session { sess } => write!(f, "[resources] {sess} was never hung up"),
            },
            Violation::HangupNotLast { conn, after: Some(call) } => {
                write!(f, "[resources] {call} reached {conn} after its HANGUP message")
            }
            Violation::HangupNotLast { conn, after: None } => write!(
                f,
                "[resources] the client closed its phone to {conn} but the connection never received HANGUP"
            ),
            Violation::NotEnded { exch, fibril } => {
                write!(f, "[accounting] {exch} begun by {fibril} was never ended")
            }
            Violation::EndedTwice { exch } => write!(f, "[accounting] {exch} was ended more than once"),
            Violation::CachedInUse { obj, exch, sess } => write!(
                f,
                "[accounting] exchange object {obj} of {sess} was in the cache while {exch} was using it"
            ),
            Violation::ReclaimedActive { obj, exch } => write!(
                f,
                "[accounting] reclaim hung up the phone of {obj} while {exch} was still using it"
            ),
            Violation::ReclaimedMainPhone { obj, phone, owner } => write!(
                f,
                "[accounting] reclaim hung up {phone} through {obj}, but {phone} is the main phone of {owner}, which is still open"
            ),
            Violation::CloneArgs { sess, call, asked, set } => write!(
                f,
                "[accounting] {call}, a clone of {sess}, asked for {asked} although the session's \
                 clones were set to ask for {set}: the clone reaches another port than the one chosen"
            ),
            Violation::NeedlessReclaim { obj, victim, for_sess, fibril, error } => {
                write!(f, "[accounting] the begin of {fibril} on {for_sess} reclaimed {obj} of {victim}")?;
                match error {
                    Some(e) => write!(f, " after its clone failed with {e}")?,
                    None => write!(f, " without a failed clone")?,
                }
                f.write_str(": reclaim frees phones, it cannot help a clone that had one")
            }
            Violation::Protocol { conn, path, call, method_name, expected, sender, .. } => {
                write!(f, "[protocol] the server of {conn} {path} expected {expected} but got {call} {method_name}")?;
                match sender {
                    Some(s) => write!(f, " from {s}"),
                    None => Ok(()),
                }
            }
            Violation::Deadlock { report, .. } => write!(f, "[deadlock] {report}"),
            Violation::Panic {
                message,
                location: Some(at),
                ..
            } => write!(f, "[panic] {message} (at {at})"),
            Violation::Panic {
                message,
                location: None,
                ..
            } => write!(f, "[panic] {message}"),
        }
    }
}

impl Violation {
    /// The earlier events that explain it (its "because" lines).
    pub fn because(&self) -> &[Cause] {
        match self {
            Violation::Deadlock { because, .. }
            | Violation::Panic { because, .. }
            | Violation::Protocol { because, .. } => because,
            _ => &[],
        }
    }

    pub(crate) fn because_mut(&mut self) -> Option<&mut Vec<Cause>> {
        match self {
            Violation::Deadlock { because, .. }
            | Violation::Panic { because, .. }
            | Violation::Protocol { because, .. } => Some(because),
            _ => None,
        }
    }
}

/// Formats a list of violations as the paragraph a failing execution panics with: one line
/// per violation, each followed by its "because" lines.
pub fn report(violations: &[Violation]) -> String {
    let mut s = format!("{} violation(s):", violations.len());
    for v in violations {
        s.push_str("\n  - ");
        s.push_str(&v.to_string());
        for c in v.because() {
            s.push_str("\n    ");
            s.push_str(&c.to_string());
        }
    }
    s
}
