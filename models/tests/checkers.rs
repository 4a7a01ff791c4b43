//! Each checker fed small known-bad traces, built by hand, asserting on exactly what it
//! reports; known-good traces on which it is silent; and real runs of the kernel: a correct
//! one on which every checker is silent, and a naive client whose mixed calls are caught.
#![cfg(not(loom))]

use sessions_core::proto::chardev::{self, READ, WRITE};
use sessions_core::sync::{Platform, StdPlatform};
use sessions_core::trace::{
    AnsweredBy, BeginHow, CacheOut, CloseBy, DeadlockReport, Finish, PhoneClose, Wait,
};
use sessions_core::*;
use sessions_models::check::{self, accounting, answers, mixing, protocol, resources};
use sessions_models::driver::{run_shuttle, Scheduler};
use sessions_models::violation::{CallRef, Cause, Fate, FibrilRef, Leak, Missing};
use sessions_models::{Checker, Model, Violation};

const A: FibrilId = FibrilId(1);
const B: FibrilId = FibrilId(2);
const CLIENT: TaskId = TaskId(1);
const C0: ConnId = ConnId(0);
const C1: ConnId = ConnId(1);
const P0: PathId = PathId(0);
const P1: PathId = PathId(1);
const P2: PathId = PathId(2);
const S0: SessId = SessId(0);
const S1: SessId = SessId(1);
const DATA: Method = Method::DATA_READ;

/// A trace under construction: task 1 (`client`, two phones) with fibrils A and B.
struct T(Vec<Event>);

/// The tag of step `step` of operation `op`, sent by `f` in exchange `exch` of session 0.
fn tag(f: FibrilId, exch: Option<u32>, op: u32, step: u32) -> Tag {
    Tag {
        fibril: f,
        sess: Some(S0),
        exch: exch.map(ExchId),
        op: OpId(op),
        step,
    }
}

/// How a violation names the call `call` of method `method` carrying tag `t`.
fn cref(call: u32, method: Method, t: Tag) -> CallRef {
    CallRef {
        call: CallId(call),
        method,
        // Hand-built traces open no connections, so no protocol names the method.
        method_name: method.to_string(),
        fibril: fref(t.fibril),
        exch: t.exch,
        op: t.op,
        step: t.step,
    }
}

/// How a violation names fibril A or B.
fn fref(f: FibrilId) -> FibrilRef {
    let name = if f == A { "A" } else { "B" };
    FibrilRef {
        id: f,
        name: name.into(),
        handler: false,
    }
}

impl T {
    fn new() -> Self {
        let fibril = |fibril, name: &str| Event::FibrilNew {
            fibril,
            task: CLIENT,
            name: name.into(),
        };
        T(vec![
            Event::TaskNew {
                task: CLIENT,
                name: "client".into(),
                phone_limit: 2,
                server: false,
            },
            fibril(A, "A"),
            fibril(B, "B"),
        ])
    }
    fn ev(mut self, e: Event) -> Self {
        self.0.push(e);
        self
    }
    /// Call `call` sent with tag `t` (untagged when `None`).
    fn send(self, call: u32, method: Method, t: Option<Tag>) -> Self {
        let fibril = t.map_or(A, |t| t.fibril);
        self.ev(Event::Send {
            call: CallId(call),
            fibril,
            phone: Some(PhoneId(0)),
            method,
            tag: t,
        })
    }
    /// Call `call` arriving at `conn` on `path`.
    fn arrive(self, call: u32, method: Method, t: Option<Tag>, conn: ConnId, path: PathId) -> Self {
        self.ev(Event::Arrive {
            conn,
            path,
            call: CallId(call),
            method,
            tag: t,
        })
    }
    /// A tagged call sent and arriving at `conn` on `path`.
    fn call(self, call: u32, method: Method, t: Tag, conn: ConnId, path: PathId) -> Self {
        self.send(call, method, Some(t))
            .arrive(call, method, Some(t), conn, path)
    }
    fn answer(self, call: u32) -> Self {
        self.ev(Event::Answer {
            call: CallId(call),
            conn: Some(C0),
            retval: None,
            evidence: CallId(call),
            by: AnsweredBy::Server,
        })
    }
    fn receive(self, call: u32, fibril: FibrilId, evidence: u32) -> Self {
        self.ev(Event::Receive {
            call: CallId(call),
            fibril,
            retval: None,
            evidence: CallId(evidence),
        })
    }
    fn phone_open(self, phone: u32, open: u32) -> Self {
        self.ev(Event::PhoneOpen {
            task: CLIENT,
            phone: PhoneId(phone),
            open,
        })
    }
    fn phone_close(self, phone: u32) -> Self {
        self.ev(Event::PhoneClose {
            task: CLIENT,
            phone: PhoneId(phone),
            open: 0,
            why: PhoneClose::Hangup,
        })
    }
    /// Connection `conn` accepted for the client's phone `phone`.
    fn conn_open(self, conn: ConnId, phone: u32) -> Self {
        self.ev(Event::ConnOpen {
            conn,
            call: CallId(100 + conn.0),
            server: TaskId(2),
            client: CLIENT,
            phone: PhoneId(phone),
            iface: chardev::iface(Style::Parallel),
        })
    }
    fn conn_close(self, conn: ConnId, by: CloseBy) -> Self {
        self.ev(Event::ConnClose { conn, by })
    }
    fn hangup_arrives(self, call: u32, conn: ConnId) -> Self {
        self.arrive(call, Method::HANGUP, None, conn, P0)
    }
    fn begin(self, exch: u32, obj: u32, fibril: FibrilId, how: BeginHow) -> Self {
        self.ev(Event::ExchBegin {
            exch: ExchId(exch),
            sess: S0,
            fibril,
            obj: ObjId(obj),
            phone: PhoneId(0),
            how,
        })
    }
    fn end(self, exch: u32, obj: u32, fibril: FibrilId) -> Self {
        self.ev(Event::ExchEnd {
            exch: ExchId(exch),
            obj: ObjId(obj),
            fibril,
        })
    }
    fn cache_in(self, obj: u32) -> Self {
        self.ev(Event::CacheIn {
            obj: ObjId(obj),
            sess: S0,
        })
    }
    fn cache_out(self, obj: u32, why: CacheOut) -> Self {
        self.ev(Event::CacheOut {
            obj: ObjId(obj),
            sess: S0,
            why,
        })
    }
    /// A send by `fibril` of `method` (with tag `t`) refused with `error` on phone 0.
    fn refused(self, fibril: FibrilId, method: Method, t: Option<Tag>, error: IpcError) -> Self {
        self.ev(Event::SendFail {
            fibril,
            phone: Some(PhoneId(0)),
            method,
            tag: t,
            error,
        })
    }
    /// Tagged step `t` of method `method` refused at the call limit.
    fn at_call_limit(self, method: Method, t: Tag) -> Self {
        self.refused(t.fibril, method, Some(t), IpcError::CallLimit)
    }
    /// `fibril`'s clone refused for want of a phone, as before a legitimate reclaim.
    fn clone_refused(self, fibril: FibrilId) -> Self {
        self.refused(fibril, Method::CONNECT_ME_TO, None, IpcError::PhoneLimit)
    }
    fn path_open(self, conn: ConnId, path: PathId) -> Self {
        self.ev(Event::PathOpen { conn, path })
    }
    fn path_close(self, conn: ConnId, path: PathId) -> Self {
        self.ev(Event::PathClose { conn, path })
    }
    /// The trace of an execution that ran to its end.
    fn finished(self) -> TraceLog {
        self.ev(Event::Finish(Finish::default())).cut()
    }
    /// The trace of an execution cut short (no `Finish`).
    fn cut(self) -> TraceLog {
        TraceLog {
            events: self.0,
            deadlock: None,
        }
    }
}

// ---------------------------------------------------------------------------------------
// mixing

#[test]
fn foreign_call_between_two_calls_of_an_operation_is_mixing() {
    // The design note's picture: (AR1, BR1, AR2, BR2) on one phone, as ATOMIC exchanges
    // 0 and 1 sharing it would send them.
    let (a0, a1) = (tag(A, Some(0), 0, 0), tag(A, Some(0), 0, 1));
    let (b0, b1) = (tag(B, Some(1), 1, 0), tag(B, Some(1), 1, 1));
    let log = T::new()
        .call(1, READ, a0, C0, P0)
        .call(2, READ, b0, C0, P0)
        .call(3, DATA, a1, C0, P0)
        .call(4, DATA, b1, C0, P0)
        .cut();
    // Both operations were interrupted: A's by B's first call, B's by A's second.
    assert_eq!(
        mixing::check(&log),
        vec![
            Violation::Mixing {
                conn: C0,
                path: P0,
                before: cref(1, READ, a0),
                intruder: cref(2, READ, b0),
                after: cref(3, DATA, a1),
            },
            Violation::Mixing {
                conn: C0,
                path: P0,
                before: cref(2, READ, b0),
                intruder: cref(3, DATA, a1),
                after: cref(4, DATA, b1),
            },
        ]
    );
}

#[test]
fn an_operation_interrupted_twice_is_reported_once_with_its_first_intruder() {
    let a = |step| tag(A, Some(0), 0, step);
    let (b, c) = (tag(B, Some(1), 1, 0), tag(B, Some(2), 2, 0));
    let log = T::new()
        .call(1, READ, a(0), C0, P0)
        .call(2, WRITE, b, C0, P0)
        .call(3, DATA, a(1), C0, P0)
        .call(4, WRITE, c, C0, P0)
        .call(5, DATA, a(2), C0, P0)
        .cut();
    assert_eq!(
        mixing::check(&log),
        vec![Violation::Mixing {
            conn: C0,
            path: P0,
            before: cref(1, READ, a(0)),
            intruder: cref(2, WRITE, b),
            after: cref(3, DATA, a(1)),
        }]
    );
}

#[test]
fn untagged_framework_calls_do_not_interrupt_an_operation() {
    let log = T::new()
        .call(1, READ, tag(A, Some(0), 0, 0), C0, P0)
        .send(2, Method::PATH_END, None)
        .arrive(2, Method::PATH_END, None, C0, P0)
        .call(3, DATA, tag(A, Some(0), 0, 1), C0, P0)
        .cut();
    assert_eq!(mixing::check(&log), vec![]);
}

#[test]
fn operations_in_turn_or_on_separate_connections_or_paths_are_not_mixing() {
    let a = |step| tag(A, Some(0), 0, step);
    let b = |step| tag(B, Some(1), 1, step);
    // One after the other on one connection.
    let log = T::new()
        .call(1, READ, a(0), C0, P0)
        .call(2, DATA, a(1), C0, P0)
        .call(3, READ, b(0), C0, P0)
        .call(4, DATA, b(1), C0, P0)
        .cut();
    assert_eq!(mixing::check(&log), vec![]);
    // Interleaved, but on two connections (PARALLEL clones)...
    let log = T::new()
        .call(1, READ, a(0), C0, P0)
        .call(2, READ, b(0), C1, P0)
        .call(3, DATA, a(1), C0, P0)
        .call(4, DATA, b(1), C1, P0)
        .cut();
    assert_eq!(mixing::check(&log), vec![]);
    // ...or on two virtual paths of one (MULTIPLEXED).
    let log = T::new()
        .begin(0, 0, A, BeginHow::Path(P1))
        .begin(1, 1, B, BeginHow::Path(P2))
        .path_open(C0, P1)
        .call(1, READ, a(0), C0, P1)
        .path_open(C0, P2)
        .call(2, READ, b(0), C0, P2)
        .call(3, DATA, a(1), C0, P1)
        .call(4, DATA, b(1), C0, P2)
        .cut();
    assert_eq!(mixing::check(&log), vec![]);
}

/// How a violation names a step that never arrived.
fn missing(method: Method, t: Tag, fate: Fate) -> Missing {
    Missing {
        method,
        method_name: method.to_string(),
        fibril: fref(t.fibril),
        exch: t.exch,
        op: t.op,
        step: t.step,
        fate,
    }
}

#[test]
fn a_foreign_call_where_a_refused_step_was_due_is_an_interruption() {
    // A's write got its first call through; its data call was refused (ELIMIT). The server
    // still waits for it when B's read comes: B's first call is taken as A's data.
    let (a0, a1) = (tag(A, Some(0), 0, 0), tag(A, Some(0), 0, 1));
    let (b0, b1) = (tag(B, Some(1), 1, 0), tag(B, Some(1), 1, 1));
    let log = T::new()
        .call(1, WRITE, a0, C0, P0)
        .at_call_limit(Method::DATA_WRITE, a1)
        .call(2, READ, b0, C0, P0)
        .call(3, DATA, b1, C0, P0)
        .cut();
    assert_eq!(
        mixing::check(&log),
        vec![Violation::Interrupted {
            conn: C0,
            path: P0,
            before: cref(1, WRITE, a0),
            intruder: cref(2, READ, b0),
            missing: missing(
                Method::DATA_WRITE,
                a1,
                Fate::Refused {
                    error: IpcError::CallLimit
                }
            ),
        }]
    );
}

#[test]
fn a_foreign_call_before_the_server_closed_the_connection_is_an_interruption() {
    // A strict server closes the connection when B's call comes where A's second call was
    // due: A's second call never arrives, it bounces. Arrivals alone show no mixing.
    let (a0, a1) = (tag(A, Some(0), 0, 0), tag(A, Some(0), 0, 1));
    let b0 = tag(B, Some(1), 1, 0);
    let log = T::new()
        .call(1, READ, a0, C0, P0)
        .call(2, READ, b0, C0, P0)
        .conn_close(C0, CloseBy::Server)
        .send(3, DATA, Some(a1))
        .ev(Event::Bounce {
            conn: C0,
            call: CallId(3),
            method: DATA,
        })
        .cut();
    assert_eq!(
        mixing::check(&log),
        vec![Violation::Interrupted {
            conn: C0,
            path: P0,
            before: cref(1, READ, a0),
            intruder: cref(2, READ, b0),
            missing: missing(DATA, a1, Fate::Bounced { call: CallId(3) }),
        }]
    );
}

#[test]
fn an_operation_cut_short_on_a_retired_connection_or_path_interrupts_nothing() {
    let (a0, a1) = (tag(A, Some(0), 0, 0), tag(A, Some(0), 0, 1));
    // The clone is hung up after the cut: its connection sees HANGUP next, and B's read goes
    // to another connection.
    let log = T::new()
        .call(1, WRITE, a0, C0, P0)
        .at_call_limit(Method::DATA_WRITE, a1)
        .hangup_arrives(2, C0)
        .call(3, READ, tag(B, Some(1), 1, 0), C1, P0)
        .cut();
    assert_eq!(mixing::check(&log), vec![]);
    // A multiplexed path dies with its exchange: the next exchange on the same path id gets
    // a new instance of the path, which owes nothing.
    let log = T::new()
        .begin(0, 0, A, BeginHow::Path(P1))
        .path_open(C0, P1)
        .call(1, WRITE, a0, C0, P1)
        .at_call_limit(Method::DATA_WRITE, a1)
        .path_close(C0, P1)
        .begin(1, 1, B, BeginHow::Path(P1))
        .path_open(C0, P1)
        .call(2, READ, tag(B, Some(1), 1, 0), C0, P1)
        .cut();
    assert_eq!(mixing::check(&log), vec![]);
}

#[test]
fn a_call_arriving_before_an_earlier_step_of_its_operation_is_out_of_order() {
    let a = |step| tag(A, Some(0), 0, step);
    // Step 1 overtook step 0: the early call is reported, once.
    let log = T::new()
        .send(1, READ, Some(a(0)))
        .call(2, DATA, a(1), C0, P0)
        .arrive(1, READ, Some(a(0)), C0, P0)
        .cut();
    assert_eq!(
        mixing::check(&log),
        vec![Violation::OutOfOrder {
            conn: C0,
            path: P0,
            call: cref(2, DATA, a(1)),
            expected_step: 0,
        }]
    );
    // Step 1 never arrived anywhere before step 2.
    let log = T::new()
        .call(1, READ, a(0), C0, P0)
        .call(3, DATA, a(2), C0, P0)
        .cut();
    assert_eq!(
        mixing::check(&log),
        vec![Violation::OutOfOrder {
            conn: C0,
            path: P0,
            call: cref(3, DATA, a(2)),
            expected_step: 1,
        }]
    );
}

#[test]
fn steps_refused_or_bounced_before_arriving_leave_no_gap_in_the_order() {
    let a = |step| tag(A, Some(0), 0, step);
    let log = T::new()
        .call(1, READ, a(0), C0, P0)
        .at_call_limit(DATA, a(1))
        .call(2, DATA, a(2), C0, P0)
        .send(3, DATA, Some(a(3)))
        .ev(Event::Bounce {
            conn: C1,
            call: CallId(3),
            method: DATA,
        })
        .call(4, DATA, a(4), C0, P0)
        .cut();
    assert_eq!(mixing::check(&log), vec![]);
}

#[test]
fn a_second_exchange_on_a_path_instance_before_the_server_freed_it_is_path_reused() {
    let a = tag(A, Some(0), 0, 0);
    let b = |step| tag(B, Some(1), 1, step);
    let log = T::new()
        .begin(0, 0, A, BeginHow::Path(P1))
        .path_open(C0, P1)
        .call(1, READ, a, C0, P1)
        .begin(1, 1, B, BeginHow::Path(P1))
        .call(2, WRITE, b(0), C0, P1)
        .call(3, Method::DATA_WRITE, b(1), C0, P1)
        .cut();
    // Reported once for the intruding exchange, naming the instance's own exchange.
    assert_eq!(
        mixing::check(&log),
        vec![Violation::PathReused {
            conn: C0,
            path: P1,
            first: ExchId(0),
            intruder: cref(2, WRITE, b(0)),
        }]
    );
    // Once the server freed the path, the same id may carry another exchange.
    let log = T::new()
        .begin(0, 0, A, BeginHow::Path(P1))
        .path_open(C0, P1)
        .call(1, READ, a, C0, P1)
        .path_close(C0, P1)
        .begin(1, 1, B, BeginHow::Path(P1))
        .path_open(C0, P1)
        .call(2, WRITE, b(0), C0, P1)
        .cut();
    assert_eq!(mixing::check(&log), vec![]);
}

#[test]
fn a_call_of_a_multiplexed_exchange_on_another_path_is_misrouted_not_path_reused() {
    let (a, b) = (tag(A, Some(0), 0, 0), tag(B, Some(1), 1, 0));
    let log = T::new()
        .begin(0, 0, A, BeginHow::Path(P1))
        .begin(1, 1, B, BeginHow::Path(P2))
        .path_open(C0, P1)
        .call(1, READ, a, C0, P1)
        .call(2, WRITE, b, C0, P1)
        .cut();
    assert_eq!(
        mixing::check(&log),
        vec![Violation::Misrouted {
            conn: C0,
            path: P1,
            expected: P2,
            call: cref(2, WRITE, b),
        }]
    );
}

// ---------------------------------------------------------------------------------------
// answers

#[test]
fn an_answer_taken_by_another_fibril_or_for_another_call_is_crossed() {
    let log = T::new()
        .call(1, READ, tag(A, Some(0), 0, 0), C0, P0)
        .call(2, READ, tag(B, Some(1), 1, 0), C0, P0)
        .answer(1)
        .answer(2)
        .receive(1, B, 1)
        .receive(2, B, 1)
        .finished();
    assert_eq!(
        answers::check(&log),
        vec![
            Violation::CrossedAnswer {
                call: CallId(1),
                receiver: fref(B),
                sender: fref(A),
                evidence: CallId(1),
            },
            Violation::CrossedAnswer {
                call: CallId(2),
                receiver: fref(B),
                sender: fref(B),
                evidence: CallId(1),
            },
        ]
    );
}

#[test]
fn a_call_never_answered_or_answered_twice_is_reported() {
    let log = T::new()
        .call(1, READ, tag(A, Some(0), 0, 0), C0, P0)
        .call(2, READ, tag(B, Some(1), 1, 0), C0, P0)
        .answer(2)
        .answer(2)
        .answer(2)
        .finished();
    // The extra answers of call 2 are counted in one violation; call 1's silence is an
    // end-state finding and comes last.
    assert_eq!(
        answers::check(&log),
        vec![
            Violation::AnsweredTwice {
                call: CallId(2),
                method: READ,
                method_name: READ.to_string(),
                answers: 3,
            },
            Violation::Unanswered {
                call: CallId(1),
                method: READ,
                method_name: READ.to_string(),
                fibril: fref(A),
            },
        ]
    );
    // A trace cut short (a deadlock, an abort) is not blamed for the answers it never got to.
    let mut cut = log.clone();
    cut.events.pop();
    assert_eq!(
        answers::check(&cut),
        vec![Violation::AnsweredTwice {
            call: CallId(2),
            method: READ,
            method_name: READ.to_string(),
            answers: 3,
        }]
    );
}

#[test]
fn an_answer_received_twice_is_answered_twice() {
    let log = T::new()
        .call(1, READ, tag(A, Some(0), 0, 0), C0, P0)
        .answer(1)
        .receive(1, A, 1)
        .receive(1, A, 1)
        .finished();
    assert_eq!(
        answers::check(&log),
        vec![Violation::AnsweredTwice {
            call: CallId(1),
            method: READ,
            method_name: READ.to_string(),
            answers: 2,
        }]
    );
}

#[test]
fn every_call_answered_once_and_taken_by_its_sender_is_silent() {
    let log = T::new()
        .send(1, Method::CONNECT_ME_TO, None)
        .answer(1)
        .receive(1, A, 1)
        .call(2, READ, tag(A, Some(0), 0, 0), C0, P0)
        .call(3, DATA, tag(A, Some(0), 0, 1), C0, P0)
        .answer(3)
        .answer(2)
        .receive(2, A, 2)
        .receive(3, A, 3)
        // HANGUP is never answered.
        .send(4, Method::HANGUP, None)
        .hangup_arrives(4, C0)
        .finished();
    assert_eq!(answers::check(&log), vec![]);
}

// ---------------------------------------------------------------------------------------
// resources

#[test]
fn phones_above_the_task_limit_are_reported_once_with_the_peak() {
    // The `open` fields lie (the checker counts opens and closes itself).
    let log = T::new()
        .phone_open(0, 1)
        .phone_open(1, 1)
        .phone_open(2, 1)
        .phone_close(2)
        .phone_open(3, 1)
        .phone_open(4, 1)
        .cut();
    assert_eq!(
        resources::check(&log),
        vec![Violation::PhoneLimit {
            task: CLIENT,
            open: 4,
            limit: 2,
        }]
    );
}

#[test]
fn leftovers_after_the_end_are_leaks() {
    let log = T::new()
        .phone_open(0, 1)
        .conn_open(C0, 0)
        .ev(Event::SessionOpen {
            sess: S0,
            task: CLIENT,
            iface: chardev::iface(Style::Parallel),
            phone: PhoneId(0),
            conn: C0,
        })
        .cache_in(3)
        .cache_in(4)
        .cache_out(4, CacheOut::Reuse)
        .finished();
    assert_eq!(
        resources::check(&log),
        vec![
            Violation::Leak(Leak::Phones {
                task: CLIENT,
                open: 1,
            }),
            Violation::Leak(Leak::Conn { conn: C0 }),
            Violation::Leak(Leak::Cached { obj: ObjId(3) }),
            Violation::Leak(Leak::Session { sess: S0 }),
        ]
    );
    // Cut short, the same state is the deadlock's consequence, not a leak.
    let mut cut = log.clone();
    cut.events.pop();
    assert_eq!(resources::check(&cut), vec![]);
}

#[test]
fn every_call_arriving_after_the_hangup_is_reported() {
    let log = T::new()
        .phone_open(0, 1)
        .conn_open(C0, 0)
        .hangup_arrives(5, C0)
        .call(6, READ, tag(A, Some(0), 0, 0), C0, P0)
        .call(7, DATA, tag(A, Some(0), 0, 1), C0, P0)
        .phone_close(0)
        .conn_close(C0, CloseBy::Client)
        .cut();
    assert_eq!(
        resources::check(&log),
        vec![
            Violation::HangupNotLast {
                conn: C0,
                after: Some(CallId(6)),
            },
            Violation::HangupNotLast {
                conn: C0,
                after: Some(CallId(7)),
            },
        ]
    );
}

#[test]
fn a_connection_whose_client_hung_up_without_the_hangup_arriving_is_reported() {
    // conn0 got its HANGUP; conn1's phone was closed while it was open, and HANGUP never came.
    let log = T::new()
        .phone_open(0, 1)
        .phone_open(1, 2)
        .conn_open(C0, 0)
        .conn_open(C1, 1)
        .hangup_arrives(5, C0)
        .phone_close(0)
        .conn_close(C0, CloseBy::Client)
        .phone_close(1)
        .finished();
    assert_eq!(
        resources::check(&log),
        vec![
            Violation::HangupNotLast {
                conn: C1,
                after: None,
            },
            Violation::Leak(Leak::Conn { conn: C1 }),
        ]
    );
}

#[test]
fn everything_released_with_hangup_last_is_silent() {
    let log = T::new()
        .phone_open(0, 1)
        .conn_open(C0, 0)
        .ev(Event::SessionOpen {
            sess: S0,
            task: CLIENT,
            iface: chardev::iface(Style::Parallel),
            phone: PhoneId(0),
            conn: C0,
        })
        .phone_open(1, 2)
        .conn_open(C1, 1)
        .cache_in(0)
        // The server closed conn1 on its own: the client's hangup bounces, and that is fine.
        .conn_close(C1, CloseBy::Server)
        .hangup_arrives(5, C0)
        .phone_close(0)
        .cache_out(0, CacheOut::Hangup)
        .send(6, Method::HANGUP, None)
        .ev(Event::Bounce {
            conn: C1,
            call: CallId(6),
            method: Method::HANGUP,
        })
        .phone_close(1)
        .ev(Event::SessionHangup {
            sess: S0,
            fibril: A,
        })
        .conn_close(C0, CloseBy::Client)
        .finished();
    assert_eq!(resources::check(&log), vec![]);
}

// ---------------------------------------------------------------------------------------
// accounting

#[test]
fn an_object_taken_by_a_second_exchange_while_the_first_runs_is_cached_in_use() {
    let log = T::new()
        .begin(0, 7, A, BeginHow::Cloned)
        .begin(1, 7, B, BeginHow::Reused)
        .end(0, 7, A)
        .end(1, 7, B)
        .finished();
    assert_eq!(
        accounting::check(&log),
        vec![Violation::CachedInUse {
            obj: ObjId(7),
            exch: ExchId(1),
            sess: S0,
        }]
    );
}

#[test]
fn an_object_cached_while_its_exchange_runs_is_cached_in_use() {
    let log = T::new()
        .begin(0, 7, A, BeginHow::Cloned)
        .cache_in(7)
        .end(0, 7, A)
        .finished();
    assert_eq!(
        accounting::check(&log),
        vec![Violation::CachedInUse {
            obj: ObjId(7),
            exch: ExchId(0),
            sess: S0,
        }]
    );
}

#[test]
fn a_begin_taking_an_object_still_in_the_cache_is_cached_in_use() {
    let log = T::new()
        .begin(0, 7, A, BeginHow::Cloned)
        .end(0, 7, A)
        .cache_in(7)
        // No CacheOut: the object is still on offer to every other begin.
        .begin(1, 7, B, BeginHow::Reused)
        .end(1, 7, B)
        .finished();
    assert_eq!(
        accounting::check(&log),
        vec![Violation::CachedInUse {
            obj: ObjId(7),
            exch: ExchId(1),
            sess: S0,
        }]
    );
}

#[test]
fn a_call_of_an_exchange_whose_object_is_cached_is_cached_in_use() {
    let log = T::new()
        .begin(0, 7, A, BeginHow::Cloned)
        .end(0, 7, A)
        .cache_in(7)
        // Exchange 0 ended, yet sends on its object, which the cache may hand out.
        .call(1, READ, tag(A, Some(0), 0, 0), C0, P0)
        .finished();
    assert_eq!(
        accounting::check(&log),
        vec![Violation::CachedInUse {
            obj: ObjId(7),
            exch: ExchId(0),
            sess: S0,
        }]
    );
}

#[test]
fn reclaim_of_an_active_exchange_and_unbalanced_ends_are_reported() {
    let log = T::new()
        .begin(0, 7, A, BeginHow::Cloned)
        .clone_refused(B)
        .cache_out(
            7,
            CacheOut::Reclaim {
                for_sess: SessId(1),
                by: B,
            },
        )
        .end(0, 7, A)
        .end(0, 7, A)
        .end(0, 7, A)
        .begin(1, 8, B, BeginHow::Cloned)
        .finished();
    assert_eq!(
        accounting::check(&log),
        vec![
            Violation::ReclaimedActive {
                obj: ObjId(7),
                exch: ExchId(0),
            },
            Violation::EndedTwice { exch: ExchId(0) },
            Violation::NotEnded {
                exch: ExchId(1),
                fibril: fref(B),
            },
        ]
    );
    // A trace cut short does not blame the exchange it interrupted.
    let mut cut = log.clone();
    cut.events.pop();
    assert_eq!(accounting::check(&cut).len(), 2);
}

#[test]
fn the_kernel_s_orders_for_reuse_end_reclaim_and_paths_are_silent() {
    let log = T::new()
        .begin(0, 7, A, BeginHow::Cloned)
        .call(1, READ, tag(A, Some(0), 0, 0), C0, P0)
        .end(0, 7, A)
        .cache_in(7)
        .cache_out(7, CacheOut::Reuse)
        .begin(1, 7, B, BeginHow::Reused)
        .call(2, READ, tag(B, Some(1), 1, 0), C0, P0)
        .end(1, 7, B)
        .cache_in(7)
        .clone_refused(B)
        .cache_out(
            7,
            CacheOut::Reclaim {
                for_sess: SessId(1),
                by: B,
            },
        )
        .begin(2, 8, A, BeginHow::Wrapper)
        .end(2, 8, A)
        .cache_in(8)
        .cache_out(8, CacheOut::Hangup)
        .begin(3, 9, A, BeginHow::Path(P1))
        .begin(4, 10, B, BeginHow::Path(P1))
        .end(3, 9, A)
        .end(4, 10, B)
        .finished();
    assert_eq!(accounting::check(&log), vec![]);
}

// ---------------------------------------------------------------------------------------
// protocol

#[test]
fn protocol_errors_name_the_offending_call_and_its_tagged_sender() {
    let error = |call: u32, method, expected: &str| Event::ProtocolError {
        conn: C0,
        path: P0,
        call: CallId(call),
        method,
        expected: expected.into(),
    };
    let log = T::new()
        .call(1, READ, tag(A, Some(0), 0, 0), C0, P0)
        .call(2, READ, tag(B, Some(1), 1, 0), C0, P0)
        .ev(error(2, READ, "DATA_READ"))
        .send(3, Method::PATH_END, None)
        .arrive(3, Method::PATH_END, None, C0, P0)
        .ev(error(3, Method::PATH_END, "CHARDEV_READ"))
        .cut();
    assert_eq!(
        protocol::check(&log),
        vec![
            Violation::Protocol {
                conn: C0,
                path: P0,
                call: CallId(2),
                method: READ,
                method_name: READ.to_string(),
                expected: "DATA_READ".into(),
                sender: Some(fref(B)),
                because: Vec::new(),
            },
            Violation::Protocol {
                conn: C0,
                path: P0,
                call: CallId(3),
                method: Method::PATH_END,
                method_name: Method::PATH_END.to_string(),
                expected: "CHARDEV_READ".into(),
                sender: None,
                because: Vec::new(),
            },
        ]
    );
    // Without a reported error the checker is silent, whatever arrived.
    log_without_errors(&log);
}

fn log_without_errors(log: &TraceLog) {
    let mut clean = log.clone();
    clean
        .events
        .retain(|e| !matches!(e, Event::ProtocolError { .. }));
    assert_eq!(protocol::check(&clean), vec![]);
}

#[test]
fn reclaim_of_a_main_phone_wrapper_or_after_a_refused_clone_is_reported() {
    let session = |sess, phone| Event::SessionOpen {
        sess,
        task: CLIENT,
        iface: chardev::iface(Style::Serialize),
        phone: PhoneId(phone),
        conn: C0,
    };
    let reclaim = |by| CacheOut::Reclaim { for_sess: S1, by };
    // Object 7 wraps the main phone of SERIALIZE session 0, which is still open.
    let log = T::new()
        .ev(session(S0, 0))
        .begin(0, 7, A, BeginHow::Wrapper)
        .end(0, 7, A)
        .cache_in(7)
        .clone_refused(B)
        .cache_out(7, reclaim(B))
        .cut();
    assert_eq!(
        accounting::check(&log),
        vec![Violation::ReclaimedMainPhone {
            obj: ObjId(7),
            phone: PhoneId(0),
            owner: S0,
        }]
    );
    // B's clone was answered ENOENT by the server, not refused for want of a phone.
    let log = T::new()
        .begin(0, 7, A, BeginHow::Cloned)
        .end(0, 7, A)
        .cache_in(7)
        .send(5, Method::CONNECT_ME_TO, None)
        .ev(Event::Send {
            call: CallId(6),
            fibril: B,
            phone: Some(PhoneId(3)),
            method: Method::CONNECT_ME_TO,
            tag: None,
        })
        .ev(Event::Answer {
            call: CallId(6),
            conn: None,
            retval: Some(Errno::Enoent),
            evidence: CallId(6),
            by: AnsweredBy::Kernel,
        })
        .cache_out(7, reclaim(B))
        .cut();
    assert_eq!(
        accounting::check(&log),
        vec![Violation::NeedlessReclaim {
            obj: ObjId(7),
            victim: S0,
            for_sess: S1,
            fibril: fref(B),
            error: Some(IpcError::NoInterface),
        }]
    );
}

// ---------------------------------------------------------------------------------------
// because

/// Exchange 0 of A on object 7 (conn 0) sends a read whose two calls stay unanswered, then
/// ends; exchange 1 of B reuses the object and sends its own read's first call.
fn reuse_behind_owed_calls(forget: bool) -> T {
    let (a0, a1, b0) = (
        tag(A, Some(0), 0, 0),
        tag(A, Some(0), 0, 1),
        tag(B, Some(1), 1, 0),
    );
    let mut t = T::new()
        .conn_open(C0, 0)
        .begin(0, 7, A, BeginHow::Cloned)
        .call(1, READ, a0, C0, P0)
        .call(2, DATA, a1, C0, P0);
    if forget {
        t = t
            .ev(Event::Forget {
                call: CallId(1),
                fibril: A,
            })
            .ev(Event::Forget {
                call: CallId(2),
                fibril: A,
            });
    }
    t.end(0, 7, A)
        .cache_in(7)
        .cache_out(7, CacheOut::Reuse)
        .begin(1, 7, B, BeginHow::Reused)
        .call(3, READ, b0, C0, P0)
}

fn deadlock_of_b() -> DeadlockReport {
    DeadlockReport {
        fibrils: vec![(
            B,
            "B".into(),
            Wait::Answer {
                call: CallId(3),
                method: READ,
                conn: Some(C0),
            },
        )],
        server: vec![trace::ServerWait {
            conn: C0,
            path: P0,
            what: "chardev data".into(),
        }],
        known: trace::Names {
            fibrils: [(A, "A".into()), (B, "B".into())].into(),
            ..Default::default()
        },
        ..DeadlockReport::default()
    }
}

#[test]
fn a_deadlock_behind_an_earlier_exchange_s_unanswered_calls_says_so() {
    let mut log = reuse_behind_owed_calls(false).cut();
    log.deadlock = Some(deadlock_of_b());
    let v = check::check(&log);
    let because: Vec<&Cause> = v.iter().flat_map(|v| v.because()).collect();
    assert_eq!(
        because,
        [&Cause::OwedAnswers {
            exch: ExchId(1),
            fibril: fref(B),
            conn: C0,
            earlier: ExchId(0),
            calls: vec![
                (CallId(1), READ, READ.to_string()),
                (CallId(2), DATA, DATA.to_string())
            ],
        }]
    );
    assert!(
        check::check(&log)[0].because().iter().any(|c| c
            .to_string()
            .starts_with("because exch1 of fibril B began on conn0")),
        "{v:?}"
    );
    // Once those calls were answered, they explain nothing.
    let mut log = reuse_behind_owed_calls(false).answer(1).answer(2).cut();
    log.deadlock = Some(deadlock_of_b());
    assert!(check::check(&log).iter().all(|v| v.because().is_empty()));
}

#[test]
fn a_protocol_error_on_a_cached_exchange_wedged_by_a_forgotten_call_says_so() {
    let log = reuse_behind_owed_calls(true)
        .ev(Event::ProtocolError {
            conn: C0,
            path: P0,
            call: CallId(3),
            method: READ,
            expected: "DATA_READ".into(),
        })
        .cut();
    let v = check::check(&log);
    let protocol = v
        .iter()
        .find(|v| v.checker() == Checker::Protocol)
        .unwrap_or_else(|| panic!("{v:?}"));
    assert_eq!(
        protocol.because(),
        [Cause::WedgedByForget {
            obj: ObjId(7),
            earlier: ExchId(0),
            call: CallId(1),
            method: READ,
            method_name: READ.to_string(),
            conn: C0,
            exch: ExchId(1),
            fibril: fref(B),
        }]
    );
}

#[test]
fn a_panic_after_a_begin_that_reclaimed_and_failed_says_so() {
    let log = T::new()
        .clone_refused(A)
        .cache_out(
            7,
            CacheOut::Reclaim {
                for_sess: S1,
                by: A,
            },
        )
        .ev(Event::BeginFail {
            fibril: A,
            sess: S1,
            error: IpcError::NoInterface,
        })
        .cut();
    let v = check::check_panicked(&log, "fibril A: begin failed".into(), None);
    let Some(Violation::Panic { because, .. }) = v.last() else {
        panic!("{v:?}")
    };
    assert_eq!(
        because,
        &[Cause::ReclaimedForFailedBegin {
            fibril: fref(A),
            sess: S1,
            obj: ObjId(7),
            victim: S0,
            error: IpcError::NoInterface,
        }]
    );
}

#[test]
fn a_panicked_execution_is_checked_and_its_findings_come_before_the_panic() {
    // The design note's mixed order, then the model panicked on the error it caused.
    let (a0, a1) = (tag(A, Some(0), 0, 0), tag(A, Some(0), 0, 1));
    let b0 = tag(B, Some(1), 1, 0);
    let log = T::new()
        .call(1, READ, a0, C0, P0)
        .call(2, READ, b0, C0, P0)
        .call(3, DATA, a1, C0, P0)
        .cut();
    let v = check::check_panicked(&log, "fibril B: EINVAL".into(), Some("m.rs:1:1".into()));
    let kinds: Vec<Checker> = v.iter().map(Violation::checker).collect();
    assert_eq!(kinds, [Checker::Mixing, Checker::Panic]);
    assert_eq!(v[1].to_string(), "[panic] fibril B: EINVAL (at m.rs:1:1)");
}

// ---------------------------------------------------------------------------------------
// all checkers

#[test]
fn a_deadlock_report_is_a_violation_and_silences_end_state_checks() {
    let report = DeadlockReport {
        fibrils: vec![(
            A,
            "A".into(),
            Wait::Answer {
                call: CallId(1),
                method: READ,
                conn: Some(C0),
            },
        )],
        server: vec![],
        // The report names the call's method through its connection's protocol.
        known: trace::Names::from_events(&[
            Event::TaskNew {
                task: TaskId(2),
                name: "dev".into(),
                phone_limit: 2,
                server: true,
            },
            Event::Serve {
                server: TaskId(2),
                protocol: chardev::PROTOCOL.info(),
            },
            Event::FibrilNew {
                fibril: A,
                task: CLIENT,
                name: "A".into(),
            },
            Event::ConnOpen {
                conn: C0,
                call: CallId(0),
                server: TaskId(2),
                client: CLIENT,
                phone: PhoneId(0),
                iface: chardev::iface(Style::Parallel),
            },
        ]),
        ..DeadlockReport::default()
    };
    let mut log = T::new()
        .phone_open(0, 1)
        .call(1, READ, tag(A, Some(0), 0, 0), C0, P0)
        .begin(0, 7, A, BeginHow::Cloned)
        .finished();
    log.deadlock = Some(report.clone());
    assert!(!check::completed(&log));
    let v = check::check(&log);
    assert_eq!(
        v,
        vec![Violation::Deadlock {
            report,
            because: Vec::new(),
        }]
    );
    assert_eq!(v[0].checker(), Checker::Deadlock);
    assert!(
        v[0].to_string()
            .contains("fibril A waits for the answer to call1 (CHARDEV_READ) on conn0 at dev"),
        "{}",
        v[0]
    );
}

#[test]
fn check_reports_every_checker_s_findings_in_the_fixed_order() {
    let (a0, b0) = (tag(A, Some(0), 0, 0), tag(B, Some(1), 1, 0));
    let log = T::new()
        .begin(0, 7, A, BeginHow::Wrapper)
        .begin(1, 7, B, BeginHow::Wrapper)
        .call(1, READ, a0, C0, P0)
        .call(2, READ, b0, C0, P0)
        .ev(Event::ProtocolError {
            conn: C0,
            path: P0,
            call: CallId(2),
            method: READ,
            expected: "DATA_READ".into(),
        })
        .answer(2)
        .answer(1)
        .call(3, DATA, tag(A, Some(0), 0, 1), C0, P0)
        .answer(3)
        .send(4, READ, Some(tag(B, Some(1), 2, 0)))
        .end(0, 7, A)
        .end(1, 7, B)
        .phone_open(0, 1)
        .finished();
    let kinds: Vec<Checker> = check::check(&log).iter().map(|v| v.checker()).collect();
    assert_eq!(
        kinds,
        [
            Checker::Mixing,
            Checker::Answers,
            Checker::Resources,
            Checker::Accounting,
            Checker::Protocol
        ]
    );
    assert!(check::completed(&log));
}

/// Two fibrils each reading from a PARALLEL session's device, through `client`: a correct
/// client begins an exchange, the naive one uses the session phone directly.
/// Fibrils A and B each do `reads` chardev reads on one PARALLEL session: in exchanges, or
/// (`naive`) on the session's phone with none.
#[derive(Clone)]
struct TwoReaders {
    naive: bool,
    reads: usize,
}

impl Model for TwoReaders {
    fn name(&self) -> String {
        format!("two-readers/naive={}", self.naive)
    }
    fn config(&self) -> KernelConfig {
        KernelConfig::default()
    }
    fn threads(&self) -> usize {
        3
    }
    fn run<P: Platform>(&self, k: &Kernel<P>) {
        let (naive, reads) = (self.naive, self.reads);
        let dev = k.server("dev", chardev::server(b"abcdefgh"));
        let client = k.task("client");
        let sess = Session::connect(&client, &dev, chardev::iface(Style::Parallel), 0, 0).unwrap();
        let fibrils: Vec<_> = ["A", "B"]
            .into_iter()
            .map(|name| {
                let s = sess.clone();
                client.spawn(name, move || {
                    for _ in 0..reads {
                        let r = if naive {
                            chardev::blocking::read(&s.raw_phone(), 8 / (2 * reads))
                        } else {
                            s.begin()
                                .and_then(|e| chardev::blocking::read(&e, 8 / (2 * reads)))
                        };
                        if !naive {
                            r.unwrap();
                        }
                    }
                })
            })
            .collect();
        for f in fibrils {
            f.join().unwrap();
        }
        sess.hangup().unwrap();
    }
}

/// The session's connection in `log`.
fn session_conn(log: &TraceLog) -> ConnId {
    log.events
        .iter()
        .find_map(|e| match e {
            Event::SessionOpen { conn, .. } => Some(*conn),
            _ => None,
        })
        .unwrap()
}

#[test]
fn every_checker_is_silent_on_a_correct_run() {
    // Correct in every interleaving: any schedule std threads take will do.
    let k = Kernel::<StdPlatform>::new(KernelConfig::default());
    TwoReaders {
        naive: false,
        reads: 1,
    }
    .run(&k);
    let log = k.finish();
    assert!(check::completed(&log));
    assert_eq!(check::check(&log), vec![]);
}

#[test]
fn concurrent_reads_on_a_raw_phone_are_caught_as_mixing_on_its_connection() {
    // The interleaving comes from a schedule: PCT with a fixed seed.
    let out = run_shuttle(
        &TwoReaders {
            naive: true,
            reads: 4,
        },
        &Scheduler::Pct {
            seed: 0,
            depth: 3,
            iterations: 1000,
        },
        TraceLevel::Full,
    );
    let log = out.finding.expect("PCT mixes the two fibrils' reads").trace;
    let conn = session_conn(&log);
    let v = check::check(&log);
    let mixed: Vec<_> = v
        .iter()
        .filter_map(|v| match v {
            Violation::Mixing {
                conn,
                before,
                intruder,
                after,
                ..
            } => Some((*conn, before, intruder, after)),
            _ => None,
        })
        .collect();
    assert!(!mixed.is_empty(), "{v:?}");
    // Operations are the chardev reads the two fibrils started.
    let read_of = |op: OpId| {
        log.events.iter().find_map(|e| match e {
            Event::OpStart {
                op: o,
                fibril,
                name,
                ..
            } if *o == op && name == "chardev.read" => Some(*fibril),
            _ => None,
        })
    };
    let mut fibrils = std::collections::BTreeSet::new();
    for (c, before, intruder, after) in mixed {
        assert_eq!(c, conn, "{v:?}");
        // The interrupted operation is one fibril's read, the intruder the other fibril's.
        assert_eq!(before.op, after.op);
        assert_eq!((before.fibril.id, before.exch), (after.fibril.id, None));
        assert_ne!(before.fibril, intruder.fibril);
        assert_eq!(read_of(before.op), Some(before.fibril.id));
        assert_eq!(read_of(intruder.op), Some(intruder.fibril.id));
        fibrils.extend([before.fibril.name.clone(), intruder.fibril.name.clone()]);
    }
    assert_eq!(fibrils.into_iter().collect::<Vec<_>>(), ["A", "B"], "{v:?}");
    // The server's complaint is reported too, after the mixing, naming a sender.
    assert!(
        v.iter().any(|v| matches!(
            v,
            Violation::Protocol { conn: c, sender: Some(_), .. } if *c == conn
        )),
        "{v:?}"
    );
    assert!(check::completed(&log));
}
