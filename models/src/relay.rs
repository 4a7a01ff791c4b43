//! A relay: a server whose handler is a client of a chardev device, written against the
//! public API only (a crate outside core could define it the same way).
//!
//! `relay` speaks its own protocol: `RELAY_READ(size)` followed by a data read in the same
//! exchange, like chardev. Its handler takes both calls and begins an exchange on its own
//! session to the device. Then, by [`Mode`]:
//!
//! - [`Mode::Relay`]: it runs chardev's `read` stub there (the very stub fibrils run with
//!   `block_on`), ends the exchange, moves the bytes into the client's buffer and answers;
//! - [`Mode::Forward`]: as HelenOS's VFS does with a file system, it sends `CHARDEV_READ` and
//!   forwards the client's data read over the same exchange (route-from-me), ends the
//!   exchange, waits for the device's answer and answers with its size; the device moves the
//!   bytes straight into the client's buffer.

use crate::model::Expect;
use crate::violation::Checker;
use serde::{Deserialize, Serialize};
use sessions_core::proto::chardev;
use sessions_core::server::Conn;
use sessions_core::{Errno, Exchange, Ipc, IpcError, Method, Protocol, Session, Style};
use std::fmt;

/// `RELAY_READ(size)`: followed by `IPC_M_DATA_READ` in the same exchange.
pub const RELAY_READ: Method = Method(Method::FIRST_USER);

/// The relay's protocol.
pub const RELAY: Protocol = Protocol {
    id: 20,
    name: "relay",
    methods: &[(RELAY_READ, "RELAY_READ")],
    style: None,
};

/// The client stub, written once: a fibril runs it with `block_on`, a handler awaits it.
pub async fn read<C: Ipc>(c: &C, size: usize) -> Result<Vec<u8>, IpcError> {
    c.op("relay.read");
    let r1 = c.send(RELAY_READ, &[size as u64])?;
    let r2 = c.send_data_read(size)?;
    let n = r1.await?.args[0] as usize;
    let data = r2.await?.data;
    if data.len() != n {
        return Err(IpcError::Protocol(format!(
            "the relay said {n} bytes but moved {}",
            data.len()
        )));
    }
    Ok(data)
}

/// How the relay reaches the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Reads from the device itself, then hands the bytes on.
    Relay,
    /// Forwards the client's data read to the device.
    Forward,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Relay => "relay",
            Mode::Forward => "forward",
        })
    }
}

/// A mistake the relay's author can make.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mistake {
    /// The handler never ends its exchange to the device (a missing `async_exchange_end`).
    KeepsExchange,
}

impl Mistake {
    /// What the harness reports when the relay, reaching the device in `back` style, makes
    /// this mistake: under SERIALIZE the next begin waits for the lock for ever; otherwise
    /// the exchanges are never ended.
    pub fn expect(self, back: Style) -> Expect {
        match (self, back) {
            (Mistake::KeepsExchange, Style::Serialize) => Expect::Finding(Checker::Deadlock),
            (Mistake::KeepsExchange, _) => Expect::Finding(Checker::Accounting),
        }
    }
}

/// What one relayed read did, for the handler to answer.
enum Done {
    /// The handler holds the data read and the bytes for it.
    Bytes(sessions_core::DataRead, Vec<u8>),
    /// The data read went to the device, which answered this many bytes.
    Forwarded(usize),
}

/// The relay's connection handler: serves `RELAY_READ` from the device behind `dev`.
pub async fn serve(mut conn: Conn, dev: Session, mode: Mode, mistake: Option<Mistake>) {
    while let Some(call) = conn.get_call().await {
        if call.method() != RELAY_READ {
            conn.protocol_error(&call, "RELAY_READ");
            call.answer_err(Errno::Enotsup);
            continue;
        }
        let dr = match conn.data_read_receive().await {
            Ok(dr) => dr,
            Err(got) => {
                if let Some(other) = got {
                    conn.protocol_error(&other, "DATA_READ");
                    other.answer_err(Errno::Einval);
                }
                call.answer_err(Errno::Einval);
                continue;
            }
        };
        let exch: Exchange = match dev.begin_async().await {
            Ok(exch) => exch,
            Err(e) => {
                dr.fail(e.errno());
                call.answer_err(e.errno());
                continue;
            }
        };
        let size = dr.size();
        let done = match mode {
            Mode::Relay => match chardev::read(&exch, size).await {
                Ok(bytes) => Ok(Done::Bytes(dr, bytes)),
                Err(e) => {
                    dr.fail(e.errno());
                    Err(e)
                }
            },
            Mode::Forward => forward_read(&exch, dr, size).await,
        };
        match mistake {
            Some(Mistake::KeepsExchange) => std::mem::forget(exch),
            None => exch.end_async().await,
        }
        match done {
            Ok(Done::Bytes(dr, bytes)) => {
                let n = bytes.len() as u64;
                dr.finalize(&bytes);
                call.answer(&[n]);
            }
            Ok(Done::Forwarded(n)) => call.answer(&[n as u64]),
            Err(e) => call.answer_err(e.errno()),
        }
    }
}

/// `CHARDEV_READ` on the relay's exchange, then the client's data read forwarded after it.
async fn forward_read(
    exch: &Exchange,
    dr: sessions_core::DataRead,
    size: usize,
) -> Result<Done, IpcError> {
    exch.op("relay.forward");
    let r1 = match exch.send(chardev::READ, &[size as u64]) {
        Ok(aid) => aid,
        Err(e) => {
            dr.fail(e.errno());
            return Err(e);
        }
    };
    if let Err(refused) = dr.forward(exch) {
        refused.item.fail(refused.error.errno());
        r1.forget();
        return Err(refused.error);
    }
    Ok(Done::Forwarded(r1.await?.args[0] as usize))
}
