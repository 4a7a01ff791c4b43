//! Protocol coverage: in how many explored executions each path of the framework was taken
//! (a clone, a reclaim, a wait for a phone, a busy hangup...). A model that claims to exercise
//! reclaim can show it did, and `sessions check` can say what a run covered.

use sessions_core::trace::{BeginHow, CacheOut, Wait};
use sessions_core::{Event, IpcError, Method, TraceLog};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Executions that took each framework path, over a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    counts: BTreeMap<&'static str, u64>,
    /// Executions recorded.
    pub executions: u64,
    /// Most phones any client task held at once, in any execution.
    pub max_open_phones: u32,
}

impl Coverage {
    /// A PARALLEL begin cloned a phone.
    pub const CLONE: &'static str = "clone";
    /// A clone failed because the phone table was full.
    pub const CLONE_FAILED: &'static str = "clone failed";
    /// The server refused a clone (an error answer to its `CONNECT_ME_TO`).
    pub const CLONE_REFUSED: &'static str = "clone refused";
    /// A begin reused a cached exchange.
    pub const REUSE: &'static str = "reuse";
    /// Reclaim hung up another idle exchange's phone.
    pub const RECLAIM: &'static str = "reclaim";
    /// A begin waited for a phone.
    pub const WAIT_PHONE: &'static str = "wait for phone";
    /// A fibril waited for `async_sess_mutex`.
    pub const WAIT_MUTEX: &'static str = "wait for async mutex";
    /// A fibril waited for a SERIALIZE session's exchange lock.
    pub const WAIT_LOCK: &'static str = "wait for exchange lock";
    /// A multiplexed begin waited for a path id.
    pub const WAIT_PATH: &'static str = "wait for path";
    /// A hangup was refused as busy.
    pub const BUSY_HANGUP: &'static str = "busy hangup";
    /// A fibril waiting for a phone was woken by its session's hangup.
    pub const WOKEN_BY_HANGUP: &'static str = "woken by hangup";
    /// A server handler returned before the client hung up.
    pub const SERVER_CLOSE: &'static str = "server close";
    /// A call reached a connection that was gone.
    pub const BOUNCE: &'static str = "bounce";
    /// An operation was cut short by a refused send and its connection retired.
    pub const CUT_SHORT: &'static str = "cut short";
    /// A task's death answered another task's call EHANGUP.
    pub const DEATH_ANSWERED: &'static str = "death answered a call";
    /// A send failed on a phone that its peer's death slammed.
    pub const DEATH_SLAMMED: &'static str = "death slammed a phone";
    /// A handler acting as a client suspended for a phone.
    pub const HANDLER_WAIT_PHONE: &'static str = "handler waits for phone";
    /// A handler acting as a client suspended for `async_sess_mutex` or an exchange lock.
    pub const HANDLER_WAIT_LOCK: &'static str = "handler waits for lock";
    /// A handler acting as a client suspended for a path id.
    pub const HANDLER_WAIT_PATH: &'static str = "handler waits for path";

    /// Adds one execution's trace.
    pub fn record(&mut self, log: &TraceLog) {
        let mut seen: BTreeSet<&'static str> = BTreeSet::new();
        let mut waiting = BTreeSet::new();
        let mut clones = BTreeSet::new();
        let mut handlers = BTreeSet::new();
        let mut died = false;
        for e in &log.events {
            match e {
                Event::TaskDeath { .. } => died = true,
                Event::Answer {
                    retval: Some(sessions_core::Errno::Ehangup),
                    by: sessions_core::trace::AnsweredBy::Kernel,
                    ..
                } if died => {
                    seen.insert(Self::DEATH_ANSWERED);
                }
                Event::SendFail {
                    error: IpcError::Slammed,
                    ..
                } if died => {
                    seen.insert(Self::DEATH_SLAMMED);
                }
                _ => {}
            }
            let by_handler = |f: &sessions_core::FibrilId| handlers.contains(f);
            match e {
                Event::HandlerFibril { fibril, .. } => {
                    handlers.insert(*fibril);
                }
                Event::WaitPhone { fibril, .. } if by_handler(fibril) => {
                    seen.insert(Self::HANDLER_WAIT_PHONE);
                }
                Event::WaitPath { fibril, .. } if by_handler(fibril) => {
                    seen.insert(Self::HANDLER_WAIT_PATH);
                }
                Event::LockWait { fibril, .. } if by_handler(fibril) => {
                    seen.insert(Self::HANDLER_WAIT_LOCK);
                }
                _ => {}
            }
            let what = match e {
                Event::Send {
                    call,
                    phone: Some(_),
                    method: Method::CONNECT_ME_TO,
                    ..
                } => {
                    clones.insert(*call);
                    continue;
                }
                Event::Answer {
                    call,
                    retval: Some(_),
                    ..
                } if clones.contains(call) => Self::CLONE_REFUSED,
                Event::ExchBegin {
                    how: BeginHow::Cloned,
                    ..
                } => Self::CLONE,
                Event::ExchBegin {
                    how: BeginHow::Reused,
                    ..
                } => Self::REUSE,
                Event::SendFail {
                    method: Method::CONNECT_ME_TO,
                    ..
                } => Self::CLONE_FAILED,
                Event::CacheOut {
                    why: CacheOut::Reclaim { .. },
                    ..
                } => Self::RECLAIM,
                Event::WaitPhone { fibril, .. } => {
                    waiting.insert(*fibril);
                    Self::WAIT_PHONE
                }
                Event::WaitPath { .. } => Self::WAIT_PATH,
                Event::LockWait {
                    wait: Wait::AsyncMutex { .. },
                    ..
                } => Self::WAIT_MUTEX,
                Event::LockWait { .. } => Self::WAIT_LOCK,
                Event::HangupFail {
                    error: IpcError::Busy,
                    ..
                } => Self::BUSY_HANGUP,
                Event::BeginFail {
                    fibril,
                    error: IpcError::SessionClosed,
                    ..
                } if waiting.contains(fibril) => Self::WOKEN_BY_HANGUP,
                Event::ConnClose {
                    by: sessions_core::trace::CloseBy::Server,
                    ..
                } => Self::SERVER_CLOSE,
                Event::Bounce { .. } => Self::BOUNCE,
                Event::ExchBroken { .. } => Self::CUT_SHORT,
                Event::PhoneOpen { open, .. } => {
                    self.max_open_phones = self.max_open_phones.max(*open);
                    continue;
                }
                _ => continue,
            };
            seen.insert(what);
        }
        for what in seen {
            *self.counts.entry(what).or_default() += 1;
        }
        self.executions += 1;
    }

    /// Adds another run's counts to these.
    pub fn merge(&mut self, other: &Coverage) {
        for (k, v) in &other.counts {
            *self.counts.entry(k).or_default() += v;
        }
        self.executions += other.executions;
        self.max_open_phones = self.max_open_phones.max(other.max_open_phones);
    }

    /// Executions that took path `what` (one of the associated constants).
    pub fn executions_with(&self, what: &str) -> u64 {
        self.counts.get(what).copied().unwrap_or(0)
    }

    /// Every path taken, with its count, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        self.counts.iter().map(|(k, v)| (*k, *v))
    }
}

impl fmt::Display for Coverage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.counts.is_empty() {
            return write!(
                f,
                "no framework path beyond the plain ones in {} executions",
                self.executions
            );
        }
        let parts: Vec<String> = self
            .iter()
            .map(|(k, v)| format!("{k} {v}/{}", self.executions))
            .collect();
        f.write_str(&parts.join(", "))
    }
}
