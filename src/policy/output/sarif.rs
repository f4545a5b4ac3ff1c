//! `--format sarif`: SARIF 2.1.0, as code-scanning views read it: one run, the
//! rules with their help text, each result with a physical location.

use serde_json::{Value, json};

use crate::policy::Report;
use crate::policy::finding::Severity;
use crate::policy::rule;

pub(crate) fn render(report: &Report) -> String {
    let rules: Vec<Value> = rule::RULES
        .iter()
        .map(|r| {
            json!({
                "id": r.id(),
                "name": r.code(),
                "shortDescription": {"text": r.summary()},
                "fullDescription": {"text": r.summary()},
                "help": {"text": r.doc(), "markdown": r.doc()},
                "defaultConfiguration": {"level": level(r.default_severity())},
            })
        })
        .collect();
    let index = |id: &str| rules.iter().position(|r| r["id"] == id).unwrap_or(0);
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let mut message = f.message.clone();
            if let Some(help) = &f.help {
                message = format!("{message}. {help}");
            }
            json!({
                "ruleId": f.rule,
                "ruleIndex": index(f.rule),
                "level": level(f.severity),
                "message": {"text": message},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": super::shown(&f.path), "uriBaseId": "%SRCROOT%"},
                        "region": {"startLine": f.pos.line, "startColumn": f.pos.column},
                    }
                }],
            })
        })
        .collect();
    let sarif = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "ops",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
        }],
    });
    format!("{}\n", serde_json::to_string_pretty(&sarif).unwrap_or_default())
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}
