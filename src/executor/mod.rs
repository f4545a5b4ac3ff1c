//! Step kinds. Each kind lives in one file and implements [`Executor`], which carries
//! the three modes: [`Executor::plan`] is pure (what `--dry-run` prints),
//! [`Executor::diff`] is read-only (what `--diff` reports) and [`Executor::apply`]
//! changes the world. Executors never print: output goes through [`StepContext`].
//!
//! A kind with a table of its own (`nix-build = { … }`) also implements [`StepKind`]:
//! its key, its raw (serde) type, a minimal example and its resolution. The one list
//! of such kinds is the `step_kinds!` call below; it generates the [`Action`] enum,
//! the raw tables of a task ([`RawSteps`]), the "more than one action" check and the
//! dispatch. Adding a step kind is its file here and one line in that list.
//! `cmd`/`shell` ([`Command`]) are keys of the task itself and resolved last.

mod command;
mod judge;
mod need;
mod nix_remote;
mod nix_tools;
mod pattern;
mod resolve;

pub(crate) use command::{Command, RawCommand};
pub(crate) use need::{Need, Needed};
pub(crate) use nix_remote::{NixRemote, RawNixRemote};
pub(crate) use nix_tools::{NixTools, ToolCache};
pub(crate) use resolve::Resolve;

use std::future::Future;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::{Deserialize, DeserializeOwned};
use thiserror::Error;
use tokio_util::sync::CancellationToken;
use toml::Spanned;
use toml::de::{DeValue, ValueDeserializer};

use crate::kube::KubeError;
use crate::process::{self, LineSink, ProcessError, Stream};
use crate::report::Mode;
use crate::template::Outputs;

/// What `--dry-run` shows for a step, computed without touching anything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct StepPlan {
    /// One line per thing the step would do (`$ nix-build ...`).
    pub lines: Vec<String>,
    /// What `--diff` runs instead, if the step has a read-only check.
    pub check: Option<String>,
}

/// What `--diff` found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Diff {
    /// Applying would change nothing.
    NoChange,
    /// Applying would change something; the report was emitted as output.
    Changes,
    /// The step cannot tell without running; says why.
    Unknown(String),
}

/// What a successful apply produced: values later tasks can use as `{{ tasks.NAME.KEY }}`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Applied {
    pub outputs: Vec<(String, String)>,
}

/// Why a step failed. Whether it is worth another attempt (`retries`) follows from
/// the kind of failure, never from its words.
#[derive(Debug, Error)]
pub(crate) enum StepError {
    #[error(transparent)]
    Process(#[from] ProcessError),
    #[error("the check `{program}` failed with exit code {code} (0 means no change, 1 changes pending)")]
    Check { program: String, code: i32 },
    /// Talking to a cluster failed; [`KubeError::is_transient`] says whether to retry.
    #[error(transparent)]
    Kube(KubeError),
    /// What the step was given cannot work (a file that does not exist, a manifest
    /// that does not parse): trying again cannot help.
    #[error("{0}")]
    Invalid(String),
    /// The step ran and found something wrong (a gate's output, a service's answer);
    /// it may pass on another attempt.
    #[error("{0}")]
    Failed(String),
}

impl From<KubeError> for StepError {
    fn from(error: KubeError) -> Self {
        match error {
            KubeError::Cancelled => Self::Process(ProcessError::Cancelled),
            KubeError::Process(e) => Self::Process(e),
            other => Self::Kube(other),
        }
    }
}

impl StepError {
    pub(crate) fn is_retryable(&self) -> bool {
        match self {
            Self::Process(e) => e.is_retryable(),
            Self::Kube(e) => e.is_transient(),
            Self::Invalid(_) => false,
            Self::Check { .. } | Self::Failed(_) => true,
        }
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        matches!(self, Self::Process(ProcessError::Cancelled))
    }

    /// The last lines of stderr of the failing command, if any.
    pub(crate) fn stderr_tail(&self) -> Option<&str> {
        match self {
            Self::Process(e) => e.stderr_tail(),
            Self::Check { .. } | Self::Kube(_) | Self::Invalid(_) | Self::Failed(_) => None,
        }
    }
}

/// Everything a step may use while it runs.
pub(crate) struct StepContext<'a> {
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
    /// Values this step produces, in any mode (see [`StepContext::produce`]).
    pub produced: std::sync::Mutex<Vec<(String, String)>>,
    /// The run's secrets, for the processes it starts.
    pub secrets: std::sync::Arc<crate::redact::Redactor>,
    /// Told the process group of each process the step starts.
    pub spawned: Option<process::SpawnHook>,
    /// The task has the terminal: an interactive command runs on it (see
    /// [`Command`]). Set only in an apply run that has a terminal.
    pub terminal: bool,
}

impl StepContext<'_> {
    /// A process spec in the step's directory, with its environment and timeout.
    pub(crate) fn spec(&self, program: &str, args: Vec<String>) -> process::Spec {
        process::Spec {
            program: program.to_owned(),
            args,
            dir: self.dir.clone(),
            env: self.env.clone(),
            timeout: self.timeout,
            capture: process::TAIL,
            echo_stdout: true,
            secrets: Some(std::sync::Arc::clone(&self.secrets)),
            on_spawn: self.spawned.clone(),
            terminal: false,
        }
    }

    /// Run a process, streaming its output.
    pub(crate) async fn run(&self, spec: &process::Spec) -> Result<process::Output, ProcessError> {
        process::run(spec, &self.sink, &self.cancel).await
    }

    /// Make a value available to dependents as `{{ tasks.NAME.KEY }}`. Read-only
    /// steps (an evaluation, a query) produce their values in `--diff` too, so the
    /// checks of later steps see them.
    pub(crate) fn produce(&self, key: &str, value: impl Into<String>) {
        if let Ok(mut produced) = self.produced.lock() {
            produced.push((key.to_owned(), value.into()));
        }
    }

    /// Take what was produced.
    pub(crate) fn take_produced(&self) -> Vec<(String, String)> {
        self.produced
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default()
    }

    /// What the cluster code needs of this step.
    pub(crate) fn kube(&self) -> crate::kube::Session<'_> {
        crate::kube::Session {
            dir: &self.dir,
            env: &self.env,
            timeout: self.timeout,
            sink: &self.sink,
            cancel: &self.cancel,
        }
    }

    /// A line of the step's own report (a diff, a summary).
    pub(crate) fn report(&self, line: impl Into<String>) {
        (self.sink)(Stream::Stdout, line.into());
    }
}

/// The interface every step kind implements: the three modes, and what the runner
/// needs to know about a step before it runs.
pub(crate) trait Executor {
    /// What the step would do, without doing anything.
    fn plan(&self) -> StepPlan;

    /// Report what applying would change, reading only.
    fn diff(&self, cx: &StepContext<'_>) -> impl Future<Output = Result<Diff, StepError>> + Send;

    /// Do it.
    fn apply(&self, cx: &StepContext<'_>) -> impl Future<Output = Result<Applied, StepError>> + Send;

    /// What the step needs of this machine to run in `mode` (`--diff` or apply):
    /// programs, files, a context, services that must answer (see [`Need`]), as far
    /// as they are known before the run. `dir` is the task's directory; a kind may
    /// read its files here (a script's `#!` line), but never spawns or connects.
    fn needs(&self, _mode: Mode, _dir: &Path) -> Vec<Need> {
        Vec::new()
    }

    /// A read-only check of live services: it runs in `--diff` too, where it may fail
    /// only because the changes it verifies are not applied yet.
    fn verifies(&self) -> bool {
        false
    }

    /// A question the step asks before it runs (a confirmation gate).
    fn question(&self) -> Option<&str> {
        None
    }

    /// The keys of the values it produces, `{{ tasks.NAME.KEY }}`: a reference to any
    /// other key is an error when the files load.
    fn produces(&self) -> Vec<String> {
        Vec::new()
    }
}

/// A step kind written as a table of its own under its key: `nix-build = { … }`.
pub(crate) trait StepKind: Executor + Sized {
    /// The TOML key of this step kind.
    const KEY: &'static str;

    /// The smallest table that loads (`{ file = "default.nix" }`): a test loads every
    /// kind from it, so that no kind can silently load as an aggregate.
    #[cfg_attr(not(test), allow(dead_code))] // read only by that test
    const EXAMPLE: &'static str;

    /// The table as serde reads it, with spans.
    type Raw: DeserializeOwned + std::fmt::Debug;

    /// The resolved step; `None` after reporting every problem to `cx`.
    fn resolve(raw: &Spanned<Self::Raw>, cx: &mut dyn Resolve) -> Option<Self>;
}

/// Declares the step kinds with a table of their own, one `module::Type` a line, in
/// the order their keys are named when a task has more than one.
#[cfg(test)]
pub(crate) mod introspect;

macro_rules! step_kinds {
    ($($module:ident :: $kind:ident),* $(,)?) => {
        $(mod $module; pub(crate) use $module::$kind;)*

        /// A resolved step of any kind.
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub(crate) enum Action {
            Command(Command),
            $($kind($kind),)*
        }

        impl Action {
            /// The action key: `cmd`, `shell` or the kind's table key.
            pub(crate) fn key(&self) -> &'static str {
                match self {
                    Self::Command(step) => step.key(),
                    $(Self::$kind(_) => <$kind as StepKind>::KEY,)*
                }
            }

            fn executor(&self) -> &dyn Describe {
                match self {
                    Self::Command(step) => step,
                    $(Self::$kind(step) => step,)*
                }
            }

            // The typed steps' futures are boxed: held inline, the largest of them (the
            // Kubernetes ones) set the size of every task's future, copied when the
            // scheduler spawns it (14 KB a task, a seventh of a no-op task's instructions).
            pub(crate) async fn diff(&self, cx: &StepContext<'_>) -> Result<Diff, StepError> {
                match self {
                    Self::Command(step) => step.diff(cx).await,
                    $(Self::$kind(step) => Box::pin(step.diff(cx)).await,)*
                }
            }

            pub(crate) async fn apply(&self, cx: &StepContext<'_>) -> Result<Applied, StepError> {
                match self {
                    Self::Command(step) => step.apply(cx).await,
                    $(Self::$kind(step) => Box::pin(step.apply(cx)).await,)*
                }
            }
        }

        /// The typed step tables of one task, as read from its file: at most one is set.
        #[derive(Debug, Default)]
        #[allow(clippy::struct_field_names)] // a field per kind, named after its module
        pub(crate) struct RawSteps {
            // Boxed: held inline, the tables made every task as read 4.8 KB (3.5 KB of
            // them for the kinds it does not use), copied as the file's tasks are collected.
            $($module: Option<Box<Spanned<<$kind as StepKind>::Raw>>>,)*
        }

        impl RawSteps {
            /// The key of every step kind with a table.
            pub(crate) const KEYS: &'static [&'static str] = &[$(<$kind as StepKind>::KEY),*];

            /// Every kind's key and example table.
            #[cfg(test)]
            pub(crate) const EXAMPLES: &'static [(&'static str, &'static str)] =
                &[$((<$kind as StepKind>::KEY, <$kind as StepKind>::EXAMPLE)),*];

            /// Every kind's key and the keys its table accepts.
            #[cfg(test)]
            pub(crate) fn fields() -> Vec<(&'static str, &'static [&'static str])> {
                vec![$((<$kind as StepKind>::KEY, introspect::fields::<<$kind as StepKind>::Raw>())),*]
            }

            /// Read the table of the step kind `key`; `None` when `key` names no kind.
            pub(crate) fn read(
                &mut self,
                key: &str,
                value: Spanned<DeValue<'_>>,
            ) -> Option<Result<(), toml::de::Error>> {
                $(if key == <$kind as StepKind>::KEY {
                    let raw = Spanned::<<$kind as StepKind>::Raw>::deserialize(ValueDeserializer::from(value));
                    return Some(raw.map(|raw| self.$module = Some(Box::new(raw))));
                })*
                None
            }

            /// The kinds present, with the span of their tables.
            fn present(&self) -> Vec<(&'static str, Range<usize>)> {
                let mut present = Vec::new();
                $(if let Some(raw) = &self.$module {
                    present.push((<$kind as StepKind>::KEY, raw.span()));
                })*
                present
            }

            /// Resolve the first kind present; `None` when there is none.
            fn resolve(&self, cx: &mut dyn Resolve) -> Option<Option<Action>> {
                $(if let Some(raw) = &self.$module {
                    return Some(<$kind as StepKind>::resolve(raw, cx).map(Action::$kind));
                })*
                None
            }
        }
    };
}

step_kinds! {
    nix_build::NixBuild,
    nix_eval::NixEval,
    git_tag::GitTag,
    ansible::Ansible,
    caddy::Caddy,
    http_check::HttpCheck,
    gate::Gate,
    cnpg_role::CnpgRole,
    kube_apply::KubeApply,
    kube_wait::KubeWait,
    kube_check::KubeCheck,
    kube_job::KubeJob,
}

/// The parts of [`Executor`] that do not run anything, callable on any kind.
trait Describe {
    fn plan(&self) -> StepPlan;
    fn needs(&self, mode: Mode, dir: &Path) -> Vec<Need>;
    fn verifies(&self) -> bool;
    fn question(&self) -> Option<&str>;
    fn produces(&self) -> Vec<String>;
}

impl<E: Executor> Describe for E {
    fn plan(&self) -> StepPlan {
        Executor::plan(self)
    }
    fn needs(&self, mode: Mode, dir: &Path) -> Vec<Need> {
        Executor::needs(self, mode, dir)
    }
    fn verifies(&self) -> bool {
        Executor::verifies(self)
    }
    fn question(&self) -> Option<&str> {
        Executor::question(self)
    }
    fn produces(&self) -> Vec<String> {
        Executor::produces(self)
    }
}

impl Action {
    pub(crate) fn plan(&self) -> StepPlan {
        self.executor().plan()
    }

    /// What the step needs of this machine in `mode` (see [`Executor::needs`]);
    /// nothing for `--dry-run`, which runs nothing.
    pub(crate) fn needs(&self, mode: Mode, dir: &Path) -> Vec<Need> {
        if mode == Mode::DryRun {
            return Vec::new();
        }
        self.executor().needs(mode, dir)
    }

    /// A read-only check of live services (see [`Executor::verifies`]).
    pub(crate) fn verifies(&self) -> bool {
        self.executor().verifies()
    }

    /// A question the step asks before it runs (a confirmation gate).
    pub(crate) fn question(&self) -> Option<&str> {
        self.executor().question()
    }

    /// The keys of the values the step produces.
    pub(crate) fn produces(&self) -> Vec<String> {
        self.executor().produces()
    }

    /// A command that gets the terminal and runs alone (`interactive = true`).
    pub(crate) fn interactive(&self) -> bool {
        matches!(self, Self::Command(command) if command.interactive)
    }
}

/// Turn the action keys of a task into its [`Action`]; `None` for an aggregate.
pub(crate) fn resolve(steps: &RawSteps, command: &RawCommand<'_>, cx: &mut dyn Resolve) -> Option<Action> {
    let mut present: Vec<(&str, Range<usize>)> = [
        ("cmd", command.cmd.map(Spanned::span)),
        ("shell", command.shell.map(Spanned::span)),
        ("script", command.script.map(Spanned::span)),
    ]
    .into_iter()
    .filter_map(|(key, span)| span.map(|s| (key, s)))
    .collect();
    present.extend(steps.present());
    if let [first, second, ..] = present.as_slice() {
        cx.multiple_actions((first.0, first.1.clone()), (second.0, second.1.clone()));
        return None;
    }
    match steps.resolve(cx) {
        Some(step) => {
            let check = command
                .check
                .map(Spanned::span)
                .or(command.check_shell.map(Spanned::span));
            if let Some(at) = check.or(command.read_only.map(Spanned::span)) {
                cx.invalid(
                    at,
                    format!(
                        "`check`, `check-shell` and `read-only` go with `cmd` or `shell`, not `{}`",
                        present[0].0
                    ),
                    "not for this step",
                    Some("typed steps know what they would change; remove this key".into()),
                );
            }
            if let Some(at) = command.interactive.filter(|i| *i.get_ref()).map(Spanned::span) {
                cx.invalid(
                    at,
                    format!("`interactive` goes with `cmd` or `shell`, not `{}`", present[0].0),
                    "not for this step",
                    Some(
                        "only a command can be handed the terminal: a typed step runs its tools itself and reads their output"
                            .into(),
                    ),
                );
            }
            step
        }
        None => command::resolve(command, cx).map(Action::Command),
    }
}
