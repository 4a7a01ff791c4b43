//! The simulated world: kernel objects, the async framework's client state and the server
//! executor, as plain data with state transitions.
//!
//! Nothing here blocks, spawns or knows the backend. Every method runs while the kernel's one
//! world lock is held; a method that must wait registers the calling fibril as parked (with the
//! [`Wait`] it waits for) and returns `Poll::Pending`, and whoever later makes progress possible
//! unparks it. The backend layer ([`crate::kernel`]) turns that into condition-variable waits.
//!
//! **Invariant:** `running` equals the number of fibrils that are neither parked nor finished;
//! when it reaches zero while some fibril is parked, the world is deadlocked.

mod client;
mod death;
mod fibril;
mod ipc;
mod server;

pub(crate) use client::{BeginSm, ConnectSm, EndSm, HangupSm};
pub(crate) use server::{lent_handler, run_one, with_handler, with_world, Incoming};

use crate::bugs::Bug;
use crate::error::Errno;
use crate::ids::*;
use crate::kernel::Engine;
use crate::method::{Iface, Method, Style};
use crate::protocol::Protocol;
use crate::server::Handler;
use crate::trace::{Event, Tag, Trace, Wait};
use crate::KernelConfig;
use std::any::Any;
use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Weak;

/// A handler context's suspended state machine.
pub(crate) type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A fibril-level mutex as HelenOS's `fibril_mutex`: FIFO hand-off to the next waiter.
#[derive(Debug, Default)]
pub(crate) struct FibrilMutex {
    pub owner: Option<FibrilId>,
    pub waiters: VecDeque<FibrilId>,
}

pub(crate) struct TaskRec {
    pub phone_limit: u32,
    pub open_phones: u32,
    /// `async_sess_mutex`.
    pub sess_mutex: FibrilMutex,
    /// `inactive_exch_list`: cached exchange objects of every session, oldest first.
    pub inactive: VecDeque<ObjId>,
    /// `avail_phone_cv` waiters, oldest first, with the session each waits for.
    pub avail_waiters: VecDeque<(FibrilId, SessId)>,
    pub server: Option<ServerRec>,
    /// The task was killed: its fibrils stop, its phones and connections are gone.
    pub dead: bool,
}

pub(crate) struct ServerRec {
    pub handlers: BTreeMap<u32, (Protocol, Handler)>,
    pub state: Option<Box<dyn Any + Send>>,
    pub ready: VecDeque<Ready>,
    /// The dispatcher fibril, when the kernel dispatches on server threads.
    pub dispatcher: Option<FibrilId>,
    /// Handler contexts waiting for the server state to change.
    pub state_waiters: Vec<(ConnId, PathId)>,
}

impl ServerRec {
    fn new() -> Self {
        ServerRec {
            handlers: BTreeMap::new(),
            state: None,
            ready: VecDeque::new(),
            dispatcher: None,
            state_waiters: Vec::new(),
        }
    }
}

/// Work for a server's executor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ready {
    /// A `CONNECT_ME_TO` to accept or refuse.
    Connect(CallId),
    /// A handler context to poll.
    Path(ConnId, PathId),
}

pub(crate) struct FibrilRec {
    pub parked: Option<Wait>,
    pub finished: bool,
    pub joiners: Vec<FibrilId>,
    /// Set for a handler context's own fibril (created when the handler first acts as a
    /// client): it has no thread, is never counted in `running`, and is resumed by making its
    /// path ready.
    pub handler: Option<(ConnId, PathId)>,
    /// The task it belongs to.
    pub task: TaskId,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PhoneState {
    /// Allocated by a `CONNECT_ME_TO` that is not answered yet.
    Connecting,
    Connected(ConnId),
    /// Hung up by its owner; the slot is free.
    HungUp,
    /// The server answered EHANGUP: sends bounce, the slot stays taken until hung up.
    Slammed,
    /// The connection it was allocated for was refused; the slot is free.
    Refused,
}

pub(crate) struct PhoneRec {
    pub task: TaskId,
    pub state: PhoneState,
    pub inflight: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PathWait {
    /// Queued for polling (or being polled).
    Running,
    /// Waiting for the next call.
    Call,
    /// Waiting for the server state to change.
    State,
    /// Its fibril is parked as a client (for an answer, a lock, a phone, a path).
    Client,
    /// The handler returned.
    Done,
}

pub(crate) struct PathRec {
    pub queue: VecDeque<CallId>,
    pub fut: Option<BoxFuture>,
    pub wait: PathWait,
    pub queued: bool,
    /// Calls the handler took and has not answered yet.
    pub held: Vec<CallId>,
    /// The end-of-path message (HANGUP or PATH_END) was seen by the handler.
    pub end_seen: Option<CallId>,
    /// What the handler waits for, for deadlock reports.
    pub what: &'static str,
    /// The handler's own fibril, once it acted as a client.
    pub fibril: Option<FibrilId>,
}

pub(crate) struct ConnRec {
    pub server: TaskId,
    pub iface: Iface,
    pub open: bool,
    pub mux: bool,
    /// Set once the client's HANGUP was queued.
    pub hangup_queued: bool,
    pub paths: BTreeMap<PathId, PathRec>,
}

pub(crate) struct Answer {
    pub retval: Option<Errno>,
    pub args: [u64; 5],
    pub data: Vec<u8>,
    pub evidence: CallId,
}

pub(crate) struct CallRec {
    pub method: Method,
    pub args: [u64; 5],
    /// Bytes of a DATA_WRITE.
    pub data: Vec<u8>,
    /// The phone it was sent on (none for a session's first `CONNECT_ME_TO`).
    pub phone: Option<PhoneId>,
    pub conn: Option<ConnId>,
    pub path: PathId,
    pub tag: Option<Tag>,
    pub sender: FibrilId,
    /// The phone a `CONNECT_ME_TO` will connect.
    pub new_phone: Option<PhoneId>,
    /// The server a `CONNECT_ME_TO` goes to.
    pub server: TaskId,
    pub answered: bool,
    pub answer: Option<Answer>,
    pub forgotten: bool,
    /// Whether the answer is owed to a client (false for HANGUP messages).
    pub expects_answer: bool,
    /// Whether the call counts against its phone's limit of unanswered calls.
    pub counted: bool,
}

pub(crate) struct SessRec {
    pub task: TaskId,
    pub iface: Iface,
    /// Arguments of `CONNECT_ME_TO` used for clones: (iface, arg2, arg3).
    pub clone_args: (Iface, u64, u64),
    pub phone: PhoneId,
    pub conn: ConnId,
    pub serial: FibrilMutex,
    /// Active exchanges (begun, not ended), including SERIALIZE waiters.
    pub exchanges: u32,
    /// Cached exchange objects, oldest first.
    pub cache: VecDeque<ObjId>,
    pub hung_up: bool,
    /// A callback session: the server's session on a phone a client offered with
    /// `CONNECT_TO_ME`.
    pub callback: bool,
    /// An exchange on the main phone (ATOMIC, SERIALIZE) was cut short: the phone is closed
    /// and nothing more is sent on the session.
    pub broken: bool,
    /// Multiplexed: path ids in use (reserved until the server confirms the path's end).
    pub paths_in_use: Vec<PathId>,
    pub path_waiters: VecDeque<FibrilId>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ObjState {
    Active(ExchId),
    Cached,
    Freed,
}

pub(crate) struct ObjRec {
    pub sess: SessId,
    pub phone: PhoneId,
    pub state: ObjState,
    pub path: PathId,
}

pub(crate) struct ExchRec {
    pub sess: SessId,
    pub obj: ObjId,
    /// An operation of the exchange was cut short: a send was refused after the operation's
    /// earlier calls reached the server. The exchange's connection is not handed on.
    pub broken: bool,
}

/// Where a client's operation sends: an exchange, or a session's main phone directly.
pub(crate) struct OpCtx {
    pub sess: Option<SessId>,
    pub exch: Option<ExchId>,
    pub phone: PhoneId,
    pub path: PathId,
    pub op: Option<OpId>,
    pub step: u32,
    /// Whether a call of the current operation reached the kernel.
    pub delivered: bool,
}

/// Every simulated object of one kernel.
pub(crate) struct World {
    pub cfg: KernelConfig,
    pub trace: Trace,
    pub tasks: Vec<TaskRec>,
    pub fibrils: Vec<FibrilRec>,
    pub phones: Vec<PhoneRec>,
    pub conns: Vec<ConnRec>,
    pub calls: Vec<CallRec>,
    pub sessions: Vec<SessRec>,
    pub objs: Vec<ObjRec>,
    pub exchs: Vec<ExchRec>,
    pub ctxs: Vec<OpCtx>,
    pub ops: u32,
    /// Fibrils unparked since the backend last notified.
    pub wake: Vec<FibrilId>,
    pub running: u32,
    pub deadlocked: bool,
    /// A fibril panicked: every other one stops at its next wait (see `Kernel::abort`).
    pub aborted: bool,
    pub shutdown: bool,
    /// The kernel that owns this world, for client handles created inside a lent poll.
    pub engine: Weak<dyn Engine>,
}

impl World {
    pub(crate) fn new(cfg: KernelConfig, trace: Trace, engine: Weak<dyn Engine>) -> Self {
        let mut w = World {
            cfg,
            trace,
            tasks: Vec::new(),
            fibrils: Vec::new(),
            phones: Vec::new(),
            conns: Vec::new(),
            calls: Vec::new(),
            sessions: Vec::new(),
            objs: Vec::new(),
            exchs: Vec::new(),
            ctxs: Vec::new(),
            ops: 0,
            wake: Vec::new(),
            running: 0,
            deadlocked: false,
            aborted: false,
            shutdown: false,
            engine,
        };
        let main_task = w.new_task("main".into(), false);
        w.new_fibril(main_task, "main".into());
        w
    }

    /// Whether injected bug `bug` is active. Without the `bugs` feature this is always false,
    /// so no bug code survives in an ordinary build.
    #[inline]
    pub(crate) fn bug(&self, bug: Bug) -> bool {
        #[cfg(feature = "bugs")]
        {
            self.cfg.bug == Some(bug)
        }
        #[cfg(not(feature = "bugs"))]
        {
            let _ = bug;
            false
        }
    }

    /// Records `event`, unless the execution already failed (deadlocked or aborted): what
    /// follows is fibrils unwinding, not part of what the trace explains.
    pub(crate) fn record(&self, event: Event) {
        if !self.deadlocked && !self.aborted {
            self.trace.record(event);
        }
    }

    pub(crate) fn new_task(&mut self, name: String, server: bool) -> TaskId {
        let id = TaskId(self.tasks.len() as u32);
        let phone_limit = self.cfg.phone_limit;
        self.record(Event::TaskNew {
            task: id,
            name,
            phone_limit,
            server,
        });
        self.tasks.push(TaskRec {
            phone_limit,
            open_phones: 0,
            sess_mutex: FibrilMutex::default(),
            inactive: VecDeque::new(),
            avail_waiters: VecDeque::new(),
            server: server.then(ServerRec::new),
            dead: false,
        });
        id
    }

    /// The server record of `task`, made a server now if it was not one.
    pub(crate) fn make_server(&mut self, task: TaskId) -> &mut ServerRec {
        self.tasks[task.index()]
            .server
            .get_or_insert_with(ServerRec::new)
    }

    pub(crate) fn server_mut(&mut self, task: TaskId) -> &mut ServerRec {
        self.tasks[task.index()]
            .server
            .as_mut()
            .expect("the task is a server")
    }

    /// The effective exchange style of a session (HelenOS: `iface & IFACE_EXCHANGE_MASK`).
    pub(crate) fn style(&self, sess: SessId) -> Style {
        self.sessions[sess.index()].iface.style()
    }
}
