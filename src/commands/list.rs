//! `ops list`: every task with its aliases and description, aligned; hidden tasks
//! (`hidden = true`) only with `--all`.

use std::fmt::Write as _;
use std::io::Write as _;

use serde_json::json;

use crate::cli::{Format, ListArgs};
use crate::exit::ExitStatus;
use crate::task::{Task, TaskId, TaskSet};

pub(super) fn run(set: &TaskSet, args: &ListArgs) -> ExitStatus {
    let shown: Vec<(TaskId, &Task)> = set.iter().filter(|(_, t)| args.all || !t.hidden).collect();
    let text = match args.format {
        Format::Human => render(&shown, set),
        Format::Json => {
            let tasks: Vec<_> = shown
                .iter()
                .map(|&(id, t)| {
                    json!({
                        "name": t.name,
                        "aliases": t.aliases,
                        "hidden": t.hidden,
                        "description": t.description,
                        "kind": t.action.as_ref().map_or("aggregate", crate::executor::Action::key),
                        "deps": t.deps.iter().map(|&d| set.get(d).name.as_str()).collect::<Vec<_>>(),
                        "file": t.file,
                        "problems": set.broken(id).unwrap_or_default().iter().map(ToString::to_string).collect::<Vec<_>>(),
                    })
                })
                .collect();
            let takes: Vec<_> = set
                .usages()
                .iter()
                .map(|u| {
                    json!({
                        "name": u.name,
                        "aliases": u.aliases,
                        "description": u.description,
                        "usage": crate::task::args::usage_line(&u.name, &u.specs),
                    })
                })
                .collect();
            format!(
                "{}\n",
                json!({ "version": crate::schema::JSON_VERSION, "tasks": tasks, "tasks_with_arguments": takes })
            )
        }
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    let broken = shown.iter().filter(|(id, _)| set.broken(*id).is_some()).count();
    if broken > 0 && args.format == Format::Human {
        eprintln!("{}", super::cannot_run_note(broken));
    }
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
fn render(tasks: &[(TaskId, &Task)], set: &TaskSet) -> String {
    let rows: Vec<(String, String)> = tasks
        .iter()
        .map(|&(id, t)| {
            let description = t.description.as_deref().unwrap_or("");
            let description = match set.broken(id) {
                // The first reason is enough here; `ops validate` shows every one, where.
                Some([first, ..]) => format!("{description} [cannot run: {first}]")
                    .trim_start()
                    .to_owned(),
                _ => description.to_owned(),
            };
            (title(t), description)
        })
        .chain(set.usages().iter().map(|u| {
            let line = crate::task::args::usage_line(&u.name, &u.specs);
            let line = if u.aliases.is_empty() {
                line
            } else {
                // `build-image (bi) CONTAINER`: the aliases beside the name, as for the others.
                line.replacen(&u.name, &format!("{} ({})", u.name, u.aliases.join(", ")), 1)
            };
            (line, u.description.clone().unwrap_or_default())
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
