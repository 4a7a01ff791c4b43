//! Each checker fed known-bad traces, built by hand, asserting on what it reports; and a good
//! trace of a real run, on which every checker is silent.
#![cfg(not(loom))]

use sessions_core::trace::{
    AnsweredBy, BeginHow, CacheOut, CloseBy, DeadlockReport, Finish, PhoneClose, Wait,
};
use sessions_core::*;
use sessions_models::check::{self, accounting, answers, mixing, protocol, resources};
use sessions_models::violation::Leak;
use sessions_models::{Checker, Violation};

const READ: Method = proto::chardev::READ;
const A: FibrilId = FibrilId(1);
const B: FibrilId = FibrilId(2);
const C0: ConnId = ConnId(0);

/// A trace under construction: fibrils A and B of task 1, connection 0 on phone 0.
struct T(Vec<Event>);

impl T {
    fn new() -> Self {
        T(vec![
            Event::TaskNew {
                task: TaskId(1),
                name: "client".into(),
                phone_limit: 2,
                server: false,
            },
            Event::FibrilNew {
                fibril: A,
                task: TaskId(1),
                name: "A".into(),
            },
            Event::FibrilNew {
                fibril: B,
                task: TaskId(1),
                name: "B".into(),
            },
        ])
    }
    fn tag(f: FibrilId, exch: Option<u32>, op: u32, step: u32) -> Tag {
        Tag {
            fibril: f,
            sess: Some(SessId(0)),
            exch: exch.map(ExchId),
            op: OpId(op),
            step,
        }
    }
    /// A tagged call sent and arriving at `conn`/`path`.
    fn call(mut self, call: u32, method: Method, tag: Tag, conn: ConnId, path: u32) -> Self {
        let c = CallId(call);
        self.0.push(Event::Send {
            call: c,
            fibril: tag.fibril,
            phone: Some(PhoneId(0)),
            method,
            tag: Some(tag),
        });
        self.0.push(Event::Arrive {
            conn,
            path: PathId(path),
            call: c,
            method,
            tag: Some(tag),
        });
        self
    }
    fn answer(mut self, call: u32) -> Self {
        let c = CallId(call);
        self.0.push(Event::Answer {
            call: c,
            conn: Some(C0),
            retval: None,
            evidence: c,
            by: AnsweredBy::Server,
        });
        self
    }
    fn receive(mut self, call: u32, fibril: FibrilId, evidence: u32) -> Self {
        self.0.push(Event::Receive {
            call: CallId(call),
            fibril,
            retval: None,
            evidence: CallId(evidence),
        });
        self
    }
    fn ev(mut self, e: Event) -> Self {
        self.0.push(e);
        self
    }
    fn finished(mut self) -> TraceLog {
        self.0.push(Event::Finish(Finish::default()));
        TraceLog {
            events: self.0,
            deadlock: None,
        }
    }
    fn cut(self) -> TraceLog {
        TraceLog {
            events: self.0,
            deadlock: None,
        }
    }
}

#[test]
fn foreign_call_between_two_calls_of_an_operation_is_mixing() {
    let log = T::new()
        .call(1, READ, T::tag(A, Some(0), 0, 0), C0, 0)
        .call(2, READ, T::tag(B, Some(1), 1, 0), C0, 0)
        .call(3, Method::DATA_READ, T::tag(A, Some(0), 0, 1), C0, 0)
        .call(4, Method::DATA_READ, T::tag(B, Some(1), 1, 1), C0, 0)
        .cut();
    let v = mixing::check(&log);
    // Both operations were interrupted: A's by B's first call, B's by A's second.
    assert_eq!(v.len(), 2, "{v:?}");
    let Violation::Mixing {
        conn,
        before,
        intruder,
        after,
        ..
    } = &v[0]
    else {
        panic!("{v:?}")
    };
    assert_eq!(*conn, C0);
    assert_eq!(
        (before.call, intruder.call, after.call),
        (CallId(1), CallId(2), CallId(3))
    );
    assert_eq!(
        (before.fibril.name.as_str(), intruder.fibril.name.as_str()),
        ("A", "B")
    );
    assert_eq!(
        (before.exch, intruder.exch),
        (Some(ExchId(0)), Some(ExchId(1)))
    );
    let Violation::Mixing {
        before,
        intruder,
        after,
        ..
    } = &v[1]
    else {
        panic!("{v:?}")
    };
    assert_eq!(
        (before.call, intruder.call, after.call),
        (CallId(2), CallId(3), CallId(4))
    );
}

#[test]
fn contiguous_operations_on_separate_connections_are_not_mixing() {
    let log = T::new()
        .call(1, READ, T::tag(A, Some(0), 0, 0), C0, 0)
        .call(2, READ, T::tag(B, Some(1), 1, 0), ConnId(1), 0)
        .call(3, Method::DATA_READ, T::tag(A, Some(0), 0, 1), C0, 0)
        .call(4, Method::DATA_READ, T::tag(B, Some(1), 1, 1), ConnId(1), 0)
        .cut();
    assert_eq!(mixing::check(&log), vec![]);
}

#[test]
fn calls_of_an_operation_out_of_send_order_are_reported() {
    let log = T::new()
        .call(2, Method::DATA_READ, T::tag(A, Some(0), 0, 1), C0, 0)
        .call(1, READ, T::tag(A, Some(0), 0, 0), C0, 0)
        .cut();
    let v = mixing::check(&log);
    assert!(
        matches!(&v[..], [Violation::OutOfOrder { call, expected_step: 2, .. }] if call.call == CallId(1)),
        "{v:?}"
    );
}

#[test]
fn a_path_carrying_a_second_exchange_before_it_was_freed_is_reported() {
    let begin = |exch, fibril, path| Event::ExchBegin {
        exch: ExchId(exch),
        sess: SessId(0),
        fibril,
        obj: ObjId(exch),
        phone: PhoneId(0),
        how: BeginHow::Path(PathId(path)),
    };
    let log = T::new()
        .ev(begin(0, A, 1))
        .ev(Event::PathOpen {
            conn: C0,
            path: PathId(1),
        })
        .call(1, READ, T::tag(A, Some(0), 0, 0), C0, 1)
        .ev(begin(1, B, 1))
        .call(2, proto::chardev::WRITE, T::tag(B, Some(1), 1, 0), C0, 1)
        .cut();
    let v = mixing::check(&log);
    assert!(
        matches!(&v[..], [Violation::PathReused { conn: C0, path: PathId(1), first: ExchId(0), intruder }] if intruder.call == CallId(2)),
        "{v:?}"
    );
    // After the server freed the path, the same id may carry another exchange.
    let log = T::new()
        .ev(begin(0, A, 1))
        .ev(Event::PathOpen {
            conn: C0,
            path: PathId(1),
        })
        .call(1, READ, T::tag(A, Some(0), 0, 0), C0, 1)
        .ev(Event::PathClose {
            conn: C0,
            path: PathId(1),
        })
        .ev(begin(1, B, 1))
        .ev(Event::PathOpen {
            conn: C0,
            path: PathId(1),
        })
        .call(2, READ, T::tag(B, Some(1), 1, 0), C0, 1)
        .cut();
    assert_eq!(mixing::check(&log), vec![]);
}

#[test]
fn a_call_reaching_another_path_than_its_exchange_s_is_misrouted() {
    let log = T::new()
        .ev(Event::ExchBegin {
            exch: ExchId(0),
            sess: SessId(0),
            fibril: A,
            obj: ObjId(0),
            phone: PhoneId(0),
            how: BeginHow::Path(PathId(2)),
        })
        .call(1, READ, T::tag(A, Some(0), 0, 0), C0, 1)
        .cut();
    let v = mixing::check(&log);
    assert!(
        matches!(
            &v[..],
            [Violation::Misrouted {
                path: PathId(1),
                expected: PathId(2),
                ..
            }]
        ),
        "{v:?}"
    );
}

#[test]
fn an_answer_taken_by_another_fibril_or_for_another_call_is_crossed() {
    let log = T::new()
        .call(1, READ, T::tag(A, Some(0), 0, 0), C0, 0)
        .call(2, READ, T::tag(B, Some(1), 1, 0), C0, 0)
        .answer(1)
        .answer(2)
        .receive(1, B, 1)
        .receive(2, B, 1)
        .finished();
    let v = answers::check(&log);
    assert_eq!(v.len(), 2, "{v:?}");
    assert!(
        matches!(&v[0], Violation::CrossedAnswer { call: CallId(1), receiver, sender, evidence: CallId(1) }
            if receiver.name == "B" && sender.name == "A"),
        "{v:?}"
    );
    assert!(
        matches!(
            &v[1],
            Violation::CrossedAnswer {
                call: CallId(2),
                evidence: CallId(1),
                ..
            }
        ),
        "{v:?}"
    );
}

#[test]
fn a_call_never_answered_or_answered_twice_is_reported() {
    let log = T::new()
        .call(1, READ, T::tag(A, Some(0), 0, 0), C0, 0)
        .call(2, READ, T::tag(B, Some(1), 1, 0), C0, 0)
        .answer(2)
        .answer(2)
        .finished();
    let v = answers::check(&log);
    assert!(
        matches!(&v[..], [Violation::Unanswered { call: CallId(1), fibril, .. }, Violation::AnsweredTwice { call: CallId(2), answers: 2, .. }]
            if fibril.name == "A"),
        "{v:?}"
    );
    // A trace cut short (a deadlock) is not blamed for the answers it never got to.
    let cut = TraceLog {
        events: log.events[..log.events.len() - 1].to_vec(),
        deadlock: None,
    };
    assert!(answers::check(&cut)
        .iter()
        .all(|v| !matches!(v, Violation::Unanswered { .. })));
}

fn phone_open(phone: u32, open: u32) -> Event {
    Event::PhoneOpen {
        task: TaskId(1),
        phone: PhoneId(phone),
        open,
    }
}

#[test]
fn phones_above_the_task_limit_are_reported() {
    let log = T::new()
        .ev(phone_open(0, 1))
        .ev(phone_open(1, 2))
        .ev(phone_open(2, 3))
        .cut();
    let v = resources::check(&log);
    assert_eq!(
        v,
        vec![Violation::PhoneLimit {
            task: TaskId(1),
            open: 3,
            limit: 2
        }]
    );
}

#[test]
fn leftovers_after_the_end_are_leaks() {
    let log = T::new()
        .ev(phone_open(0, 1))
        .ev(Event::ConnOpen {
            conn: C0,
            call: CallId(0),
            server: TaskId(2),
            client: TaskId(1),
            phone: PhoneId(0),
            iface: proto::chardev::iface(Style::Parallel),
        })
        .ev(Event::SessionOpen {
            sess: SessId(0),
            task: TaskId(1),
            iface: proto::chardev::iface(Style::Parallel),
            phone: PhoneId(0),
            conn: C0,
        })
        .ev(Event::CacheIn {
            obj: ObjId(3),
            sess: SessId(0),
        })
        .finished();
    let v = resources::check(&log);
    assert_eq!(
        v,
        vec![
            Violation::Leak(Leak::Phones {
                task: TaskId(1),
                open: 1
            }),
            Violation::Leak(Leak::Conn { conn: C0 }),
            Violation::Leak(Leak::Cached { obj: ObjId(3) }),
            Violation::Leak(Leak::Session { sess: SessId(0) }),
        ]
    );
}

#[test]
fn a_call_after_hangup_and_a_missing_hangup_are_reported() {
    let open = |conn: u32, phone: u32| Event::ConnOpen {
        conn: ConnId(conn),
        call: CallId(0),
        server: TaskId(2),
        client: TaskId(1),
        phone: PhoneId(phone),
        iface: proto::chardev::iface(Style::Parallel),
    };
    let hangup = |call: u32, conn: u32| Event::Arrive {
        conn: ConnId(conn),
        path: PathId(0),
        call: CallId(call),
        method: Method::HANGUP,
        tag: None,
    };
    let close = |phone: u32| Event::PhoneClose {
        task: TaskId(1),
        phone: PhoneId(phone),
        open: 0,
        why: PhoneClose::Hangup,
    };
    let log = T::new()
        .ev(open(0, 0))
        .ev(open(1, 1))
        .ev(hangup(5, 0))
        .call(6, READ, T::tag(A, Some(0), 0, 0), C0, 0)
        .ev(close(0))
        .ev(Event::ConnClose {
            conn: C0,
            by: CloseBy::Client,
        })
        .ev(close(1))
        .finished();
    let v = resources::check(&log);
    assert!(
        v.contains(&Violation::HangupNotLast {
            conn: C0,
            after: Some(CallId(6))
        }),
        "{v:?}"
    );
    // conn1's phone was closed with no HANGUP ever reaching it, and it stays open.
    assert!(
        v.contains(&Violation::HangupNotLast {
            conn: ConnId(1),
            after: None
        }),
        "{v:?}"
    );
    assert!(
        v.contains(&Violation::Leak(Leak::Conn { conn: ConnId(1) })),
        "{v:?}"
    );
}

fn begin(exch: u32, obj: u32, fibril: FibrilId) -> Event {
    Event::ExchBegin {
        exch: ExchId(exch),
        sess: SessId(0),
        fibril,
        obj: ObjId(obj),
        phone: PhoneId(obj),
        how: BeginHow::Reused,
    }
}

fn end(exch: u32, obj: u32, fibril: FibrilId) -> Event {
    Event::ExchEnd {
        exch: ExchId(exch),
        obj: ObjId(obj),
        fibril,
    }
}

#[test]
fn an_exchange_object_used_twice_or_while_cached_is_reported() {
    // Two active exchanges on one object.
    let log = T::new()
        .ev(begin(0, 7, A))
        .ev(begin(1, 7, B))
        .ev(end(0, 7, A))
        .ev(end(1, 7, B))
        .finished();
    assert_eq!(
        accounting::check(&log),
        vec![Violation::CachedInUse {
            obj: ObjId(7),
            exch: ExchId(0),
            sess: SessId(0)
        }]
    );
    // An object cached while its exchange still runs.
    let log = T::new()
        .ev(begin(0, 7, A))
        .ev(Event::CacheIn {
            obj: ObjId(7),
            sess: SessId(0),
        })
        .ev(end(0, 7, A))
        .finished();
    assert_eq!(
        accounting::check(&log),
        vec![Violation::CachedInUse {
            obj: ObjId(7),
            exch: ExchId(0),
            sess: SessId(0)
        }]
    );
}

#[test]
fn reclaim_of_an_active_exchange_and_unbalanced_ends_are_reported() {
    let log = T::new()
        .ev(begin(0, 7, A))
        .ev(Event::CacheOut {
            obj: ObjId(7),
            sess: SessId(0),
            why: CacheOut::Reclaim {
                for_sess: SessId(1),
            },
        })
        .ev(end(0, 7, A))
        .ev(end(0, 7, A))
        .ev(begin(1, 8, B))
        .finished();
    let v = accounting::check(&log);
    assert_eq!(
        v,
        vec![
            Violation::ReclaimedActive {
                obj: ObjId(7),
                exch: ExchId(0)
            },
            Violation::EndedTwice { exch: ExchId(0) },
            Violation::NotEnded {
                exch: ExchId(1),
                fibril: sessions_models::violation::FibrilRef {
                    id: B,
                    name: "B".into()
                }
            },
        ]
    );
}

#[test]
fn protocol_errors_name_the_offending_call_and_its_sender() {
    let log = T::new()
        .call(1, READ, T::tag(B, Some(1), 1, 0), C0, 0)
        .ev(Event::ProtocolError {
            conn: C0,
            path: PathId(0),
            call: CallId(1),
            method: READ,
            expected: "DATA_READ".into(),
        })
        .cut();
    let v = protocol::check(&log);
    assert!(
        matches!(&v[..], [Violation::Protocol { call: CallId(1), expected, sender: Some(s), .. }] if expected == "DATA_READ" && s.name == "B"),
        "{v:?}"
    );
}

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
        names: vec![(A, "A".into())],
    };
    let mut log = T::new()
        .call(1, READ, T::tag(A, Some(0), 0, 0), C0, 0)
        .ev(begin(0, 7, A))
        .finished();
    log.deadlock = Some(report.clone());
    let v = check::check(&log);
    assert_eq!(v, vec![Violation::Deadlock { report }]);
    assert_eq!(v[0].checker(), Checker::Deadlock);
    assert!(
        v[0].to_string()
            .contains("fibril A waits for the answer to call1 (CHARDEV_READ) on conn0"),
        "{}",
        v[0]
    );
}

#[test]
fn every_checker_is_silent_on_a_correct_run() {
    use sessions_core::sync::StdPlatform;
    let k = Kernel::<StdPlatform>::new(KernelConfig::default());
    let dev = k.server("dev", proto::chardev::server(b"abcdefgh"));
    let client = k.task("client");
    let sess =
        Session::connect(&client, &dev, proto::chardev::iface(Style::Parallel), 0, 0).unwrap();
    let fibrils: Vec<_> = ["A", "B"]
        .into_iter()
        .map(|n| {
            let s = sess.clone();
            client.spawn(n, move || {
                let e = s.begin()?;
                proto::chardev::read(&e, 4)
            })
        })
        .collect();
    for f in fibrils {
        f.join().unwrap().unwrap();
    }
    sess.hangup().unwrap();
    let log = k.finish();
    assert!(check::completed(&log));
    assert_eq!(check::check(&log), vec![]);
}
