//! Fibrils: parking, unparking, fibril mutexes, joins and deadlock detection.

use super::{FibrilMutex, FibrilRec, PathWait, World};
use crate::bugs::Bug;
use crate::ids::{ConnId, FibrilId, PathId, TaskId};
use crate::trace::{Event, Wait};
use std::task::Poll;

impl World {
    pub(crate) fn new_fibril(&mut self, task: TaskId, name: String) -> FibrilId {
        let id = FibrilId(self.fibrils.len() as u32);
        self.record(Event::FibrilNew {
            fibril: id,
            task,
            name,
        });
        self.fibrils.push(FibrilRec {
            parked: None,
            finished: false,
            joiners: Vec::new(),
            handler: None,
            task,
        });
        self.running += 1;
        id
    }

    /// The own fibril of the handler of `(conn, path)`, created the first time the handler
    /// acts as a client (so handlers that never do leave the trace as it was).
    pub(crate) fn handler_fibril(&mut self, conn: ConnId, path: PathId) -> FibrilId {
        let p = self.conns[conn.index()]
            .paths
            .get(&path)
            .expect("a polled path exists");
        if let Some(f) = p.fibril {
            return f;
        }
        let server = self.conns[conn.index()].server;
        let id = FibrilId(self.fibrils.len() as u32);
        let server_name = self.trace.names().task(server);
        let name = if path == PathId::CONN {
            format!("{server_name}:{conn}")
        } else {
            format!("{server_name}:{conn}/{path}")
        };
        self.record(Event::FibrilNew {
            fibril: id,
            task: server,
            name,
        });
        self.record(Event::HandlerFibril {
            fibril: id,
            conn,
            path,
        });
        self.fibrils.push(FibrilRec {
            parked: None,
            finished: false,
            joiners: Vec::new(),
            handler: Some((conn, path)),
            task: server,
        });
        if let Some(p) = self.conns[conn.index()].paths.get_mut(&path) {
            p.fibril = Some(id);
        }
        id
    }

    /// The handler being polled, in words (`the handler of conn1 at fwd`), for usage errors.
    pub(crate) fn handler_name(&self) -> String {
        match super::lent_handler() {
            Some((conn, path)) => self.trace.names().handler(conn, path),
            None => "a fibril".to_string(),
        }
    }

    /// Parks `me` until someone unparks it.
    pub(crate) fn park(&mut self, me: FibrilId, wait: Wait) {
        let f = &mut self.fibrils[me.index()];
        debug_assert!(f.parked.is_none(), "{me} parked twice");
        f.parked = Some(wait.clone());
        match f.handler {
            // A handler's context suspends: its path waits until the fibril is unparked.
            Some((conn, path)) => {
                if let Some(p) = self.conns[conn.index()].paths.get_mut(&path) {
                    p.wait = PathWait::Client;
                    p.what = "a client operation";
                }
                self.trace.set_server_wait(conn, path, None);
            }
            None => self.running -= 1,
        }
        self.trace.set_wait(me, Some(wait));
    }

    /// Makes `f` runnable again if it is parked.
    pub(crate) fn unpark(&mut self, f: FibrilId) {
        if let Some((conn, path)) = self.fibrils[f.index()].handler {
            // A handler's fibril resumes when its executor polls its path again.
            if self.fibrils[f.index()].parked.take().is_some() {
                self.trace.set_wait(f, None);
                self.make_ready(conn, path);
            }
            return;
        }
        if let Some(wait) = self.fibrils[f.index()].parked.take() {
            self.running += 1;
            let lost = matches!(wait, Wait::AvailPhone { .. }) && self.bug(Bug::LostNotify);
            if !lost {
                self.wake.push(f);
            }
            self.trace.set_woken(f);
        }
    }

    /// Whether fibril `f`'s task was killed.
    pub(crate) fn is_killed(&self, f: FibrilId) -> bool {
        self.tasks[self.fibrils[f.index()].task.index()].dead
    }

    pub(crate) fn is_parked(&self, f: FibrilId) -> bool {
        self.fibrils[f.index()].parked.is_some()
    }

    /// Marks the world deadlocked when nothing can run but something waits. Returns whether
    /// it is deadlocked; every parked fibril is then woken to report it.
    pub(crate) fn check_deadlock(&mut self) -> bool {
        // An aborted execution is ending: the fibrils it left parked are not a deadlock.
        if !self.deadlocked
            && !self.aborted
            && self.running == 0
            && self.fibrils.iter().any(|f| f.parked.is_some())
        {
            self.declare_deadlock();
        }
        self.deadlocked
    }

    pub(crate) fn declare_deadlock(&mut self) {
        self.deadlocked = true;
        self.trace.note_deadlock();
        self.wake_all_parked();
    }

    /// Ends the execution early: every parked fibril wakes, and every fibril stops at its
    /// next wait.
    pub(crate) fn abort(&mut self) {
        if !std::mem::replace(&mut self.aborted, true) {
            self.wake_all_parked();
        }
    }

    fn wake_all_parked(&mut self) {
        for (i, f) in self.fibrils.iter().enumerate() {
            if f.parked.is_some() && f.handler.is_none() {
                self.wake.push(FibrilId(i as u32));
            }
        }
    }

    pub(crate) fn fibril_exit(&mut self, me: FibrilId, panicked: bool) {
        let f = &mut self.fibrils[me.index()];
        if f.finished {
            return;
        }
        f.finished = true;
        // A fibril that panics while parked (woken to report a deadlock) still counts as parked.
        if f.parked.take().is_none() {
            self.running -= 1;
        }
        self.trace.set_wait(me, None);
        let joiners = std::mem::take(&mut f.joiners);
        self.record(Event::FibrilExit {
            fibril: me,
            panicked,
        });
        for j in joiners {
            self.unpark(j);
        }
    }

    /// Waits for fibril `target` to finish.
    pub(crate) fn join_poll(&mut self, me: FibrilId, target: FibrilId) -> Poll<()> {
        if self.fibrils[target.index()].finished {
            return Poll::Ready(());
        }
        self.fibrils[target.index()].joiners.push(me);
        self.park(me, Wait::Join { fibril: target });
        Poll::Pending
    }
}

impl FibrilMutex {
    /// Takes the mutex for `me`, or queues `me` and returns false. Not re-entrant: a holder
    /// that locks again queues behind itself (and deadlocks, as in HelenOS). A fibril the
    /// mutex is handed to is its owner when it wakes, and its state machine has already moved
    /// past the lock.
    pub(crate) fn try_lock(&mut self, me: FibrilId) -> bool {
        match self.owner {
            None => {
                self.owner = Some(me);
                true
            }
            Some(_) => {
                if !self.waiters.contains(&me) {
                    self.waiters.push_back(me);
                }
                false
            }
        }
    }

    /// Releases the mutex `me` holds, handing it to the oldest waiter, which is returned for
    /// unparking.
    ///
    /// # Panics
    /// If `me` does not hold it: the framework released a lock it never took, and whoever
    /// holds it would lose it mid-section.
    pub(crate) fn unlock(&mut self, me: FibrilId) -> Option<FibrilId> {
        assert_eq!(
            self.owner,
            Some(me),
            "{me} released a fibril mutex it does not hold"
        );
        self.owner = self.waiters.pop_front();
        self.owner
    }
}
