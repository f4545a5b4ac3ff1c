//! The scheduler: runs a closure of tasks in dependency order, at most `jobs` at
//! once, each at most once; stops (or, with `--keep-going`, skips only the
//! dependents) after a failure; stops every process group on SIGINT/SIGTERM.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::journal::{self, Journal};
use super::outputs::OutputMap;
use super::saved_plan;
use super::secrets::SecretStore;
use super::uptodate::{self, State};
use super::{Mode, Options};
use crate::error::ExitStatus;
use crate::executor::{Action, Applied, Diff, StepContext, StepError};
use crate::process::{LineSink, Stream};
use crate::report::{Event, Name, Redactor, Reporter, Status, Summary, TaskResult};
use crate::task::{TaskId, TaskSet};
use crate::template::{Outputs as _, Template};

/// What happened when the scheduler tried to start a task.
enum Start {
    Spawned,
    /// Finished at once: an aggregate, up to date, done earlier.
    Done(TaskResult),
    /// Needs a person's yes first.
    Ask(String),
}

/// Ask a person; `None` when the run is interrupted while waiting.
async fn ask(
    reporter: &mut dyn Reporter,
    task: &str,
    question: &str,
    sigint: &mut Option<tokio::signal::unix::Signal>,
    sigterm: &mut Option<tokio::signal::unix::Signal>,
) -> Option<bool> {
    reporter.prompt(task, question);
    let read = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map(|_| line)
    });
    let answer = tokio::select! {
        line = read => Some(line.ok().and_then(Result::ok).is_some_and(|l| {
            matches!(l.trim().to_ascii_lowercase().as_str(), "y" | "yes")
        })),
        Some(()) = recv(sigint) => None,
        Some(()) = recv(sigterm) => None,
    };
    reporter.prompt_done();
    answer
}

/// What a step's future returns.
struct Finished {
    slot: usize,
    result: Result<StepOutcome, StepError>,
    /// Values the step produced with `StepContext::produce`.
    produced: Vec<(String, String)>,
    duration: Duration,
}

enum StepOutcome {
    Applied(Applied),
    Diff(Diff),
}

/// Run `order` (a closure, dependencies first) and report a summary.
pub async fn execute(
    set: &TaskSet,
    order: &[TaskId],
    targets: Vec<Name>,
    opts: &Options,
    reporter: &mut dyn Reporter,
) -> ExitStatus {
    // With a file-size limit, a write past it must fail (EFBIG, reported) rather
    // than kill ops: handling SIGXFSZ turns off its default action.
    let _file_size_limit = signal(SignalKind::from_raw(nix::libc::SIGXFSZ)).ok();
    let started = Instant::now();
    let target_names: Vec<String> = targets.iter().map(ToString::to_string).collect();
    let mut run = Run::new(set, order, opts);
    let mut redacting = Redacting {
        redactor: Arc::clone(&run.secrets.redactor),
        inner: reporter,
    };
    let reporter: &mut dyn Reporter = &mut redacting;
    let run_record = journal::Record::Run {
        id: journal::new_id(),
        graph: journal::graph_hash(set, order),
        targets: targets.iter().map(ToString::to_string).collect(),
        mode: opts.mode.as_str().to_owned(),
        pid: std::process::id(),
        started_at: journal::now(),
    };
    match Journal::create(set.root(), &run_record) {
        Ok(j) => run.journal = Some(j),
        Err(e) => reporter.handle(&Event::Warning(format!("this run is not recorded: {e}"))),
    }
    reporter.handle(&Event::RunStarted {
        mode: opts.mode,
        targets,
        tasks: order.len(),
        jobs: opts.jobs,
    });
    let (tx, mut rx) = unbounded_channel::<Event>();
    let mut joins: JoinSet<Finished> = JoinSet::new();
    let mut sigint = signal(SignalKind::interrupt()).ok();
    let mut sigterm = signal(SignalKind::terminate()).ok();

    loop {
        while !run.stopping && joins.len() < opts.jobs.max(1) {
            let Some(slot) = run.ready.pop_front() else {
                break;
            };
            match run.start(slot, &tx, reporter, &mut joins) {
                Start::Spawned => {}
                Start::Done(result) => run.complete(slot, result, reporter),
                Start::Ask(question) => {
                    let name = run.names[slot].clone();
                    match ask(reporter, &name, &question, &mut sigint, &mut sigterm).await {
                        Some(true) => {
                            run.confirmed[slot] = true;
                            run.ready.push_front(slot);
                        }
                        Some(false) => {
                            let declined =
                                run.result(slot, Status::Failed, Some("declined at the confirmation".into()));
                            run.complete(slot, declined, reporter);
                        }
                        None => run.interrupt(),
                    }
                }
            }
        }
        if joins.is_empty() {
            break;
        }
        tokio::select! {
            Some(event) = rx.recv() => reporter.handle(&event),
            Some(joined) = joins.join_next() => {
                while let Ok(event) = rx.try_recv() {
                    reporter.handle(&event);
                }
                let Ok(finished) = joined else { continue };
                let result = run.finish(finished);
                let slot = result.0;
                run.complete(slot, result.1, reporter);
            }
            Some(()) = recv(&mut sigint) => run.interrupt(),
            Some(()) = recv(&mut sigterm) => run.interrupt(),
        }
    }
    while let Ok(event) = rx.try_recv() {
        reporter.handle(&event);
    }
    run.skip_unstarted(reporter);
    let summary = run.summary(started.elapsed());
    let status = exit_status(&summary, opts);
    if let Some(path) = &opts.save_plan {
        let shown = path.display();
        reporter.handle(
            &if matches!(status, ExitStatus::Success | ExitStatus::ChangesPending) {
                match run.saved_plan(order, &summary, target_names).write(path) {
                    Ok(()) => Event::Note(format!(
                        "plan saved to {shown}: apply it with `ops run --plan {shown}`"
                    )),
                    Err(e) => Event::Warning(format!("cannot save the plan to {shown}: {e}")),
                }
            } else {
                Event::Warning(format!("plan not saved to {shown}: the diff did not complete"))
            },
        );
    }
    if let Some(journal) = run.journal.as_mut() {
        let end = journal::Record::End {
            status: match status {
                ExitStatus::Success | ExitStatus::ChangesPending => "ok",
                ExitStatus::Interrupted => "interrupted",
                ExitStatus::Failure | ExitStatus::Usage => "failed",
            }
            .to_owned(),
            exit_code: status.code(),
            finished_at: journal::now(),
        };
        if let Some(e) = journal.append(&end) {
            reporter.handle(&Event::Warning(e));
        }
    }
    reporter.handle(&Event::RunFinished(Summary {
        exit_code: status.code(),
        ..summary
    }));
    status
}

async fn recv(sig: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
    match sig {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}

fn exit_status(summary: &Summary, opts: &Options) -> ExitStatus {
    let any = |st: Status| summary.results.iter().any(|r| r.status == st);
    if any(Status::Interrupted)
        || summary
            .results
            .iter()
            .any(|r| r.reason.as_deref() == Some(INTERRUPTED))
    {
        ExitStatus::Interrupted
    } else if any(Status::Failed) {
        ExitStatus::Failure
    } else if opts.mode == Mode::Diff
        && opts.detailed_exitcode
        && (any(Status::Changes) || any(Status::Unknown))
    {
        ExitStatus::ChangesPending
    } else {
        ExitStatus::Success
    }
}

/// How long a step may take to stop by itself after a cancellation or its timeout:
/// steps that run processes stop them (whole process groups) and return; steps that
/// talk to servers in-process (HTTP, Kubernetes) are dropped after it.
const GRACE: Duration = Duration::from_secs(2);

/// Run a step under the task's timeout and the run's cancellation.
async fn bounded(
    step: impl std::future::Future<Output = Result<StepOutcome, StepError>>,
    timeout: Option<Duration>,
    cancel: &CancellationToken,
) -> Result<StepOutcome, StepError> {
    use crate::process::ProcessError;
    let cancelled = async {
        cancel.cancelled().await;
        tokio::time::sleep(GRACE).await;
    };
    let timed_out = async {
        match timeout {
            Some(t) => tokio::time::sleep(t + GRACE).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        result = step => result,
        () = cancelled => Err(StepError::Process(ProcessError::Cancelled)),
        () = timed_out => Err(StepError::Process(ProcessError::Timeout { after: timeout.unwrap_or_default() })),
    }
}

/// `a`, `a and b`, `a, b and 3 more`.
fn list(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [a, b] => format!("{a} and {b}"),
        [a, b, rest @ ..] => format!("{a}, {b} and {} more", rest.len()),
    }
}

const INTERRUPTED: &str = "not started: the run was interrupted";

/// The state of one run.
struct Run<'a> {
    set: &'a TaskSet,
    opts: &'a Options,
    order: Vec<TaskId>,
    names: Vec<Name>,
    /// Unfinished dependencies of each slot.
    waiting: Vec<usize>,
    /// Slots that depend on each slot.
    dependents: Vec<Vec<usize>>,
    ready: VecDeque<usize>,
    results: Vec<Option<TaskResult>>,
    /// Source hash taken when a task with `sources` started.
    source_hashes: Vec<Option<String>>,
    outputs: OutputMap,
    secrets: Arc<SecretStore>,
    journal: Option<Journal>,
    state: State,
    cancel: CancellationToken,
    /// Tasks whose confirmation a person gave.
    confirmed: Vec<bool>,
    stopping: bool,
    interrupted: bool,
    first_failure: Option<Name>,
}

impl<'a> Run<'a> {
    fn new(set: &'a TaskSet, order: &[TaskId], opts: &'a Options) -> Self {
        let mut slot_of = vec![usize::MAX; set.len()];
        for (slot, id) in order.iter().enumerate() {
            slot_of[id.index()] = slot;
        }
        let mut waiting = vec![0; order.len()];
        let mut dependents = vec![Vec::new(); order.len()];
        for (slot, &id) in order.iter().enumerate() {
            for dep in &set.get(id).deps {
                waiting[slot] += 1;
                dependents[slot_of[dep.index()]].push(slot);
            }
        }
        let ready = (0..order.len()).filter(|&s| waiting[s] == 0).collect();
        Self {
            set,
            opts,
            names: order
                .iter()
                .map(|&id| Arc::from(set.get(id).name.as_str()))
                .collect(),
            order: order.to_vec(),
            waiting,
            dependents,
            ready,
            results: vec![None; order.len()],
            source_hashes: vec![None; order.len()],
            outputs: OutputMap::default(),
            secrets: Arc::new(SecretStore::new(Arc::default())),
            journal: None,
            state: State::load(set.root()),
            cancel: CancellationToken::new(),
            confirmed: vec![false; order.len()],
            stopping: false,
            interrupted: false,
            first_failure: None,
        }
    }

    fn result(&self, slot: usize, status: Status, reason: Option<String>) -> TaskResult {
        TaskResult {
            task: self.names[slot].clone(),
            status,
            duration: None,
            exit_code: None,
            reason,
            stderr_tail: None,
        }
    }

    /// Start a task, or return its result at once (aggregate, up to date, resumed),
    /// or ask for its confirmation first.
    fn start(
        &mut self,
        slot: usize,
        tx: &UnboundedSender<Event>,
        reporter: &mut dyn Reporter,
        joins: &mut JoinSet<Finished>,
    ) -> Start {
        let task = self.set.get(self.order[slot]);
        let root = self.set.root();
        if let Some(resume) = &self.opts.resume
            && let Some(outputs) = resume.done(&task.name, &task.fingerprint)
        {
            for (key, value) in outputs {
                self.outputs.insert(&task.name, key.clone(), value.clone());
            }
            return Start::Done(if resume.planned {
                self.result(
                    slot,
                    Status::NoChange,
                    Some(format!("no change in {}", resume.origin)),
                )
            } else {
                self.result(slot, Status::Resumed, Some(format!("done in {}", resume.origin)))
            });
        }
        if task.action.is_some() && !self.opts.force && uptodate::is_up_to_date(root, task, &self.state) {
            return Start::Done(self.result(slot, Status::UpToDate, None));
        }
        if self.opts.mode == Mode::Apply {
            if let Some(question) = &task.confirm {
                if !self.opts.yes && !self.confirmed[slot] {
                    return Start::Ask(question.clone());
                }
                reporter.handle(&Event::Confirmed {
                    task: self.names[slot].clone(),
                    question: question.clone(),
                    by_flag: self.opts.yes,
                });
            }
            if !task.sources.is_empty() {
                self.source_hashes[slot] = uptodate::hash_sources(root, task).ok();
            }
        }
        // An aggregate (or a confirmation gate) has nothing to run.
        let Some(action) = task.action.clone() else {
            if self.opts.mode != Mode::Diff {
                return Start::Done(self.result(slot, Status::Ok, None));
            }
            // In --diff, an aggregate (a phase) changes when its dependencies do.
            let (status, reason) = self.aggregate_diff(slot);
            return Start::Done(self.result(slot, status, reason));
        };

        let name = self.names[slot].clone();
        let mut outputs = self.outputs.subset(&task.uses_outputs_of);
        let base_env: Vec<(String, String)> = vec![
            ("OPS_ROOT".into(), root.display().to_string()),
            ("OPS_TASK".into(), task.name.clone()),
        ];
        let env_templates = task.env.clone();
        let task_secrets = task.secrets.clone();
        let store = Arc::clone(&self.secrets);
        let dir: PathBuf = task
            .dir
            .as_ref()
            .map_or_else(|| root.to_path_buf(), |d| root.join(d));
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
        let (timeout, retries, mode) = (task.timeout, task.retries, self.opts.mode);
        let (tx, cancel) = (tx.clone(), self.cancel.clone());
        // Reported here rather than from the task, so that start order is stable.
        reporter.handle(&Event::TaskStarted {
            task: name.clone(),
            attempt: 1,
            command: command.clone(),
        });
        joins.spawn(async move {
            let started = Instant::now();
            let sink_tx = tx.clone();
            let sink_name = name.clone();
            let sink: LineSink = Arc::new(move |stream: Stream, line: String| {
                let _ = sink_tx.send(Event::Output {
                    task: sink_name.clone(),
                    stream,
                    line,
                });
            });
            for (secret, source) in &task_secrets {
                match store.get(source, &sink, &cancel).await {
                    Ok(value) => outputs.insert_secret(secret, value),
                    Err(reason) => {
                        return Finished {
                            slot,
                            result: Err(StepError::Failed(format!("cannot read secret `{secret}`: {reason}"))),
                            produced: Vec::new(),
                            duration: started.elapsed(),
                        };
                    }
                }
            }
            let mut env = base_env;
            env.extend(env_templates.iter().map(|(k, v)| (k.clone(), v.render(&outputs))));
            let cx = StepContext {
                dir,
                env,
                timeout,
                cancel: cancel.clone(),
                sink,
                outputs: &outputs,
                produced: std::sync::Mutex::new(Vec::new()),
            };
            let mut attempt = 1;
            let result = loop {
                if attempt > 1 {
                    let _ = tx.send(Event::TaskStarted {
                        task: name.clone(),
                        attempt,
                        command: command.clone(),
                    });
                }
                let result = bounded(step(&action, mode, &cx), timeout, &cancel).await;
                match result {
                    Err(e) if attempt <= retries && e.is_retryable() && !cancel.is_cancelled() => {
                        let delay = backoff(attempt);
                        let _ = tx.send(Event::Retrying {
                            task: name.clone(),
                            attempt,
                            delay,
                            reason: e.to_string(),
                        });
                        tokio::select! {
                            () = tokio::time::sleep(delay) => {}
                            () = cancel.cancelled() => break Err(StepError::Process(crate::process::ProcessError::Cancelled)),
                        }
                        attempt += 1;
                    }
                    other => break other,
                }
            };
            Finished {
                slot,
                result,
                produced: cx.take_produced(),
                duration: started.elapsed(),
            }
        });
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
        let task = self.set.get(self.order[slot]);
        if result.is_ok() {
            for (key, value) in produced {
                self.outputs.insert(&task.name, key, value);
            }
        }
        let mut out = self.result(slot, Status::Ok, None);
        out.duration = Some(duration);
        match result {
            Ok(StepOutcome::Applied(applied)) => {
                out.exit_code = Some(0);
                for (key, value) in applied.outputs {
                    self.outputs.insert(&task.name, key, value);
                }
                if let Some(sources) = self.source_hashes[slot].take() {
                    self.record(task, sources);
                }
            }
            Ok(StepOutcome::Diff(diff)) => {
                (out.status, out.reason) = match diff {
                    Diff::NoChange => (Status::NoChange, None),
                    Diff::Changes => (Status::Changes, None),
                    Diff::Unknown(why) => (Status::Unknown, Some(why)),
                };
            }
            Err(e) if e.is_cancelled() => {
                out.status = Status::Interrupted;
                out.reason = Some("stopped".into());
            }
            Err(e) if self.opts.mode == Mode::Diff && task.action.as_ref().is_some_and(Action::verifies) => {
                // A check of live services before the changes that make it pass: its
                // failure says nothing yet, unless nothing upstream is pending.
                let pending = self.pending_upstream(slot);
                if pending.is_empty() {
                    out.status = Status::Failed;
                    out.reason = Some(e.to_string());
                } else {
                    out.status = Status::Unknown;
                    let verb = if pending.len() == 1 { "is" } else { "are" };
                    out.reason = Some(format!(
                        "fails before apply, as expected while {} {verb} pending: {e}",
                        list(&pending)
                    ));
                }
            }
            Err(e) => {
                out.status = Status::Failed;
                if let StepError::Process(crate::process::ProcessError::Exit { code, .. }) = &e {
                    out.exit_code = Some(*code);
                }
                out.stderr_tail = e.stderr_tail().map(str::to_owned);
                out.reason = Some(e.to_string());
            }
        }
        (slot, out)
    }

    /// What `--diff` says about an aggregate (a phase): changes when anything it
    /// depends on has changes, unknown when something could not tell.
    fn aggregate_diff(&self, slot: usize) -> (Status, Option<String>) {
        let pending = self.pending_upstream(slot);
        if pending.is_empty() {
            return (Status::NoChange, None);
        }
        let changes = pending.iter().any(|name| {
            self.names
                .iter()
                .position(|n| &**n == name.as_str())
                .and_then(|d| self.results[d].as_ref())
                .is_some_and(|r| r.status == Status::Changes)
        });
        let status = if changes { Status::Changes } else { Status::Unknown };
        (status, Some(format!("from {}", list(&pending))))
    }

    /// The steps below a task, direct dependencies or not, whose `--diff` found
    /// changes or could not tell (aggregates left out).
    fn pending_upstream(&self, slot: usize) -> Vec<String> {
        let mut seen = vec![false; self.order.len()];
        let mut stack = vec![slot];
        let mut pending = Vec::new();
        while let Some(s) = stack.pop() {
            for dep in &self.set.get(self.order[s]).deps {
                let Some(d) = self.order.iter().position(|id| id == dep) else {
                    continue;
                };
                if std::mem::replace(&mut seen[d], true) {
                    continue;
                }
                let has_step = self.set.get(self.order[d]).action.is_some();
                if has_step
                    && self.results[d]
                        .as_ref()
                        .is_some_and(|r| matches!(r.status, Status::Changes | Status::Unknown))
                {
                    pending.push(d);
                }
                stack.push(d);
            }
        }
        // In run order: the earliest pending steps are named first.
        pending.sort_unstable();
        pending.into_iter().map(|d| self.names[d].to_string()).collect()
    }

    fn record(&mut self, task: &crate::task::Task, sources: String) {
        if let Ok(Some(outputs)) = uptodate::hash_outputs(self.set.root(), task) {
            let stamp = uptodate::Stamp {
                fingerprint: task.fingerprint.clone(),
                sources,
                outputs,
            };
            // Losing the stamp only means the task runs again next time.
            let _ = self.state.record(&task.name, stamp);
        }
    }

    /// Record a result, report it, and release or skip the dependents.
    fn complete(&mut self, slot: usize, result: TaskResult, reporter: &mut dyn Reporter) {
        let failed = matches!(result.status, Status::Failed | Status::Interrupted);
        self.journal_task(slot, &result, reporter);
        reporter.handle(&Event::TaskFinished(result.clone()));
        self.results[slot] = Some(result);
        if failed {
            if self.first_failure.is_none() {
                self.first_failure = Some(self.names[slot].clone());
            }
            if !self.opts.keep_going {
                self.stopping = true;
            }
            self.skip_dependents(slot, reporter);
            return;
        }
        for i in 0..self.dependents[slot].len() {
            let dependent = self.dependents[slot][i];
            self.waiting[dependent] -= 1;
            if self.waiting[dependent] == 0 && self.results[dependent].is_none() {
                self.ready.push_back(dependent);
            }
        }
    }

    fn skip_dependents(&mut self, slot: usize, reporter: &mut dyn Reporter) {
        let reason = format!("dependency `{}` failed", self.names[slot]);
        let mut stack = self.dependents[slot].clone();
        while let Some(dependent) = stack.pop() {
            if self.results[dependent].is_some() {
                continue;
            }
            let result = self.result(dependent, Status::Skipped, Some(reason.clone()));
            self.journal_task(dependent, &result, reporter);
            reporter.handle(&Event::TaskFinished(result.clone()));
            self.results[dependent] = Some(result);
            stack.extend(self.dependents[dependent].iter().copied());
        }
    }

    /// The plan `--save-plan` writes: each task's diff status and produced values.
    fn saved_plan(&self, order: &[TaskId], summary: &Summary, targets: Vec<String>) -> saved_plan::SavedPlan {
        let tasks = order
            .iter()
            .zip(&summary.results)
            .map(|(&id, result)| {
                let task = self.set.get(id);
                let redact = |v: &String| self.secrets.redactor.redact(v).into_owned();
                saved_plan::PlannedStep {
                    task: task.name.clone(),
                    fingerprint: task.fingerprint.clone(),
                    sources: (!task.sources.is_empty())
                        .then(|| uptodate::hash_sources(self.set.root(), task).ok())
                        .flatten(),
                    diff: result.status.id().to_owned(),
                    commands: task.action.as_ref().map(|a| a.plan().lines).unwrap_or_default(),
                    outputs: self
                        .outputs
                        .of_task(&task.name)
                        .iter()
                        .map(|(k, v)| (k.clone(), redact(v)))
                        .collect(),
                }
            })
            .collect();
        saved_plan::new(journal::graph_hash(self.set, order), targets, tasks)
    }

    /// Append a task's record to the journal; report (once) if it cannot be written.
    fn journal_task(&mut self, slot: usize, result: &TaskResult, reporter: &mut dyn Reporter) {
        let Some(journal) = self.journal.as_mut() else {
            return;
        };
        let task = self.set.get(self.order[slot]);
        let record = journal::task_record(
            result,
            &task.fingerprint,
            self.outputs.of_task(&task.name),
            &self.secrets.redactor,
        );
        if let Some(e) = journal.append(&record) {
            reporter.handle(&Event::Warning(e));
        }
    }

    fn interrupt(&mut self) {
        self.stopping = true;
        self.interrupted = true;
        self.cancel.cancel();
    }

    /// Report every task that never started as skipped, saying why.
    fn skip_unstarted(&mut self, reporter: &mut dyn Reporter) {
        let reason = if self.interrupted {
            INTERRUPTED.to_owned()
        } else {
            match &self.first_failure {
                Some(name) => format!("not started: `{name}` failed"),
                None => "not started".to_owned(),
            }
        };
        for slot in 0..self.order.len() {
            if self.results[slot].is_none() {
                let result = self.result(slot, Status::Skipped, Some(reason.clone()));
                self.journal_task(slot, &result, reporter);
                reporter.handle(&Event::TaskFinished(result.clone()));
                self.results[slot] = Some(result);
            }
        }
    }

    fn summary(&mut self, duration: Duration) -> Summary {
        let results = self.results.iter_mut().filter_map(Option::take).collect();
        Summary {
            mode: self.opts.mode,
            results,
            duration,
            exit_code: 0,
        }
    }
}

async fn step(action: &Action, mode: Mode, cx: &StepContext<'_>) -> Result<StepOutcome, StepError> {
    match mode {
        Mode::Diff => action.diff(cx).await.map(StepOutcome::Diff),
        Mode::Apply | Mode::DryRun => action.apply(cx).await.map(StepOutcome::Applied),
    }
}

/// 0.5 s, 1 s, 2 s, … up to 30 s between attempts.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(500u64.saturating_mul(1 << (attempt - 1).min(6))).min(Duration::from_secs(30))
}

/// Passes every event through the [`Redactor`] before the real reporter sees it.
struct Redacting<'r> {
    redactor: Arc<Redactor>,
    inner: &'r mut dyn Reporter,
}

impl Reporter for Redacting<'_> {
    fn handle(&mut self, event: &Event) {
        if self.redactor.is_empty() {
            self.inner.handle(event);
        } else {
            self.inner.handle(&self.redactor.event(event.clone()));
        }
    }

    fn prompt(&mut self, task: &str, question: &str) {
        self.inner.prompt(task, question);
    }

    fn prompt_done(&mut self) {
        self.inner.prompt_done();
    }
}
