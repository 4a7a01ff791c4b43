//! The ASCII swimlane: one column per lifeline, one line per row.
//!
//! ```text
//!    | A                                 | conn1 (chardev/parallel)
//!    +-----------------------------------+-------------------------
//!    | call1 CONNECT_ME_TO ------------->|
//!    |<- call1 EOK ----------------------|
//!    # begin exch0 (sess0, clone conn1)  |
//!    # call2 CHARDEV_READ [op0 step 0] ->|
//! !! # call3 DATA_READ [op0 step 1] ---->|
//!    #<- call3 DATA_READ: EOK -----------|
//!    # end exch0                         |
//! ```
//!
//! Calls point right, from the sender's column to the connection's lifeline; answers point
//! left, back to the sender's column. A `#` lifeline is a fibril inside an exchange, and a
//! blank one a connection that is not open. `!!` marks rows a violation names.

use super::{Diagram, LaneKind, RowKind};

/// The widest a column gets; longer cells are cut with an ellipsis.
const MAX_CELL: usize = 36;
/// The narrowest a column gets.
const MIN_CELL: usize = 4;
/// The marker of highlighted rows and headers.
const MARK: &str = "!!";

fn len(s: &str) -> usize {
    s.chars().count()
}

/// `s` cut to at most `width` characters, the last one an ellipsis if anything was cut.
pub(super) fn truncate(s: &str, width: usize) -> String {
    if len(s) <= width {
        return s.to_string();
    }
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn header_label(d: &Diagram, lane: usize) -> String {
    let l = &d.lifelines[lane];
    if l.highlighted {
        format!("{MARK} {}", l.label)
    } else {
        l.label.clone()
    }
}

/// A line under construction, indexed by character column.
#[derive(Clone)]
struct Line(Vec<char>);

impl Line {
    fn new(width: usize) -> Self {
        Line(vec![' '; width])
    }

    fn put(&mut self, at: usize, c: char) {
        if at >= self.0.len() {
            self.0.resize(at + 1, ' ');
        }
        self.0[at] = c;
    }

    fn write(&mut self, at: usize, s: &str) {
        for (i, c) in s.chars().enumerate() {
            self.put(at + i, c);
        }
    }

    fn finish(self, gutter: &str) -> String {
        let s: String = self.0.into_iter().collect();
        format!("{gutter}{s}").trim_end().to_string()
    }
}

/// Renders the swimlane.
pub(super) fn render(d: &Diagram, title: &str) -> String {
    let n = d.lifelines.len();
    let mut out = String::new();
    out.push_str(title);
    out.push('\n');
    out.push_str(&"=".repeat(len(title).max(3)));
    out.push_str("\n\n");
    if n == 0 {
        out.push_str("(no lifelines: the trace has no client or server events)\n");
    } else {
        swimlane(d, &mut out);
    }
    trailer(d, &mut out);
    out
}

fn swimlane(d: &Diagram, out: &mut String) {
    let n = d.lifelines.len();
    // Column widths: the header, every note, and every arrow label with room for its arrow.
    let mut w: Vec<usize> = (0..n)
        .map(|i| len(&header_label(d, i)).max(MIN_CELL))
        .collect();
    for row in &d.rows {
        let need = match row.kind {
            RowKind::Message { from, to, .. } if from < to => len(&row.text) + 2,
            RowKind::Message { .. } => len(&row.text) + 3,
            RowKind::Note { .. } | RowKind::ExchBegin { .. } | RowKind::ExchEnd { .. } => {
                len(&row.text)
            }
            RowKind::Banner => 0,
        };
        if let Some(lane) = row.text_lane() {
            w[lane] = w[lane].max(need.min(MAX_CELL));
        }
    }
    // Lifeline i sits at column x[i]; its cells start two columns to the right.
    let mut x = vec![0usize; n];
    for i in 1..n {
        x[i] = x[i - 1] + w[i - 1] + 3;
    }
    let width = x[n - 1] + w[n - 1] + 2;
    let gutter = |hl: bool| {
        if hl {
            format!("{MARK} ")
        } else {
            " ".repeat(MARK.len() + 1)
        }
    };

    let mut head = Line::new(width);
    let mut rule = Line::new(width);
    for i in 0..n {
        head.put(x[i], '|');
        head.write(x[i] + 2, &truncate(&header_label(d, i), w[i]));
        for c in x[i]..width {
            rule.put(c, if c == x[i] { '+' } else { '-' });
        }
    }
    let any_hl = d.lifelines.iter().any(|l| l.highlighted);
    out.push_str(&head.finish(&gutter(any_hl)));
    out.push('\n');
    out.push_str(&rule.clone().finish(&gutter(false)));
    out.push('\n');

    for (r, row) in d.rows.iter().enumerate() {
        let mut line = Line::new(width);
        for (i, xi) in x.iter().enumerate() {
            let c = match d.lifelines[i].kind {
                LaneKind::Fibril(_) if d.in_exchange(i, r) => '#',
                LaneKind::Fibril(_) => '|',
                LaneKind::Conn(_) if d.alive(i, r) => '|',
                LaneKind::Conn(_) => ' ',
            };
            line.put(*xi, c);
        }
        match row.kind {
            RowKind::Note { lane }
            | RowKind::ExchBegin { lane, .. }
            | RowKind::ExchEnd { lane, .. } => {
                line.write(x[lane] + 2, &truncate(&row.text, w[lane]));
            }
            RowKind::Banner => {
                line.write(x[0] + 2, &format!("** {}", row.text));
            }
            RowKind::Message { from, to, .. } if from < to => {
                // label, a space, dashes, and the head just left of the target's lifeline.
                let (a, b) = (x[from], x[to]);
                let label = truncate(&row.text, b - a - 5);
                line.write(a + 2, &label);
                let start = a + 2 + len(&label);
                line.put(start, ' ');
                for c in start + 1..b - 1 {
                    line.put(c, '-');
                }
                line.put(b - 1, '>');
                line.put(b, '|');
            }
            RowKind::Message { from, to, .. } => {
                // the head just right of the target's lifeline, the label, dashes.
                let (a, b) = (x[to], x[from]);
                let label = truncate(&row.text, b - a - 6);
                line.write(a + 1, "<- ");
                line.write(a + 4, &label);
                let start = a + 4 + len(&label);
                line.put(start, ' ');
                for c in start + 1..b {
                    line.put(c, '-');
                }
                line.put(b, '|');
            }
        }
        out.push_str(&line.finish(&gutter(row.highlighted)));
        out.push('\n');
    }
    out.push_str(&rule.finish(&gutter(false)));
    out.push('\n');
}

fn trailer(d: &Diagram, out: &mut String) {
    if !d.violations.is_empty() {
        out.push_str("\nviolations:\n");
        for v in &d.violations {
            out.push_str(&format!("  - {v}\n"));
        }
    }
    if !d.deadlock.is_empty() {
        out.push_str("\ndeadlock, no fibril can run:\n");
        for line in &d.deadlock {
            out.push_str(&format!("  - {line}\n"));
        }
    }
    out.push_str(
        "\nlegend: --->| call arriving at a connection, |<--- answer to its sender, \
         # fibril inside an exchange, !! named by a violation\n",
    );
}
