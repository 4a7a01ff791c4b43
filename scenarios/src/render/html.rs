//! A standalone HTML page: title, legend, violations, deadlock, the SVG inline and the text
//! swimlane in a `<details>` block. It loads nothing from elsewhere.

use super::svg::xml_escape;
use super::{svg, text, Diagram};
use std::fmt::Write;

const STYLE: &str = "body { font-family: system-ui, sans-serif; margin: 1.5em 2em; color: #222; }
h1 { font-size: 1.4em; margin-bottom: 0.3em; }
h2 { font-size: 1.1em; margin: 1.2em 0 0.4em; }
p.legend { color: #444; max-width: 60em; }
p.violation { color: #b00000; font-family: monospace; margin: 0.3em 0; }
p.deadlock { color: #8a4000; font-family: monospace; margin: 0.3em 0; }
p.none { color: #2e7d32; }
div.diagram { overflow-x: auto; border: 1px solid #ddd; padding: 0.5em; margin: 1em 0; }
details pre { font-size: 12px; line-height: 1.25; overflow-x: auto; background: #fafafa; padding: 0.8em; }
";

/// Renders the page.
pub(super) fn render(d: &Diagram, title: &str) -> String {
    let t = xml_escape(title);
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    let _ = writeln!(out, "<title>{t}</title>");
    let _ = writeln!(out, "<style>\n{STYLE}</style>\n</head>\n<body>");
    let _ = writeln!(out, "<h1>{t}</h1>");
    out.push_str(
        "<p class=\"legend\">One lifeline per client fibril and per server connection. A call is \
         drawn when it arrives at its connection (the order the server sees), an answer as a \
         dashed arrow back to the fibril that sent the call, an accepted CONNECT_ME_TO as a \
         green arrow into the new connection. Blue bars are exchanges. Orange notes are \
         run-time failures; whatever a violation names is red.</p>\n",
    );
    out.push_str("<h2>Violations</h2>\n");
    if d.violations.is_empty() {
        out.push_str("<p class=\"none\">No violations.</p>\n");
    }
    for v in &d.violations {
        let _ = writeln!(out, "<p class=\"violation\">{}</p>", xml_escape(v));
    }
    if !d.deadlock.is_empty() {
        out.push_str("<h2>Deadlock: no fibril can run</h2>\n");
        for line in &d.deadlock {
            let _ = writeln!(out, "<p class=\"deadlock\">{}</p>", xml_escape(line));
        }
    }
    out.push_str("<h2>Sequence diagram</h2>\n<div class=\"diagram\">\n");
    out.push_str(&svg::render(d, title));
    out.push_str("</div>\n<details>\n<summary>Text swimlane</summary>\n<pre>");
    out.push_str(&xml_escape(&text::render(d, title)));
    out.push_str("</pre>\n</details>\n</body>\n</html>\n");
    out
}
