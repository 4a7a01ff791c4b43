//! The async framework's client side: sessions, exchange begin and end, reclaim, hangup.
//!
//! Each blocking operation is a small state machine polled under the world lock, following
//! HelenOS's `async_exchange_begin`, `async_exchange_end` and `async_hangup` step by step, with
//! the corrections this crate makes (see `ARCHITECTURE.md`).

use super::ipc::Outgoing;
use super::{ExchRec, ObjRec, ObjState, OpCtx, PhoneState, SessRec, World};
use crate::bugs::Bug;
use crate::error::{Errno, IpcError};
use crate::ids::*;
use crate::method::{Iface, Method, Style};
use crate::trace::{BeginHow, CacheOut, Event, Tag, Wait};
use std::collections::VecDeque;
use std::task::Poll;

/// Connecting a new session.
pub(crate) struct ConnectSm {
    pub task: TaskId,
    pub server: TaskId,
    pub args: (Iface, u64, u64),
    pub call: Option<CallId>,
}

#[derive(Clone, Copy, Debug)]
enum BeginSt {
    Start,
    /// Owns `async_sess_mutex` (got it at once or by hand-off).
    Locked,
    Retry,
    Cloning(CallId),
    CloneFailed,
    WaitAvail,
    Relocked,
    AfterExch(ExchId, ObjId, BeginHow),
    Serial(ExchId, ObjId, BeginHow),
    Path,
}

/// `async_exchange_begin`.
pub(crate) struct BeginSm {
    sess: SessId,
    st: BeginSt,
}

impl BeginSm {
    pub(crate) fn new(sess: SessId) -> Self {
        BeginSm {
            sess,
            st: BeginSt::Start,
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum EndSt {
    Start,
    Locked,
}

/// `async_exchange_end`.
pub(crate) struct EndSm {
    exch: ExchId,
    st: EndSt,
}

impl EndSm {
    pub(crate) fn new(exch: ExchId) -> Self {
        EndSm {
            exch,
            st: EndSt::Start,
        }
    }
}

/// `async_hangup`.
pub(crate) struct HangupSm {
    sess: SessId,
    locked: bool,
}

impl HangupSm {
    pub(crate) fn new(sess: SessId) -> Self {
        HangupSm {
            sess,
            locked: false,
        }
    }
}

/// A begun exchange, as the client API holds it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Begun {
    pub exch: ExchId,
    pub ctx: usize,
}

impl World {
    fn task_of(&self, sess: SessId) -> TaskId {
        self.sessions[sess.index()].task
    }

    /// Takes `async_sess_mutex` of `task` for `me`, or parks `me` on it.
    fn lock_async(&mut self, me: FibrilId, task: TaskId) -> bool {
        let m = &mut self.tasks[task.index()].sess_mutex;
        if m.try_lock(me) {
            return true;
        }
        let holder = m.owner;
        self.park_on_lock(me, Wait::AsyncMutex { task, holder });
        false
    }

    /// Parks `me` on a fibril mutex (`async_sess_mutex`, a SERIALIZE session's lock), saying
    /// so in the trace.
    fn park_on_lock(&mut self, me: FibrilId, wait: Wait) {
        self.record(Event::LockWait {
            fibril: me,
            wait: wait.clone(),
        });
        self.park(me, wait);
    }

    fn unlock_async(&mut self, me: FibrilId, task: TaskId) {
        if let Some(next) = self.tasks[task.index()].sess_mutex.unlock(me) {
            self.unpark(next);
        }
    }

    /// Polls a session connect: `CONNECT_ME_TO` through the naming service, then the answer.
    pub(crate) fn connect_poll(
        &mut self,
        me: FibrilId,
        sm: &mut ConnectSm,
    ) -> Poll<Result<SessId, IpcError>> {
        let call = match sm.call {
            Some(c) => c,
            None => match self.connect_me_to(me, sm.task, None, sm.server, sm.args) {
                Ok(c) => {
                    sm.call = Some(c);
                    c
                }
                Err(e) => return Poll::Ready(Err(e)),
            },
        };
        let answer = match self.wait_poll(me, call) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(a) => a,
        };
        if let Some(e) = answer.retval {
            return Poll::Ready(Err(IpcError::from_errno(e)));
        }
        let phone = PhoneId(answer.args[4] as u32);
        let conn = match self.phones[phone.index()].state {
            super::PhoneState::Connected(c) => c,
            _ => return Poll::Ready(Err(IpcError::Hangup)),
        };
        let sess = SessId(self.sessions.len() as u32);
        self.sessions.push(SessRec {
            task: sm.task,
            iface: sm.args.0,
            clone_args: sm.args,
            phone,
            conn,
            serial: Default::default(),
            exchanges: 0,
            cache: VecDeque::new(),
            hung_up: false,
            callback: false,
            broken: false,
            paths_in_use: Vec::new(),
            path_waiters: VecDeque::new(),
        });
        self.record(Event::SessionOpen {
            sess,
            task: sm.task,
            iface: sm.args.0,
            phone,
            conn,
        });
        Poll::Ready(Ok(sess))
    }

    fn new_obj(&mut self, sess: SessId, phone: PhoneId, path: PathId) -> ObjId {
        let obj = ObjId(self.objs.len() as u32);
        self.objs.push(ObjRec {
            sess,
            phone,
            state: ObjState::Freed,
            path,
        });
        obj
    }

    fn activate(&mut self, obj: ObjId) -> ExchId {
        let exch = ExchId(self.exchs.len() as u32);
        let sess = self.objs[obj.index()].sess;
        self.exchs.push(ExchRec {
            sess,
            obj,
            broken: false,
        });
        self.objs[obj.index()].state = ObjState::Active(exch);
        self.sessions[sess.index()].exchanges += 1;
        exch
    }

    /// Pops the oldest cached exchange object of `sess`.
    fn take_cached(&mut self, sess: SessId) -> Option<ObjId> {
        let obj = self.sessions[sess.index()].cache.pop_front()?;
        let task = self.task_of(sess);
        if !self.bug(Bug::ReclaimActive) {
            self.tasks[task.index()].inactive.retain(|o| *o != obj);
        }
        self.record(Event::CacheOut {
            obj,
            sess,
            why: CacheOut::Reuse,
        });
        if self.bug(Bug::CacheWhileInUse) {
            self.sessions[sess.index()].cache.push_front(obj);
            self.record(Event::CacheIn { obj, sess });
        }
        Some(obj)
    }

    /// The head of the task's inactive list whose phone is no session's main phone (S1).
    fn reclaim_victim(&self, task: TaskId) -> Option<ObjId> {
        let inactive = &self.tasks[task.index()].inactive;
        if self.bug(Bug::ReclaimMainPhone) {
            return inactive.front().copied();
        }
        inactive.iter().copied().find(|o| {
            let phone = self.objs[o.index()].phone;
            !self.sessions.iter().any(|s| !s.hung_up && s.phone == phone)
        })
    }

    fn reclaim(&mut self, me: FibrilId, victim: ObjId, for_sess: SessId) {
        let (vsess, phone) = (
            self.objs[victim.index()].sess,
            self.objs[victim.index()].phone,
        );
        let task = self.task_of(vsess);
        self.tasks[task.index()].inactive.retain(|o| *o != victim);
        self.sessions[vsess.index()].cache.retain(|o| *o != victim);
        self.record(Event::CacheOut {
            obj: victim,
            sess: vsess,
            why: CacheOut::Reclaim { for_sess, by: me },
        });
        self.objs[victim.index()].state = ObjState::Freed;
        self.phone_hangup(me, phone);
    }

    /// Polls `async_exchange_begin`.
    pub(crate) fn begin_poll(
        &mut self,
        me: FibrilId,
        sm: &mut BeginSm,
    ) -> Poll<Result<Begun, IpcError>> {
        let sess = sm.sess;
        let task = self.task_of(sess);
        let style = self.style(sess);
        loop {
            match sm.st {
                BeginSt::Start => {
                    if self.sessions[sess.index()].hung_up {
                        return Poll::Ready(Err(IpcError::SessionClosed));
                    }
                    if self.sessions[sess.index()].broken {
                        return Poll::Ready(Err(IpcError::Broken));
                    }
                    if style == Style::Multiplexed {
                        sm.st = BeginSt::Path;
                        continue;
                    }
                    sm.st = BeginSt::Locked;
                    if !self.lock_async(me, task) {
                        return Poll::Pending;
                    }
                }
                BeginSt::Locked => {
                    // The session may have been hung up while this fibril queued for the mutex.
                    if self.sessions[sess.index()].hung_up {
                        self.unlock_async(me, task);
                        return Poll::Ready(Err(IpcError::SessionClosed));
                    }
                    if self.sessions[sess.index()].broken {
                        self.unlock_async(me, task);
                        return Poll::Ready(Err(IpcError::Broken));
                    }
                    if let Some(obj) = self.take_cached(sess) {
                        let exch = self.activate(obj);
                        sm.st = BeginSt::AfterExch(exch, obj, BeginHow::Reused);
                    } else if style != Style::Parallel {
                        let phone = self.sessions[sess.index()].phone;
                        let obj = self.new_obj(sess, phone, PathId::CONN);
                        let exch = self.activate(obj);
                        sm.st = BeginSt::AfterExch(exch, obj, BeginHow::Wrapper);
                    } else {
                        sm.st = BeginSt::Retry;
                    }
                }
                BeginSt::Retry => {
                    let s = &self.sessions[sess.index()];
                    let (phone, args) = (s.phone, s.clone_args);
                    let server = self.conns[s.conn.index()].server;
                    match self.connect_me_to(me, task, Some(phone), server, args) {
                        Ok(call) => {
                            self.record(Event::CloneRequest {
                                sess,
                                call,
                                iface: args.0,
                            });
                            sm.st = BeginSt::Cloning(call)
                        }
                        Err(IpcError::PhoneLimit) => sm.st = BeginSt::CloneFailed,
                        Err(e) => {
                            // The session phone itself is gone: no reclaim can help.
                            self.unlock_async(me, task);
                            return Poll::Ready(Err(e));
                        }
                    }
                }
                BeginSt::Cloning(call) => {
                    let answer = match self.wait_poll(me, call) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(a) => a,
                    };
                    match answer.retval {
                        None => {
                            let phone = PhoneId(answer.args[4] as u32);
                            let obj = self.new_obj(sess, phone, PathId::CONN);
                            let exch = self.activate(obj);
                            sm.st = BeginSt::AfterExch(exch, obj, BeginHow::Cloned);
                        }
                        Some(Errno::Elimit | Errno::Enomem) => sm.st = BeginSt::CloneFailed,
                        Some(_) if self.bug(Bug::ReclaimOnRefusal) => sm.st = BeginSt::CloneFailed,
                        Some(e) => {
                            self.unlock_async(me, task);
                            return Poll::Ready(Err(IpcError::from_errno(e)));
                        }
                    }
                }
                BeginSt::CloneFailed => {
                    if let Some(victim) = self.reclaim_victim(task) {
                        self.reclaim(me, victim, sess);
                        sm.st = BeginSt::Retry;
                        continue;
                    }
                    // fibril_condvar_wait(&avail_phone_cv, &async_sess_mutex)
                    self.tasks[task.index()].avail_waiters.push_back((me, sess));
                    self.record(Event::WaitPhone { fibril: me, sess });
                    self.unlock_async(me, task);
                    self.park(me, Wait::AvailPhone { sess });
                    sm.st = BeginSt::WaitAvail;
                    return Poll::Pending;
                }
                BeginSt::WaitAvail => {
                    if self.sessions[sess.index()].hung_up {
                        return Poll::Ready(Err(IpcError::SessionClosed));
                    }
                    sm.st = BeginSt::Relocked;
                    if !self.lock_async(me, task) {
                        return Poll::Pending;
                    }
                }
                BeginSt::Relocked => {
                    if self.sessions[sess.index()].hung_up {
                        self.unlock_async(me, task);
                        return Poll::Ready(Err(IpcError::SessionClosed));
                    }
                    // As HelenOS: retry cloning without looking at the session's cache.
                    sm.st = BeginSt::Retry;
                }
                BeginSt::AfterExch(exch, obj, how) => {
                    self.unlock_async(me, task);
                    sm.st = BeginSt::Serial(exch, obj, how);
                    if style == Style::Serialize && !self.bug(Bug::SerializeNoLock) {
                        let serial = &mut self.sessions[sess.index()].serial;
                        if !serial.try_lock(me) {
                            let holder = serial.owner;
                            self.park_on_lock(me, Wait::SerialLock { sess, holder });
                            return Poll::Pending;
                        }
                    }
                }
                BeginSt::Serial(exch, obj, how) => {
                    return Poll::Ready(Ok(self.begun(me, exch, obj, how)))
                }
                BeginSt::Path => {
                    let s = &mut self.sessions[sess.index()];
                    if s.hung_up {
                        return Poll::Ready(Err(IpcError::SessionClosed));
                    }
                    let limit = self.cfg.path_limit;
                    let Some(path) = (1..=limit)
                        .map(PathId)
                        .find(|p| !s.paths_in_use.contains(p))
                    else {
                        s.path_waiters.push_back(me);
                        self.record(Event::WaitPath { fibril: me, sess });
                        self.park(me, Wait::PathSlot { sess });
                        return Poll::Pending;
                    };
                    s.paths_in_use.push(path);
                    let phone = s.phone;
                    let obj = self.new_obj(sess, phone, path);
                    let exch = self.activate(obj);
                    return Poll::Ready(Ok(self.begun(me, exch, obj, BeginHow::Path(path))));
                }
            }
        }
    }

    fn begun(&mut self, me: FibrilId, exch: ExchId, obj: ObjId, how: BeginHow) -> Begun {
        let sess = self.objs[obj.index()].sess;
        let (phone, path) = (self.objs[obj.index()].phone, self.objs[obj.index()].path);
        self.record(Event::ExchBegin {
            exch,
            sess,
            fibril: me,
            obj,
            phone,
            how,
        });
        let ctx = self.new_ctx(Some(sess), Some(exch), phone, path);
        Begun { exch, ctx }
    }

    /// Polls `async_exchange_end`.
    pub(crate) fn end_poll(&mut self, me: FibrilId, sm: &mut EndSm) -> Poll<()> {
        let exch = sm.exch;
        let ExchRec { sess, obj, .. } = self.exchs[exch.index()];
        let task = self.task_of(sess);
        let style = self.style(sess);
        loop {
            match sm.st {
                EndSt::Start => {
                    self.record(Event::ExchEnd {
                        exch,
                        obj,
                        fibril: me,
                    });
                    if style == Style::Multiplexed {
                        self.end_path(me, exch);
                        return Poll::Ready(());
                    }
                    if style == Style::Serialize && !self.bug(Bug::SerializeNoLock) {
                        if let Some(next) = self.sessions[sess.index()].serial.unlock(me) {
                            self.unpark(next);
                        }
                    }
                    sm.st = EndSt::Locked;
                    if !self.lock_async(me, task) {
                        return Poll::Pending;
                    }
                }
                EndSt::Locked => {
                    self.sessions[sess.index()].exchanges -= 1;
                    let phone = self.objs[obj.index()].phone;
                    let dead = matches!(
                        self.phones[phone.index()].state,
                        PhoneState::Slammed | PhoneState::HungUp
                    ) && phone != self.sessions[sess.index()].phone;
                    if dead {
                        // The server closed this clone's connection, or the framework did
                        // because an operation on it was cut short: caching it would hand a
                        // dead phone to the next exchange. Free it instead.
                        self.objs[obj.index()].state = ObjState::Freed;
                        self.phone_hangup(me, phone);
                    } else {
                        if self.objs[obj.index()].state == ObjState::Active(exch) {
                            self.objs[obj.index()].state = ObjState::Cached;
                        }
                        self.sessions[sess.index()].cache.push_back(obj);
                        self.tasks[task.index()].inactive.push_back(obj);
                        self.record(Event::CacheIn { obj, sess });
                    }
                    if !self.bug(Bug::LostWakeup) {
                        if let Some((f, _)) = self.tasks[task.index()].avail_waiters.pop_front() {
                            self.unpark(f);
                        }
                    }
                    self.unlock_async(me, task);
                    return Poll::Ready(());
                }
            }
        }
    }

    /// Ends a multiplexed exchange: PATH_END tells the server to free the path; the id stays
    /// reserved until that message is answered.
    fn end_path(&mut self, me: FibrilId, exch: ExchId) {
        let ExchRec { sess, obj, .. } = self.exchs[exch.index()];
        let (phone, path) = (self.objs[obj.index()].phone, self.objs[obj.index()].path);
        self.sessions[sess.index()].exchanges -= 1;
        self.objs[obj.index()].state = ObjState::Freed;
        let out = Outgoing {
            method: Method::PATH_END,
            args: [exch.0 as u64, 0, 0, 0, 0],
            data: Vec::new(),
            tag: None,
            path,
        };
        match self.send_framework(me, phone, out) {
            // The answer to PATH_END frees the path (`path_end_answered`): at once if the
            // server never saw the path, else once its handler has taken every call.
            Ok(call) => {
                if self.bug(Bug::PathReuseEarly) && !self.calls[call.index()].answered {
                    self.release_path(sess, path);
                }
            }
            // The connection is gone: nothing holds the path any more.
            Err(_) => self.release_path(sess, path),
        }
    }

    fn release_path(&mut self, sess: SessId, path: PathId) {
        let s = &mut self.sessions[sess.index()];
        let before = s.paths_in_use.len();
        s.paths_in_use.retain(|p| *p != path);
        if s.paths_in_use.len() < before {
            if let Some(f) = s.path_waiters.pop_front() {
                self.unpark(f);
            }
        }
    }

    /// The server confirmed a path's end: its id may be used again.
    pub(crate) fn path_end_answered(&mut self, call: CallId) {
        let exch = ExchId(self.calls[call.index()].args[0] as u32);
        let ExchRec { sess, obj, .. } = self.exchs[exch.index()];
        let path = self.objs[obj.index()].path;
        if !self.bug(Bug::PathReuseEarly) {
            self.release_path(sess, path);
        }
    }

    /// Polls `async_hangup`.
    pub(crate) fn hangup_poll(
        &mut self,
        me: FibrilId,
        sm: &mut HangupSm,
    ) -> Poll<Result<(), IpcError>> {
        let sess = sm.sess;
        let task = self.task_of(sess);
        if !sm.locked {
            sm.locked = true;
            if !self.lock_async(me, task) {
                return Poll::Pending;
            }
        }
        // Checked with `async_sess_mutex` held: another hangup may have gone first while this
        // one queued for it.
        let s = &self.sessions[sess.index()];
        let refused = if s.hung_up {
            Some(IpcError::SessionClosed)
        } else if s.exchanges > 0 {
            Some(IpcError::Busy)
        } else {
            None
        };
        if let Some(e) = refused {
            self.unlock_async(me, task);
            return Poll::Ready(Err(e));
        }
        let main = self.sessions[sess.index()].phone;
        self.phone_hangup(me, main);
        let cached: Vec<ObjId> = std::mem::take(&mut self.sessions[sess.index()].cache).into();
        for obj in cached {
            self.tasks[task.index()].inactive.retain(|o| *o != obj);
            self.record(Event::CacheOut {
                obj,
                sess,
                why: CacheOut::Hangup,
            });
            self.objs[obj.index()].state = ObjState::Freed;
            let phone = self.objs[obj.index()].phone;
            // Wrappers share the main phone (hung up once above); clones are hung up each (S3).
            if phone != main {
                self.phone_hangup(me, phone);
            }
        }
        self.sessions[sess.index()].hung_up = true;
        self.record(Event::SessionHangup { sess, fibril: me });
        // Wake every fibril waiting for a phone (HelenOS's 2011 broadcast, fixing S4): those
        // of this session get an error, the others retry, since this hangup freed phones.
        let waiters = std::mem::take(&mut self.tasks[task.index()].avail_waiters);
        for (f, _) in waiters {
            self.unpark(f);
        }
        let path_waiters = std::mem::take(&mut self.sessions[sess.index()].path_waiters);
        for f in path_waiters {
            self.unpark(f);
        }
        self.unlock_async(me, task);
        Poll::Ready(Ok(()))
    }

    /// Changes the arguments clones are made with (`async_sess_args_set`).
    pub(crate) fn sess_args_set(&mut self, sess: SessId, args: (Iface, u64, u64)) {
        self.record(Event::ArgsSet {
            sess,
            iface: args.0,
        });
        if self.sessions[sess.index()].callback && self.bug(Bug::CallbackArgsIgnored) {
            return;
        }
        self.sessions[sess.index()].clone_args = args;
    }

    /// Accepts the phone a client offered with `CONNECT_TO_ME` (`call`, received by the
    /// handler whose fibril is `me` on `conn`): the server's task gets a phone to a new
    /// connection at the client's port for the offered interface, and a session of `style` on
    /// it. As in HelenOS, the session's clones ask for no interface until
    /// `async_sess_args_set` says which.
    pub(crate) fn callback_receive(
        &mut self,
        me: FibrilId,
        conn: ConnId,
        call: CallId,
        style: Style,
    ) -> Result<SessId, IpcError> {
        let _ = me;
        let c = &self.calls[call.index()];
        let offered = c.phone.expect("CONNECT_TO_ME comes over a phone");
        let iface = Iface::new(Iface(c.args[0] as u32).protocol(), style);
        let client = self.phones[offered.index()].task;
        let task = self.conns[conn.index()].server;
        let served = self.tasks[client.index()]
            .server
            .as_ref()
            .and_then(|s| s.handlers.get(&iface.protocol()))
            .is_some_and(|(p, _)| p.accepts(style));
        if !served {
            return Err(IpcError::NoInterface);
        }
        let phone = self.phone_alloc(task)?;
        let cconn = self.open_conn(client, task, phone, call, iface);
        let sess = SessId(self.sessions.len() as u32);
        self.sessions.push(SessRec {
            task,
            iface,
            clone_args: (Iface(0), 0, 0),
            phone,
            conn: cconn,
            serial: Default::default(),
            exchanges: 0,
            cache: VecDeque::new(),
            hung_up: false,
            callback: true,
            broken: false,
            paths_in_use: Vec::new(),
            path_waiters: VecDeque::new(),
        });
        self.record(Event::SessionOpen {
            sess,
            task,
            iface,
            phone,
            conn: cconn,
        });
        Ok(sess)
    }

    pub(crate) fn new_ctx(
        &mut self,
        sess: Option<SessId>,
        exch: Option<ExchId>,
        phone: PhoneId,
        path: PathId,
    ) -> usize {
        self.ctxs.push(OpCtx {
            sess,
            exch,
            phone,
            path,
            op: None,
            step: 0,
            delivered: false,
        });
        self.ctxs.len() - 1
    }

    /// A context for sending on a session's main phone outside any exchange (the naive client).
    pub(crate) fn raw_ctx(&mut self, sess: SessId) -> usize {
        let phone = self.sessions[sess.index()].phone;
        self.new_ctx(Some(sess), None, phone, PathId::CONN)
    }

    /// Sends a call in context `ctx`, starting a new operation when `op` names one (or none
    /// was started yet).
    pub(crate) fn ctx_send(
        &mut self,
        me: FibrilId,
        ctx: usize,
        op: Option<&'static str>,
        method: Method,
        args: [u64; 5],
        data: Vec<u8>,
    ) -> Result<CallId, IpcError> {
        let tag = self.next_tag(me, ctx, op);
        let c = &self.ctxs[ctx];
        let (sess, phone, path) = (c.sess, c.phone, c.path);
        let out = Outgoing {
            method,
            args,
            data,
            tag: Some(tag),
            path,
        };
        if sess.is_some_and(|s| self.sessions[s.index()].broken) {
            self.record(Event::SendFail {
                fibril: me,
                phone: Some(phone),
                method,
                tag: Some(tag),
                error: IpcError::Broken,
            });
            return Err(IpcError::Broken);
        }
        let sent = self.send(me, phone, out);
        self.after_send(me, ctx, &sent.as_ref().map(|_| ()), tag);
        sent
    }

    /// Notes whether a send of context `ctx` reached the kernel; a refusal after earlier
    /// calls of the operation got through cuts the operation short.
    fn after_send(&mut self, me: FibrilId, ctx: usize, sent: &Result<(), &IpcError>, tag: Tag) {
        let (phone, exch) = (self.ctxs[ctx].phone, self.ctxs[ctx].exch);
        match (sent, exch) {
            (Ok(()), _) => self.ctxs[ctx].delivered = true,
            (Err(_), Some(exch)) if self.ctxs[ctx].delivered && self.phone_live(phone) => {
                self.cut_short(me, exch, tag.op)
            }
            (Err(_), _) => {}
        }
    }

    /// Forwards `call`, received by the handler whose fibril is `me`, over its exchange context
    /// `ctx` as `method(args)` (`ipc_forward_fast` with `IPC_FF_ROUTE_FROM_ME`): the call
    /// becomes the next step of the forwarder's operation and arrives at the forwarder's own
    /// connection on the next server; its answer goes to its original sender. Refused like a
    /// send (a dead phone, the call limit), and the call is then still the handler's.
    pub(crate) fn ctx_forward(
        &mut self,
        me: FibrilId,
        ctx: usize,
        op: Option<&'static str>,
        call: CallId,
        method: Method,
        args: [u64; 5],
    ) -> Result<(), IpcError> {
        let tag = self.next_tag(me, ctx, op);
        let c = &self.ctxs[ctx];
        let (sess, phone, path) = (c.sess, c.phone, c.path);
        let checked = if sess.is_some_and(|s| self.sessions[s.index()].broken) {
            Err(IpcError::Broken)
        } else {
            self.check_send(phone)
        };
        let mut conn = match checked {
            Ok(conn) => conn,
            Err(e) => {
                self.record(Event::SendFail {
                    fibril: me,
                    phone: Some(phone),
                    method,
                    tag: Some(tag),
                    error: e.clone(),
                });
                self.after_send(me, ctx, &Err(&e), tag);
                return Err(e);
            }
        };
        if self.bug(Bug::ForwardWrongConn) {
            if let Some(s) = sess {
                conn = self.sessions[s.index()].conn;
            }
        }
        let from = self.calls[call.index()]
            .conn
            .expect("a received call came over a connection");
        let held_on = self.calls[call.index()].path;
        self.release_held(from, held_on, call);
        self.record(Event::Forward {
            call,
            fibril: me,
            from,
            phone,
            method,
            tag,
        });
        let server = self.conns[conn.index()].server;
        let c = &mut self.calls[call.index()];
        c.method = method;
        c.args = args;
        c.conn = Some(conn);
        c.path = path;
        c.tag = Some(tag);
        c.server = server;
        self.after_send(me, ctx, &Ok(()), tag);
        self.deliver(call);
        Ok(())
    }

    /// The tag of the next call of context `ctx`, starting a new operation when `op` names one
    /// (or none was started yet).
    fn next_tag(&mut self, me: FibrilId, ctx: usize, op: Option<&'static str>) -> Tag {
        let c = &self.ctxs[ctx];
        let (sess, exch) = (c.sess, c.exch);
        if op.is_some() || c.op.is_none() {
            let id = OpId(self.ops);
            self.ops += 1;
            let name = op.unwrap_or("op").to_string();
            self.record(Event::OpStart {
                op: id,
                fibril: me,
                name,
                sess,
                exch,
            });
            let c = &mut self.ctxs[ctx];
            c.op = Some(id);
            c.step = 0;
            c.delivered = false;
        }
        let c = &mut self.ctxs[ctx];
        let tag = Tag {
            fibril: me,
            sess,
            exch,
            op: c.op.expect("started above"),
            step: c.step,
        };
        c.step += 1;
        tag
    }

    /// Whether `phone` still reaches an open connection.
    fn phone_live(&self, phone: PhoneId) -> bool {
        matches!(self.phones[phone.index()].state, PhoneState::Connected(c) if self.conns[c.index()].open)
    }

    /// A send of operation `op` of `exch` was refused after the operation's earlier calls
    /// reached the server, which now waits for the rest. Whatever came next on that connection
    /// would be taken as the rest, so the connection carries nothing more: a PARALLEL clone is
    /// hung up now (and freed, not cached, when the exchange ends); the main phone of an ATOMIC
    /// or SERIALIZE session is hung up now and the session is broken (later sends fail with
    /// [`IpcError::Broken`]); a multiplexed path is ended with its exchange, as always, and
    /// its id never carries another exchange's calls to the same path instance.
    fn cut_short(&mut self, me: FibrilId, exch: ExchId, op: OpId) {
        let x = &mut self.exchs[exch.index()];
        if std::mem::replace(&mut x.broken, true) {
            return;
        }
        let (sess, obj) = (x.sess, x.obj);
        self.record(Event::ExchBroken {
            exch,
            sess,
            op,
            fibril: me,
        });
        match self.style(sess) {
            Style::Multiplexed => {}
            Style::Parallel => {
                let phone = self.objs[obj.index()].phone;
                self.phone_hangup(me, phone);
            }
            Style::Atomic | Style::Serialize => {
                let phone = self.sessions[sess.index()].phone;
                self.sessions[sess.index()].broken = true;
                self.phone_hangup(me, phone);
            }
        }
    }
}
