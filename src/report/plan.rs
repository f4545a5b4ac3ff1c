//! The plan `--dry-run` prints.

use std::fmt::Write as _;

use console::Style;

use super::Plan;

pub(super) fn render(p: &Plan) -> String {
    let tasks: usize = p.waves.iter().map(Vec::len).sum();
    let targets: Vec<&str> = p.targets.iter().map(|t| &**t).collect();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {} — {tasks} {} in {} {} (dry run: nothing is run)",
        Style::new().bold().apply_to("Plan for"),
        Style::new().bold().apply_to(targets.join(", ")),
        if tasks == 1 { "task" } else { "tasks" },
        p.waves.len(),
        if p.waves.len() == 1 { "wave" } else { "waves" },
    );
    let mut confirmations = Vec::new();
    for (i, wave) in p.waves.iter().enumerate() {
        let _ = writeln!(
            out,
            "\n{}",
            Style::new().bold().apply_to(format!("wave {}", i + 1))
        );
        for t in wave {
            let mut notes = Vec::new();
            if let Some(kind) = t.kind {
                notes.push(kind.to_owned());
            } else {
                notes.push("aggregate: runs its dependencies".to_owned());
            }
            if t.up_to_date {
                notes.push("up to date, would be skipped".to_owned());
            }
            if t.confirm.is_some() {
                notes.push("asks for confirmation".to_owned());
            }
            if t.interactive {
                notes.push("interactive: gets the terminal, runs alone".to_owned());
            }
            if !t.deps.is_empty() {
                let deps: Vec<&str> = t.deps.iter().map(|d| &**d).collect();
                notes.push(format!("after {}", deps.join(", ")));
            }
            let _ = writeln!(
                out,
                "  {}  {}",
                Style::new().bold().apply_to(&*t.task),
                Style::new().dim().apply_to(format!("[{}]", notes.join("; ")))
            );
            for line in &t.lines {
                let _ = writeln!(out, "      {}", indent(line));
            }
            let dim = Style::new().dim();
            if let Some(dir) = &t.dir {
                let _ = writeln!(out, "      {}", dim.apply_to(format!("in {dir}")));
            }
            if let Some(tools) = &t.tools {
                let _ = writeln!(out, "      {}", dim.apply_to(format!("tools from Nix: {tools}")));
            }
            if !t.env_files.is_empty() {
                let _ = writeln!(
                    out,
                    "      {}",
                    dim.apply_to(format!("env files: {}", t.env_files.join(", ")))
                );
            }
            for (key, value) in &t.env {
                let _ = writeln!(out, "      {}", dim.apply_to(format!("env {key}={value}")));
            }
            match &t.check {
                Some(check) if t.lines.first() == Some(check) => {
                    let _ = writeln!(
                        out,
                        "      {}",
                        dim.apply_to("diff: runs it as it is (read-only)")
                    );
                }
                Some(check) => {
                    let _ = writeln!(out, "      {}", dim.apply_to(format!("diff: {}", indent(check))));
                }
                None => {}
            }
            if let Some(q) = &t.confirm {
                confirmations.push((t.task.clone(), q.clone()));
            }
        }
    }
    if !confirmations.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            Style::new().bold().apply_to("Confirmations this plan asks for:")
        );
        for (task, q) in confirmations {
            let _ = writeln!(out, "  {task}: {q}");
        }
    }
    out
}

/// A multi-line command with its continuation lines indented under the first.
fn indent(text: &str) -> String {
    text.trim_end().replace('\n', "\n        ")
}
