//! What the scheduler's tests run it with: scripted steps, a reporter that collects
//! events, and a helper that runs a task file on tokio's paused clock.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::attempt::{RunStep, StepOutcome};
use super::prompt::Interrupts;
use super::scheduler::{Job, execute};
use super::secrets::SecretStore;
use super::uptodate::State;
use super::{Options, Selection, choose};
use crate::diagnostic::SourceFile;
use crate::executor::{Action, Applied, Diff, StepContext, StepError};
use crate::process::ProcessError;
use crate::report::{Event, Mode, Reporter, Status, Summary};
use crate::task::{Vars, load_sources};

/// What a scripted step does.
#[derive(Clone)]
pub(super) enum Script {
    /// Succeed after a while.
    Ok(Duration),
    /// Fail after a while, with this error.
    Fail(Duration, fn() -> StepError),
    /// Fail this many times, then succeed.
    Flaky(u32),
    /// Run until cancelled.
    Hang,
    /// Sleep without looking at the cancellation.
    Stuck(Duration),
    /// `--diff`: report this.
    Diff(Diff),
}

#[derive(Default)]
pub(super) struct Fake {
    scripts: HashMap<String, Script>,
    running: AtomicUsize,
    pub max_running: AtomicUsize,
    attempts: Mutex<HashMap<String, u32>>,
}

impl Fake {
    pub(super) fn new(scripts: &[(&str, Script)]) -> Self {
        Self {
            scripts: scripts
                .iter()
                .map(|(n, s)| ((*n).to_owned(), s.clone()))
                .collect(),
            ..Self::default()
        }
    }

    pub(super) fn attempts(&self, task: &str) -> u32 {
        self.attempts.lock().unwrap().get(task).copied().unwrap_or(0)
    }
}

impl RunStep for Fake {
    async fn run(
        &self,
        task: &str,
        _action: &Action,
        _mode: Mode,
        cx: &StepContext<'_>,
    ) -> Result<StepOutcome, StepError> {
        let attempt = {
            let mut attempts = self.attempts.lock().unwrap();
            let n = attempts.entry(task.to_owned()).or_default();
            *n += 1;
            *n
        };
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_running.fetch_max(now, Ordering::SeqCst);
        let script = self
            .scripts
            .get(task)
            .cloned()
            .unwrap_or(Script::Ok(Duration::from_secs(1)));
        let result = match script {
            Script::Ok(after) => {
                tokio::time::sleep(after).await;
                Ok(StepOutcome::Applied(Applied::default()))
            }
            Script::Fail(after, error) => {
                tokio::time::sleep(after).await;
                Err(error())
            }
            Script::Flaky(failures) if attempt <= failures => Err(StepError::Failed("not yet".into())),
            Script::Flaky(_) => Ok(StepOutcome::Applied(Applied::default())),
            Script::Hang => {
                cx.cancel.cancelled().await;
                Err(StepError::Process(ProcessError::Cancelled))
            }
            Script::Stuck(d) => {
                tokio::time::sleep(d).await;
                Ok(StepOutcome::Applied(Applied::default()))
            }
            Script::Diff(diff) => Ok(StepOutcome::Diff(diff)),
        };
        self.running.fetch_sub(1, Ordering::SeqCst);
        result
    }
}

#[derive(Default)]
pub(super) struct Collect(pub Vec<Event>);

impl Reporter for Collect {
    fn handle(&mut self, event: &Event) {
        self.0.push(event.clone());
    }
}

impl Collect {
    /// `(task, attempt)` of every start, in order.
    pub(super) fn starts(&self) -> Vec<(String, u32)> {
        self.0
            .iter()
            .filter_map(|e| match e {
                Event::TaskStarted { task, attempt, .. } => Some((task.to_string(), *attempt)),
                _ => None,
            })
            .collect()
    }

    pub(super) fn retry_delays(&self) -> Vec<Duration> {
        self.0
            .iter()
            .filter_map(|e| match e {
                Event::Retrying { delay, .. } => Some(*delay),
                _ => None,
            })
            .collect()
    }
}

pub(super) fn options(mode: Mode, jobs: usize) -> Options {
    Options {
        mode,
        jobs,
        keep_going: false,
        yes: true,
        force: false,
        detailed_exitcode: true,
        interactive: false,
        wait_lock: false,
        resume: None,
        save_plan: None,
        excluded: super::Excluded::default(),
    }
}

pub(super) struct Ran {
    pub summary: Summary,
    pub events: Collect,
    pub elapsed: Duration,
}

impl Ran {
    pub(super) fn status(&self, task: &str) -> (Status, Option<&str>) {
        let r = self.result(task);
        (r.status, r.reason.as_deref())
    }

    pub(super) fn result(&self, task: &str) -> &crate::report::TaskResult {
        self.summary
            .results
            .iter()
            .find(|r| &*r.task == task)
            .unwrap_or_else(|| panic!("no result for `{task}`"))
    }

    /// The tasks in the order of their results.
    pub(super) fn tasks(&self) -> Vec<&str> {
        self.summary.results.iter().map(|r| &*r.task).collect()
    }
}

/// Run `targets` of the task file `text` with scripted steps.
pub(super) async fn run(text: &str, targets: &[&str], opts: &Options, steps: &Arc<Fake>) -> Ran {
    run_interrupted(text, targets, opts, steps, None).await
}

pub(super) async fn run_interrupted(
    text: &str,
    targets: &[&str],
    opts: &Options,
    steps: &Arc<Fake>,
    interrupt_after: Option<Duration>,
) -> Ran {
    run_choosing(text, targets, &[], opts, steps, interrupt_after).await
}

/// Run `targets`, leaving out what the `skip` patterns match.
pub(super) async fn run_choosing(
    text: &str,
    targets: &[&str],
    skip: &[&str],
    opts: &Options,
    steps: &Arc<Fake>,
    interrupt_after: Option<Duration>,
) -> Ran {
    let file = SourceFile::new("tasks/t.toml", text.to_owned());
    let set = load_sources(Path::new("/nonexistent"), vec![file], &Vars::default()).unwrap();
    let names: Vec<String> = targets.iter().map(|t| (*t).to_owned()).collect();
    let skip: Vec<String> = skip.iter().map(|t| (*t).to_owned()).collect();
    let roots = crate::run::roots(&set, &names).unwrap();
    let Selection { order, excluded } = choose(&set, &roots, &skip, false).unwrap();
    let opts = Options {
        excluded,
        ..opts.clone()
    };
    let job = Job {
        set: &set,
        order: &order,
        opts: &opts,
        state: State::default(),
        secrets: Arc::new(SecretStore::default()),
        blocked: std::collections::HashMap::new(),
        run_id: "test-run".into(),
    };
    let (tx, mut interrupts) = Interrupts::channel();
    if let Some(after) = interrupt_after {
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            let _ = tx.send(());
        });
    } else {
        std::mem::forget(tx);
    }
    let mut events = Collect::default();
    let started = Instant::now();
    let summary = execute(job, Arc::clone(steps), &mut interrupts, &mut events).await;
    Ran {
        summary,
        events,
        elapsed: started.elapsed(),
    }
}
