//! The trace: what clients did and what servers saw, recorded for checkers.
//!
//! Three rooms: [`event`] is the vocabulary (tags, events, waits), [`names`] says what the
//! trace's ids and method numbers are called (and, once, what a wait means in words), and this
//! module is the recorder.
//!
//! Server logic never reads any of this. Every event is recorded while the world lock is held
//! (inside a critical section that exists anyway), into [`Ghost`] storage that model checkers
//! do not schedule, so a run with tracing explores exactly the executions a run without it
//! does. The table of blocked fibrils is kept the same way so that a deadlock can be explained
//! in protocol terms after loom or shuttle has stopped the execution.

mod event;
mod names;

pub use event::*;
pub use names::{ConnInfo, Names};

use crate::ids::*;
use crate::sync::{Arc, Ghost};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Who was blocked where when no fibril could run any more.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlockReport {
    /// Every blocked fibril, its name, and what it waited for.
    pub fibrils: Vec<(FibrilId, String, Wait)>,
    /// Every suspended server handler.
    pub server: Vec<ServerWait>,
    /// The names of the trace's objects when it stopped, for explaining who holds what and
    /// which method a call was.
    #[serde(default)]
    pub known: Names,
    /// Fibrils the kernel woke whose threads never ran again: their notification was lost.
    /// (The kernel counts them as running, so only the backend, or a stall, finds these.)
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub woken: Vec<(FibrilId, String)>,
    /// Set when the report is of an execution on std threads that made no progress for this
    /// many seconds, rather than of one in which no fibril could run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stalled_secs: Option<u64>,
}

/// Whether events are recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TraceLevel {
    /// Record nothing but the table of blocked fibrils.
    Off,
    /// Record every event.
    #[default]
    Full,
    /// Record every event and also print it to standard error as it happens.
    Log,
}

/// The recorded events of one execution and, if it deadlocked, the report.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceLog {
    /// Events in the order they happened.
    pub events: Vec<Event>,
    /// Set when the execution deadlocked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadlock: Option<DeadlockReport>,
}

#[derive(Debug, Default)]
struct Buf {
    level: TraceLevel,
    events: Vec<Event>,
    names: Names,
    waits: BTreeMap<FibrilId, Wait>,
    /// Fibrils unparked whose threads have not run since.
    woken: std::collections::BTreeSet<FibrilId>,
    server_waits: BTreeMap<(ConnId, PathId), String>,
    deadlock: Option<DeadlockReport>,
}

/// A handle on one execution's trace. Cloning shares it.
#[derive(Clone, Debug, Default)]
pub struct Trace {
    buf: Arc<Ghost<Buf>>,
}

impl Trace {
    /// An empty trace recording at `level`.
    pub fn new(level: TraceLevel) -> Self {
        Trace {
            buf: Arc::new(Ghost::new(Buf {
                level,
                ..Buf::default()
            })),
        }
    }

    /// The names of what was recorded so far.
    pub fn names(&self) -> Names {
        self.buf.with(|b| b.names.clone())
    }

    /// The recording level.
    pub fn level(&self) -> TraceLevel {
        self.buf.with(|b| b.level)
    }

    /// Records `event`.
    pub(crate) fn record(&self, event: Event) {
        self.buf.with(|b| {
            b.names.observe(&event);
            match b.level {
                TraceLevel::Off => {}
                TraceLevel::Full => b.events.push(event),
                TraceLevel::Log => {
                    eprintln!("[sessions] {}", b.names.event(&event));
                    b.events.push(event);
                }
            }
        })
    }

    /// `fibril` parks waiting for `wait`, or (`None`) stops waiting without being woken.
    pub(crate) fn set_wait(&self, fibril: FibrilId, wait: Option<Wait>) {
        self.buf.with(|b| {
            b.woken.remove(&fibril);
            match wait {
                Some(w) => b.waits.insert(fibril, w),
                None => b.waits.remove(&fibril),
            };
        })
    }

    /// `fibril` was unparked: it no longer waits, and its thread is to run again.
    pub(crate) fn set_woken(&self, fibril: FibrilId) {
        self.buf.with(|b| {
            b.waits.remove(&fibril);
            b.woken.insert(fibril);
        })
    }

    /// `fibril`'s thread ran again after a wake-up.
    pub(crate) fn set_resumed(&self, fibril: FibrilId) {
        self.buf.with(|b| {
            b.woken.remove(&fibril);
        })
    }

    pub(crate) fn set_server_wait(&self, conn: ConnId, path: PathId, what: Option<String>) {
        self.buf.with(|b| match what {
            Some(w) => {
                b.server_waits.insert((conn, path), w);
            }
            None => {
                b.server_waits.remove(&(conn, path));
            }
        })
    }

    /// Freezes the current table of blocked fibrils as the deadlock report, once.
    pub fn note_deadlock(&self) -> DeadlockReport {
        self.note(None)
    }

    /// Freezes the current table of blocked fibrils as the report of an execution on std
    /// threads that made no progress for `seconds`, once.
    pub fn note_stall(&self, seconds: u64) -> DeadlockReport {
        self.note(Some(seconds))
    }

    fn note(&self, stalled_secs: Option<u64>) -> DeadlockReport {
        self.buf.with(|b| {
            let name = |f: &FibrilId| b.names.fibril(*f);
            if b.deadlock.is_none() {
                b.deadlock = Some(DeadlockReport {
                    fibrils: b
                        .waits
                        .iter()
                        .map(|(f, w)| (*f, name(f), w.clone()))
                        .collect(),
                    server: b
                        .server_waits
                        .iter()
                        .map(|((conn, path), what)| ServerWait {
                            conn: *conn,
                            path: *path,
                            what: what.clone(),
                        })
                        .collect(),
                    known: b.names.clone(),
                    woken: b.woken.iter().map(|f| (*f, name(f))).collect(),
                    stalled_secs,
                });
            }
            b.deadlock.clone().unwrap_or_default()
        })
    }

    /// Who waits for what right now: every parked fibril and its wait (ghost state, for
    /// harnesses and tests; server logic never reads it).
    pub fn waits(&self) -> Vec<(FibrilId, Wait)> {
        self.buf
            .with(|b| b.waits.iter().map(|(f, w)| (*f, w.clone())).collect())
    }

    /// A copy of everything recorded so far.
    pub fn snapshot(&self) -> TraceLog {
        self.buf.with(|b| TraceLog {
            events: b.events.clone(),
            deadlock: b.deadlock.clone(),
        })
    }

    /// Number of events recorded so far.
    pub fn len(&self) -> usize {
        self.buf.with(|b| b.events.len())
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl DeadlockReport {
    /// The name of fibril `f`, if known.
    pub fn name(&self, f: FibrilId) -> Option<&str> {
        self.known.fibrils.get(&f).map(String::as_str)
    }

    /// What `wait` means, in the words of [`Names::wait`].
    pub fn explain(&self, wait: &Wait) -> String {
        self.known.wait(wait, false)
    }

    /// Who waits for what, one line each, with chains followed across servers: a wait for an
    /// answer on a connection is followed by what that connection's handler waits for (as a
    /// client, on the next server, or for its next call or a state change), and so on:
    /// "fibril A waits for the answer to call3 (RELAY_READ) on conn1 at relay", "the handler
    /// of conn1 at relay waits for the answer to call5 (CHARDEV_READ) on conn2 at dev", "the
    /// handler of conn2 at dev waits for chardev data".
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut fibrils_done = vec![false; self.fibrils.len()];
        let mut server_done = vec![false; self.server.len()];
        let handler = |f: FibrilId| self.known.handlers.get(&f).copied();
        // Threads first, in id order; then handler fibrils no chain reached; then handlers
        // waiting for calls or state that no chain reached.
        let order: Vec<usize> = (0..self.fibrils.len())
            .filter(|i| handler(self.fibrils[*i].0).is_none())
            .chain((0..self.fibrils.len()).filter(|i| handler(self.fibrils[*i].0).is_some()))
            .collect();
        for start in order {
            let mut stack = vec![start];
            while let Some(i) = stack.pop() {
                if std::mem::replace(&mut fibrils_done[i], true) {
                    continue;
                }
                let (f, name, wait) = &self.fibrils[i];
                let text = self.explain(wait);
                out.push(match (wait, handler(*f)) {
                    (Wait::ServerIdle { .. }, _) => text,
                    (_, Some(_)) => format!("{} {text}", self.known.who(*f)),
                    (_, None) => format!("fibril {name} {text}"),
                });
                let Wait::Answer {
                    conn: Some(conn), ..
                } = wait
                else {
                    continue;
                };
                for (j, w) in self.server.iter().enumerate() {
                    if w.conn == *conn && !std::mem::replace(&mut server_done[j], true) {
                        out.push(self.known.server_wait(w));
                    }
                }
                let next: Vec<usize> = (0..self.fibrils.len())
                    .filter(|j| handler(self.fibrils[*j].0).is_some_and(|(c, _)| c == *conn))
                    .collect();
                stack.extend(next.into_iter().rev());
            }
        }
        for (j, w) in self.server.iter().enumerate() {
            if !server_done[j] {
                out.push(self.known.server_wait(w));
            }
        }
        out
    }
}

impl fmt::Display for DeadlockReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.stalled_secs {
            Some(s) => write!(f, "no progress for {s} s on std threads:")?,
            None => write!(f, "no fibril can run:")?,
        }
        for line in self.lines() {
            write!(f, " {line};")?;
        }
        for (_, name) in &self.woken {
            write!(
                f,
                " fibril {name} was woken but its thread never ran again (a lost notification);"
            )?;
        }
        Ok(())
    }
}
