//! `ops runs`: the recorded runs of this repository, from `.ops/runs/`.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use std::collections::BTreeMap;

use miette::Diagnostic;
use schemars::JsonSchema;
use serde::Serialize;
use thiserror::Error;

use crate::cli::{Format, RunsArgs, RunsCommand};
use crate::exit::ExitStatus;
use crate::report::Mode;
use crate::run::journal::{self, Record, RunEnd, RunLog, RunState};

#[derive(Debug, Error, Diagnostic)]
#[error("no single run matches `{id}` in .ops/runs/")]
#[diagnostic(code(ops::runs::unknown), help("`ops runs` lists the recorded runs"))]
pub(crate) struct UnknownRun {
    id: String,
}

pub(super) fn run(root: &Path, args: &RunsArgs) -> Result<ExitStatus, UnknownRun> {
    let logs = journal::list(root);
    let json = args.format == Format::Json;
    let text = match &args.command {
        None if json => format!("{}\n", list_json(&logs, args.limit)),
        None => list(&logs, args.limit),
        Some(RunsCommand::Show { id }) => {
            let matching: Vec<&RunLog> = logs.iter().filter(|l| l.id.starts_with(id.as_str())).collect();
            match matching.as_slice() {
                [log] if json => format!("{}\n", show_json(log)),
                [log] => show(log),
                _ => return Err(UnknownRun { id: id.clone() }),
            }
        }
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(ExitStatus::Success)
}

/// `ops runs --format json`: the recorded runs, newest first.
#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(title = "ops runs --format json")]
pub(crate) struct RunsJson<'a> {
    /// The version of the format: raised when a field changes meaning or goes away.
    version: u32,
    runs: Vec<RunJson<'a>>,
}

/// One recorded run.
#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
struct RunJson<'a> {
    /// The run's id (`ops runs show ID`, `ops run --resume ID`).
    id: &'a str,
    /// When it started (RFC 3339, UTC).
    started: &'a str,
    mode: Mode,
    status: RunStatus,
    targets: &'a [String],
    /// How many tasks ended in each status.
    tasks: BTreeMap<&'static str, usize>,
}

/// `ops runs show ID --format json`: the run's journal records as they are stored.
#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(title = "ops runs show ID --format json")]
pub(crate) struct RunShowJson<'a> {
    /// The version of the format: raised when a field changes meaning or goes away.
    version: u32,
    id: &'a str,
    status: RunStatus,
    /// The journal: a `run` record, then `task` and `process` records as they happened,
    /// then an `end` record once the run ended.
    records: &'a [Record],
}

/// How a recorded run stands.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum RunStatus {
    /// It ended, everything done (or, in `--diff`, checked).
    Ok,
    Failed,
    /// Stopped by Ctrl-C or SIGTERM.
    Interrupted,
    /// No end record, and its process is alive.
    Running,
    /// No end record, and its process is gone: `ops run --resume ID` goes on.
    Crashed,
}

impl From<RunState> for RunStatus {
    fn from(state: RunState) -> Self {
        match state {
            RunState::Ended(RunEnd::Ok) => Self::Ok,
            RunState::Ended(RunEnd::Failed) => Self::Failed,
            RunState::Ended(RunEnd::Interrupted) => Self::Interrupted,
            RunState::Running => Self::Running,
            RunState::Crashed => Self::Crashed,
        }
    }
}

fn list_json(logs: &[RunLog], limit: usize) -> String {
    let runs = logs
        .iter()
        .take(limit)
        .map(|log| {
            let (_, targets, mode, _, started) = log.run();
            RunJson {
                id: &log.id,
                started,
                mode,
                status: log.status().into(),
                targets,
                tasks: status_counts(log).into_iter().collect(),
            }
        })
        .collect();
    let doc = RunsJson {
        version: crate::schema::JSON_VERSION,
        runs,
    };
    serde_json::to_string(&doc).unwrap_or_default()
}

fn show_json(log: &RunLog) -> String {
    let doc = RunShowJson {
        version: crate::schema::JSON_VERSION,
        id: &log.id,
        status: log.status().into(),
        records: &log.records,
    };
    serde_json::to_string(&doc).unwrap_or_default()
}

fn status_counts(log: &RunLog) -> Vec<(&'static str, usize)> {
    let mut counts: Vec<(&'static str, usize)> = Vec::new();
    for record in log.tasks().values() {
        if let Record::Task { status, .. } = record {
            match counts.iter_mut().find(|(s, _)| *s == status.id()) {
                Some((_, n)) => *n += 1,
                None => counts.push((status.id(), 1)),
            }
        }
    }
    counts
}

fn counts(log: &RunLog) -> String {
    status_counts(log)
        .iter()
        .map(|(s, n)| format!("{n} {s}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn list(logs: &[RunLog], limit: usize) -> String {
    if logs.is_empty() {
        return "no runs recorded yet\n".to_owned();
    }
    let mut out = format!(
        "{:<26}  {:<20}  {:<7}  {:<11}  {:<24}  {}\n",
        "RUN", "STARTED", "MODE", "STATUS", "TARGETS", "TASKS"
    );
    for log in logs.iter().take(limit) {
        let (_, targets, mode, _, started) = log.run();
        let line = format!(
            "{:<26}  {:<20}  {:<7}  {:<11}  {:<24}  {}",
            log.id,
            started,
            mode.as_str(),
            log.status().as_str(),
            targets.join(" "),
            counts(log)
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}

fn show(log: &RunLog) -> String {
    let (graph, targets, mode, pid, started) = log.run();
    let mut out = format!(
        "run {}\n  targets  {}\n  mode     {}\n  started  {started} (pid {pid})\n  graph    {graph}\n  status   {}\n\n",
        log.id,
        targets.join(" "),
        mode.as_str(),
        log.status().as_str()
    );
    let tasks = log.tasks();
    let width = tasks.keys().map(|k| k.len()).max().unwrap_or(4).max(4);
    let _ = writeln!(
        out,
        "{:<width$}  {:<11}  {:>9}  {:>4}  NOTE",
        "TASK", "STATUS", "DURATION", "EXIT"
    );
    for record in log.records.iter().filter(|r| matches!(r, Record::Task { .. })) {
        let Record::Task {
            task,
            status,
            duration_ms,
            exit_code,
            outputs,
            reason,
            handler,
            ..
        } = record
        else {
            continue;
        };
        let duration = duration_ms.map_or_else(|| "-".to_owned(), |ms| format!("{ms}ms"));
        let exit = exit_code.map_or_else(|| "-".to_owned(), |c| c.to_string());
        let mut note = match (handler, reason) {
            (Some(trigger), Some(reason)) => format!("{}: {reason}", trigger.describe()),
            (Some(trigger), None) => trigger.describe(),
            (None, reason) => reason.clone().unwrap_or_default(),
        };
        for (k, v) in outputs {
            let _ = write!(note, "{}{k}={v}", if note.is_empty() { "" } else { "; " });
        }
        let status = status.id();
        let line = format!("{task:<width$}  {status:<11}  {duration:>9}  {exit:>4}  {note}");
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}
