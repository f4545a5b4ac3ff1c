//! The exit codes of `ops`, shared by every command.

use std::process::ExitCode;

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
