//! The client side of the async framework: sessions, exchanges and pending calls.
//!
//! A [`Session`] is a logical datapath to a server interface. Every operation runs inside an
//! [`Exchange`] (begun with [`Session::begin`], ended when the guard drops), so the server
//! never sees the calls of two operations mixed, whatever the session's [`Style`]. The calls
//! mirror HelenOS's `async_send_*`, `async_wait_for`, `async_forget`, `async_data_read_start`
//! and `async_data_write_start`; they are methods of the [`Ipc`] trait, which exchanges and
//! the naive [`RawPhone`] share, so one client stub can run on either.
//!
//! **Two ways to wait, one client API.** Everything that waits exists twice: blocking, for a
//! fibril (`begin`, `end`, `hangup`, [`Aid::wait_for`]), and `async`, for a server's handler
//! (`begin_async`, `end_async`, `hangup_async`, `aid.await`), where waiting suspends the
//! handler's connection context instead of a thread. A client stub is written once, as an
//! `async fn` over `&impl Ipc`: a handler awaits it, a fibril runs it with [`Ipc::block_on`]
//! (or [`crate::Kernel::block_on`]), where each of its steps is the critical section the
//! blocking API uses, so a model explores the same interleavings either way. A blocking call
//! inside a handler is a usage error, reported at once with the handler's and the call's
//! names.
//!
//! Handles are the same type on every backend and hold the kernel weakly: a session can live
//! in a handler's closure or in server state without keeping its kernel alive.

use crate::error::{HangupError, IpcError};
use crate::ids::{CallId, ExchId, FibrilId, SessId, TaskId};
use crate::kernel::{blocking_in_handler, run_future, usage_error, Engine, EngineExt, Task};
use crate::method::{Iface, Method, Style};
use crate::server::ServerRef;
use crate::sync::{Arc, Ghost, Platform};
use crate::trace::Event;
use crate::world::{
    lent_handler, with_handler, with_world, BeginSm, ConnectSm, EndSm, HangupSm, World,
};
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Weak;
use std::task::{Context, Poll};

/// The kernel a handle belongs to.
#[derive(Clone)]
struct Kern(Weak<dyn Engine>);

impl Kern {
    fn get(&self) -> Arc<dyn Engine> {
        self.0
            .upgrade()
            .unwrap_or_else(|| usage_error(format_args!("a handle outlived its kernel")))
    }

    /// Runs a step that never waits, wherever the caller is: on the world a handler's poll
    /// has, or in a critical section of its own.
    fn act<R>(&self, f: impl FnOnce(&mut World, FibrilId) -> R) -> R {
        if lent_handler().is_some() {
            with_handler(f)
        } else {
            self.get().with(f)
        }
    }

    /// Runs a step that may wait, on a fibril.
    ///
    /// # Panics
    /// With a usage error inside a handler, naming the handler and `call`.
    fn block<R>(
        &self,
        call: &str,
        instead: &str,
        f: impl FnMut(&mut World, FibrilId) -> Poll<R>,
    ) -> R {
        if lent_handler().is_some() {
            blocking_in_handler(call, instead);
        }
        self.get().block(f)
    }

    /// A step that may wait, as a future: in a handler it suspends the handler's context
    /// until the event it waits for arrives; on a fibril its first poll blocks the fibril's
    /// thread, exactly as the blocking call would.
    fn wait<R, F>(&self, f: F) -> WorldFuture<F>
    where
        F: FnMut(&mut World, FibrilId) -> Poll<R> + Unpin,
    {
        WorldFuture {
            kern: self.clone(),
            f,
        }
    }
}

/// See [`Kern::wait`].
struct WorldFuture<F> {
    kern: Kern,
    f: F,
}

impl<R, F> Future for WorldFuture<F>
where
    F: FnMut(&mut World, FibrilId) -> Poll<R> + Unpin,
{
    type Output = R;
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<R> {
        let this = self.get_mut();
        if lent_handler().is_some() {
            with_handler(&mut this.f)
        } else {
            Poll::Ready(this.kern.get().block(&mut this.f))
        }
    }
}

/// A session: a logical client-to-server datapath that supports concurrent operations.
///
/// Cloning shares the session (all clones hang up together).
#[derive(Clone)]
pub struct Session {
    k: Kern,
    id: SessId,
    style: Style,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Session({}, {})", self.id, self.style)
    }
}

fn connect_step(
    sm: &mut ConnectSm,
) -> impl FnMut(&mut World, FibrilId) -> Poll<Result<SessId, IpcError>> + Unpin + '_ {
    move |w, me| w.connect_poll(me, sm)
}

fn connect_sm(task: TaskId, server: &ServerRef, iface: Iface, arg2: u64, arg3: u64) -> ConnectSm {
    ConnectSm {
        task,
        server: server.task,
        args: (iface, arg2, arg3),
        call: None,
    }
}

impl Session {
    /// Connects `task` to `server`'s interface `iface` (`async_connect_me_to`). The exchange
    /// style is `iface.style()`; `(iface, arg2, arg3)` are kept for clones.
    ///
    /// Fails with [`IpcError::PhoneLimit`] when the task's phone table is full and
    /// [`IpcError::NoInterface`] when the server does not serve `iface`.
    pub fn connect<P: Platform>(
        task: &Task<P>,
        server: &ServerRef,
        iface: Iface,
        arg2: u64,
        arg3: u64,
    ) -> Result<Self, IpcError> {
        let k = Kern(task.kernel().engine());
        let mut sm = connect_sm(task.id(), server, iface, arg2, arg3);
        let id = k.block(
            "Session::connect",
            "Session::connect_async",
            connect_step(&mut sm),
        )?;
        Ok(Session {
            k,
            id,
            style: iface.style(),
        })
    }

    /// [`Session::connect`] as a future, for a handler: `task` is usually the handler's own
    /// server task ([`crate::Conn::task`]), which then owns the session like any client task.
    pub async fn connect_async(
        task: TaskId,
        server: &ServerRef,
        iface: Iface,
        arg2: u64,
        arg3: u64,
    ) -> Result<Self, IpcError> {
        let k = match lent_handler() {
            Some(_) => Kern(with_world(|w| w.engine.clone())),
            None => server.kern(),
        };
        let mut sm = connect_sm(task, server, iface, arg2, arg3);
        let id = k.wait(connect_step(&mut sm)).await?;
        Ok(Session {
            k,
            id,
            style: iface.style(),
        })
    }

    /// A handle on session `id` of the kernel whose world a handler's poll has.
    pub(crate) fn lent(id: SessId, style: Style) -> Self {
        Session {
            k: Kern(with_world(|w| w.engine.clone())),
            id,
            style,
        }
    }

    /// The session's id.
    pub fn id(&self) -> SessId {
        self.id
    }

    /// The session's exchange style.
    pub fn style(&self) -> Style {
        self.style
    }

    fn begin_step<'a>(
        &'a self,
        sm: &'a mut BeginSm,
    ) -> impl FnMut(&mut World, FibrilId) -> Poll<Result<Exchange, IpcError>> + Unpin + 'a {
        let sess = self.id;
        move |w, me| match w.begin_poll(me, sm) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => {
                w.record(Event::BeginFail {
                    fibril: me,
                    sess,
                    error: e.clone(),
                });
                Poll::Ready(Err(e))
            }
            Poll::Ready(Ok(begun)) => Poll::Ready(Ok(Exchange {
                port: Port::new(self.k.clone(), begun.ctx),
                id: begun.exch,
                owner: me,
                ended: false,
            })),
        }
    }

    /// Begins an exchange (`async_exchange_begin`). It ends when the guard drops.
    ///
    /// PARALLEL may clone a phone, reclaim another session's idle phone, or wait until an
    /// exchange ends; SERIALIZE waits its turn; MULTIPLEXED may wait for a free path id. A
    /// fibril waiting here gets [`IpcError::SessionClosed`] if the session is hung up.
    pub fn begin(&self) -> Result<Exchange, IpcError> {
        let mut sm = BeginSm::new(self.id);
        self.k.block(
            "Session::begin",
            "Session::begin_async",
            self.begin_step(&mut sm),
        )
    }

    /// [`Session::begin`] as a future. A handler ends the exchange with
    /// [`Exchange::end_async`].
    pub async fn begin_async(&self) -> Result<Exchange, IpcError> {
        let mut sm = BeginSm::new(self.id);
        self.k.wait(self.begin_step(&mut sm)).await
    }

    fn hangup_step<'a>(
        &'a self,
        sm: &'a mut HangupSm,
    ) -> impl FnMut(&mut World, FibrilId) -> Poll<Result<(), IpcError>> + Unpin + 'a {
        let sess = self.id;
        move |w, me| {
            let r = w.hangup_poll(me, sm);
            if let Poll::Ready(Err(e)) = &r {
                w.record(Event::HangupFail {
                    sess,
                    fibril: me,
                    error: e.clone(),
                });
            }
            r
        }
    }

    /// Hangs the session up (`async_hangup`): its phone and every cached clone. Refused with
    /// [`IpcError::Busy`] while exchanges are active; the session comes back in the error.
    pub fn hangup(self) -> Result<(), HangupError<Self>> {
        let mut sm = HangupSm::new(self.id);
        let result = self.k.block(
            "Session::hangup",
            "Session::hangup_async",
            self.hangup_step(&mut sm),
        );
        result.map_err(|error| HangupError {
            session: self,
            error,
        })
    }

    /// [`Session::hangup`] as a future.
    pub async fn hangup_async(self) -> Result<(), HangupError<Self>> {
        let mut sm = HangupSm::new(self.id);
        let result = self.k.wait(self.hangup_step(&mut sm)).await;
        result.map_err(|error| HangupError {
            session: self,
            error,
        })
    }

    /// Sets the arguments clones are made with (`async_sess_args_set`).
    pub fn args_set(&self, iface: Iface, arg2: u64, arg3: u64) {
        self.k
            .act(|w, _| w.sess_args_set(self.id, (iface, arg2, arg3)));
    }

    /// The session's phone used directly, without exchanges: the "before" picture of the
    /// design note, for showing what exchanges prevent.
    pub fn raw_phone(&self) -> RawPhone {
        let ctx = self.k.act(|w, _| w.raw_ctx(self.id));
        RawPhone {
            port: Port::new(self.k.clone(), ctx),
        }
    }

    /// Runs `fut` (a client stub written as an `async fn`) to completion on the calling
    /// fibril; see [`crate::Kernel::block_on`].
    pub fn block_on<F: Future>(&self, fut: F) -> F::Output {
        run_future(fut)
    }
}

impl ServerRef {
    fn kern(&self) -> Kern {
        Kern(self.engine.clone())
    }
}

/// Where calls go: an exchange's phone and path, or a raw phone. Opaque.
pub struct Port {
    k: Kern,
    ctx: usize,
    /// The operation the next call starts ([`Ipc::op`]). Ghost storage: only the handle's
    /// owner touches it, so it is never contended and adds no scheduling point.
    next_op: Ghost<Option<&'static str>>,
}

impl fmt::Debug for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Port({})", self.ctx)
    }
}

impl Port {
    fn new(k: Kern, ctx: usize) -> Self {
        Port {
            k,
            ctx,
            next_op: Ghost::new(None),
        }
    }

    /// The context calls go to and the operation the next one starts, taken.
    pub(crate) fn next(&self) -> (usize, Option<&'static str>) {
        (self.ctx, self.next_op.with(|n| n.take()))
    }

    fn send(&self, method: Method, args: &[u64], data: Vec<u8>) -> Result<Aid, IpcError> {
        let mut a = [0u64; 5];
        for (slot, v) in a.iter_mut().zip(args) {
            *slot = *v;
        }
        let op = self.next_op.with(|n| n.take());
        let call = self
            .k
            .act(|w, me| w.ctx_send(me, self.ctx, op, method, a, data))?;
        Ok(Aid {
            k: self.k.clone(),
            call,
            done: false,
        })
    }
}

/// The answer to a call that succeeded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reply {
    /// The answer's arguments.
    pub args: [u64; 5],
    /// Bytes a data read moved into the client's buffer.
    pub data: Vec<u8>,
}

/// Sending calls: what exchanges and raw phones share.
pub trait Ipc {
    /// The port calls go through.
    fn port(&self) -> &Port;

    /// Starts a new operation named `name` with the next call. Client stubs call it first:
    /// the framework needs operation boundaries to tell whether a refused send cut an
    /// operation in half (the server then waits for the rest, and the exchange's connection
    /// is retired rather than handed to the next operation; see [`IpcError::Broken`]).
    /// Without it, everything sent in an exchange counts as one operation. The name is a
    /// ghost annotation for checkers and traces; servers never see it.
    fn op(&self, name: &'static str) {
        self.port().next_op.with(|n| *n = Some(name));
    }

    /// Sends a call and returns at once (`async_send_*`). Wait for the answer with
    /// [`Aid::wait_for`] on a fibril, or `.await` it in a handler.
    fn send(&self, method: Method, args: &[u64]) -> Result<Aid, IpcError> {
        self.port().send(method, args, Vec::new())
    }

    /// Sends a call and waits for its answer (`async_req_*`), on a fibril.
    fn request(&self, method: Method, args: &[u64]) -> Result<Reply, IpcError> {
        self.send(method, args)?.wait_for()
    }

    /// Sends `IPC_M_DATA_READ` for up to `size` bytes without waiting.
    fn send_data_read(&self, size: usize) -> Result<Aid, IpcError> {
        self.port()
            .send(Method::DATA_READ, &[size as u64], Vec::new())
    }

    /// Sends `IPC_M_DATA_WRITE` with `data` without waiting.
    fn send_data_write(&self, data: &[u8]) -> Result<Aid, IpcError> {
        self.port()
            .send(Method::DATA_WRITE, &[data.len() as u64], data.to_vec())
    }

    /// Offers the server a phone back to this task's port for `iface` (`IPC_M_CONNECT_TO_ME`,
    /// as `async_connect_to_me` sends it): the task must serve `iface`'s protocol, and the
    /// server accepts with [`crate::Conn::callback_receive`]. Wait for the answer like any.
    fn send_connect_to_me(&self, iface: Iface, arg2: u64, arg3: u64) -> Result<Aid, IpcError> {
        self.port().send(
            Method::CONNECT_TO_ME,
            &[iface.0 as u64, arg2, arg3],
            Vec::new(),
        )
    }

    /// Reads up to `size` bytes from the server (`async_data_read_start`), on a fibril.
    fn data_read_start(&self, size: usize) -> Result<Vec<u8>, IpcError> {
        Ok(self.send_data_read(size)?.wait_for()?.data)
    }

    /// Writes `data` to the server (`async_data_write_start`), on a fibril.
    fn data_write_start(&self, data: &[u8]) -> Result<(), IpcError> {
        self.send_data_write(data)?.wait_for().map(|_| ())
    }

    /// Runs `fut` (a client stub written as an `async fn`) to completion on the calling
    /// fibril: `exch.block_on(chardev::blocking::read(&exch, 4))`. See [`crate::Kernel::block_on`].
    fn block_on<F: Future>(&self, fut: F) -> F::Output
    where
        Self: Sized,
    {
        run_future(fut)
    }
}

/// An exchange: the context of one operation (or a sequence of them) on a session.
///
/// Dropping it on a fibril ends it (`async_exchange_end`); [`Exchange::end`] says so
/// explicitly. A handler ends it with [`Exchange::end_async`]. It must end on the fibril (or
/// handler) that began it; ending it elsewhere is a usage error.
pub struct Exchange {
    port: Port,
    id: ExchId,
    owner: FibrilId,
    ended: bool,
}

impl fmt::Debug for Exchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Exchange({})", self.id)
    }
}

impl Exchange {
    /// The exchange's id.
    pub fn id(&self) -> ExchId {
        self.id
    }

    /// Ends the exchange, on a fibril.
    pub fn end(mut self) {
        self.finish();
    }

    /// Ends the exchange, in a handler (or on a fibril, in a future run by `block_on`).
    pub async fn end_async(mut self) {
        self.ended = true;
        let mut sm = EndSm::new(self.id);
        let (exch, owner) = (self.id, self.owner);
        self.port
            .k
            .wait(move |w, me| {
                if w.exch_dead(exch) {
                    return Poll::Ready(());
                }
                check_owner(w, exch, owner, me);
                w.end_poll(me, &mut sm)
            })
            .await
    }

    fn finish(&mut self) {
        if !self.ended {
            self.ended = true;
            let mut sm = EndSm::new(self.id);
            let (exch, owner) = (self.id, self.owner);
            self.port
                .k
                .block("Exchange::end", "Exchange::end_async", |w, me| {
                    // An exchange of a dead task went with it.
                    if w.exch_dead(exch) {
                        return Poll::Ready(());
                    }
                    check_owner(w, exch, owner, me);
                    w.end_poll(me, &mut sm)
                });
        }
    }
}

/// Fails the execution if `me` is not the fibril that began `exch` (HelenOS asserts the same
/// for SERIALIZE sessions).
fn check_owner(w: &World, exch: ExchId, owner: FibrilId, me: FibrilId) {
    if me != owner {
        let names = w.trace.names();
        usage_error(format_args!(
            "{exch} was begun by {} and ended by {}: an exchange ends where it began",
            names.who(owner),
            names.who(me)
        ));
    }
}

impl Ipc for Exchange {
    fn port(&self) -> &Port {
        &self.port
    }
}

impl Drop for Exchange {
    fn drop(&mut self) {
        // While unwinding (a failed model), leave the world alone: the execution is over; and
        // a handle whose kernel is gone has nothing to end.
        if self.ended || std::thread::panicking() || self.port.k.0.strong_count() == 0 {
            return;
        }
        if lent_handler().is_some() {
            self.ended = true;
            let who = with_world(|w| w.handler_name());
            usage_error(format_args!(
                "{who} dropped {} without ending it: a handler ends an exchange with \
                 `end_async().await`",
                self.id
            ));
        }
        self.finish();
    }
}

/// A session's phone used with no exchange at all. Concurrent multi-call operations on it
/// interleave at the server: it exists to show the problem exchanges solve.
pub struct RawPhone {
    port: Port,
}

impl fmt::Debug for RawPhone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RawPhone({:?})", self.port)
    }
}

impl Ipc for RawPhone {
    fn port(&self) -> &Port {
        &self.port
    }
}

/// A call sent and not yet waited for (`aid_t`). Dropping it forgets the answer. Wait for it
/// with [`Aid::wait_for`] on a fibril, or `.await` it (in a handler, or in a future run by
/// `block_on`); only the fibril (or handler) that sent the call receives its answer.
#[must_use = "wait for the answer or forget it"]
pub struct Aid {
    k: Kern,
    call: CallId,
    done: bool,
}

impl fmt::Debug for Aid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Aid({})", self.call)
    }
}

fn reply_of(answer: crate::world::Answer) -> Result<Reply, IpcError> {
    match answer.retval {
        None => Ok(Reply {
            args: answer.args,
            data: answer.data,
        }),
        Some(e) => Err(IpcError::from_errno(e)),
    }
}

/// Takes the answer to `call` for `me`, its sender, or parks `me` until it arrives.
fn wait_answer(w: &mut World, me: FibrilId, call: CallId) -> Poll<Result<Reply, IpcError>> {
    let sender = w.calls[call.index()].sender;
    if sender != me {
        let names = w.trace.names();
        usage_error(format_args!(
            "{} waited for the answer to {call}, which {} sent: an answer goes to its sender",
            names.who(me),
            names.who(sender)
        ));
    }
    w.wait_poll(me, call).map(reply_of)
}

impl Aid {
    /// The call's id.
    pub fn call(&self) -> CallId {
        self.call
    }

    /// Waits for the answer (`async_wait_for`), on a fibril. An error answer becomes `Err`.
    pub fn wait_for(mut self) -> Result<Reply, IpcError> {
        self.done = true;
        let call = self.call;
        self.k
            .block("Aid::wait_for", "the Aid (aid.await)", |w, me| {
                wait_answer(w, me, call)
            })
    }

    /// Gives up on the answer (`async_forget`).
    pub fn forget(mut self) {
        self.release();
    }

    fn release(&mut self) {
        if !self.done {
            self.done = true;
            let call = self.call;
            self.k.act(|w, me| w.forget(me, call));
        }
    }
}

impl Drop for Aid {
    fn drop(&mut self) {
        if !std::thread::panicking() && self.k.0.strong_count() > 0 {
            self.release();
        }
    }
}

/// Waiting for an [`Aid`]'s answer as a future. Dropping it before the answer came forgets
/// the call, as dropping the `Aid` does.
pub struct AidFuture {
    aid: Aid,
}

impl fmt::Debug for AidFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AidFuture({})", self.aid.call)
    }
}

impl Future for AidFuture {
    type Output = Result<Reply, IpcError>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let call = this.aid.call;
        let mut fut = this.aid.k.wait(|w, me| wait_answer(w, me, call));
        let r = Pin::new(&mut fut).poll(cx);
        if r.is_ready() {
            this.aid.done = true;
        }
        r
    }
}

impl IntoFuture for Aid {
    type Output = Result<Reply, IpcError>;
    type IntoFuture = AidFuture;
    fn into_future(self) -> AidFuture {
        AidFuture { aid: self }
    }
}
