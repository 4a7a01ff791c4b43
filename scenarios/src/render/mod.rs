//! Drawing traces as sequence diagrams.
//!
//! A [`Diagram`] is built once from a [`TraceLog`] (and the violations found in it): one
//! lifeline per client fibril and per server connection, and one row per shown event, in trace
//! order. Every output format consumes the same diagram, so they all agree on what the trace
//! means:
//!
//! - [`Format::Text`]: an ASCII swimlane, stable enough for snapshot tests.
//! - [`Format::Mermaid`]: a mermaid `sequenceDiagram`.
//! - [`Format::Svg`]: a standalone, hand-written SVG picture.
//! - [`Format::Html`]: a standalone page with the SVG, the violations and the text swimlane.
//!
//! A call is drawn when it *arrives* at its connection (the order the server sees), from the
//! fibril that sent it; its answer goes back from the connection to that fibril. Exchanges are
//! spans on the fibril's lifeline. Calls and connections that a violation names are
//! highlighted.

mod html;
mod mermaid;
mod svg;
mod text;

use sessions_core::trace::{AnsweredBy, BeginHow, CacheOut, CloseBy, Names, Wait};
use sessions_core::{
    CallId, ConnId, Errno, Event, ExchId, FibrilId, Method, ObjId, PathId, PhoneId, SessId, Tag,
    TaskId, TraceLog,
};
use sessions_models::violation::Leak;
use sessions_models::{Checker, Violation};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

/// An output format of [`render`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    /// The ASCII swimlane used for snapshot tests and code review.
    Text,
    /// A mermaid `sequenceDiagram`.
    Mermaid,
    /// A standalone SVG picture.
    Svg,
    /// A standalone HTML page with the SVG, the violations and the text swimlane.
    Html,
}

impl Format {
    /// Every format, in declaration order.
    pub const ALL: [Format; 4] = [Format::Text, Format::Mermaid, Format::Svg, Format::Html];

    /// The lowercase name the format is parsed from (`text`, `mermaid`, `svg`, `html`).
    pub fn name(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Mermaid => "mermaid",
            Format::Svg => "svg",
            Format::Html => "html",
        }
    }

    /// The usual file extension of the format's output.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Text => "txt",
            Format::Mermaid => "mmd",
            Format::Svg => "svg",
            Format::Html => "html",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Format::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| {
                format!("unknown render format `{s}` (expected text, mermaid, svg or html)")
            })
    }
}

/// Renders `log` as a sequence diagram in `format`, highlighting what `violations` name.
///
/// The output depends only on its arguments: the same trace always renders identically.
pub fn render(log: &TraceLog, violations: &[Violation], format: Format, title: &str) -> String {
    Diagram::new(log, violations).render(format, title)
}

/// What a lifeline stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LaneKind {
    /// A client fibril.
    Fibril(FibrilId),
    /// A server connection.
    Conn(ConnId),
}

/// One vertical line of the diagram: a client fibril or a server connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lifeline {
    /// What it stands for.
    pub kind: LaneKind,
    /// Its header text: the fibril's name (`A`), or the connection and its interface
    /// (`conn1 (chardev/parallel)`).
    pub label: String,
    /// Whether a violation names it (connections only).
    pub highlighted: bool,
    /// The row in which it came into being (a connection's acceptance); `None` when it exists
    /// from the top of the diagram.
    pub opened_at: Option<usize>,
    /// The row in which it ended (a connection's close); `None` when it lasts to the bottom.
    pub closed_at: Option<usize>,
}

/// What kind of message an arrow is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageKind {
    /// A call reaching a connection's queue.
    Call,
    /// A `CONNECT_ME_TO` that the server accepted: the arrow ends at the new connection.
    Connect,
    /// An answer going back to the fibril that sent the call.
    Answer,
}

/// How a row is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowKind {
    /// An arrow between two lifelines (indices into [`Diagram::lifelines`]).
    Message {
        /// The lifeline it starts at.
        from: usize,
        /// The lifeline it points to.
        to: usize,
        /// What it carries.
        kind: MessageKind,
    },
    /// A note on one lifeline.
    Note {
        /// The lifeline.
        lane: usize,
    },
    /// A note across the whole diagram, for events that belong to no single lifeline.
    Banner,
    /// An exchange begins on a fibril's lifeline.
    ExchBegin {
        /// The fibril's lifeline.
        lane: usize,
        /// The exchange.
        exch: ExchId,
    },
    /// An exchange ends on a fibril's lifeline.
    ExchEnd {
        /// The fibril's lifeline.
        lane: usize,
        /// The exchange.
        exch: ExchId,
    },
}

/// One shown event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// The index of the event in [`TraceLog::events`]; `None` for rows that describe the
    /// deadlock report.
    pub event: Option<usize>,
    /// How it is drawn.
    pub kind: RowKind,
    /// Its text: an arrow's label or a note's content, with logical ids only.
    pub text: String,
    /// Whether a violation names what it shows.
    pub highlighted: bool,
    /// Whether it shows something that went wrong at run time (a bounce, a failed send, a
    /// protocol error, a blocked fibril), whether or not a violation names it.
    pub warning: bool,
}

impl Row {
    /// The lifeline whose column holds the row's text: the fibril end of an arrow, the
    /// lifeline of a note, none for a banner.
    pub fn text_lane(&self) -> Option<usize> {
        match self.kind {
            RowKind::Message { from, to, .. } => Some(from.min(to)),
            RowKind::Note { lane }
            | RowKind::ExchBegin { lane, .. }
            | RowKind::ExchEnd { lane, .. } => Some(lane),
            RowKind::Banner => None,
        }
    }
}

/// An exchange as a span of rows on a fibril's lifeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExchSpan {
    /// The fibril's lifeline.
    pub lane: usize,
    /// The exchange.
    pub exch: ExchId,
    /// The row of its begin.
    pub begin: usize,
    /// The row of its end; `None` if it never ended in the trace.
    pub end: Option<usize>,
    /// How many other exchanges of the same fibril were open when it began (for drawing
    /// nested spans side by side).
    pub depth: usize,
    /// Whether a violation names it.
    pub highlighted: bool,
}

/// A trace interpreted as a sequence diagram, ready for any [`Format`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagram {
    /// The lifelines, left to right: fibrils by id, then connections by id.
    pub lifelines: Vec<Lifeline>,
    /// The rows, top to bottom, in trace order.
    pub rows: Vec<Row>,
    /// The exchanges, in the order they began.
    pub exchanges: Vec<ExchSpan>,
    /// The violations' texts, in the order given.
    pub violations: Vec<String>,
    /// One line per blocked fibril and suspended handler if the execution deadlocked.
    pub deadlock: Vec<String>,
}

/// What violations name, for highlighting.
#[derive(Default)]
struct Marks {
    /// Calls whose arrival (or bounce, or protocol error) a violation is about.
    calls: BTreeSet<CallId>,
    /// Calls whose answer a violation is about (the answers checker's).
    answers: BTreeSet<CallId>,
    conns: BTreeSet<ConnId>,
    exchs: BTreeSet<ExchId>,
    objs: BTreeSet<ObjId>,
    sessions: BTreeSet<SessId>,
    deadlock: bool,
}

impl Marks {
    fn new(violations: &[Violation]) -> Self {
        let mut m = Marks::default();
        for v in violations {
            m.calls.extend(v.calls());
            if v.checker() == Checker::Answers {
                m.answers.extend(v.calls());
            }
            m.conns.extend(v.conn());
            match v {
                Violation::NotEnded { exch, .. } | Violation::EndedTwice { exch } => {
                    m.exchs.insert(*exch);
                }
                Violation::CachedInUse { obj, exch, .. }
                | Violation::ReclaimedActive { obj, exch } => {
                    m.exchs.insert(*exch);
                    m.objs.insert(*obj);
                }
                Violation::Leak(Leak::Cached { obj }) => {
                    m.objs.insert(*obj);
                }
                Violation::Leak(Leak::Session { sess }) => {
                    m.sessions.insert(*sess);
                }
                Violation::Deadlock { .. } => m.deadlock = true,
                _ => {}
            }
        }
        m
    }
}

/// A sent call, as its `Send` event describes it.
#[derive(Clone, Copy)]
struct Sent {
    fibril: FibrilId,
    method: Method,
    tag: Option<Tag>,
}

/// Facts gathered from the whole trace before the rows are laid out.
struct Facts {
    /// What the trace's ids and methods are called.
    names: Names,
    sent: BTreeMap<CallId, Sent>,
    /// The `CONNECT_ME_TO` call each accepted connection answers.
    connect_call: BTreeMap<ConnId, CallId>,
    /// The reverse of `connect_call`.
    call_conn: BTreeMap<CallId, ConnId>,
    fibrils: BTreeSet<FibrilId>,
    conns: BTreeSet<ConnId>,
}

fn is_framework(m: Method) -> bool {
    matches!(m, Method::HANGUP | Method::CONNECT_ME_TO | Method::PATH_END)
}

fn retval(r: Option<Errno>) -> &'static str {
    r.map(Errno::name).unwrap_or("EOK")
}

impl Facts {
    fn gather(log: &TraceLog) -> Self {
        let ev = &log.events;
        let mut f = Facts {
            names: Names::from_events(ev),
            sent: BTreeMap::new(),
            connect_call: BTreeMap::new(),
            call_conn: BTreeMap::new(),
            fibrils: BTreeSet::new(),
            conns: BTreeSet::new(),
        };
        for e in ev {
            match e {
                Event::Send {
                    call,
                    fibril,
                    method,
                    tag,
                    ..
                } => {
                    f.sent.insert(
                        *call,
                        Sent {
                            fibril: *fibril,
                            method: *method,
                            tag: *tag,
                        },
                    );
                    f.fibrils.insert(*fibril);
                }
                Event::ConnOpen { conn, call, .. } => {
                    f.conns.insert(*conn);
                    f.connect_call.insert(*conn, *call);
                    f.call_conn.insert(*call, *conn);
                }
                Event::Answer { conn, .. } => {
                    f.conns.extend(*conn);
                }
                Event::SendFail { fibril, .. }
                | Event::BeginFail { fibril, .. }
                | Event::ExchBegin { fibril, .. }
                | Event::ExchEnd { fibril, .. }
                | Event::ExchBroken { fibril, .. }
                | Event::WaitPhone { fibril, .. }
                | Event::WaitPath { fibril, .. }
                | Event::LockWait { fibril, .. }
                | Event::HangupFail { fibril, .. }
                | Event::SessionHangup { fibril, .. }
                | Event::OpStart { fibril, .. }
                | Event::Forward { fibril, .. }
                | Event::Receive { fibril, .. }
                | Event::Forget { fibril, .. } => {
                    f.fibrils.insert(*fibril);
                }
                Event::Arrive {
                    conn, tag, call, ..
                } => {
                    f.conns.insert(*conn);
                    if !f.sent.contains_key(call) {
                        f.fibrils.extend(tag.map(|t| t.fibril));
                    }
                }
                Event::ConnClose { conn, .. }
                | Event::SessionOpen { conn, .. }
                | Event::PathOpen { conn, .. }
                | Event::PathClose { conn, .. }
                | Event::Bounce { conn, .. }
                | Event::ProtocolError { conn, .. } => {
                    f.conns.insert(*conn);
                }
                _ => {}
            }
        }
        if let Some(report) = &log.deadlock {
            for (fibril, name, wait) in &report.fibrils {
                f.names
                    .fibrils
                    .entry(*fibril)
                    .or_insert_with(|| name.clone());
                if !matches!(wait, Wait::ServerIdle { .. }) {
                    f.fibrils.insert(*fibril);
                }
            }
            f.conns.extend(report.server.iter().map(|w| w.conn));
        }
        f
    }

    fn fibril_name(&self, fibril: FibrilId) -> String {
        self.names.fibril(fibril)
    }

    fn task_name(&self, task: TaskId) -> String {
        self.names.task(task)
    }
}

/// Builds the rows of a diagram.
struct Builder<'a> {
    facts: &'a Facts,
    marks: &'a Marks,
    fibril_lane: BTreeMap<FibrilId, usize>,
    conn_lane: BTreeMap<ConnId, usize>,
    lifelines: Vec<Lifeline>,
    rows: Vec<Row>,
    exchanges: Vec<ExchSpan>,
    /// The phone each exchange object uses.
    obj_phone: BTreeMap<ObjId, PhoneId>,
    /// Calls that bounced and whose kernel answer is therefore already shown.
    bounced: BTreeSet<CallId>,
}

impl Builder<'_> {
    fn push(
        &mut self,
        event: Option<usize>,
        kind: RowKind,
        text: String,
        highlighted: bool,
    ) -> usize {
        self.rows.push(Row {
            event,
            kind,
            text,
            highlighted,
            warning: false,
        });
        self.rows.len() - 1
    }

    fn warn(&mut self, event: Option<usize>, kind: RowKind, text: String, highlighted: bool) {
        self.rows.push(Row {
            event,
            kind,
            text,
            highlighted,
            warning: true,
        });
    }

    fn fib(&self, fibril: FibrilId) -> Option<usize> {
        self.fibril_lane.get(&fibril).copied()
    }

    fn conn(&self, conn: ConnId) -> Option<usize> {
        self.conn_lane.get(&conn).copied()
    }

    /// A note on `lane`, or a banner if there is no such lifeline.
    fn note_kind(lane: Option<usize>) -> RowKind {
        match lane {
            Some(lane) => RowKind::Note { lane },
            None => RowKind::Banner,
        }
    }

    /// The sender of `call`: its `Send` event, else its tag.
    fn sender(&self, call: CallId, tag: Option<Tag>) -> Option<FibrilId> {
        self.facts
            .sent
            .get(&call)
            .map(|s| s.fibril)
            .or(tag.map(|t| t.fibril))
    }

    fn conn_of_phone(&self, phone: PhoneId) -> String {
        match self.facts.names.phone_conn(phone) {
            Some(c) => c.to_string(),
            None => phone.to_string(),
        }
    }

    fn event(&mut self, i: usize, e: &Event) {
        let marks = self.marks;
        match e {
            Event::Arrive {
                conn,
                path,
                call,
                method,
                tag,
            } => {
                let mut text = format!("{call} {}", self.facts.names.method(Some(*conn), *method));
                if *path != PathId::CONN {
                    text.push_str(&format!(" {path}"));
                }
                let tag = tag.or_else(|| self.facts.sent.get(call).and_then(|s| s.tag));
                if let Some(t) = tag {
                    text.push_str(&format!(" [{} step {}]", t.op, t.step));
                }
                let hl = marks.calls.contains(call);
                let to = self.conn(*conn);
                match (self.sender(*call, tag).and_then(|f| self.fib(f)), to) {
                    (Some(from), Some(to)) => {
                        let kind = RowKind::Message {
                            from,
                            to,
                            kind: MessageKind::Call,
                        };
                        self.push(Some(i), kind, text, hl);
                    }
                    (_, lane) => {
                        self.push(
                            Some(i),
                            Self::note_kind(lane),
                            format!("{text} arrived"),
                            hl,
                        );
                    }
                }
            }
            Event::ConnOpen { conn, client, .. } => {
                let lane = self.conn(*conn);
                let call = self.facts.connect_call.get(conn).copied();
                let from = call
                    .and_then(|c| self.facts.sent.get(&c))
                    .and_then(|s| self.fib(s.fibril));
                let row = match (call, from, lane) {
                    (Some(call), Some(from), Some(to)) => {
                        let kind = RowKind::Message {
                            from,
                            to,
                            kind: MessageKind::Connect,
                        };
                        let hl = marks.calls.contains(&call);
                        let method = self
                            .facts
                            .sent
                            .get(&call)
                            .map_or(Method::CONNECT_ME_TO, |s| s.method);
                        self.push(Some(i), kind, format!("{call} {method}"), hl)
                    }
                    _ => {
                        let text = format!("{conn} accepted for {}", self.facts.task_name(*client));
                        self.push(Some(i), Self::note_kind(lane), text, false)
                    }
                };
                if let Some(lane) = lane {
                    self.lifelines[lane].opened_at.get_or_insert(row);
                }
            }
            Event::Answer {
                call,
                conn,
                retval: r,
                evidence,
                by,
            } => {
                if self.bounced.remove(call) && *by == AnsweredBy::Kernel {
                    return;
                }
                let sent = self.facts.sent.get(call).copied();
                let method = sent.map(|s| self.facts.names.method(*conn, s.method));
                let mut text = match (sent, &method) {
                    (Some(s), Some(m)) if !is_framework(s.method) => {
                        format!("{call} {m}: {}", retval(*r))
                    }
                    _ => format!("{call} {}", retval(*r)),
                };
                if *by == AnsweredBy::Kernel {
                    text.push_str(" (kernel)");
                }
                let crossed = evidence != call;
                if crossed {
                    text.push_str(&format!(" answering {evidence}"));
                }
                let hl = marks.answers.contains(call) || marks.answers.contains(evidence);
                let conn = conn.or_else(|| self.facts.call_conn.get(call).copied());
                let to = sent.and_then(|s| self.fib(s.fibril));
                match (conn.and_then(|c| self.conn(c)), to) {
                    (Some(from), Some(to)) => {
                        let kind = RowKind::Message {
                            from,
                            to,
                            kind: MessageKind::Answer,
                        };
                        let row = self.push(Some(i), kind, text, hl);
                        self.rows[row].warning = crossed || r.is_some();
                    }
                    (None, Some(lane)) => {
                        let m = method.map(|m| format!(" {m}")).unwrap_or_default();
                        let text = format!("{call}{m} refused: {}", retval(*r));
                        self.warn(Some(i), RowKind::Note { lane }, text, hl);
                    }
                    (lane, None) => {
                        self.push(
                            Some(i),
                            Self::note_kind(lane),
                            format!("{text} (to nobody)"),
                            hl,
                        );
                    }
                }
            }
            Event::Forward {
                call,
                fibril,
                from,
                phone,
                method,
                ..
            } => {
                let lane = self.fib(*fibril).or(self.conn(*from));
                let method = self.facts.names.method_on(Some(*phone), *method);
                let text = format!(
                    "forwards {call} as {method} to {}",
                    self.conn_of_phone(*phone)
                );
                let hl = marks.calls.contains(call);
                self.push(Some(i), Self::note_kind(lane), text, hl);
            }
            Event::Bounce { conn, call, method } => {
                let hl = marks.calls.contains(call);
                self.bounced.insert(*call);
                let lane = self
                    .sender(*call, None)
                    .and_then(|f| self.fib(f))
                    .or(self.conn(*conn));
                let method = self.facts.names.method(Some(*conn), *method);
                let text = format!("{call} {method} bounced: {conn} is gone");
                self.warn(Some(i), Self::note_kind(lane), text, hl);
            }
            Event::SendFail {
                fibril,
                phone,
                method,
                error,
                ..
            } => {
                let lane = self.fib(*fibril);
                let method = self.facts.names.method_on(*phone, *method);
                let text = format!("send {method} failed: {}", error.errno());
                self.warn(Some(i), Self::note_kind(lane), text, false);
            }
            Event::BeginFail {
                fibril,
                sess,
                error,
            } => {
                let lane = self.fib(*fibril);
                let text = format!("begin on {sess} failed: {}", error.errno());
                self.warn(Some(i), Self::note_kind(lane), text, false);
            }
            Event::Receive {
                call,
                fibril,
                evidence,
                ..
            } if evidence != call => {
                let hl = marks.answers.contains(call) || marks.answers.contains(evidence);
                let lane = self.fib(*fibril);
                let text = format!("took the answer to {evidence} for {call}");
                self.warn(Some(i), Self::note_kind(lane), text, hl);
            }
            Event::Forget { call, fibril } => {
                let hl = marks.answers.contains(call);
                let lane = self.fib(*fibril);
                self.push(
                    Some(i),
                    Self::note_kind(lane),
                    format!("gave up on {call}"),
                    hl,
                );
            }
            Event::OpStart {
                op, fibril, name, ..
            } => {
                let lane = self.fib(*fibril);
                self.push(
                    Some(i),
                    Self::note_kind(lane),
                    format!("{op} {name}"),
                    false,
                );
            }
            Event::ExchBegin {
                exch,
                sess,
                fibril,
                obj,
                phone,
                how,
            } => {
                self.obj_phone.insert(*obj, *phone);
                let via = match how {
                    BeginHow::Reused => format!("reuse {}", self.conn_of_phone(*phone)),
                    BeginHow::Wrapper => self.conn_of_phone(*phone),
                    BeginHow::Cloned => format!("clone {}", self.conn_of_phone(*phone)),
                    BeginHow::Path(p) => format!("{} {p}", self.conn_of_phone(*phone)),
                };
                let text = format!("begin {exch} ({sess}, {via})");
                let hl = marks.exchs.contains(exch) || marks.objs.contains(obj);
                let Some(lane) = self.fib(*fibril) else {
                    self.push(Some(i), RowKind::Banner, text, hl);
                    return;
                };
                let row = self.push(Some(i), RowKind::ExchBegin { lane, exch: *exch }, text, hl);
                let depth = self
                    .exchanges
                    .iter()
                    .filter(|s| s.lane == lane && s.end.is_none())
                    .count();
                self.exchanges.push(ExchSpan {
                    lane,
                    exch: *exch,
                    begin: row,
                    end: None,
                    depth,
                    highlighted: hl,
                });
            }
            Event::ExchEnd { exch, obj, fibril } => {
                let hl = marks.exchs.contains(exch) || marks.objs.contains(obj);
                let text = format!("end {exch}");
                let Some(lane) = self.fib(*fibril) else {
                    self.push(Some(i), RowKind::Banner, text, hl);
                    return;
                };
                let row = self.push(Some(i), RowKind::ExchEnd { lane, exch: *exch }, text, hl);
                if let Some(span) = self
                    .exchanges
                    .iter_mut()
                    .rev()
                    .find(|s| s.exch == *exch && s.end.is_none())
                {
                    span.end = Some(row);
                }
            }
            Event::ExchBroken {
                exch, op, fibril, ..
            } => {
                let hl = marks.exchs.contains(exch);
                let lane = self.fib(*fibril);
                let text = format!("{op} cut short: {exch}'s connection retired");
                self.warn(Some(i), Self::note_kind(lane), text, hl);
            }
            Event::WaitPhone { fibril, sess } => {
                let lane = self.fib(*fibril);
                let text = format!("waits for a phone for {sess}");
                self.push(Some(i), Self::note_kind(lane), text, false);
            }
            Event::WaitPath { fibril, sess } => {
                let lane = self.fib(*fibril);
                let text = format!("waits for a free path of {sess}");
                self.push(Some(i), Self::note_kind(lane), text, false);
            }
            Event::LockWait { fibril, wait } => {
                let lane = self.fib(*fibril);
                let text = self.facts.names.wait(wait, false);
                self.push(Some(i), Self::note_kind(lane), text, false);
            }
            Event::HangupFail {
                fibril,
                sess,
                error,
            } => {
                let lane = self.fib(*fibril);
                let text = format!("hangup of {sess} refused: {}", error.errno());
                self.warn(Some(i), Self::note_kind(lane), text, false);
            }
            Event::CacheOut {
                obj,
                sess,
                why: CacheOut::Reclaim { for_sess, .. },
            } => {
                let phone = self.obj_phone.get(obj).copied();
                let conn = phone.and_then(|p| self.facts.names.phone_conn(p));
                let lane = conn.and_then(|c| self.conn(c));
                let text = format!("reclaim {obj} of {sess} for {for_sess}");
                let hl = marks.objs.contains(obj);
                self.push(Some(i), Self::note_kind(lane), text, hl);
            }
            Event::SessionOpen { sess, conn, .. } => {
                let lane = self.conn(*conn);
                let hl = marks.sessions.contains(sess);
                self.push(Some(i), Self::note_kind(lane), format!("{sess} opened"), hl);
            }
            Event::SessionHangup { sess, fibril } => {
                let lane = self.fib(*fibril);
                let hl = marks.sessions.contains(sess);
                self.push(
                    Some(i),
                    Self::note_kind(lane),
                    format!("hang up {sess}"),
                    hl,
                );
            }
            Event::ConnClose { conn, by } => {
                let lane = self.conn(*conn);
                let by = match by {
                    CloseBy::Client => "client",
                    CloseBy::Server => "server",
                    CloseBy::Death => "its task's death",
                };
                let row = self.push(
                    Some(i),
                    Self::note_kind(lane),
                    format!("closed by {by}"),
                    false,
                );
                if let Some(lane) = lane {
                    self.lifelines[lane].closed_at = Some(row);
                }
            }
            Event::PathOpen { conn, path } => {
                let lane = self.conn(*conn);
                self.push(
                    Some(i),
                    Self::note_kind(lane),
                    format!("{path} opened"),
                    false,
                );
            }
            Event::PathClose { conn, path } => {
                let lane = self.conn(*conn);
                self.push(
                    Some(i),
                    Self::note_kind(lane),
                    format!("{path} freed"),
                    false,
                );
            }
            Event::ProtocolError {
                conn,
                path,
                call,
                method,
                expected,
            } => {
                let lane = self.conn(*conn);
                let _ = method;
                let p = if *path == PathId::CONN {
                    String::new()
                } else {
                    format!(" on {path}")
                };
                let text = format!("bad {call}{p}, expected {expected}");
                let hl = marks.calls.contains(call);
                self.warn(Some(i), Self::note_kind(lane), text, hl);
            }
            Event::TaskDeath { task, by } => {
                let lane = self.fib(*by);
                let text = format!("kills {}", self.facts.task_name(*task));
                self.warn(Some(i), Self::note_kind(lane), text, false);
            }
            Event::FibrilExit {
                fibril,
                panicked: true,
            } => {
                if let Some(lane) = self.fib(*fibril) {
                    self.warn(Some(i), RowKind::Note { lane }, "panicked".into(), false);
                }
            }
            Event::Finish(fin) => {
                let mut parts = Vec::new();
                if !fin.unanswered.is_empty() {
                    parts.push(format!("unanswered {}", join(&fin.unanswered)));
                }
                if !fin.open_conns.is_empty() {
                    parts.push(format!("open {}", join(&fin.open_conns)));
                }
                if !fin.cached.is_empty() {
                    parts.push(format!("cached {}", join(&fin.cached)));
                }
                if !fin.open_sessions.is_empty() {
                    parts.push(format!("open {}", join(&fin.open_sessions)));
                }
                for (task, n) in &fin.open_phones {
                    parts.push(format!(
                        "{} has {n} phones open",
                        self.facts.task_name(*task)
                    ));
                }
                if !parts.is_empty() {
                    let text = format!("left at the end: {}", parts.join("; "));
                    self.warn(Some(i), RowKind::Banner, text, false);
                }
            }
            // Bookkeeping that the diagram shows through other events: the arrival of a call
            // rather than its send, the exchange rather than its cache entry.
            Event::TaskNew { .. }
            | Event::Serve { .. }
            | Event::HandlerFibril { .. }
            | Event::ArgsSet { .. }
            | Event::CloneRequest { .. }
            | Event::FibrilNew { .. }
            | Event::FibrilExit { .. }
            | Event::PhoneOpen { .. }
            | Event::PhoneClose { .. }
            | Event::CacheIn { .. }
            | Event::CacheOut { .. }
            | Event::Send { .. }
            | Event::Receive { .. } => {}
        }
    }
}

fn join<T: fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(T::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl Diagram {
    /// Interprets `log` as a sequence diagram, highlighting the calls, connections and
    /// exchanges that `violations` name.
    pub fn new(log: &TraceLog, violations: &[Violation]) -> Self {
        let facts = Facts::gather(log);
        let marks = Marks::new(violations);
        let mut b = Builder {
            facts: &facts,
            marks: &marks,
            fibril_lane: BTreeMap::new(),
            conn_lane: BTreeMap::new(),
            lifelines: Vec::new(),
            rows: Vec::new(),
            exchanges: Vec::new(),
            obj_phone: BTreeMap::new(),
            bounced: BTreeSet::new(),
        };
        let mut seen_names: BTreeMap<String, usize> = BTreeMap::new();
        for f in &facts.fibrils {
            *seen_names.entry(facts.fibril_name(*f)).or_default() += 1;
        }
        for f in &facts.fibrils {
            let name = facts.fibril_name(*f);
            let label = if seen_names[&name] > 1 {
                format!("{name} ({f})")
            } else {
                name
            };
            b.fibril_lane.insert(*f, b.lifelines.len());
            b.lifelines.push(Lifeline {
                kind: LaneKind::Fibril(*f),
                label,
                highlighted: false,
                opened_at: None,
                closed_at: None,
            });
        }
        for c in &facts.conns {
            let label = match facts.names.conns.get(c).map(|info| info.iface) {
                Some(iface) => format!("{c} ({})", facts.names.iface(iface)),
                None => c.to_string(),
            };
            b.conn_lane.insert(*c, b.lifelines.len());
            b.lifelines.push(Lifeline {
                kind: LaneKind::Conn(*c),
                label,
                highlighted: marks.conns.contains(c),
                opened_at: None,
                closed_at: None,
            });
        }
        for (i, e) in log.events.iter().enumerate() {
            b.event(i, e);
        }
        let mut deadlock = Vec::new();
        if let Some(report) = &log.deadlock {
            let hl = marks.deadlock;
            deadlock = report.lines();
            for (fibril, _, wait) in &report.fibrils {
                if let Wait::ServerIdle { .. } = wait {
                    continue;
                }
                if let Some(lane) = b.fib(*fibril) {
                    let short = format!("blocked: {}", facts.names.wait(wait, true));
                    b.warn(None, RowKind::Note { lane }, short, hl);
                }
            }
            for w in &report.server {
                let lane = b.conn(w.conn);
                let text = if w.path == PathId::CONN {
                    format!("blocked: {}", w.what)
                } else {
                    format!("blocked on {}: {}", w.path, w.what)
                };
                b.warn(None, Builder::note_kind(lane), text, hl);
            }
        }
        Diagram {
            lifelines: b.lifelines,
            rows: b.rows,
            exchanges: b.exchanges,
            violations: violations.iter().map(Violation::to_string).collect(),
            deadlock,
        }
    }

    /// Renders the diagram in `format`, with `title` at the top.
    pub fn render(&self, format: Format, title: &str) -> String {
        match format {
            Format::Text => text::render(self, title),
            Format::Mermaid => mermaid::render(self, title),
            Format::Svg => svg::render(self, title),
            Format::Html => html::render(self, title),
        }
    }

    /// Whether row `row` lies inside an exchange on lifeline `lane`.
    pub fn in_exchange(&self, lane: usize, row: usize) -> bool {
        self.exchanges
            .iter()
            .any(|s| s.lane == lane && s.begin <= row && s.end.is_none_or(|e| row <= e))
    }

    /// Whether lifeline `lane` exists at row `row` (a connection between its acceptance and
    /// its close; a fibril always).
    pub fn alive(&self, lane: usize, row: usize) -> bool {
        let l = &self.lifelines[lane];
        l.opened_at.is_none_or(|o| o <= row) && l.closed_at.is_none_or(|c| row <= c)
    }
}
