//! IPC method numbers, interfaces and exchange styles.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An IPC method number. Values below [`Method::FIRST_USER`] belong to the kernel and the async
/// framework; protocols number theirs from there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Method(pub u32);

impl Method {
    /// `IPC_M_PHONE_HUNGUP`: the last message of every connection a client hangs up.
    pub const HANGUP: Method = Method(0);
    /// `IPC_M_CONNECT_ME_TO`: asks the server for a new connection (and the caller for a phone).
    pub const CONNECT_ME_TO: Method = Method(1);
    /// `IPC_M_DATA_WRITE`: moves bytes from the client's buffer to the server.
    pub const DATA_WRITE: Method = Method(2);
    /// `IPC_M_DATA_READ`: moves bytes from the server into the client's buffer.
    pub const DATA_READ: Method = Method(3);
    /// Ends one virtual path of a multiplexed connection (the path's own hangup).
    pub const PATH_END: Method = Method(4);
    /// `IPC_M_CONNECT_TO_ME(iface, arg2, arg3)`: offers the server a phone back to a port of
    /// the caller's own (a callback session; see [`crate::Conn::callback_receive`]).
    pub const CONNECT_TO_ME: Method = Method(5);
    /// The first method number protocols may use (`IPC_FIRST_USER_METHOD`).
    pub const FIRST_USER: u32 = 1024;

    /// The name of a kernel or framework method (`HANGUP`, `DATA_READ`, ...); a protocol's
    /// methods are named by their [`crate::Protocol`], through the connection they travel on
    /// (see [`crate::trace::Names`]).
    pub fn kernel_name(self) -> Option<&'static str> {
        Some(match self {
            Method::HANGUP => "HANGUP",
            Method::CONNECT_ME_TO => "CONNECT_ME_TO",
            Method::DATA_WRITE => "DATA_WRITE",
            Method::DATA_READ => "DATA_READ",
            Method::PATH_END => "PATH_END",
            Method::CONNECT_TO_ME => "CONNECT_TO_ME",
            _ => return None,
        })
    }
}

/// A kernel method by its name, any other by its number (`M1024`): without its connection a
/// method number has no protocol to be named by.
impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kernel_name() {
            Some(name) => f.write_str(name),
            None => write!(f, "M{}", self.0),
        }
    }
}

/// How a session keeps the calls of concurrent exchanges apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Style {
    /// All exchanges share the session phone, with no exclusion: only single-call operations
    /// are safe.
    Atomic,
    /// One exchange at a time on the session phone, granted in FIFO order.
    Serialize,
    /// Every concurrent exchange gets its own cloned phone (its own server connection).
    Parallel,
    /// One phone; every exchange is a virtual path whose id travels in every call.
    Multiplexed,
}

impl Style {
    /// Every style, in declaration order.
    pub const ALL: [Style; 4] = [
        Style::Atomic,
        Style::Serialize,
        Style::Parallel,
        Style::Multiplexed,
    ];

    /// Lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Style::Atomic => "atomic",
            Style::Serialize => "serialize",
            Style::Parallel => "parallel",
            Style::Multiplexed => "multiplexed",
        }
    }

    /// HelenOS's exchange-style bits in an interface number (`IFACE_EXCHANGE_MASK`); the
    /// multiplexed style takes the value HelenOS leaves unused.
    pub fn bits(self) -> u32 {
        match self {
            Style::Atomic => 0,
            Style::Serialize => 1,
            Style::Parallel => 2,
            Style::Multiplexed => 3,
        }
    }

    /// The style encoded in an interface number's low two bits.
    pub fn from_bits(bits: u32) -> Style {
        match bits & 3 {
            0 => Style::Atomic,
            1 => Style::Serialize,
            2 => Style::Parallel,
            _ => Style::Multiplexed,
        }
    }
}

impl fmt::Display for Style {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Style {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Style::ALL
            .into_iter()
            .find(|st| st.name() == s)
            .ok_or_else(|| format!("unknown exchange style `{s}` (expected atomic, serialize, parallel or multiplexed)"))
    }
}

/// An interface number as HelenOS builds it: a protocol id in the high bits and the exchange
/// style in the low two (`iface & IFACE_EXCHANGE_MASK`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Iface(pub u32);

impl Iface {
    /// The interface of protocol `protocol` used with exchange style `style`.
    pub const fn new(protocol: u32, style: Style) -> Iface {
        let bits = match style {
            Style::Atomic => 0,
            Style::Serialize => 1,
            Style::Parallel => 2,
            Style::Multiplexed => 3,
        };
        Iface((protocol << 4) | bits)
    }

    /// The protocol part: what servers register handlers for.
    pub fn protocol(self) -> u32 {
        self.0 >> 4
    }

    /// The exchange style both sides agree on.
    pub fn style(self) -> Style {
        Style::from_bits(self.0)
    }
}

/// `protocol7/parallel`: the protocol by number (its name is in [`crate::trace::Names`]).
impl fmt::Display for Iface {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "protocol{}/{}", self.protocol(), self.style())
    }
}
