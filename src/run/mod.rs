//! `ops run`: select tasks, check the plan can run, then print it (`--dry-run`) or
//! hand it to the scheduler (`--diff`, apply).

mod contexts;
pub mod journal;
mod lock;
mod outputs;
mod resume;
pub mod saved_plan;
mod scheduler;
mod secrets;
pub mod uptodate;

use std::sync::Arc;

use miette::Diagnostic;
use thiserror::Error;

use crate::diagnostic::suggestion;
use crate::error::{Error as OpsError, ExitStatus};
use crate::report::{Event, Name, Plan, PlannedTask, Reporter};
use crate::task::{TaskId, TaskSet, graph};

pub use contexts::ContextError;
pub use lock::LockError;
pub use outputs::OutputMap;
pub use resume::Resume;

/// The three modes of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Print the plan; change nothing, spawn nothing.
    DryRun,
    /// Run each step's read-only check and report what would change.
    Diff,
    /// Do it.
    Apply,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DryRun => "dry-run",
            Self::Diff => "diff",
            Self::Apply => "apply",
        }
    }
}

/// Settings of a run, validated from the command line.
#[derive(Clone, Debug)]
pub struct Options {
    pub mode: Mode,
    pub jobs: usize,
    pub keep_going: bool,
    /// Answer every confirmation with yes.
    pub yes: bool,
    /// Run tasks even when up to date.
    pub force: bool,
    /// `--diff`: exit 3 when changes are pending.
    pub detailed_exitcode: bool,
    /// A person can answer questions (stdin is a terminal).
    pub interactive: bool,
    /// Wait for another run's lock instead of failing.
    pub wait_lock: bool,
    /// `--resume`: what an earlier run of the same targets already did.
    pub resume: Option<Resume>,
    /// `--diff --save-plan FILE`: where to write the plan.
    pub save_plan: Option<std::path::PathBuf>,
}

#[derive(Debug, Error, Diagnostic)]
pub enum SelectError {
    #[error("unknown task `{name}`")]
    #[diagnostic(code(ops::run::unknown_task))]
    UnknownTask {
        name: String,
        #[help]
        help: Option<String>,
    },

    #[error("no failed or interrupted run of `{targets}` to resume")]
    #[diagnostic(
        code(ops::run::nothing_to_resume),
        help("`ops runs` lists the recorded runs; run without --resume to start afresh")
    )]
    NothingToResume { targets: String },

    #[error("the plan asks for confirmation, but nobody can answer: {tasks}")]
    #[diagnostic(
        code(ops::run::confirmation_required),
        help(
            "run it from a terminal to answer, or pass `--yes` to accept every confirmation; nothing was run"
        )
    )]
    ConfirmationRequired { tasks: String },
}

/// The selected tasks and their dependencies, in an order that respects dependencies.
pub fn select(set: &TaskSet, names: &[String]) -> Result<Vec<TaskId>, SelectError> {
    let roots = names
        .iter()
        .map(|name| {
            set.find(name).ok_or_else(|| SelectError::UnknownTask {
                name: name.clone(),
                help: suggestion(name, set.names())
                    .or_else(|| Some("`ops list` shows every task".to_owned())),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(graph::closure(set, &roots))
}

/// Run `order` (from [`select`] for `targets`) in the given mode.
pub fn run(
    set: &TaskSet,
    order: &[TaskId],
    targets: &[String],
    opts: &Options,
    reporter: &mut dyn Reporter,
) -> Result<ExitStatus, OpsError> {
    let targets: Vec<Name> = targets.iter().map(|t| Arc::from(t.as_str())).collect();
    if opts.mode == Mode::Apply && !opts.yes && !opts.interactive {
        let asking: Vec<&str> = order
            .iter()
            .map(|&id| set.get(id))
            .filter(|t| t.confirm.is_some())
            .map(|t| t.name.as_str())
            .collect();
        if !asking.is_empty() {
            return Err(SelectError::ConfirmationRequired {
                tasks: asking.join(", "),
            }
            .into());
        }
    }
    if opts.mode == Mode::DryRun {
        let state = uptodate::State::load(set.root());
        reporter.handle(&Event::Plan(plan(set, order, &state, targets, opts.force)));
        return Ok(ExitStatus::Success);
    }
    if opts.mode == Mode::Apply {
        contexts::check(set, order)?;
    }
    let _lock = if opts.mode == Mode::Apply {
        let holder = lock::Holder {
            pid: std::process::id(),
            tasks: targets.iter().map(ToString::to_string).collect(),
            started_at: journal::now(),
        };
        let held = lock::acquire(set.root(), &holder, opts.wait_lock)?;
        if let Some(previous) = &held.took_over {
            reporter.handle(&Event::Warning(format!(
                "took over the lock of pid {} ({}, started {}), which is no longer running",
                previous.pid,
                previous.tasks.join(", "),
                previous.started_at
            )));
        }
        Some(held)
    } else {
        None
    };
    // One thread is enough to drive child processes, and keeps per-task latency low.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| OpsError::Io {
            what: "the task runtime".into(),
            source,
        })?;
    let status = runtime.block_on(scheduler::execute(set, order, targets, opts, reporter));
    // A question left unanswered (Ctrl-C at a prompt) must not keep ops waiting on stdin.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    Ok(status)
}

/// The plan `--dry-run` prints: nothing is spawned, only files are read for
/// up-to-date checks.
pub fn plan(
    set: &TaskSet,
    order: &[TaskId],
    state: &uptodate::State,
    targets: Vec<Name>,
    force: bool,
) -> Plan {
    let waves = graph::waves(set, order)
        .into_iter()
        .map(|wave| {
            wave.into_iter()
                .map(|id| {
                    let task = set.get(id);
                    let step = task
                        .action
                        .as_ref()
                        .map(crate::executor::Action::plan)
                        .unwrap_or_default();
                    PlannedTask {
                        task: Arc::from(task.name.as_str()),
                        kind: task.action.as_ref().map(crate::executor::Action::key),
                        lines: step.lines,
                        check: step.check,
                        deps: task
                            .deps
                            .iter()
                            .map(|&d| Arc::from(set.get(d).name.as_str()))
                            .collect(),
                        up_to_date: !force && uptodate::is_up_to_date(set.root(), task, state),
                        confirm: task.confirm.clone(),
                    }
                })
                .collect()
        })
        .collect();
    Plan { targets, waves }
}
