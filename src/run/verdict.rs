//! What a run's results mean: the status of a finished step (with the `--diff` rules
//! for phases and for checks of live services), and the exit status of the run.

use super::attempt::StepOutcome;
use super::ledger::Ledger;
use crate::executor::{Diff, StepError};
use crate::exit::ExitStatus;
use crate::process::ProcessError;
use crate::report::{Mode, Status, Summary, TaskResult};

pub(super) const INTERRUPTED: &str = "not started: the run was interrupted";

/// The result of a step that ran. `verifies`: the step checks live services (see
/// [`crate::executor::Executor::verifies`]).
pub(super) fn step_result(
    ledger: &Ledger,
    slot: usize,
    outcome: Result<StepOutcome, StepError>,
    mode: Mode,
    verifies: bool,
) -> TaskResult {
    let mut out = ledger.result(slot, Status::Ok, None);
    match outcome {
        Ok(StepOutcome::Applied(_)) => out.exit_code = Some(0),
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
        Err(e) if mode == Mode::Diff && verifies => {
            // A check of live services before the changes that make it pass: its
            // failure says nothing yet, unless nothing upstream is pending.
            let pending = names(ledger, &ledger.pending_upstream(slot));
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
            if let StepError::Process(ProcessError::Exit { code, .. }) = &e {
                out.exit_code = Some(*code);
            }
            out.stderr_tail = e.stderr_tail().map(str::to_owned);
            out.reason = Some(e.to_string());
        }
    }
    out
}

/// What `--diff` says about an aggregate (a phase): changes when anything it
/// depends on has changes, unknown when something could not tell.
pub(super) fn aggregate_diff(ledger: &Ledger, slot: usize) -> (Status, Option<String>) {
    let pending = ledger.pending_upstream(slot);
    if pending.is_empty() {
        return (Status::NoChange, None);
    }
    let changes = pending.iter().any(|&d| ledger.status(d) == Some(Status::Changes));
    let status = if changes { Status::Changes } else { Status::Unknown };
    (status, Some(format!("from {}", list(&names(ledger, &pending)))))
}

/// The exit status of a finished run.
pub(super) fn exit_status(summary: &Summary, detailed_exitcode: bool) -> ExitStatus {
    let any = |st: Status| summary.results.iter().any(|r| r.status == st);
    if any(Status::Interrupted)
        || summary
            .results
            .iter()
            .any(|r| r.reason.as_deref() == Some(INTERRUPTED))
    {
        ExitStatus::Interrupted
    } else if any(Status::Failed) || any(Status::NotRunnable) {
        ExitStatus::Failure
    } else if summary.mode == Mode::Diff
        && detailed_exitcode
        && (any(Status::Changes) || any(Status::Unknown))
    {
        ExitStatus::ChangesPending
    } else {
        ExitStatus::Success
    }
}

fn names(ledger: &Ledger, slots: &[usize]) -> Vec<String> {
    slots.iter().map(|&s| ledger.names[s].to_string()).collect()
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
