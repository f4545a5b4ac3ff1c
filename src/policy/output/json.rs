//! `--format json`: `{"version": 1, "findings": [...], "files_scanned": N}`, paths relative to the root.

use serde_json::json;

use crate::policy::Report;

pub(crate) fn render(report: &Report) -> String {
    let findings: Vec<_> = report
        .findings
        .iter()
        .map(|f| {
            json!({
                "rule": f.id(),
                "code": f.code,
                "severity": f.severity.as_str(),
                "path": super::shown(&f.path),
                "line": f.pos.line,
                "column": f.pos.column,
                "message": f.message,
            })
        })
        .collect();
    format!(
        "{}\n",
        json!({ "version": crate::schema::JSON_VERSION, "findings": findings, "files_scanned": report.files_scanned })
    )
}
