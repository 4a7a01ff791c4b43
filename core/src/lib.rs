//! HelenOS-style async sessions and exchanges on a simulated microkernel IPC layer.
//!
//! A [`Session`] is a logical client-to-server datapath that supports concurrent operations;
//! each operation (one or more IPC calls, such as `CHARDEV_READ` followed by a data read) runs
//! inside an [`Exchange`], so the server never sees the calls of different operations mixed.
//! The kernel underneath ([`Kernel`]) simulates tasks, phone tables, calls and answers,
//! connections, hangup, and the server framework's connection fibrils.
//!
//! Everything that blocks or shares state goes through the sync facade ([`sync`]), so the same
//! code runs on std threads, under shuttle (feature `shuttle`) and under loom
//! (`RUSTFLAGS="--cfg loom"`). Every call carries a ghost [`Tag`] and the kernel records a
//! [`Trace`] of what clients did and what servers saw, for the checkers of `sessions-models`.
//!
//! ```
//! use sessions_core::proto::chardev;
//! use sessions_core::sync::StdPlatform;
//! use sessions_core::{Kernel, KernelConfig, Session, Style};
//!
//! let k = Kernel::<StdPlatform>::new(KernelConfig::default());
//! let dev = k.server("dev", chardev::server(b"abcdefgh"));
//! let client = k.task("client");
//! let sess = Session::connect(&client, &dev, chardev::iface(Style::Parallel), 0, 0).unwrap();
//! let fibrils: Vec<_> = ["A", "B"]
//!     .into_iter()
//!     .map(|name| {
//!         let sess = sess.clone();
//!         client.spawn(name, move || {
//!             let exch = sess.begin()?;
//!             chardev::blocking::read(&exch, 4)
//!         })
//!     })
//!     .collect();
//! let mut got: Vec<Vec<u8>> = fibrils.into_iter().map(|f| f.join().unwrap().unwrap()).collect();
//! got.sort();
//! assert_eq!(got, [b"abcd".to_vec(), b"efgh".to_vec()]);
//! sess.hangup().unwrap();
//! k.finish();
//! ```
//!
//! **Invariant:** server logic never reads ghost state (tags, traces); removing it changes no
//! answer and no schedule.
#![deny(missing_docs)]

pub mod bugs;
pub mod client;
pub mod error;
pub mod ids;
pub mod kernel;
pub mod method;
pub mod proto;
pub mod protocol;
pub mod server;
pub mod sync;
pub mod trace;
mod world;

pub use bugs::Bug;
pub use client::{Aid, AidFuture, Exchange, Ipc, Port, RawPhone, Reply, Session};
pub use error::{Errno, HangupError, IpcError};
pub use ids::*;
pub use kernel::{
    panic_message, Aborted, Fibril, Kernel, Killed, Task, DEADLOCK_PANIC, USAGE_PANIC,
};
pub use method::{Iface, Method, Style};
pub use protocol::{Protocol, ProtocolInfo};
pub use server::{Call, Conn, DataRead, DataWrite, Refused, ServerBuilder, ServerRef};
pub use trace::{Event, Tag, Trace, TraceLevel, TraceLog};

use serde::{Deserialize, Serialize};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

/// Where server handlers run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dispatch {
    /// In the critical section of whoever made them ready (the sending client, usually): no
    /// server threads at all, the smallest state space for model checkers.
    #[default]
    Inline,
    /// On one dispatcher thread per server task, so server work interleaves with clients.
    Threaded,
}

/// Parameters of a simulated kernel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KernelConfig {
    /// Size of every task's phone table (HelenOS's `IPC_MAX_PHONES`).
    pub phone_limit: u32,
    /// Unanswered calls a phone may have (HelenOS's `IPC_MAX_ASYNC_CALLS`).
    pub call_limit: u32,
    /// Virtual paths a multiplexed session may have open at once.
    pub path_limit: u32,
    /// Where server handlers run.
    pub dispatch: Dispatch,
    /// What the trace records.
    pub trace: TraceLevel,
    /// An injected bug (needs the `bugs` feature).
    pub bug: Option<Bug>,
}

impl Default for KernelConfig {
    fn default() -> Self {
        KernelConfig {
            phone_limit: 64,
            call_limit: 64,
            path_limit: 16,
            dispatch: Dispatch::Inline,
            trace: TraceLevel::Full,
            bug: None,
        }
    }
}

impl KernelConfig {
    /// Checks that the configuration can run.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (field, value) in [
            ("phone_limit", self.phone_limit),
            ("call_limit", self.call_limit),
            ("path_limit", self.path_limit),
        ] {
            if value == 0 {
                return Err(ConfigError::ZeroLimit(field));
            }
        }
        if self.bug.is_some() && !Bug::COMPILED {
            return Err(ConfigError::BugsNotCompiled);
        }
        Ok(())
    }
}

/// Why a [`KernelConfig`] cannot run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// The named limit (`"phone_limit"`, ...) is zero.
    ZeroLimit(&'static str),
    /// A bug is injected but sessions-core was built without the `bugs` feature.
    BugsNotCompiled,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigError::ZeroLimit(field) => write!(f, "{field} must be at least 1"),
            ConfigError::BugsNotCompiled => f.write_str(
                "bugs can only be injected when sessions-core is built with the `bugs` feature",
            ),
        }
    }
}

impl std::error::Error for ConfigError {}
