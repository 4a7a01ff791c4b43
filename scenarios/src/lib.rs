//! Scenarios, trace rendering and the `sessions` command line.
//!
//! - [`scenario`]: the scenario language, a [`Model`](sessions_models::Model) written as data.
//! - [`gen`]: proptest and `arbitrary` generation of valid scenarios with their PCT seeds.
//! - [`fuzz`]: the libFuzzer entry point, also run on a fixed corpus by `cargo test`.
//! - [`render`]: traces drawn as text swimlanes, mermaid, SVG and HTML sequence diagrams.
#![deny(missing_docs)]

pub mod any;
pub mod bench;
pub mod fuzz;
pub mod gen;
pub mod render;
pub mod scenario;

pub use any::AnyModel;
pub use gen::Case;
pub use scenario::Scenario;
