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
        Format::Human => render(&shown),
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
            format!("{}\n", json!({ "tasks": tasks }))
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

fn render(tasks: &[&Task]) -> String {
    let width = tasks.iter().map(|t| title(t).chars().count()).max().unwrap_or(0);
    let mut out = String::new();
    for task in tasks {
        let line = format!(
            "{:<width$}  {}",
            title(task),
            task.description.as_deref().unwrap_or("")
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}
