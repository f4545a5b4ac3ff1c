//! Step kinds. Each kind lives in one file and implements [`Executor`], which carries
//! the three modes: [`Executor::plan`] is pure (what `--dry-run` prints),
//! [`Executor::diff`] is read-only (what `--diff` reports) and [`Executor::apply`]
//! changes the world. Executors never print: output goes through [`StepContext`].
//!
//! Adding a step kind: one file here, its key in the raw task (`task/file.rs`), one
//! arm in [`resolve`] and one in each `match` of [`Action`].

mod ansible;
mod caddy;
mod cnpg_role;
mod command;
mod gate;
mod git_tag;
mod http_check;
mod kube_apply;
mod kube_check;
mod kube_wait;
mod nix_build;
mod nix_eval;
mod pattern;

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use thiserror::Error;
use tokio_util::sync::CancellationToken;
use toml::Spanned;

pub use ansible::{Ansible, parse_recap};
pub use caddy::Caddy;
pub use cnpg_role::CnpgRole;
pub use command::{Command, Program};
pub use gate::Gate;
pub use git_tag::GitTag;
pub use http_check::HttpCheck;
pub use kube_apply::KubeApply;
pub use kube_check::KubeCheck;
pub use kube_wait::KubeWait;
pub use nix_build::NixBuild;
pub use nix_eval::NixEval;

/// The raw (serde) shapes of the typed step tables, for the task file loader.
pub mod raw {
    pub use super::ansible::Raw as Ansible;
    pub use super::caddy::Raw as Caddy;
    pub use super::cnpg_role::Raw as CnpgRole;
    pub use super::gate::Raw as Gate;
    pub use super::git_tag::Raw as GitTag;
    pub use super::http_check::Raw as HttpCheck;
    pub use super::kube_apply::Raw as KubeApply;
    pub use super::kube_check::RawCheck as KubeCheck;
    pub use super::kube_wait::RawWait as KubeWait;
    pub use super::nix_build::Raw as NixBuild;
    pub use super::nix_eval::Raw as NixEval;
}

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
    /// The step ran and found something wrong; the message says what.
    #[error("{0}")]
    Failed(String),
}

impl StepError {
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Process(e) => e.is_retryable(),
            Self::Check { .. } | Self::Failed(_) => true,
        }
    }

    pub fn is_cancelled(&self) -> bool {
        matches!(self, Self::Process(ProcessError::Cancelled))
    }

    /// The last lines of stderr of the failing command, if any.
    pub fn stderr_tail(&self) -> Option<&str> {
        match self {
            Self::Process(e) => e.stderr_tail(),
            Self::Check { .. } | Self::Failed(_) => None,
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
    /// Values this step produces, in any mode (see [`StepContext::produce`]).
    pub produced: std::sync::Mutex<Vec<(String, String)>>,
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
            capture: process::TAIL,
            echo_stdout: true,
        }
    }

    /// Run a process, streaming its output.
    pub async fn run(&self, spec: &process::Spec) -> Result<process::Output, ProcessError> {
        process::run(spec, &self.sink, &self.cancel).await
    }

    /// Make a value available to dependents as `{{ tasks.NAME.KEY }}`. Read-only
    /// steps (an evaluation, a query) produce their values in `--diff` too, so the
    /// checks of later steps see them.
    pub fn produce(&self, key: &str, value: impl Into<String>) {
        if let Ok(mut produced) = self.produced.lock() {
            produced.push((key.to_owned(), value.into()));
        }
    }

    /// Take what was produced.
    pub fn take_produced(&self) -> Vec<(String, String)> {
        self.produced
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default()
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
    NixBuild(NixBuild),
    NixEval(NixEval),
    GitTag(GitTag),
    Ansible(Ansible),
    Caddy(Caddy),
    HttpCheck(HttpCheck),
    Gate(Gate),
    CnpgRole(CnpgRole),
    KubeApply(KubeApply),
    KubeWait(KubeWait),
    KubeCheck(KubeCheck),
}

/// Call `$body` with `$step` bound to the executor inside any [`Action`].
macro_rules! each_kind {
    ($action:expr, $step:ident => $body:expr) => {
        match $action {
            Action::Command($step) => $body,
            Action::NixBuild($step) => $body,
            Action::NixEval($step) => $body,
            Action::GitTag($step) => $body,
            Action::Ansible($step) => $body,
            Action::Caddy($step) => $body,
            Action::HttpCheck($step) => $body,
            Action::Gate($step) => $body,
            Action::CnpgRole($step) => $body,
            Action::KubeApply($step) => $body,
            Action::KubeWait($step) => $body,
            Action::KubeCheck($step) => $body,
        }
    };
}

impl Action {
    pub fn key(&self) -> &'static str {
        match self {
            Self::Command(c) => c.key(),
            other => each_kind!(other, step => key_of(step)),
        }
    }

    pub fn plan(&self) -> StepPlan {
        each_kind!(self, step => step.plan())
    }

    pub async fn diff(&self, cx: &StepContext<'_>) -> Result<Diff, StepError> {
        each_kind!(self, step => step.diff(cx).await)
    }

    pub async fn apply(&self, cx: &StepContext<'_>) -> Result<Applied, StepError> {
        each_kind!(self, step => step.apply(cx).await)
    }

    /// The Kubernetes context a step talks to, if it is a Kubernetes step.
    pub fn kube_context(&self) -> Option<&crate::kube::Context> {
        match self {
            Self::KubeApply(step) => Some(step.context()),
            Self::KubeWait(step) => Some(step.context()),
            Self::KubeCheck(step) => Some(step.context()),
            _ => None,
        }
    }

    /// A read-only check of live services (it runs in `--diff` too, where it may fail
    /// only because the changes it verifies are not applied yet).
    pub fn verifies(&self) -> bool {
        matches!(self, Self::HttpCheck(_) | Self::KubeCheck(_))
    }

    /// A question the step asks before it runs (a confirmation gate).
    pub fn question(&self) -> Option<&str> {
        match self {
            Self::Gate(gate) => gate.question(),
            _ => None,
        }
    }
}

fn key_of<E: Executor>(_: &E) -> &'static str {
    E::KEY
}

/// The action keys of one raw task, borrowed from the loader.
pub struct RawActions<'a> {
    pub nix_build: Option<&'a Spanned<raw::NixBuild>>,
    pub nix_eval: Option<&'a Spanned<raw::NixEval>>,
    pub git_tag: Option<&'a Spanned<raw::GitTag>>,
    pub ansible: Option<&'a Spanned<raw::Ansible>>,
    pub caddy: Option<&'a Spanned<raw::Caddy>>,
    pub http_check: Option<&'a Spanned<raw::HttpCheck>>,
    pub gate: Option<&'a Spanned<raw::Gate>>,
    pub cnpg_role: Option<&'a Spanned<raw::CnpgRole>>,
    pub kube_apply: Option<&'a Spanned<raw::KubeApply>>,
    pub kube_wait: Option<&'a Spanned<raw::KubeWait>>,
    pub kube_check: Option<&'a Spanned<raw::KubeCheck>>,
    pub cmd: Option<&'a Spanned<Vec<Spanned<String>>>>,
    pub shell: Option<&'a Spanned<String>>,
    pub check: Option<&'a Spanned<Vec<Spanned<String>>>>,
    pub check_shell: Option<&'a Spanned<String>>,
    pub read_only: Option<&'a Spanned<bool>>,
}

/// Turn the action keys of a task into its [`Action`]; `None` for an aggregate.
pub fn resolve(raw: &RawActions<'_>, cx: &mut Resolver<'_>) -> Option<Action> {
    let span = |s: Option<std::ops::Range<usize>>| s;
    let present: Vec<(&str, std::ops::Range<usize>)> = [
        ("cmd", span(raw.cmd.map(Spanned::span))),
        ("shell", span(raw.shell.map(Spanned::span))),
        (NixBuild::KEY, span(raw.nix_build.map(Spanned::span))),
        (NixEval::KEY, span(raw.nix_eval.map(Spanned::span))),
        (GitTag::KEY, span(raw.git_tag.map(Spanned::span))),
        (Ansible::KEY, span(raw.ansible.map(Spanned::span))),
        (Caddy::KEY, span(raw.caddy.map(Spanned::span))),
        (HttpCheck::KEY, span(raw.http_check.map(Spanned::span))),
        (Gate::KEY, span(raw.gate.map(Spanned::span))),
        (CnpgRole::KEY, span(raw.cnpg_role.map(Spanned::span))),
        (KubeApply::KEY, span(raw.kube_apply.map(Spanned::span))),
        (KubeWait::KEY, span(raw.kube_wait.map(Spanned::span))),
        (KubeCheck::KEY, span(raw.kube_check.map(Spanned::span))),
    ]
    .into_iter()
    .filter_map(|(key, span)| span.map(|s| (key, s)))
    .collect();
    if let [first, second, ..] = present.as_slice() {
        cx.multiple_actions((first.0, first.1.clone()), (second.0, second.1.clone()));
        return None;
    }
    let typed = !matches!(present.first().map(|p| p.0), None | Some("cmd" | "shell"));
    if typed {
        let check = raw
            .check
            .map(Spanned::span)
            .or(raw.check_shell.map(Spanned::span));
        if let Some(at) = check.or(raw.read_only.map(Spanned::span)) {
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
    }
    if let Some(r) = raw.nix_build {
        return Some(Action::NixBuild(nix_build::resolve(r.get_ref(), cx)));
    }
    if let Some(r) = raw.nix_eval {
        return Some(Action::NixEval(nix_eval::resolve(r.get_ref(), cx)));
    }
    if let Some(r) = raw.git_tag {
        return git_tag::resolve(r, cx).map(Action::GitTag);
    }
    if let Some(r) = raw.ansible {
        return ansible::resolve(r, cx).map(Action::Ansible);
    }
    if let Some(r) = raw.caddy {
        return caddy::resolve(r, cx).map(Action::Caddy);
    }
    if let Some(r) = raw.http_check {
        return http_check::resolve(r, cx).map(Action::HttpCheck);
    }
    if let Some(r) = raw.cnpg_role {
        return cnpg_role::resolve(r, cx).map(Action::CnpgRole);
    }
    if let Some(r) = raw.kube_apply {
        return kube_apply::resolve(r, cx).map(Action::KubeApply);
    }
    if let Some(r) = raw.kube_wait {
        return kube_wait::resolve_wait(r, cx).map(Action::KubeWait);
    }
    if let Some(r) = raw.kube_check {
        return kube_check::resolve_check(r, cx).map(Action::KubeCheck);
    }
    if let Some(r) = raw.gate {
        return gate::resolve(r, cx).map(Action::Gate);
    }
    command::resolve(raw, cx).map(Action::Command)
}
