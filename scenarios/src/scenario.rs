//! The scenario language: what fibrils do on which sessions, as a value that serializes to
//! JSON a person can write by hand.
//!
//! ```json
//! {
//!   "style": "parallel",
//!   "phone_limit": 4,
//!   "servers": [{ "name": "dev", "data": "abcdefgh" }],
//!   "sessions": [{ "server": 0 }],
//!   "fibrils": [
//!     { "name": "A", "ops": [{ "op": "read", "session": 0, "size": 4 }] },
//!     { "name": "B", "ops": [{ "op": "read", "session": 0, "size": 4 }] }
//!   ]
//! }
//! ```
//!
//! A scenario is a [`Model`]: the harness runs it under every backend and checks every
//! execution. Besides the trace checkers, each operation's result is an oracle of its own: an
//! error is accepted only where the scenario explains it (the session was hung up, the server
//! hung up, the call limit is below what the fibrils need); any other error fails the run.

use serde::{Deserialize, Serialize};
use sessions_core::proto::chardev::{self, Device, Fault};
use sessions_core::sync::Platform;
use sessions_core::{Bug, Dispatch, Exchange, Ipc, IpcError, Kernel, KernelConfig, Session, Style};
use sessions_models::{Expect, Model};
use std::fmt;

/// Most fibrils a scenario may have (with the main thread and a dispatcher per server, it
/// still fits loom's five threads for one server).
pub const MAX_FIBRILS: usize = 3;
/// Most operations a fibril may have.
pub const MAX_OPS: usize = 8;
/// Most sessions.
pub const MAX_SESSIONS: usize = 4;
/// Most servers.
pub const MAX_SERVERS: usize = 2;
/// Largest read or write, in bytes.
pub const MAX_SIZE: usize = 64;

/// A scenario.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// A name for reports; derived from the contents when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The exchange style of sessions that do not name their own.
    pub style: Style,
    /// The client task's phone table size.
    pub phone_limit: u32,
    /// Unanswered calls a phone may have.
    #[serde(default = "default_call_limit")]
    pub call_limit: u32,
    /// Virtual paths a multiplexed session may have open at once.
    #[serde(default = "default_path_limit")]
    pub path_limit: u32,
    /// Where server handlers run.
    #[serde(default)]
    pub dispatch: Dispatch,
    /// Character-device servers.
    pub servers: Vec<ServerSpec>,
    /// Sessions the main fibril opens before the fibrils start.
    pub sessions: Vec<SessionSpec>,
    /// The fibrils and their operations.
    pub fibrils: Vec<FibrilSpec>,
    /// What the harness should find (default: nothing).
    #[serde(default = "default_expect", skip_serializing_if = "is_pass")]
    pub expect: Expect,
    /// An injected bug (needs the `bugs` feature of sessions-core).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bug: Option<Bug>,
}

fn default_call_limit() -> u32 {
    64
}

fn default_path_limit() -> u32 {
    16
}

fn default_expect() -> Expect {
    Expect::Pass
}

fn is_pass(e: &Expect) -> bool {
    *e == Expect::Pass
}

/// A character-device server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSpec {
    /// The server task's name.
    pub name: String,
    /// Bytes the device holds at the start.
    #[serde(default)]
    pub data: String,
    /// The first read's connection dies before answering (the server crashes mid-exchange).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub close_mid_read: bool,
}

/// A session to one of the servers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionSpec {
    /// Index into `servers`.
    pub server: usize,
    /// The session's own exchange style.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub style: Option<Style>,
}

/// A fibril and what it does, in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FibrilSpec {
    /// Its name (`A`).
    pub name: String,
    /// Its operations.
    pub ops: Vec<Op>,
}

/// One operation inside an exchange that holds several.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// chardev `read` of up to `size` bytes.
    Read {
        /// Bytes wanted.
        size: usize,
    },
    /// chardev `write`.
    Write {
        /// The bytes.
        data: String,
    },
}

/// What a fibril does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Op {
    /// chardev `read` in its own exchange.
    Read {
        /// Index into `sessions`.
        session: usize,
        /// Bytes wanted.
        size: usize,
    },
    /// chardev `write` in its own exchange.
    Write {
        /// Index into `sessions`.
        session: usize,
        /// The bytes.
        data: String,
    },
    /// A read like HelenOS's `vfs_read_short`: send, data read, end the exchange, then wait
    /// for the first answer.
    ReadShort {
        /// Index into `sessions`.
        session: usize,
        /// Bytes wanted.
        size: usize,
    },
    /// Several operations in one exchange.
    Exchange {
        /// Index into `sessions`.
        session: usize,
        /// The operations, in order.
        steps: Vec<Step>,
    },
    /// An exchange on `outer`, and inside it one on `inner`: `step` runs on the inner one,
    /// then on the outer one.
    Nested {
        /// The outer session.
        outer: usize,
        /// The inner session (another one).
        inner: usize,
        /// What runs on each.
        step: Step,
    },
    /// Sends both calls of a read, ends the exchange at once, then waits for both answers.
    EarlyEnd {
        /// Index into `sessions`.
        session: usize,
        /// Bytes wanted.
        size: usize,
    },
    /// Sends both calls of a read and forgets both answers.
    Forget {
        /// Index into `sessions`.
        session: usize,
        /// Bytes wanted.
        size: usize,
    },
    /// Hangs the session up (refused as busy while exchanges are active).
    Hangup {
        /// Index into `sessions`.
        session: usize,
    },
    /// Asks the server to hang up its side of the exchange's connection.
    ServerHangup {
        /// Index into `sessions`.
        session: usize,
    },
}

impl Op {
    /// The sessions the operation uses.
    pub fn sessions(&self) -> Vec<usize> {
        match self {
            Op::Read { session, .. }
            | Op::Write { session, .. }
            | Op::ReadShort { session, .. }
            | Op::Exchange { session, .. }
            | Op::EarlyEnd { session, .. }
            | Op::Forget { session, .. }
            | Op::Hangup { session }
            | Op::ServerHangup { session } => vec![*session],
            Op::Nested { outer, inner, .. } => vec![*outer, *inner],
        }
    }

    /// Bytes the operation asks the device for.
    pub fn bytes_read(&self) -> usize {
        let step = |s: &Step| {
            if let Step::Read { size } = s {
                *size
            } else {
                0
            }
        };
        match self {
            Op::Read { size, .. }
            | Op::ReadShort { size, .. }
            | Op::EarlyEnd { size, .. }
            | Op::Forget { size, .. } => *size,
            Op::Exchange { steps, .. } => steps.iter().map(step).sum(),
            Op::Nested { step: s, .. } => 2 * step(s),
            Op::Write { .. } | Op::Hangup { .. } | Op::ServerHangup { .. } => 0,
        }
    }

    /// Bytes the operation writes to the device.
    pub fn bytes_written(&self) -> usize {
        let step = |s: &Step| {
            if let Step::Write { data } = s {
                data.len()
            } else {
                0
            }
        };
        match self {
            Op::Write { data, .. } => data.len(),
            Op::Exchange { steps, .. } => steps.iter().map(step).sum(),
            Op::Nested { step: s, .. } => 2 * step(s),
            _ => 0,
        }
    }

    /// Calls the operation may have unanswered at once on one phone.
    fn calls_in_flight(&self) -> u32 {
        match self {
            Op::Hangup { .. } | Op::ServerHangup { .. } => 1,
            _ => 2,
        }
    }

    /// Exchanges the operation holds at once.
    fn exchanges(&self) -> u32 {
        match self {
            Op::Nested { .. } => 2,
            Op::Hangup { .. } => 0,
            _ => 1,
        }
    }

    /// A short description (`read s0 4`).
    pub fn describe(&self) -> String {
        let step = |s: &Step| match s {
            Step::Read { size } => format!("read {size}"),
            Step::Write { data } => format!("write {}", data.len()),
        };
        match self {
            Op::Read { session, size } => format!("read s{session} {size}"),
            Op::Write { session, data } => format!("write s{session} {}", data.len()),
            Op::ReadShort { session, size } => format!("read-short s{session} {size}"),
            Op::Exchange { session, steps } => {
                format!(
                    "exchange s{session} [{}]",
                    steps.iter().map(step).collect::<Vec<_>>().join(", ")
                )
            }
            Op::Nested {
                outer,
                inner,
                step: s,
            } => format!("nested s{outer}>s{inner} {}", step(s)),
            Op::EarlyEnd { session, size } => format!("early-end s{session} {size}"),
            Op::Forget { session, size } => format!("forget s{session} {size}"),
            Op::Hangup { session } => format!("hangup s{session}"),
            Op::ServerHangup { session } => format!("server-hangup s{session}"),
        }
    }
}

impl Scenario {
    /// Parses a scenario from JSON and validates it.
    pub fn from_json(text: &str) -> Result<Scenario, String> {
        let s: Scenario =
            serde_json::from_str(text).map_err(|e| format!("malformed scenario: {e}"))?;
        s.validate()?;
        Ok(s)
    }

    /// The scenario as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a scenario serializes")
    }

    /// The style of session `i`.
    pub fn session_style(&self, i: usize) -> Style {
        self.sessions[i].style.unwrap_or(self.style)
    }

    /// Total operations.
    pub fn op_count(&self) -> usize {
        self.fibrils.iter().map(|f| f.ops.len()).sum()
    }

    /// Checks that the scenario can run: every index is in range, the device starts with or is
    /// written enough bytes for every read, and the limits leave room for what the fibrils hold
    /// at once. (Generated scenarios are stricter: their devices hold every byte read from the
    /// start, so no read ever waits.)
    pub fn validate(&self) -> Result<(), String> {
        let err = |m: String| Err(m);
        if self.servers.is_empty() || self.servers.len() > MAX_SERVERS {
            return err(format!(
                "a scenario needs 1 to {MAX_SERVERS} servers, not {}",
                self.servers.len()
            ));
        }
        if self.sessions.is_empty() || self.sessions.len() > MAX_SESSIONS {
            return err(format!(
                "a scenario needs 1 to {MAX_SESSIONS} sessions, not {}",
                self.sessions.len()
            ));
        }
        if self.fibrils.is_empty() || self.fibrils.len() > MAX_FIBRILS {
            return err(format!(
                "a scenario needs 1 to {MAX_FIBRILS} fibrils, not {}",
                self.fibrils.len()
            ));
        }
        if self.dispatch == Dispatch::Threaded && self.fibrils.len() + self.servers.len() + 1 > 5 {
            return err(
                "with threaded dispatch, fibrils + servers + 1 must not exceed loom's 5 threads"
                    .into(),
            );
        }
        if self.call_limit == 0 || self.path_limit == 0 {
            return err("call_limit and path_limit must be at least 1".into());
        }
        for (i, s) in self.sessions.iter().enumerate() {
            if s.server >= self.servers.len() {
                return err(format!(
                    "session {i} names server {} but there are {}",
                    s.server,
                    self.servers.len()
                ));
            }
        }
        let mut names: Vec<&str> = Vec::new();
        for f in &self.fibrils {
            if f.name.is_empty() || f.name == "main" || names.contains(&f.name.as_str()) {
                return err(format!(
                    "fibril name `{}` is empty, reserved or used twice",
                    f.name
                ));
            }
            names.push(&f.name);
            if f.ops.is_empty() || f.ops.len() > MAX_OPS {
                return err(format!("fibril {} needs 1 to {MAX_OPS} operations", f.name));
            }
            for op in &f.ops {
                self.validate_op(&f.name, op)?;
            }
        }
        let sessions = self.sessions.len() as u32;
        if self.phone_limit < sessions {
            return err(format!(
                "phone_limit {} cannot even hold the {sessions} sessions' own phones",
                self.phone_limit
            ));
        }
        // PARALLEL exchanges need a phone each; a fibril may hold two at once (nested). With
        // fewer phones than that, fibrils can each hold one and wait for another forever: a
        // real deadlock of the protocol's use, not of the framework.
        let parallel = (0..self.sessions.len()).any(|i| self.session_style(i) == Style::Parallel);
        let held: u32 = self
            .fibrils
            .iter()
            .map(|f| f.ops.iter().map(Op::exchanges).max().unwrap_or(0))
            .sum();
        let nested = self
            .fibrils
            .iter()
            .any(|f| f.ops.iter().any(|o| matches!(o, Op::Nested { .. })));
        if parallel && nested && self.phone_limit < sessions + held {
            return err(format!(
                "phone_limit {} is below {sessions} session phones + {held} exchanges the fibrils may hold at once: they could deadlock waiting for each other's phones",
                self.phone_limit
            ));
        }
        if parallel && self.phone_limit < sessions + 1 {
            return err(format!(
                "phone_limit {} leaves no phone to clone for PARALLEL exchanges",
                self.phone_limit
            ));
        }
        let concurrent = self.fibrils.len() as u32;
        if (0..self.sessions.len()).any(|i| self.session_style(i) == Style::Multiplexed)
            && self.path_limit < concurrent
        {
            return err(format!(
                "path_limit {} is below the {concurrent} fibrils' exchanges",
                self.path_limit
            ));
        }
        for (si, server) in self.servers.iter().enumerate() {
            let on_server = |op: &&Op| op.sessions().iter().any(|s| self.sessions[*s].server == si);
            let ops = || self.fibrils.iter().flat_map(|f| &f.ops).filter(on_server);
            let wanted: usize = ops().map(Op::bytes_read).sum();
            let written: usize = ops().map(Op::bytes_written).sum();
            if wanted > server.data.len() + written {
                return err(format!(
                    "server {} starts with {} bytes and is written {written} more, but the reads want up to {wanted}: a read would wait forever",
                    server.name,
                    server.data.len()
                ));
            }
        }
        Ok(())
    }

    fn validate_op(&self, fibril: &str, op: &Op) -> Result<(), String> {
        let bad = |m: String| Err(format!("fibril {fibril}, `{}`: {m}", op.describe()));
        for s in op.sessions() {
            if s >= self.sessions.len() {
                return bad(format!(
                    "session {s} does not exist ({} sessions)",
                    self.sessions.len()
                ));
            }
        }
        let size_ok = |n: usize| (1..=MAX_SIZE).contains(&n);
        let step_ok = |s: &Step| match s {
            Step::Read { size } => size_ok(*size),
            Step::Write { data } => size_ok(data.len()),
        };
        match op {
            Op::Read { size, .. }
            | Op::ReadShort { size, .. }
            | Op::EarlyEnd { size, .. }
            | Op::Forget { size, .. }
                if !size_ok(*size) =>
            {
                bad(format!("sizes must be 1 to {MAX_SIZE} bytes"))
            }
            Op::Write { data, .. } if !size_ok(data.len()) => {
                bad(format!("writes must be 1 to {MAX_SIZE} bytes"))
            }
            Op::Exchange { steps, .. }
                if steps.is_empty() || steps.len() > 4 || !steps.iter().all(step_ok) =>
            {
                bad(format!(
                    "an exchange holds 1 to 4 steps of 1 to {MAX_SIZE} bytes"
                ))
            }
            Op::Nested { outer, inner, step } => {
                if outer >= inner {
                    return bad("nested exchanges go from a lower session to a higher one (one lock order for every fibril)".into());
                }
                if !step_ok(step) {
                    return bad(format!("steps are 1 to {MAX_SIZE} bytes"));
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Whether an error from an operation on `session` is explained by the scenario itself.
    fn explains(&self, session: usize, e: &IpcError) -> bool {
        let any_op = |f: &dyn Fn(&Op) -> bool| self.fibrils.iter().flat_map(|fb| &fb.ops).any(f);
        match e {
            IpcError::SessionClosed => {
                any_op(&|o| matches!(o, Op::Hangup { session: s } if *s == session))
            }
            IpcError::Hangup | IpcError::Slammed => {
                any_op(&|o| matches!(o, Op::ServerHangup { session: s } if *s == session))
                    || self.servers[self.sessions[session].server].close_mid_read
            }
            // A refused send cuts an operation short and breaks an ATOMIC or SERIALIZE
            // session: only a call limit below what the fibrils need refuses sends.
            IpcError::CallLimit | IpcError::Broken => {
                let need: u32 = self
                    .fibrils
                    .iter()
                    .map(|f| f.ops.iter().map(Op::calls_in_flight).max().unwrap_or(0))
                    .sum();
                self.call_limit < need
            }
            _ => false,
        }
    }

    fn device(&self, i: usize) -> Device {
        let s = &self.servers[i];
        Device {
            fault: s.close_mid_read.then_some(Fault::CloseMidRead),
            ..Device::new(s.data.as_bytes())
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name())?;
        for fb in &self.fibrils {
            let ops: Vec<String> = fb.ops.iter().map(Op::describe).collect();
            write!(f, "\n  {}: {}", fb.name, ops.join("; "))?;
        }
        Ok(())
    }
}

/// What one operation returned.
type OpResult = Result<(), IpcError>;

fn run_step(exch: &Exchange, step: &Step) -> OpResult {
    match step {
        Step::Read { size } => chardev::blocking::read(exch, *size).map(|_| ()),
        Step::Write { data } => chardev::blocking::write(exch, data.as_bytes()).map(|_| ()),
    }
}

fn run_op(sessions: &[Session], op: &Op) -> OpResult {
    match op {
        Op::Read { session, size } => {
            chardev::blocking::read(&sessions[*session].begin()?, *size).map(|_| ())
        }
        Op::Write { session, data } => {
            chardev::blocking::write(&sessions[*session].begin()?, data.as_bytes()).map(|_| ())
        }
        Op::ReadShort { session, size } => {
            chardev::blocking::read_short(sessions[*session].begin()?, *size).map(|_| ())
        }
        Op::Exchange { session, steps } => {
            let exch = sessions[*session].begin()?;
            steps.iter().try_for_each(|s| run_step(&exch, s))
        }
        Op::Nested { outer, inner, step } => {
            let o = sessions[*outer].begin()?;
            let i = sessions[*inner].begin()?;
            run_step(&i, step)?;
            i.end();
            run_step(&o, step)
        }
        Op::EarlyEnd { session, size } => {
            let exch = sessions[*session].begin()?;
            exch.op("chardev.read");
            let r1 = exch.send(chardev::READ, &[*size as u64])?;
            let r2 = exch.send_data_read(*size)?;
            exch.end();
            r1.wait_for()?;
            r2.wait_for().map(|_| ())
        }
        Op::Forget { session, size } => {
            let exch = sessions[*session].begin()?;
            exch.op("chardev.read");
            let r1 = exch.send(chardev::READ, &[*size as u64])?;
            let r2 = exch.send_data_read(*size)?;
            r1.forget();
            r2.forget();
            Ok(())
        }
        Op::Hangup { session } => match sessions[*session].clone().hangup() {
            Ok(()) => Ok(()),
            Err(e) if matches!(e.error, IpcError::Busy | IpcError::SessionClosed) => Ok(()),
            Err(e) => Err(e.error),
        },
        Op::ServerHangup { session } => chardev::blocking::close(&sessions[*session].begin()?),
    }
}

impl Model for Scenario {
    fn name(&self) -> String {
        if let Some(n) = &self.name {
            return n.clone();
        }
        let mut name = format!(
            "scenario/{}/{}f{}o",
            self.style,
            self.fibrils.len(),
            self.op_count()
        );
        if let Some(b) = self.bug {
            name.push_str(&format!("+bug:{b}"));
        }
        name
    }

    fn config(&self) -> KernelConfig {
        KernelConfig {
            phone_limit: self.phone_limit,
            call_limit: self.call_limit,
            path_limit: self.path_limit,
            dispatch: self.dispatch,
            bug: self.bug,
            ..KernelConfig::default()
        }
    }

    fn expect(&self) -> Expect {
        match (self.expect, self.bug) {
            (Expect::Pass, Some(b)) => Expect::Finding(sessions_models::builtin::bug_checker(b)),
            (e, _) => e,
        }
    }

    fn threads(&self) -> usize {
        let dispatchers = if self.dispatch == Dispatch::Threaded {
            self.servers.len()
        } else {
            0
        };
        1 + self.fibrils.len() + dispatchers
    }

    fn run<P: Platform>(&self, k: &Kernel<P>) {
        let servers: Vec<_> = (0..self.servers.len())
            .map(|i| k.server(&self.servers[i].name, chardev::server_with(self.device(i))))
            .collect();
        let client = k.task("client");
        let sessions: Vec<Session> = self
            .sessions
            .iter()
            .enumerate()
            .map(|(i, s)| {
                Session::connect(
                    &client,
                    &servers[s.server],
                    chardev::iface(self.session_style(i)),
                    0,
                    0,
                )
                .unwrap_or_else(|e| panic!("connecting session {i}: {e}"))
            })
            .collect();
        let fibrils: Vec<_> = self
            .fibrils
            .iter()
            .map(|f| {
                let sessions = sessions.clone();
                let ops = f.ops.clone();
                client.spawn(&f.name, move || {
                    ops.iter()
                        .map(|op| run_op(&sessions, op))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let strict = self.expect() == Expect::Pass;
        for (spec, fibril) in self.fibrils.iter().zip(fibrils) {
            let results = match fibril.join() {
                Ok(r) => r,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            for (op, r) in spec.ops.iter().zip(results) {
                if let Err(e) = r {
                    assert!(
                        !strict || op.sessions().into_iter().any(|s| self.explains(s, &e)),
                        "fibril {}, `{}`: unexpected error: {e}",
                        spec.name,
                        op.describe()
                    );
                }
            }
        }
        for s in sessions {
            match s.hangup() {
                Ok(())
                | Err(sessions_core::HangupError {
                    error: IpcError::SessionClosed,
                    ..
                }) => {}
                Err(e) => panic!("final hangup: {}", e.error),
            }
        }
    }
}
