//! The plan `--dry-run` prints.

use std::fmt::Write as _;

use console::Style;

use super::{HandlerKind, Plan, PlannedTask};

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
            task(&mut out, t, "  ");
            if let Some(q) = t.confirm.as_ref().filter(|_| t.skipped.is_none()) {
                confirmations.push((t.task.clone(), q.clone(), String::new()));
            }
        }
    }
    for kind in [HandlerKind::OnFailure, HandlerKind::Finally] {
        let mut lists = p.handlers.iter().filter(|h| h.kind == kind).peekable();
        if lists.peek().is_none() {
            continue;
        }
        let title = match kind {
            HandlerKind::OnFailure => "on failure:",
            HandlerKind::Finally => "finally:",
        };
        let _ = writeln!(out, "\n{}", Style::new().bold().apply_to(title));
        for h in lists {
            let handlers: Vec<&str> = h.handlers.iter().map(|t| &**t).collect();
            let when = match (kind, h.aggregate) {
                (HandlerKind::OnFailure, false) => format!("{} fails", h.of),
                (HandlerKind::OnFailure, true) => format!("{} or a task under it fails", h.of),
                (HandlerKind::Finally, _) => format!("after {}, failed or not", h.of),
            };
            let _ = writeln!(out, "  {when} → {}", handlers.join(", "));
            for t in &h.tasks {
                task(&mut out, t, "    ");
                if let Some(q) = &t.confirm {
                    let only = format!(" (only as {} of {})", kind.key(), h.of);
                    confirmations.push((t.task.clone(), q.clone(), only));
                }
            }
        }
    }
    if !confirmations.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            Style::new().bold().apply_to("Confirmations this plan asks for:")
        );
        for (task, q, only) in confirmations {
            let _ = writeln!(out, "  {task}: {q}{only}");
        }
    }
    out
}

/// One task of the plan, its line at `pad`, its commands and details below.
fn task(out: &mut String, t: &PlannedTask, pad: &str) {
    let below = format!("{pad}    ");
    let mut notes = Vec::new();
    if let Some(skipped) = &t.skipped {
        notes.push(skipped.clone());
    } else {
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
    }
    let _ = writeln!(
        out,
        "{pad}{}  {}",
        Style::new().bold().apply_to(&*t.task),
        Style::new().dim().apply_to(format!("[{}]", notes.join("; ")))
    );
    if t.skipped.is_some() {
        return;
    }
    for line in &t.lines {
        let _ = writeln!(out, "{below}{}", indent(line, &below));
    }
    let dim = Style::new().dim();
    if let Some(dir) = &t.dir {
        let _ = writeln!(out, "{below}{}", dim.apply_to(format!("in {dir}")));
    }
    if let Some(tools) = &t.tools {
        let _ = writeln!(out, "{below}{}", dim.apply_to(format!("tools from Nix: {tools}")));
    }
    if let Some(lock) = &t.lock {
        let _ = writeln!(
            out,
            "{below}{}",
            dim.apply_to(format!("lock: an apply holds {lock}"))
        );
    }
    if !t.env_files.is_empty() {
        let _ = writeln!(
            out,
            "{below}{}",
            dim.apply_to(format!("env files: {}", t.env_files.join(", ")))
        );
    }
    for (key, value) in &t.env {
        // A value of several lines keeps the plan's indentation.
        let shown = indent(format!("env {key}={}", value.trim_end()).as_str(), &below);
        let _ = writeln!(out, "{below}{}", dim.apply_to(shown));
    }
    match &t.check {
        Some(check) if t.lines.first() == Some(check) => {
            let _ = writeln!(
                out,
                "{below}{}",
                dim.apply_to("diff: runs it as it is (read-only)")
            );
        }
        Some(check) => {
            let _ = writeln!(
                out,
                "{below}{}",
                dim.apply_to(format!("diff: {}", indent(check, &below)))
            );
        }
        None => {}
    }
}

/// A multi-line command with its continuation lines indented under the first
/// (which starts at `pad`).
fn indent(text: &str, pad: &str) -> String {
    text.trim_end().replace('\n', &format!("\n{pad}  "))
}
