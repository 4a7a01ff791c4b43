//! A callback session, written against the public API only: a client registers a port of its
//! own with a hub (`IPC_M_CONNECT_TO_ME`, as a file-system driver registers with VFS), and the
//! hub's handlers call the client back on the session the hub got for it.
//!
//! - `hub` serves `HUB_FIRE(x)`: the hub calls `NOTIFY_EVENT(x)` back on the client's port and
//!   answers with the callback's answer; `CONNECT_TO_ME` registers the port (the callback
//!   session is kept in the hub's state); `HUB_UNREGISTER` hangs the callback session up.
//! - the client's port serves `notify`: `NOTIFY_EVENT(x)` is answered `10 * x`.
//!
//! A PARALLEL callback session clones a phone for each concurrent callback exchange; its clones
//! reach the client's `notify` port only because the hub names it with `args_set` (HelenOS's
//! checklist items 14 and 15). Without that, the client's fallback refuses them with ENOENT.

use sessions_core::server::Conn;
use sessions_core::{Errno, Ipc, IpcError, Method, Protocol, Session, Style};

/// `HUB_FIRE(x)`: the hub calls the registered client back with `x`.
pub const HUB_FIRE: Method = Method(Method::FIRST_USER);
/// `HUB_UNREGISTER`: the hub hangs up its callback session.
pub const HUB_UNREGISTER: Method = Method(Method::FIRST_USER + 1);
/// `NOTIFY_EVENT(x)`: the callback; answered `10 * x`.
pub const NOTIFY_EVENT: Method = Method(Method::FIRST_USER);

/// The hub's protocol.
pub const HUB: Protocol = Protocol {
    id: 21,
    name: "hub",
    methods: &[(HUB_FIRE, "HUB_FIRE"), (HUB_UNREGISTER, "HUB_UNREGISTER")],
    style: None,
};

/// The client's callback port.
pub const NOTIFY: Protocol = Protocol {
    id: 22,
    name: "notify",
    methods: &[(NOTIFY_EVENT, "NOTIFY_EVENT")],
    style: None,
};

/// The hub's state: the callback session, once a client registered.
#[derive(Debug, Default)]
pub struct Hub {
    /// The session to the client's port.
    pub callback: Option<Session>,
}

/// The hub's connection handler. `style` is the style of the callback sessions it accepts;
/// `args_set` says whether it names the client's port for their clones.
pub async fn serve_hub(mut conn: Conn, style: Style, args_set: bool) {
    while let Some(call) = conn.get_call().await {
        match call.method() {
            Method::CONNECT_TO_ME => {
                if let Ok(sess) = conn.callback_receive(call, style) {
                    if args_set {
                        sess.args_set(NOTIFY.iface_with(style), 0, 0);
                    }
                    conn.with_state(|h: &mut Hub| h.callback = Some(sess));
                }
            }
            HUB_FIRE => {
                let Some(cb) = conn.with_state(|h: &mut Hub| h.callback.clone()) else {
                    call.answer_err(Errno::Enoent);
                    continue;
                };
                match notify(&cb, call.arg(0)).await {
                    Ok(n) => call.answer(&[n]),
                    Err(e) => call.answer_err(e.errno()),
                }
            }
            HUB_UNREGISTER => {
                let cb = conn.with_state(|h: &mut Hub| h.callback.take());
                if let Some(cb) = cb {
                    let _ = cb.hangup_async().await;
                }
                call.answer(&[]);
            }
            _ => {
                conn.protocol_error(&call, "HUB_FIRE or HUB_UNREGISTER");
                call.answer_err(Errno::Enotsup);
            }
        }
    }
}

/// Calls the client back: one exchange on the callback session.
async fn notify(cb: &Session, x: u64) -> Result<u64, IpcError> {
    let exch = cb.begin_async().await?;
    exch.op("notify.event");
    let answer = match exch.send(NOTIFY_EVENT, &[x]) {
        Ok(aid) => aid.await,
        Err(e) => Err(e),
    };
    exch.end_async().await;
    Ok(answer?.args[0])
}

/// The client's port: answers each `NOTIFY_EVENT(x)` with `10 * x`.
pub async fn serve_notify(mut conn: Conn) {
    while let Some(call) = conn.get_call().await {
        if call.method() == NOTIFY_EVENT {
            let x = call.arg(0);
            call.answer(&[10 * x]);
        } else {
            conn.protocol_error(&call, "NOTIFY_EVENT");
            call.answer_err(Errno::Enotsup);
        }
    }
}
