//! `--format github`: workflow commands that GitHub and Forgejo Actions turn into
//! annotations: `::error file=…,line=…,col=…,title=…::message`.

use std::fmt::Write as _;

use crate::policy::Report;
use crate::policy::finding::Severity;

/// Workflow command values escape `%`, CR and LF (and `,`/`:` in properties).
fn escape(text: &str, property: bool) -> String {
    let mut out = text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A");
    if property {
        out = out.replace(':', "%3A").replace(',', "%2C");
    }
    out
}

pub(crate) fn render(report: &Report) -> String {
    let mut out = String::new();
    for f in &report.findings {
        let level = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let _ = writeln!(
            out,
            "::{level} file={},line={},col={},title={}::{}",
            escape(&super::shown(&f.path), true),
            f.pos.line,
            f.pos.column,
            escape(&format!("{} ({})", f.id(), f.code), true),
            escape(&f.message, false)
        );
    }
    out
}
