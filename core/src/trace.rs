//! Ghost tags and the trace: what clients did and what servers saw, recorded for checkers.
//!
//! Server logic never reads any of this. Every event is recorded while the world lock is held
//! (inside a critical section that exists anyway), into [`Ghost`] storage that model checkers
//! do not schedule, so a run with tracing explores exactly the executions a run without it
//! does. The table of blocked fibrils is kept the same way so that a deadlock can be explained
//! in protocol terms after loom or shuttle has stopped the execution.

use crate::error::{Errno, IpcError};
use crate::ids::*;
use crate::method::{Iface, Method};
use crate::sync::{Arc, Ghost};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// The ghost tag every call carries: who sent it, in which session, exchange and operation,
/// and its position in that operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    /// The client fibril that sent the call.
    pub fibril: FibrilId,
    /// The session, if the call was sent through one.
    pub sess: Option<SessId>,
    /// The exchange, if the call was sent inside one (the naive client sends outside any).
    pub exch: Option<ExchId>,
    /// The operation the call belongs to.
    pub op: OpId,
    /// The call's position in its operation, from 0.
    pub step: u32,
}

/// How an exchange got its phone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BeginHow {
    /// Reused the oldest cached exchange of the session (no IPC).
    Reused,
    /// A new wrapper of the session phone (ATOMIC, SERIALIZE; no IPC).
    Wrapper,
    /// A new phone cloned with `CONNECT_ME_TO` (PARALLEL).
    Cloned,
    /// A virtual path on the session phone (MULTIPLEXED).
    Path(PathId),
}

/// Why an exchange object left the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CacheOut {
    /// Taken by a new exchange of its session.
    Reuse,
    /// Hung up to free a phone for a clone of `for_sess`.
    Reclaim {
        /// The session whose begin needed the phone.
        for_sess: SessId,
        /// The fibril whose begin it was.
        by: FibrilId,
    },
    /// Its session hung up.
    Hangup,
}

/// Why a phone was closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhoneClose {
    /// The owner hung it up.
    Hangup,
    /// The connection it was opened for was refused or failed.
    Refused,
}

/// Who closed a server connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseBy {
    /// The client hung up and the handler saw the hangup message.
    Client,
    /// The handler returned before the client hung up.
    Server,
}

/// Who produced an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnsweredBy {
    /// The server's handler.
    Server,
    /// The kernel or the server framework, on the handler's behalf (refused connections,
    /// leftovers of a closed connection, calls to a connection that is gone).
    Kernel,
}

/// One recorded event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "ev", rename_all = "snake_case")]
pub enum Event {
    /// A task was created.
    TaskNew {
        /// The task.
        task: TaskId,
        /// Its name.
        name: String,
        /// The size of its phone table.
        phone_limit: u32,
        /// Whether it serves interfaces.
        server: bool,
    },
    /// A fibril was created.
    FibrilNew {
        /// The fibril.
        fibril: FibrilId,
        /// Its task.
        task: TaskId,
        /// Its name.
        name: String,
    },
    /// A fibril finished.
    FibrilExit {
        /// The fibril.
        fibril: FibrilId,
        /// Whether it ended by panicking.
        panicked: bool,
    },
    /// A phone was allocated in a task's table.
    PhoneOpen {
        /// The owner.
        task: TaskId,
        /// The phone.
        phone: PhoneId,
        /// Phones open in the task afterwards.
        open: u32,
    },
    /// A phone left a task's table.
    PhoneClose {
        /// The owner.
        task: TaskId,
        /// The phone.
        phone: PhoneId,
        /// Phones open in the task afterwards.
        open: u32,
        /// Why.
        why: PhoneClose,
    },
    /// The server accepted a connection.
    ConnOpen {
        /// The connection.
        conn: ConnId,
        /// The `CONNECT_ME_TO` call it answers.
        call: CallId,
        /// The server task.
        server: TaskId,
        /// The client task.
        client: TaskId,
        /// The client's phone for it.
        phone: PhoneId,
        /// The interface it serves.
        iface: Iface,
    },
    /// A server connection ended: no call reaches its handler any more.
    ConnClose {
        /// The connection.
        conn: ConnId,
        /// Who ended it.
        by: CloseBy,
    },
    /// A session was created.
    SessionOpen {
        /// The session.
        sess: SessId,
        /// The client task.
        task: TaskId,
        /// Its interface (and so its style).
        iface: Iface,
        /// Its main phone.
        phone: PhoneId,
        /// The connection behind the main phone.
        conn: ConnId,
    },
    /// A session was hung up.
    SessionHangup {
        /// The session.
        sess: SessId,
        /// The fibril that hung it up.
        fibril: FibrilId,
    },
    /// An exchange began.
    ExchBegin {
        /// The exchange.
        exch: ExchId,
        /// Its session.
        sess: SessId,
        /// The fibril that began it.
        fibril: FibrilId,
        /// The exchange object it uses.
        obj: ObjId,
        /// The phone its calls go through.
        phone: PhoneId,
        /// How it got that phone.
        how: BeginHow,
    },
    /// An exchange could not begin.
    BeginFail {
        /// The fibril.
        fibril: FibrilId,
        /// The session.
        sess: SessId,
        /// The error it got.
        error: IpcError,
    },
    /// An exchange ended.
    ExchEnd {
        /// The exchange.
        exch: ExchId,
        /// Its object.
        obj: ObjId,
        /// The fibril that ended it.
        fibril: FibrilId,
    },
    /// An operation of an exchange was cut short: one of its sends was refused after its
    /// earlier calls had reached the server. The framework closes the connection it ran on
    /// (a PARALLEL clone, or the main phone of an ATOMIC or SERIALIZE session, which is then
    /// broken) so that the next operation's calls are not taken as the rest of this one.
    ExchBroken {
        /// The exchange.
        exch: ExchId,
        /// Its session.
        sess: SessId,
        /// The operation that was cut short.
        op: OpId,
        /// The fibril whose send was refused.
        fibril: FibrilId,
    },
    /// An exchange object entered its session's cache and the task's inactive list.
    CacheIn {
        /// The object.
        obj: ObjId,
        /// Its session.
        sess: SessId,
    },
    /// An exchange object left the cache.
    CacheOut {
        /// The object.
        obj: ObjId,
        /// Its session.
        sess: SessId,
        /// Why.
        why: CacheOut,
    },
    /// A PARALLEL begin found no phone and waits for an exchange to end.
    WaitPhone {
        /// The waiting fibril.
        fibril: FibrilId,
        /// Its session.
        sess: SessId,
    },
    /// A fibril waits for a fibril mutex: `async_sess_mutex` or a SERIALIZE session's lock.
    LockWait {
        /// The waiting fibril.
        fibril: FibrilId,
        /// Which lock, and who holds it.
        wait: Wait,
    },
    /// A multiplexed begin found every path id in use and waits for one.
    WaitPath {
        /// The waiting fibril.
        fibril: FibrilId,
        /// Its session.
        sess: SessId,
    },
    /// A hangup was refused (the session has active exchanges, or is gone already).
    HangupFail {
        /// The session.
        sess: SessId,
        /// The fibril.
        fibril: FibrilId,
        /// The error it got.
        error: IpcError,
    },
    /// A virtual path was opened on a multiplexed connection.
    PathOpen {
        /// The connection.
        conn: ConnId,
        /// The path.
        path: PathId,
    },
    /// The server freed a virtual path's state.
    PathClose {
        /// The connection.
        conn: ConnId,
        /// The path.
        path: PathId,
    },
    /// A client stub started an operation.
    OpStart {
        /// The operation.
        op: OpId,
        /// The fibril running it.
        fibril: FibrilId,
        /// The stub's name for it (`chardev.read`).
        name: String,
        /// Its session, if any.
        sess: Option<SessId>,
        /// Its exchange, if any.
        exch: Option<ExchId>,
    },
    /// A client sent a call.
    Send {
        /// The call.
        call: CallId,
        /// The sender.
        fibril: FibrilId,
        /// The phone it went through (none for a session's first `CONNECT_ME_TO`, which goes
        /// through the naming service).
        phone: Option<PhoneId>,
        /// The method.
        method: Method,
        /// Its ghost tag (absent for framework calls such as a clone's `CONNECT_ME_TO`).
        tag: Option<Tag>,
    },
    /// A send was refused before reaching any server.
    SendFail {
        /// The sender.
        fibril: FibrilId,
        /// The phone (none for a session's first `CONNECT_ME_TO`).
        phone: Option<PhoneId>,
        /// The method.
        method: Method,
        /// Its ghost tag.
        tag: Option<Tag>,
        /// The error the sender got.
        error: IpcError,
    },
    /// A call reached a server connection's queue: the order the server sees.
    Arrive {
        /// The connection.
        conn: ConnId,
        /// The virtual path (0 unless multiplexed).
        path: PathId,
        /// The call.
        call: CallId,
        /// The method.
        method: Method,
        /// The call's ghost tag.
        tag: Option<Tag>,
    },
    /// A call reached a connection that is gone and was answered EHANGUP.
    Bounce {
        /// The connection.
        conn: ConnId,
        /// The call.
        call: CallId,
        /// The method.
        method: Method,
    },
    /// A call was answered.
    Answer {
        /// The call.
        call: CallId,
        /// The connection that answered (absent when the kernel refused the call).
        conn: Option<ConnId>,
        /// The return value (`None` is EOK).
        retval: Option<Errno>,
        /// The call the answer says it answers (the answer's own evidence).
        evidence: CallId,
        /// Who answered.
        by: AnsweredBy,
    },
    /// A client took an answer.
    Receive {
        /// The call the client waited for.
        call: CallId,
        /// The fibril that waited.
        fibril: FibrilId,
        /// The return value (`None` is EOK).
        retval: Option<Errno>,
        /// The call the received answer says it answers.
        evidence: CallId,
    },
    /// A client gave up waiting for a call's answer.
    Forget {
        /// The call.
        call: CallId,
        /// The fibril.
        fibril: FibrilId,
    },
    /// A server reported a protocol error.
    ProtocolError {
        /// The connection.
        conn: ConnId,
        /// The path.
        path: PathId,
        /// The offending call.
        call: CallId,
        /// Its method.
        method: Method,
        /// What the server expected instead.
        expected: String,
    },
    /// The state the kernel was left in when the model finished.
    Finish(Finish),
}

/// What remained when the model finished and its sessions were hung up.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finish {
    /// Open phones per task, for tasks with any.
    pub open_phones: Vec<(TaskId, u32)>,
    /// Server connections whose handler still runs.
    pub open_conns: Vec<ConnId>,
    /// Exchange objects still cached.
    pub cached: Vec<ObjId>,
    /// Sessions never hung up.
    pub open_sessions: Vec<SessId>,
    /// Calls never answered.
    pub unanswered: Vec<CallId>,
}

/// What a blocked fibril waits for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "wait", rename_all = "snake_case")]
pub enum Wait {
    /// The answer to a call.
    Answer {
        /// The call.
        call: CallId,
        /// Its method.
        method: Method,
        /// Its connection, if it reached one.
        conn: Option<ConnId>,
    },
    /// A SERIALIZE session's exchange lock.
    SerialLock {
        /// The session.
        sess: SessId,
        /// The fibril holding it.
        holder: Option<FibrilId>,
    },
    /// The task's async-framework mutex (`async_sess_mutex`).
    AsyncMutex {
        /// The task.
        task: TaskId,
        /// The fibril holding it.
        holder: Option<FibrilId>,
    },
    /// A phone for a PARALLEL clone (`avail_phone_cv`).
    AvailPhone {
        /// The session.
        sess: SessId,
    },
    /// A free virtual path id of a multiplexed session.
    PathSlot {
        /// The session.
        sess: SessId,
    },
    /// Another fibril to finish.
    Join {
        /// The fibril.
        fibril: FibrilId,
    },
    /// Work for a server dispatcher thread.
    ServerIdle {
        /// The server task.
        server: TaskId,
    },
}

/// A server-side handler context that is suspended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerWait {
    /// The connection.
    pub conn: ConnId,
    /// The path.
    pub path: PathId,
    /// What it waits for (`the next call`, `chardev data`).
    pub what: String,
}

/// Who was blocked where when no fibril could run any more.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlockReport {
    /// Every blocked fibril, its name, and what it waited for.
    pub fibrils: Vec<(FibrilId, String, Wait)>,
    /// Every suspended server handler.
    pub server: Vec<ServerWait>,
    /// Names of every fibril, for explaining who holds what.
    #[serde(default)]
    pub names: Vec<(FibrilId, String)>,
    /// Fibrils the kernel woke whose threads never ran again: their notification was lost.
    /// (The kernel counts them as running, so only the backend, or a stall, finds these.)
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub woken: Vec<(FibrilId, String)>,
    /// Set when the report is of an execution on std threads that made no progress for this
    /// many seconds, rather than of one in which no fibril could run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stalled_secs: Option<u64>,
}

/// Whether events are recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TraceLevel {
    /// Record nothing but the table of blocked fibrils.
    Off,
    /// Record every event.
    #[default]
    Full,
    /// Record every event and also print it to standard error as it happens.
    Log,
}

/// The recorded events of one execution and, if it deadlocked, the report.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceLog {
    /// Events in the order they happened.
    pub events: Vec<Event>,
    /// Set when the execution deadlocked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadlock: Option<DeadlockReport>,
}

#[derive(Debug, Default)]
struct Buf {
    level: TraceLevel,
    events: Vec<Event>,
    names: BTreeMap<FibrilId, String>,
    waits: BTreeMap<FibrilId, Wait>,
    /// Fibrils unparked whose threads have not run since.
    woken: std::collections::BTreeSet<FibrilId>,
    server_waits: BTreeMap<(ConnId, PathId), String>,
    deadlock: Option<DeadlockReport>,
}

/// A handle on one execution's trace. Cloning shares it.
#[derive(Clone, Debug, Default)]
pub struct Trace {
    buf: Arc<Ghost<Buf>>,
}

impl Trace {
    /// An empty trace recording at `level`.
    pub fn new(level: TraceLevel) -> Self {
        Trace {
            buf: Arc::new(Ghost::new(Buf {
                level,
                ..Buf::default()
            })),
        }
    }

    /// The recording level.
    pub fn level(&self) -> TraceLevel {
        self.buf.with(|b| b.level)
    }

    /// Records `event`.
    pub(crate) fn record(&self, event: Event) {
        self.buf.with(|b| {
            if let Event::FibrilNew { fibril, name, .. } = &event {
                b.names.insert(*fibril, name.clone());
            }
            match b.level {
                TraceLevel::Off => {}
                TraceLevel::Full => b.events.push(event),
                TraceLevel::Log => {
                    eprintln!("[sessions] {event}");
                    b.events.push(event);
                }
            }
        })
    }

    /// `fibril` parks waiting for `wait`, or (`None`) stops waiting without being woken.
    pub(crate) fn set_wait(&self, fibril: FibrilId, wait: Option<Wait>) {
        self.buf.with(|b| {
            b.woken.remove(&fibril);
            match wait {
                Some(w) => b.waits.insert(fibril, w),
                None => b.waits.remove(&fibril),
            };
        })
    }

    /// `fibril` was unparked: it no longer waits, and its thread is to run again.
    pub(crate) fn set_woken(&self, fibril: FibrilId) {
        self.buf.with(|b| {
            b.waits.remove(&fibril);
            b.woken.insert(fibril);
        })
    }

    /// `fibril`'s thread ran again after a wake-up.
    pub(crate) fn set_resumed(&self, fibril: FibrilId) {
        self.buf.with(|b| {
            b.woken.remove(&fibril);
        })
    }

    pub(crate) fn set_server_wait(&self, conn: ConnId, path: PathId, what: Option<String>) {
        self.buf.with(|b| match what {
            Some(w) => {
                b.server_waits.insert((conn, path), w);
            }
            None => {
                b.server_waits.remove(&(conn, path));
            }
        })
    }

    /// Freezes the current table of blocked fibrils as the deadlock report, once.
    pub fn note_deadlock(&self) -> DeadlockReport {
        self.note(None)
    }

    /// Freezes the current table of blocked fibrils as the report of an execution on std
    /// threads that made no progress for `seconds`, once.
    pub fn note_stall(&self, seconds: u64) -> DeadlockReport {
        self.note(Some(seconds))
    }

    fn note(&self, stalled_secs: Option<u64>) -> DeadlockReport {
        self.buf.with(|b| {
            let name = |f: &FibrilId| b.names.get(f).cloned().unwrap_or_else(|| f.to_string());
            if b.deadlock.is_none() {
                b.deadlock = Some(DeadlockReport {
                    fibrils: b
                        .waits
                        .iter()
                        .map(|(f, w)| (*f, name(f), w.clone()))
                        .collect(),
                    server: b
                        .server_waits
                        .iter()
                        .map(|((conn, path), what)| ServerWait {
                            conn: *conn,
                            path: *path,
                            what: what.clone(),
                        })
                        .collect(),
                    names: b.names.iter().map(|(f, n)| (*f, n.clone())).collect(),
                    woken: b.woken.iter().map(|f| (*f, name(f))).collect(),
                    stalled_secs,
                });
            }
            b.deadlock.clone().unwrap_or_default()
        })
    }

    /// Who waits for what right now: every parked fibril and its wait (ghost state, for
    /// harnesses and tests; server logic never reads it).
    pub fn waits(&self) -> Vec<(FibrilId, Wait)> {
        self.buf
            .with(|b| b.waits.iter().map(|(f, w)| (*f, w.clone())).collect())
    }

    /// A copy of everything recorded so far.
    pub fn snapshot(&self) -> TraceLog {
        self.buf.with(|b| TraceLog {
            events: b.events.clone(),
            deadlock: b.deadlock.clone(),
        })
    }

    /// Number of events recorded so far.
    pub fn len(&self) -> usize {
        self.buf.with(|b| b.events.len())
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn retval(r: &Option<Errno>) -> &'static str {
    r.map(Errno::name).unwrap_or("EOK")
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.fibril, self.op)?;
        if let Some(e) = self.exch {
            write!(f, " {e}")?;
        }
        write!(f, " step {}", self.step)
    }
}

impl fmt::Display for Wait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Wait::Answer {
                call,
                method,
                conn: Some(conn),
            } => {
                write!(f, "waits for the answer to {call} ({method}) on {conn}")
            }
            Wait::Answer {
                call,
                method,
                conn: None,
            } => {
                write!(f, "waits for the answer to {call} ({method})")
            }
            Wait::SerialLock {
                sess,
                holder: Some(h),
            } => {
                write!(
                    f,
                    "waits for the exchange lock of SERIALIZE {sess}, held by {h}"
                )
            }
            Wait::SerialLock { sess, holder: None } => {
                write!(f, "waits for the exchange lock of SERIALIZE {sess}")
            }
            Wait::AsyncMutex { task, holder } => {
                write!(f, "waits for the async-framework mutex of {task}")?;
                match holder {
                    Some(h) => write!(f, ", held by {h}"),
                    None => Ok(()),
                }
            }
            Wait::AvailPhone { sess } => write!(f, "waits for a phone to clone for {sess}"),
            Wait::PathSlot { sess } => write!(f, "waits for a free virtual path of {sess}"),
            Wait::Join { fibril } => write!(f, "waits for {fibril} to finish"),
            Wait::ServerIdle { server } => write!(f, "dispatcher of {server} waits for work"),
        }
    }
}

impl DeadlockReport {
    /// The name of fibril `f`, if known.
    pub fn name(&self, f: FibrilId) -> Option<&str> {
        self.names
            .iter()
            .find(|(id, _)| *id == f)
            .map(|(_, n)| n.as_str())
    }

    /// What `wait` means, with fibrils named.
    pub fn explain(&self, wait: &Wait) -> String {
        let text = wait.to_string();
        let holder = match wait {
            Wait::SerialLock {
                holder: Some(h), ..
            }
            | Wait::AsyncMutex {
                holder: Some(h), ..
            } => Some(*h),
            Wait::Join { fibril } => Some(*fibril),
            _ => None,
        };
        match holder.and_then(|h| Some((h, self.name(h)?))) {
            Some((h, name)) => text.replace(&h.to_string(), &format!("fibril {name}")),
            None => text,
        }
    }
}

impl fmt::Display for DeadlockReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.stalled_secs {
            Some(s) => write!(f, "no progress for {s} s on std threads:")?,
            None => write!(f, "no fibril can run:")?,
        }
        for (_, name, wait) in &self.fibrils {
            write!(f, " fibril {name} {};", self.explain(wait))?;
        }
        for (_, name) in &self.woken {
            write!(
                f,
                " fibril {name} was woken but its thread never ran again (a lost notification);"
            )?;
        }
        for w in &self.server {
            write!(
                f,
                " the handler of {} {} waits for {};",
                w.conn, w.path, w.what
            )?;
        }
        Ok(())
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::TaskNew {
                task,
                name,
                phone_limit,
                server,
            } => {
                let kind = if *server { "server" } else { "client" };
                write!(f, "{task} `{name}` created ({kind}, {phone_limit} phones)")
            }
            Event::FibrilNew { fibril, task, name } => {
                write!(f, "{fibril} `{name}` created in {task}")
            }
            Event::FibrilExit { fibril, panicked } => {
                write!(
                    f,
                    "{fibril} finished{}",
                    if *panicked { " by panicking" } else { "" }
                )
            }
            Event::PhoneOpen { task, phone, open } => {
                write!(f, "{task} opened {phone} ({open} open)")
            }
            Event::PhoneClose {
                task,
                phone,
                open,
                why,
            } => {
                write!(f, "{task} closed {phone} ({why:?}, {open} open)")
            }
            Event::ConnOpen {
                conn,
                server,
                client,
                phone,
                iface,
                ..
            } => {
                write!(f, "{server} accepted {conn} for {client} {phone} ({iface})")
            }
            Event::ConnClose { conn, by } => write!(f, "{conn} closed by {by:?}"),
            Event::SessionOpen {
                sess,
                task,
                iface,
                phone,
                conn,
            } => {
                write!(f, "{task} opened {sess} ({iface}) on {phone} -> {conn}")
            }
            Event::SessionHangup { sess, fibril } => write!(f, "{fibril} hung up {sess}"),
            Event::ExchBegin {
                exch,
                sess,
                fibril,
                obj,
                phone,
                how,
            } => {
                write!(
                    f,
                    "{fibril} began {exch} on {sess} with {obj} {phone} ({how:?})"
                )
            }
            Event::ExchEnd { exch, obj, fibril } => write!(f, "{fibril} ended {exch} ({obj})"),
            Event::ExchBroken {
                exch,
                sess,
                op,
                fibril,
            } => write!(
                f,
                "{fibril} cut {op} of {exch} on {sess} short: its connection carries nothing more"
            ),
            Event::CacheIn { obj, sess } => write!(f, "{obj} of {sess} cached"),
            Event::CacheOut { obj, sess, why } => {
                write!(f, "{obj} of {sess} left the cache ({why:?})")
            }
            Event::WaitPhone { fibril, sess } => write!(f, "{fibril} waits for a phone for {sess}"),
            Event::LockWait { fibril, wait } => write!(f, "{fibril} {wait}"),
            Event::PathOpen { conn, path } => write!(f, "{conn} opened {path}"),
            Event::PathClose { conn, path } => write!(f, "{conn} freed {path}"),
            Event::OpStart {
                op, fibril, name, ..
            } => write!(f, "{fibril} started {op} `{name}`"),
            Event::Send {
                call,
                fibril,
                phone,
                method,
                tag,
            } => {
                write!(f, "{fibril} sent {call} {method}")?;
                if let Some(p) = phone {
                    write!(f, " on {p}")?;
                }
                match tag {
                    Some(t) => write!(f, " [{t}]"),
                    None => Ok(()),
                }
            }
            Event::SendFail {
                fibril,
                method,
                error,
                ..
            } => write!(f, "{fibril} could not send {method}: {error}"),
            Event::WaitPath { fibril, sess } => {
                write!(f, "{fibril} waits for a free path of {sess}")
            }
            Event::HangupFail {
                sess,
                fibril,
                error,
            } => write!(f, "{fibril} could not hang up {sess}: {error}"),
            Event::BeginFail {
                fibril,
                sess,
                error,
            } => {
                write!(f, "{fibril} could not begin an exchange on {sess}: {error}")
            }
            Event::Arrive {
                conn,
                path,
                call,
                method,
                ..
            } => {
                write!(f, "{conn} {path} received {call} {method}")
            }
            Event::Bounce { conn, call, method } => {
                write!(f, "{call} {method} bounced off closed {conn}")
            }
            Event::Answer {
                call,
                retval: r,
                evidence,
                by,
                ..
            } => {
                write!(
                    f,
                    "{call} answered {} by {by:?} (evidence {evidence})",
                    retval(r)
                )
            }
            Event::Receive {
                call,
                fibril,
                retval: r,
                evidence,
            } => {
                write!(
                    f,
                    "{fibril} received the answer to {call}: {} (evidence {evidence})",
                    retval(r)
                )
            }
            Event::Forget { call, fibril } => write!(f, "{fibril} forgot {call}"),
            Event::ProtocolError {
                conn,
                path,
                call,
                method,
                expected,
            } => {
                write!(
                    f,
                    "protocol error on {conn} {path}: got {call} {method}, expected {expected}"
                )
            }
            Event::Finish(fin) => write!(f, "finished: {fin:?}"),
        }
    }
}
