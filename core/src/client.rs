//! The client side of the async framework: sessions, exchanges and pending calls.
//!
//! A [`Session`] is a logical datapath to a server interface. Every operation runs inside an
//! [`Exchange`] (begun with [`Session::begin`], ended when the guard drops), so the server
//! never sees the calls of two operations mixed, whatever the session's [`Style`]. The calls
//! mirror HelenOS's `async_send_*`, `async_wait_for`, `async_forget`, `async_data_read_start`
//! and `async_data_write_start`; they are methods of the [`Ipc`] trait, which exchanges and
//! the naive [`RawPhone`] share, so one client stub can run on either.

use crate::error::{HangupError, IpcError};
use crate::ids::{CallId, ExchId, SessId};
use crate::kernel::{Kernel, Task};
use crate::method::{Iface, Method, Style};
use crate::server::ServerRef;
use crate::sync::Platform;
use crate::trace::Event;
use crate::world::{BeginSm, EndSm, HangupSm};
use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;
use std::task::Poll;

/// Marker that keeps a value on the fibril that created it (`!Send`): an exchange must end on
/// the fibril that began it, and an answer reaches the fibril that sent the call.
type NotSend = PhantomData<*const ()>;

/// A session: a logical client-to-server datapath that supports concurrent operations.
///
/// Cloning shares the session (all clones hang up together).
pub struct Session<P: Platform> {
    k: Kernel<P>,
    id: SessId,
    style: Style,
}

impl<P: Platform> Clone for Session<P> {
    fn clone(&self) -> Self {
        Session {
            k: self.k.clone(),
            id: self.id,
            style: self.style,
        }
    }
}

impl<P: Platform> fmt::Debug for Session<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Session({}, {})", self.id, self.style)
    }
}

impl<P: Platform> Session<P> {
    /// Connects `task` to `server`'s interface `iface` (`async_connect_me_to`). The exchange
    /// style is `iface.style()`; `(iface, arg2, arg3)` are kept for clones.
    ///
    /// Fails with [`IpcError::PhoneLimit`] when the task's phone table is full and
    /// [`IpcError::NoInterface`] when the server does not serve `iface`.
    pub fn connect(
        task: &Task<P>,
        server: &ServerRef,
        iface: Iface,
        arg2: u64,
        arg3: u64,
    ) -> Result<Self, IpcError> {
        let k = task.kernel().clone();
        let mut sm = crate::world::ConnectSm {
            task: task.id(),
            server: server.task,
            args: (iface, arg2, arg3),
            call: None,
        };
        let id = k.block_on(|w, me| w.connect_poll(me, &mut sm))?;
        Ok(Session {
            k,
            id,
            style: iface.style(),
        })
    }

    /// The session's id.
    pub fn id(&self) -> SessId {
        self.id
    }

    /// The session's exchange style.
    pub fn style(&self) -> Style {
        self.style
    }

    /// Begins an exchange (`async_exchange_begin`). It ends when the guard drops.
    ///
    /// PARALLEL may clone a phone, reclaim another session's idle phone, or wait until an
    /// exchange ends; SERIALIZE waits its turn; MULTIPLEXED may wait for a free path id. A
    /// fibril waiting here gets [`IpcError::SessionClosed`] if the session is hung up.
    pub fn begin(&self) -> Result<Exchange<P>, IpcError> {
        let mut sm = BeginSm::new(self.id);
        let begun = self.k.block_on(|w, me| {
            let r = w.begin_poll(me, &mut sm);
            if let Poll::Ready(Err(e)) = &r {
                w.record(Event::BeginFail {
                    fibril: me,
                    sess: self.id,
                    error: e.clone(),
                });
            }
            r
        })?;
        Ok(Exchange {
            port: Port {
                k: self.k.clone(),
                ctx: begun.ctx,
                next_op: Cell::new(None),
                _not_send: PhantomData,
            },
            id: begun.exch,
            ended: false,
        })
    }

    /// Hangs the session up (`async_hangup`): its phone and every cached clone. Refused with
    /// [`IpcError::Busy`] while exchanges are active; the session comes back in the error.
    pub fn hangup(self) -> Result<(), HangupError<Self>> {
        let mut sm = HangupSm::new(self.id);
        let sess = self.id;
        let result = self.k.block_on(|w, me| {
            let r = w.hangup_poll(me, &mut sm);
            if let Poll::Ready(Err(e)) = &r {
                w.record(Event::HangupFail {
                    sess,
                    fibril: me,
                    error: e.clone(),
                });
            }
            r
        });
        match result {
            Ok(()) => Ok(()),
            Err(error) => Err(HangupError {
                session: self,
                error,
            }),
        }
    }

    /// Sets the arguments clones are made with (`async_sess_args_set`).
    pub fn args_set(&self, iface: Iface, arg2: u64, arg3: u64) {
        self.k
            .with(|w, _| w.sess_args_set(self.id, (iface, arg2, arg3)));
    }

    /// The session's phone used directly, without exchanges: the "before" picture of the
    /// design note, for showing what exchanges prevent.
    pub fn raw_phone(&self) -> RawPhone<P> {
        let ctx = self.k.with(|w, _| w.raw_ctx(self.id));
        RawPhone {
            port: Port {
                k: self.k.clone(),
                ctx,
                next_op: Cell::new(None),
                _not_send: PhantomData,
            },
        }
    }
}

/// Where calls go: an exchange's phone and path, or a raw phone. Opaque.
pub struct Port<P: Platform> {
    k: Kernel<P>,
    ctx: usize,
    next_op: Cell<Option<&'static str>>,
    _not_send: NotSend,
}

impl<P: Platform> fmt::Debug for Port<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Port({})", self.ctx)
    }
}

impl<P: Platform> Port<P> {
    fn send(&self, method: Method, args: &[u64], data: Vec<u8>) -> Result<Aid<P>, IpcError> {
        let mut a = [0u64; 5];
        for (slot, v) in a.iter_mut().zip(args) {
            *slot = *v;
        }
        let op = self.next_op.take();
        let call = self
            .k
            .with(|w, me| w.ctx_send(me, self.ctx, op, method, a, data))?;
        Ok(Aid {
            k: self.k.clone(),
            call,
            done: false,
            _not_send: PhantomData,
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
pub trait Ipc<P: Platform> {
    /// The port calls go through.
    fn port(&self) -> &Port<P>;

    /// Starts a new operation named `name` with the next call. Client stubs call it first:
    /// the framework needs operation boundaries to tell whether a refused send cut an
    /// operation in half (the server then waits for the rest, and the exchange's connection
    /// is retired rather than handed to the next operation; see [`IpcError::Broken`]).
    /// Without it, everything sent in an exchange counts as one operation. The name is a
    /// ghost annotation for checkers and traces; servers never see it.
    fn op(&self, name: &'static str) {
        self.port().next_op.set(Some(name));
    }

    /// Sends a call and returns at once (`async_send_*`).
    fn send(&self, method: Method, args: &[u64]) -> Result<Aid<P>, IpcError> {
        self.port().send(method, args, Vec::new())
    }

    /// Sends a call and waits for its answer (`async_req_*`).
    fn request(&self, method: Method, args: &[u64]) -> Result<Reply, IpcError> {
        self.send(method, args)?.wait_for()
    }

    /// Sends `IPC_M_DATA_READ` for up to `size` bytes without waiting.
    fn send_data_read(&self, size: usize) -> Result<Aid<P>, IpcError> {
        self.port()
            .send(Method::DATA_READ, &[size as u64], Vec::new())
    }

    /// Sends `IPC_M_DATA_WRITE` with `data` without waiting.
    fn send_data_write(&self, data: &[u8]) -> Result<Aid<P>, IpcError> {
        self.port()
            .send(Method::DATA_WRITE, &[data.len() as u64], data.to_vec())
    }

    /// Reads up to `size` bytes from the server (`async_data_read_start`).
    fn data_read_start(&self, size: usize) -> Result<Vec<u8>, IpcError> {
        Ok(self.send_data_read(size)?.wait_for()?.data)
    }

    /// Writes `data` to the server (`async_data_write_start`).
    fn data_write_start(&self, data: &[u8]) -> Result<(), IpcError> {
        self.send_data_write(data)?.wait_for().map(|_| ())
    }
}

/// An exchange: the context of one operation (or a sequence of them) on a session.
///
/// Dropping it ends it (`async_exchange_end`); [`Exchange::end`] says so explicitly. It stays
/// on the fibril that began it.
pub struct Exchange<P: Platform> {
    port: Port<P>,
    id: ExchId,
    ended: bool,
}

impl<P: Platform> fmt::Debug for Exchange<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Exchange({})", self.id)
    }
}

impl<P: Platform> Exchange<P> {
    /// The exchange's id.
    pub fn id(&self) -> ExchId {
        self.id
    }

    /// Ends the exchange.
    pub fn end(mut self) {
        self.finish();
    }

    fn finish(&mut self) {
        if !self.ended {
            self.ended = true;
            let mut sm = EndSm::new(self.id);
            self.port.k.block_on(|w, me| w.end_poll(me, &mut sm));
        }
    }
}

impl<P: Platform> Ipc<P> for Exchange<P> {
    fn port(&self) -> &Port<P> {
        &self.port
    }
}

impl<P: Platform> Drop for Exchange<P> {
    fn drop(&mut self) {
        // While unwinding (a failed model), leave the world alone: the execution is over.
        if !std::thread::panicking() {
            self.finish();
        }
    }
}

/// A session's phone used with no exchange at all. Concurrent multi-call operations on it
/// interleave at the server: it exists to show the problem exchanges solve.
pub struct RawPhone<P: Platform> {
    port: Port<P>,
}

impl<P: Platform> fmt::Debug for RawPhone<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RawPhone({:?})", self.port)
    }
}

impl<P: Platform> Ipc<P> for RawPhone<P> {
    fn port(&self) -> &Port<P> {
        &self.port
    }
}

/// A call sent and not yet waited for (`aid_t`). Dropping it forgets the answer.
#[must_use = "wait for the answer or forget it"]
pub struct Aid<P: Platform> {
    k: Kernel<P>,
    call: CallId,
    done: bool,
    _not_send: NotSend,
}

impl<P: Platform> fmt::Debug for Aid<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Aid({})", self.call)
    }
}

impl<P: Platform> Aid<P> {
    /// The call's id.
    pub fn call(&self) -> CallId {
        self.call
    }

    /// Waits for the answer (`async_wait_for`). An error answer becomes `Err`.
    pub fn wait_for(mut self) -> Result<Reply, IpcError> {
        self.done = true;
        let call = self.call;
        let answer = self.k.block_on(|w, me| w.wait_poll(me, call));
        match answer.retval {
            None => Ok(Reply {
                args: answer.args,
                data: answer.data,
            }),
            Some(e) => Err(IpcError::from_errno(e)),
        }
    }

    /// Gives up on the answer (`async_forget`).
    pub fn forget(mut self) {
        self.release();
    }

    fn release(&mut self) {
        if !self.done {
            self.done = true;
            let call = self.call;
            self.k.with(|w, me| w.forget(me, call));
        }
    }
}

impl<P: Platform> Drop for Aid<P> {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.release();
        }
    }
}
