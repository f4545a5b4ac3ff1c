//! Step kinds. Each kind lives in one file and implements [`Executor`], which carries
//! the three modes: [`Executor::plan`] is pure (what `--dry-run` prints),
//! [`Executor::diff`] is read-only (what `--diff` reports) and [`Executor::apply`]
//! changes the world. Executors never print: output goes through [`StepContext`].
//!
//! Adding a step kind: one file here, its key in the raw task (`task/file.rs`), one
//! arm in [`resolve`] and one in each `match` of [`Action`].

mod command;

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use thiserror::Error;
use tokio_util::sync::CancellationToken;
use toml::Spanned;

pub use command::{Command, Program};

use crate::process::{self, LineSink, ProcessError, Stream};
use crate::task::Resolver;
use crate::template::Outputs;

/// What `--dry-run` shows for a step, computed without touching anything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StepPlan {
    /// One line per thing the step would do (`$ nix-build ...`).
    pub lines: Vec<String>,
    /// What `--diff` runs instead, if the step has a read-only check.
    pub check: Option<String>,
}

/// What `--diff` found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Diff {
    /// Applying would change nothing.
    NoChange,
    /// Applying would change something; the report was emitted as output.
    Changes,
    /// The step cannot tell without running; says why.
    Unknown(String),
}

/// What a successful apply produced: values later tasks can use as `{{ tasks.NAME.KEY }}`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    pub outputs: Vec<(String, String)>,
}

/// Why a step failed.
#[derive(Debug, Error)]
pub enum StepError {
    #[error(transparent)]
    Process(#[from] ProcessError),
    #[error("the check `{program}` failed with exit code {code} (0 means no change, 1 changes pending)")]
    Check { program: String, code: i32 },
}

impl StepError {
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Process(e) => e.is_retryable(),
            Self::Check { .. } => true,
        }
    }

    pub fn is_cancelled(&self) -> bool {
        matches!(self, Self::Process(ProcessError::Cancelled))
    }

    /// The last lines of stderr of the failing command, if any.
    pub fn stderr_tail(&self) -> Option<&str> {
        match self {
            Self::Process(e) => e.stderr_tail(),
            Self::Check { .. } => None,
        }
    }
}

/// Everything a step may use while it runs.
pub struct StepContext<'a> {
    /// Working directory (the root, or the task's `dir`).
    pub dir: PathBuf,
    /// The task's `env`, rendered.
    pub env: Vec<(String, String)>,
    pub timeout: Option<Duration>,
    pub cancel: CancellationToken,
    /// Output of the step and of its children.
    pub sink: LineSink,
    /// Values produced by the tasks that ran before.
    pub outputs: &'a (dyn Outputs + Sync),
}

impl StepContext<'_> {
    /// A process spec in the step's directory, with its environment and timeout.
    pub fn spec(&self, program: &str, args: Vec<String>) -> process::Spec {
        process::Spec {
            program: program.to_owned(),
            args,
            dir: self.dir.clone(),
            env: self.env.clone(),
            timeout: self.timeout,
        }
    }

    /// Run a process, streaming its output.
    pub async fn run(&self, spec: &process::Spec) -> Result<process::Output, ProcessError> {
        process::run(spec, &self.sink, &self.cancel).await
    }

    /// A line of the step's own report (a diff, a summary).
    pub fn report(&self, line: impl Into<String>) {
        (self.sink)(Stream::Stdout, line.into());
    }
}

/// The interface every step kind implements.
pub trait Executor {
    /// The TOML key of this step kind.
    const KEY: &'static str;

    /// What the step would do, without doing anything.
    fn plan(&self) -> StepPlan;

    /// Report what applying would change, reading only.
    fn diff(&self, cx: &StepContext<'_>) -> impl Future<Output = Result<Diff, StepError>> + Send;

    /// Do it.
    fn apply(&self, cx: &StepContext<'_>) -> impl Future<Output = Result<Applied, StepError>> + Send;
}

/// A resolved step of any kind.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    Command(Command),
}

impl Action {
    pub fn key(&self) -> &'static str {
        match self {
            Self::Command(c) => c.key(),
        }
    }

    pub fn plan(&self) -> StepPlan {
        match self {
            Self::Command(c) => c.plan(),
        }
    }

    pub async fn diff(&self, cx: &StepContext<'_>) -> Result<Diff, StepError> {
        match self {
            Self::Command(c) => c.diff(cx).await,
        }
    }

    pub async fn apply(&self, cx: &StepContext<'_>) -> Result<Applied, StepError> {
        match self {
            Self::Command(c) => c.apply(cx).await,
        }
    }
}

/// The action keys of one raw task, borrowed from the loader.
pub struct RawActions<'a> {
    pub cmd: Option<&'a Spanned<Vec<Spanned<String>>>>,
    pub shell: Option<&'a Spanned<String>>,
    pub check: Option<&'a Spanned<Vec<Spanned<String>>>>,
    pub check_shell: Option<&'a Spanned<String>>,
    pub read_only: Option<&'a Spanned<bool>>,
}

/// Turn the action keys of a task into its [`Action`]; `None` for an aggregate.
pub fn resolve(raw: &RawActions<'_>, cx: &mut Resolver<'_>) -> Option<Action> {
    let mut present: Vec<(&str, std::ops::Range<usize>)> = Vec::new();
    if let Some(cmd) = raw.cmd {
        present.push(("cmd", cmd.span()));
    }
    if let Some(shell) = raw.shell {
        present.push(("shell", shell.span()));
    }
    if let [first, second, ..] = present.as_slice() {
        cx.multiple_actions((first.0, first.1.clone()), (second.0, second.1.clone()));
        return None;
    }
    command::resolve(raw, cx).map(Action::Command)
}
