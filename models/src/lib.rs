//! The model-checking harness of `sessions-core`.
//!
//! - [`check`]: checkers, pure functions from a recorded [`TraceLog`](sessions_core::TraceLog)
//!   to every [`Violation`] in it.
//! - [`model`]: the [`Model`] trait: a program over the kernel, written once, generic over the
//!   sync facade's backend.
//! - [`driver`]: runs a model on std threads, under shuttle (random, PCT, DFS, replay) or under
//!   loom (`--cfg loom`), checking every execution.
//! - [`failure`]: failing runs as self-contained, versioned files, and their replay.
//! - [`quiet`]: expected panics (every failing execution is one) kept off standard error.
//! - [`harness`]: [`assert_model`], the one-line test that saves a failure file when it fails.
//! - [`builtin`]: the built-in models (the design note's examples, the checklist's hard cases,
//!   and one model per injected bug).
#![deny(missing_docs)]

pub mod builtin;
pub mod callback;
pub mod check;
pub mod driver;
pub mod failure;
pub mod harness;
pub mod model;
pub mod quiet;
pub mod relay;
pub mod trace_stats;
pub mod violation;

pub use builtin::{Builtin, BuiltinModel};
pub use driver::{Backend, Finding, Hooks, LoomOptions, Outcome, Schedule, Scheduler};
pub use harness::assert_model;
pub use model::{Expect, Model, Verdict};
pub use violation::{Checker, Violation};
