//! The kernel's IPC: phone tables, sends, routing to connections, answers, hangup.

use super::{Answer, CallRec, PathWait, PhoneRec, PhoneState, Ready, World};
use crate::bugs::Bug;
use crate::error::{Errno, IpcError};
use crate::ids::*;
use crate::method::{Iface, Method};
use crate::trace::{AnsweredBy, Event, PhoneClose, Tag, Wait};
use std::task::Poll;

/// What a client sends.
pub(crate) struct Outgoing {
    pub method: Method,
    pub args: [u64; 5],
    pub data: Vec<u8>,
    pub tag: Option<Tag>,
    pub path: PathId,
}

impl World {
    /// Allocates a phone in `task`'s table, or fails with the limit error.
    pub(crate) fn phone_alloc(&mut self, task: TaskId) -> Result<PhoneId, IpcError> {
        let t = &mut self.tasks[task.index()];
        if t.open_phones >= t.phone_limit {
            return Err(IpcError::PhoneLimit);
        }
        t.open_phones += 1;
        let open = t.open_phones;
        let phone = PhoneId(self.phones.len() as u32);
        self.phones.push(PhoneRec {
            task,
            state: PhoneState::Connecting,
            inflight: 0,
        });
        self.record(Event::PhoneOpen { task, phone, open });
        Ok(phone)
    }

    pub(crate) fn phone_release(&mut self, phone: PhoneId, state: PhoneState, why: PhoneClose) {
        let p = &mut self.phones[phone.index()];
        p.state = state;
        let task = p.task;
        let t = &mut self.tasks[task.index()];
        t.open_phones -= 1;
        let open = t.open_phones;
        self.record(Event::PhoneClose {
            task,
            phone,
            open,
            why,
        });
    }

    /// The connection behind a phone that may carry a call, or the error a send gets.
    fn phone_conn(&self, phone: PhoneId) -> Result<ConnId, IpcError> {
        match self.phones[phone.index()].state {
            PhoneState::Connected(conn) => Ok(conn),
            PhoneState::Slammed => Err(IpcError::Slammed),
            PhoneState::HungUp | PhoneState::Refused | PhoneState::Connecting => {
                Err(IpcError::PhoneHungUp)
            }
        }
    }

    pub(crate) fn check_send(&self, phone: PhoneId) -> Result<ConnId, IpcError> {
        let conn = self.phone_conn(phone)?;
        if self.phones[phone.index()].inflight >= self.cfg.call_limit {
            return Err(IpcError::CallLimit);
        }
        Ok(conn)
    }

    fn new_call(
        &mut self,
        me: FibrilId,
        out: Outgoing,
        phone: Option<PhoneId>,
        conn: Option<ConnId>,
    ) -> CallId {
        let id = CallId(self.calls.len() as u32);
        self.record(Event::Send {
            call: id,
            fibril: me,
            phone,
            method: out.method,
            tag: out.tag,
        });
        let server = conn
            .map(|c| self.conns[c.index()].server)
            .unwrap_or(TaskId(0));
        self.calls.push(CallRec {
            method: out.method,
            args: out.args,
            data: out.data,
            phone,
            conn,
            path: out.path,
            tag: out.tag,
            sender: me,
            new_phone: None,
            server,
            answered: false,
            answer: None,
            forgotten: false,
            expects_answer: true,
            counted: false,
        });
        id
    }

    /// Sends a call on `phone`. It is queued at the connection behind the phone, in FIFO
    /// order; a connection that is gone answers it EHANGUP at once.
    pub(crate) fn send(
        &mut self,
        me: FibrilId,
        phone: PhoneId,
        out: Outgoing,
    ) -> Result<CallId, IpcError> {
        self.send_checked(me, phone, out, true)
    }

    /// Sends a framework message (PATH_END) that does not count against the call limit.
    pub(crate) fn send_framework(
        &mut self,
        me: FibrilId,
        phone: PhoneId,
        out: Outgoing,
    ) -> Result<CallId, IpcError> {
        self.send_checked(me, phone, out, false)
    }

    fn send_checked(
        &mut self,
        me: FibrilId,
        phone: PhoneId,
        out: Outgoing,
        limited: bool,
    ) -> Result<CallId, IpcError> {
        let checked = if limited {
            self.check_send(phone)
        } else {
            self.phone_conn(phone)
        };
        let conn = match checked {
            Ok(conn) => conn,
            Err(e) => {
                self.record(Event::SendFail {
                    fibril: me,
                    phone: Some(phone),
                    method: out.method,
                    tag: out.tag,
                    error: e.clone(),
                });
                return Err(e);
            }
        };
        let call = self.new_call(me, out, Some(phone), Some(conn));
        self.count(call);
        self.deliver(call);
        Ok(call)
    }

    fn count(&mut self, call: CallId) {
        let c = &mut self.calls[call.index()];
        if let Some(p) = c.phone {
            c.counted = true;
            self.phones[p.index()].inflight += 1;
        }
    }

    /// Sends `CONNECT_ME_TO(iface, arg2, arg3)` to `server`, over `via` (a clone) or through
    /// the naming service (a session's first connection). The phone it will connect is taken
    /// from `task`'s table now; a full table fails at once.
    pub(crate) fn connect_me_to(
        &mut self,
        me: FibrilId,
        task: TaskId,
        via: Option<PhoneId>,
        server: TaskId,
        (iface, arg2, arg3): (Iface, u64, u64),
    ) -> Result<CallId, IpcError> {
        let out = Outgoing {
            method: Method::CONNECT_ME_TO,
            args: [iface.0 as u64, arg2, arg3, 0, 0],
            data: Vec::new(),
            tag: None,
            path: PathId::CONN,
        };
        let checked = match via {
            Some(p) => self
                .check_send(p)
                .map(|c| Some(self.conns[c.index()].server)),
            None => Ok(None),
        };
        let fail = |w: &mut World, e: IpcError| {
            w.record(Event::SendFail {
                fibril: me,
                phone: via,
                method: Method::CONNECT_ME_TO,
                tag: None,
                error: e.clone(),
            });
            Err(e)
        };
        let server = match checked {
            Ok(s) => s.unwrap_or(server),
            Err(e) => return fail(self, e),
        };
        let new_phone = match self.phone_alloc(task) {
            Ok(p) => p,
            Err(e) => return fail(self, e),
        };
        let call = self.new_call(me, out, via, None);
        self.count(call);
        let c = &mut self.calls[call.index()];
        c.new_phone = Some(new_phone);
        c.server = server;
        if self.task_dead(server) {
            // Nobody will accept it.
            self.refuse_connect(call, Errno::Ehangup);
            return Ok(call);
        }
        self.server_mut(server)
            .ready
            .push_back(Ready::Connect(call));
        self.kick(server);
        Ok(call)
    }

    /// Routes a sent call to its connection and path.
    pub(crate) fn deliver(&mut self, call: CallId) {
        let (conn, method, tag) = {
            let c = &self.calls[call.index()];
            (
                c.conn.expect("a routed call has a connection"),
                c.method,
                c.tag,
            )
        };
        if !self.conns[conn.index()].open {
            self.record(Event::Bounce { conn, call, method });
            self.answer_hangup(call);
            return;
        }
        if method == Method::HANGUP {
            self.conns[conn.index()].hangup_queued = true;
            self.record(Event::Arrive {
                conn,
                path: PathId::CONN,
                call,
                method,
                tag,
            });
            let live: Vec<PathId> = self.conns[conn.index()].paths.keys().copied().collect();
            if live.is_empty() {
                self.close_conn_if_done(conn);
            }
            for path in live {
                self.enqueue(conn, path, call);
            }
            return;
        }
        let mut path = self.calls[call.index()].path;
        if self.conns[conn.index()].mux && self.bug(Bug::RouteByConnection) {
            if let Some(first) = self.conns[conn.index()].paths.keys().next() {
                path = *first;
            }
        }
        if !self.conns[conn.index()].paths.contains_key(&path) {
            if method == Method::PATH_END || !self.conns[conn.index()].mux {
                // Ending a path the server never saw a call on: nothing to free.
                self.record(Event::Arrive {
                    conn,
                    path,
                    call,
                    method,
                    tag,
                });
                self.answer(call, None, [0; 5], Vec::new(), AnsweredBy::Kernel);
                return;
            }
            self.open_path(conn, path);
        }
        self.record(Event::Arrive {
            conn,
            path,
            call,
            method,
            tag,
        });
        if self.conns[conn.index()].paths[&path].wait == PathWait::Done {
            // The handler of this path already returned: it is gone for this call.
            self.path_leftover(conn, path, call);
            return;
        }
        self.enqueue(conn, path, call);
    }

    /// Answers `call` (once; a second answer is recorded and dropped).
    pub(crate) fn answer(
        &mut self,
        call: CallId,
        retval: Option<Errno>,
        args: [u64; 5],
        data: Vec<u8>,
        by: AnsweredBy,
    ) {
        let c = &self.calls[call.index()];
        let conn = c.conn;
        self.record(Event::Answer {
            call,
            conn,
            retval,
            evidence: call,
            by,
        });
        if c.answered {
            return;
        }
        let (phone, method, sender, forgotten, expects, counted) = (
            c.phone,
            c.method,
            c.sender,
            c.forgotten,
            c.expects_answer,
            c.counted,
        );
        let c = &mut self.calls[call.index()];
        c.answered = true;
        if let Some(p) = phone {
            if counted {
                self.phones[p.index()].inflight -= 1;
            }
            // An EHANGUP answer slams the caller's phone (HelenOS `answer_preprocess`) once its
            // connection is gone. A multiplexed connection outlives one dead path: its phone
            // still carries the other paths.
            if let (Some(Errno::Ehangup), PhoneState::Connected(c)) =
                (retval, self.phones[p.index()].state)
            {
                if !self.conns[c.index()].open {
                    self.phones[p.index()].state = PhoneState::Slammed;
                }
            }
        }
        if method == Method::PATH_END {
            self.path_end_answered(call);
        }
        if !expects || forgotten {
            return;
        }
        self.calls[call.index()].answer = Some(Answer {
            retval,
            args,
            data,
            evidence: call,
        });
        if matches!(self.fibrils[sender.index()].parked, Some(Wait::Answer { call: c, .. }) if c == call)
        {
            self.unpark(sender);
        }
    }

    /// The kernel answers `call` EHANGUP: its connection or path is gone.
    pub(crate) fn answer_hangup(&mut self, call: CallId) {
        self.answer(
            call,
            Some(Errno::Ehangup),
            [0; 5],
            Vec::new(),
            AnsweredBy::Kernel,
        );
    }

    /// Takes the answer to `call`, or parks `me` until it arrives.
    pub(crate) fn wait_poll(&mut self, me: FibrilId, call: CallId) -> Poll<Answer> {
        // The answer is taken from `call`, unless the injected bug resumes a handler with
        // whichever of its answers came first.
        let mut from = call;
        if self.bug(Bug::HandlerCrossedAnswer) && self.fibrils[me.index()].handler.is_some() {
            let mine = |c: &CallRec| c.sender == me && c.answer.is_some();
            if let Some(other) = (0..self.calls.len())
                .map(|i| CallId(i as u32))
                .find(|c| *c != call && mine(&self.calls[c.index()]))
            {
                from = other;
            }
        }
        if let Some(a) = self.calls[from.index()].answer.take() {
            self.record(Event::Receive {
                call,
                fibril: me,
                retval: a.retval,
                evidence: a.evidence,
            });
            return Poll::Ready(a);
        }
        let c = &self.calls[call.index()];
        let wait = Wait::Answer {
            call,
            method: c.method,
            conn: c.conn,
        };
        self.park(me, wait);
        Poll::Pending
    }

    /// Drops interest in `call`'s answer.
    pub(crate) fn forget(&mut self, me: FibrilId, call: CallId) {
        let c = &mut self.calls[call.index()];
        c.forgotten = true;
        c.answer = None;
        let sender = c.sender;
        if self.is_killed(sender) {
            // A dead fibril's handle dropped by whoever dropped its handler: nothing to say.
            return;
        }
        self.record(Event::Forget { call, fibril: me });
    }

    /// Hangs up `phone`: the connection behind it gets HANGUP as its last message, and the
    /// slot is freed.
    pub(crate) fn phone_hangup(&mut self, me: FibrilId, phone: PhoneId) {
        let state = self.phones[phone.index()].state;
        match state {
            PhoneState::HungUp | PhoneState::Refused => return,
            PhoneState::Connected(conn) if !self.bug(Bug::NoHangupMessage) => {
                let out = Outgoing {
                    method: Method::HANGUP,
                    args: [0; 5],
                    data: Vec::new(),
                    tag: None,
                    path: PathId::CONN,
                };
                let call = self.new_call(me, out, None, Some(conn));
                self.calls[call.index()].phone = Some(phone);
                self.calls[call.index()].expects_answer = false;
                self.deliver(call);
            }
            _ => {}
        }
        self.phone_release(phone, PhoneState::HungUp, PhoneClose::Hangup);
    }

    /// The server refused a `CONNECT_ME_TO`: its phone goes back to the table.
    pub(crate) fn refuse_connect(&mut self, call: CallId, errno: Errno) {
        self.answer(call, Some(errno), [0; 5], Vec::new(), AnsweredBy::Kernel);
        if let Some(p) = self.calls[call.index()].new_phone {
            self.phone_release(p, PhoneState::Refused, PhoneClose::Refused);
        }
    }
}
