//! The design note's "before" picture under shuttle: two fibrils call chardev `read` on one
//! phone with no exchange, and the server sees their calls mixed as the note predicts.
#![cfg(not(loom))]

use sessions_core::proto::chardev;
use sessions_core::sync::{Platform, ShuttlePlatform};
use sessions_core::{Event, Kernel, KernelConfig, Method, Session, Style, TraceLog};

/// The naive client: A and B each run `chardev::read` on the session's raw phone.
fn naive<P: Platform>() -> TraceLog {
    let k = Kernel::<P>::new(KernelConfig::default());
    let dev = k.server("dev", chardev::server(b"abcdefgh"));
    let client = k.task("client");
    let sess = Session::connect(&client, &dev, chardev::iface(Style::Serialize), 0, 0).unwrap();
    let fibrils: Vec<_> = ["A", "B"]
        .into_iter()
        .map(|name| {
            let s = sess.clone();
            client.spawn(name, move || chardev::blocking::read(&s.raw_phone(), 4))
        })
        .collect();
    for f in fibrils {
        let _ = f.join().unwrap();
    }
    sess.hangup().unwrap();
    k.finish()
}

/// What the server's one connection saw, as (fibril name, method), from the trace.
fn arrivals(log: &TraceLog) -> Vec<(String, Method)> {
    let name = |f| {
        log.events
            .iter()
            .find_map(|e| match e {
                Event::FibrilNew { fibril, name, .. } if *fibril == f => Some(name.clone()),
                _ => None,
            })
            .unwrap()
    };
    log.events
        .iter()
        .filter_map(|e| match e {
            Event::Arrive {
                tag: Some(t),
                method,
                ..
            } => Some((name(t.fibril), *method)),
            _ => None,
        })
        .collect()
}

#[test]
fn naive_client_on_shuttle_shows_the_mixed_order_ar1_br1_ar2_br2() {
    let (r, d) = (chardev::READ, Method::DATA_READ);
    let predicted: Vec<(String, Method)> = vec![
        ("A".into(), r),
        ("B".into(), r),
        ("A".into(), d),
        ("B".into(), d),
    ];
    // One shuttle execution per seed; the note's order shows up within a few seeds. Shuttle runs
    // an execution on the calling thread, so a thread-local carries its trace out.
    std::thread_local! {
        static LAST: std::cell::RefCell<Option<TraceLog>> = const { std::cell::RefCell::new(None) };
    }
    let mut found = None;
    for seed in 0..200u64 {
        shuttle::check_random_with_seed(
            || LAST.with(|l| *l.borrow_mut() = Some(naive::<ShuttlePlatform>())),
            seed,
            1,
        );
        let log = LAST
            .with(|l| l.borrow_mut().take())
            .expect("the execution ran");
        if arrivals(&log) == predicted {
            found = Some((seed, log));
            break;
        }
    }
    let (seed, log) = found.expect("no seed in 0..200 produced (AR1, BR1, AR2, BR2)");
    // The chardev server took BR1 as AR1's data call and said so; then both data reads came
    // where it expected a new request.
    let errors: Vec<(String, Method)> = log
        .events
        .iter()
        .filter_map(|e| match e {
            Event::ProtocolError {
                method, expected, ..
            } => Some((expected.clone(), *method)),
            _ => None,
        })
        .collect();
    assert_eq!(
        errors[0],
        ("DATA_READ".to_string(), r),
        "seed {seed}: {errors:?}"
    );
    assert_eq!(errors.len(), 3, "seed {seed}: {errors:?}");
}
