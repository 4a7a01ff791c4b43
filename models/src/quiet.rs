//! Quiet panics. Under a model checker a failing execution is a panic: the checkers' report,
//! the kernel's deadlock report, a model's assertion, a stub's unexpected error. The driver
//! catches each one and turns it into a [`Finding`](crate::Finding), so the panic hook's
//! message, and shuttle's "Task failed, serializing schedule", would only be noise around
//! a result the caller already has.
//!
//! [`run`] silences the panic hook on the calling thread while `f` runs; shuttle and loom run
//! every modelled thread on it. What the hook would have said is kept: the message and the
//! location of the first panic, for [`Violation::Panic`](crate::Violation::Panic). Panics on other threads,
//! and every panic when [`SHOW_PANICS_ENV`] is set, reach the previous hook as before.

use std::cell::{Cell, RefCell};
use std::panic;
use std::sync::Once;

/// Environment variable that keeps expected panics loud (the hook prints each one).
pub const SHOW_PANICS_ENV: &str = "SESSIONS_SHOW_PANICS";

std::thread_local! {
    static DEPTH: Cell<u32> = const { Cell::new(0) };
    /// The first panic silenced since [`run`] began: its message and location.
    static FIRST: RefCell<Option<(String, String)>> = const { RefCell::new(None) };
}

fn install() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        // Shuttle installs its hook at its first execution, around whatever hook is set then,
        // and it speaks of every later panic, an ordinary test's assertion included ("Task
        // failed, serializing schedule"). Keep the hook from before it for panics outside a
        // run, and run one empty execution so that shuttle's hook is in place under this one.
        let plain = panic::take_hook();
        shuttle::check_random(|| {}, 1);
        let shuttle_hook = panic::take_hook();
        let loud = std::env::var_os(SHOW_PANICS_ENV).is_some();
        panic::set_hook(Box::new(move |info| {
            if loud {
                return shuttle_hook(info);
            }
            if DEPTH.with(Cell::get) == 0 {
                return plain(info);
            }
            FIRST.with(|first| {
                first.borrow_mut().get_or_insert_with(|| {
                    let message = sessions_core::panic_message(info.payload());
                    let at = info.location().map(|l| l.to_string()).unwrap_or_default();
                    (message, at)
                });
            });
        }));
    });
}

/// Runs `f` with the panic hook silent on this thread.
pub fn run<R>(f: impl FnOnce() -> R) -> R {
    if std::env::var_os(SHOW_PANICS_ENV).is_some() {
        return f();
    }
    install();
    FIRST.with(|f| f.borrow_mut().take());
    struct Depth;
    impl Drop for Depth {
        fn drop(&mut self) {
            DEPTH.with(|d| d.set(d.get() - 1));
        }
    }
    DEPTH.with(|d| d.set(d.get() + 1));
    let _depth = Depth;
    f()
}

/// The message and location (`file:line:column`, when known) of the first panic silenced
/// since [`run`] began on this thread: under shuttle and loom, where every modelled thread
/// runs on it, the root of a failure, whatever panic unwound out of the backend at last.
pub(crate) fn first() -> Option<(String, Option<String>)> {
    FIRST
        .with(|f| f.borrow().clone())
        .map(|(m, at)| (m, Some(at).filter(|a| !a.is_empty())))
}
