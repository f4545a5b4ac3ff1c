//! `ops list`: every task with its description, aligned.

use std::fmt::Write as _;
use std::io::Write as _;

use serde_json::json;

use crate::cli::{Format, ListArgs};
use crate::exit::ExitStatus;
use crate::task::TaskSet;

pub(super) fn run(set: &TaskSet, args: &ListArgs) -> ExitStatus {
    let text = match args.output {
        Format::Human => render(set),
        Format::Json => {
            let tasks: Vec<_> = set
                .iter()
                .map(|(_, t)| {
                    json!({
                        "name": t.name,
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

/// Every task in the order of the files, then every task that takes arguments, by its
/// usage line.
fn render(set: &TaskSet) -> String {
    let rows: Vec<(String, &str)> = set
        .iter()
        .map(|(_, t)| (t.name.clone(), t.description.as_deref().unwrap_or("")))
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
