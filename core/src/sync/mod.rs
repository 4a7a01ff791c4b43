//! The sync facade: the only door through which core code blocks, spawns or shares state.
//!
//! [`Platform`] is a small trait family (mutex, condition variable, thread spawn and join,
//! yield, a fibril-local slot) with three implementations:
//!
//! - [`StdPlatform`]: real OS threads, always available;
//! - `ShuttlePlatform`: shuttle's controlled threads, with the `shuttle` cargo feature;
//! - `LoomPlatform`: loom's modelled threads, compiled only with `RUSTFLAGS="--cfg loom"`.
//!
//! One ordinary build can therefore run the same kernel code on std threads and under shuttle;
//! `--cfg loom` adds loom. Everything else in core reaches synchronisation through the
//! [`Mutex`] and [`Condvar`] wrappers of this module, which normalise the three APIs (no
//! poisoning, `#[track_caller]` so that loom and shuttle report the caller's location).
//!
//! [`Ghost`] is the one deliberate exception: storage for *ghost* data (traces, the table of
//! blocked fibrils) that model checkers must not see. It is only touched while the world lock
//! is held or after every fibril has stopped, so it is never contended, adds no scheduling
//! point, and leaves the explored state space exactly as it is without tracing.
//!
//! **Invariant:** no code outside this module names `std::sync` locks, atomics or
//! `std::thread::spawn`; `core/clippy.toml` enforces it.

use std::any::Any;
use std::fmt;
use std::ops::{Deref, DerefMut};

mod std_impl;
pub use std_impl::StdPlatform;

#[macro_use]
mod std_like;
#[cfg(loom)]
pub use std_like::LoomPlatform;
#[cfg(feature = "shuttle")]
pub use std_like::ShuttlePlatform;

pub use std_impl::Ghost;

/// Reference counting shared by every backend.
///
/// `Arc` is not a scheduling point: cloning and dropping it never blocks, and the kernel never
/// relies on its count for synchronisation, so every backend uses the standard one.
pub use std::sync::Arc;

/// The payload of a panic that ended a thread.
pub type Panic = Box<dyn Any + Send + 'static>;

/// A threading and synchronisation backend.
///
/// Implementors are zero-sized markers. The associated types are the backend's own mutex,
/// guard, condition variable and join handle; core code uses them only through [`Mutex`],
/// [`Condvar`] and [`spawn`], never directly.
pub trait Platform: Sized + Send + Sync + 'static {
    /// Short lowercase name of the backend (`std`, `shuttle`, `loom`), used in reports.
    const NAME: &'static str;

    /// The backend's mutex.
    type RawMutex<T: Send + 'static>: Send + Sync;
    /// The guard of [`Platform::RawMutex`].
    type RawGuard<'a, T: Send + 'static>: DerefMut<Target = T>;
    /// The backend's condition variable, usable with [`Platform::RawMutex`] guards.
    type RawCondvar: Send + Sync;
    /// Handle of a spawned thread.
    type RawJoin<T: Send + 'static>: Send;

    /// Creates a mutex holding `value`.
    fn mutex_new<T: Send + 'static>(value: T) -> Self::RawMutex<T>;
    /// Locks, blocking until the lock is free. A poisoned lock is entered anyway: under a model
    /// checker the panic that poisoned it is the failure being reported.
    fn mutex_lock<T: Send + 'static>(m: &Self::RawMutex<T>) -> Self::RawGuard<'_, T>;
    /// Creates a condition variable.
    fn condvar_new() -> Self::RawCondvar;
    /// Atomically releases the guard's lock and blocks until notified (or spuriously woken),
    /// then re-acquires the lock.
    fn condvar_wait<'a, T: Send + 'static>(
        cv: &Self::RawCondvar,
        guard: Self::RawGuard<'a, T>,
    ) -> Self::RawGuard<'a, T>;
    /// Wakes one waiter, if any.
    fn condvar_notify_one(cv: &Self::RawCondvar);
    /// Spawns a thread named `name` running `f`.
    fn spawn<F, T>(name: String, f: F) -> Self::RawJoin<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static;
    /// Waits for a thread to finish; `Err` carries its panic payload.
    fn join<T: Send + 'static>(handle: Self::RawJoin<T>) -> Result<T, Panic>;
    /// Offers the scheduler a chance to run another thread.
    fn yield_now();
    /// Reads the calling thread's fibril slot (0 until set).
    fn fibril_slot() -> u64;
    /// Sets the calling thread's fibril slot.
    fn set_fibril_slot(value: u64);
}

/// A mutex of backend `P`, with std's API minus poisoning.
pub struct Mutex<P: Platform, T: Send + 'static> {
    raw: P::RawMutex<T>,
}

/// Guard of a [`Mutex`].
pub struct MutexGuard<'a, P: Platform, T: Send + 'static> {
    raw: P::RawGuard<'a, T>,
}

impl<P: Platform, T: Send + 'static> Mutex<P, T> {
    /// Creates a mutex holding `value`.
    #[track_caller]
    pub fn new(value: T) -> Self {
        Self {
            raw: P::mutex_new(value),
        }
    }

    /// Locks the mutex, blocking until it is free.
    #[track_caller]
    pub fn lock(&self) -> MutexGuard<'_, P, T> {
        MutexGuard {
            raw: P::mutex_lock(&self.raw),
        }
    }
}

impl<P: Platform, T: Send + 'static> fmt::Debug for Mutex<P, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mutex<{}>", P::NAME)
    }
}

impl<P: Platform, T: Send + 'static> Deref for MutexGuard<'_, P, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.raw
    }
}

impl<P: Platform, T: Send + 'static> DerefMut for MutexGuard<'_, P, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.raw
    }
}

impl<P: Platform, T: Send + 'static> fmt::Debug for MutexGuard<'_, P, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MutexGuard<{}>", P::NAME)
    }
}

/// A condition variable of backend `P`.
pub struct Condvar<P: Platform> {
    raw: P::RawCondvar,
}

impl<P: Platform> Condvar<P> {
    /// Creates a condition variable.
    #[track_caller]
    pub fn new() -> Self {
        Self {
            raw: P::condvar_new(),
        }
    }

    /// Releases `guard`, waits for a notification, and re-acquires the lock. Spurious wake-ups
    /// are possible: callers re-check their condition in a loop.
    #[track_caller]
    pub fn wait<'a, T: Send + 'static>(&self, guard: MutexGuard<'a, P, T>) -> MutexGuard<'a, P, T> {
        MutexGuard {
            raw: P::condvar_wait(&self.raw, guard.raw),
        }
    }

    /// Wakes one waiter.
    #[track_caller]
    pub fn notify_one(&self) {
        P::condvar_notify_one(&self.raw)
    }
}

impl<P: Platform> Default for Condvar<P> {
    fn default() -> Self {
        Self::new()
    }
}

impl<P: Platform> fmt::Debug for Condvar<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Condvar<{}>", P::NAME)
    }
}

/// Handle of a thread spawned through the facade.
pub struct JoinHandle<P: Platform, T: Send + 'static> {
    raw: P::RawJoin<T>,
}

impl<P: Platform, T: Send + 'static> JoinHandle<P, T> {
    /// Waits for the thread; `Err` carries its panic payload.
    #[track_caller]
    pub fn join(self) -> Result<T, Panic> {
        P::join(self.raw)
    }
}

impl<P: Platform, T: Send + 'static> fmt::Debug for JoinHandle<P, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JoinHandle<{}>", P::NAME)
    }
}

/// Spawns a thread of backend `P`.
#[track_caller]
pub fn spawn<P, F, T>(name: String, f: F) -> JoinHandle<P, T>
where
    P: Platform,
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    JoinHandle {
        raw: P::spawn(name, f),
    }
}
