//! `ops list`: every task with its aliases and description, aligned; hidden tasks
//! (`hidden = true`) only with `--all`.

use std::fmt::Write as _;
use std::io::Write as _;

use serde_json::json;

use crate::cli::{Format, ListArgs};
use crate::exit::ExitStatus;
use crate::task::{Task, TaskSet};

pub(super) fn run(set: &TaskSet, args: &ListArgs) -> ExitStatus {
    let shown: Vec<&Task> = set
        .iter()
        .map(|(_, t)| t)
        .filter(|t| args.all || !t.hidden)
        .collect();
    let text = match args.output {
        Format::Human => render(&shown, set),
        Format::Json => {
            let tasks: Vec<_> = shown
                .iter()
                .map(|t| {
                    json!({
                        "name": t.name,
                        "aliases": t.aliases,
                        "hidden": t.hidden,
                        "description": t.description,
                        "kind": t.action.as_ref().map_or("aggregate", crate::executor::Action::key),
                        "deps": t.deps.iter().map(|&d| set.get(d).name.as_str()).collect::<Vec<_>>(),
                        "file": t.file,
                    })
                })
                .collect();
            let takes: Vec<_> = set
                .usages()
                .iter()
                .map(|u| {
                    json!({
                        "name": u.name,
                        "description": u.description,
                        "usage": crate::task::args::usage_line(&u.name, &u.specs),
                    })
                })
                .collect();
            format!("{}\n", json!({ "tasks": tasks, "tasks_with_arguments": takes }))
        }
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    ExitStatus::Success
}

/// `name (alias, alias)`, as the first column shows it.
fn title(task: &Task) -> String {
    if task.aliases.is_empty() {
        task.name.clone()
    } else {
        format!("{} ({})", task.name, task.aliases.join(", "))
    }
}

/// The tasks in the order of the files, then every task that takes arguments, by its
/// usage line.
fn render(tasks: &[&Task], set: &TaskSet) -> String {
    let rows: Vec<(String, &str)> = tasks
        .iter()
        .map(|t| (title(t), t.description.as_deref().unwrap_or("")))
        .chain(set.usages().iter().map(|u| {
            (
                crate::task::args::usage_line(&u.name, &u.specs),
                u.description.as_deref().unwrap_or(""),
            )
        }))
        .collect();
    let width = rows.iter().map(|(n, _)| n.chars().count()).max().unwrap_or(0);
    let mut out = String::new();
    for (name, description) in rows {
        let line = format!("{name:<width$}  {description}");
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}
