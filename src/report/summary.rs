//! The status line of a finished task and the summary table of a run.

use std::fmt::Write as _;

use console::Style;

use super::{Status, Summary, TaskResult, short_duration};

fn style(status: Status) -> Style {
    match status {
        Status::Ok | Status::NoChange => Style::new().green(),
        Status::Failed | Status::Interrupted | Status::NotRunnable => Style::new().red().bold(),
        Status::Changes | Status::Unknown => Style::new().yellow(),
        Status::Skipped | Status::UpToDate | Status::Resumed => Style::new().dim(),
    }
}

fn symbol(status: Status) -> &'static str {
    match status {
        Status::Ok => "✓",
        Status::Failed => "✗",
        Status::Skipped => "↷",
        Status::UpToDate | Status::NoChange | Status::Resumed => "=",
        Status::Changes => "~",
        Status::Unknown => "?",
        Status::Interrupted => "■",
        Status::NotRunnable => "⊘",
    }
}

/// `✓ ok (1.2s)`, `✗ failed: `sh` exited with code 1 (0.0s)`.
pub(super) fn status_line(r: &TaskResult) -> String {
    let reason = r.reason.as_deref().unwrap_or_default();
    let mut line = String::with_capacity(24 + reason.len());
    line.push_str(symbol(r.status));
    line.push(' ');
    line.push_str(r.status.as_str());
    if r.reason.is_some() {
        line.push_str(": ");
        line.push_str(reason);
    }
    if let Some(d) = r.duration {
        line.push_str(" (");
        line.push_str(&short_duration(d));
        line.push(')');
    }
    // Styled only where the style shows (a line a task: not formatted again for nothing).
    if console::colors_enabled() {
        style(r.status).apply_to(line).to_string()
    } else {
        line
    }
}

/// The table printed at the end of a run.
pub(super) fn render(s: &Summary) -> String {
    let width = s
        .results
        .iter()
        .map(|r| r.task.chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    let mut out = String::from("\n");
    let header = format!(
        "{:<width$}  {:<12}  {:>8}  {}",
        "TASK", "STATUS", "DURATION", "NOTE"
    );
    let _ = writeln!(out, "{}", Style::new().bold().apply_to(header.trim_end()));
    for r in &s.results {
        let duration = r.duration.map_or_else(|| "-".to_owned(), short_duration);
        let status = style(r.status).apply_to(format!("{:<12}", r.status.as_str()));
        let note = match (&r.handler, &r.reason) {
            (Some(trigger), Some(reason)) => format!("{}: {reason}", trigger.describe()),
            (Some(trigger), None) => trigger.describe(),
            (None, reason) => reason.clone().unwrap_or_default(),
        };
        // One line per task: a reason of several lines is whole in the task's status line.
        let note = match note.split_once('\n') {
            Some((first, _)) => format!("{first} …"),
            None => note,
        };
        let line = format!("{:<width$}  {status}  {duration:>8}  {note}", r.task);
        let _ = writeln!(out, "{}", line.trim_end());
    }
    let mut counts: Vec<(Status, usize)> = Vec::new();
    for r in &s.results {
        match counts.iter_mut().find(|(st, _)| *st == r.status) {
            Some((_, n)) => *n += 1,
            None => counts.push((r.status, 1)),
        }
    }
    let parts: Vec<String> = counts
        .iter()
        .map(|(st, n)| format!("{n} {}", st.as_str()))
        .collect();
    let noun = if s.results.len() == 1 { "task" } else { "tasks" };
    let _ = writeln!(
        out,
        "\n{} {noun}: {} in {}",
        s.results.len(),
        parts.join(", "),
        short_duration(s.duration)
    );
    if let Some(not_run) = &s.not_run {
        let lists: Vec<String> = not_run
            .handlers
            .iter()
            .map(|(trigger, names)| {
                let names: Vec<&str> = names.iter().map(|n| &**n).collect();
                format!("{}: {}", trigger.describe(), names.join(", "))
            })
            .collect();
        let _ = writeln!(
            out,
            "{}",
            Style::new()
                .yellow()
                .apply_to(format!("not run, {}: {}", not_run.why, lists.join("; ")))
        );
    }
    out
}
