//! A standalone SVG sequence diagram, written by hand.
//!
//! Lifelines are vertical lines under header boxes (repeated at the bottom); calls are solid
//! arrows into the connection, answers dashed arrows back to the sender, accepted
//! `CONNECT_ME_TO`s green arrows into the new connection. An exchange is a blue bar on its
//! fibril's lifeline. Notes sit just right of their lifeline. Whatever a violation names is
//! red; run-time failures are orange. A legend, the violations and the deadlock follow the
//! diagram. All coordinates are integers computed from the diagram alone, so the output is
//! deterministic.

use super::{Diagram, LaneKind, MessageKind, Row, RowKind};
use std::fmt::Write;

/// Font size of every label, in pixels (monospace, so widths can be estimated).
const FONT: usize = 12;
/// Estimated width of one character, in tenths of a pixel.
const CHAR_W10: usize = 73;
/// Outer margin.
const MARGIN: usize = 20;
/// Top of the header boxes.
const HEAD_TOP: usize = 44;
/// Height of a header box.
const HEAD_H: usize = 28;
/// Vertical distance between rows.
const ROW_H: usize = 26;
/// Smallest distance between two lifelines.
const MIN_GAP: usize = 110;
/// How far right of its lifeline a note or an arrow label starts.
const NOTE_DX: usize = 9;
/// Red of highlighted things.
const RED: &str = "#d00000";

/// Escapes `s` for XML text and attribute values.
pub(super) fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Estimated width of `s` in pixels.
fn text_w(s: &str) -> usize {
    (s.chars().count() * CHAR_W10).div_ceil(10)
}

/// Breaks `s` into lines of at most `width` characters, at spaces where possible.
fn wrap(s: &str, width: usize) -> Vec<String> {
    let width = width.max(20);
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in s.split_whitespace() {
        let mut word = word.to_string();
        while word.chars().count() > width {
            if !cur.is_empty() {
                lines.push(std::mem::take(&mut cur));
            }
            let head: String = word.chars().take(width).collect();
            word = word.chars().skip(width).collect();
            lines.push(head);
        }
        if !cur.is_empty() && cur.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(&word);
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

/// Horizontal layout: where each lifeline stands and how wide the picture is.
struct Layout {
    x: Vec<usize>,
    head_w: Vec<usize>,
    width: usize,
    rows_top: usize,
    rows_bottom: usize,
}

impl Layout {
    fn y(&self, row: usize) -> usize {
        self.rows_top + row * ROW_H
    }

    fn new(d: &Diagram) -> Self {
        let n = d.lifelines.len();
        let head_w: Vec<usize> = d.lifelines.iter().map(|l| text_w(&l.label) + 24).collect();
        // Constraints (a, b, need): lifeline b stands at least `need` right of lifeline a.
        let mut cons: Vec<(usize, usize, usize)> = Vec::new();
        for i in 1..n {
            cons.push((
                i - 1,
                i,
                MIN_GAP.max(head_w[i - 1] / 2 + head_w[i] / 2 + 16),
            ));
        }
        // How far right of the last lifeline something reaches.
        let mut right = head_w.last().map_or(0, |w| w / 2);
        for row in &d.rows {
            let tw = text_w(&row.text);
            match row.kind {
                RowKind::Note { lane }
                | RowKind::ExchBegin { lane, .. }
                | RowKind::ExchEnd { lane, .. } => {
                    let need = NOTE_DX + tw + 12 + 14;
                    if lane + 1 < n {
                        cons.push((lane, lane + 1, need));
                    } else {
                        right = right.max(need);
                    }
                }
                RowKind::Message { from, to, .. } => {
                    let (a, b) = (from.min(to), from.max(to));
                    cons.push((a, b, NOTE_DX + 3 + tw + 28));
                }
                RowKind::Banner => {}
            }
        }
        let mut x = vec![0usize; n];
        if n > 0 {
            x[0] = MARGIN + head_w[0] / 2;
        }
        for b in 1..n {
            let mut xb = x[b - 1] + MIN_GAP;
            for &(a, bb, need) in &cons {
                if bb == b {
                    xb = xb.max(x[a] + need);
                }
            }
            x[b] = xb;
        }
        let left = x.first().map_or(MARGIN, |x0| x0 - head_w[0] / 2);
        let mut width = x.last().map_or(0, |xl| xl + right) + MARGIN;
        for row in &d.rows {
            if row.kind == RowKind::Banner {
                width = width.max(left + text_w(&row.text) + 16 + MARGIN);
            }
        }
        let rows_top = HEAD_TOP + HEAD_H + 26;
        let rows_bottom = rows_top + d.rows.len().saturating_sub(1) * ROW_H + 22;
        Layout {
            x,
            head_w,
            width: width.max(640),
            rows_top,
            rows_bottom,
        }
    }
}

/// Renders the SVG document.
pub(super) fn render(d: &Diagram, title: &str) -> String {
    let lay = Layout::new(d);
    let mut body = String::new();
    let n = d.lifelines.len();

    let _ = writeln!(
        body,
        r#"<text x="{MARGIN}" y="28" class="sq-title">{}</text>"#,
        xml_escape(title)
    );

    // Lifelines.
    let bottom_head = lay.rows_bottom + 6;
    for (i, l) in d.lifelines.iter().enumerate() {
        let x = lay.x[i];
        let (top, bot) = (HEAD_TOP + HEAD_H, bottom_head);
        match l.kind {
            LaneKind::Fibril(_) => {
                let _ = writeln!(
                    body,
                    r#"<line x1="{x}" y1="{top}" x2="{x}" y2="{bot}" class="sq-life"/>"#
                );
            }
            LaneKind::Conn(_) => {
                let _ = writeln!(
                    body,
                    r#"<line x1="{x}" y1="{top}" x2="{x}" y2="{bot}" class="sq-life-off"/>"#
                );
                let from = l.opened_at.map_or(top, |r| lay.y(r));
                let to = l.closed_at.map_or(bot, |r| lay.y(r));
                let _ = writeln!(
                    body,
                    r#"<line x1="{x}" y1="{from}" x2="{x}" y2="{to}" class="sq-life"/>"#
                );
            }
        }
    }

    // Exchange bars.
    for s in &d.exchanges {
        let x = lay.x[s.lane] - 5 + 5 * s.depth;
        let y1 = lay.y(s.begin) - 8;
        let y2 = s.end.map_or(lay.rows_bottom, |e| lay.y(e) + 8);
        let class = if s.highlighted {
            "sq-exch sq-exch-hl"
        } else {
            "sq-exch"
        };
        let _ = writeln!(
            body,
            r#"<rect x="{x}" y="{y1}" width="10" height="{}" class="{class}"><title>{}</title></rect>"#,
            y2 - y1,
            s.exch
        );
    }

    // Header boxes, top and bottom.
    for (i, l) in d.lifelines.iter().enumerate() {
        for top in [HEAD_TOP, bottom_head] {
            header(
                &mut body,
                &lay,
                i,
                l.highlighted,
                matches!(l.kind, LaneKind::Conn(_)),
                &l.label,
                top,
            );
        }
    }

    // Rows.
    for (r, row) in d.rows.iter().enumerate() {
        draw_row(&mut body, &lay, r, row);
    }

    // Legend, violations, deadlock.
    let mut y = bottom_head + HEAD_H + 34;
    y = legend(&mut body, &lay, y);
    let chars = (lay.width - 2 * MARGIN) * 10 / CHAR_W10;
    let section = |body: &mut String,
                   y: &mut usize,
                   heading: &str,
                   lines: &[String],
                   class: &str| {
        let _ = writeln!(
            body,
            r#"<text x="{MARGIN}" y="{}" class="sq-heading">{}</text>"#,
            *y,
            xml_escape(heading)
        );
        *y += 20;
        for item in lines {
            for (k, part) in wrap(item, chars.saturating_sub(2)).iter().enumerate() {
                let indent = if k == 0 { "- " } else { "  " };
                let _ = writeln!(
                    body,
                    r#"<text x="{MARGIN}" y="{}" class="{class}" xml:space="preserve">{}</text>"#,
                    *y,
                    xml_escape(&format!("{indent}{part}"))
                );
                *y += 17;
            }
        }
        *y += 12;
    };
    if d.violations.is_empty() {
        section(&mut body, &mut y, "No violations.", &[], "sq-viol");
    } else {
        section(&mut body, &mut y, "Violations", &d.violations, "sq-viol");
    }
    if !d.deadlock.is_empty() {
        section(
            &mut body,
            &mut y,
            "Deadlock: no fibril can run",
            &d.deadlock,
            "sq-dead",
        );
    }
    let height = y + MARGIN - 12;

    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{height}" viewBox="0 0 {w} {height}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="{FONT}">"#,
        w = lay.width
    );
    let _ = writeln!(out, "<title>{}</title>", xml_escape(title));
    out.push_str(STYLE);
    let _ = writeln!(
        out,
        r##"<rect x="0" y="0" width="{}" height="{height}" fill="#ffffff"/>"##,
        lay.width
    );
    if n == 0 {
        let _ = writeln!(
            out,
            r#"<text x="{MARGIN}" y="{}" class="sq-note-t">(no lifelines: the trace has no client or server events)</text>"#,
            HEAD_TOP + 20
        );
    }
    out.push_str(&body);
    out.push_str("</svg>\n");
    out
}

const STYLE: &str = r#"<style>
.sq-title { font-size: 16px; font-weight: bold; fill: #222; }
.sq-heading { font-size: 13px; font-weight: bold; fill: #222; }
.sq-life { stroke: #9a9a9a; stroke-width: 1.2; }
.sq-life-off { stroke: #d0d0d0; stroke-width: 1; stroke-dasharray: 3 4; }
.sq-head { fill: #e8f0fe; stroke: #4a6fb5; stroke-width: 1.2; }
.sq-head-conn { fill: #e8f5e9; stroke: #4c8c4a; stroke-width: 1.2; }
.sq-head-hl { fill: #ffd6d6; stroke: #d00000; stroke-width: 2.5; }
.sq-head-t { font-weight: bold; fill: #1d1d1d; }
.sq-head-t-hl { font-weight: bold; fill: #d00000; }
.sq-exch { fill: #cddcff; stroke: #5b7fc7; stroke-width: 1; }
.sq-exch-hl { fill: #ffc8c8; stroke: #d00000; stroke-width: 2; }
.sq-msg { stroke-width: 1.4; fill: none; }
.sq-call { stroke: #1f3b73; }
.sq-connect { stroke: #2e7d32; }
.sq-answer { stroke: #777777; stroke-dasharray: 6 3; }
.sq-warn-line { stroke: #e07000; }
.sq-hl-line { stroke: #d00000; stroke-width: 2.4; }
.sq-label { paint-order: stroke; stroke: #ffffff; stroke-width: 4px; stroke-linejoin: round; }
.sq-call-t { fill: #1f3b73; }
.sq-connect-t { fill: #2e7d32; }
.sq-answer-t { fill: #555555; }
.sq-warn-t { fill: #b35400; }
.sq-hl-t { fill: #d00000; font-weight: bold; }
.sq-note { fill: #fff8dc; stroke: #c8b560; stroke-width: 1; }
.sq-note-exch { fill: #e6efff; stroke: #6b8fd6; stroke-width: 1; }
.sq-note-warn { fill: #ffe3c2; stroke: #e07000; stroke-width: 1; }
.sq-note-hl { stroke: #d00000; stroke-width: 2.2; }
.sq-note-t { fill: #333333; }
.sq-banner { fill: #f0f0f0; stroke: #a0a0a0; stroke-width: 1; }
.sq-viol { fill: #b00000; }
.sq-dead { fill: #8a4000; }
.sq-legend-t { fill: #333333; }
</style>
"#;

fn header(
    body: &mut String,
    lay: &Layout,
    i: usize,
    hl: bool,
    conn: bool,
    label: &str,
    top: usize,
) {
    let w = lay.head_w[i];
    let x = lay.x[i] - w / 2;
    let class = match (hl, conn) {
        (true, _) => "sq-head-hl",
        (false, true) => "sq-head-conn",
        (false, false) => "sq-head",
    };
    let tclass = if hl { "sq-head-t-hl" } else { "sq-head-t" };
    let _ = writeln!(
        body,
        r#"<rect x="{x}" y="{top}" width="{w}" height="{HEAD_H}" rx="4" class="{class}"/><text x="{}" y="{}" text-anchor="middle" class="{tclass}">{}</text>"#,
        lay.x[i],
        top + HEAD_H / 2 + 4,
        xml_escape(label)
    );
}

/// An arrow from `x1` to `x2` at height `y` with its head at `x2`.
fn arrow(body: &mut String, x1: usize, x2: usize, y: usize, line_class: &str, head_fill: &str) {
    let (x1, x2) = (x1 as i64, x2 as i64);
    let dir: i64 = if x2 >= x1 { 1 } else { -1 };
    let back = x2 - dir * 10;
    let _ = writeln!(
        body,
        r#"<line x1="{x1}" y1="{y}" x2="{back}" y2="{y}" class="sq-msg {line_class}"/><polygon points="{x2},{y} {back},{} {back},{}" fill="{head_fill}"/>"#,
        y - 4,
        y + 4
    );
}

fn note_box(body: &mut String, x: usize, y: usize, text: &str, class: &str) {
    let w = text_w(text) + 12;
    let _ = writeln!(
        body,
        r#"<rect x="{x}" y="{}" width="{w}" height="18" rx="3" class="{class}"/><text x="{}" y="{}" class="sq-note-t" xml:space="preserve">{}</text>"#,
        y - 9,
        x + 6,
        y + 4,
        xml_escape(text)
    );
}

fn draw_row(body: &mut String, lay: &Layout, r: usize, row: &Row) {
    let y = lay.y(r);
    match row.kind {
        RowKind::Message { from, to, kind } => {
            let (line, head, text) = match (row.highlighted, row.warning, kind) {
                (true, _, MessageKind::Answer) => ("sq-answer sq-hl-line", RED, "sq-hl-t"),
                (true, _, _) => ("sq-call sq-hl-line", RED, "sq-hl-t"),
                (false, true, MessageKind::Answer) => {
                    ("sq-answer sq-warn-line", "#e07000", "sq-warn-t")
                }
                (false, true, _) => ("sq-call sq-warn-line", "#e07000", "sq-warn-t"),
                (false, false, MessageKind::Call) => ("sq-call", "#1f3b73", "sq-call-t"),
                (false, false, MessageKind::Connect) => ("sq-connect", "#2e7d32", "sq-connect-t"),
                (false, false, MessageKind::Answer) => ("sq-answer", "#777777", "sq-answer-t"),
            };
            arrow(body, lay.x[from], lay.x[to], y + 5, line, head);
            let lx = lay.x[from.min(to)] + NOTE_DX + 3;
            let _ = writeln!(
                body,
                r#"<text x="{lx}" y="{}" class="sq-label {text}" xml:space="preserve">{}</text>"#,
                y - 1,
                xml_escape(&row.text)
            );
        }
        RowKind::Note { lane }
        | RowKind::ExchBegin { lane, .. }
        | RowKind::ExchEnd { lane, .. } => {
            let mut class = String::from(match (row.kind, row.warning) {
                (RowKind::Note { .. }, false) => "sq-note",
                (RowKind::Note { .. }, true) => "sq-note-warn",
                _ => "sq-note-exch",
            });
            if row.highlighted {
                class.push_str(" sq-note-hl");
            }
            note_box(body, lay.x[lane] + NOTE_DX, y, &row.text, &class);
        }
        RowKind::Banner => {
            let left = lay.x.first().map_or(MARGIN, |x0| x0 - lay.head_w[0] / 2);
            let right = match (lay.x.last(), lay.head_w.last()) {
                (Some(x), Some(w)) => x + w / 2,
                _ => lay.width - MARGIN,
            };
            let w = (right - left).max(text_w(&row.text) + 16);
            let mut class = String::from(if row.warning {
                "sq-note-warn"
            } else {
                "sq-banner"
            });
            if row.highlighted {
                class.push_str(" sq-note-hl");
            }
            let _ = writeln!(
                body,
                r#"<rect x="{left}" y="{}" width="{w}" height="18" rx="3" class="{class}"/><text x="{}" y="{}" class="sq-note-t" xml:space="preserve">{}</text>"#,
                y - 9,
                left + 8,
                y + 4,
                xml_escape(&row.text)
            );
        }
    }
}

/// Draws the legend from height `y`; returns the height below it.
fn legend(body: &mut String, lay: &Layout, mut y: usize) -> usize {
    let _ = writeln!(
        body,
        r#"<text x="{MARGIN}" y="{y}" class="sq-heading">Legend</text>"#
    );
    y += 22;
    let items: [(&str, &str); 7] = [
        ("call", "call, drawn when it arrives at the connection"),
        ("connect", "CONNECT_ME_TO accepted: a new connection"),
        ("answer", "answer, back to the fibril that sent the call"),
        ("exch", "exchange on the fibril's lifeline"),
        ("note", "note: an event on that lifeline"),
        (
            "warn",
            "run-time failure (error answer, bounce, failed send, blocked)",
        ),
        ("hl", "named by a violation"),
    ];
    let mut x = MARGIN;
    for (glyph, text) in items {
        let w = 44 + text_w(text) + 28;
        if x > MARGIN && x + w > lay.width - MARGIN {
            x = MARGIN;
            y += 24;
        }
        match glyph {
            "call" => arrow(body, x, x + 36, y - 4, "sq-call", "#1f3b73"),
            "connect" => arrow(body, x, x + 36, y - 4, "sq-connect", "#2e7d32"),
            "answer" => arrow(body, x + 36, x, y - 4, "sq-answer", "#777777"),
            "hl" => arrow(body, x, x + 36, y - 4, "sq-call sq-hl-line", RED),
            "exch" => {
                let _ = writeln!(
                    body,
                    r#"<rect x="{}" y="{}" width="10" height="18" class="sq-exch"/>"#,
                    x + 13,
                    y - 13
                );
            }
            "note" => {
                let _ = writeln!(
                    body,
                    r#"<rect x="{x}" y="{}" width="36" height="16" rx="3" class="sq-note"/>"#,
                    y - 12
                );
            }
            _ => {
                let _ = writeln!(
                    body,
                    r#"<rect x="{x}" y="{}" width="36" height="16" rx="3" class="sq-note-warn"/>"#,
                    y - 12
                );
            }
        }
        let _ = writeln!(
            body,
            r#"<text x="{}" y="{y}" class="sq-legend-t">{}</text>"#,
            x + 44,
            xml_escape(text)
        );
        x += w;
    }
    y + 36
}
