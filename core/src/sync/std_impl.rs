//! The std backend, and [`Ghost`] storage. The only module of core allowed to name `std::sync`
//! primitives and `std::thread::spawn`.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use super::{Panic, Platform};
use std::cell::Cell;
use std::fmt;

/// Real OS threads and `std::sync` primitives.
#[derive(Clone, Copy, Debug, Default)]
pub struct StdPlatform;

std::thread_local! {
    static FIBRIL_SLOT: Cell<u64> = const { Cell::new(0) };
}

impl Platform for StdPlatform {
    const NAME: &'static str = "std";
    type RawMutex<T: Send + 'static> = std::sync::Mutex<T>;
    type RawGuard<'a, T: Send + 'static> = std::sync::MutexGuard<'a, T>;
    type RawCondvar = std::sync::Condvar;
    type RawJoin<T: Send + 'static> = std::thread::JoinHandle<T>;

    fn mutex_new<T: Send + 'static>(value: T) -> Self::RawMutex<T> {
        std::sync::Mutex::new(value)
    }

    #[track_caller]
    fn mutex_lock<T: Send + 'static>(m: &Self::RawMutex<T>) -> Self::RawGuard<'_, T> {
        m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn condvar_new() -> Self::RawCondvar {
        std::sync::Condvar::new()
    }

    #[track_caller]
    fn condvar_wait<'a, T: Send + 'static>(
        cv: &Self::RawCondvar,
        guard: Self::RawGuard<'a, T>,
    ) -> Self::RawGuard<'a, T> {
        cv.wait(guard)
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn condvar_notify_one(cv: &Self::RawCondvar) {
        cv.notify_one()
    }

    fn spawn<F, T>(name: String, f: F) -> Self::RawJoin<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        std::thread::Builder::new()
            .name(name)
            .spawn(f)
            .unwrap_or_else(|e| panic!("the operating system refused a thread: {e}"))
    }

    fn join<T: Send + 'static>(handle: Self::RawJoin<T>) -> Result<T, Panic> {
        handle.join()
    }

    fn yield_now() {
        std::thread::yield_now()
    }

    fn fibril_slot() -> u64 {
        FIBRIL_SLOT.with(Cell::get)
    }

    fn set_fibril_slot(value: u64) {
        FIBRIL_SLOT.with(|s| s.set(value))
    }
}

/// Storage for ghost data that model checkers must not see.
///
/// A plain `std` mutex, deliberately outside the facade: loom and shuttle do not schedule
/// around it, so recording into it adds no execution to explore. Callers keep it uncontended
/// by touching it only while the kernel's world lock is held, or after every fibril has
/// stopped; closures passed to [`Ghost::with`] must not block.
pub struct Ghost<T> {
    inner: std::sync::Mutex<T>,
}

impl<T> Ghost<T> {
    /// Wraps `value`.
    pub fn new(value: T) -> Self {
        Self {
            inner: std::sync::Mutex::new(value),
        }
    }

    /// Runs `f` on the contents.
    pub fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        let mut guard = self
            .inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut guard)
    }
}

impl<T: Default> Default for Ghost<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T> fmt::Debug for Ghost<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Ghost(..)")
    }
}
