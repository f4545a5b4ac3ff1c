//! Running one task: its secrets, its environment, its step under the task's timeout
//! and the run's cancellation, and its retries with backoff.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use super::outputs::OutputMap;
use super::secrets::SecretStore;
use crate::executor::{Action, Applied, Diff, NixTools, StepContext, StepError, ToolCache};
use crate::process::{LineSink, ProcessError, Stream};
use crate::report::{Event, Mode, Name};
use crate::task::{EnvFile, SecretSource};
use crate::template::Template;

/// What a step returned, in the mode it ran in.
pub(super) enum StepOutcome {
    Applied(Applied),
    Diff(Diff),
}

/// Runs the step of a task. The scheduler is written against this, so that its
/// tests can run scripted steps; [`Steps`] runs the real executors.
pub(super) trait RunStep: Send + Sync + 'static {
    fn run(
        &self,
        task: &str,
        action: &Action,
        mode: Mode,
        cx: &StepContext<'_>,
    ) -> impl Future<Output = Result<StepOutcome, StepError>> + Send;
}

/// The real executors.
pub(super) struct Steps;

impl RunStep for Steps {
    async fn run(
        &self,
        _task: &str,
        action: &Action,
        mode: Mode,
        cx: &StepContext<'_>,
    ) -> Result<StepOutcome, StepError> {
        match mode {
            Mode::Diff => action.diff(cx).await.map(StepOutcome::Diff),
            Mode::Apply | Mode::DryRun => action.apply(cx).await.map(StepOutcome::Applied),
        }
    }
}

/// Everything one task needs to run, taken from the run before it starts.
pub(super) struct Attempt {
    pub slot: usize,
    pub name: Name,
    pub action: Action,
    pub mode: Mode,
    pub dir: PathBuf,
    /// The repository root, which env file paths are relative to.
    pub root: PathBuf,
    /// Read when the task starts; its `env` overrides them.
    pub env_files: Vec<EnvFile>,
    /// Its tools from Nix, and the run's cache of built ones.
    pub nix_tools: Option<(NixTools, Arc<ToolCache>)>,
    /// `OPS_ROOT` and `OPS_TASK` (the task's env files and rendered `env` follow them).
    pub base_env: Vec<(String, String)>,
    pub env: Vec<(String, Template)>,
    pub secrets: Vec<(String, SecretSource)>,
    pub store: Arc<SecretStore>,
    /// The values of the dependencies the task uses.
    pub outputs: OutputMap,
    pub timeout: Option<Duration>,
    pub retries: u32,
    /// Shown again when an attempt starts after a retry.
    pub command: Option<String>,
    pub events: UnboundedSender<Event>,
    pub cancel: CancellationToken,
    /// The task has the terminal (an interactive command in a run that has one).
    pub terminal: bool,
}

/// How a task's run ended.
pub(super) struct Finished {
    pub slot: usize,
    pub result: Result<StepOutcome, StepError>,
    /// Values the step produced with `StepContext::produce`.
    pub produced: Vec<(String, String)>,
    pub duration: Duration,
}

/// How long a step may take to stop by itself after a cancellation or its timeout:
/// steps that run processes stop them (whole process groups) and return; steps that
/// talk to servers in-process (HTTP, Kubernetes) are dropped after it.
pub(super) const GRACE: Duration = Duration::from_secs(2);

impl Attempt {
    pub(super) async fn run(mut self, steps: Arc<impl RunStep>) -> Finished {
        let started = Instant::now();
        let sink_tx = self.events.clone();
        let sink_name = self.name.clone();
        let sink: LineSink = Arc::new(move |stream: Stream, line: String| {
            let _ = sink_tx.send(Event::Output {
                task: sink_name.clone(),
                stream,
                line,
            });
        });
        for (secret, source) in &self.secrets {
            match self.store.get(source, &sink, &self.cancel).await {
                Ok(value) => self.outputs.insert_secret(secret, value),
                Err(reason) => {
                    return Finished {
                        slot: self.slot,
                        result: Err(StepError::Failed(format!(
                            "cannot read secret `{secret}`: {reason}"
                        ))),
                        produced: Vec::new(),
                        duration: started.elapsed(),
                    };
                }
            }
        }
        let mut env = std::mem::take(&mut self.base_env);
        match super::environment::read_files(&self.root, &self.env_files) {
            Ok(vars) => env.extend(vars),
            Err(reason) => {
                return Finished {
                    slot: self.slot,
                    result: Err(StepError::Invalid(reason)),
                    produced: Vec::new(),
                    duration: started.elapsed(),
                };
            }
        }
        env.extend(self.env.iter().map(|(k, v)| (k.clone(), v.render(&self.outputs))));
        let mut cx = StepContext {
            dir: self.dir.clone(),
            env,
            timeout: self.timeout,
            cancel: self.cancel.clone(),
            sink,
            outputs: &self.outputs,
            produced: std::sync::Mutex::new(Vec::new()),
            secrets: Arc::clone(&self.store.redactor),
            spawned: Some(spawn_hook(&self.events, &self.name)),
            terminal: self.terminal,
        };
        if let Some((tools, cache)) = &self.nix_tools {
            match cache.provide(tools, &cx).await {
                Ok(bins) => put_first_on_path(&mut cx.env, &bins),
                Err(e) => {
                    return Finished {
                        slot: self.slot,
                        result: Err(e),
                        produced: cx.take_produced(),
                        duration: started.elapsed(),
                    };
                }
            }
        }
        let mut attempt = 1;
        let result = loop {
            if attempt > 1 {
                let _ = self.events.send(Event::TaskStarted {
                    task: self.name.clone(),
                    attempt,
                    command: self.command.clone(),
                    terminal: self.terminal,
                });
            }
            let step = steps.run(&self.name, &self.action, self.mode, &cx);
            match bounded(step, self.timeout, &self.cancel).await {
                Err(e) if attempt <= self.retries && e.is_retryable() && !self.cancel.is_cancelled() => {
                    let delay = backoff(attempt);
                    let _ = self.events.send(Event::Retrying {
                        task: self.name.clone(),
                        attempt,
                        delay,
                        reason: e.to_string(),
                    });
                    tokio::select! {
                        () = tokio::time::sleep(delay) => {}
                        () = self.cancel.cancelled() => break Err(StepError::Process(ProcessError::Cancelled)),
                    }
                    attempt += 1;
                }
                other => break other,
            }
        };
        Finished {
            slot: self.slot,
            result,
            produced: cx.take_produced(),
            duration: started.elapsed(),
        }
    }
}

/// `bins` before the `PATH` the task would get otherwise (its own `env`, or that of `ops`).
fn put_first_on_path(env: &mut Vec<(String, String)>, bins: &[PathBuf]) {
    if bins.is_empty() {
        return;
    }
    let base = env
        .iter()
        .rev()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.clone())
        .or_else(|| std::env::var("PATH").ok())
        .unwrap_or_default();
    let paths = bins.iter().cloned().chain(std::env::split_paths(&base));
    if let Ok(joined) = std::env::join_paths(paths) {
        env.retain(|(k, _)| k != "PATH");
        env.push(("PATH".into(), joined.to_string_lossy().into_owned()));
    }
}

/// Reports each process group the task starts, so the journal can name it.
fn spawn_hook(events: &UnboundedSender<Event>, task: &Name) -> crate::process::SpawnHook {
    let (events, task) = (events.clone(), task.clone());
    crate::process::SpawnHook(Arc::new(move |pgid| {
        let _ = events.send(Event::ProcessStarted {
            task: task.clone(),
            pgid,
        });
    }))
}

/// Run a step under the task's timeout and the run's cancellation.
async fn bounded(
    step: impl Future<Output = Result<StepOutcome, StepError>>,
    timeout: Option<Duration>,
    cancel: &CancellationToken,
) -> Result<StepOutcome, StepError> {
    let cancelled = async {
        cancel.cancelled().await;
        tokio::time::sleep(GRACE).await;
    };
    let timed_out = async {
        match timeout {
            Some(t) => tokio::time::sleep(t.saturating_add(GRACE)).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        result = step => result,
        () = cancelled => Err(StepError::Process(ProcessError::Cancelled)),
        () = timed_out => Err(StepError::Process(ProcessError::Timeout { after: timeout.unwrap_or_default() })),
    }
}

/// 0.5 s, 1 s, 2 s, … up to 30 s between attempts.
pub(super) fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(500u64.saturating_mul(1 << (attempt - 1).min(6))).min(Duration::from_secs(30))
}
