//! Tests of the trace renderers on real traces of the built-in models.
#![cfg(not(loom))]

use sessions_core::{CallId, Event, Method, Style, TraceLevel, TraceLog};
use sessions_models::violation::{CallRef, FibrilRef};
use sessions_models::{driver, Builtin, BuiltinModel, Scheduler, Violation};
use sessions_scenarios::render::{render, Diagram, Format, LaneKind, MessageKind, RowKind};

/// The first execution shuttle's DFS explores: the same trace on every run.
fn dfs_first(m: Builtin) -> TraceLog {
    let out = driver::run_shuttle(
        &BuiltinModel::from(m),
        &Scheduler::Dfs {
            max_iterations: Some(1),
        },
        TraceLevel::Full,
    );
    out.finding
        .map(|f| f.trace)
        .or(out.last_trace)
        .expect("a trace")
}

/// The seed example: fibrils A and B each do one chardev read on a PARALLEL session.
fn seed_trace() -> TraceLog {
    dfs_first(Builtin::SeedRead {
        style: Style::Parallel,
        reads: 1,
    })
}

/// The arrivals of calls that carry a ghost tag: (call, fibril of the tag, op, step).
fn tagged_arrivals(log: &TraceLog) -> Vec<(CallId, u32, u32, u32)> {
    log.events
        .iter()
        .filter_map(|e| match e {
            Event::Arrive {
                call, tag: Some(t), ..
            } => Some((*call, t.fibril.0, t.op.0, t.step)),
            _ => None,
        })
        .collect()
}

/// A naive-phone trace in which the server saw the two reads mixed, (AR1, BR1, AR2, BR2) or
/// similar: the first random schedule (by seed) that produces one. Deterministic.
fn naive_mixed() -> TraceLog {
    let m = BuiltinModel::from(Builtin::NaivePhone);
    for seed in 0..500 {
        let out = driver::run_shuttle(
            &m,
            &Scheduler::Random {
                seed,
                iterations: 1,
            },
            TraceLevel::Full,
        );
        let log = out
            .finding
            .map(|f| f.trace)
            .or(out.last_trace)
            .expect("a trace");
        let arr = tagged_arrivals(&log);
        if arr.len() == 4 && arr[0].2 != arr[1].2 {
            return log;
        }
    }
    panic!("no random schedule of naive-phone mixed the reads");
}

/// A mixing violation naming the calls of `log`'s first interleaving, built by hand (the
/// checkers are not needed for the renderers).
fn mixing_violation(log: &TraceLog) -> Violation {
    let names: Vec<(u32, String)> = log
        .events
        .iter()
        .filter_map(|e| match e {
            Event::FibrilNew { fibril, name, .. } => Some((fibril.0, name.clone())),
            _ => None,
        })
        .collect();
    let refs: Vec<CallRef> = log
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Arrive {
                call,
                method,
                tag: Some(t),
                ..
            } => Some(CallRef {
                call: *call,
                method: *method,
                method_name: "CHARDEV_READ or DATA_READ".into(),
                fibril: FibrilRef {
                    id: t.fibril,
                    name: names
                        .iter()
                        .find(|(f, _)| *f == t.fibril.0)
                        .unwrap()
                        .1
                        .clone(),
                    handler: false,
                },
                exch: t.exch,
                op: t.op,
                step: t.step,
            }),
            _ => None,
        })
        .collect();
    let before = refs[0].clone();
    let intruder = refs.iter().find(|r| r.op != before.op).unwrap().clone();
    let after = refs
        .iter()
        .find(|r| r.op == before.op && r.step == 1)
        .unwrap()
        .clone();
    let conn = log
        .events
        .iter()
        .find_map(|e| match e {
            Event::Arrive { conn, call, .. } if *call == before.call => Some(*conn),
            _ => None,
        })
        .unwrap();
    Violation::Mixing {
        conn,
        path: sessions_core::PathId::CONN,
        before,
        intruder,
        after,
    }
}

/// Checks that every tag is closed in the right order and that the root is an `<svg>` with a
/// width and a height.
fn assert_well_formed_svg(svg: &str) {
    let start = svg.find("<svg").expect("an <svg> element");
    let root_end = svg[start..].find('>').unwrap() + start;
    let root = &svg[start..root_end];
    assert!(
        root.contains("xmlns=\"http://www.w3.org/2000/svg\""),
        "{root}"
    );
    assert!(
        root.contains(" width=\"") && root.contains(" height=\""),
        "{root}"
    );
    let mut stack: Vec<String> = Vec::new();
    let mut rest = &svg[start..];
    while let Some(open) = rest.find('<') {
        let close = rest[open..].find('>').expect("unterminated tag") + open;
        let tag = &rest[open + 1..close];
        assert!(!tag.contains('<'), "`<` inside a tag: {tag}");
        if let Some(name) = tag.strip_prefix('/') {
            let top = stack
                .pop()
                .unwrap_or_else(|| panic!("</{name}> closes nothing"));
            assert_eq!(top, name.trim(), "mismatched closing tag");
        } else if !tag.ends_with('/') {
            let name = tag.split_whitespace().next().unwrap().to_string();
            stack.push(name);
        }
        rest = &rest[close + 1..];
        // Text between tags must not hold a raw `&` that starts no entity.
        let text = &rest[..rest.find('<').unwrap_or(rest.len())];
        for (i, _) in text.match_indices('&') {
            let ent = &text[i..text[i..].find(';').map_or(text.len(), |e| e + i + 1)];
            assert!(
                ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"].contains(&ent),
                "unescaped `&` in text: {text}"
            );
        }
        if stack.is_empty() {
            break;
        }
    }
    assert!(stack.is_empty(), "unclosed tags: {stack:?}");
}

#[test]
fn formats_parse_and_display() {
    for f in Format::ALL {
        assert_eq!(f.to_string().parse::<Format>(), Ok(f));
    }
    assert_eq!("svg".parse::<Format>(), Ok(Format::Svg));
    let err = "png".parse::<Format>().unwrap_err();
    assert!(
        err.contains("png") && err.contains("text, mermaid, svg or html"),
        "{err}"
    );
}

#[test]
fn diagram_of_the_seed_example() {
    let log = seed_trace();
    let d = Diagram::new(&log, &[]);
    let labels: Vec<&str> = d.lifelines.iter().map(|l| l.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "main",
            "A",
            "B",
            "conn0 (chardev/parallel)",
            "conn1 (chardev/parallel)"
        ],
        "fibrils by id, then connections by id"
    );
    assert!(matches!(d.lifelines[0].kind, LaneKind::Fibril(_)));
    assert!(matches!(d.lifelines[4].kind, LaneKind::Conn(_)));
    // Every tagged arrival is an arrow from its fibril to its connection, and the clone is
    // a CONNECT_ME_TO arrow into the new connection.
    let calls = d
        .rows
        .iter()
        .filter(|r| {
            matches!(
                r.kind,
                RowKind::Message {
                    kind: MessageKind::Call,
                    ..
                }
            )
        })
        .count();
    assert_eq!(calls, 4 + 2, "four reads and two HANGUPs");
    assert!(d.rows.iter().any(|r| matches!(
        r.kind,
        RowKind::Message {
            kind: MessageKind::Connect,
            to: 4,
            ..
        }
    ) && r.text.ends_with("CONNECT_ME_TO")));
    // Both fibrils' exchanges are spans that end.
    assert_eq!(d.exchanges.len(), 2);
    assert!(d.exchanges.iter().all(|s| s.end.is_some()));
    assert!((20..=40).contains(&d.rows.len()), "{} rows", d.rows.len());
    // The connections' lifelines start at their acceptance and end at their close.
    assert!(d.lifelines[4].opened_at.is_some() && d.lifelines[4].closed_at.is_some());
}

#[test]
fn text_swimlane_of_the_seed_example() {
    let log = seed_trace();
    let text = render(&log, &[], Format::Text, "seed-read/parallel");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("seed-read/parallel"));
    let header = text
        .lines()
        .find(|l| l.contains("| main"))
        .expect("a header row");
    for name in [
        "| main",
        "| A",
        "| B",
        "| conn0 (chardev/parallel)",
        "| conn1 (chardev/parallel)",
    ] {
        assert!(header.contains(name), "{name} in {header}");
    }
    for needle in [
        "CONNECT_ME_TO",
        "begin exch0 (sess0, clone conn1)",
        "end exch0",
        "HANGUP",
        "closed by client",
        "[op0 step 0]",
    ] {
        assert!(text.contains(needle), "{needle} missing:\n{text}");
    }
    assert!(text.contains("--->|"), "right arrows:\n{text}");
    assert!(text.contains("|<- call"), "left arrows:\n{text}");
    assert!(
        !text
            .lines()
            .any(|l| l.starts_with("!!") || l.contains("| !!")),
        "nothing is highlighted without violations:\n{text}"
    );
    assert!(
        !text.contains("4294967295"),
        "no raw phone sentinels:\n{text}"
    );
    for line in text.lines() {
        assert!(
            line.chars().all(|c| c.is_ascii() || c == '…'),
            "non-ASCII: {line}"
        );
    }
}

#[test]
fn text_swimlane_shows_the_naive_calls_in_arrival_order() {
    let log = naive_mixed();
    let arrivals = tagged_arrivals(&log);
    assert_eq!(arrivals.len(), 4);
    let text = render(&log, &[], Format::Text, "naive-phone");
    let lines: Vec<&str> = text.lines().collect();
    let pos: Vec<usize> = arrivals
        .iter()
        .map(|(call, _, op, step)| {
            let needle = format!("{call} ");
            let tag = format!("[op{op} step {step}]");
            lines
                .iter()
                .position(|l| l.contains(&needle) && l.contains(&tag) && l.contains("->|"))
                .unwrap_or_else(|| panic!("{needle}{tag} not drawn:\n{text}"))
        })
        .collect();
    assert!(
        pos.windows(2).all(|w| w[0] < w[1]),
        "arrival order {pos:?}:\n{text}"
    );
    // Each arrow starts in its sender's column: A's calls left of B's.
    let col = |i: usize| lines[pos[i]].find("call").unwrap();
    let (a, b): (Vec<usize>, Vec<usize>) = (0..4).partition(|i| arrivals[*i].1 == arrivals[0].1);
    assert!(a.iter().all(|i| col(*i) == col(a[0])) && b.iter().all(|i| col(*i) == col(b[0])));
    assert_ne!(col(a[0]), col(b[0]));
}

#[test]
fn highlighted_calls_and_connections_in_every_format() {
    let log = naive_mixed();
    let v = mixing_violation(&log);
    let named = v.calls();
    assert_eq!(named.len(), 3);
    let vs = [v.clone()];
    let d = Diagram::new(&log, &vs);
    let conn_lane = d
        .lifelines
        .iter()
        .position(|l| l.highlighted)
        .expect("a highlighted connection");
    assert!(matches!(d.lifelines[conn_lane].kind, LaneKind::Conn(c) if Some(c) == v.conn()));
    let hl_calls: Vec<&str> = d
        .rows
        .iter()
        .filter(|r| {
            r.highlighted
                && matches!(
                    r.kind,
                    RowKind::Message {
                        kind: MessageKind::Call,
                        ..
                    }
                )
        })
        .map(|r| r.text.as_str())
        .collect();
    assert_eq!(hl_calls.len(), 3, "{hl_calls:?}");

    let text = d.render(Format::Text, "naive-phone");
    for call in &named {
        let line = text
            .lines()
            .find(|l| l.contains(&format!("{call} ")) && l.contains("->|"))
            .unwrap();
        assert!(line.starts_with("!! "), "{line}");
    }
    let unnamed = tagged_arrivals(&log)
        .into_iter()
        .find(|(c, ..)| !named.contains(c))
        .unwrap()
        .0;
    let line = text
        .lines()
        .find(|l| l.contains(&format!("{unnamed} ")) && l.contains("->|"))
        .unwrap();
    assert!(line.starts_with("   "), "{line}");
    assert!(text
        .lines()
        .any(|l| l.starts_with("!! ") && l.contains("!! conn0 (chardev/serialize)")));
    assert!(text.contains(&format!("violations:\n  - {v}\n")), "{text}");

    let mmd = d.render(Format::Mermaid, "naive-phone");
    assert!(mmd.contains("rect rgb(255, 200, 200)"));
    assert!(mmd.contains("%% violation: [mixing]"));
    assert!(mmd.contains("participant c0 as !! conn0 (chardev/serialize)"));
    let hl_msgs = mmd.lines().filter(|l| l.contains("->>c0: !! call")).count();
    assert_eq!(hl_msgs, 3, "{mmd}");

    let svg = d.render(Format::Svg, "naive-phone");
    assert_well_formed_svg(&svg);
    // Red labels: the named calls' arrivals and their answers (and the style rule).
    let red_arrows = d
        .rows
        .iter()
        .filter(|r| r.highlighted && matches!(r.kind, RowKind::Message { .. }))
        .count();
    assert!(red_arrows >= 3);
    assert_eq!(svg.matches("sq-hl-t").count(), red_arrows + 1, "{svg}");
    assert!(svg.contains("sq-head-hl"));
    assert!(svg.contains("[mixing] on conn0 path0"));

    let html = d.render(Format::Html, "naive-phone");
    assert!(html.contains("<p class=\"violation\">[mixing] on conn0 path0"));
    assert!(html.contains(&svg), "the page embeds the SVG");
}

#[test]
fn answer_violations_highlight_the_answer_and_mixing_does_not() {
    let log = seed_trace();
    let call = tagged_arrivals(&log)[0].0;
    let method = Method(Method::FIRST_USER);
    let twice = Violation::AnsweredTwice {
        call,
        method,
        method_name: "CHARDEV_READ".into(),
        answers: 2,
    };
    let d = Diagram::new(&log, &[twice]);
    let answer = d
        .rows
        .iter()
        .find(|r| {
            matches!(
                r.kind,
                RowKind::Message {
                    kind: MessageKind::Answer,
                    ..
                }
            ) && r.text.starts_with(&format!("{call} "))
        })
        .unwrap();
    assert!(answer.highlighted, "{answer:?}");

    let log = naive_mixed();
    let d = Diagram::new(&log, &[mixing_violation(&log)]);
    assert!(d
        .rows
        .iter()
        .filter(|r| matches!(
            r.kind,
            RowKind::Message {
                kind: MessageKind::Answer,
                ..
            }
        ))
        .all(|r| !r.highlighted));
}

#[test]
fn every_format_renders_both_traces() {
    let traces = [
        ("seed-read/parallel", seed_trace()),
        ("naive-phone", naive_mixed()),
    ];
    for (title, log) in &traces {
        let fibrils = ["main", "A", "B"];
        let text = render(log, &[], Format::Text, title);
        let mmd = render(log, &[], Format::Mermaid, title);
        let svg = render(log, &[], Format::Svg, title);
        let html = render(log, &[], Format::Html, title);

        assert!(mmd.starts_with("sequenceDiagram\n"), "{mmd}");
        assert!(mmd.contains(&format!("    title {title}\n")));
        for f in fibrils {
            assert!(mmd.lines().any(|l| l.starts_with("    participant f") && l.ends_with(&format!(" as {f}"))), "{f}:\n{mmd}");
            assert!(svg.contains(&format!(">{f}</text>")), "{f} in svg");
        }
        assert!(mmd.contains("->>c0: call0 CONNECT_ME_TO"));
        assert!(mmd.contains("c0-->>f0: call0 EOK"));
        // Only statements mermaid knows; no raw `;` or `#` outside entity codes.
        for line in mmd.lines().skip(1) {
            let l = line.trim_start();
            let ok = [
                "title ",
                "%% ",
                "participant ",
                "Note over ",
                "activate ",
                "deactivate ",
                "rect ",
                "end",
            ]
            .iter()
            .any(|p| l.starts_with(p))
                || l.contains("->>");
            assert!(ok, "unexpected mermaid line: {line}");
            if !l.starts_with("%% ") {
                let stripped = l
                    .replace("#35;", "")
                    .replace("#59;", "")
                    .replace("#lt;", "")
                    .replace("#gt;", "")
                    .replace("#quot;", "");
                assert!(!stripped.contains(';') && !stripped.contains('#'), "{line}");
            }
        }

        assert_well_formed_svg(&svg);
        assert!(svg.contains("Legend") && svg.contains("No violations."));

        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains(&format!("<title>{title}</title>")));
        assert!(html.contains("<svg xmlns="));
        assert!(html.contains("<details>") && html.contains("<summary>Text swimlane</summary>"));
        assert!(
            !html.contains("http://") || html.matches("http://").count() == 1,
            "only the SVG namespace"
        );
        assert!(!html.contains("<script") && !html.contains("<link"));
        // The text swimlane inside the page is the text format, escaped.
        let first_arrow = text.lines().find(|l| l.contains("->|")).unwrap();
        assert!(html.contains(&first_arrow.replace('>', "&gt;").replace('<', "&lt;")));
    }
}

#[test]
fn rendering_is_deterministic() {
    let log = naive_mixed();
    let vs = [mixing_violation(&log)];
    for f in Format::ALL {
        assert_eq!(render(&log, &vs, f, "t"), render(&log, &vs, f, "t"), "{f}");
    }
    // A second run of the same schedule gives the same trace and so the same pictures.
    assert_eq!(naive_mixed(), log);
    assert_eq!(seed_trace(), seed_trace());
    let a = render(&seed_trace(), &[], Format::Svg, "t");
    let b = render(&seed_trace(), &[], Format::Svg, "t");
    assert_eq!(a, b);
}

#[test]
fn deadlock_is_shown() {
    let m = BuiltinModel::from(Builtin::WriteWhileRead {
        style: Style::Serialize,
    });
    let out = driver::run_shuttle(
        &m,
        &Scheduler::Pct {
            seed: 1,
            depth: 3,
            iterations: 50,
        },
        TraceLevel::Full,
    );
    let f = out.finding.expect("SERIALIZE write-while-read deadlocks");
    assert!(f.trace.deadlock.is_some());
    let report = f.trace.deadlock.clone().unwrap();
    let vs = [Violation::Deadlock {
        report,
        because: Vec::new(),
    }];
    let d = Diagram::new(&f.trace, &vs);
    assert!(!d.deadlock.is_empty());
    assert!(
        d.deadlock
            .iter()
            .any(|l| l.starts_with("fibril A waits for the answer to call")),
        "{:?}",
        d.deadlock
    );
    assert!(
        d.deadlock.iter().any(|l| l.starts_with(
            "fibril B waits for the exchange lock of SERIALIZE sess0, held by fibril A"
        )),
        "{:?}",
        d.deadlock
    );
    // B never got to send anything, but it is blocked in the client framework: it has a
    // lifeline.
    assert!(d.lifelines.iter().any(|l| l.label == "B"));
    let text = d.render(Format::Text, "write-while-read/serialize");
    assert!(text.contains("deadlock, no fibril can run:"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("!! ") && l.contains("blocked: answer to call1")),
        "{text}"
    );
    // An exchange that never ended runs to the bottom.
    assert!(d.exchanges.iter().any(|s| s.end.is_none()));
    let svg = d.render(Format::Svg, "write-while-read/serialize");
    assert_well_formed_svg(&svg);
    assert!(svg.contains("Deadlock: no fibril can run"));
    let mmd = d.render(Format::Mermaid, "write-while-read/serialize");
    assert!(mmd.contains("%% deadlock: fibril A waits for"));
}

#[test]
fn every_builtin_model_renders() {
    let models = [
        Builtin::SeedRead {
            style: Style::Multiplexed,
            reads: 1,
        },
        Builtin::SeedRead {
            style: Style::Serialize,
            reads: 2,
        },
        Builtin::PhoneExhaustion,
        Builtin::WaitForPhone,
        Builtin::Hangup {
            style: Style::Parallel,
        },
        Builtin::ServerDies {
            style: Style::Parallel,
        },
        Builtin::ServerDies {
            style: Style::Multiplexed,
        },
        Builtin::EarlyEnd,
        Builtin::AtomicTwoCall,
    ];
    for m in models {
        let log = dfs_first(m);
        let d = Diagram::new(&log, &[]);
        assert!(!d.rows.is_empty(), "{m:?}");
        for f in Format::ALL {
            let out = d.render(f, "model");
            assert!(!out.is_empty());
            if f == Format::Svg {
                assert_well_formed_svg(&out);
            }
        }
        // Every arrival is drawn as an arrow, and every arrow joins a fibril and a connection.
        let arrivals = log
            .events
            .iter()
            .filter(|e| matches!(e, Event::Arrive { .. }))
            .count();
        let arrows = d
            .rows
            .iter()
            .filter(|r| {
                matches!(
                    r.kind,
                    RowKind::Message {
                        kind: MessageKind::Call,
                        ..
                    }
                )
            })
            .count();
        assert_eq!(arrivals, arrows, "{m:?}");
        for r in &d.rows {
            if let RowKind::Message { from, to, .. } = r.kind {
                let kinds = (d.lifelines[from].kind, d.lifelines[to].kind);
                assert!(
                    matches!(
                        kinds,
                        (LaneKind::Fibril(_), LaneKind::Conn(_))
                            | (LaneKind::Conn(_), LaneKind::Fibril(_))
                    ),
                    "{m:?}: {r:?}"
                );
            }
        }
    }
}

#[test]
fn multiplexed_paths_and_failures_are_labelled() {
    let log = dfs_first(Builtin::SeedRead {
        style: Style::Multiplexed,
        reads: 1,
    });
    let text = render(&log, &[], Format::Text, "seed-read/multiplexed");
    assert!(text.contains("CHARDEV_READ path1 [op0 step 0]"), "{text}");
    assert!(text.contains("PATH_END path1"), "{text}");
    assert!(text.contains("path1 freed"), "{text}");
    assert!(text.contains("begin exch0 (sess0, conn0 path1)"), "{text}");

    let log = dfs_first(Builtin::PhoneExhaustion);
    let text = render(&log, &[], Format::Text, "phone-exhaustion");
    assert!(text.contains("send CONNECT_ME_TO failed: ELIMIT"), "{text}");
    assert!(text.contains("reclaim obj"), "{text}");
}

#[test]
fn text_is_escaped_everywhere() {
    let log = seed_trace();
    let title = "a <b> & \"c\"; #d";
    let svg = render(&log, &[], Format::Svg, title);
    assert!(svg.contains("a &lt;b&gt; &amp; &quot;c&quot;; #d"));
    assert_well_formed_svg(&svg);
    let html = render(&log, &[], Format::Html, title);
    assert!(!html.contains("<b>"));
    let mmd = render(&log, &[], Format::Mermaid, title);
    let title_line = mmd.lines().nth(1).unwrap();
    assert!(
        !title_line.contains(';') && !title_line.contains('#'),
        "{title_line}"
    );
    assert_eq!(Method::HANGUP.kernel_name(), Some("HANGUP"));
}

#[test]
fn empty_trace_renders() {
    let log = TraceLog::default();
    for f in Format::ALL {
        let out = render(&log, &[], f, "empty");
        assert!(!out.is_empty());
        if f == Format::Svg {
            assert_well_formed_svg(&out);
        }
    }
}

/// Writes every format of the naive-phone trace (with its mixing highlighted), of the seed
/// example, of a deadlock and of a few harder models to `target/render-demo/`, for looking at.
#[test]
fn write_demo_files() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/render-demo");
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, log: &TraceLog, vs: &[Violation], title: &str| {
        for f in Format::ALL {
            let path = dir.join(format!("{name}.{}", f.extension()));
            std::fs::write(path, render(log, vs, f, title)).unwrap();
        }
    };
    let log = naive_mixed();
    write(
        "naive",
        &log,
        &[mixing_violation(&log)],
        "naive-phone (the reads mixed)",
    );
    write("seed", &seed_trace(), &[], "seed-read/parallel");
    let m = BuiltinModel::from(Builtin::WriteWhileRead {
        style: Style::Serialize,
    });
    let out = driver::run_shuttle(
        &m,
        &Scheduler::Pct {
            seed: 1,
            depth: 3,
            iterations: 50,
        },
        TraceLevel::Full,
    );
    if let Some(f) = out.finding {
        let mut vs = f.violations.clone();
        if vs.is_empty() {
            vs.extend(f.trace.deadlock.clone().map(|report| Violation::Deadlock {
                report,
                because: Vec::new(),
            }));
        }
        write(
            "deadlock",
            &f.trace,
            &vs,
            "write-while-read/serialize (deadlock)",
        );
    }
    for (name, m) in [
        ("phone-exhaustion", Builtin::PhoneExhaustion),
        ("early-end", Builtin::EarlyEnd),
        (
            "server-dies-multiplexed",
            Builtin::ServerDies {
                style: Style::Multiplexed,
            },
        ),
        (
            "hangup",
            Builtin::Hangup {
                style: Style::Parallel,
            },
        ),
    ] {
        write(name, &dfs_first(m), &[], name);
    }
}
