//! Inline suppressions: `# ops:ignore RULE -- reason` on the finding's line or the
//! line above, `# ops:ignore-file RULE -- reason` at the top of a file. Several rule
//! ids (or codes: `OPS001`) may be given, separated by commas. A suppression without
//! a reason is itself a warning; one naming an unknown rule is an error (findings of
//! the `suppression` rule).

use std::path::Path;

use super::custom::pos_of;
use super::finding::{Finding, Severity};
use super::rule::Rule as _;
use super::rules::suppression::Suppression as SuppressionRule;

struct Suppression {
    line: usize,
    /// The rules it names, as [`Resolve`] names them.
    rules: Vec<String>,
    whole_file: bool,
}

/// What a name in a suppression means: a built-in rule's id (for its id or code), a
/// custom rule's id, or `None` for an unknown name.
pub(super) type Resolve<'a> = dyn Fn(&str) -> Option<String> + 'a;

/// The suppressions of a file, and the findings they cause (no reason, unknown rule).
fn parse(path: &Path, text: &str, resolve: &Resolve<'_>, problems: &mut Vec<Finding>) -> Vec<Suppression> {
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
        let names: Vec<&str> = ids
            .split([',', ' '])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        let pos = pos_of(text, start + hash, start + line.len());
        let mut problem = |severity: Severity, message: String, help: &str| {
            problems.push(Finding {
                rule: SuppressionRule.id(),
                code: SuppressionRule.code(),
                severity,
                path: path.to_path_buf(),
                pos,
                message,
                help: Some(help.to_owned()),
                custom: None,
            });
        };
        let mut rules = Vec::new();
        for name in &names {
            match resolve(name) {
                Some(rule) => rules.push(rule),
                None => problem(
                    Severity::Error,
                    format!("unknown rule `{name}` in a suppression"),
                    "`ops rules` lists the rule ids",
                ),
            }
        }
        if names.is_empty() {
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
pub(super) fn apply(path: &Path, text: &str, resolve: &Resolve<'_>, findings: &mut Vec<Finding>) {
    if !text.contains("# ops:ignore") {
        return;
    }
    let mut problems = Vec::new();
    let suppressions = parse(path, text, resolve, &mut problems);
    findings.retain(|f| {
        f.path != path
            || !suppressions.iter().any(|s| {
                s.rules
                    .iter()
                    .any(|r| r == f.rule || f.custom.as_deref() == Some(r.as_str()))
                    && (s.whole_file || s.line == f.pos.line || s.line + 1 == f.pos.line)
            })
    });
    findings.extend(problems);
}
