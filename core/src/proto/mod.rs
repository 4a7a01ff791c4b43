//! Protocols built on the framework: client stubs and servers.

pub mod chardev;

use crate::method::Method;

/// The name of a protocol method this crate knows.
pub(crate) fn method_name(m: Method) -> Option<&'static str> {
    chardev::method_name(m)
}

/// The name of a protocol this crate knows.
pub(crate) fn protocol_name(protocol: u32) -> Option<&'static str> {
    (protocol == chardev::PROTOCOL).then_some("chardev")
}
