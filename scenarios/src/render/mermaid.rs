//! A mermaid `sequenceDiagram`.
//!
//! Participants get safe ids (`f1` for fibril 1, `c0` for connection 0) and their labels as
//! aliases. Exchanges are activations with a note at each end; runs of highlighted rows sit in a
//! red `rect` and start with `!!`; the violations and the deadlock are listed as comments at the
//! top and as red notes at the bottom.

use super::{Diagram, LaneKind, MessageKind, RowKind};

/// The background of highlighted rows.
const HIGHLIGHT: &str = "rect rgb(255, 200, 200)";
/// Notes are wrapped at about this many characters.
const NOTE_WIDTH: usize = 80;

/// `s` made safe for a mermaid label: mermaid ends a statement at `;` and a comment or an
/// entity at `#`, and reads `<` as the start of HTML, so those become entity codes.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '#' => out.push_str("#35;"),
            ';' => out.push_str("#59;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '"' => out.push_str("#quot;"),
            '\n' | '\r' | '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// `s` made safe for a `title` line, which takes no entity codes.
fn escape_title(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '#' | ';' | '\n' | '\r' | '%' => ' ',
            c => c,
        })
        .collect()
}

/// `s` escaped and broken into lines of about `NOTE_WIDTH` characters with `<br/>`.
fn wrap(s: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut cur = String::new();
    for word in s.split_whitespace() {
        if !cur.is_empty() && cur.chars().count() + 1 + word.chars().count() > NOTE_WIDTH {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
        .iter()
        .map(|l| escape(l))
        .collect::<Vec<_>>()
        .join("<br/>")
}

fn id(d: &Diagram, lane: usize) -> String {
    match d.lifelines[lane].kind {
        LaneKind::Fibril(f) => format!("f{}", f.0),
        LaneKind::Conn(c) => format!("c{}", c.0),
    }
}

/// Renders the mermaid source.
pub(super) fn render(d: &Diagram, title: &str) -> String {
    let mut out = String::from("sequenceDiagram\n");
    let title = escape_title(title);
    if !title.trim().is_empty() {
        out.push_str(&format!("    title {}\n", title.trim()));
    }
    for v in &d.violations {
        out.push_str(&format!("    %% violation: {}\n", v.replace('\n', " ")));
    }
    for line in &d.deadlock {
        out.push_str(&format!("    %% deadlock: {line}\n"));
    }
    for (i, l) in d.lifelines.iter().enumerate() {
        let mark = if l.highlighted { "!! " } else { "" };
        out.push_str(&format!(
            "    participant {} as {mark}{}\n",
            id(d, i),
            escape(&l.label)
        ));
    }
    let all = match d.lifelines.len() {
        0 => None,
        1 => Some(id(d, 0)),
        n => Some(format!("{},{}", id(d, 0), id(d, n - 1))),
    };
    // Activations mermaid knows about, per lifeline: it rejects deactivating an inactive one.
    let mut active = vec![0usize; d.lifelines.len()];
    let mut in_rect = false;
    for row in &d.rows {
        let text = if row.highlighted {
            format!("!! {}", escape(&row.text))
        } else {
            escape(&row.text)
        };
        let mut lines: Vec<String> = Vec::new();
        match row.kind {
            RowKind::Message { from, to, kind } => {
                let arrow = match kind {
                    MessageKind::Call | MessageKind::Connect => "->>",
                    MessageKind::Answer => "-->>",
                };
                lines.push(format!("{}{arrow}{}: {text}", id(d, from), id(d, to)));
            }
            RowKind::Note { lane } => lines.push(format!("Note over {}: {text}", id(d, lane))),
            RowKind::Banner => match &all {
                Some(all) => lines.push(format!("Note over {all}: {text}")),
                None => lines.push(format!("%% {text}")),
            },
            RowKind::ExchBegin { lane, .. } => {
                lines.push(format!("Note over {}: {text}", id(d, lane)));
                lines.push(format!("activate {}", id(d, lane)));
                active[lane] += 1;
            }
            RowKind::ExchEnd { lane, .. } => {
                if active[lane] > 0 {
                    lines.push(format!("deactivate {}", id(d, lane)));
                    active[lane] -= 1;
                }
                lines.push(format!("Note over {}: {text}", id(d, lane)));
            }
        }
        // Consecutive highlighted rows share one red background.
        if row.highlighted != in_rect {
            if in_rect {
                out.push_str("    end\n");
            } else {
                out.push_str(&format!("    {HIGHLIGHT}\n"));
            }
            in_rect = row.highlighted;
        }
        let indent = if in_rect { "        " } else { "    " };
        for l in lines {
            out.push_str(&format!("{indent}{l}\n"));
        }
    }
    if in_rect {
        out.push_str("    end\n");
    }
    if let Some(all) = &all {
        for v in &d.violations {
            out.push_str(&format!("    {HIGHLIGHT}\n"));
            out.push_str(&format!("        Note over {all}: {}\n", wrap(v)));
            out.push_str("    end\n");
        }
        if !d.deadlock.is_empty() {
            let text = format!("deadlock: {}", d.deadlock.join(" / "));
            out.push_str(&format!("    Note over {all}: {}\n", wrap(&text)));
        }
    }
    out
}
