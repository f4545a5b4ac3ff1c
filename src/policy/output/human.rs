//! Findings as people read them: file:line:col, the source line with a caret under
//! the value, the rule id and a help line; then a summary (not with `--quiet`).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, Severity as MietteSeverity, SourceSpan};

use super::snippet::{self, Indexed};
use crate::policy::Report;
use crate::policy::finding::{Finding, Severity};

#[derive(Debug)]
struct Shown {
    finding: Finding,
    /// The source to show, and the finding's span in it.
    src: Option<(snippet::Shown, SourceSpan)>,
}

impl std::fmt::Display for Shown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.finding.message)
    }
}

impl std::error::Error for Shown {}

impl Diagnostic for Shown {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(format!("{}({})", self.finding.id(), self.finding.code)))
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
        self.src.as_ref().map(|(src, _)| src.code())
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let (_, span) = self.src.as_ref()?;
        let label = LabeledSpan::new_with_span(Some(self.finding.id().to_owned()), *span);
        Some(Box::new(std::iter::once(label)))
    }
}

/// The report as text for a terminal or a log.
pub(crate) fn render(report: &Report, quiet: bool) -> String {
    let mut out = String::new();
    // Indexed once per file, when a finding first needs it.
    let mut indexed: HashMap<&Path, Option<Arc<Indexed>>> = HashMap::new();
    for finding in &report.findings {
        let file = indexed.entry(&finding.path).or_insert_with(|| {
            report
                .repo
                .shown(&finding.path)
                .map(|s| Arc::new(Indexed::new(&s)))
        });
        let src = file.as_ref().map(|file| file.for_finding(finding.pos));
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
    if quiet {
        return out;
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
