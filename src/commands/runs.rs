//! `ops runs`: the recorded runs of this repository, from `.ops/runs/`.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use miette::Diagnostic;
use thiserror::Error;

use crate::cli::{Format, RunsArgs, RunsCommand};
use crate::exit::ExitStatus;
use crate::run::journal::{self, Record, RunLog};

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

/// `ops runs --format json`: `{"version", "runs": [{"id", "started", "mode", "status",
/// "targets", "tasks": {STATUS: COUNT}}]}`, newest first.
fn list_json(logs: &[RunLog], limit: usize) -> serde_json::Value {
    let runs: Vec<serde_json::Value> = logs
        .iter()
        .take(limit)
        .map(|log| {
            let (_, targets, mode, _, started) = log.run();
            let tasks: serde_json::Map<String, serde_json::Value> = status_counts(log)
                .into_iter()
                .map(|(s, n)| (s.to_owned(), n.into()))
                .collect();
            serde_json::json!({
                "id": log.id,
                "started": started,
                "mode": mode.as_str(),
                "status": log.status().as_str(),
                "targets": targets,
                "tasks": tasks,
            })
        })
        .collect();
    serde_json::json!({ "version": crate::schema::JSON_VERSION, "runs": runs })
}

/// `ops runs show ID --format json`: the run's journal records as they are stored.
fn show_json(log: &RunLog) -> serde_json::Value {
    serde_json::json!({
        "version": crate::schema::JSON_VERSION,
        "id": log.id,
        "status": log.status().as_str(),
        "records": log.records,
    })
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
