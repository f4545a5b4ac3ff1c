//! The top-level error type and the exit codes of `ops`.

use std::process::ExitCode;

use miette::Diagnostic;
use thiserror::Error;

/// Exit codes, shared by every command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// Everything ran (or would run) fine.
    Success,
    /// A task failed (or lint findings).
    Failure,
    /// Usage, configuration or input error: nothing was run.
    Usage,
    /// `--diff --detailed-exitcode`: changes are pending.
    ChangesPending,
    /// Stopped by SIGINT or SIGTERM.
    Interrupted,
}

impl ExitStatus {
    pub fn code(self) -> u8 {
        match self {
            Self::Success => 0,
            Self::Failure => 1,
            Self::Usage => 2,
            Self::ChangesPending => 3,
            Self::Interrupted => 130,
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        ExitCode::from(status.code())
    }
}

/// Anything that stops a command before or outside task execution.
#[derive(Debug, Error, Diagnostic)]
pub enum Error {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Root(#[from] crate::root::RootError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Load(#[from] crate::task::LoadErrors),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Select(#[from] crate::run::SelectError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Lock(#[from] crate::run::LockError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Context(#[from] Box<crate::run::ContextError>),

    #[error(transparent)]
    #[diagnostic(transparent)]
    UnknownRun(#[from] crate::commands::UnknownRun),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Plan(#[from] crate::run::saved_plan::PlanError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Lint(#[from] crate::commands::LintError),

    #[error("could not write {what}")]
    #[diagnostic(code(ops::io))]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub fn exit_status(&self) -> ExitStatus {
        match self {
            Self::Io { .. } | Self::Lock(_) => ExitStatus::Failure,
            Self::Root(_)
            | Self::Load(_)
            | Self::Select(_)
            | Self::UnknownRun(_)
            | Self::Plan(_)
            | Self::Context(_)
            | Self::Lint(_) => ExitStatus::Usage,
        }
    }
}
