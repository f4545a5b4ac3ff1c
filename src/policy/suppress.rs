//! Inline suppressions: `# ops:ignore RULE -- reason` on the finding's line or the
//! line above, `# ops:ignore-file RULE -- reason` at the top of a file. Several rule
//! ids may be given, separated by commas. A suppression without a reason is itself
//! a warning; one naming an unknown rule is an error.

use std::path::Path;

use super::custom::pos_of;
use super::finding::{Finding, Severity};

struct Suppression {
    line: usize,
    rules: Vec<String>,
    whole_file: bool,
}

/// The suppressions of a file, and the findings they cause (no reason, unknown rule).
fn parse(
    path: &Path,
    text: &str,
    known: &dyn Fn(&str) -> bool,
    problems: &mut Vec<Finding>,
) -> Vec<Suppression> {
    let mut out = Vec::new();
    let mut at_top = true;
    let mut offset = 0;
    for (index, line) in text.lines().enumerate() {
        let start = offset;
        offset += line.len() + 1;
        let trimmed = line.trim_start();
        if !trimmed.is_empty() && !trimmed.starts_with('#') && trimmed != "---" {
            at_top = false;
        }
        let Some(hash) = line.find("# ops:ignore") else {
            continue;
        };
        let comment = &line[hash + 2..];
        let (whole_file, rest) = match comment.strip_prefix("ops:ignore-file") {
            Some(rest) => (true, rest),
            None => (false, comment.strip_prefix("ops:ignore").unwrap_or_default()),
        };
        let (ids, reason) = rest.split_once("--").map_or((rest, ""), |(i, r)| (i, r.trim()));
        let rules: Vec<String> = ids
            .split([',', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        let pos = pos_of(text, start + hash, start + line.len());
        let mut problem = |severity: Severity, message: String, help: &str| {
            problems.push(Finding {
                rule: "suppression",
                code: "OPS000",
                severity,
                path: path.to_path_buf(),
                pos,
                message,
                help: Some(help.to_owned()),
            });
        };
        for rule in rules.iter().filter(|r| !known(r)) {
            problem(
                Severity::Error,
                format!("unknown rule `{rule}` in a suppression"),
                "`ops rules` lists the rule ids",
            );
        }
        if rules.is_empty() {
            problem(
                Severity::Error,
                "a suppression must name the rules it silences".into(),
                "# ops:ignore RULE -- reason",
            );
        }
        if reason.is_empty() {
            problem(
                Severity::Warning,
                "a suppression without a reason".into(),
                "say why after `--`: # ops:ignore RULE -- reason",
            );
        }
        if whole_file && !at_top {
            problem(
                Severity::Warning,
                "`ops:ignore-file` belongs at the top of the file".into(),
                "move it above the first line of YAML",
            );
        }
        out.push(Suppression {
            line: index + 1,
            rules,
            whole_file,
        });
    }
    out
}

/// Drop the findings of `file` that a suppression in it silences; add the findings
/// about the suppressions themselves.
pub fn apply(path: &Path, text: &str, known: &dyn Fn(&str) -> bool, findings: &mut Vec<Finding>) {
    if !text.contains("# ops:ignore") {
        return;
    }
    let mut problems = Vec::new();
    let suppressions = parse(path, text, known, &mut problems);
    findings.retain(|f| {
        f.path != path
            || !suppressions.iter().any(|s| {
                s.rules.iter().any(|r| r == f.rule)
                    && (s.whole_file || s.line == f.pos.line || s.line + 1 == f.pos.line)
            })
    });
    findings.extend(problems);
}
