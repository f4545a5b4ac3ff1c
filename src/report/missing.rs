//! What this machine lacks for the tasks of a run (`ops doctor`, and the checks
//! before `ops run` starts anything): one line a finding, `task: what — way out`.

use std::fmt::Write as _;

use console::Style;
use schemars::JsonSchema;
use serde::Serialize;

use super::Name;

/// One thing a task needs that this machine does not have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Missing {
    pub task: Name,
    /// `` `nix-build` (nix-build) is not on PATH ``.
    pub what: String,
    /// What to do about it: `install Nix: apt-get install nix-bin`.
    pub way_out: String,
    /// Tasks it depends on that run before it in the same run and may create or
    /// start what is missing (a file, a service): then this is a warning, not a
    /// reason to refuse the task. Empty: the task cannot possibly succeed.
    pub earlier: Vec<Name>,
}

impl Missing {
    /// The task cannot possibly succeed.
    pub(crate) fn blocks(&self) -> bool {
        self.earlier.is_empty()
    }

    /// `what — way out`, the note of a task that cannot run.
    pub(crate) fn reason(&self) -> String {
        format!("{} — {}", self.what, self.way_out)
    }

    /// `task: what — way out`, marked as a blocker (`✗`) or a warning (`!`).
    pub(crate) fn line(&self) -> String {
        if self.blocks() {
            let mark = Style::new().red().bold().apply_to("✗");
            format!("{mark} {}: {}", self.task, self.reason())
        } else {
            let mark = Style::new().yellow().apply_to("!");
            let earlier: Vec<&str> = self.earlier.iter().map(|t| &**t).collect();
            let verb = if earlier.len() == 1 { "runs" } else { "run" };
            format!(
                "{mark} {}: {} — may be provided first by {}, which {verb} before it; otherwise: {}",
                self.task,
                self.what,
                earlier.join(", "),
                self.way_out
            )
        }
    }

    pub(crate) fn json(&self) -> MissingJson<'_> {
        MissingJson {
            task: &self.task,
            what: &self.what,
            way_out: &self.way_out,
            blocks: self.blocks(),
            earlier: self.earlier.iter().map(|t| &**t).collect(),
        }
    }
}

/// One thing a task needs that this machine does not have.
#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct MissingJson<'a> {
    task: &'a str,
    /// What is missing.
    what: &'a str,
    /// What to do about it.
    way_out: &'a str,
    /// The task cannot possibly succeed (no task before it may provide what is missing).
    blocks: bool,
    /// Tasks that run before it and may provide what is missing.
    earlier: Vec<&'a str>,
}

/// `ops doctor --format json`.
#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(title = "ops doctor --format json")]
pub(crate) struct DoctorJson<'a> {
    version: u32,
    /// How many tasks were checked.
    checked: usize,
    /// The tasks that cannot run here.
    blocked: Vec<&'a str>,
    findings: Vec<MissingJson<'a>>,
}

/// The tasks that cannot run, each once, in the order of the findings.
pub(crate) fn blocked(findings: &[Missing]) -> Vec<Name> {
    let mut tasks: Vec<Name> = Vec::new();
    for finding in findings.iter().filter(|f| f.blocks()) {
        if !tasks.contains(&finding.task) {
            tasks.push(finding.task.clone());
        }
    }
    tasks
}

/// What `ops doctor` prints: a line per finding, then how many of the `checked`
/// tasks cannot run and how many warnings there are.
pub(crate) fn render(findings: &[Missing], checked: usize) -> String {
    let mut out = String::new();
    for finding in findings {
        let _ = writeln!(out, "{}", finding.line());
    }
    let noun = if checked == 1 { "task" } else { "tasks" };
    let blocked = blocked(findings).len();
    let warnings = findings.iter().filter(|f| !f.blocks()).count();
    let mut parts = Vec::new();
    if blocked > 0 {
        parts.push(
            Style::new()
                .red()
                .bold()
                .apply_to(format!("{blocked} cannot run here"))
                .to_string(),
        );
    }
    if warnings > 0 {
        let plural = if warnings == 1 { "" } else { "s" };
        parts.push(
            Style::new()
                .yellow()
                .apply_to(format!("{warnings} warning{plural}"))
                .to_string(),
        );
    }
    if parts.is_empty() {
        parts.push(Style::new().green().apply_to("nothing missing").to_string());
    }
    if !findings.is_empty() {
        out.push('\n');
    }
    let _ = writeln!(out, "{checked} {noun} checked: {}", parts.join(", "));
    out
}

/// `ops doctor --output json`: the findings and the tasks that cannot run.
pub(crate) fn json(findings: &[Missing], checked: usize) -> String {
    let blocked = blocked(findings);
    let doc = DoctorJson {
        version: crate::schema::JSON_VERSION,
        checked,
        blocked: blocked.iter().map(|t| &**t).collect(),
        findings: findings.iter().map(Missing::json).collect(),
    };
    serde_json::to_string(&doc).unwrap_or_default()
}
