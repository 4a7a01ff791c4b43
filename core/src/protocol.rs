//! Protocols: the public extension point through which servers and traces know interfaces.
//!
//! A [`Protocol`] is a value a crate defines: its id, its name, the names of its methods and,
//! where the protocol fixes one, its exchange style (as HelenOS interface numbers carry it).
//! A server registers a handler for it ([`crate::ServerBuilder::serve`]); the kernel records
//! it in the trace, and traces, reports and diagrams name a call's method through the protocol
//! of the connection it travels on. Method numbers are per protocol (every protocol numbers
//! from [`Method::FIRST_USER`]), so a method has a name only together with its connection.
//!
//! ```
//! use sessions_core::{Method, Protocol, Style};
//!
//! const GET: Method = Method(Method::FIRST_USER);
//! const PUT: Method = Method(Method::FIRST_USER + 1);
//! const KV: Protocol = Protocol {
//!     id: 9,
//!     name: "kv",
//!     methods: &[(GET, "KV_GET"), (PUT, "KV_PUT")],
//!     style: Some(Style::Serialize),
//! };
//! assert_eq!(KV.method_name(GET), Some("KV_GET"));
//! assert_eq!(KV.iface().style(), Style::Serialize);
//! ```

use crate::method::{Iface, Method, Style};
use serde::{Deserialize, Serialize};

/// A protocol: what a server implements and a trace names methods by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Protocol {
    /// The protocol number (the high bits of its interface numbers).
    pub id: u32,
    /// Its name (`chardev`).
    pub name: &'static str,
    /// The name of each of its methods.
    pub methods: &'static [(Method, &'static str)],
    /// The exchange style the protocol fixes, if it fixes one (HelenOS's VFS is PARALLEL, its
    /// file systems SERIALIZE). A server refuses a connection to it in another style.
    pub style: Option<Style>,
}

impl Protocol {
    /// The name of method `m` of this protocol.
    pub fn method_name(&self, m: Method) -> Option<&'static str> {
        self.methods.iter().find(|(n, _)| *n == m).map(|(_, s)| *s)
    }

    /// The interface of this protocol in exchange style `style`.
    pub const fn iface_with(&self, style: Style) -> Iface {
        Iface::new(self.id, style)
    }

    /// The interface of this protocol in the style it fixes.
    ///
    /// # Panics
    /// If the protocol fixes no style: pick one with [`Protocol::iface_with`].
    pub fn iface(&self) -> Iface {
        match self.style {
            Some(style) => self.iface_with(style),
            None => panic!(
                "protocol {} fixes no exchange style: use iface_with(style)",
                self.name
            ),
        }
    }

    /// Whether a client may connect to this protocol in `style`.
    pub fn accepts(&self, style: Style) -> bool {
        self.style.is_none_or(|s| s == style)
    }

    /// What the trace records of this protocol.
    pub fn info(&self) -> ProtocolInfo {
        ProtocolInfo {
            id: self.id,
            name: self.name.to_string(),
            methods: self
                .methods
                .iter()
                .map(|(m, n)| (*m, n.to_string()))
                .collect(),
            style: self.style,
        }
    }
}

/// A protocol as the trace records it: owned, so a trace read back from a file still names
/// its methods.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtocolInfo {
    /// The protocol number.
    pub id: u32,
    /// Its name.
    pub name: String,
    /// The name of each of its methods.
    pub methods: Vec<(Method, String)>,
    /// The style it fixes, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style: Option<Style>,
}

impl ProtocolInfo {
    /// The name of method `m`, if the protocol has one for it.
    pub fn method_name(&self, m: Method) -> Option<&str> {
        self.methods
            .iter()
            .find(|(n, _)| *n == m)
            .map(|(_, s)| s.as_str())
    }
}
