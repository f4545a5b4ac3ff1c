//! `--format sarif`: SARIF 2.1.0, as code-scanning views read it: one run, the
//! rules with their help text, each result with a physical location.

use serde_json::{Value, json};

use crate::policy::Report;
use crate::policy::finding::Severity;
use crate::policy::rule;

pub(crate) fn render(report: &Report) -> String {
    let mut rules: Vec<Value> = rule::RULES
        .iter()
        .map(|r| {
            json!({
                "id": r.id(),
                "name": r.code(),
                "shortDescription": {"text": r.summary()},
                "fullDescription": {"text": what_it_checks(r.doc()).unwrap_or_else(|| r.summary().to_owned())},
                "help": {"text": r.doc(), "markdown": r.doc()},
                "defaultConfiguration": {"level": level(r.default_severity())},
            })
        })
        .collect();
    // Custom rules are rules of their own in code-scanning views, under their ids.
    rules.extend(report.custom_rules.iter().map(|(id, message)| {
        json!({
            "id": id,
            "name": "OPS900",
            "shortDescription": {"text": message},
            "fullDescription": {"text": format!("{message} (custom rule `{id}` of the repository's policies)")},
            "help": {"text": format!("custom rule `{id}`, defined in policies/*.toml: {message}")},
            "defaultConfiguration": {"level": "error"},
        })
    }));
    let index = |id: &str| rules.iter().position(|r| r["id"] == id);
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let mut message = f.message.clone();
            if let Some(help) = &f.help {
                message = format!("{message}. {help}");
            }
            json!({
                "ruleId": f.id(),
                "ruleIndex": index(f.id()),
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
            "tool": {"driver": driver(&rules)},
            "results": results,
        }],
    });
    format!("{}\n", serde_json::to_string_pretty(&sarif).unwrap_or_default())
}

fn driver(rules: &[Value]) -> Value {
    let mut driver = json!({
        "name": "ops",
        "version": env!("CARGO_PKG_VERSION"),
        "semanticVersion": env!("CARGO_PKG_VERSION"),
        "rules": rules,
    });
    if let Some(uri) = option_env!("CARGO_PKG_HOMEPAGE").filter(|u| !u.is_empty()) {
        driver["informationUri"] = json!(uri);
    }
    driver
}

/// The "What it checks" section of a rule's documentation, as one paragraph.
fn what_it_checks(doc: &str) -> Option<String> {
    let start = doc.find("## What it checks")? + "## What it checks".len();
    let section = &doc[start..];
    let end = section.find("\n##").unwrap_or(section.len());
    let text = section[..end].split_whitespace().collect::<Vec<_>>().join(" ");
    (!text.is_empty()).then_some(text)
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}
