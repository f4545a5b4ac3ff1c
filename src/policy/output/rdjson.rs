//! `--format rdjson`: reviewdog's diagnostic format, for teams that post findings as
//! pull-request review comments (`reviewdog -f=rdjson -reporter=gitea-pr-review` on
//! Forgejo, which has no code-scanning page).

use serde_json::{Value, json};

use crate::policy::Report;
use crate::policy::finding::Severity;

pub(crate) fn render(report: &Report) -> String {
    let diagnostics: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let mut message = f.message.clone();
            if let Some(help) = &f.help {
                message = format!("{message}\n\n{help}");
            }
            json!({
                "message": message,
                "location": {
                    "path": super::shown(&f.path),
                    "range": {"start": {"line": f.pos.line, "column": f.pos.column}},
                },
                "severity": severity(f.severity),
                "code": {"value": format!("{} ({})", f.id(), f.code)},
            })
        })
        .collect();
    format!(
        "{}\n",
        json!({
            "source": {"name": "ops lint"},
            "diagnostics": diagnostics,
        })
    )
}

fn severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "ERROR",
        Severity::Warning => "WARNING",
        Severity::Info => "INFO",
    }
}
