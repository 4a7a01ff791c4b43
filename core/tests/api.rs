//! The public vocabulary as users read it: names, messages and debug texts of the types they
//! print, configuration checks, and the data-transfer calls used raw.

mod common;

use common::{connect, hangup, kernel};
use sessions_core::proto::chardev;
use sessions_core::{
    Aborted, Bug, ConfigError, Errno, Event, HangupError, Ipc, IpcError, KernelConfig, Method,
    Style,
};

#[test]
fn a_configuration_with_a_zero_limit_is_refused_and_says_which() {
    assert_eq!(KernelConfig::default().validate(), Ok(()));
    for (field, cfg) in [
        (
            "phone_limit",
            KernelConfig {
                phone_limit: 0,
                ..KernelConfig::default()
            },
        ),
        (
            "call_limit",
            KernelConfig {
                call_limit: 0,
                ..KernelConfig::default()
            },
        ),
        (
            "path_limit",
            KernelConfig {
                path_limit: 0,
                ..KernelConfig::default()
            },
        ),
    ] {
        let e = cfg.validate().unwrap_err();
        assert_eq!(e, ConfigError::ZeroLimit(field));
        assert_eq!(e.to_string(), format!("{field} must be at least 1"));
    }
    let with_bug = KernelConfig {
        bug: Some(Bug::LostWakeup),
        ..KernelConfig::default()
    };
    // Whether a bug may be injected depends on the `bugs` feature this build has.
    if Bug::COMPILED {
        assert_eq!(with_bug.validate(), Ok(()));
    } else {
        let e = with_bug.validate().unwrap_err();
        assert_eq!(e, ConfigError::BugsNotCompiled);
        assert!(e.to_string().contains("`bugs` feature"), "{e}");
    }
}

#[test]
fn every_bug_has_a_distinct_kebab_case_name_that_parses_back() {
    let mut names: Vec<&str> = Bug::ALL.iter().map(|b| b.name()).collect();
    for bug in Bug::ALL {
        assert_eq!(bug.to_string(), bug.name());
        assert_eq!(bug.name().parse::<Bug>(), Ok(bug));
        assert!(bug
            .name()
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '-'));
    }
    assert_eq!(Bug::SerializeNoLock.name(), "serialize-no-lock");
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), Bug::ALL.len());
    let e = "gremlins".parse::<Bug>().unwrap_err();
    assert!(
        e.starts_with("unknown bug `gremlins` (known: serialize-no-lock, "),
        "{e}"
    );
}

#[test]
fn errors_say_what_happened_and_which_errno_a_helenos_caller_sees() {
    assert_eq!(Errno::Elimit.name(), "ELIMIT");
    assert_eq!(Errno::Ehangup.to_string(), "EHANGUP");
    for (e, text) in [
        (
            IpcError::PhoneLimit,
            "the task's phone table is full (ELIMIT)",
        ),
        (
            IpcError::CallLimit,
            "the phone has too many unanswered calls (ELIMIT)",
        ),
        (
            IpcError::Slammed,
            "the server closed the connection (ENOENT)",
        ),
        (IpcError::SessionClosed, "the session was hung up (EHANGUP)"),
        (
            IpcError::Broken,
            "the session's phone was closed after an operation on it was cut short (EIO)",
        ),
        (
            IpcError::Remote(Errno::Einval),
            "the server answered EINVAL",
        ),
    ] {
        assert_eq!(e.to_string(), text);
        assert!(text.contains(e.errno().name()), "{text}");
    }
    let refused = HangupError {
        session: (),
        error: IpcError::Busy,
    };
    assert_eq!(
        refused.to_string(),
        "hangup refused: the session has active exchanges (EBUSY)"
    );
    assert_eq!(
        Aborted.to_string(),
        "sessions: another fibril panicked first; this one stops"
    );
}

#[test]
fn debug_texts_name_the_objects_by_their_ids() {
    let k = kernel();
    assert_eq!(format!("{k:?}"), "Kernel<std>");
    let dev = k.server("dev", chardev::server(b"abcdefgh"));
    let client = k.task("client");
    assert_eq!(format!("{client:?}"), format!("Task({})", client.id()));
    let sess = connect(&client, &dev, Style::Parallel);
    assert_eq!(
        format!("{sess:?}"),
        format!("Session({}, parallel)", sess.id())
    );
    let exch = sess.begin().unwrap();
    assert_eq!(format!("{exch:?}"), format!("Exchange({})", exch.id()));
    let aid = exch.send(chardev::READ, &[4]).unwrap();
    assert_eq!(format!("{aid:?}"), format!("Aid({})", aid.call()));
    // The data call goes raw: `data_read_start` brings the bytes back.
    assert_eq!(exch.data_read_start(4).unwrap(), b"abcd");
    assert_eq!(aid.wait_for().unwrap().args[0], 4);
    exch.end();
    let raw = sess.raw_phone();
    assert!(format!("{raw:?}").starts_with("RawPhone(Port("), "{raw:?}");
    drop(raw);
    assert_eq!(Method::DATA_READ.to_string(), "DATA_READ");
    let f = client.spawn("F", || 1);
    assert_eq!(format!("{f:?}"), format!("Fibril({})", f.id()));
    assert_eq!(f.join().ok(), Some(1));
    hangup(sess);
    k.finish();
}

#[test]
fn chardev_names_its_methods_and_its_stubs_return_what_the_server_did() {
    // The wire numbers are the protocol's: a server built elsewhere must agree on them.
    assert_eq!(
        [chardev::READ, chardev::WRITE, chardev::CLOSE].map(|m| m.0),
        [
            Method::FIRST_USER,
            Method::FIRST_USER + 1,
            Method::FIRST_USER + 2
        ]
    );
    // The names are the protocol's; a bare number names no protocol.
    assert_eq!(
        chardev::PROTOCOL.method_name(chardev::READ),
        Some("CHARDEV_READ")
    );
    assert_eq!(
        chardev::PROTOCOL.method_name(chardev::WRITE),
        Some("CHARDEV_WRITE")
    );
    assert_eq!(
        chardev::PROTOCOL.method_name(chardev::CLOSE),
        Some("CHARDEV_CLOSE")
    );
    assert_eq!(chardev::PROTOCOL.method_name(Method::DATA_READ), None);
    assert_eq!(chardev::READ.to_string(), "M1024");
    let names = sessions_core::trace::Names::from_events(&[Event::Serve {
        server: sessions_core::TaskId(1),
        protocol: chardev::PROTOCOL.info(),
    }]);
    assert_eq!(
        names.iface(chardev::iface(Style::Parallel)),
        "chardev/parallel"
    );
    let k = kernel();
    let dev = k.server("dev", chardev::server(b"abcdefgh"));
    let client = k.task("client");
    let sess = connect(&client, &dev, Style::Parallel);
    // read_short ends the exchange before its last answer, and still returns the bytes.
    assert_eq!(
        chardev::blocking::read_short(sess.begin().unwrap(), 4).unwrap(),
        b"abcd"
    );
    assert_eq!(
        chardev::blocking::write(&sess.begin().unwrap(), b"xy").unwrap(),
        2
    );
    // close is answered, then the server hangs up its side: the connection takes no more.
    let exch = sess.begin().unwrap();
    assert_eq!(chardev::blocking::close(&exch), Ok(()));
    let after = chardev::blocking::read(&exch, 2).unwrap_err();
    assert!(
        matches!(after, IpcError::Hangup | IpcError::Slammed),
        "{after:?}"
    );
    exch.end();
    hangup(sess);
    k.finish();
}

#[test]
fn styles_and_interfaces_keep_their_bits_and_names() {
    for style in Style::ALL {
        assert_eq!(Style::from_bits(style.bits()), style);
        assert_eq!(style.name().parse::<Style>(), Ok(style));
        assert_eq!(style.to_string(), style.name());
        let iface = sessions_core::Iface::new(7, style);
        assert_eq!((iface.protocol(), iface.style()), (7, style));
        assert_eq!(iface.to_string(), format!("protocol7/{style}"));
    }
    assert_eq!(Style::Serialize.bits(), 1);
    assert_eq!(Style::Parallel.bits(), 2);
    let e = "sideways".parse::<Style>().unwrap_err();
    assert!(e.starts_with("unknown exchange style `sideways`"), "{e}");
}
