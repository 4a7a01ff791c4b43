//! Tasks die: a server or a client task killed at an explored point of its peers' work. Peers
//! never hang, get errors rather than wrong bytes, and nothing of either side leaks.
#![cfg(not(loom))]

mod common;

use sessions_core::Style;
use sessions_models::trace_stats::Coverage;
use sessions_models::{Builtin, BuiltinModel};

const STYLES: [Style; 3] = [Style::Serialize, Style::Parallel, Style::Multiplexed];

#[test]
fn a_server_killed_under_its_clients_answers_what_it_had_and_slams_their_phones() {
    let mut answered = 0;
    let mut slammed = 0;
    for style in STYLES {
        for m in [
            BuiltinModel::from(Builtin::ServerKilled { style }),
            BuiltinModel::from(Builtin::ServerKilled { style }).threaded(),
        ] {
            let out = common::expect_as_declared(&m);
            answered += out.coverage.executions_with(Coverage::DEATH_ANSWERED);
            slammed += out.coverage.executions_with(Coverage::DEATH_SLAMMED);
        }
    }
    // The kill fell in the middle of reads (calls answered EHANGUP by the kernel) and before
    // others (sends refused on the slammed phones).
    assert!(answered > 0 && slammed > 0, "{answered} {slammed}");
}

#[test]
fn a_client_killed_mid_read_leaves_its_server_and_the_other_client_whole() {
    for style in STYLES {
        common::expect_as_declared(&BuiltinModel::from(Builtin::ClientKilled { style }));
        common::expect_as_declared(&BuiltinModel::from(Builtin::ClientKilled { style }).threaded());
    }
}
