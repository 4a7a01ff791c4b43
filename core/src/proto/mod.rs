//! Protocols built on the framework, each with its client stubs and its server. They use only
//! the public API: a crate outside this one could define them the same way.

pub mod chardev;
