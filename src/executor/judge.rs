//! Judging a text (a command's output, a pod's log) against a step's `expect` and
//! `reject` patterns, as `gate` and `kube-job` do: `reject` must not match, `expect`
//! must, and the named groups of `expect` become the step's outputs.

use super::StepContext;
use super::pattern::Pattern;

/// A text that passed.
pub(super) struct Met {
    /// The line `expect` matched on, if there is an `expect`.
    line: Option<String>,
    captures: Vec<(String, String)>,
}

impl Met {
    /// Report `{what} met: LINE` and each capture; produce the captures.
    pub(super) fn report(self, cx: &StepContext<'_>, what: &str) {
        match self.line {
            Some(line) => cx.report(format!("{what} met: {line}")),
            None => cx.report(format!("{what} met")),
        }
        for (name, value) in self.captures {
            cx.report(format!("  {name} = {value}"));
            cx.produce(&name, value);
        }
    }
}

/// Judge `text`. `what` starts the failure (`gate`), `noun` names the text (`output`,
/// `log`) and `source` where it came from (the output of `cmd`).
pub(super) fn judge(
    text: &str,
    expect: Option<&Pattern>,
    reject: Option<&Pattern>,
    what: &str,
    noun: &str,
    source: &str,
) -> Result<Met, String> {
    if let Some(reject) = reject
        && let Some(m) = reject.regex().find(text)
    {
        let line = text[..m.start()].lines().count().max(1);
        return Err(format!(
            "{what} rejected: /{}/ matched on line {line}: {}{}",
            reject.as_str(),
            line_at(text, m.start()),
            tail(text, &format!("the {noun} ended with"))
        ));
    }
    let Some(expect) = expect else {
        return Ok(Met {
            line: None,
            captures: Vec::new(),
        });
    };
    let Some(caps) = expect.regex().captures(text) else {
        return Err(format!(
            "{what} not met: /{}/ not found in {source}{}",
            expect.as_str(),
            tail(text, "it ended with")
        ));
    };
    let captures = expect
        .regex()
        .capture_names()
        .flatten()
        .filter_map(|name| Some((name.to_owned(), caps.name(name)?.as_str().to_owned())))
        .collect();
    Ok(Met {
        line: Some(line_at(text, caps.get(0).map_or(0, |m| m.start()))),
        captures,
    })
}

/// The whole line around byte `at`, trimmed and cut to 200 characters.
fn line_at(text: &str, at: usize) -> String {
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    text[start..end].trim().chars().take(200).collect()
}

/// The last lines of a judged text, for a failure: `; {what}:` and up to 10 lines,
/// indented; nothing for no text.
pub(super) fn tail(text: &str, what: &str) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return String::new();
    }
    let shown = &lines[lines.len().saturating_sub(10)..];
    let mut out = format!("; {what}:");
    for line in shown {
        let line: String = line.chars().take(300).collect();
        out.push_str("\n  | ");
        out.push_str(&line);
    }
    out
}
