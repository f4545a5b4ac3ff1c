//! Findings as people read them: file:line:col, the source line with a caret under
//! the value, the rule id and a help line; then a summary.

use std::fmt::Write as _;
use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, NamedSource, Severity as MietteSeverity};

use crate::policy::Report;
use crate::policy::finding::{Finding, Severity};

#[derive(Debug)]
struct Shown {
    finding: Finding,
    src: Option<NamedSource<Arc<str>>>,
}

impl std::fmt::Display for Shown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.finding.message)
    }
}

impl std::error::Error for Shown {}

impl Diagnostic for Shown {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(format!("{}({})", self.finding.rule, self.finding.code)))
    }

    fn severity(&self) -> Option<MietteSeverity> {
        Some(match self.finding.severity {
            Severity::Error => MietteSeverity::Error,
            Severity::Warning => MietteSeverity::Warning,
            Severity::Info => MietteSeverity::Advice,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.finding
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.src.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.src.as_ref()?;
        let pos = self.finding.pos;
        let label = LabeledSpan::new(Some(self.finding.rule.to_owned()), pos.start, pos.end - pos.start);
        Some(Box::new(std::iter::once(label)))
    }
}

/// The report as text for a terminal or a log.
pub(crate) fn render(report: &Report) -> String {
    let mut out = String::new();
    for finding in &report.findings {
        let src = report
            .repo
            .source(&finding.path)
            .map(crate::diagnostic::SourceFile::named);
        let place = format!(
            "{}:{}:{}",
            super::shown(&finding.path),
            finding.pos.line,
            finding.pos.column
        );
        let _ = writeln!(out, "{place}");
        let _ = writeln!(
            out,
            "{:?}",
            miette::Report::new(Shown {
                finding: finding.clone(),
                src
            })
        );
    }
    let errors = report.count(Severity::Error);
    let warnings = report.count(Severity::Warning);
    let infos = report.count(Severity::Info);
    let noun = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let _ = writeln!(
        out,
        "{}: {}, {}, {} in {} ms",
        noun(report.files_scanned, "file scanned", "files scanned"),
        noun(errors, "error", "errors"),
        noun(warnings, "warning", "warnings"),
        noun(infos, "info", "infos"),
        report.duration.as_millis()
    );
    out
}
