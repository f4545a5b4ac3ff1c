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
            format!("{}\n", json!({ "tasks": tasks }))
        }
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    ExitStatus::Success
}

fn render(set: &TaskSet) -> String {
    let width = set.names().map(|n| n.chars().count()).max().unwrap_or(0);
    let mut out = String::new();
    for (_, task) in set.iter() {
        let line = format!(
            "{:<width$}  {}",
            task.name,
            task.description.as_deref().unwrap_or("")
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}
