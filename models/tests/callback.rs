//! Callback sessions: a client offers a hub a phone back to a port of its own
//! (`CONNECT_TO_ME`), and the hub's handlers call it back; PARALLEL callback clones reach the
//! port only through `args_set`.
#![cfg(not(loom))]

mod common;

use serde::{Deserialize, Serialize};
use sessions_core::sync::Platform;
use sessions_core::{Ipc, IpcError, Kernel, KernelConfig, ServerBuilder, Session, Style};
use sessions_models::callback::{self, Hub, HUB, HUB_FIRE, HUB_UNREGISTER, NOTIFY};
use sessions_models::trace_stats::Coverage;
use sessions_models::{Builtin, BuiltinModel, Model};

#[test]
fn the_hub_calls_back_under_every_style_and_dispatch() {
    for style in [Style::Serialize, Style::Parallel, Style::Multiplexed] {
        let m = BuiltinModel::from(Builtin::Callback { style });
        common::expect_as_declared(&m);
        let out = common::expect_as_declared(&m.threaded());
        if style == Style::Parallel {
            // With handlers on server threads, the two callbacks overlap: the callback session
            // clones a phone to the client's port.
            assert!(
                out.coverage.executions_with(Coverage::CLONE) > 0,
                "{}",
                out.coverage
            );
        }
    }
}

/// A PARALLEL callback session whose clones nobody named a port for.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct NoArgsSet;

impl Model for NoArgsSet {
    fn name(&self) -> String {
        "callback/parallel/no-args-set".into()
    }
    fn config(&self) -> KernelConfig {
        KernelConfig::default()
    }
    fn threads(&self) -> usize {
        3
    }
    fn run<P: Platform>(&self, k: &Kernel<P>) {
        let client = k.task("client");
        client.serve(ServerBuilder::new().serve(&NOTIFY, callback::serve_notify));
        let hub = k.server(
            "hub",
            ServerBuilder::new()
                .serve(&HUB, |conn| {
                    callback::serve_hub(conn, Style::Parallel, false)
                })
                .state(Hub::default()),
        );
        let sess = Session::connect(&client, &hub, HUB.iface_with(Style::Parallel), 0, 0).unwrap();
        let exch = sess.begin().unwrap();
        exch.send_connect_to_me(NOTIFY.iface_with(Style::Parallel), 0, 0)
            .unwrap()
            .wait_for()
            .unwrap();
        exch.end();
        let fibrils: Vec<_> = [1u64, 2]
            .into_iter()
            .map(|x| {
                let s = sess.clone();
                client.spawn(if x == 1 { "A" } else { "B" }, move || {
                    s.begin()?.request(HUB_FIRE, &[x]).map(|r| r.args[0])
                })
            })
            .collect();
        let got: Vec<Result<u64, IpcError>> =
            fibrils.into_iter().map(|f| f.join().unwrap()).collect();
        // Every PARALLEL exchange runs on a clone, and every clone is refused by the client's
        // fallback: it asked for no interface.
        assert_eq!(
            got,
            [Err(IpcError::NoInterface), Err(IpcError::NoInterface)]
        );
        sess.begin().unwrap().request(HUB_UNREGISTER, &[]).unwrap();
        sess.hangup().unwrap();
    }
}

#[test]
fn without_args_set_a_parallel_callback_clone_reaches_the_fallback_and_is_refused() {
    let out = common::expect_as_declared(&NoArgsSet);
    assert!(
        out.coverage.executions_with(Coverage::CLONE_REFUSED) > 0,
        "{}",
        out.coverage
    );
}
