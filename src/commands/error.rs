//! The error of a command: anything that stops it before or outside task execution,
//! from every layer below, with the exit status it maps to.

use miette::Diagnostic;
use thiserror::Error;

use crate::exit::ExitStatus;

/// Anything that stops a command before or outside task execution.
#[derive(Debug, Error, Diagnostic)]
pub(crate) enum Error {
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
    Run(#[from] crate::run::RunError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    UnknownRun(#[from] super::UnknownRun),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Plan(#[from] crate::run::saved_plan::PlanError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Lint(#[from] super::LintError),

    #[error(transparent)]
    #[diagnostic(transparent)]
    Arguments(#[from] super::invocation::ArgumentsError),
}

impl Error {
    pub(crate) fn exit_status(&self) -> ExitStatus {
        match self {
            Self::Run(e) => e.exit_status(),
            Self::Root(_)
            | Self::Load(_)
            | Self::Select(_)
            | Self::UnknownRun(_)
            | Self::Plan(_)
            | Self::Lint(_)
            | Self::Arguments(_) => ExitStatus::Usage,
        }
    }
}
