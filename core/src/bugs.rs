//! Named, deliberately injected bugs, for proving that the checkers catch what they exist for.
//!
//! A bug is chosen at run time through [`KernelConfig::bug`](crate::KernelConfig::bug), but the
//! code that injects it exists only with the `bugs` cargo feature: without it
//! [`KernelConfig::validate`](crate::KernelConfig::validate) refuses any bug and every check
//! compiles to `false`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An injected bug.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Bug {
    /// SERIALIZE begins without taking the session's exchange lock.
    SerializeNoLock,
    /// Reusing a cached exchange leaves it in the session's cache, so another begin can take
    /// the same phone while it is still in use.
    CacheWhileInUse,
    /// Reusing a cached exchange leaves it in the task's inactive list, so reclaim can hang
    /// up the phone of an active exchange.
    ReclaimActive,
    /// Ending an exchange does not signal `avail_phone_cv`: a fibril waiting for a phone
    /// sleeps forever.
    LostWakeup,
    /// Hanging up a phone sends no HANGUP message: the server connection never ends.
    NoHangupMessage,
    /// Ending a multiplexed exchange frees its path id at once, before the server has freed
    /// the path's state.
    PathReuseEarly,
    /// The server routes calls of a multiplexed connection by connection, not by path.
    RouteByConnection,
    /// Reclaim takes the head of the inactive list even when it wraps a session's main phone
    /// (HelenOS's suspect S1): the session loses its connection.
    ReclaimMainPhone,
    /// Every clone error, not only a full phone table, makes a begin reclaim (HelenOS's
    /// `async_exchange_begin` as written): when the server refuses clones, one begin drains
    /// the cache of every session in the task and then waits for a phone for ever.
    ReclaimOnRefusal,
    /// The kernel unparks a fibril that waits for a phone but never notifies its thread: the
    /// thread sleeps on while the kernel counts it as running, so the kernel sees no
    /// deadlock (a lost notification, as a missing `notify_one` would make).
    LostNotify,
    /// A forwarded call is routed to the forwarding session's main connection instead of the
    /// connection of the exchange it was forwarded over (for a PARALLEL session, another
    /// connection than the one the forwarder's earlier calls took).
    ForwardWrongConn,
    /// A handler waiting for the answer to one of its calls is resumed with the answer of
    /// another of its calls that arrived first.
    HandlerCrossedAnswer,
    /// `async_sess_args_set` on a callback session is ignored: its PARALLEL clones keep asking
    /// for the interface it was created with, which no port of the client serves.
    CallbackArgsIgnored,
    /// A server task's death answers the calls its handlers held but forgets those still
    /// queued for them: their senders wait for ever.
    DeathForgetsQueued,
}

impl Bug {
    /// Every bug.
    pub const ALL: [Bug; 14] = [
        Bug::SerializeNoLock,
        Bug::CacheWhileInUse,
        Bug::ReclaimActive,
        Bug::LostWakeup,
        Bug::NoHangupMessage,
        Bug::PathReuseEarly,
        Bug::RouteByConnection,
        Bug::ReclaimMainPhone,
        Bug::ReclaimOnRefusal,
        Bug::LostNotify,
        Bug::ForwardWrongConn,
        Bug::HandlerCrossedAnswer,
        Bug::CallbackArgsIgnored,
        Bug::DeathForgetsQueued,
    ];

    /// The bug's kebab-case name.
    pub fn name(self) -> &'static str {
        match self {
            Bug::SerializeNoLock => "serialize-no-lock",
            Bug::CacheWhileInUse => "cache-while-in-use",
            Bug::ReclaimActive => "reclaim-active",
            Bug::LostWakeup => "lost-wakeup",
            Bug::NoHangupMessage => "no-hangup-message",
            Bug::PathReuseEarly => "path-reuse-early",
            Bug::RouteByConnection => "route-by-connection",
            Bug::ReclaimMainPhone => "reclaim-main-phone",
            Bug::ReclaimOnRefusal => "reclaim-on-refusal",
            Bug::LostNotify => "lost-notify",
            Bug::ForwardWrongConn => "forward-wrong-conn",
            Bug::HandlerCrossedAnswer => "handler-crossed-answer",
            Bug::CallbackArgsIgnored => "callback-args-ignored",
            Bug::DeathForgetsQueued => "death-forgets-queued",
        }
    }

    /// Whether this build can inject bugs (the `bugs` feature).
    pub const COMPILED: bool = cfg!(feature = "bugs");
}

impl fmt::Display for Bug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Bug {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Bug::ALL.into_iter().find(|b| b.name() == s).ok_or_else(|| {
            let names: Vec<&str> = Bug::ALL.iter().map(|b| b.name()).collect();
            format!("unknown bug `{s}` (known: {})", names.join(", "))
        })
    }
}
