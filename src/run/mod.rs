//! `ops run`: select tasks, check the plan can run, then print it (`--dry-run`) or
//! hand it to the scheduler (`--diff`, apply).

mod attempt;
mod choose;
pub(crate) mod doctor;
mod environment;
mod handlers;
pub(crate) mod journal;
mod lease;
mod ledger;
mod lock;
mod outputs;
mod plan;
mod prompt;
mod recorder;
mod resume;
pub(crate) mod saved_plan;
mod scheduler;
mod secrets;
#[cfg(test)]
mod testing;
pub(crate) mod uptodate;
mod verdict;

use std::collections::HashMap;
use std::sync::Arc;

use miette::Diagnostic;
use thiserror::Error;

use crate::diagnostic::suggestion;
use crate::exit::ExitStatus;
use crate::redact::Redactor;
pub(crate) use crate::report::Mode;
use crate::report::{Event, Name, Redacting, Reporter, Summary};
use crate::task::{Task, TaskId, TaskSet, graph};

pub(crate) use choose::{ChooseError, Excluded, Selection, choose, only};
pub(crate) use handlers::may_run;
pub(crate) use lease::LeaseError;
pub(crate) use lock::LockError;
pub(crate) use resume::Resume;

/// Settings of a run, validated from the command line.
#[derive(Clone, Debug)]
pub(crate) struct Options {
    pub mode: Mode,
    pub jobs: usize,
    pub keep_going: bool,
    /// Answer every confirmation with yes.
    pub yes: bool,
    /// Run tasks even when up to date.
    pub force: bool,
    /// `--diff`: exit 3 when changes are pending.
    pub detailed_exitcode: bool,
    /// A person can answer questions, and interactive tasks get the terminal (stdin
    /// is a terminal).
    pub interactive: bool,
    /// Wait for another run's lock instead of failing.
    pub wait_lock: bool,
    /// `--resume`: what an earlier run of the same targets already did.
    pub resume: Option<Resume>,
    /// `--diff --save-plan FILE`: where to write the plan.
    pub save_plan: Option<std::path::PathBuf>,
    /// Tasks of the run that do not run, counted as done (`--skip`, `--no-deps`).
    pub excluded: Excluded,
}

/// Why a run could not start (nothing ran).
#[derive(Debug, Error, Diagnostic)]
pub(crate) enum RunError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Select(#[from] SelectError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Lock(#[from] LockError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Lease(#[from] LeaseError),

    #[error("{} cannot run on this machine: {tasks}", if *count == 1 { "a task" } else { "tasks" })]
    #[diagnostic(
        code(ops::run::not_runnable),
        help(
            "what each one lacks is listed above, with the way out (`ops doctor` checks again); nothing was run. With --keep-going, the tasks that do not depend on them run"
        )
    )]
    NotRunnable { tasks: String, count: usize },

    #[error("could not start the task runtime")]
    #[diagnostic(code(ops::io))]
    Runtime(#[source] std::io::Error),
}

impl RunError {
    pub(crate) fn exit_status(&self) -> ExitStatus {
        match self {
            Self::Lock(_) | Self::Lease(_) | Self::Runtime(_) | Self::NotRunnable { .. } => {
                ExitStatus::Failure
            }
            Self::Select(_) => ExitStatus::Usage,
        }
    }
}

#[derive(Debug, Error, Diagnostic)]
pub(crate) enum SelectError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Choose(#[from] ChooseError),

    #[error("unknown task `{name}`")]
    #[diagnostic(code(ops::run::unknown_task))]
    UnknownTask {
        name: String,
        #[help]
        help: Option<String>,
    },

    #[error("run {run} crashed and left tasks running: {groups}")]
    #[diagnostic(
        code(ops::run::orphans),
        help(
            "resuming now would start them a second time: wait for them to end, or pass `--kill-orphans` to stop them first; nothing was run"
        )
    )]
    Orphans { run: String, groups: String },

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

    #[error("interactive tasks need a terminal, and this run has none: {tasks}")]
    #[diagnostic(
        code(ops::run::terminal_required),
        help(
            "run from a terminal, or pass `--yes` to run interactive tasks without one: their standard input is then /dev/null, so their prompts get end-of-file (or take their defaults), and their output is captured like any task's; nothing was run"
        )
    )]
    TerminalRequired { tasks: String },
}

/// The selected tasks and their dependencies, in an order that respects dependencies.
pub(crate) fn select(set: &TaskSet, names: &[String]) -> Result<Vec<TaskId>, SelectError> {
    Ok(graph::closure(set, &roots(set, names)?))
}

/// The tasks named on the command line, by name or alias.
pub(crate) fn roots(set: &TaskSet, names: &[String]) -> Result<Vec<TaskId>, SelectError> {
    names
        .iter()
        .map(|name| {
            set.find(name)
                .or_else(|| set.alias(name))
                .ok_or_else(|| SelectError::UnknownTask {
                    name: name.clone(),
                    help: suggestion(name, set.names().chain(set.aliases()))
                        .or_else(|| Some("`ops list` shows every task".to_owned())),
                })
        })
        .collect()
}

/// Run `order` (from [`select`] for `targets`) in the given mode.
pub(crate) fn run(
    set: &TaskSet,
    order: &[TaskId],
    targets: &[String],
    opts: &Options,
    reporter: &mut dyn Reporter,
) -> Result<ExitStatus, RunError> {
    let targets: Vec<Name> = targets.iter().map(|t| Arc::from(t.as_str())).collect();
    if opts.mode == Mode::Apply && !opts.yes && !opts.interactive {
        // Tasks left out do not ask; handlers are not in `order` (they may not run:
        // one that does and asks fails then).
        let order: Vec<TaskId> = order
            .iter()
            .copied()
            .filter(|&id| !opts.excluded.contains(id))
            .collect();
        let order = &order;
        let asking = names_of(set, order, |t| t.confirm.is_some());
        if !asking.is_empty() {
            return Err(SelectError::ConfirmationRequired {
                tasks: asking.join(", "),
            }
            .into());
        }
        let interactive = names_of(set, order, |t| t.interactive);
        if !interactive.is_empty() {
            return Err(SelectError::TerminalRequired {
                tasks: interactive.join(", "),
            }
            .into());
        }
    }
    if opts.mode == Mode::DryRun {
        let state = uptodate::State::load(set.root());
        reporter.handle(&Event::Plan(plan::plan(set, order, &state, targets, opts)));
        return Ok(ExitStatus::Success);
    }
    let blocked = not_runnable(set, order, opts, reporter)?;
    let run_id = journal::new_id();
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
    if opts.mode == Mode::Apply && opts.interactive {
        warn_unredacted(set, order, reporter);
    }
    // One thread is enough to drive child processes, and keeps per-task latency low.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(RunError::Runtime)?;
    let wanted = if opts.mode == Mode::Apply {
        lease::wanted(set, order, opts)
    } else {
        Vec::new()
    };
    let mut leases = if wanted.is_empty() {
        None
    } else {
        let holder = lease::holder(&run_id);
        Some(runtime.block_on(lease::acquire(wanted, &holder, opts.wait_lock, reporter))?)
    };
    let run = Run {
        targets,
        blocked,
        id: run_id,
    };
    let status = runtime.block_on(execute(set, order, run, opts, leases.as_mut(), reporter));
    if let Some(leases) = leases {
        runtime.block_on(leases.release(reporter));
    }
    // A question left unanswered (Ctrl-C at a prompt) must not keep ops waiting on stdin.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    Ok(status)
}

/// What this machine lacks for the tasks about to run and, in an apply, for the
/// handlers that may run after them (`ops doctor`'s checks; tasks done by the run
/// being resumed, unchanged in the plan being applied or left out are not run, so
/// not checked). An apply shows every finding and refuses to start when a task
/// cannot possibly succeed, unless `--keep-going`; `--diff` reports such a task as
/// unknown. Returns the tasks that are not started, with why.
fn not_runnable(
    set: &TaskSet,
    order: &[TaskId],
    opts: &Options,
    reporter: &mut dyn Reporter,
) -> Result<HashMap<TaskId, String>, RunError> {
    let runs = |task: &Task| {
        opts.resume
            .as_ref()
            .is_none_or(|r| r.done(&task.name, task.fingerprint()).is_none())
    };
    let leaf = |id| opts.excluded.contains(id);
    let mut order = if opts.mode == Mode::Apply {
        may_run(set, order, leaf)
    } else {
        order.to_vec()
    };
    order.retain(|&id| !leaf(id));
    let findings = doctor::check(set, &order, opts.mode, &runs);
    let blocked = crate::report::missing::blocked(&findings);
    if opts.mode == Mode::Apply && !findings.is_empty() {
        reporter.handle(&Event::Missing(findings.clone()));
        if !blocked.is_empty() && !opts.keep_going {
            return Err(RunError::NotRunnable {
                tasks: blocked.join(", "),
                count: blocked.len(),
            });
        }
    }
    let mut reasons: HashMap<TaskId, String> = HashMap::new();
    for finding in findings.iter().filter(|f| f.blocks()) {
        let Some(id) = set.find(&finding.task) else {
            continue;
        };
        let reason = reasons.entry(id).or_default();
        if reason.is_empty() && opts.mode == Mode::Diff {
            reason.push_str("cannot run here: ");
        } else if !reason.is_empty() {
            reason.push_str("; ");
        }
        reason.push_str(&finding.reason());
    }
    Ok(reasons)
}

/// The names of the tasks of `order` that `which` picks.
fn names_of<'s>(set: &'s TaskSet, order: &[TaskId], which: impl Fn(&Task) -> bool) -> Vec<&'s str> {
    order
        .iter()
        .map(|&id| set.get(id))
        .filter(|t| which(t))
        .map(|t| t.name.as_str())
        .collect()
}

/// A line for each interactive task that uses a secret: what it prints reaches the
/// terminal directly, past the redaction of secrets.
fn warn_unredacted(set: &TaskSet, order: &[TaskId], reporter: &mut dyn Reporter) {
    for task in order.iter().map(|&id| set.get(id)) {
        if !task.interactive || task.secrets.is_empty() {
            continue;
        }
        let secrets: Vec<String> = task.secrets.iter().map(|(name, _)| format!("`{name}`")).collect();
        reporter.handle(&Event::Warning(format!(
            "task `{}` is interactive and uses {} {}: what it prints goes straight to the terminal, where it cannot be redacted",
            task.name,
            if secrets.len() == 1 { "the secret" } else { "the secrets" },
            secrets.join(", "),
        )));
    }
}

/// What [`execute`] is given to run beside the tasks.
struct Run {
    targets: Vec<Name>,
    /// Tasks that cannot run on this machine, and why.
    blocked: HashMap<TaskId, String>,
    id: String,
}

/// Run the scheduler with the run's reporters around `reporter`: secrets redacted
/// from every event, then the journal recorded; save the plan when asked.
async fn execute(
    set: &TaskSet,
    order: &[TaskId],
    run: Run,
    opts: &Options,
    mut leases: Option<&mut lease::Leases>,
    reporter: &mut dyn Reporter,
) -> ExitStatus {
    let Run {
        targets,
        blocked,
        id: run_id,
    } = run;
    // With a file-size limit, a write past it must fail (EFBIG, reported) rather
    // than kill ops: handling SIGXFSZ turns off its default action.
    let _file_size_limit =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::from_raw(nix::libc::SIGXFSZ)).ok();
    let target_names: Vec<String> = targets.iter().map(ToString::to_string).collect();
    let redactor = Arc::new(Redactor::default());
    let run_record = journal::Record::Run {
        id: run_id.clone(),
        graph: journal::graph_hash(set, order),
        targets: target_names.clone(),
        mode: opts.mode,
        pid: std::process::id(),
        started_at: journal::now(),
    };
    // Secrets are redacted before anything sees an event, the journal included.
    let everything = may_run(set, order, |id| opts.excluded.contains(id));
    let mut recorder = recorder::Recorder::new(set, &everything, &run_record, reporter);
    let mut redacting = Redacting {
        redactor: Arc::clone(&redactor),
        inner: &mut recorder,
    };
    let reporter: &mut dyn Reporter = &mut redacting;
    reporter.handle(&Event::RunStarted {
        mode: opts.mode,
        targets,
        tasks: order.len(),
        jobs: opts.jobs,
    });
    let job = scheduler::Job {
        set,
        order,
        opts,
        state: uptodate::State::load(set.root()),
        secrets: Arc::new(secrets::SecretStore::new(Arc::clone(&redactor))),
        blocked,
        run_id,
    };
    job.secrets.preload(set.declared_secrets());
    let mut interrupts = prompt::Interrupts::signals().and(leases.as_mut().and_then(|l| l.interrupts()));
    let mut summary = scheduler::execute(job, Arc::new(attempt::Steps), &mut interrupts, reporter).await;
    let lost = leases.and_then(|l| l.lost());
    if let Some(why) = &lost {
        reporter.handle(&Event::Warning(format!("{why}: the run was stopped")));
    }
    let mut saved = true;
    if let Some(path) = &opts.save_plan {
        let (event, ok) = save_plan(set, order, &summary, target_names, &redactor, path);
        reporter.handle(&event);
        saved = ok;
    }
    let status = match summary.exit_code {
        _ if lost.is_some() => ExitStatus::Failure,
        0 | 3 if !saved => ExitStatus::Failure,
        1 => ExitStatus::Failure,
        _ => verdict::exit_status(&summary, opts.detailed_exitcode),
    };
    summary.exit_code = status.code();
    reporter.handle(&Event::RunFinished(summary));
    status
}

/// Write the plan of a completed `--diff` run; what to tell the user, and whether a
/// plan that could be saved was (a plan that cannot be written fails the run).
fn save_plan(
    set: &TaskSet,
    order: &[TaskId],
    summary: &Summary,
    targets: Vec<String>,
    redactor: &Redactor,
    path: &std::path::Path,
) -> (Event, bool) {
    let shown = path.display();
    if !matches!(summary.exit_code, 0 | 3) {
        let why = format!("plan not saved to {shown}: the diff did not complete");
        return (Event::Warning(why), true);
    }
    match saved_plan::from_summary(set, order, summary, targets, redactor).write(path) {
        Ok(()) => (
            Event::Note(format!(
                "plan saved to {shown}: apply it with `ops run --plan {shown}`"
            )),
            true,
        ),
        Err(e) => (
            Event::Warning(format!("cannot save the plan to {shown}: {e}")),
            false,
        ),
    }
}
