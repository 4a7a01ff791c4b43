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
use crate::world::{lent_handler, run_one, World};
use crate::{Dispatch, KernelConfig};
use std::fmt;
use std::future::Future;
use std::sync::Weak;
use std::task::{Context, Poll, Waker};

/// The prefix of the panic message a fibril reports a deadlock with.
pub const DEADLOCK_PANIC: &str = "sessions: deadlock:";

/// The prefix of the panic message of a usage error: the API used where it cannot work (a
/// blocking call inside a handler, an exchange ended by a fibril that did not begin it).
pub const USAGE_PANIC: &str = "sessions: usage error:";

/// Fails the execution with a usage error: `{who} {what}`.
pub(crate) fn usage_error(what: std::fmt::Arguments<'_>) -> ! {
    panic!("{USAGE_PANIC} {what}")
}

/// Fails a blocking call made inside a handler: the handler runs inside the kernel's critical
/// section (its executor's poll), so blocking there would stop its server and re-enter the
/// kernel's lock.
pub(crate) fn blocking_in_handler(call: &str, instead: &str) -> ! {
    let who = crate::world::with_world(|w| w.handler_name());
    usage_error(format_args!(
        "{who} called the blocking `{call}`; a handler must await `{instead}` instead"
    ))
}

/// The kernel as client handles reach it: type-erased, so sessions, exchanges and pending
/// calls are the same types on every backend and can live inside handlers.
pub(crate) trait Engine: Send + Sync {
    /// Runs `f` in one critical section.
    fn with_dyn(&self, f: &mut dyn FnMut(&mut World, FibrilId));
    /// Polls `f` under the lock until it returns true, sleeping while the fibril is parked;
    /// stops early once the execution was aborted or the fibril's task killed.
    fn block_dyn(&self, f: &mut dyn FnMut(&mut World, FibrilId) -> bool) -> Result<(), Stop>;
}

/// Typed conveniences over an [`Engine`].
pub(crate) trait EngineExt {
    /// Runs `f` in one critical section.
    fn with<R>(&self, f: impl FnOnce(&mut World, FibrilId) -> R) -> R;
    /// Polls `f` until ready (see [`Kernel::block_on`]).
    fn block<R>(&self, f: impl FnMut(&mut World, FibrilId) -> Poll<R>) -> R;
}

impl EngineExt for dyn Engine {
    fn with<R>(&self, f: impl FnOnce(&mut World, FibrilId) -> R) -> R {
        let mut f = Some(f);
        let mut out = None;
        self.with_dyn(&mut |w, me| out = f.take().map(|f| f(w, me)));
        out.expect("the critical section ran")
    }

    fn block<R>(&self, mut f: impl FnMut(&mut World, FibrilId) -> Poll<R>) -> R {
        let mut out = None;
        let done = self.block_dyn(&mut |w, me| match f(w, me) {
            Poll::Ready(v) => {
                out = Some(v);
                true
            }
            Poll::Pending => false,
        });
        match (done, out) {
            (Ok(()), Some(v)) => v,
            (Err(s), _) => stop(s),
            (Ok(()), None) => stop(Stop::Aborted),
        }
    }
}

/// Runs `fut` to completion on the calling fibril. On a fibril, every future of this crate's
/// client API completes in its first poll (it blocks the fibril's thread while it waits, in
/// the same critical sections as the blocking API), so one poll suffices.
pub(crate) fn run_future<F: Future>(fut: F) -> F::Output {
    if lent_handler().is_some() {
        blocking_in_handler("block_on", "the future itself");
    }
    let mut fut = std::pin::pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => usage_error(format_args!(
            "a future run by block_on waited for something outside the sessions API, which \
             nothing will ever wake"
        )),
    }
}

/// The panic payload of a fibril stopped because another fibril panicked first (see
/// [`Kernel::abort`]); [`Kernel::failure`] says what that first panic was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Aborted;

impl fmt::Display for Aborted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sessions: another fibril panicked first; this one stops")
    }
}

/// The payload a fibril stops with when its task was killed ([`Kernel::kill`]): its thread
/// unwinds from the kernel call it was in (or makes next), without the panic hook and without
/// failing the execution. [`Fibril::join`] returns it as the fibril's `Err`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Killed;

impl fmt::Display for Killed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sessions: this fibril's task was killed")
    }
}

/// Why a blocking step stopped without its result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The execution was aborted (another fibril panicked).
    Aborted,
    /// The calling fibril's task was killed.
    Killed,
}

/// Stops the calling fibril because `stop` happened.
pub(crate) fn stop(stop: Stop) -> ! {
    match stop {
        Stop::Aborted => std::panic::panic_any(Aborted),
        Stop::Killed => std::panic::resume_unwind(Box::new(Killed)),
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
    } else if payload.is::<Killed>() {
        Killed.to_string()
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
    /// Each thread fibril's condition variable, by fibril id (handler fibrils have none).
    cvs: Vec<Option<Arc<Condvar<P>>>>,
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
        P::set_fibril_slot(FibrilId::MAIN.0 as u64);
        let inner = Arc::new_cyclic(|me: &Weak<Inner<P>>| {
            let engine: Weak<dyn Engine> = me.clone();
            let world = World::new(config, trace.clone(), engine);
            let slot = Slot {
                world: Some(Box::new(world)),
                cvs: vec![Some(Arc::new(Condvar::new()))],
                dispatchers: Vec::new(),
            };
            Inner {
                slot: Mutex::new(slot),
                trace,
                dispatch,
                failure: Ghost::new(None),
            }
        });
        Kernel { inner }
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
        self.inner.lock()
    }

    /// The kernel as client handles hold it.
    pub(crate) fn engine(&self) -> Weak<dyn Engine> {
        let weak: Weak<Inner<P>> = Arc::downgrade(&self.inner);
        weak
    }

    /// Runs `fut` to completion on the calling fibril: a client stub written once as an `async
    /// fn` runs here as it runs in a handler. Each of its steps is the critical section the
    /// blocking API would use; while it waits (for an answer, a phone, a lock), the fibril
    /// sleeps until the event it waits for arrives.
    ///
    /// # Panics
    /// With a [`USAGE_PANIC`] message inside a handler, or if the future waits for something
    /// outside this crate's API.
    pub fn block_on<F: Future>(&self, fut: F) -> F::Output {
        run_future(fut)
    }

    /// Runs `f` in one critical section.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut World, FibrilId) -> R) -> R {
        self.inner.with(f)
    }

    /// Polls `f` under the lock until it is ready, sleeping while the fibril is parked.
    ///
    /// # Panics
    /// With a message starting with [`DEADLOCK_PANIC`] when the world deadlocks, and with an
    /// [`Aborted`] payload once the execution was aborted.
    pub(crate) fn block_on_world<R>(&self, f: impl FnMut(&mut World, FibrilId) -> Poll<R>) -> R {
        let engine: &dyn Engine = &*self.inner;
        engine.block(f)
    }

    fn settle(&self, slot: &mut Slot<P>) {
        self.inner.settle(slot)
    }

    /// Ends the execution early, as after a panic: every fibril parked in the kernel wakes and
    /// every fibril stops (panics with [`Aborted`]) at its next wait, so that all their
    /// threads end. A fibril that panics aborts the kernel itself; a model's main fibril that
    /// panics is the harness's to abort.
    pub fn abort(&self) {
        self.with(|w, _| w.abort());
    }

    /// Kills `task` now, as the kernel does (see [`Killed`] and `ARCHITECTURE.md`): its
    /// connections close and everything they held or had queued is answered EHANGUP, the phones
    /// connected to it are slammed, its own phones are hung up (one HANGUP per connection), its
    /// sessions and caches are gone, and its fibrils and handlers stop. A task dies once; the
    /// main task cannot.
    ///
    /// # Panics
    /// With a [`USAGE_PANIC`] message for the main task, or inside a handler.
    pub fn kill(&self, task: TaskId) {
        if task == TaskId(0) {
            usage_error(format_args!("the main task cannot be killed"));
        }
        let graveyard = self.with(|w, me| w.kill_task(task, me));
        // The dead handlers' futures drop here, outside the lock: the handles they held find
        // their task dead and leave the world alone.
        drop(graveyard);
    }

    /// Spawns a fibril of the main task that kills `task`: the model checker then explores the
    /// kill at every scheduling point of every other fibril, `task`'s included.
    pub fn spawn_kill(&self, task: TaskId) -> Fibril<P, ()> {
        let k = self.clone();
        let (id, handle) = self.spawn_raw(TaskId(0), format!("kill {task}"), move || k.kill(task));
        Fibril {
            k: self.clone(),
            id,
            handle,
        }
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
        self.serve(Err(name), builder)
    }

    /// Makes task `task` (or a new one of the given name) serve what `builder` registers, in
    /// one critical section.
    fn serve(&self, task: Result<TaskId, &str>, builder: ServerBuilder) -> ServerRef {
        let (id, name, threaded) = self.with(|w, _| {
            let id = match task {
                Ok(id) => id,
                Err(name) => w.new_task(name.to_string(), true),
            };
            let name = w.trace.names().task(id);
            for (protocol, _) in builder.handlers.values() {
                w.record(Event::Serve {
                    server: id,
                    protocol: protocol.info(),
                });
            }
            let s = w.make_server(id);
            s.handlers.extend(builder.handlers);
            if builder.state.is_some() {
                s.state = builder.state;
            }
            let threaded = self.inner.dispatch == Dispatch::Threaded && s.dispatcher.is_none();
            (id, name, threaded)
        });
        if threaded {
            let k = self.clone();
            let (fid, handle) = self.spawn_raw(id, format!("{name}-dispatcher"), move || {
                k.dispatch_loop(id)
            });
            self.with(|w, _| w.server_mut(id).dispatcher = Some(fid));
            self.lock().dispatchers.push((fid, handle));
        }
        ServerRef {
            task: id,
            engine: self.engine(),
        }
    }

    fn dispatch_loop(&self, server: TaskId) {
        loop {
            let work = self.block_on_world(|w, me| {
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
            g.cvs.resize_with(id.index(), || None);
            g.cvs.push(Some(Arc::new(Condvar::new())));
            id
        };
        let k = self.clone();
        let handle = sync::spawn::<P, _, _>(name, move || {
            P::set_fibril_slot(id.0 as u64);
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            // A fibril stopped because its task was killed ended as the kernel meant it to.
            let failed = r.as_ref().err().filter(|p| !p.is::<Killed>());
            if let Some(panic) = failed {
                k.note_failure(panic.as_ref());
            }
            let failed = failed.is_some();
            k.with(|w, _| {
                w.fibril_exit(id, failed);
                if failed {
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
        self.block_on_world(|w, me| {
            let dispatchers: Vec<FibrilId> = w
                .tasks
                .iter()
                .filter_map(|t| t.server.as_ref()?.dispatcher)
                .collect();
            // Handler fibrils end with their connections, not here.
            let pending = (1..w.fibrils.len()).map(|i| FibrilId(i as u32)).find(|f| {
                let rec = &w.fibrils[f.index()];
                !rec.finished && rec.handler.is_none() && !dispatchers.contains(f)
            });
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
            self.block_on_world(|w, me| w.join_poll(me, id));
            match handle.join().and_then(|r| r) {
                Err(panic) if !panic.is::<Killed>() => std::panic::resume_unwind(panic),
                _ => {}
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

impl<P: Platform> Inner<P> {
    fn current() -> FibrilId {
        FibrilId(P::fibril_slot() as u32)
    }

    /// Takes the kernel's lock.
    ///
    /// # Panics
    /// With a [`USAGE_PANIC`] message when called inside a handler: the lock is already held
    /// by whoever polls it.
    fn lock(&self) -> MutexGuard<'_, P, Slot<P>> {
        if lent_handler().is_some() {
            blocking_in_handler("kernel API", "the async client API");
        }
        self.slot.lock()
    }

    fn panic_deadlock(&self) -> ! {
        let report = self.trace.note_deadlock();
        panic!("{DEADLOCK_PANIC} {report}");
    }

    /// Runs the server work that became ready, checks for deadlock and wakes unparked fibrils.
    fn settle(&self, slot: &mut Slot<P>) {
        if self.dispatch == Dispatch::Inline {
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
            if let Some(cv) = &slot.cvs[f.index()] {
                cv.notify_one();
            }
        }
    }

    /// Runs `f` in one critical section.
    fn with<R>(&self, f: impl FnOnce(&mut World, FibrilId) -> R) -> R {
        let me = Self::current();
        let mut g = self.lock();
        let r = f(g.w(), me);
        self.settle(&mut g);
        r
    }

    /// Polls `f` (given the world's slot and the calling fibril) under the lock until it
    /// returns true, sleeping while the fibril is parked; false once the execution was
    /// aborted.
    ///
    /// # Panics
    /// With a message starting with [`DEADLOCK_PANIC`] when the world deadlocks.
    fn block_slot(
        &self,
        mut f: impl FnMut(&mut Option<Box<World>>, FibrilId) -> bool,
    ) -> Result<(), Stop> {
        let me = Self::current();
        let mut g = self.lock();
        loop {
            if g.w().deadlocked {
                drop(g);
                self.panic_deadlock();
            }
            if g.w().aborted {
                return Err(Stop::Aborted);
            }
            if g.w().is_killed(me) {
                return Err(Stop::Killed);
            }
            let ready = f(&mut g.world, me);
            self.settle(&mut g);
            if ready {
                return Ok(());
            }
            while g.w().is_parked(me) && !g.w().deadlocked && !g.w().aborted {
                let cv = g.cvs[me.index()]
                    .clone()
                    .expect("a thread fibril has a condvar");
                g = cv.wait(g);
            }
            // Parked above, and running again: whoever woke it was heard.
            self.trace.set_resumed(me);
        }
    }
}

impl<P: Platform> Engine for Inner<P> {
    fn with_dyn(&self, f: &mut dyn FnMut(&mut World, FibrilId)) {
        let me = Self::current();
        let mut g = self.lock();
        if g.w().is_killed(me) {
            drop(g);
            stop(Stop::Killed);
        }
        f(g.w(), me);
        self.settle(&mut g);
    }

    fn block_dyn(&self, f: &mut dyn FnMut(&mut World, FibrilId) -> bool) -> Result<(), Stop> {
        self.block_slot(|slot, me| f(slot.as_mut().expect("the world is in its slot"), me))
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

    /// Makes this task a server of what `builder` registers, as a HelenOS server does once
    /// its `main` has connected to what it needs: sessions the task opened before are its
    /// own, and its handlers can use them (clone them into the handler closures).
    pub fn serve(&self, builder: ServerBuilder) -> ServerRef {
        self.k.serve(Ok(self.id), builder)
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
        let engine: &dyn Engine = &*self.k.inner;
        if let Err(Stop::Killed) = engine.block_dyn(&mut |w, me| w.join_poll(me, id).is_ready()) {
            stop(Stop::Killed);
        }
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
