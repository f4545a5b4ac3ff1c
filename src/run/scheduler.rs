//! The scheduler: runs a closure of tasks in dependency order, at most `jobs` at
//! once, each at most once; after a failure it starts nothing more (with
//! `--keep-going` it skips only the dependents), letting running tasks finish; on
//! an interrupt it cancels every running task (process groups included). An
//! interactive task runs alone: it starts when nothing runs, and nothing starts
//! while it runs.
//!
//! A run goes in phases: the tasks asked for, then (an apply that was not stopped)
//! each round of `on-failure` and `finally` handlers that is due, with what they
//! need ([`handlers`] says which). Tasks left out (`--skip`, `--no-deps`) finish
//! at once as skipped, counted as done.
//!
//! It owns the loop only: [`Ledger`] keeps the dependency bookkeeping, [`Attempt`]
//! runs one task, [`verdict`] judges results, [`prompt`] talks to the person.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::Options;
use super::attempt::{Attempt, Finished, RunStep, StepOutcome};
use super::environment;
use super::handlers;
use super::ledger::Ledger;
use super::outputs::OutputMap;
use super::prompt::{self, Interrupts};
use super::secrets::SecretStore;
use super::uptodate::{self, State};
use super::verdict::{self, INTERRUPTED};
use crate::executor::ToolCache;
use crate::exit::ExitStatus;
use crate::report::{Event, Mode, Name, Reporter, Status, Summary, TaskResult};
use crate::task::{Task, TaskId, TaskSet};
use crate::template::{Outputs as _, Template};

/// What happened when the scheduler tried to start a task.
enum Start {
    Spawned,
    /// Finished at once: an aggregate, up to date, done earlier.
    Done(TaskResult),
    /// Needs a person's yes first.
    Ask(String),
}

/// What a run works on.
pub(super) struct Job<'a> {
    pub set: &'a TaskSet,
    /// A closure of tasks, dependencies first.
    pub order: &'a [TaskId],
    pub opts: &'a Options,
    /// The up-to-date record of the repository.
    pub state: State,
    pub secrets: Arc<SecretStore>,
    /// Tasks this machine cannot run (`ops doctor`), with why: not started, and
    /// reported as not runnable (`--diff`: unknown).
    pub blocked: HashMap<TaskId, String>,
    /// The run's id (its journal's name), given to steps as `OPS_RUN_ID`.
    pub run_id: String,
}

/// Run the job and return its summary; the caller reports it.
pub(super) async fn execute(
    job: Job<'_>,
    steps: Arc<impl RunStep>,
    interrupts: &mut Interrupts,
    reporter: &mut dyn Reporter,
) -> Summary {
    let Job {
        set,
        order,
        opts,
        state,
        secrets,
        blocked,
        run_id,
    } = job;
    let started = Instant::now();
    let mut run = Run {
        set,
        opts,
        ledger: Ledger::new(set, order, |id| opts.excluded.contains(id)),
        source_hashes: vec![None; order.len()],
        outputs: OutputMap::default(),
        secrets,
        state,
        blocked,
        id: run_id,
        cancel: CancellationToken::new(),
        confirmed: vec![false; order.len()],
        stopping: false,
        handling: false,
        interrupted: false,
        first_failure: None,
        aborted: None,
        alone: None,
        tools: Arc::default(),
    };
    if let Some(resume) = &opts.resume {
        for (task, values) in resume.given() {
            for (key, value) in values {
                run.outputs.insert(task, key.clone(), value.clone());
            }
        }
    }
    let (tx, mut rx) = unbounded_channel::<Event>();
    let mut joins: JoinSet<Finished> = JoinSet::new();
    let mut fired = handlers::Fired::default();
    loop {
        run.drive(&tx, &mut rx, &mut joins, interrupts, reporter, &steps)
            .await;
        run.ledger.end_phase(&run.unstarted_reason());
        // Only an apply runs handlers; a stopped run runs none.
        if opts.mode != Mode::Apply || run.interrupted || run.aborted.is_some() {
            break;
        }
        if !run.start_handlers(&mut fired, reporter) {
            break;
        }
    }
    let not_run = if run.interrupted {
        fired.not_run(set, &run.ledger, "the run was interrupted")
    } else if run.aborted.is_some() {
        fired.not_run(set, &run.ledger, "the run stopped")
    } else {
        None
    };
    let reason = run.unstarted_reason();
    for result in run.ledger.skip_unstarted(&reason) {
        reporter.handle(&Event::TaskFinished(result));
    }
    let mut summary = Summary {
        mode: opts.mode,
        results: run.ledger.take_results(),
        duration: started.elapsed(),
        exit_code: 0,
        not_run,
    };
    summary.exit_code = verdict::exit_status(&summary, opts.detailed_exitcode).code();
    if run.aborted.is_some() && summary.exit_code != ExitStatus::Interrupted.code() {
        summary.exit_code = ExitStatus::Failure.code();
    }
    summary
}

/// The state of one run.
struct Run<'a> {
    set: &'a TaskSet,
    opts: &'a Options,
    ledger: Ledger,
    /// Source hash taken when a task with `sources` started.
    source_hashes: Vec<Option<String>>,
    outputs: OutputMap,
    secrets: Arc<SecretStore>,
    state: State,
    /// Tasks this machine cannot run, with why.
    blocked: HashMap<TaskId, String>,
    /// The run's id, `OPS_RUN_ID`.
    id: String,
    cancel: CancellationToken,
    /// Tasks whose confirmation a person gave.
    confirmed: Vec<bool>,
    stopping: bool,
    /// The run is in a phase of handlers.
    handling: bool,
    interrupted: bool,
    first_failure: Option<Name>,
    /// Why the run stopped starting tasks though none failed (its journal broke).
    aborted: Option<String>,
    /// The interactive task running, alone.
    alone: Option<usize>,
    /// Tools from Nix built in this run, shared by the tasks that name them.
    tools: Arc<ToolCache>,
}

impl Run<'_> {
    fn task(&self, slot: usize) -> &Task {
        self.set.get(self.ledger.order[slot])
    }

    fn root(&self) -> &Path {
        self.set.root()
    }

    /// Start what is ready and wanted, at most `jobs` at once, until nothing runs and
    /// nothing more can start in this phase.
    async fn drive(
        &mut self,
        tx: &UnboundedSender<Event>,
        rx: &mut UnboundedReceiver<Event>,
        joins: &mut JoinSet<Finished>,
        interrupts: &mut Interrupts,
        reporter: &mut dyn Reporter,
        steps: &Arc<impl RunStep>,
    ) {
        let opts = self.opts;
        let mut flush = std::pin::pin!(tokio::time::sleep_until(tokio::time::Instant::now()));
        let mut flush_set: Option<Instant> = None;
        loop {
            if self.aborted.is_none()
                && let Some(why) = reporter.must_stop()
            {
                self.aborted = Some(why);
                self.stopping = true;
            }
            // The task running alone is the only one running: it ended when none runs.
            if joins.is_empty() {
                self.alone = None;
            }
            while !self.stopping && self.alone.is_none() && joins.len() < opts.jobs.max(1) {
                // Only an apply runs interactive commands; `--diff` runs no task alone.
                let idle = joins.is_empty() || opts.mode != Mode::Apply;
                let Some(slot) = self.ledger.next_ready(idle) else {
                    break;
                };
                match self.start(slot, tx, reporter, joins, steps) {
                    Start::Spawned => {
                        if opts.mode == Mode::Apply && self.ledger.alone(slot) {
                            self.alone = Some(slot);
                        }
                    }
                    Start::Done(result) => self.complete(slot, result, reporter),
                    Start::Ask(question) => {
                        let name = self.ledger.names[slot].clone();
                        match prompt::ask(reporter, &name, &question, interrupts).await {
                            Some(true) => {
                                self.confirmed[slot] = true;
                                self.ledger.retry_first(slot);
                            }
                            Some(false) => {
                                let declined = self.ledger.result(
                                    slot,
                                    Status::Failed,
                                    Some("declined at the confirmation".into()),
                                );
                                self.complete(slot, declined, reporter);
                            }
                            None => self.interrupt(),
                        }
                    }
                }
            }
            if joins.is_empty() {
                break;
            }
            // One timer for the whole loop, moved only when the reporter's due time
            // changes (a timer made anew each turn woke tokio's driver each turn).
            let due = reporter.flush_due().map(crate::coarse::coarse);
            if let Some(due) = due
                && flush_set != Some(due)
            {
                flush.as_mut().reset(due.into());
                flush_set = Some(due);
            }
            tokio::select! {
                () = &mut flush, if due.is_some() => reporter.flush(),
                Some(event) = rx.recv() => reporter.handle(&event),
                Some(joined) = joins.join_next() => {
                    while let Ok(event) = rx.try_recv() {
                        reporter.handle(&event);
                    }
                    let Ok(finished) = joined else { continue };
                    let (slot, result) = self.finish(finished);
                    // Only an interrupt stops a task: Ctrl-C at the terminal reaches an
                    // interactive task directly, and may do so before ops sees it.
                    if result.status == Status::Interrupted && !self.interrupted {
                        self.interrupt();
                    }
                    self.complete(slot, result, reporter);
                }
                () = interrupts.next() => self.interrupt(),
            }
        }
        while let Ok(event) = rx.try_recv() {
            reporter.handle(&event);
        }
        reporter.flush();
    }

    /// Start the next round of handlers that are due (see [`handlers`]); whether any
    /// task is to run for them.
    fn start_handlers(&mut self, fired: &mut handlers::Fired, reporter: &mut dyn Reporter) -> bool {
        let leaf = |id| self.opts.excluded.contains(id);
        if !fired.start_next(self.set, &mut self.ledger, leaf, reporter) {
            return false;
        }
        self.source_hashes.resize(self.ledger.len(), None);
        self.confirmed.resize(self.ledger.len(), false);
        self.stopping = false;
        self.handling = true;
        self.first_failure = None;
        true
    }

    /// Start a task, or return its result at once (aggregate, up to date, resumed),
    /// or ask for its confirmation first.
    fn start(
        &mut self,
        slot: usize,
        tx: &UnboundedSender<Event>,
        reporter: &mut dyn Reporter,
        joins: &mut JoinSet<Finished>,
        steps: &Arc<impl RunStep>,
    ) -> Start {
        let set = self.set;
        let id = self.ledger.order[slot];
        let task = set.get(id);
        if let Some(reason) = self.opts.excluded.reason(id) {
            return Start::Done(self.ledger.result(slot, Status::Skipped, Some(reason)));
        }
        // A handler runs again whatever an earlier run did.
        if let Some(resume) = self
            .opts
            .resume
            .as_ref()
            .filter(|_| self.ledger.handler(slot).is_none())
            && let Some(outputs) = resume.done(&task.name, task.fingerprint())
        {
            for (key, value) in outputs {
                self.outputs.insert(&task.name, key.clone(), value.clone());
            }
            let (status, reason) = if resume.planned {
                (Status::NoChange, format!("no change in {}", resume.origin))
            } else {
                (Status::Resumed, format!("done in {}", resume.origin))
            };
            return Start::Done(self.ledger.result(slot, status, Some(reason)));
        }
        if let Some(reason) = self.blocked.get(&self.ledger.order[slot]) {
            let status = match self.opts.mode {
                Mode::Diff => Status::Unknown,
                Mode::Apply | Mode::DryRun => Status::NotRunnable,
            };
            return Start::Done(self.ledger.result(slot, status, Some(reason.clone())));
        }
        if task.action.is_some()
            && !self.opts.force
            && uptodate::is_up_to_date(self.root(), task, &self.state)
        {
            return Start::Done(self.ledger.result(slot, Status::UpToDate, None));
        }
        if self.opts.mode == Mode::Apply {
            // Only handlers get here without a way to ask: the tasks asked for are
            // checked before the run starts.
            if let Some(reason) = prompt::cannot_ask(self.opts, task) {
                return Start::Done(self.ledger.result(slot, Status::Failed, Some(reason)));
            }
            if let Some(question) = &task.confirm {
                if !self.opts.yes && !self.confirmed[slot] {
                    return Start::Ask(question.clone());
                }
                reporter.handle(&Event::Confirmed {
                    task: self.ledger.names[slot].clone(),
                    question: question.clone(),
                    by_flag: self.opts.yes,
                });
            }
            if !task.sources.is_empty() {
                self.source_hashes[slot] = uptodate::hash_sources(self.root(), task).ok();
            }
        }
        // An aggregate (or a confirmation gate) has nothing to run.
        let Some(action) = task.action.clone() else {
            if self.opts.mode != Mode::Diff {
                return Start::Done(self.ledger.result(slot, Status::Ok, None));
            }
            // In --diff, an aggregate (a phase) changes when its dependencies do.
            let (status, reason) = verdict::aggregate_diff(&self.ledger, slot);
            return Start::Done(self.ledger.result(slot, status, reason));
        };

        let outputs = self.outputs.subset(&task.uses_outputs_of);
        if self.opts.mode == Mode::Apply
            && let Some((dep, key)) = task
                .output_refs
                .iter()
                .find(|(t, k)| outputs.output(t, k).is_none())
        {
            let reason = format!("it uses `{{{{ tasks.{dep}.{key} }}}}`, which `{dep}` did not produce");
            return Start::Done(self.ledger.result(slot, Status::Failed, Some(reason)));
        }
        if let Some(reason) = environment::unset(task) {
            return Start::Done(self.ledger.result(slot, Status::Failed, Some(reason)));
        }
        let plan = action.plan();
        let command = match self.opts.mode {
            Mode::Diff => Some(
                plan.check
                    .map_or_else(|| "no read-only check".to_owned(), |c| format!("check: {c}")),
            ),
            Mode::Apply | Mode::DryRun => plan.lines.into_iter().next(),
        };
        // Show the values of dependencies' outputs, now that they are known.
        let command = command.map(|line| {
            Template::expand_known(&line, |name| {
                let (task, key) = name.strip_prefix("tasks.")?.split_once('.')?;
                outputs.output(task, key).map(str::to_owned)
            })
        });
        let root = self.root();
        // Without a terminal (a run allowed by `--yes`), an interactive task runs as
        // any other: stdin `/dev/null`, output captured.
        let terminal = self.opts.mode == Mode::Apply && task.interactive && self.opts.interactive;
        let attempt = Attempt {
            slot,
            name: self.ledger.names[slot].clone(),
            mode: self.opts.mode,
            dir: task
                .dir
                .as_ref()
                .map_or_else(|| root.to_path_buf(), |d| root.join(d.render(&outputs))),
            root: root.to_path_buf(),
            env_files: task.env_files.clone(),
            nix_tools: task.nix_tools.clone().map(|t| (t, Arc::clone(&self.tools))),
            base_env: vec![
                ("OPS_ROOT".into(), root.display().to_string()),
                ("OPS_TASK".into(), task.name.clone()),
                ("OPS_RUN_ID".into(), self.id.clone()),
            ],
            env: task.env.clone(),
            secrets: task.secrets.clone(),
            store: Arc::clone(&self.secrets),
            outputs,
            timeout: task.timeout,
            retries: task.retries,
            command: command.clone(),
            events: tx.clone(),
            cancel: self.cancel.clone(),
            terminal,
            action,
        };
        // Reported here rather than from the task, so that start order is stable.
        reporter.handle(&Event::TaskStarted {
            task: self.ledger.names[slot].clone(),
            attempt: 1,
            command,
            terminal,
        });
        joins.spawn(attempt.run(Arc::clone(steps)));
        Start::Spawned
    }

    /// Turn a finished future into a result; record outputs and up-to-date state.
    fn finish(&mut self, finished: Finished) -> (usize, TaskResult) {
        let Finished {
            slot,
            result,
            produced,
            duration,
        } = finished;
        let name = self.ledger.names[slot].clone();
        if result.is_ok() {
            for (key, value) in produced {
                self.outputs.insert(&name, key, value);
            }
        }
        if let Ok(StepOutcome::Applied(applied)) = &result {
            for (key, value) in &applied.outputs {
                self.outputs.insert(&name, key.clone(), value.clone());
            }
            if let Some(sources) = self.source_hashes[slot].take() {
                self.record_up_to_date(slot, sources);
            }
        }
        let verifies = self
            .task(slot)
            .action
            .as_ref()
            .is_some_and(crate::executor::Action::verifies);
        let mut out = verdict::step_result(&self.ledger, slot, result, self.opts.mode, verifies);
        out.duration = Some(duration);
        (slot, out)
    }

    fn record_up_to_date(&mut self, slot: usize, sources: String) {
        let set = self.set;
        let task = set.get(self.ledger.order[slot]);
        if let Ok(Some(outputs)) = uptodate::hash_outputs(set.root(), task) {
            let stamp = uptodate::Stamp {
                fingerprint: task.fingerprint().to_owned(),
                sources,
                outputs,
            };
            // Losing the stamp only means the task runs again next time.
            let _ = self.state.record(&task.name, stamp);
        }
    }

    /// Record a result with the values the task produced, report it and every task
    /// it skips, and stop starting tasks after a failure (unless `--keep-going`).
    fn complete(&mut self, slot: usize, mut result: TaskResult, reporter: &mut dyn Reporter) {
        result.outputs = self.outputs.of_task(&self.ledger.names[slot]);
        if matches!(
            result.status,
            Status::Failed | Status::Interrupted | Status::NotRunnable
        ) {
            if self.first_failure.is_none() {
                self.first_failure = Some(self.ledger.names[slot].clone());
            }
            // Handlers do what they can: one that fails stops only its dependents.
            if !self.opts.keep_going && !self.handling {
                self.stopping = true;
            }
        }
        for recorded in self.ledger.complete(slot, result) {
            reporter.handle(&Event::TaskFinished(recorded));
        }
    }

    fn interrupt(&mut self) {
        self.stopping = true;
        self.interrupted = true;
        self.cancel.cancel();
    }

    /// Why the tasks that never started did not.
    fn unstarted_reason(&self) -> String {
        if self.interrupted {
            INTERRUPTED.to_owned()
        } else if let Some(why) = &self.aborted {
            format!("not started: {why}")
        } else {
            match &self.first_failure {
                Some(name) => format!("not started: `{name}` failed"),
                None => "not started".to_owned(),
            }
        }
    }
}

#[cfg(test)]
#[path = "scheduler_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "scheduler_handler_tests.rs"]
mod handler_tests;
