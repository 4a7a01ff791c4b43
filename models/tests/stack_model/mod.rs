//! A three-task stack written against the public API only: clients read through the relay
//! of `sessions_models::relay`, whose handler is itself a client of a chardev device, with
//! knobs the built-in relay model does not have (a starved device, a relay author's mistake,
//! small phone and path tables). Shared by the shuttle and std tests (`stack.rs`) and the loom
//! suite (`loom.rs`).
#![allow(dead_code)]

use serde::{Deserialize, Serialize};
use sessions_core::proto::chardev;
use sessions_core::sync::Platform;
use sessions_core::{Ipc, Kernel, KernelConfig, ServerBuilder, Session, Style};
use sessions_models::relay::{self, Mistake, Mode, RELAY};
use sessions_models::{Checker, Expect, Model};

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
    /// How the relay reaches the device.
    pub mode: Mode,
    /// A mistake in the relay.
    pub bug: Option<Mistake>,
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
            mode: Mode::Relay,
            bug: None,
            dispatch: sessions_core::Dispatch::Inline,
            phone_limit: KernelConfig::default().phone_limit,
            path_limit: KernelConfig::default().path_limit,
        }
    }
}

impl Model for Stack {
    fn name(&self) -> String {
        let mut name = format!("stack/{}/{}-{}", self.mode, self.front, self.back);
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
        match self.bug {
            None if self.bytes >= 8 => Expect::Pass,
            None => Expect::Finding(Checker::Deadlock),
            Some(mistake) => mistake.expect(self.back),
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
        let (handler_sess, mode, bug) = (to_dev.clone(), self.mode, self.bug);
        let relay = relay_task.serve(ServerBuilder::new().serve(&RELAY, move |conn| {
            relay::serve(conn, handler_sess.clone(), mode, bug)
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
                    exch.block_on(relay::read(&exch, 4))
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
            Some(Mistake::KeepsExchange) => drop(to_dev.hangup()),
        }
    }
}
