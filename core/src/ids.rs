//! Identifiers of simulated kernel objects.
//!
//! Every id is an index allocated in execution order inside the world lock and never reused
//! within one kernel, so the same schedule always yields the same ids: traces and snapshots
//! can name objects by them.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u32);

        impl $name {
            /// The id as an index.
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "{}"), self.0)
            }
        }
    };
}

id!(
    /// A task (an address space with a phone table): a client or a server.
    TaskId, "task"
);
id!(
    /// A fibril: a thread of control inside a task. Fibril 0 is the model's main fibril.
    FibrilId, "fibril"
);
id!(
    /// A phone: a task's handle on a connection.
    PhoneId, "phone"
);
id!(
    /// A server-side connection, created by one `CONNECT_ME_TO`.
    ConnId, "conn"
);
id!(
    /// An IPC call.
    CallId, "call"
);
id!(
    /// A session.
    SessId, "sess"
);
id!(
    /// One exchange: the span from a begin to its end.
    ExchId, "exch"
);
id!(
    /// An exchange object: what the session caches between exchanges (a phone and its
    /// bookkeeping). Several exchanges may reuse one object, one after the other.
    ObjId, "obj"
);
id!(
    /// A virtual path on a multiplexed connection. Path 0 is the connection itself.
    PathId, "path"
);
id!(
    /// An operation: the calls a client stub makes for one logical request, numbered per
    /// kernel in the order operations send their first call.
    OpId, "op"
);

impl FibrilId {
    /// The model's main fibril: the thread that builds the kernel.
    pub const MAIN: FibrilId = FibrilId(0);
}

impl PathId {
    /// The only path of a connection that is not multiplexed.
    pub const CONN: PathId = PathId(0);
}
