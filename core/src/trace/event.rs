//! The vocabulary of the trace: ghost tags, events, waits and what a finished kernel left.
//!
//! These are plain values. Ids name objects; methods are numbers that
//! [`Names`](super::Names) turns into words through the protocol of the connection they
//! travel on; errors are [`IpcError`] and [`Errno`] values, never text.

use crate::error::{Errno, IpcError};
use crate::ids::*;
use crate::method::{Iface, Method};
use crate::protocol::ProtocolInfo;
use serde::{Deserialize, Serialize};
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
    /// Its task was killed.
    Death,
}

/// Why a phone was closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhoneClose {
    /// The owner hung it up.
    Hangup,
    /// The connection it was opened for was refused or failed.
    Refused,
    /// Its task was killed.
    Death,
}

/// Who closed a server connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseBy {
    /// The client hung up and the handler saw the hangup message.
    Client,
    /// The handler returned before the client hung up.
    Server,
    /// The server task was killed.
    Death,
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
    /// A server task registered a handler for a protocol.
    Serve {
        /// The server task.
        server: TaskId,
        /// The protocol, with its method names.
        protocol: ProtocolInfo,
    },
    /// A task was killed. What the kernel does about it follows: its connections close, its
    /// phones are hung up, the phones connected to it are slammed, the calls it had queued or
    /// in progress are answered EHANGUP.
    TaskDeath {
        /// The task.
        task: TaskId,
        /// The fibril that killed it.
        by: FibrilId,
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
    /// A handler context acted as a client for the first time: the fibril just created is its
    /// own (HelenOS's connection fibril), and its sends and waits are recorded under it.
    HandlerFibril {
        /// The fibril.
        fibril: FibrilId,
        /// The connection whose handler it is.
        conn: ConnId,
        /// The path (0 unless the connection is multiplexed).
        path: PathId,
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
    /// The arguments a session's clones are made with were set (`async_sess_args_set`).
    ArgsSet {
        /// The session.
        sess: SessId,
        /// The interface clones ask for.
        iface: Iface,
    },
    /// A PARALLEL begin asked the server for a clone of its session's connection.
    CloneRequest {
        /// The session.
        sess: SessId,
        /// The `CONNECT_ME_TO` call.
        call: CallId,
        /// The interface it asks for.
        iface: Iface,
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
    /// A handler forwarded a call it received over one of its exchanges (`ipc_forward_fast`
    /// with `IPC_FF_ROUTE_FROM_ME`): the call now travels on the forwarder's phone, to the
    /// forwarder's connection on the next server, as the next step of the forwarder's
    /// operation; its answer still goes to the call's original sender.
    Forward {
        /// The call.
        call: CallId,
        /// The handler's own fibril.
        fibril: FibrilId,
        /// The connection it was received on.
        from: ConnId,
        /// The forwarder's phone it now travels on.
        phone: PhoneId,
        /// Its method from now on.
        method: Method,
        /// The forwarder's tag for it: its exchange, operation and step.
        tag: Tag,
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

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.fibril, self.op)?;
        if let Some(e) = self.exch {
            write!(f, " {e}")?;
        }
        write!(f, " step {}", self.step)
    }
}
