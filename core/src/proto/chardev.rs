//! A character device: the design note's example protocol.
//!
//! `read` is two calls, CHARDEV_READ then IPC_M_DATA_READ, and the server, like HelenOS's
//! `chardev_srv.c`, takes the *next* call of the connection as the data call: if anything else
//! comes, it records a protocol error. A read of an empty device blocks at the server until a
//! write supplies bytes, so "one fibril writes while another is blocked in read" can be
//! expressed.
//!
//! ```
//! use sessions_core::proto::chardev;
//! use sessions_core::sync::StdPlatform;
//! use sessions_core::{Ipc, Kernel, KernelConfig, ServerBuilder, Session, Style};
//!
//! let k = Kernel::<StdPlatform>::new(KernelConfig::default());
//! let dev = k.server("dev", chardev::server(b"hello world"));
//! let client = k.task("client");
//! let sess = Session::connect(&client, &dev, chardev::iface(Style::Parallel), 0, 0).unwrap();
//! let exch = sess.begin().unwrap();
//! assert_eq!(chardev::blocking::read(&exch, 5).unwrap(), b"hello");
//! exch.end();
//! sess.hangup().unwrap();
//! k.finish();
//! ```

use crate::client::{Exchange, Ipc};
use crate::error::{Errno, IpcError};
use crate::method::{Iface, Method, Style};
use crate::protocol::Protocol;
use crate::server::{Call, Conn, ServerBuilder};
use std::collections::VecDeque;

/// The protocol: number 1, any exchange style.
pub const PROTOCOL: Protocol = Protocol {
    id: 1,
    name: "chardev",
    methods: &[
        (READ, "CHARDEV_READ"),
        (WRITE, "CHARDEV_WRITE"),
        (CLOSE, "CHARDEV_CLOSE"),
    ],
    style: None,
};
/// `CHARDEV_READ(size)`: followed by an `IPC_M_DATA_READ` in the same exchange.
pub const READ: Method = Method(Method::FIRST_USER);
/// `CHARDEV_WRITE(size)`: followed by an `IPC_M_DATA_WRITE` in the same exchange.
pub const WRITE: Method = Method(Method::FIRST_USER + 1);
/// `CHARDEV_CLOSE`: the server answers, then hangs up its side of the connection (or path).
pub const CLOSE: Method = Method(Method::FIRST_USER + 2);

/// The chardev interface with exchange style `style`.
pub const fn iface(style: Style) -> Iface {
    PROTOCOL.iface_with(style)
}

/// A fault the device's server can be told to have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// After taking a read's two calls, the handler returns without answering them: the
    /// server dies mid-exchange and the connection closes.
    CloseMidRead,
}

/// The device: bytes waiting to be read.
#[derive(Clone, Debug, Default)]
pub struct Device {
    /// Bytes not yet read, oldest first.
    pub data: VecDeque<u8>,
    /// An injected server fault.
    pub fault: Option<Fault>,
}

impl Device {
    /// A device holding `data`.
    pub fn new(data: &[u8]) -> Self {
        Device {
            data: data.iter().copied().collect(),
            fault: None,
        }
    }

    /// The same device with an injected server fault.
    pub fn with_fault(self, fault: Fault) -> Self {
        Device {
            fault: Some(fault),
            ..self
        }
    }
}

/// A server task description serving chardev from a device holding `data`.
pub fn server(data: &[u8]) -> ServerBuilder {
    server_with(Device::new(data))
}

/// A server task description serving chardev from `device`.
pub fn server_with(device: Device) -> ServerBuilder {
    ServerBuilder::new().serve(&PROTOCOL, serve).state(device)
}

/// The connection handler (`chardev_conn`).
pub async fn serve(mut conn: Conn) {
    while let Some(call) = conn.get_call().await {
        let keep_going = match call.method() {
            READ => read_srv(&mut conn, call).await,
            WRITE => write_srv(&mut conn, call).await,
            CLOSE => {
                call.answer(&[]);
                false
            }
            _ => {
                conn.protocol_error(&call, "CHARDEV_READ, CHARDEV_WRITE or CHARDEV_CLOSE");
                call.answer_err(Errno::Enotsup);
                true
            }
        };
        if !keep_going {
            return;
        }
    }
}

/// Reports that `got` came instead of the data call and fails both calls.
fn wrong_data_call(conn: &Conn, first: Call, got: Option<Call>, expected: &str) {
    if let Some(other) = got {
        conn.protocol_error(&other, expected);
        other.answer_err(Errno::Einval);
    }
    first.answer_err(Errno::Einval);
}

/// `chardev_read_srv`: the next call must be the data read; then block until the device has
/// bytes.
async fn read_srv(conn: &mut Conn, call: Call) -> bool {
    let dr = match conn.data_read_receive().await {
        Ok(dr) => dr,
        Err(got) => {
            wrong_data_call(conn, call, got, "DATA_READ");
            return true;
        }
    };
    if conn.with_state(|d: &mut Device| d.fault) == Some(Fault::CloseMidRead) {
        // Die holding both calls: the framework answers them EHANGUP.
        drop((call, dr));
        return false;
    }
    conn.wait_until("chardev data", |d: &Device| !d.data.is_empty())
        .await;
    let want = dr.size();
    let bytes: Vec<u8> = conn.with_state(|d: &mut Device| {
        let n = want.min(d.data.len());
        d.data.drain(..n).collect()
    });
    let n = bytes.len();
    dr.finalize(&bytes);
    call.answer(&[n as u64]);
    true
}

/// `chardev_write_srv`: the next call must be the data write.
async fn write_srv(conn: &mut Conn, call: Call) -> bool {
    let dw = match conn.data_write_receive().await {
        Ok(dw) => dw,
        Err(got) => {
            wrong_data_call(conn, call, got, "DATA_WRITE");
            return true;
        }
    };
    let bytes = dw.finalize();
    let n = bytes.len();
    conn.with_state(|d: &mut Device| d.data.extend(bytes));
    call.answer(&[n as u64]);
    true
}

/// `chardev_read`, as the design note writes it: send CHARDEV_READ (R1), send the data read
/// (R2), wait for R1, wait for R2. Returns the bytes read (at least one).
///
/// Like every stub here it is written once, as an `async fn`: a handler awaits it, a fibril
/// runs it with `block_on` (or calls [`blocking::read`]).
pub async fn read<C: Ipc>(c: &C, size: usize) -> Result<Vec<u8>, IpcError> {
    c.op("chardev.read");
    let r1 = c.send(READ, &[size as u64])?;
    let r2 = c.send_data_read(size)?;
    let n = r1.await?.args[0] as usize;
    let data = r2.await?.data;
    check_len(n, &data)?;
    Ok(data)
}

fn check_len(n: usize, data: &[u8]) -> Result<(), IpcError> {
    if data.len() != n {
        return Err(IpcError::Protocol(format!(
            "the server said {n} bytes but moved {}",
            data.len()
        )));
    }
    Ok(())
}

/// `chardev_write`: CHARDEV_WRITE then the data write. Returns the bytes written.
pub async fn write<C: Ipc>(c: &C, data: &[u8]) -> Result<usize, IpcError> {
    c.op("chardev.write");
    let r1 = c.send(WRITE, &[data.len() as u64])?;
    c.send_data_write(data)?.await?;
    Ok(r1.await?.args[0] as usize)
}

/// Asks the server to hang up its side: it answers, then its handler returns, so later
/// calls on this connection (or path) are answered EHANGUP.
pub async fn close<C: Ipc>(c: &C) -> Result<(), IpcError> {
    c.op("chardev.close");
    c.send(CLOSE, &[])?.await.map(|_| ())
}

/// A read shaped like HelenOS's `vfs_read_short`: send CHARDEV_READ, do the data read, end
/// the exchange, and only then wait for the first answer.
pub async fn read_short(exch: Exchange, size: usize) -> Result<Vec<u8>, IpcError> {
    exch.op("chardev.read_short");
    let r1 = exch.send(READ, &[size as u64])?;
    let data = match exch.send_data_read(size) {
        Ok(aid) => aid.await,
        Err(e) => Err(e),
    };
    let data = match data {
        Ok(reply) => reply.data,
        Err(e) => {
            exch.end_async().await;
            r1.forget();
            return Err(e);
        }
    };
    exch.end_async().await;
    let n = r1.await?.args[0] as usize;
    check_len(n, &data)?;
    Ok(data)
}

/// The stubs above for a fibril's own thread: each runs its `async` stub to completion with
/// `block_on`, in the same critical sections a hand-written blocking stub would use.
pub mod blocking {
    use super::*;

    /// [`super::read`] on a fibril.
    pub fn read<C: Ipc>(c: &C, size: usize) -> Result<Vec<u8>, IpcError> {
        c.block_on(super::read(c, size))
    }

    /// [`super::write`] on a fibril.
    pub fn write<C: Ipc>(c: &C, data: &[u8]) -> Result<usize, IpcError> {
        c.block_on(super::write(c, data))
    }

    /// [`super::close`] on a fibril.
    pub fn close<C: Ipc>(c: &C) -> Result<(), IpcError> {
        c.block_on(super::close(c))
    }

    /// [`super::read_short`] on a fibril.
    pub fn read_short(exch: Exchange, size: usize) -> Result<Vec<u8>, IpcError> {
        crate::kernel::run_future(super::read_short(exch, size))
    }
}
