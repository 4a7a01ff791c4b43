//! The built-in models: the design note's examples and the checklist's hard cases.
//!
//! Each model asserts what the system must return (right bytes, the documented errors);
//! the harness checks the trace of every execution afterwards.

use crate::callback;
use crate::model::{Expect, Model};
use crate::relay::{self, Mode};
use crate::violation::Checker;
use serde::{Deserialize, Serialize};
use sessions_core::proto::chardev::{self, Device, Fault};
use sessions_core::sync::Platform;
use sessions_core::{
    Bug, Dispatch, Exchange, Iface, Ipc, IpcError, Kernel, KernelConfig, ServerBuilder, Session,
    Style,
};
use std::fmt;

/// A built-in model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Builtin {
    /// The design note's example: fibrils A and B call chardev `read` concurrently on one
    /// session, `reads` times each.
    SeedRead {
        /// The session's exchange style.
        style: Style,
        /// Reads per fibril (more than one exercises the exchange cache).
        reads: u32,
    },
    /// The note's second wish: A reads an empty device while B writes to it through the same
    /// session. Under SERIALIZE this deadlocks: B waits for the exchange A holds.
    WriteWhileRead {
        /// The session's exchange style.
        style: Style,
    },
    /// The note's "before" picture: A and B call chardev `read` on the session phone with no
    /// exchange at all. The server sees (AR1, BR1, AR2, BR2).
    NaivePhone,
    /// Two-call operations on an ATOMIC session: exchanges share the phone without exclusion.
    AtomicTwoCall,
    /// PARALLEL sessions with a phone table so small that clone failure, reclaim and waiting
    /// all happen: S1 (fibrils A and C) and S2 (fibril B) share one spare phone.
    PhoneExhaustion,
    /// One spare phone, two fibrils of one PARALLEL session: B waits until A's exchange ends.
    WaitForPhone,
    /// A multiplexed session allowed one virtual path: B's begin waits until the server has
    /// freed A's path.
    WaitForPath,
    /// Session hangup while an exchange is active (refused as busy, then done), and, under
    /// PARALLEL, while a fibril waits for a phone (the waiter is woken with an error).
    Hangup {
        /// The two sessions' exchange style (PARALLEL or MULTIPLEXED).
        style: Style,
    },
    /// The server's connection dies in the middle of a read: the client gets errors, not a
    /// hang, and nothing leaks.
    ServerDies {
        /// The session's exchange style.
        style: Style,
    },
    /// A multiplexed exchange ends before its answers arrive (like `vfs_read_short`) and the
    /// next exchange must not land on the path the server still holds.
    EarlyEnd,
    /// A refused send cuts an operation in half: fibril A forgets a read of the empty device,
    /// so its phone is one call short of the call limit, and its write's data call is refused
    /// with ELIMIT after the write's first call reached the server. Then fibril B reads on
    /// the same session. The framework must not hand A's connection, whose server waits for
    /// the rest of the write, to B as if it were clean: under PARALLEL B gets a fresh clone,
    /// under SERIALIZE the session is broken and B is told so, under MULTIPLEXED the path dies
    /// with A's exchange (and B may find the shared phone at its call limit).
    CutShort {
        /// The session's exchange style.
        style: Style,
    },
    /// A SERIALIZE and a PARALLEL session share a full phone table. The SERIALIZE session's
    /// cached exchange, a wrapper of its main phone, heads the task's inactive list when the
    /// PARALLEL session runs out of phones: reclaim must pass it over (HelenOS's suspect S1).
    MixedExhaustion,
    /// Fibrils A and B hang up one PARALLEL session (through two handles of it) while fibril
    /// C holds `async_sess_mutex` across a clone round trip of another session (server
    /// threads, so the answer takes a while): both hangups may queue behind C. Exactly one must
    /// succeed; the other is told the session is closed.
    HangupRace,
    /// A stack of three tasks: fibrils A and B each read 4 bytes concurrently through a relay
    /// server, on one client session of style `front`; the relay's handler is itself a
    /// client: it reads from a chardev device on the relay's own session of style `back`, by
    /// reading there and handing the bytes on, or by forwarding the client's data read
    /// ([`crate::relay`]).
    Relay {
        /// The clients' session to the relay.
        front: Style,
        /// The relay's session to the device.
        back: Style,
        /// How the relay reaches the device.
        mode: crate::relay::Mode,
    },
    /// A callback session: the client serves a `notify` port and registers it with a hub
    /// (`CONNECT_TO_ME`); fibrils A and B each ask the hub, on their own exchanges, to call
    /// them back, and the hub's handlers do so on its session of style `style` to the port
    /// ([`crate::callback`]). A PARALLEL callback session's clones reach the port because the
    /// hub names it with `args_set`.
    Callback {
        /// The hub's callback session's style.
        style: Style,
    },
    /// The device's server task is killed while fibrils A and B each read from it on one
    /// session of `style`: a fibril of the main task kills it at an explored point. Every read
    /// returns the right bytes or an error, never hangs, and the clients' session still hangs
    /// up cleanly.
    ServerKilled {
        /// The session's exchange style.
        style: Style,
    },
    /// A client task is killed while its fibril A reads from an empty device and fibril B, of
    /// another task, writes to it on a session of `style`: B's write is unaffected, the device's
    /// connection from the dead task closes with one HANGUP, and nothing of either leaks.
    ClientKilled {
        /// The sessions' exchange style.
        style: Style,
    },
    /// The server refuses one PARALLEL session's clones (their arguments name an interface it
    /// does not serve, as a brokered session's would without `async_sess_args_set`), while
    /// another session has a cached clone. The refused begin must fail at once and leave the
    /// other session's cache alone.
    CloneRefused,
}

/// A built-in model run with an optional injected bug and dispatch mode.
///
/// In JSON it is the model's own object with two optional keys beside it:
/// `{"model": "seed-read", "style": "parallel", "reads": 1, "dispatch": "threaded"}`. Unknown
/// keys are refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BuiltinModel {
    /// The model.
    pub model: Builtin,
    /// Where server handlers run.
    pub dispatch: Dispatch,
    /// An injected bug (needs the `bugs` feature of sessions-core).
    pub bug: Option<Bug>,
}

impl Serialize for BuiltinModel {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error;
        let mut v = serde_json::to_value(self.model).map_err(S::Error::custom)?;
        let map = v
            .as_object_mut()
            .ok_or_else(|| S::Error::custom("a model serializes to an object"))?;
        if self.dispatch != Dispatch::Inline {
            map.insert(
                "dispatch".into(),
                serde_json::to_value(self.dispatch).map_err(S::Error::custom)?,
            );
        }
        if let Some(bug) = self.bug {
            map.insert(
                "bug".into(),
                serde_json::to_value(bug).map_err(S::Error::custom)?,
            );
        }
        v.serialize(s)
    }
}

impl<'de> Deserialize<'de> for BuiltinModel {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut v = serde_json::Value::deserialize(d)?;
        let map = v
            .as_object_mut()
            .ok_or_else(|| D::Error::custom("a built-in model is a JSON object"))?;
        let given_dispatch: Option<Dispatch> = match map.remove("dispatch") {
            Some(x) => Some(serde_json::from_value(x).map_err(D::Error::custom)?),
            None => None,
        };
        let dispatch = given_dispatch.unwrap_or_default();
        let bug = match map.remove("bug") {
            Some(x) => Some(serde_json::from_value(x).map_err(D::Error::custom)?),
            None => None,
        };
        let given: Vec<String> = map.keys().cloned().collect();
        let model: Builtin = serde_json::from_value(v).map_err(D::Error::custom)?;
        // Serde takes unknown keys beside a unit variant's tag silently: refuse every key the
        // model does not have.
        let own = serde_json::to_value(model).map_err(D::Error::custom)?;
        if let Some(extra) = given.iter().find(|k| own.get(k.as_str()).is_none()) {
            let name = own.get("model").and_then(|m| m.as_str()).unwrap_or("?");
            let mut params: Vec<&str> = own
                .as_object()
                .into_iter()
                .flat_map(|o| o.keys())
                .map(String::as_str)
                .filter(|k| *k != "model")
                .chain(["dispatch", "bug"])
                .collect();
            params.sort_unstable();
            return Err(D::Error::custom(format!(
                "model `{name}` has no parameter `{extra}` (it takes {})",
                params.join(", ")
            )));
        }
        if let (Some(fixed), Some(given)) = (model.fixed_dispatch(), given_dispatch) {
            if fixed != given {
                return Err(D::Error::custom(format!(
                    "model `{}` runs only with {} dispatch",
                    own.get("model").and_then(|m| m.as_str()).unwrap_or("?"),
                    serde_json::to_value(fixed)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default()
                )));
            }
        }
        Ok(BuiltinModel {
            model,
            dispatch,
            bug,
        })
    }
}

impl Builtin {
    /// The dispatch a model needs whatever is asked for: `hangup-race` needs server threads, so
    /// that a clone's answer takes a while and both hangups can queue behind it.
    pub fn fixed_dispatch(self) -> Option<Dispatch> {
        match self {
            Builtin::HangupRace => Some(Dispatch::Threaded),
            _ => None,
        }
    }
}

impl From<Builtin> for BuiltinModel {
    fn from(model: Builtin) -> Self {
        BuiltinModel {
            model,
            dispatch: Dispatch::Inline,
            bug: None,
        }
    }
}

impl BuiltinModel {
    /// The same model with bug `bug` injected.
    pub fn with_bug(self, bug: Bug) -> Self {
        BuiltinModel {
            bug: Some(bug),
            ..self
        }
    }

    /// The same model with handlers on server threads.
    pub fn threaded(self) -> Self {
        BuiltinModel {
            dispatch: Dispatch::Threaded,
            ..self
        }
    }

    /// The models `sessions check` runs by default, with their expectations.
    pub fn all() -> Vec<BuiltinModel> {
        let mut v = Vec::new();
        for style in [Style::Serialize, Style::Parallel, Style::Multiplexed] {
            v.push(Builtin::SeedRead { style, reads: 1 }.into());
        }
        v.push(
            Builtin::SeedRead {
                style: Style::Parallel,
                reads: 2,
            }
            .into(),
        );
        for style in [Style::Parallel, Style::Multiplexed, Style::Serialize] {
            v.push(Builtin::WriteWhileRead { style }.into());
        }
        v.push(Builtin::NaivePhone.into());
        v.push(Builtin::AtomicTwoCall.into());
        v.push(Builtin::PhoneExhaustion.into());
        v.push(Builtin::WaitForPhone.into());
        v.push(Builtin::WaitForPath.into());
        v.push(
            Builtin::Hangup {
                style: Style::Parallel,
            }
            .into(),
        );
        v.push(
            Builtin::Hangup {
                style: Style::Multiplexed,
            }
            .into(),
        );
        for style in [Style::Serialize, Style::Parallel, Style::Multiplexed] {
            v.push(Builtin::ServerDies { style }.into());
        }
        v.push(Builtin::EarlyEnd.into());
        for style in [Style::Serialize, Style::Parallel, Style::Multiplexed] {
            v.push(Builtin::CutShort { style }.into());
        }
        v.push(Builtin::MixedExhaustion.into());
        for (front, back, mode) in [
            (Style::Parallel, Style::Serialize, Mode::Relay),
            (Style::Serialize, Style::Parallel, Mode::Forward),
            (Style::Parallel, Style::Parallel, Mode::Forward),
            (Style::Multiplexed, Style::Multiplexed, Mode::Forward),
        ] {
            v.push(Builtin::Relay { front, back, mode }.into());
        }
        for style in [Style::Serialize, Style::Parallel, Style::Multiplexed] {
            v.push(Builtin::Callback { style }.into());
        }
        for style in [Style::Serialize, Style::Parallel, Style::Multiplexed] {
            v.push(Builtin::ServerKilled { style }.into());
            v.push(Builtin::ClientKilled { style }.into());
        }
        v.push(
            BuiltinModel::from(Builtin::ServerKilled {
                style: Style::Parallel,
            })
            .threaded(),
        );
        v.push(Builtin::CloneRefused.into());
        v.push(Builtin::HangupRace.into());
        v.push(
            BuiltinModel::from(Builtin::SeedRead {
                style: Style::Parallel,
                reads: 1,
            })
            .threaded(),
        );
        v
    }

    /// Looks a model up by its [`Model::name`].
    pub fn by_name(name: &str) -> Option<BuiltinModel> {
        Self::all().into_iter().find(|m| m.name() == name)
    }

    /// The exchange styles the model's sessions are about (none for the naive phone, which
    /// uses no exchange at all; sessions that only feed data do not count).
    pub fn styles(&self) -> Vec<Style> {
        match self.model {
            Builtin::SeedRead { style, .. }
            | Builtin::WriteWhileRead { style }
            | Builtin::ServerDies { style }
            | Builtin::Hangup { style }
            | Builtin::CutShort { style } => vec![style],
            Builtin::NaivePhone => vec![],
            Builtin::AtomicTwoCall => vec![Style::Atomic],
            Builtin::PhoneExhaustion
            | Builtin::WaitForPhone
            | Builtin::CloneRefused
            | Builtin::HangupRace => vec![Style::Parallel],
            Builtin::EarlyEnd | Builtin::WaitForPath => vec![Style::Multiplexed],
            Builtin::MixedExhaustion => vec![Style::Serialize, Style::Parallel],
            Builtin::Relay { front, back, .. } if front == back => vec![front],
            Builtin::Relay { front, back, .. } => vec![front, back],
            Builtin::Callback { style }
            | Builtin::ServerKilled { style }
            | Builtin::ClientKilled { style } => vec![style],
        }
    }

    /// Where the model's server handlers run: as its model fixes it, else as chosen.
    pub fn dispatch(&self) -> Dispatch {
        self.model.fixed_dispatch().unwrap_or(self.dispatch)
    }

    /// Whether the model must see no error at all from the system.
    fn strict(&self) -> bool {
        self.bug.is_none() && self.expect() == Expect::Pass
    }
}

/// The checker that reports each injected bug in the models that exercise it.
pub fn bug_checker(bug: Bug) -> Checker {
    match bug {
        Bug::SerializeNoLock | Bug::RouteByConnection | Bug::PathReuseEarly => Checker::Mixing,
        Bug::CacheWhileInUse
        | Bug::ReclaimActive
        | Bug::ReclaimMainPhone
        | Bug::ReclaimOnRefusal => Checker::Accounting,
        Bug::LostWakeup | Bug::LostNotify => Checker::Deadlock,
        Bug::NoHangupMessage => Checker::Resources,
        Bug::ForwardWrongConn => Checker::Mixing,
        Bug::HandlerCrossedAnswer => Checker::Answers,
        Bug::CallbackArgsIgnored => Checker::Accounting,
        Bug::DeathForgetsQueued => Checker::Deadlock,
    }
}

/// The model that exposes each injected bug.
pub fn bug_model(bug: Bug) -> BuiltinModel {
    let model = match bug {
        Bug::SerializeNoLock => Builtin::SeedRead {
            style: Style::Serialize,
            reads: 1,
        },
        Bug::CacheWhileInUse => Builtin::SeedRead {
            style: Style::Parallel,
            reads: 2,
        },
        Bug::ReclaimActive => Builtin::PhoneExhaustion,
        Bug::LostWakeup | Bug::LostNotify => Builtin::WaitForPhone,
        Bug::NoHangupMessage => Builtin::SeedRead {
            style: Style::Parallel,
            reads: 1,
        },
        Bug::PathReuseEarly => Builtin::EarlyEnd,
        Bug::ReclaimMainPhone => Builtin::MixedExhaustion,
        Bug::ReclaimOnRefusal => Builtin::CloneRefused,
        Bug::RouteByConnection => Builtin::SeedRead {
            style: Style::Multiplexed,
            reads: 1,
        },
        // The forward must take the exchange's clone, not the session's main connection.
        Bug::ForwardWrongConn => Builtin::Relay {
            front: Style::Serialize,
            back: Style::Parallel,
            mode: Mode::Forward,
        },
        Bug::CallbackArgsIgnored => Builtin::Callback {
            style: Style::Parallel,
        },
        // Calls stay queued until the device's dispatcher thread takes them.
        Bug::DeathForgetsQueued => {
            return BuiltinModel::from(Builtin::ServerKilled {
                style: Style::Parallel,
            })
            .threaded()
            .with_bug(bug)
        }
        // The device answers a read's data call before its first call.
        Bug::HandlerCrossedAnswer => Builtin::Relay {
            front: Style::Parallel,
            back: Style::Serialize,
            mode: Mode::Relay,
        },
    };
    BuiltinModel::from(model).with_bug(bug)
}

impl fmt::Display for BuiltinModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// Bytes the device starts with: distinct 4-byte chunks, so every read's result tells which
/// chunk it took.
fn device_bytes(chunks: u32) -> Vec<u8> {
    (0..chunks * 4).map(|i| b'a' + (i % 26) as u8).collect()
}

/// Checks that the chunks read are distinct 4-byte chunks of `content`.
fn assert_chunks(content: &[u8], got: &[Vec<u8>]) {
    let mut seen: Vec<&[u8]> = Vec::new();
    for chunk in got {
        assert!(
            chunk.len() == 4 && content.chunks(4).any(|c| c == chunk.as_slice()),
            "a read returned {chunk:?}, which is not one of the device's 4-byte chunks"
        );
        assert!(
            !seen.contains(&chunk.as_slice()),
            "two reads returned the same chunk {chunk:?}"
        );
        seen.push(chunk);
    }
}

type Reads = Result<Vec<Vec<u8>>, IpcError>;

/// `n` chardev reads of 4 bytes, each in its own exchange.
fn reads(sess: &Session, n: u32) -> Reads {
    (0..n)
        .map(|_| {
            let exch = sess.begin()?;
            chardev::blocking::read(&exch, 4)
        })
        .collect()
}

/// Runs one fibril per `(name, session, reads)` entry, each doing that many chardev reads of 4
/// bytes, joins them all, and checks that they got distinct chunks of `content`.
fn readers<P: Platform>(
    client: &sessions_core::Task<P>,
    strict: bool,
    content: &[u8],
    plan: &[(&str, &Session, u32)],
) {
    let fibrils: Vec<_> = plan
        .iter()
        .map(|(name, s, n)| {
            let (s, n) = ((*s).clone(), *n);
            (*name, client.spawn(name, move || reads(&s, n)))
        })
        .collect();
    let mut got = Vec::new();
    for (name, f) in fibrils {
        got.extend(expect_ok(strict, name, join(f)));
    }
    assert_chunks(content, &got);
}

fn expect_ok(strict: bool, who: &str, r: Reads) -> Vec<Vec<u8>> {
    match r {
        Ok(v) => v,
        Err(e) if strict => panic!("fibril {who}: {e}"),
        Err(_) => Vec::new(),
    }
}

fn hang_up(sess: Session) {
    if let Err(e) = sess.hangup() {
        panic!("hangup failed: {}", e.error);
    }
}

impl Model for BuiltinModel {
    fn name(&self) -> String {
        let base = match self.model {
            Builtin::SeedRead { style, reads: 1 } => format!("seed-read/{style}"),
            Builtin::SeedRead { style, reads } => format!("seed-read/{style}/x{reads}"),
            Builtin::WriteWhileRead { style } => format!("write-while-read/{style}"),
            Builtin::NaivePhone => "naive-phone".into(),
            Builtin::AtomicTwoCall => "atomic-two-call".into(),
            Builtin::PhoneExhaustion => "phone-exhaustion".into(),
            Builtin::WaitForPhone => "wait-for-phone".into(),
            Builtin::WaitForPath => "wait-for-path/multiplexed".into(),
            Builtin::Hangup {
                style: Style::Parallel,
            } => "hangup".into(),
            Builtin::Hangup { style } => format!("hangup/{style}"),
            Builtin::ServerDies { style } => format!("server-dies/{style}"),
            Builtin::EarlyEnd => "early-end/multiplexed".into(),
            Builtin::CutShort { style } => format!("cut-short/{style}"),
            Builtin::MixedExhaustion => "mixed-exhaustion".into(),
            Builtin::CloneRefused => "clone-refused".into(),
            Builtin::HangupRace => "hangup-race".into(),
            Builtin::Relay { front, back, mode } => format!("{mode}/{front}-{back}"),
            Builtin::Callback { style } => format!("callback/{style}"),
            Builtin::ServerKilled { style } => format!("server-killed/{style}"),
            Builtin::ClientKilled { style } => format!("client-killed/{style}"),
        };
        let threaded = if self.dispatch == Dispatch::Threaded {
            "+threaded"
        } else {
            ""
        };
        match self.bug {
            Some(b) => format!("{base}{threaded}+bug:{b}"),
            None => format!("{base}{threaded}"),
        }
    }

    fn config(&self) -> KernelConfig {
        let phone_limit = match self.model {
            Builtin::PhoneExhaustion | Builtin::MixedExhaustion => 3,
            Builtin::WaitForPhone => 2,
            Builtin::Hangup { .. } => 4,
            _ => 8,
        };
        let path_limit = if self.model == Builtin::WaitForPath {
            1
        } else {
            16
        };
        // Two calls of a forgotten read and a write's first call fill a phone.
        let call_limit = if matches!(self.model, Builtin::CutShort { .. }) {
            3
        } else {
            KernelConfig::default().call_limit
        };
        KernelConfig {
            phone_limit,
            call_limit,
            path_limit,
            dispatch: self.dispatch(),
            bug: self.bug,
            ..KernelConfig::default()
        }
    }

    fn expect(&self) -> Expect {
        if let Some(b) = self.bug {
            return Expect::Finding(bug_checker(b));
        }
        match self.model {
            Builtin::WriteWhileRead {
                style: Style::Serialize,
            } => Expect::Finding(Checker::Deadlock),
            Builtin::NaivePhone | Builtin::AtomicTwoCall => Expect::Finding(Checker::Mixing),
            _ => Expect::Pass,
        }
    }

    fn threads(&self) -> usize {
        let fibrils = match self.model {
            Builtin::PhoneExhaustion
            | Builtin::HangupRace
            | Builtin::ServerKilled { .. }
            | Builtin::ClientKilled { .. } => 3,
            Builtin::ServerDies { .. } | Builtin::EarlyEnd => 1,
            _ => 2,
        };
        let servers = match self.model {
            Builtin::Relay { .. } | Builtin::Callback { .. } => 2,
            _ => 1,
        };
        let dispatchers = if self.dispatch() == Dispatch::Threaded {
            servers
        } else {
            0
        };
        1 + fibrils + dispatchers
    }

    fn run<P: Platform>(&self, k: &Kernel<P>) {
        let strict = self.strict();
        let client = k.task("client");
        match self.model {
            Builtin::SeedRead { style, reads: n } => {
                let content = device_bytes(2 * n);
                let dev = k.server("chardev", chardev::server(&content));
                let sess = connect(&client, &dev, style);
                readers(
                    &client,
                    strict,
                    &content,
                    &[("A", &sess, n), ("B", &sess, n)],
                );
                hang_up(sess);
            }
            Builtin::WriteWhileRead { style } => {
                let dev = k.server("chardev", chardev::server(b""));
                let sess = connect(&client, &dev, style);
                let s = sess.clone();
                let reader = client.spawn("A", move || reads(&s, 1));
                let s = sess.clone();
                let writer = client.spawn("B", move || {
                    let exch = s.begin()?;
                    chardev::blocking::write(&exch, b"wxyz")
                });
                let written = join(writer);
                let read = join(reader);
                if strict {
                    assert_eq!(written, Ok(4), "fibril B's write");
                    assert_eq!(read, Ok(vec![b"wxyz".to_vec()]), "fibril A's read");
                }
                hang_up(sess);
            }
            Builtin::NaivePhone | Builtin::AtomicTwoCall => {
                let content = device_bytes(2);
                let dev = k.server("chardev", chardev::server(&content));
                let style = if self.model == Builtin::NaivePhone {
                    Style::Serialize
                } else {
                    Style::Atomic
                };
                let sess = connect(&client, &dev, style);
                let naive = self.model == Builtin::NaivePhone;
                let fibrils: Vec<_> = ["A", "B"]
                    .into_iter()
                    .map(|name| {
                        let s = sess.clone();
                        client.spawn(name, move || {
                            if naive {
                                chardev::blocking::read(&s.raw_phone(), 4).map(|d| vec![d])
                            } else {
                                reads(&s, 1)
                            }
                        })
                    })
                    .collect();
                let got: Vec<Vec<u8>> = fibrils
                    .into_iter()
                    .flat_map(|f| join(f).unwrap_or_default())
                    .collect();
                assert_chunks(&content, &got);
                hang_up(sess);
            }
            Builtin::PhoneExhaustion => {
                let content = device_bytes(4);
                let dev = k.server("chardev", chardev::server(&content));
                let s1 = connect(&client, &dev, Style::Parallel);
                let s2 = connect(&client, &dev, Style::Parallel);
                readers(
                    &client,
                    strict,
                    &content,
                    &[("A", &s1, 2), ("B", &s2, 1), ("C", &s1, 1)],
                );
                hang_up(s1);
                hang_up(s2);
            }
            Builtin::WaitForPhone | Builtin::WaitForPath => {
                let content = device_bytes(2);
                let dev = k.server("chardev", chardev::server(&content));
                let style = if self.model == Builtin::WaitForPath {
                    Style::Multiplexed
                } else {
                    Style::Parallel
                };
                let sess = connect(&client, &dev, style);
                readers(
                    &client,
                    strict,
                    &content,
                    &[("A", &sess, 1), ("B", &sess, 1)],
                );
                hang_up(sess);
            }
            Builtin::Hangup { style } => self.run_hangup(k, &client, style, strict),
            Builtin::ServerDies { style } => {
                let content = device_bytes(2);
                let device = Device::new(&content).with_fault(Fault::CloseMidRead);
                let dev = k.server("chardev", chardev::server_with(device));
                let sess = connect(&client, &dev, style);
                let s = sess.clone();
                let a = client.spawn("A", move || {
                    let first = reads(&s, 1);
                    let second = reads(&s, 1);
                    (first, second)
                });
                let (first, second) = join(a);
                if strict {
                    assert_eq!(first, Err(IpcError::Hangup), "the read the server died in");
                    // A new exchange either reaches a live connection (a new clone or path)
                    // and reads, or reuses the dead phone and is told so: never a hang.
                    match second {
                        Ok(got) => assert_chunks(&content, &got),
                        Err(e) => assert!(
                            matches!(e, IpcError::Slammed | IpcError::Hangup),
                            "second read: {e}"
                        ),
                    }
                }
                hang_up(sess);
            }
            Builtin::CutShort { style } => self.run_cut_short(k, &client, style, strict),
            Builtin::MixedExhaustion => {
                let content = device_bytes(5);
                let dev = k.server("chardev", chardev::server(&content));
                let ser = connect(&client, &dev, Style::Serialize);
                let par = connect(&client, &dev, Style::Parallel);
                // The SERIALIZE session's wrapper heads the inactive list; the PARALLEL
                // session's clone takes the last phone.
                let mut got = expect_ok(strict, "main", reads(&ser, 1));
                got.extend(expect_ok(strict, "main", reads(&par, 1)));
                let plan = [("A", &par, 1), ("B", &par, 1)];
                let fibrils: Vec<_> = plan
                    .iter()
                    .map(|(name, s, n)| {
                        let (s, n) = ((*s).clone(), *n);
                        client.spawn(name, move || reads(&s, n))
                    })
                    .collect();
                for (f, (name, ..)) in fibrils.into_iter().zip(plan) {
                    got.extend(expect_ok(strict, name, join(f)));
                }
                // The SERIALIZE session still has its connection.
                got.extend(expect_ok(strict, "main, after the reclaim", reads(&ser, 1)));
                assert_chunks(&content, &got);
                hang_up(ser);
                hang_up(par);
            }
            Builtin::HangupRace => {
                let content = device_bytes(1);
                let dev = k.server("chardev", chardev::server(&content));
                let sess = connect(&client, &dev, Style::Parallel);
                let other = connect(&client, &dev, Style::Parallel);
                let hangups: Vec<_> = ["A", "B"]
                    .into_iter()
                    .map(|name| {
                        let s = sess.clone();
                        client.spawn(name, move || s.hangup().map_err(|e| e.error))
                    })
                    .collect();
                let o = other.clone();
                let c = client.spawn("C", move || reads(&o, 1));
                let results: Vec<Result<(), IpcError>> = hangups.into_iter().map(join).collect();
                let got = expect_ok(strict, "C", join(c));
                assert_chunks(&content, &got);
                let done = results.iter().filter(|r| r.is_ok()).count();
                let closed = results
                    .iter()
                    .filter(|r| **r == Err(IpcError::SessionClosed))
                    .count();
                assert_eq!(
                    (done, closed),
                    (1, 1),
                    "two hangups of one session: {results:?}"
                );
                hang_up(other);
            }
            Builtin::Relay { front, back, mode } => {
                let content = device_bytes(2);
                let dev = k.server("dev", chardev::server(&content));
                // The relay connects to the device first, as a server's main does, then
                // serves; its handlers share that session.
                let relay_task = k.task("relay");
                let to_dev = connect(&relay_task, &dev, back);
                let s = to_dev.clone();
                let relay =
                    relay_task.serve(ServerBuilder::new().serve(&relay::RELAY, move |conn| {
                        relay::serve(conn, s.clone(), mode, None)
                    }));
                let sess = Session::connect(&client, &relay, relay::RELAY.iface_with(front), 0, 0)
                    .unwrap_or_else(|e| panic!("connect to the relay: {e}"));
                let fibrils: Vec<_> = ["A", "B"]
                    .into_iter()
                    .map(|name| {
                        let s = sess.clone();
                        let f = client.spawn(name, move || -> Reads {
                            let exch = s.begin()?;
                            Ok(vec![exch.block_on(relay::read(&exch, 4))?])
                        });
                        (name, f)
                    })
                    .collect();
                let mut got = Vec::new();
                for (name, f) in fibrils {
                    got.extend(expect_ok(strict, name, join(f)));
                }
                assert_chunks(&content, &got);
                hang_up(sess);
                hang_up(to_dev);
            }
            Builtin::Callback { style } => {
                // The client serves its port before it offers the hub a phone to it.
                client.serve(ServerBuilder::new().serve(&callback::NOTIFY, callback::serve_notify));
                let hub = k.server(
                    "hub",
                    ServerBuilder::new()
                        .serve(&callback::HUB, move |conn| {
                            callback::serve_hub(conn, style, true)
                        })
                        .state(callback::Hub::default()),
                );
                let sess = Session::connect(
                    &client,
                    &hub,
                    callback::HUB.iface_with(Style::Parallel),
                    0,
                    0,
                )
                .unwrap_or_else(|e| panic!("connect to the hub: {e}"));
                let registered = sess.begin().and_then(|exch| {
                    exch.op("hub.register");
                    let port = callback::NOTIFY.iface_with(style);
                    exch.send_connect_to_me(port, 0, 0)?.wait_for()
                });
                if strict {
                    registered.unwrap_or_else(|e| panic!("registering the port: {e}"));
                }
                let fibrils: Vec<_> = [("A", 1u64), ("B", 2)]
                    .into_iter()
                    .map(|(name, x)| {
                        let s = sess.clone();
                        let f = client.spawn(name, move || {
                            let exch = s.begin()?;
                            exch.op("hub.fire");
                            exch.request(callback::HUB_FIRE, &[x]).map(|r| r.args[0])
                        });
                        (name, x, f)
                    })
                    .collect();
                for (name, x, f) in fibrils {
                    let got = join(f);
                    if strict {
                        assert_eq!(got, Ok(10 * x), "fibril {name}'s callback");
                    }
                }
                let unregistered = sess.begin().and_then(|exch| {
                    exch.op("hub.unregister");
                    exch.request(callback::HUB_UNREGISTER, &[])
                });
                if strict {
                    unregistered.unwrap_or_else(|e| panic!("unregistering: {e}"));
                }
                hang_up(sess);
            }
            Builtin::ServerKilled { style } => {
                let content = device_bytes(2);
                let dev = k.server("dev", chardev::server(&content));
                let sess = connect(&client, &dev, style);
                let readers: Vec<_> = ["A", "B"]
                    .into_iter()
                    .map(|name| {
                        let s = sess.clone();
                        (name, client.spawn(name, move || reads(&s, 1)))
                    })
                    .collect();
                let killer = k.spawn_kill(dev.task());
                join(killer);
                let mut got = Vec::new();
                for (name, f) in readers {
                    match join(f) {
                        Ok(v) => got.extend(v),
                        // The device died under the read: its peers are told, never left
                        // waiting.
                        Err(IpcError::Hangup | IpcError::Slammed | IpcError::PhoneHungUp) => {}
                        Err(e) if strict => panic!("fibril {name}: {e}"),
                        Err(_) => {}
                    }
                }
                assert_chunks(&content, &got);
                hang_up(sess);
            }
            Builtin::ClientKilled { style } => {
                let dev = k.server("dev", chardev::server(b""));
                let victim = k.task("victim");
                let doomed = connect(&victim, &dev, style);
                let sess = connect(&client, &dev, style);
                let a = victim.spawn("A", move || reads(&doomed, 1));
                let s = sess.clone();
                let b = client.spawn("B", move || -> Result<usize, IpcError> {
                    chardev::blocking::write(&s.begin()?, b"wxyz")
                });
                let killer = k.spawn_kill(victim.id());
                join(killer);
                let wrote = join(b);
                if strict {
                    assert_eq!(wrote, Ok(4), "fibril B's write, beside the dead task");
                }
                match a.join() {
                    Ok(r) => assert_chunks(b"wxyz", &expect_ok(strict, "A", r)),
                    Err(p) if p.is::<sessions_core::Killed>() => {}
                    Err(p) => std::panic::resume_unwind(p),
                }
                // The victim's session died with it; the survivor's hangs up as ever.
                hang_up(sess);
            }
            Builtin::CloneRefused => {
                let content = device_bytes(3);
                let dev = k.server("chardev", chardev::server(&content));
                let good = connect(&client, &dev, Style::Parallel);
                let refused = connect(&client, &dev, Style::Parallel);
                refused.args_set(Iface::new(0x99, Style::Parallel), 0, 0);
                let mut got = expect_ok(strict, "main", reads(&good, 1));
                let r = refused.clone();
                let a = client.spawn("A", move || r.begin().map(|_| ()));
                let g = good.clone();
                let b = client.spawn("B", move || reads(&g, 2));
                let began = join(a);
                got.extend(expect_ok(strict, "B", join(b)));
                if strict {
                    assert_eq!(began, Err(IpcError::NoInterface), "the refused begin");
                }
                assert_chunks(&content, &got);
                hang_up(good);
                hang_up(refused);
            }
            Builtin::EarlyEnd => {
                let dev = k.server("chardev", chardev::server(b""));
                let sess = connect(&client, &dev, Style::Multiplexed);
                let s = sess.clone();
                let a = client.spawn("A", move || -> Result<Vec<u8>, IpcError> {
                    // Exchange 1 asks for data the device does not have yet and ends at once;
                    // its path stays busy at the server.
                    let e1: Exchange = s.begin()?;
                    e1.op("chardev.read");
                    let r1 = e1.send(chardev::READ, &[4])?;
                    let r2 = e1.send_data_read(4)?;
                    e1.end();
                    // Exchange 2 supplies the data on another path.
                    let e2 = s.begin()?;
                    chardev::blocking::write(&e2, b"wxyz")?;
                    e2.end();
                    r1.wait_for()?;
                    Ok(r2.wait_for()?.data)
                });
                let got = join(a);
                if strict {
                    assert_eq!(got, Ok(b"wxyz".to_vec()), "the early-ended read");
                }
                hang_up(sess);
            }
        }
    }
}

impl BuiltinModel {
    fn run_cut_short<P: Platform>(
        &self,
        k: &Kernel<P>,
        client: &sessions_core::Task<P>,
        style: Style,
        strict: bool,
    ) {
        let content = device_bytes(2);
        let dev = k.server("chardev", chardev::server(b""));
        let sess = connect(client, &dev, style);
        let feeder = connect(client, &dev, Style::Parallel);
        let s = sess.clone();
        let a = client.spawn("A", move || -> Result<usize, IpcError> {
            let exch = s.begin()?;
            // A read of the empty device, forgotten: both its calls stay unanswered.
            exch.op("chardev.read");
            exch.send(chardev::READ, &[4])?.forget();
            exch.send_data_read(4)?.forget();
            // The write's first call takes the phone's last slot; its data call is refused.
            chardev::blocking::write(&exch, b"wxyz")
        });
        let cut = join(a);
        let s = sess.clone();
        let b = client.spawn("B", move || reads(&s, 1));
        // Data for the forgotten read and for B's, through a session of its own.
        let exch = feeder.begin().expect("a begin with phones to spare");
        let written = chardev::blocking::write(&exch, &content);
        exch.end();
        let read = join(b);
        if strict {
            assert_eq!(written, Ok(content.len()), "the feeder's write");
            assert_eq!(cut, Err(IpcError::CallLimit), "fibril A's write");
            match (style, read) {
                (_, Ok(got)) => assert_chunks(&content, &got),
                (Style::Serialize, Err(IpcError::Broken)) => {}
                (Style::Multiplexed, Err(IpcError::CallLimit)) => {}
                (_, r) => panic!("fibril B's read after the cut: {r:?}"),
            }
        }
        hang_up(sess);
        hang_up(feeder);
    }

    fn run_hangup<P: Platform>(
        &self,
        k: &Kernel<P>,
        client: &sessions_core::Task<P>,
        style: Style,
        strict: bool,
    ) {
        let content = device_bytes(2);
        let dev = k.server("chardev", chardev::server(b""));
        // Each fibril reads the empty device through its own session and blocks there. Under
        // PARALLEL the two sessions share the one spare phone: whichever fibril clones first
        // blocks in its read; the other waits for a phone.
        let s1 = connect(client, &dev, style);
        let s2 = connect(client, &dev, style);
        let writer = connect(client, &dev, Style::Atomic);
        let s = s1.clone();
        let a = client.spawn("A", move || reads(&s, 1));
        let s = s2.clone();
        let b = client.spawn("B", move || reads(&s, 1));
        // Each hangup is refused while that session's fibril holds an exchange, and otherwise
        // goes through, waking a fibril that waits for a phone with an error.
        let s1 = try_hang_up(s1);
        let s2 = try_hang_up(s2);
        let exch = writer.begin().expect("an ATOMIC begin needs no phone");
        let written = chardev::blocking::write(&exch, &content);
        exch.end();
        let results = [(join(a), s1.is_some()), (join(b), s2.is_some())];
        if strict {
            assert_eq!(written, Ok(8));
            let mut got = Vec::new();
            for (r, refused) in results {
                match (r, refused) {
                    (Ok(chunks), true) => got.extend(chunks),
                    (Err(IpcError::SessionClosed), false) => {}
                    (r, refused) => {
                        panic!("hangup refused: {refused}, but the fibril's read gave {r:?}")
                    }
                }
            }
            assert_chunks(&content, &got);
        }
        for s in [s1, s2].into_iter().flatten() {
            hang_up(s);
        }
        hang_up(writer);
    }
}

/// Hangs `sess` up, or returns it if it is busy.
fn try_hang_up(sess: Session) -> Option<Session> {
    match sess.hangup() {
        Ok(()) => None,
        Err(e) => {
            assert_eq!(
                e.error,
                IpcError::Busy,
                "hangup of a session with an active exchange"
            );
            Some(e.session)
        }
    }
}

fn connect<P: Platform>(
    client: &sessions_core::Task<P>,
    dev: &sessions_core::ServerRef,
    style: Style,
) -> Session {
    Session::connect(client, dev, chardev::iface(style), 0, 0)
        .unwrap_or_else(|e| panic!("connect: {e}"))
}

fn join<P: Platform, T: Send + 'static>(f: sessions_core::Fibril<P, T>) -> T {
    match f.join() {
        Ok(v) => v,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}
