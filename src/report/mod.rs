//! What a run reports, and the reporters that render it.
//!
//! The scheduler emits [`Event`]s; a [`Reporter`] renders them (a terminal with
//! progress bars, plain prefixed lines for logs and CI, JSON lines). Nothing else
//! writes to the user.

mod human;
mod json;
pub(crate) mod missing;
mod plan;
mod redact;
mod summary;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub(crate) use human::{Human, HumanOptions, OutputMode};
pub(crate) use json::{EventLine, Json};
pub(crate) use missing::{DoctorJson, Missing};
pub(crate) use redact::Redacting;

use crate::process::Stream;

/// A task's name, cheap to clone into every event.
pub(crate) type Name = Arc<str>;

/// The three modes of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Mode {
    /// Print the plan; change nothing, spawn nothing.
    DryRun,
    /// Run each step's read-only check and report what would change.
    Diff,
    /// Do it.
    Apply,
}

impl Mode {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::DryRun => "dry-run",
            Self::Diff => "diff",
            Self::Apply => "apply",
        }
    }
}

/// The final state of a task in a run, as every output names it: the JSON events,
/// the run journal and saved plans (`up_to_date`, `no_change`, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Status {
    Ok,
    Failed,
    Skipped,
    UpToDate,
    /// `--diff`: nothing would change.
    NoChange,
    /// `--diff`: changes pending.
    Changes,
    /// `--diff`: the step cannot tell.
    Unknown,
    /// Stopped by Ctrl-C or SIGTERM.
    Interrupted,
    /// `--resume`: done by the run being resumed, not run again.
    Resumed,
    /// `--keep-going`: this machine lacks what it needs (`ops doctor`), so it was
    /// not started.
    NotRunnable,
}

impl Status {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
            Self::UpToDate => "up to date",
            Self::NoChange => "no change",
            Self::Changes => "changes",
            Self::Unknown => "unknown",
            Self::Interrupted => "interrupted",
            Self::Resumed => "done earlier",
            Self::NotRunnable => "not runnable",
        }
    }

    /// The name used in JSON output.
    pub(crate) fn id(self) -> &'static str {
        match self {
            Self::UpToDate => "up_to_date",
            Self::Resumed => "resumed",
            Self::NoChange => "no_change",
            Self::NotRunnable => "not_runnable",
            other => other.as_str(),
        }
    }
}

/// Which list of a task a handler comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum HandlerKind {
    /// `on-failure`: run when the task (or a task under an aggregate) failed.
    OnFailure,
    /// `finally`: run after the task whether it failed or not.
    Finally,
}

impl HandlerKind {
    /// The key of the task file.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Self::OnFailure => "on-failure",
            Self::Finally => "finally",
        }
    }
}

/// Why tasks run as handlers: the `on-failure` or `finally` list of a task, and for
/// `on-failure` the failure that set it off.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub(crate) struct Trigger {
    pub kind: HandlerKind,
    /// The task whose list it is.
    pub of: String,
    /// `on-failure`: the task that failed (`of` itself, or a task under it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
}

impl Trigger {
    /// `on-failure of deploy (build failed)`, `finally of deploy`.
    pub(crate) fn describe(&self) -> String {
        let of = format!("{} of {}", self.kind.key(), self.of);
        match &self.failed {
            Some(failed) if *failed == self.of => format!("{of} (failed)"),
            Some(failed) => format!("{of} ({failed} failed)"),
            None => of,
        }
    }
}

/// How one task ended.
#[derive(Clone, Debug)]
pub(crate) struct TaskResult {
    pub task: Name,
    pub status: Status,
    pub duration: Option<Duration>,
    pub exit_code: Option<i32>,
    /// Why it failed or was skipped.
    pub reason: Option<String>,
    /// The last lines of stderr of a failed command.
    pub stderr_tail: Option<String>,
    /// The values the task produced (or, resumed, had produced): `{{ tasks.NAME.KEY }}`.
    pub outputs: BTreeMap<String, String>,
    /// The keys of `outputs` whose values held a secret and were redacted (so they
    /// cannot be restored from a record of the run).
    pub redacted: Vec<String>,
    /// It ran as a handler (or for one, as its dependency): why.
    pub handler: Option<Trigger>,
}

/// The whole run.
#[derive(Clone, Debug)]
pub(crate) struct Summary {
    pub mode: Mode,
    pub results: Vec<TaskResult>,
    pub duration: Duration,
    pub exit_code: u8,
    /// Handlers that did not run because the run was stopped (interrupted).
    pub not_run: Option<NotRun>,
}

/// The handlers a stopped run did not run, and why.
#[derive(Clone, Debug)]
pub(crate) struct NotRun {
    pub why: String,
    /// Each trigger with the handlers it names.
    pub handlers: Vec<(Trigger, Vec<Name>)>,
}

/// A task as `--dry-run` shows it.
#[derive(Clone, Debug)]
pub(crate) struct PlannedTask {
    pub task: Name,
    /// The action key, or `None` for an aggregate.
    pub kind: Option<&'static str>,
    pub lines: Vec<String>,
    /// The read-only check `--diff` would run.
    pub check: Option<String>,
    pub deps: Vec<Name>,
    pub up_to_date: bool,
    pub confirm: Option<String>,
    /// Its `env`, environment variables of `ops` filled in (secrets as references).
    pub env: Vec<(String, String)>,
    /// Its env files, as written (`(optional)` after the optional ones).
    pub env_files: Vec<String>,
    /// Its working directory, when not the root.
    pub dir: Option<String>,
    /// The tools from Nix it gets (`nix-tools`), described.
    pub tools: Option<String>,
    /// The Kubernetes Lease an apply takes for the run (`lock`), described.
    pub lock: Option<String>,
    /// It gets the terminal and runs alone.
    pub interactive: bool,
    /// It does not run but counts as done (`--skip`, `--no-deps`): why.
    pub skipped: Option<String>,
}

/// The handlers of one task as `--dry-run` shows them.
#[derive(Clone, Debug)]
pub(crate) struct PlannedHandlers {
    pub kind: HandlerKind,
    /// The task whose list it is.
    pub of: Name,
    /// `of` is an aggregate: a failure of any task under it counts.
    pub aggregate: bool,
    /// The tasks of the list.
    pub handlers: Vec<Name>,
    /// What would run for them, dependencies first; tasks shown earlier in the plan
    /// are left out (a task runs once).
    pub tasks: Vec<PlannedTask>,
}

/// The plan of a run: tasks grouped into waves that can run in parallel, then the
/// handlers that may run after them.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    pub targets: Vec<Name>,
    pub waves: Vec<Vec<PlannedTask>>,
    pub handlers: Vec<PlannedHandlers>,
}

/// Everything a run reports, in order.
#[derive(Clone, Debug)]
pub(crate) enum Event {
    RunStarted {
        mode: Mode,
        targets: Vec<Name>,
        tasks: usize,
        jobs: usize,
    },
    Plan(Plan),
    /// `command` is the first line of the step's plan, for logs. `terminal`: the
    /// task has the terminal (an interactive command): until it finishes, nothing
    /// else runs and a reporter draws nothing on the terminal.
    TaskStarted {
        task: Name,
        attempt: u32,
        command: Option<String>,
        terminal: bool,
    },
    Output {
        task: Name,
        stream: Stream,
        line: String,
    },
    Retrying {
        task: Name,
        attempt: u32,
        delay: Duration,
        reason: String,
    },
    Confirmed {
        task: Name,
        question: String,
        by_flag: bool,
    },
    /// A task started a process, leader of this process group.
    ProcessStarted {
        task: Name,
        pgid: i32,
    },
    TaskFinished(TaskResult),
    /// Handlers start: the tasks of the `on-failure` or `finally` list of a task
    /// (their dependencies come with them).
    Handlers {
        trigger: Trigger,
        handlers: Vec<Name>,
    },
    /// Something the user should know that is not a task's output (a journal that
    /// cannot be written, tasks that changed since the run being resumed).
    Warning(String),
    /// Information about the run itself (where a plan was saved).
    Note(String),
    /// What this machine lacks for the tasks about to run, found before any starts.
    Missing(Vec<Missing>),
    RunFinished(Summary),
}

/// Renders events.
pub(crate) trait Reporter: Send {
    fn handle(&mut self, event: &Event);

    /// Show a yes/no question; the answer is read from stdin by the caller.
    /// Live output (progress bars) stays paused until [`Reporter::prompt_done`].
    fn prompt(&mut self, task: &str, question: &str) {
        use std::io::Write as _;
        let mut stderr = std::io::stderr().lock();
        let _ = write!(stderr, "{task}: {question} [y/N] ");
        let _ = stderr.flush();
    }

    /// The question was answered (or abandoned).
    fn prompt_done(&mut self) {}

    /// Write what was kept for later ([`Reporter::flush_due`]). A reporter that
    /// wraps another flushes it too.
    fn flush(&mut self) {}

    /// When what this reporter keeps for later must be written: the scheduler
    /// calls [`Reporter::flush`] then if nothing else has written it first.
    fn flush_due(&self) -> Option<std::time::Instant> {
        None
    }

    /// Why the run must start no more tasks, if it must: a record of the run that
    /// can no longer be written. A reporter that wraps another asks it too.
    fn must_stop(&self) -> Option<String> {
        None
    }
}

/// Format a duration as people read it in a summary: `0.4s`, `12.3s`, `2m 05s`.
pub(crate) fn short_duration(d: Duration) -> String {
    // Tenths of a second, rounded, in integers (a float formatted is ten times the work).
    let tenths = u64::try_from((d.as_micros() + 50_000) / 100_000).unwrap_or(u64::MAX);
    if tenths < 600 {
        format!("{}.{}s", tenths / 10, tenths % 10)
    } else {
        let whole = tenths / 10;
        format!("{}m {:02}s", whole / 60, whole % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::short_duration;
    use std::time::Duration;

    #[test]
    fn durations_read_in_tenths_then_minutes() {
        let ms = Duration::from_millis;
        let cases = [
            (ms(0), "0.0s"),
            (ms(49), "0.0s"),
            (ms(50), "0.1s"),
            (ms(1_249), "1.2s"),
            (ms(1_250), "1.3s"),
            (ms(59_940), "59.9s"),
            (ms(59_960), "1m 00s"),
            (ms(125_000), "2m 05s"),
            (Duration::from_secs(7_322), "122m 02s"),
        ];
        for (d, shown) in cases {
            assert_eq!(short_duration(d), shown, "{d:?}");
        }
    }
}
