//! `--output json`: one JSON object per line for each event.

use std::io::Write;

use serde_json::{Value, json};

use super::{Event, HandlerKind, Plan, PlannedTask, Reporter, TaskResult};

/// Writes events as JSON lines to stdout.
pub(crate) struct Json {
    out: std::io::Stdout,
}

impl Json {
    pub(crate) fn new() -> Self {
        Self {
            out: std::io::stdout(),
        }
    }
}

impl Default for Json {
    fn default() -> Self {
        Self::new()
    }
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn result(r: &TaskResult) -> Value {
    json!({
        "task": &*r.task,
        "status": r.status.id(),
        "duration_ms": r.duration.map(millis),
        "exit_code": r.exit_code,
        "reason": r.reason,
        "handler": r.handler,
    })
}

fn planned_task(t: &PlannedTask) -> Value {
    json!({
        "task": &*t.task,
        "kind": t.kind.unwrap_or("aggregate"),
        "commands": t.lines,
        "check": t.check,
        "deps": t.deps.iter().map(|d| &**d).collect::<Vec<_>>(),
        "up_to_date": t.up_to_date,
        "confirm": t.confirm,
        "env": t.env.iter().map(|(k, v)| (k.clone(), Value::from(v.as_str()))).collect::<serde_json::Map<_, _>>(),
        "env_files": t.env_files,
        "dir": t.dir,
        "nix_tools": t.tools,
        "interactive": t.interactive,
        "skipped": t.skipped,
    })
}

fn plan(p: &Plan) -> Value {
    let waves: Vec<Value> = p
        .waves
        .iter()
        .map(|wave| wave.iter().map(planned_task).collect())
        .collect();
    let handlers = |kind: HandlerKind| -> Vec<Value> {
        p.handlers
            .iter()
            .filter(|h| h.kind == kind)
            .map(|h| {
                json!({
                    "of": &*h.of,
                    "aggregate": h.aggregate,
                    "handlers": h.handlers.iter().map(|t| &**t).collect::<Vec<_>>(),
                    "tasks": h.tasks.iter().map(planned_task).collect::<Vec<_>>(),
                })
            })
            .collect()
    };
    json!({
        "event": "plan",
        "targets": p.targets.iter().map(|t| &**t).collect::<Vec<_>>(),
        "waves": waves,
        "on_failure": handlers(HandlerKind::OnFailure),
        "finally": handlers(HandlerKind::Finally),
    })
}

pub(super) fn event(e: &Event) -> Value {
    match e {
        Event::RunStarted {
            mode,
            targets,
            tasks,
            jobs,
        } => json!({
            "event": "run_started",
            "mode": mode.as_str(),
            "targets": targets.iter().map(|t| &**t).collect::<Vec<_>>(),
            "tasks": tasks,
            "jobs": jobs,
        }),
        Event::Plan(p) => plan(p),
        Event::TaskStarted {
            task,
            attempt,
            command,
            terminal,
        } => json!({
            "event": "task_started", "task": &**task, "attempt": attempt, "command": command,
            "terminal": terminal,
        }),
        Event::Output { task, stream, line } => {
            json!({"event": "output", "task": &**task, "stream": stream.as_str(), "line": line})
        }
        Event::Retrying {
            task,
            attempt,
            delay,
            reason,
        } => json!({
            "event": "task_retrying", "task": &**task, "attempt": attempt,
            "delay_ms": millis(*delay), "reason": reason,
        }),
        Event::Confirmed {
            task,
            question,
            by_flag,
        } => {
            json!({"event": "confirmed", "task": &**task, "question": question, "by_flag": by_flag})
        }
        Event::Warning(message) => json!({"event": "warning", "message": message}),
        Event::Note(message) => json!({"event": "note", "message": message}),
        Event::Missing(findings) => json!({
            "event": "missing",
            "findings": findings.iter().map(super::Missing::json).collect::<Vec<_>>(),
        }),
        Event::ProcessStarted { task, pgid } => {
            json!({"event": "process_started", "task": &**task, "pgid": pgid})
        }
        Event::TaskFinished(r) => {
            let mut v = result(r);
            v["event"] = json!("task_finished");
            v
        }
        Event::Handlers { trigger, handlers } => json!({
            "event": "handlers",
            "kind": trigger.kind,
            "of": trigger.of,
            "failed": trigger.failed,
            "handlers": handlers.iter().map(|h| &**h).collect::<Vec<_>>(),
        }),
        Event::RunFinished(s) => json!({
            "event": "run_finished",
            "mode": s.mode.as_str(),
            "exit_code": s.exit_code,
            "duration_ms": millis(s.duration),
            "results": s.results.iter().map(result).collect::<Vec<_>>(),
            "handlers_not_run": s.not_run.as_ref().map(|n| json!({
                "why": n.why,
                "handlers": n.handlers.iter().map(|(trigger, names)| json!({
                    "kind": trigger.kind,
                    "of": trigger.of,
                    "failed": trigger.failed,
                    "handlers": names.iter().map(|h| &**h).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            })),
        }),
    }
}

impl Reporter for Json {
    fn handle(&mut self, e: &Event) {
        let mut out = self.out.lock();
        let mut value = event(e);
        // Every line says which version of these events it is.
        value["version"] = json!(crate::schema::JSON_VERSION);
        let _ = serde_json::to_writer(&mut out, &value);
        let _ = out.write_all(b"\n");
    }
}
