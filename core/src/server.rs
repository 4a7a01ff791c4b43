//! The server side of the async framework: interfaces, connection handlers, calls.
//!
//! A server registers one handler per protocol. Each connection (and, on a multiplexed
//! connection, each virtual path) gets its own handler context, an `async fn` over a [`Conn`]
//! that receives its calls in order, exactly like a HelenOS connection fibril:
//!
//! ```
//! use sessions_core::server::Conn;
//! use sessions_core::Errno;
//!
//! async fn echo(mut conn: Conn) {
//!     while let Some(call) = conn.get_call().await {
//!         let x = call.arg(0);
//!         call.answer(&[x]);
//!     }
//!     // `None`: the client hung up; returning closes the connection.
//! }
//! ```
//!
//! Handler contexts are state machines run by the server's executor, not threads, so a model
//! with many connections still fits loom's thread limit. They may wait only on what this module
//! offers (the next call, a data transfer, a change of the server's state).

use crate::client::Ipc;
use crate::error::Errno;
use crate::ids::{CallId, ConnId, PathId, TaskId};
use crate::method::{Iface, Method};
use crate::protocol::Protocol;
use crate::sync::Arc;
use crate::trace::{AnsweredBy, Event};
use crate::world::{with_handler, with_world, Incoming, World};
use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A registered connection handler.
pub type Handler = Arc<dyn Fn(Conn) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// What a server task serves: handlers per protocol and the server's state.
#[derive(Default)]
pub struct ServerBuilder {
    pub(crate) handlers: BTreeMap<u32, (Protocol, Handler)>,
    pub(crate) state: Option<Box<dyn Any + Send>>,
}

impl fmt::Debug for ServerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerBuilder")
            .field(
                "protocols",
                &self
                    .handlers
                    .values()
                    .map(|(p, _)| p.name)
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl ServerBuilder {
    /// An empty server.
    pub fn new() -> Self {
        Self::default()
    }

    /// Serves `protocol` with `handler`: in the style the protocol fixes, or, if it fixes
    /// none, in whatever style the client picks. The trace names the methods of calls on its
    /// connections by `protocol`.
    pub fn serve<F, Fut>(mut self, protocol: &Protocol, handler: F) -> Self
    where
        F: Fn(Conn) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handler: Handler = Arc::new(move |conn| Box::pin(handler(conn)));
        self.handlers.insert(protocol.id, (*protocol, handler));
        self
    }

    /// The server's state, shared by all its handler contexts through [`Conn::with_state`].
    pub fn state<S: Any + Send>(mut self, state: S) -> Self {
        self.state = Some(Box::new(state));
        self
    }
}

/// A server task, for clients to connect to. It can be cloned into a handler, which then
/// connects to it with [`crate::Session::connect_async`].
#[derive(Clone)]
pub struct ServerRef {
    pub(crate) task: TaskId,
    pub(crate) engine: std::sync::Weak<dyn crate::kernel::Engine>,
}

impl fmt::Debug for ServerRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServerRef({})", self.task)
    }
}

impl PartialEq for ServerRef {
    fn eq(&self, other: &Self) -> bool {
        self.task == other.task && std::sync::Weak::ptr_eq(&self.engine, &other.engine)
    }
}

impl Eq for ServerRef {}

impl ServerRef {
    /// The server's task.
    pub fn task(&self) -> TaskId {
        self.task
    }
}

/// A handler's view of its connection (or virtual path).
#[derive(Debug)]
pub struct Conn {
    server: TaskId,
    conn: ConnId,
    path: PathId,
    iface: Iface,
}

/// A call a handler received. Answer it with [`Call::answer`] or [`Call::answer_err`]; one
/// left unanswered when the handler returns is answered EHANGUP.
#[must_use = "a call must be answered"]
#[derive(Debug)]
pub struct Call {
    conn: ConnId,
    path: PathId,
    id: CallId,
    method: Method,
    args: [u64; 5],
}

impl Call {
    /// The call's id.
    pub fn id(&self) -> CallId {
        self.id
    }

    /// Its method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// Argument `i` (0 to 4).
    pub fn arg(&self, i: usize) -> u64 {
        self.args.get(i).copied().unwrap_or(0)
    }

    fn reply(self, retval: Option<Errno>, args: &[u64], data: Vec<u8>) {
        let mut a = [0u64; 5];
        for (slot, v) in a.iter_mut().zip(args) {
            *slot = *v;
        }
        with_world(|w| {
            w.release_held(self.conn, self.path, self.id);
            w.answer(self.id, retval, a, data, AnsweredBy::Server);
        });
    }

    /// Forwards the call over `exch` as `method(args)` (`async_forward_fast` with
    /// `IPC_FF_ROUTE_FROM_ME`): it arrives at this server's own connection on the next server,
    /// as the next call of the exchange, so it lands in the same handler context as the
    /// exchange's earlier calls; its answer goes straight to the call's original sender, and
    /// this handler no longer holds it. If the send is refused (a dead phone, the call
    /// limit), the call comes back with the error, for the handler to answer.
    pub fn forward(
        self,
        exch: &crate::Exchange,
        method: Method,
        args: &[u64],
    ) -> Result<(), Refused<Call>> {
        let mut a = [0u64; 5];
        for (slot, v) in a.iter_mut().zip(args) {
            *slot = *v;
        }
        let (ctx, op) = exch.port().next();
        match with_handler(|w, me| w.ctx_forward(me, ctx, op, self.id, method, a)) {
            Ok(()) => Ok(()),
            Err(error) => Err(Refused { item: self, error }),
        }
    }

    /// Answers EOK with `args`.
    pub fn answer(self, args: &[u64]) {
        self.reply(None, args, Vec::new())
    }

    /// Answers with an error.
    pub fn answer_err(self, errno: Errno) {
        self.reply(Some(errno), &[], Vec::new())
    }
}

/// A received `IPC_M_DATA_READ`: the client waits for up to [`DataRead::size`] bytes.
#[derive(Debug)]
pub struct DataRead {
    call: Call,
    size: usize,
}

impl DataRead {
    /// How many bytes the client's buffer takes.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Moves `data` (at most `size` bytes of it) into the client's buffer and answers EOK
    /// (`async_data_read_finalize`).
    pub fn finalize(self, data: &[u8]) {
        let n = data.len().min(self.size);
        self.call.reply(None, &[n as u64], data[..n].to_vec())
    }

    /// Refuses the transfer.
    pub fn fail(self, errno: Errno) {
        self.call.answer_err(errno)
    }

    /// Forwards the data read over `exch` (`async_data_read_forward_fast`): the next
    /// server's handler receives it on this server's connection and moves the bytes straight
    /// into the original client's buffer.
    pub fn forward(self, exch: &crate::Exchange) -> Result<(), Refused<DataRead>> {
        let size = self.size;
        self.call
            .forward(exch, Method::DATA_READ, &[size as u64])
            .map_err(|r| Refused {
                item: DataRead { call: r.item, size },
                error: r.error,
            })
    }
}

/// Something a handler tried to forward, handed back because the send was refused.
#[derive(Debug)]
pub struct Refused<T> {
    /// What was not forwarded: the handler still holds it and must answer it.
    pub item: T,
    /// Why the send was refused.
    pub error: crate::IpcError,
}

/// A received `IPC_M_DATA_WRITE`.
#[derive(Debug)]
pub struct DataWrite {
    call: Call,
    data: Vec<u8>,
}

impl DataWrite {
    /// How many bytes the client offers.
    pub fn size(&self) -> usize {
        self.data.len()
    }

    /// Takes the client's bytes and answers EOK (`async_data_write_finalize`).
    pub fn finalize(self) -> Vec<u8> {
        let DataWrite { call, data } = self;
        call.reply(None, &[data.len() as u64], Vec::new());
        data
    }

    /// Refuses the transfer.
    pub fn fail(self, errno: Errno) {
        self.call.answer_err(errno)
    }

    /// Forwards the data write over `exch` (`async_data_write_forward_fast`): the next
    /// server's handler receives the client's bytes on this server's connection.
    pub fn forward(self, exch: &crate::Exchange) -> Result<(), Refused<DataWrite>> {
        let DataWrite { call, data } = self;
        let n = data.len() as u64;
        call.forward(exch, Method::DATA_WRITE, &[n])
            .map_err(|r| Refused {
                item: DataWrite { call: r.item, data },
                error: r.error,
            })
    }
}

impl Conn {
    pub(crate) fn new(server: TaskId, conn: ConnId, path: PathId, iface: Iface) -> Self {
        Conn {
            server,
            conn,
            path,
            iface,
        }
    }

    /// The connection's id.
    pub fn id(&self) -> ConnId {
        self.conn
    }

    /// The virtual path (0 unless the connection is multiplexed).
    pub fn path(&self) -> PathId {
        self.path
    }

    /// The interface the client connected to.
    pub fn iface(&self) -> Iface {
        self.iface
    }

    /// The server task: a handler connects to other servers on its behalf
    /// ([`crate::Session::connect_async`]), and the sessions it opens are the task's.
    pub fn task(&self) -> TaskId {
        self.server
    }

    fn make_call(&self, w: &World, id: CallId) -> Call {
        let c = &w.calls[id.index()];
        Call {
            conn: self.conn,
            path: self.path,
            id,
            method: c.method,
            args: c.args,
        }
    }

    fn next(&mut self) -> Next<'_, Option<Call>> {
        Next {
            conn: self,
            map: |_, call| call,
            _p: PhantomData,
        }
    }

    /// The next call (`async_get_call`); `None` once the client hung up (or ended the path).
    pub fn get_call(&mut self) -> impl Future<Output = Option<Call>> + '_ {
        self.next()
    }

    /// Takes the next call as `IPC_M_DATA_READ` (`async_data_read_receive`). Anything else is
    /// handed back as `Err(Some(call))` (a protocol error for the caller to report); a hangup
    /// as `Err(None)`.
    pub fn data_read_receive(
        &mut self,
    ) -> impl Future<Output = Result<DataRead, Option<Call>>> + '_ {
        Next {
            conn: self,
            map: |_, call: Option<Call>| match call {
                Some(c) if c.method == Method::DATA_READ => {
                    let size = c.args[0] as usize;
                    Ok(DataRead { call: c, size })
                }
                other => Err(other),
            },
            _p: PhantomData,
        }
    }

    /// Takes the next call as `IPC_M_DATA_WRITE` (`async_data_write_receive`), like
    /// [`Conn::data_read_receive`].
    pub fn data_write_receive(
        &mut self,
    ) -> impl Future<Output = Result<DataWrite, Option<Call>>> + '_ {
        Next {
            conn: self,
            map: |w: &World, call: Option<Call>| match call {
                Some(c) if c.method == Method::DATA_WRITE => {
                    let data = w.calls[c.id.index()].data.clone();
                    Ok(DataWrite { call: c, data })
                }
                other => Err(other),
            },
            _p: PhantomData,
        }
    }

    /// Runs `f` on the server's state; handlers waiting in [`Conn::wait_until`] re-check.
    ///
    /// # Panics
    /// If the server has no state of type `S`.
    pub fn with_state<S: Any + Send, R>(&self, f: impl FnOnce(&mut S) -> R) -> R {
        with_world(|w| {
            let r = f(state_of(w, self.server));
            w.state_changed(self.server);
            r
        })
    }

    /// Waits until `ready` holds of the server's state. `what` names the wait in deadlock
    /// reports (`"chardev data"`).
    pub fn wait_until<'a, S: Any + Send>(
        &'a self,
        what: &'static str,
        ready: impl Fn(&S) -> bool + 'a,
    ) -> impl Future<Output = ()> + 'a {
        std::future::poll_fn(move |_cx: &mut Context<'_>| {
            with_world(|w| {
                if ready(state_of(w, self.server)) {
                    Poll::Ready(())
                } else {
                    w.wait_state(self.conn, self.path, what);
                    Poll::Pending
                }
            })
        })
    }

    /// Accepts the phone a client offered with `CONNECT_TO_ME` (`async_callback_receive`):
    /// this server's task gets a session of `style` to the client's port for the offered
    /// interface, and the call is answered. As in HelenOS, the session's clones ask for no
    /// interface until [`crate::Session::args_set`] names one, so a PARALLEL callback
    /// session's clones are refused by the client's fallback (ENOENT) without it. Fails (and
    /// answers the call so) when the client serves no such interface or this task's phone
    /// table is full.
    pub fn callback_receive(
        &self,
        call: Call,
        style: crate::Style,
    ) -> Result<crate::Session, crate::IpcError> {
        let (conn, id) = (self.conn, call.id);
        match with_handler(|w, me| w.callback_receive(me, conn, id, style)) {
            Ok(sess) => {
                call.answer(&[]);
                Ok(crate::Session::lent(sess, style))
            }
            Err(e) => {
                call.answer_err(e.errno());
                Err(e)
            }
        }
    }

    /// Records a protocol error: `call` came where the protocol wanted `expected`.
    pub fn protocol_error(&self, call: &Call, expected: &str) {
        with_world(|w| {
            w.record(Event::ProtocolError {
                conn: self.conn,
                path: self.path,
                call: call.id,
                method: call.method,
                expected: expected.to_string(),
            })
        })
    }
}

fn state_of<S: Any + Send>(w: &mut World, server: TaskId) -> &mut S {
    w.server_mut(server)
        .state
        .as_mut()
        .and_then(|s| s.downcast_mut::<S>())
        .unwrap_or_else(|| {
            panic!(
                "the server has no state of type {}",
                std::any::type_name::<S>()
            )
        })
}

/// Waits for a handler's next message and maps it.
struct Next<'a, T> {
    conn: &'a mut Conn,
    map: fn(&World, Option<Call>) -> T,
    _p: PhantomData<fn() -> T>,
}

impl<T> Future for Next<'_, T> {
    type Output = T;
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<T> {
        let this = self.get_mut();
        let conn = &*this.conn;
        let map = this.map;
        with_world(|w| match w.path_next(conn.conn, conn.path) {
            None => Poll::Pending,
            Some(Incoming::End) => Poll::Ready(map(w, None)),
            Some(Incoming::Call(id)) => {
                let call = conn.make_call(w, id);
                Poll::Ready(map(w, Some(call)))
            }
        })
    }
}
