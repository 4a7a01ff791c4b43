//! The server executor: connection (and virtual path) handlers as state machines.
//!
//! A handler is an `async fn` over [`crate::server::Conn`]; its future is the connection
//! fibril's suspended state. The executor polls it where work appears: in the sending client's
//! own critical section (inline dispatch) or on the server's dispatcher thread. While a handler
//! is polled, the world is lent to it through a thread-local slot, so handler code reaches the
//! kernel without taking any lock; the poll never blocks, so no other thread can observe the
//! slot's state.

use super::{BoxFuture, PathRec, PathWait, Ready, World};
use crate::error::Errno;
use crate::ids::*;
use crate::method::{Iface, Method};
use crate::server::Conn;
use crate::trace::{AnsweredBy, CloseBy, Event};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::task::{Context, Poll, Waker};

std::thread_local! {
    static CURRENT: RefCell<Option<Box<World>>> = const { RefCell::new(None) };
    static HANDLER: Cell<Option<(ConnId, PathId)>> = const { Cell::new(None) };
}

/// The handler context (connection and path) being polled, if the calling thread is inside
/// a handler's poll.
pub(crate) fn lent_handler() -> Option<(ConnId, PathId)> {
    HANDLER.with(|a| a.get())
}

/// Runs `f` on the world lent to the poll in progress.
///
/// # Panics
/// When called outside a handler poll: the server API is only for handler code.
pub(crate) fn with_world<R>(f: impl FnOnce(&mut World) -> R) -> R {
    CURRENT.with(|c| {
        let mut slot = c.borrow_mut();
        let w = slot
            .as_mut()
            .expect("the server API is only usable inside a connection handler");
        f(w)
    })
}

/// Runs `f` on the lent world as the polled handler's own fibril (created the first time the
/// handler acts as a client).
pub(crate) fn with_handler<R>(f: impl FnOnce(&mut World, FibrilId) -> R) -> R {
    let (conn, path) = lent_handler().expect("a handler is being polled");
    with_world(|w| {
        let me = w.handler_fibril(conn, path);
        f(w, me)
    })
}

/// Gives the world back to the lock's slot even if the poll panics.
struct Lend<'a> {
    slot: &'a mut Option<Box<World>>,
}

impl Drop for Lend<'_> {
    fn drop(&mut self) {
        *self.slot = CURRENT.with(|c| c.borrow_mut().take());
        HANDLER.with(|a| a.set(None));
    }
}

/// Lends the world in `slot` to `f`, the poll of the handler of `(conn, path)`: while it
/// runs, the world is reachable only through [`with_world`], and the kernel's lock (held by the
/// caller) is not taken again. A poll never blocks, so no other thread can observe the slot.
fn lend<R>(slot: &mut Option<Box<World>>, handler: (ConnId, PathId), f: impl FnOnce() -> R) -> R {
    let world = slot.take().expect("the world is in its slot");
    let lend = Lend { slot };
    CURRENT.with(|c| *c.borrow_mut() = Some(world));
    HANDLER.with(|a| a.set(Some(handler)));
    let r = f();
    drop(lend);
    r
}

/// Runs one piece of ready work of `server` (of any server when `None`). Returns whether
/// there was any.
pub(crate) fn run_one(slot: &mut Option<Box<World>>, server: Option<TaskId>) -> bool {
    let w = slot.as_mut().expect("the world is in its slot");
    let item = match server {
        Some(s) => w.server_mut(s).ready.pop_front(),
        None => w
            .tasks
            .iter_mut()
            .filter_map(|t| t.server.as_mut())
            .find_map(|s| s.ready.pop_front()),
    };
    let (conn, path) = match item {
        None => return false,
        Some(Ready::Connect(call)) => {
            w.accept(call);
            return true;
        }
        Some(Ready::Path(conn, path)) => (conn, path),
    };
    let Some(p) = w.conns[conn.index()].paths.get_mut(&path) else {
        return true;
    };
    p.queued = false;
    let Some(mut fut) = p.fut.take() else {
        return true;
    };
    let result = lend(slot, (conn, path), || {
        fut.as_mut().poll(&mut Context::from_waker(Waker::noop()))
    });
    let w = slot.as_mut().expect("the world came back");
    match result {
        Poll::Ready(()) => w.path_done(conn, path),
        Poll::Pending => {
            let p = w.conns[conn.index()]
                .paths
                .get_mut(&path)
                .expect("a suspended path exists");
            p.fut = Some(fut);
            if p.wait == PathWait::Running {
                // The handler awaited something that is not the server API: nothing will ever
                // wake it. Treat it as waiting for a state change, the closest honest guess.
                p.wait = PathWait::State;
                p.what = "a future outside the server API";
                let server = w.conns[conn.index()].server;
                w.server_mut(server).state_waiters.push((conn, path));
            }
        }
    }
    true
}

/// What a handler's next message is.
pub(crate) enum Incoming {
    Call(CallId),
    End,
}

impl World {
    /// Wakes the dispatcher thread of `server`, if it has one.
    pub(crate) fn kick(&mut self, server: TaskId) {
        if let Some(d) = self.server_mut(server).dispatcher {
            self.unpark(d);
        }
    }

    /// Whether `server` has handler work queued.
    pub(crate) fn has_ready(&self, server: TaskId) -> bool {
        self.tasks[server.index()]
            .server
            .as_ref()
            .is_some_and(|s| !s.ready.is_empty())
    }

    fn new_path(&mut self, conn: ConnId, path: PathId) {
        let c = &self.conns[conn.index()];
        let (server, iface) = (c.server, c.iface);
        let handler = self.tasks[server.index()]
            .server
            .as_ref()
            .and_then(|s| s.handlers.get(&iface.protocol()))
            .map(|(_, h)| h.clone())
            .expect("a connection exists only for a registered interface");
        let fut: BoxFuture = handler(Conn::new(server, conn, path, iface));
        self.conns[conn.index()].paths.insert(
            path,
            PathRec {
                queue: VecDeque::new(),
                fut: Some(fut),
                wait: PathWait::Call,
                queued: false,
                held: Vec::new(),
                end_seen: None,
                what: "its first call",
                fibril: None,
            },
        );
        self.make_ready(conn, path);
    }

    /// Opens a virtual path on a multiplexed connection for its first call.
    pub(crate) fn open_path(&mut self, conn: ConnId, path: PathId) {
        self.record(Event::PathOpen { conn, path });
        self.new_path(conn, path);
    }

    /// Accepts or refuses a `CONNECT_ME_TO`.
    fn accept(&mut self, call: CallId) {
        let c = &self.calls[call.index()];
        let (iface, server, client_phone) = (Iface(c.args[0] as u32), c.server, c.new_phone);
        let known = self.tasks[server.index()]
            .server
            .as_ref()
            .and_then(|s| s.handlers.get(&iface.protocol()))
            .is_some_and(|(p, _)| p.accepts(iface.style()));
        let Some(phone) = client_phone.filter(|_| known) else {
            self.refuse_connect(call, Errno::Enoent);
            return;
        };
        if self.phones[phone.index()].state != super::PhoneState::Connecting {
            // The client died while it waited: its phone is gone already.
            self.answer_hangup(call);
            return;
        }
        let client = self.phones[phone.index()].task;
        let conn = self.open_conn(server, client, phone, call, iface);
        self.calls[call.index()].conn = Some(conn);
        self.answer(
            call,
            None,
            [0, 0, 0, 0, phone.0 as u64],
            Vec::new(),
            AnsweredBy::Server,
        );
    }

    /// A new connection at `server` for `client`'s `phone`, made by `call`, with its first
    /// handler context unless it is multiplexed.
    pub(crate) fn open_conn(
        &mut self,
        server: TaskId,
        client: TaskId,
        phone: PhoneId,
        call: CallId,
        iface: Iface,
    ) -> ConnId {
        let conn = ConnId(self.conns.len() as u32);
        let mux = iface.style() == crate::Style::Multiplexed;
        self.conns.push(super::ConnRec {
            server,
            iface,
            open: true,
            mux,
            hangup_queued: false,
            paths: Default::default(),
        });
        self.phones[phone.index()].state = super::PhoneState::Connected(conn);
        self.record(Event::ConnOpen {
            conn,
            call,
            server,
            client,
            phone,
            iface,
        });
        if !mux {
            self.new_path(conn, PathId::CONN);
        }
        conn
    }

    /// Queues `call` for the handler of `path`.
    pub(crate) fn enqueue(&mut self, conn: ConnId, path: PathId, call: CallId) {
        let Some(p) = self.conns[conn.index()].paths.get_mut(&path) else {
            return;
        };
        if p.wait == PathWait::Done {
            return;
        }
        p.queue.push_back(call);
        if p.wait == PathWait::Call {
            self.make_ready(conn, path);
        }
    }

    pub(crate) fn make_ready(&mut self, conn: ConnId, path: PathId) {
        let server = self.conns[conn.index()].server;
        let Some(p) = self.conns[conn.index()].paths.get_mut(&path) else {
            return;
        };
        if p.queued || p.wait == PathWait::Done {
            return;
        }
        p.queued = true;
        p.wait = PathWait::Running;
        self.trace.set_server_wait(conn, path, None);
        self.server_mut(server)
            .ready
            .push_back(Ready::Path(conn, path));
        self.kick(server);
    }

    /// The handler's next message, or `None` (and the handler registered as waiting for one).
    pub(crate) fn path_next(&mut self, conn: ConnId, path: PathId) -> Option<Incoming> {
        let calls = &self.calls;
        let p = self.conns[conn.index()]
            .paths
            .get_mut(&path)
            .expect("a polled path exists");
        if p.end_seen.is_some() {
            return Some(Incoming::End);
        }
        let Some(&call) = p.queue.front() else {
            p.wait = PathWait::Call;
            p.what = "the next call";
            self.trace
                .set_server_wait(conn, path, Some("the next call".into()));
            return None;
        };
        p.queue.pop_front();
        if matches!(
            calls[call.index()].method,
            Method::HANGUP | Method::PATH_END
        ) {
            p.end_seen = Some(call);
            return Some(Incoming::End);
        }
        p.held.push(call);
        Some(Incoming::Call(call))
    }

    /// Registers a handler as waiting for its server's state to change.
    pub(crate) fn wait_state(&mut self, conn: ConnId, path: PathId, what: &'static str) {
        let server = self.conns[conn.index()].server;
        let p = self.conns[conn.index()]
            .paths
            .get_mut(&path)
            .expect("a polled path exists");
        p.wait = PathWait::State;
        p.what = what;
        self.trace.set_server_wait(conn, path, Some(what.into()));
        self.server_mut(server).state_waiters.push((conn, path));
    }

    /// The server state changed: every handler waiting on it re-checks.
    pub(crate) fn state_changed(&mut self, server: TaskId) {
        let waiters = std::mem::take(&mut self.server_mut(server).state_waiters);
        for (conn, path) in waiters {
            self.make_ready(conn, path);
        }
    }

    /// A handler answered `call`: it is no longer held.
    pub(crate) fn release_held(&mut self, conn: ConnId, path: PathId, call: CallId) {
        if let Some(p) = self.conns[conn.index()].paths.get_mut(&path) {
            p.held.retain(|c| *c != call);
        }
    }

    /// A call reached a path whose handler already returned.
    pub(crate) fn path_leftover(&mut self, conn: ConnId, path: PathId, call: CallId) {
        match self.calls[call.index()].method {
            Method::HANGUP => {}
            Method::PATH_END => {
                self.conns[conn.index()].paths.remove(&path);
                self.record(Event::PathClose { conn, path });
                self.answer(call, None, [0; 5], Vec::new(), AnsweredBy::Kernel);
                self.close_conn_if_done(conn);
            }
            _ => self.answer_hangup(call),
        }
    }

    /// A handler returned: everything it still held or had queued is answered EHANGUP, and
    /// its connection (or path) goes away.
    fn path_done(&mut self, conn: ConnId, path: PathId) {
        let p = self.conns[conn.index()]
            .paths
            .get_mut(&path)
            .expect("a finished path exists");
        p.wait = PathWait::Done;
        p.fut = None;
        if let Some(f) = p.fibril {
            self.fibrils[f.index()].finished = true;
            self.record(Event::FibrilExit {
                fibril: f,
                panicked: false,
            });
        }
        let p = self.conns[conn.index()]
            .paths
            .get_mut(&path)
            .expect("a finished path exists");
        let held = std::mem::take(&mut p.held);
        let queue = std::mem::take(&mut p.queue);
        let end = p.end_seen;
        self.trace.set_server_wait(conn, path, None);
        let mux = self.conns[conn.index()].mux;
        if !mux {
            // The connection goes first, so the EHANGUP answers below slam the client's phone.
            self.conns[conn.index()].open = false;
            let by = if end.is_some() {
                CloseBy::Client
            } else {
                CloseBy::Server
            };
            self.record(Event::ConnClose { conn, by });
        }
        for call in held {
            self.answer_hangup(call);
        }
        for call in queue {
            self.path_leftover(conn, path, call);
        }
        if !mux {
            return;
        }
        match end.map(|c| self.calls[c.index()].method) {
            Some(Method::PATH_END) => {
                let end = end.expect("matched above");
                self.conns[conn.index()].paths.remove(&path);
                self.record(Event::PathClose { conn, path });
                self.answer(end, None, [0; 5], Vec::new(), AnsweredBy::Kernel);
            }
            Some(_) => {
                self.conns[conn.index()].paths.remove(&path);
                self.record(Event::PathClose { conn, path });
            }
            // The handler returned on its own: the path stays reserved until its PATH_END.
            None => {}
        }
        self.close_conn_if_done(conn);
    }

    /// Closes a multiplexed connection once its client hung up and every path is done.
    pub(crate) fn close_conn_if_done(&mut self, conn: ConnId) {
        let c = &mut self.conns[conn.index()];
        if !c.open || !c.hangup_queued || c.paths.values().any(|p| p.wait != PathWait::Done) {
            return;
        }
        c.open = false;
        let paths: Vec<PathId> = std::mem::take(&mut c.paths).into_keys().collect();
        for path in paths {
            self.record(Event::PathClose { conn, path });
        }
        self.record(Event::ConnClose {
            conn,
            by: CloseBy::Client,
        });
    }
}
