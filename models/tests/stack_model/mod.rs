//! A three-task stack written against the public API only: clients read through a relay
//! server, whose handler is itself a client of a chardev device.
//!
//! `relay` speaks its own protocol: RELAY_READ(size) followed by a data read in the same
//! exchange, like chardev. Its handler takes both calls, begins an exchange on its own session
//! to the device, runs chardev's `read` stub there (the very stub fibrils run with
//! `block_on`), ends the exchange, and answers. Shared by the shuttle and std tests
//! (`stack.rs`) and the loom suite (`loom.rs`).
#![allow(dead_code)]

use serde::{Deserialize, Serialize};
use sessions_core::proto::chardev;
use sessions_core::server::Conn;
use sessions_core::sync::Platform;
use sessions_core::{
    Errno, Exchange, Ipc, IpcError, Kernel, KernelConfig, Method, Protocol, ServerBuilder, Session,
    Style,
};
use sessions_models::{Checker, Expect, Model};

/// `RELAY_READ(size)`: followed by `IPC_M_DATA_READ` in the same exchange.
pub const RELAY_READ: Method = Method(Method::FIRST_USER);

/// The relay's protocol.
pub const RELAY: Protocol = Protocol {
    id: 20,
    name: "relay",
    methods: &[(RELAY_READ, "RELAY_READ")],
    style: None,
};

/// The client stub, written once: fibrils run it with `block_on`.
pub async fn relay_read<C: Ipc>(c: &C, size: usize) -> Result<Vec<u8>, IpcError> {
    c.op("relay.read");
    let r1 = c.send(RELAY_READ, &[size as u64])?;
    let r2 = c.send_data_read(size)?;
    let n = r1.await?.args[0] as usize;
    let data = r2.await?.data;
    if data.len() != n {
        return Err(IpcError::Protocol(format!(
            "{n} bytes said, {} moved",
            data.len()
        )));
    }
    Ok(data)
}

/// A mistake the relay's author can make.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RelayBug {
    /// The handler never ends its exchange to the device (a missing `async_exchange_end`).
    KeepsExchange,
}

/// The relay's connection handler.
pub async fn serve_relay(mut conn: Conn, dev: Session, bug: Option<RelayBug>) {
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
        let read = chardev::read(&exch, dr.size()).await;
        match bug {
            Some(RelayBug::KeepsExchange) => std::mem::forget(exch),
            None => exch.end_async().await,
        }
        match read {
            Ok(bytes) => {
                let n = bytes.len() as u64;
                dr.finalize(&bytes);
                call.answer(&[n]);
            }
            Err(e) => {
                dr.fail(e.errno());
                call.answer_err(e.errno());
            }
        }
    }
}

/// Fibrils A and B each read 4 bytes through the relay, concurrently, on one session of style
/// `front`; the relay reads them from the device on its own session of style `back`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Stack {
    /// The style of the clients' session to the relay.
    pub front: Style,
    /// The style of the relay's session to the device.
    pub back: Style,
    /// Bytes the device holds (8 serves both reads; 4 leaves the second waiting).
    pub bytes: usize,
    /// A mistake in the relay.
    pub bug: Option<RelayBug>,
    /// Where the relay's and device's handlers run.
    pub dispatch: sessions_core::Dispatch,
    /// Every task's phone table size.
    pub phone_limit: u32,
    /// Paths a multiplexed session may have open at once.
    pub path_limit: u32,
}

impl Stack {
    /// Both reads served, no mistakes, inline dispatch.
    pub fn new(front: Style, back: Style) -> Self {
        Stack {
            front,
            back,
            bytes: 8,
            bug: None,
            dispatch: sessions_core::Dispatch::Inline,
            phone_limit: KernelConfig::default().phone_limit,
            path_limit: KernelConfig::default().path_limit,
        }
    }
}

impl Model for Stack {
    fn name(&self) -> String {
        let mut name = format!("stack/{}-{}", self.front, self.back);
        if self.bytes < 8 {
            name.push_str("/starved");
        }
        if let Some(bug) = self.bug {
            name.push_str(&format!("/{bug:?}"));
        }
        if self.phone_limit < KernelConfig::default().phone_limit {
            name.push_str(&format!("/phones{}", self.phone_limit));
        }
        if self.path_limit < KernelConfig::default().path_limit {
            name.push_str(&format!("/paths{}", self.path_limit));
        }
        if self.dispatch == sessions_core::Dispatch::Threaded {
            name.push_str("+threaded");
        }
        name
    }

    fn config(&self) -> KernelConfig {
        KernelConfig {
            dispatch: self.dispatch,
            phone_limit: self.phone_limit,
            path_limit: self.path_limit,
            ..KernelConfig::default()
        }
    }

    fn expect(&self) -> Expect {
        if self.front == Style::Atomic {
            // A's and B's calls share the relay connection with nothing to keep them apart.
            return Expect::Finding(Checker::Mixing);
        }
        match (self.bug, self.back) {
            (None, _) if self.bytes >= 8 => Expect::Pass,
            (None, _) => Expect::Finding(Checker::Deadlock),
            (Some(RelayBug::KeepsExchange), Style::Serialize) => Expect::Finding(Checker::Deadlock),
            (Some(RelayBug::KeepsExchange), _) => Expect::Finding(Checker::Resources),
        }
    }

    fn threads(&self) -> usize {
        match self.dispatch {
            sessions_core::Dispatch::Inline => 3,
            sessions_core::Dispatch::Threaded => 5,
        }
    }

    fn run<P: Platform>(&self, k: &Kernel<P>) {
        let data: Vec<u8> = (b'a'..).take(self.bytes).collect();
        let dev = k.server("dev", chardev::server(&data));
        let relay_task = k.task("relay");
        let to_dev = Session::connect(&relay_task, &dev, chardev::iface(self.back), 0, 0)
            .expect("the relay connects to the device");
        let (handler_sess, bug) = (to_dev.clone(), self.bug);
        let relay = relay_task.serve(ServerBuilder::new().serve(&RELAY, move |conn| {
            serve_relay(conn, handler_sess.clone(), bug)
        }));
        let client = k.task("client");
        let front = Session::connect(&client, &relay, RELAY.iface_with(self.front), 0, 0)
            .expect("the client connects to the relay");
        let fibrils: Vec<_> = ["A", "B"]
            .into_iter()
            .map(|name| {
                let s = front.clone();
                client.spawn(name, move || {
                    let exch = s.begin()?;
                    exch.block_on(relay_read(&exch, 4))
                })
            })
            .collect();
        let mut got: Vec<Vec<u8>> = fibrils
            .into_iter()
            .map(|f| f.join().expect("no panic").expect("the read succeeds"))
            .collect();
        got.sort();
        assert_eq!(got, [b"abcd".to_vec(), b"efgh".to_vec()]);
        front.hangup().expect("the client hangs up");
        match self.bug {
            None => to_dev.hangup().expect("the relay hangs up"),
            // Its exchanges never ended: the hangup is refused, and the checkers say why.
            Some(RelayBug::KeepsExchange) => drop(to_dev.hangup()),
        }
    }
}
