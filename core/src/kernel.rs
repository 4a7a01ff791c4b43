//! The kernel handle: the world behind one lock of the sync facade, fibrils on facade threads.
//!
//! All kernel and framework state sits in one [`World`] behind one facade [`Mutex`]. Each
//! fibril owns a facade [`Condvar`]; blocking operations are state machines polled under the
//! lock, and a fibril that must wait sleeps on its own condition variable until someone unparks
//! it. So the only scheduling points a model checker sees are the lock, those waits, spawns
//! and joins: exactly the interleavings that can change what the IPC layer does.

use crate::ids::{FibrilId, TaskId};
use crate::server::{ServerBuilder, ServerRef};
use crate::sync::{self, Arc, Condvar, Ghost, JoinHandle, Mutex, MutexGuard, Platform};
use crate::trace::{DeadlockReport, Event, Finish, Trace, TraceLog, Wait};
use crate::world::{run_one, World};
use crate::{Dispatch, KernelConfig};
use std::fmt;
use std::task::Poll;

/// The prefix of the panic message a fibril reports a deadlock with.
pub const DEADLOCK_PANIC: &str = "sessions: deadlock:";

/// The panic payload of a fibril stopped because another fibril panicked first (see
/// [`Kernel::abort`]); [`Kernel::failure`] says what that first panic was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Aborted;

impl fmt::Display for Aborted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sessions: another fibril panicked first; this one stops")
    }
}

/// The text of a panic payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if payload.is::<Aborted>() {
        Aborted.to_string()
    } else {
        "a panic with a non-text payload".to_string()
    }
}

/// How many handler polls one critical section may run before the server is declared to spin.
const MAX_POLLS_PER_SETTLE: u32 = 1_000_000;

/// What a fibril's thread returns: the fibril's value, or the panic that ended it. The
/// thread itself never unwinds out of its closure, so the backend sees every thread end
/// normally: a failing execution is data for the harness, not a crash for the model checker.
type Joined<T> = Result<T, sync::Panic>;

pub(crate) struct Slot<P: Platform> {
    pub world: Option<Box<World>>,
    cvs: Vec<Arc<Condvar<P>>>,
    dispatchers: Vec<(FibrilId, JoinHandle<P, Joined<()>>)>,
}

impl<P: Platform> Slot<P> {
    pub(crate) fn w(&mut self) -> &mut World {
        self.world.as_mut().expect("the world is in its slot")
    }
}

struct Inner<P: Platform> {
    slot: Mutex<P, Slot<P>>,
    trace: Trace,
    dispatch: Dispatch,
    /// The message of the first fibril panic (ghost: read only by the harness).
    failure: Ghost<Option<String>>,
}

/// A simulated microkernel with its tasks, phones, connections and fibrils, on backend `P`.
///
/// Cloning shares the kernel. Build one per model execution.
pub struct Kernel<P: Platform> {
    inner: Arc<Inner<P>>,
}

impl<P: Platform> Clone for Kernel<P> {
    fn clone(&self) -> Self {
        Kernel {
            inner: self.inner.clone(),
        }
    }
}

impl<P: Platform> fmt::Debug for Kernel<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Kernel<{}>", P::NAME)
    }
}

impl<P: Platform> Kernel<P> {
    /// A kernel with `config`; the calling thread becomes its main fibril.
    ///
    /// # Panics
    /// If `config` is invalid (see [`KernelConfig::validate`]).
    pub fn new(config: KernelConfig) -> Self {
        if let Err(e) = config.validate() {
            panic!("invalid kernel configuration: {e}");
        }
        let trace = Trace::new(config.trace);
        let dispatch = config.dispatch;
        let world = World::new(config, trace.clone());
        P::set_fibril_slot(FibrilId::MAIN.0 as u64);
        let slot = Slot {
            world: Some(Box::new(world)),
            cvs: vec![Arc::new(Condvar::new())],
            dispatchers: Vec::new(),
        };
        Kernel {
            inner: Arc::new(Inner {
                slot: Mutex::new(slot),
                trace,
                dispatch,
                failure: Ghost::new(None),
            }),
        }
    }

    /// This execution's trace.
    pub fn trace(&self) -> &Trace {
        &self.inner.trace
    }

    /// The calling fibril.
    pub fn current() -> FibrilId {
        FibrilId(P::fibril_slot() as u32)
    }

    fn lock(&self) -> MutexGuard<'_, P, Slot<P>> {
        self.inner.slot.lock()
    }

    /// Runs the server work that became ready, checks for deadlock and wakes unparked fibrils.
    fn settle(&self, slot: &mut Slot<P>) {
        if self.inner.dispatch == Dispatch::Inline {
            let mut polls = 0;
            while run_one(&mut slot.world, None) {
                polls += 1;
                if polls > MAX_POLLS_PER_SETTLE {
                    panic!("server handlers keep waking each other without making progress");
                }
            }
        }
        let w = slot.world.as_mut().expect("the world is in its slot");
        w.check_deadlock();
        for f in w.wake.drain(..) {
            slot.cvs[f.index()].notify_one();
        }
    }

    /// Runs `f` in one critical section.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut World, FibrilId) -> R) -> R {
        let me = Self::current();
        let mut g = self.lock();
        let r = f(g.w(), me);
        self.settle(&mut g);
        r
    }

    /// Polls `f` under the lock until it is ready, sleeping while the fibril is parked.
    ///
    /// # Panics
    /// With a message starting with [`DEADLOCK_PANIC`] when the world deadlocks, and with an
    /// [`Aborted`] payload once the execution was aborted.
    pub(crate) fn block_on<R>(&self, f: impl FnMut(&mut World, FibrilId) -> Poll<R>) -> R {
        match self.block_unless_aborted(f) {
            Some(r) => r,
            None => std::panic::panic_any(Aborted),
        }
    }

    /// [`Kernel::block_on`], but `None` instead of a panic once the execution was aborted.
    fn block_unless_aborted<R>(
        &self,
        mut f: impl FnMut(&mut World, FibrilId) -> Poll<R>,
    ) -> Option<R> {
        let me = Self::current();
        let mut g = self.lock();
        loop {
            if g.w().deadlocked {
                drop(g);
                self.panic_deadlock();
            }
            if g.w().aborted {
                return None;
            }
            let r = f(g.w(), me);
            self.settle(&mut g);
            if let Poll::Ready(v) = r {
                return Some(v);
            }
            while g.w().is_parked(me) && !g.w().deadlocked && !g.w().aborted {
                let cv = g.cvs[me.index()].clone();
                g = cv.wait(g);
            }
            // Parked above, and running again: whoever woke it was heard.
            self.inner.trace.set_resumed(me);
        }
    }

    /// Ends the execution early, as after a panic: every fibril parked in the kernel wakes and
    /// every fibril stops (panics with [`Aborted`]) at its next wait, so that all their
    /// threads end. A fibril that panics aborts the kernel itself; a model's main fibril that
    /// panics is the harness's to abort.
    pub fn abort(&self) {
        self.with(|w, _| w.abort());
    }

    /// The message of the first panic of a fibril other than the main one, if any.
    pub fn failure(&self) -> Option<String> {
        self.inner.failure.with(|f| f.clone())
    }

    /// Records the first real panic of a fibril.
    fn note_failure(&self, payload: &(dyn std::any::Any + Send)) {
        if payload.is::<Aborted>() {
            return;
        }
        self.inner
            .failure
            .with(|f| f.get_or_insert_with(|| panic_message(payload)).clone());
    }

    fn panic_deadlock(&self) -> ! {
        let report = self.inner.trace.note_deadlock();
        panic!("{DEADLOCK_PANIC} {report}");
    }

    /// A new client task.
    pub fn task(&self, name: &str) -> Task<P> {
        let id = self.with(|w, _| w.new_task(name.to_string(), false));
        Task {
            k: self.clone(),
            id,
        }
    }

    /// A new server task serving what `builder` registers. With [`Dispatch::Threaded`] it gets
    /// its own dispatcher thread.
    pub fn server(&self, name: &str, builder: ServerBuilder) -> ServerRef {
        let id = self.with(|w, _| {
            let id = w.new_task(name.to_string(), true);
            for (protocol, _) in builder.handlers.values() {
                w.record(Event::Serve {
                    server: id,
                    protocol: protocol.info(),
                });
            }
            let s = w.server_mut(id);
            s.handlers = builder.handlers;
            s.state = builder.state;
            id
        });
        if self.inner.dispatch == Dispatch::Threaded {
            let k = self.clone();
            let (fid, handle) = self.spawn_raw(id, format!("{name}-dispatcher"), move || {
                k.dispatch_loop(id)
            });
            self.with(|w, _| w.server_mut(id).dispatcher = Some(fid));
            self.lock().dispatchers.push((fid, handle));
        }
        ServerRef { task: id }
    }

    fn dispatch_loop(&self, server: TaskId) {
        loop {
            let work = self.block_on(|w, me| {
                if w.has_ready(server) {
                    Poll::Ready(true)
                } else if w.shutdown {
                    Poll::Ready(false)
                } else {
                    w.park(me, Wait::ServerIdle { server });
                    Poll::Pending
                }
            });
            if !work {
                return;
            }
            let mut g = self.lock();
            run_one(&mut g.world, Some(server));
            self.settle(&mut g);
        }
    }

    fn spawn_raw<F, T>(
        &self,
        task: TaskId,
        name: String,
        f: F,
    ) -> (FibrilId, JoinHandle<P, Joined<T>>)
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let id = {
            let mut g = self.lock();
            let id = g.w().new_fibril(task, name.clone());
            g.cvs.push(Arc::new(Condvar::new()));
            id
        };
        let k = self.clone();
        let handle = sync::spawn::<P, _, _>(name, move || {
            P::set_fibril_slot(id.0 as u64);
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            if let Err(panic) = &r {
                k.note_failure(panic.as_ref());
            }
            k.with(|w, _| {
                w.fibril_exit(id, r.is_err());
                if r.is_err() {
                    w.abort();
                }
            });
            r
        });
        (id, handle)
    }

    /// Waits until every fibril but the main one has finished (server dispatchers are told to
    /// stop once their work is done), records what is left open, and returns the trace.
    /// Calling it again returns the same trace.
    ///
    /// # Panics
    /// With a [`DEADLOCK_PANIC`] message if fibrils remain blocked forever.
    pub fn finish(&self) -> TraceLog {
        if self.with(|w, _| w.shutdown) {
            // Finished already: the trace is complete.
            return self.inner.trace.snapshot();
        }
        self.block_on(|w, me| {
            let dispatchers: Vec<FibrilId> = w
                .tasks
                .iter()
                .filter_map(|t| t.server.as_ref()?.dispatcher)
                .collect();
            let pending = (1..w.fibrils.len())
                .map(|i| FibrilId(i as u32))
                .find(|f| !w.fibrils[f.index()].finished && !dispatchers.contains(f));
            match pending {
                Some(f) => w.join_poll(me, f),
                None => Poll::Ready(()),
            }
        });
        let dispatchers = {
            let mut g = self.lock();
            g.w().shutdown = true;
            let ids: Vec<FibrilId> = g.dispatchers.iter().map(|(id, _)| *id).collect();
            for id in ids {
                g.w().unpark(id);
            }
            self.settle(&mut g);
            std::mem::take(&mut g.dispatchers)
        };
        for (id, handle) in dispatchers {
            self.block_on(|w, me| w.join_poll(me, id));
            if let Err(panic) = handle.join().and_then(|r| r) {
                std::panic::resume_unwind(panic);
            }
        }
        self.with(|w, _| {
            let finish = w.finish_state();
            w.record(Event::Finish(finish));
        });
        self.inner.trace.snapshot()
    }

    /// The deadlock report, if this kernel deadlocked.
    pub fn deadlock(&self) -> Option<DeadlockReport> {
        self.inner.trace.snapshot().deadlock
    }
}

/// A client task: owns a phone table and the async framework's per-task state.
pub struct Task<P: Platform> {
    k: Kernel<P>,
    id: TaskId,
}

impl<P: Platform> Clone for Task<P> {
    fn clone(&self) -> Self {
        Task {
            k: self.k.clone(),
            id: self.id,
        }
    }
}

impl<P: Platform> fmt::Debug for Task<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Task({})", self.id)
    }
}

impl<P: Platform> Task<P> {
    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// The kernel.
    pub fn kernel(&self) -> &Kernel<P> {
        &self.k
    }

    /// Starts a fibril of this task running `f` on a new facade thread.
    pub fn spawn<F, T>(&self, name: &str, f: F) -> Fibril<P, T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (id, handle) = self.k.spawn_raw(self.id, name.to_string(), f);
        Fibril {
            k: self.k.clone(),
            id,
            handle,
        }
    }
}

/// A running fibril.
pub struct Fibril<P: Platform, T: Send + 'static> {
    k: Kernel<P>,
    id: FibrilId,
    handle: JoinHandle<P, Joined<T>>,
}

impl<P: Platform, T: Send + 'static> fmt::Debug for Fibril<P, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fibril({})", self.id)
    }
}

impl<P: Platform, T: Send + 'static> Fibril<P, T> {
    /// The fibril's id.
    pub fn id(&self) -> FibrilId {
        self.id
    }

    /// Waits for the fibril to finish and returns its result; `Err` carries its panic (an
    /// [`Aborted`] one if the kernel was aborted while it waited).
    pub fn join(self) -> Result<T, sync::Panic> {
        let id = self.id;
        // After an abort every fibril's thread ends on its own: wait for the thread itself.
        let _ = self.k.block_unless_aborted(|w, me| w.join_poll(me, id));
        self.handle.join().and_then(|r| r)
    }
}

impl World {
    /// What is left open, for the `Finish` event.
    pub(crate) fn finish_state(&self) -> Finish {
        Finish {
            open_phones: self
                .tasks
                .iter()
                .enumerate()
                .filter(|(_, t)| t.open_phones > 0)
                .map(|(i, t)| (TaskId(i as u32), t.open_phones))
                .collect(),
            open_conns: self
                .conns
                .iter()
                .enumerate()
                .filter(|(_, c)| c.open)
                .map(|(i, _)| crate::ids::ConnId(i as u32))
                .collect(),
            cached: self
                .objs
                .iter()
                .enumerate()
                .filter(|(_, o)| o.state == crate::world::ObjState::Cached)
                .map(|(i, _)| crate::ids::ObjId(i as u32))
                .collect(),
            open_sessions: self
                .sessions
                .iter()
                .enumerate()
                .filter(|(_, s)| !s.hung_up)
                .map(|(i, _)| crate::ids::SessId(i as u32))
                .collect(),
            unanswered: self
                .calls
                .iter()
                .enumerate()
                .filter(|(_, c)| c.expects_answer && !c.answered)
                .map(|(i, _)| crate::ids::CallId(i as u32))
                .collect(),
        }
    }
}
