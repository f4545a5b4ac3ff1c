//! `--format json`: `{"version": 1, "findings": [...], "files_scanned": N}`, paths
//! relative to the root (its JSON Schema: `schemas/lint.json`, from `ops schema lint`).

use schemars::JsonSchema;
use serde::Serialize;

use crate::policy::Report;
use crate::policy::finding::Severity;

/// `ops lint --format json`.
#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(title = "ops lint --format json")]
pub(crate) struct LintJson<'a> {
    /// The version of the format: raised when a field changes meaning or goes away.
    version: u32,
    findings: Vec<FindingJson<'a>>,
    /// How many files were read.
    files_scanned: usize,
}

/// One finding: a rule, a place, a message.
#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
struct FindingJson<'a> {
    /// The rule's id (`image-pinned`), or the id of a custom rule.
    rule: &'a str,
    /// The rule's code (`OPS001`).
    code: &'a str,
    severity: Severity,
    /// Relative to the repository's root, with `/`.
    path: String,
    /// 1-based.
    line: usize,
    /// 1-based, in characters.
    column: usize,
    message: &'a str,
}

pub(crate) fn render(report: &Report) -> String {
    let doc = LintJson {
        version: crate::schema::JSON_VERSION,
        findings: report
            .findings
            .iter()
            .map(|f| FindingJson {
                rule: f.id(),
                code: f.code,
                severity: f.severity,
                path: super::shown(&f.path),
                line: f.pos.line,
                column: f.pos.column,
                message: &f.message,
            })
            .collect(),
        files_scanned: report.files_scanned,
    };
    format!("{}\n", serde_json::to_string(&doc).unwrap_or_default())
}
