//! Errors of the simulated IPC layer and of the async framework.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The error half of an IPC return value, named after HelenOS's errno values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Errno {
    /// A table is full: the task's phones, or a phone's unanswered calls.
    Elimit,
    /// No such interface, or the phone was slammed by the server.
    Enoent,
    /// The other side hung up: the call can not be delivered or was never handled.
    Ehangup,
    /// The object is in use (a session with active exchanges).
    Ebusy,
    /// The request does not fit the protocol.
    Einval,
    /// The method is not supported by the server.
    Enotsup,
    /// Out of memory (also what cloning reports when the phone table is full, as in
    /// HelenOS after 2017).
    Enomem,
    /// The I/O failed at the server.
    Eio,
}

impl Errno {
    /// HelenOS's symbolic name.
    pub fn name(self) -> &'static str {
        match self {
            Errno::Elimit => "ELIMIT",
            Errno::Enoent => "ENOENT",
            Errno::Ehangup => "EHANGUP",
            Errno::Ebusy => "EBUSY",
            Errno::Einval => "EINVAL",
            Errno::Enotsup => "ENOTSUP",
            Errno::Enomem => "ENOMEM",
            Errno::Eio => "EIO",
        }
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why an operation of the IPC layer or the async framework failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "error", content = "detail", rename_all = "snake_case")]
pub enum IpcError {
    /// The task's phone table is full.
    PhoneLimit,
    /// The phone already has as many unanswered calls as the kernel allows.
    CallLimit,
    /// The server has no handler for the interface.
    NoInterface,
    /// The phone was hung up by this task.
    PhoneHungUp,
    /// The connection is gone: the server closed it, or the call was never handled.
    Hangup,
    /// The server closed the connection earlier (the phone was slammed): later sends bounce.
    Slammed,
    /// The session was hung up, possibly while this fibril was waiting in it.
    SessionClosed,
    /// The session still has active exchanges.
    Busy,
    /// An earlier exchange on the session's phone was cut short in the middle of an operation
    /// (a send refused after the operation's first calls had reached the server), so the
    /// framework closed the phone rather than let the next operation's calls be taken as the
    /// rest of the cut one. Hang the session up and connect again.
    Broken,
    /// The server answered with an error.
    Remote(Errno),
    /// The answer did not fit the protocol (a short or missing data transfer).
    Protocol(String),
}

impl IpcError {
    /// The errno a HelenOS caller would see.
    pub fn errno(&self) -> Errno {
        match self {
            IpcError::PhoneLimit | IpcError::CallLimit => Errno::Elimit,
            IpcError::NoInterface | IpcError::PhoneHungUp | IpcError::Slammed => Errno::Enoent,
            IpcError::Hangup | IpcError::SessionClosed => Errno::Ehangup,
            IpcError::Busy => Errno::Ebusy,
            IpcError::Broken => Errno::Eio,
            IpcError::Remote(e) => *e,
            IpcError::Protocol(_) => Errno::Einval,
        }
    }

    /// Maps an errno carried by an answer back to the error a client sees.
    pub fn from_errno(e: Errno) -> Self {
        match e {
            Errno::Ehangup => IpcError::Hangup,
            Errno::Elimit => IpcError::PhoneLimit,
            Errno::Enoent => IpcError::NoInterface,
            other => IpcError::Remote(other),
        }
    }
}

impl fmt::Display for IpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpcError::PhoneLimit => f.write_str("the task's phone table is full (ELIMIT)"),
            IpcError::CallLimit => f.write_str("the phone has too many unanswered calls (ELIMIT)"),
            IpcError::NoInterface => f.write_str("the server has no such interface (ENOENT)"),
            IpcError::PhoneHungUp => f.write_str("the phone is hung up (ENOENT)"),
            IpcError::Hangup => f.write_str("the connection is gone (EHANGUP)"),
            IpcError::Slammed => f.write_str("the server closed the connection (ENOENT)"),
            IpcError::SessionClosed => f.write_str("the session was hung up (EHANGUP)"),
            IpcError::Busy => f.write_str("the session has active exchanges (EBUSY)"),
            IpcError::Broken => f.write_str(
                "the session's phone was closed after an operation on it was cut short (EIO)",
            ),
            IpcError::Remote(e) => write!(f, "the server answered {e}"),
            IpcError::Protocol(what) => write!(f, "protocol error: {what}"),
        }
    }
}

impl std::error::Error for IpcError {}

/// A failed [`Session::hangup`](crate::Session::hangup): the session comes back with the error,
/// so that nothing is lost (tokio's `TrySendError<T>` pattern).
#[derive(Debug)]
pub struct HangupError<S> {
    /// The session, still open.
    pub session: S,
    /// Why it could not be hung up.
    pub error: IpcError,
}

impl<S> fmt::Display for HangupError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "hangup refused: {}", self.error)
    }
}

impl<S: fmt::Debug> std::error::Error for HangupError<S> {}
