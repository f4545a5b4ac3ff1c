//! `ops graph TASK`: the dependency graph below a task as a tree, DOT or Mermaid.

use std::fmt::Write as _;
use std::io::Write as _;

use super::Error;
use crate::cli::{GraphArgs, GraphFormat};
use crate::exit::ExitStatus;
use crate::run::select;
use crate::task::{TaskId, TaskSet};

pub(super) fn run(set: &TaskSet, args: &GraphArgs) -> Result<ExitStatus, Error> {
    let order = select(set, std::slice::from_ref(&args.task))?;
    let top = *order.last().expect("the closure holds the selected task");
    let text = match args.format {
        GraphFormat::Tree => tree(set, top),
        GraphFormat::Dot => dot(set, &order),
        GraphFormat::Mermaid => mermaid(set, &order),
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(ExitStatus::Success)
}

/// A tree; a subtree already shown is not repeated (marked `…`).
fn tree(set: &TaskSet, top: TaskId) -> String {
    let mut out = format!("{}\n", set.get(top).name);
    let mut shown = vec![false; set.len()];
    shown[top.index()] = true;
    // (task, prefix for its children, is last child)
    let mut stack: Vec<(TaskId, String, bool)> = Vec::new();
    let push_children = |stack: &mut Vec<(TaskId, String, bool)>, id: TaskId, prefix: &str| {
        let deps = &set.get(id).deps;
        for (i, &dep) in deps.iter().enumerate().rev() {
            stack.push((dep, prefix.to_owned(), i + 1 == deps.len()));
        }
    };
    push_children(&mut stack, top, "");
    while let Some((id, prefix, last)) = stack.pop() {
        let branch = if last { "└── " } else { "├── " };
        let again = std::mem::replace(&mut shown[id.index()], true);
        let more = if again && !set.get(id).deps.is_empty() {
            " …"
        } else {
            ""
        };
        let _ = writeln!(out, "{prefix}{branch}{}{more}", set.get(id).name);
        if !again {
            let child_prefix = format!("{prefix}{}", if last { "    " } else { "│   " });
            push_children(&mut stack, id, &child_prefix);
        }
    }
    out
}

fn dot(set: &TaskSet, order: &[TaskId]) -> String {
    let mut out = String::from("digraph ops {\n  rankdir=LR;\n");
    for &id in order {
        let task = set.get(id);
        let _ = writeln!(out, "  \"{}\";", task.name);
        for &dep in &task.deps {
            let _ = writeln!(out, "  \"{}\" -> \"{}\";", task.name, set.get(dep).name);
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
    }
    out
}

fn mermaid_id(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}
