//! Names: what a trace's ids and numbers are called, learnt from the trace itself.
//!
//! A method number means something only together with the protocol of the connection it
//! travels on, so every report, diagram and log line names objects through a [`Names`] built
//! from the events it describes (or, live, from the events recorded so far). This is also the
//! one place that says in words what a blocked fibril waits for ([`Names::wait`]): deadlock
//! reports and diagrams use it alike.

use super::{Event, ServerWait, Wait};
use crate::error::Errno;
use crate::ids::*;
use crate::method::{Iface, Method};
use crate::protocol::ProtocolInfo;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A server connection as the trace knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnInfo {
    /// The interface the client connected to.
    pub iface: Iface,
    /// The server task.
    pub server: TaskId,
    /// The client task.
    pub client: TaskId,
}

/// The names of a trace's objects. (Saved as lists of pairs: JSON object keys are text.)
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Names {
    /// Fibril names.
    #[serde(default, with = "pairs")]
    pub fibrils: BTreeMap<FibrilId, String>,
    /// Task names.
    #[serde(default, with = "pairs")]
    pub tasks: BTreeMap<TaskId, String>,
    /// Every protocol some server registered, by number.
    #[serde(default, with = "pairs")]
    pub protocols: BTreeMap<u32, ProtocolInfo>,
    /// Every accepted connection.
    #[serde(default, with = "pairs")]
    pub conns: BTreeMap<ConnId, ConnInfo>,
    /// The connection behind each phone that was ever connected.
    #[serde(default, with = "pairs")]
    pub phones: BTreeMap<PhoneId, ConnId>,
    /// Fibrils that are a handler context's own, with their connection and path.
    #[serde(default, with = "pairs")]
    pub handlers: BTreeMap<FibrilId, (ConnId, PathId)>,
    /// Tasks that were killed.
    #[serde(default)]
    pub dead: std::collections::BTreeSet<TaskId>,
}

/// A map saved as a list of `[key, value]` pairs.
mod pairs {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;

    pub fn serialize<K: Serialize, V: Serialize, S: Serializer>(
        map: &BTreeMap<K, V>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(map.iter())
    }

    pub fn deserialize<'de, K, V, D>(d: D) -> Result<BTreeMap<K, V>, D::Error>
    where
        K: Deserialize<'de> + Ord,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        Ok(Vec::<(K, V)>::deserialize(d)?.into_iter().collect())
    }
}

impl Names {
    /// The names `events` establish.
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a Event>) -> Self {
        let mut n = Names::default();
        for e in events {
            n.observe(e);
        }
        n
    }

    /// Learns what `event` names.
    pub fn observe(&mut self, event: &Event) {
        match event {
            Event::TaskNew { task, name, .. } => {
                self.tasks.insert(*task, name.clone());
            }
            Event::FibrilNew { fibril, name, .. } => {
                self.fibrils.insert(*fibril, name.clone());
            }
            Event::HandlerFibril { fibril, conn, path } => {
                self.handlers.insert(*fibril, (*conn, *path));
            }
            Event::TaskDeath { task, .. } => {
                self.dead.insert(*task);
            }
            Event::Serve { protocol, .. } => {
                self.protocols
                    .entry(protocol.id)
                    .or_insert_with(|| protocol.clone());
            }
            Event::ConnOpen {
                conn,
                server,
                client,
                phone,
                iface,
                ..
            } => {
                self.conns.insert(
                    *conn,
                    ConnInfo {
                        iface: *iface,
                        server: *server,
                        client: *client,
                    },
                );
                self.phones.insert(*phone, *conn);
            }
            _ => {}
        }
    }

    /// The name of fibril `f` (its id if it has none).
    pub fn fibril(&self, f: FibrilId) -> String {
        self.fibrils
            .get(&f)
            .cloned()
            .unwrap_or_else(|| f.to_string())
    }

    /// Fibril `f` as a subject: `fibril A`, or, for a handler context's own fibril, `the
    /// handler of conn1 at fwd`.
    pub fn who(&self, f: FibrilId) -> String {
        match self.handlers.get(&f) {
            Some((conn, path)) => self.handler(*conn, *path),
            None => format!("fibril {}", self.fibril(f)),
        }
    }

    /// The handler of `conn` (and `path`, on a multiplexed connection): `the handler of conn1
    /// at fwd`.
    pub fn handler(&self, conn: ConnId, path: PathId) -> String {
        if path == PathId::CONN {
            format!("the handler of {}", self.conn(conn))
        } else {
            format!("the handler of {} {path}", self.conn(conn))
        }
    }

    /// The name of task `t` (its id if it has none).
    pub fn task(&self, t: TaskId) -> String {
        self.tasks.get(&t).cloned().unwrap_or_else(|| t.to_string())
    }

    /// Interface `iface` with its protocol named: `chardev/parallel`.
    pub fn iface(&self, iface: Iface) -> String {
        match self.protocols.get(&iface.protocol()) {
            Some(p) => format!("{}/{}", p.name, iface.style()),
            None => iface.to_string(),
        }
    }

    /// The connection behind `phone`, if it was ever connected.
    pub fn phone_conn(&self, phone: PhoneId) -> Option<ConnId> {
        self.phones.get(&phone).copied()
    }

    /// Method `m` named as it travels on `conn`: a kernel method by its own name, a protocol
    /// method by the name its connection's protocol gives it, anything else by number.
    pub fn method(&self, conn: Option<ConnId>, m: Method) -> String {
        if let Some(name) = m.kernel_name() {
            return name.to_string();
        }
        conn.and_then(|c| self.conns.get(&c))
            .and_then(|c| self.protocols.get(&c.iface.protocol()))
            .and_then(|p| p.method_name(m))
            .map(str::to_string)
            .unwrap_or_else(|| m.to_string())
    }

    /// Method `m` named as it travels on `phone`.
    pub fn method_on(&self, phone: Option<PhoneId>, m: Method) -> String {
        self.method(phone.and_then(|p| self.phone_conn(p)), m)
    }

    /// A connection with its server named: `conn1 at dev` (`conn1 at dev, killed` once the
    /// server task died).
    pub fn conn(&self, conn: ConnId) -> String {
        match self.conns.get(&conn) {
            Some(c) if self.dead.contains(&c.server) => {
                format!("{conn} at {}, killed", self.task(c.server))
            }
            Some(c) => format!("{conn} at {}", self.task(c.server)),
            None => conn.to_string(),
        }
    }

    fn holder(&self, holder: &Option<FibrilId>, short: bool) -> String {
        match (holder, short) {
            (Some(h), true) => format!(", held by {}", self.fibril(*h)),
            (Some(h), false) => format!(", held by {}", self.who(*h)),
            (None, _) => String::new(),
        }
    }

    /// What a blocked fibril waits for, in words: a sentence for reports (`waits for the
    /// answer to call3 (CHARDEV_READ) on conn1 at dev`), or (`short`) a few words for a note
    /// on a diagram's lifeline (`answer to call3`).
    pub fn wait(&self, wait: &Wait, short: bool) -> String {
        match (wait, short) {
            (Wait::Answer { call, .. }, true) => format!("answer to {call}"),
            (Wait::Answer { call, method, conn }, false) => {
                let m = self.method(*conn, *method);
                match conn {
                    Some(c) => format!("waits for the answer to {call} ({m}) on {}", self.conn(*c)),
                    None => format!("waits for the answer to {call} ({m})"),
                }
            }
            (Wait::SerialLock { sess, holder }, true) => {
                format!("lock of {sess}{}", self.holder(holder, true))
            }
            (Wait::SerialLock { sess, holder }, false) => format!(
                "waits for the exchange lock of SERIALIZE {sess}{}",
                self.holder(holder, false)
            ),
            (Wait::AsyncMutex { holder, .. }, true) => {
                format!("async mutex{}", self.holder(holder, true))
            }
            (Wait::AsyncMutex { task, holder }, false) => format!(
                "waits for the async-framework mutex of {}{}",
                self.task(*task),
                self.holder(holder, false)
            ),
            (Wait::AvailPhone { sess }, true) => format!("a phone for {sess}"),
            (Wait::AvailPhone { sess }, false) => format!("waits for a phone to clone for {sess}"),
            (Wait::PathSlot { sess }, true) => format!("a free path of {sess}"),
            (Wait::PathSlot { sess }, false) => format!("waits for a free virtual path of {sess}"),
            (Wait::Join { fibril }, true) => format!("joining {}", self.fibril(*fibril)),
            (Wait::Join { fibril }, false) => {
                format!("waits for {} to finish", self.who(*fibril))
            }
            (Wait::ServerIdle { server }, _) => {
                format!("dispatcher of {} waits for work", self.task(*server))
            }
        }
    }

    /// What a suspended handler waits for, in words: `the handler of conn1 at dev waits for
    /// chardev data` (with its path, on a multiplexed connection).
    pub fn server_wait(&self, w: &ServerWait) -> String {
        format!("{} waits for {}", self.handler(w.conn, w.path), w.what)
    }

    /// One line describing `event`, with methods and interfaces named.
    pub fn event(&self, event: &Event) -> String {
        fn retval(r: &Option<Errno>) -> &'static str {
            r.map(Errno::name).unwrap_or("EOK")
        }
        match event {
            Event::TaskNew {
                task,
                name,
                phone_limit,
                server,
            } => {
                let kind = if *server { "server" } else { "client" };
                format!("{task} `{name}` created ({kind}, {phone_limit} phones)")
            }
            Event::Serve { server, protocol } => {
                format!(
                    "{server} serves protocol {} `{}`",
                    protocol.id, protocol.name
                )
            }
            Event::FibrilNew { fibril, task, name } => {
                format!("{fibril} `{name}` created in {task}")
            }
            Event::TaskDeath { task, by } => format!("{by} killed {task}"),
            Event::HandlerFibril { fibril, conn, path } => {
                format!("{fibril} is {}'s own", self.handler(*conn, *path))
            }
            Event::FibrilExit { fibril, panicked } => format!(
                "{fibril} finished{}",
                if *panicked { " by panicking" } else { "" }
            ),
            Event::PhoneOpen { task, phone, open } => {
                format!("{task} opened {phone} ({open} open)")
            }
            Event::PhoneClose {
                task,
                phone,
                open,
                why,
            } => format!("{task} closed {phone} ({why:?}, {open} open)"),
            Event::ConnOpen {
                conn,
                server,
                client,
                phone,
                iface,
                ..
            } => format!(
                "{server} accepted {conn} for {client} {phone} ({})",
                self.iface(*iface)
            ),
            Event::ConnClose { conn, by } => format!("{conn} closed by {by:?}"),
            Event::SessionOpen {
                sess,
                task,
                iface,
                phone,
                conn,
            } => format!(
                "{task} opened {sess} ({}) on {phone} -> {conn}",
                self.iface(*iface)
            ),
            Event::SessionHangup { sess, fibril } => format!("{fibril} hung up {sess}"),
            Event::ArgsSet { sess, iface } => {
                format!("{sess}'s clones ask for {}", self.iface(*iface))
            }
            Event::CloneRequest { sess, call, iface } => {
                format!("{call} asks for a clone of {sess} ({})", self.iface(*iface))
            }
            Event::ExchBegin {
                exch,
                sess,
                fibril,
                obj,
                phone,
                how,
            } => format!("{fibril} began {exch} on {sess} with {obj} {phone} ({how:?})"),
            Event::ExchEnd { exch, obj, fibril } => format!("{fibril} ended {exch} ({obj})"),
            Event::ExchBroken {
                exch,
                sess,
                op,
                fibril,
            } => format!(
                "{fibril} cut {op} of {exch} on {sess} short: its connection carries nothing more"
            ),
            Event::CacheIn { obj, sess } => format!("{obj} of {sess} cached"),
            Event::CacheOut { obj, sess, why } => {
                format!("{obj} of {sess} left the cache ({why:?})")
            }
            Event::WaitPhone { fibril, sess } => format!("{fibril} waits for a phone for {sess}"),
            Event::LockWait { fibril, wait } => format!("{fibril} {}", self.wait(wait, false)),
            Event::PathOpen { conn, path } => format!("{conn} opened {path}"),
            Event::PathClose { conn, path } => format!("{conn} freed {path}"),
            Event::OpStart {
                op, fibril, name, ..
            } => format!("{fibril} started {op} `{name}`"),
            Event::Send {
                call,
                fibril,
                phone,
                method,
                tag,
            } => {
                let mut s = format!("{fibril} sent {call} {}", self.method_on(*phone, *method));
                if let Some(p) = phone {
                    s.push_str(&format!(" on {p}"));
                }
                if let Some(t) = tag {
                    s.push_str(&format!(" [{t}]"));
                }
                s
            }
            Event::Forward {
                call,
                fibril,
                from,
                phone,
                method,
                tag,
            } => format!(
                "{fibril} forwarded {call} from {from} as {} on {phone} [{tag}]",
                self.method_on(Some(*phone), *method)
            ),
            Event::SendFail {
                fibril,
                phone,
                method,
                error,
                ..
            } => format!(
                "{fibril} could not send {}: {error}",
                self.method_on(*phone, *method)
            ),
            Event::WaitPath { fibril, sess } => format!("{fibril} waits for a free path of {sess}"),
            Event::HangupFail {
                sess,
                fibril,
                error,
            } => format!("{fibril} could not hang up {sess}: {error}"),
            Event::BeginFail {
                fibril,
                sess,
                error,
            } => format!("{fibril} could not begin an exchange on {sess}: {error}"),
            Event::Arrive {
                conn,
                path,
                call,
                method,
                ..
            } => format!(
                "{conn} {path} received {call} {}",
                self.method(Some(*conn), *method)
            ),
            Event::Bounce { conn, call, method } => format!(
                "{call} {} bounced off closed {conn}",
                self.method(Some(*conn), *method)
            ),
            Event::Answer {
                call,
                retval: r,
                evidence,
                by,
                ..
            } => format!(
                "{call} answered {} by {by:?} (evidence {evidence})",
                retval(r)
            ),
            Event::Receive {
                call,
                fibril,
                retval: r,
                evidence,
            } => format!(
                "{fibril} received the answer to {call}: {} (evidence {evidence})",
                retval(r)
            ),
            Event::Forget { call, fibril } => format!("{fibril} forgot {call}"),
            Event::ProtocolError {
                conn,
                path,
                call,
                method,
                expected,
            } => format!(
                "protocol error on {conn} {path}: got {call} {}, expected {expected}",
                self.method(Some(*conn), *method)
            ),
            Event::Finish(fin) => format!("finished: {fin:?}"),
        }
    }
}
