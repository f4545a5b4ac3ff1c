//! `ops graph TASK…`: the dependency graph below tasks as a tree, DOT, Mermaid or JSON
//! waves (`graph_json.rs`), with the handlers (`on-failure`, `finally`) that may run
//! after its tasks: listed below the tree, dashed edges in DOT and Mermaid.

use std::fmt::Write as _;
use std::io::Write as _;

use super::Error;
use crate::cli::{GraphArgs, GraphFormat};
use crate::exit::ExitStatus;
use crate::run::{may_run, roots, select};
use crate::task::{TaskId, TaskSet};

pub(super) fn run(set: &TaskSet, args: &GraphArgs) -> Result<ExitStatus, Error> {
    let roots = roots(set, &args.tasks)?;
    let order = select(set, &args.tasks)?;
    // The handlers, and what they need, are part of what may run.
    let all = may_run(set, &order, |_| false);
    let text = match args.format {
        GraphFormat::Tree => {
            roots.iter().map(|&top| tree(set, top)).collect::<String>() + &handler_lines(set, &all)
        }
        GraphFormat::Json => {
            let run = crate::run::choose(set, &roots, &[], false).map_err(crate::run::SelectError::from)?;
            let mut text =
                serde_json::to_string_pretty(&super::graph_json::document(set, &roots, &order, &run.order))
                    .unwrap_or_default();
            text.push('\n');
            text
        }
        GraphFormat::Dot => dot(set, &all),
        GraphFormat::Mermaid => mermaid(set, &all),
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(ExitStatus::Success)
}

/// How many levels of indentation a tree line shows; deeper lines drop the outer
/// levels and say how many (`[+12]`), so output stays linear in the number of tasks.
const MAX_LEVELS: usize = 24;

/// A tree; a subtree already shown is not repeated (marked `…`).
fn tree(set: &TaskSet, top: TaskId) -> String {
    /// A task to print: the indentation of its line (one 4-column level per
    /// entry), how many outer levels were dropped, and whether it is a last child.
    struct Line {
        id: TaskId,
        levels: Vec<&'static str>,
        dropped: usize,
        last: bool,
    }
    let mut out = format!("{}\n", set.get(top).name);
    let mut shown = vec![false; set.len()];
    shown[top.index()] = true;
    let mut stack: Vec<Line> = Vec::new();
    let push_children = |stack: &mut Vec<Line>, id: TaskId, levels: &[&'static str], dropped: usize| {
        let deps = &set.get(id).deps;
        for (i, &dep) in deps.iter().enumerate().rev() {
            stack.push(Line {
                id: dep,
                levels: levels.to_vec(),
                dropped,
                last: i + 1 == deps.len(),
            });
        }
    };
    push_children(&mut stack, top, &[], 0);
    while let Some(Line {
        id,
        mut levels,
        mut dropped,
        last,
    }) = stack.pop()
    {
        let branch = if last { "└── " } else { "├── " };
        let again = std::mem::replace(&mut shown[id.index()], true);
        let more = if again && !set.get(id).deps.is_empty() {
            " …"
        } else {
            ""
        };
        if dropped > 0 {
            let _ = write!(out, "[+{dropped}] ");
        }
        let _ = writeln!(out, "{}{branch}{}{more}", levels.concat(), set.get(id).name);
        if !again {
            levels.push(if last { "    " } else { "│   " });
            if levels.len() > MAX_LEVELS {
                levels.remove(0);
                dropped += 1;
            }
            push_children(&mut stack, id, &levels, dropped);
        }
    }
    out
}

/// Each handler of the tasks: `TASK on-failure → A, B` (and `finally`).
fn handler_lines(set: &TaskSet, order: &[TaskId]) -> String {
    let mut out = String::new();
    for &id in order {
        let task = set.get(id);
        for (kind, list) in handlers(task) {
            let names: Vec<&str> = list.iter().map(|&h| set.get(h).name.as_str()).collect();
            let _ = writeln!(out, "{} {kind} → {}", task.name, names.join(", "));
        }
    }
    if out.is_empty() {
        out
    } else {
        format!("\nhandlers:\n{out}")
    }
}

/// A task's handler lists that are not empty, by their key.
fn handlers(task: &crate::task::Task) -> impl Iterator<Item = (&'static str, &[TaskId])> {
    [("on-failure", &task.on_failure), ("finally", &task.finally)]
        .into_iter()
        .filter(|(_, list)| !list.is_empty())
        .map(|(kind, list)| (kind, list.as_slice()))
}

fn dot(set: &TaskSet, order: &[TaskId]) -> String {
    let mut out = String::from("digraph ops {\n  rankdir=LR;\n");
    for &id in order {
        let task = set.get(id);
        let _ = writeln!(out, "  \"{}\";", task.name);
        for &dep in &task.deps {
            let _ = writeln!(out, "  \"{}\" -> \"{}\";", task.name, set.get(dep).name);
        }
        for (kind, list) in handlers(task) {
            for &handler in list {
                let _ = writeln!(
                    out,
                    "  \"{}\" -> \"{}\" [style=dashed, label=\"{kind}\"];",
                    task.name,
                    set.get(handler).name
                );
            }
        }
    }
    out.push_str("}\n");
    out
}

fn mermaid(set: &TaskSet, order: &[TaskId]) -> String {
    let mut out = String::from("graph TD\n");
    for &id in order {
        let task = set.get(id);
        let _ = writeln!(out, "  {}[\"{}\"]", mermaid_id(&task.name), task.name);
        for &dep in &task.deps {
            let _ = writeln!(
                out,
                "  {} --> {}",
                mermaid_id(&task.name),
                mermaid_id(&set.get(dep).name)
            );
        }
        for (kind, list) in handlers(task) {
            for &handler in list {
                let _ = writeln!(
                    out,
                    "  {} -.->|{kind}| {}",
                    mermaid_id(&task.name),
                    mermaid_id(&set.get(handler).name)
                );
            }
        }
    }
    out
}

fn mermaid_id(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}
