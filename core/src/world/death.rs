//! Task death: what the kernel does when a task is killed.
//!
//! As a server, the task's connections close at once: every call its handlers held or had
//! queued is answered EHANGUP (a PATH_END too, whose answer frees the client's path id), the
//! handler contexts stop, the phones connected to them are slammed (their next send fails), and
//! connection requests still pending or still to come are refused. As a client, every phone of the task is hung
//! up, so each connection it had gets exactly one HANGUP, its last message; its sessions and
//! cached exchanges are gone. Its fibrils stop at their next step in the kernel (those parked
//! are woken to do so).

use super::{BoxFuture, ObjState, PathWait, PhoneState, Ready, World};
use crate::error::Errno;
use crate::ids::*;
use crate::method::Method;
use crate::trace::{CacheOut, CloseBy, Event, PhoneClose};

impl World {
    /// Kills `task` on behalf of fibril `by`. Returns the handler futures of its connections,
    /// for the caller to drop once it no longer holds the world: their handles find their task
    /// dead and do nothing.
    pub(crate) fn kill_task(&mut self, task: TaskId, by: FibrilId) -> Vec<BoxFuture> {
        let mut graveyard = Vec::new();
        if std::mem::replace(&mut self.tasks[task.index()].dead, true) {
            return graveyard;
        }
        self.record(Event::TaskDeath { task, by });
        // As a server: every connection closes, and pending connection requests are refused.
        let conns: Vec<ConnId> = (0..self.conns.len())
            .map(|i| ConnId(i as u32))
            .filter(|c| self.conns[c.index()].server == task)
            .collect();
        for conn in conns {
            self.kill_conn(conn, &mut graveyard);
        }
        if let Some(s) = self.tasks[task.index()].server.as_mut() {
            let ready = std::mem::take(&mut s.ready);
            s.state_waiters.clear();
            for r in ready {
                if let Ready::Connect(call) = r {
                    self.refuse_connect(call, Errno::Ehangup);
                }
            }
            if let Some(d) = self.server_mut(task).dispatcher {
                self.unpark(d);
            }
        }
        // As a client: its sessions and their caches are gone, and every phone is hung up.
        for sess in 0..self.sessions.len() {
            let s = &mut self.sessions[sess];
            if s.task != task || s.hung_up {
                continue;
            }
            s.hung_up = true;
            let cache: Vec<ObjId> = s.cache.drain(..).collect();
            for obj in cache {
                self.objs[obj.index()].state = ObjState::Freed;
                self.record(Event::CacheOut {
                    obj,
                    sess: SessId(sess as u32),
                    why: CacheOut::Death,
                });
            }
        }
        let t = &mut self.tasks[task.index()];
        t.inactive.clear();
        t.avail_waiters.clear();
        for phone in 0..self.phones.len() {
            let phone = PhoneId(phone as u32);
            if self.phones[phone.index()].task != task {
                continue;
            }
            match self.phones[phone.index()].state {
                // As an owner's hangup: the connection's last message is its HANGUP (which
                // bounces off a connection that is gone already).
                PhoneState::Connected(_) => self.phone_hangup(by, phone),
                PhoneState::Slammed | PhoneState::Connecting => {
                    self.phone_release(phone, PhoneState::HungUp, PhoneClose::Death)
                }
                PhoneState::HungUp | PhoneState::Refused => {}
            }
        }
        // Its fibrils stop: the parked ones wake to find their task dead.
        let parked: Vec<FibrilId> = (0..self.fibrils.len())
            .map(|i| FibrilId(i as u32))
            .filter(|f| {
                let r = &self.fibrils[f.index()];
                r.task == task && r.handler.is_none() && !r.finished && r.parked.is_some()
            })
            .collect();
        for f in parked {
            self.unpark(f);
        }
        graveyard
    }

    /// Closes connection `conn` of a dead server: its handler contexts stop and every call
    /// they held or had queued is answered.
    fn kill_conn(&mut self, conn: ConnId, graveyard: &mut Vec<BoxFuture>) {
        let mux = self.conns[conn.index()].mux;
        let paths = std::mem::take(&mut self.conns[conn.index()].paths);
        if self.conns[conn.index()].open {
            self.conns[conn.index()].open = false;
            self.record(Event::ConnClose {
                conn,
                by: CloseBy::Death,
            });
        }
        for (path, mut p) in paths {
            p.wait = PathWait::Done;
            graveyard.extend(p.fut.take());
            self.trace.set_server_wait(conn, path, None);
            if let Some(f) = p.fibril.filter(|f| !self.fibrils[f.index()].finished) {
                let rec = &mut self.fibrils[f.index()];
                rec.finished = true;
                rec.parked = None;
                self.trace.set_wait(f, None);
                self.record(Event::FibrilExit {
                    fibril: f,
                    panicked: false,
                });
            }
            for call in p.held {
                self.answer_hangup(call);
            }
            let queue = if self.bug(crate::bugs::Bug::DeathForgetsQueued) {
                Default::default()
            } else {
                p.queue
            };
            // A HANGUP message is owed no answer; anything else (a PATH_END too, whose
            // answer frees the client's path id) is answered EHANGUP.
            for call in queue {
                if self.calls[call.index()].method != Method::HANGUP {
                    self.answer_hangup(call);
                }
            }
            if mux {
                self.record(Event::PathClose { conn, path });
            }
        }
        // Every phone connected to it is slammed: its next send fails at once.
        for phone in 0..self.phones.len() {
            if self.phones[phone].state == PhoneState::Connected(conn) {
                self.phones[phone].state = PhoneState::Slammed;
            }
        }
    }

    /// Whether exchange `exch` belongs to a task that was killed.
    pub(crate) fn exch_dead(&self, exch: ExchId) -> bool {
        let sess = self.exchs[exch.index()].sess;
        self.tasks[self.sessions[sess.index()].task.index()].dead
    }

    /// Whether `task` was killed.
    pub(crate) fn task_dead(&self, task: TaskId) -> bool {
        self.tasks[task.index()].dead
    }
}
