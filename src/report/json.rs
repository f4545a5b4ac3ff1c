//! `--format json`: one JSON object per line for each event, of the types below
//! (their JSON Schema is `schemas/run-events.json`, from `ops schema run-events`).

use std::collections::BTreeMap;
use std::io::Write;

use schemars::JsonSchema;
use serde::Serialize;

use super::missing::MissingJson;
use super::{Event, HandlerKind, Mode, Plan, PlannedTask, Reporter, Status, TaskResult, Trigger};
use crate::process::Stream;

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

fn names(names: &[super::Name]) -> Vec<&str> {
    names.iter().map(|n| &**n).collect()
}

/// One line of `ops run --format json`: an event and the version of the format.
#[derive(Serialize, JsonSchema)]
#[schemars(title = "ops run --format json: one event per line", extend("unevaluatedProperties" = false))]
pub(crate) struct EventLine<'a> {
    #[serde(flatten)]
    event: RunEvent<'a>,
    /// The version of these events: raised when a field changes meaning or goes away.
    version: u32,
}

/// What happened, named by `event`.
#[derive(Serialize, JsonSchema)]
#[serde(tag = "event", rename_all = "snake_case")]
enum RunEvent<'a> {
    /// The run begins: its mode, the tasks asked for, how many tasks it has and how
    /// many may run at once.
    RunStarted {
        mode: Mode,
        targets: Vec<&'a str>,
        tasks: usize,
        jobs: usize,
    },
    /// `--dry-run`: what would run, in waves of tasks that may run in parallel.
    Plan(PlanJson<'a>),
    /// A task starts (again, when `attempt` > 1).
    TaskStarted {
        task: &'a str,
        attempt: u32,
        /// The first line of the step's plan.
        command: Option<&'a str>,
        /// The task has the terminal: nothing else runs until it finishes.
        terminal: bool,
    },
    /// A line a task printed, secrets redacted.
    Output {
        task: &'a str,
        stream: Stream,
        line: &'a str,
    },
    /// A failed attempt is retried after `delay_ms`.
    TaskRetrying {
        task: &'a str,
        attempt: u32,
        delay_ms: u64,
        reason: &'a str,
    },
    /// A task's `confirm` question was answered yes (`by_flag`: by `--yes`).
    Confirmed {
        task: &'a str,
        question: &'a str,
        by_flag: bool,
    },
    /// Something to know that is not a task's output.
    Warning { message: &'a str },
    /// Information about the run itself (where a plan was saved).
    Note { message: &'a str },
    /// What this machine lacks for the tasks about to run.
    Missing { findings: Vec<MissingJson<'a>> },
    /// A task started a process, leader of process group `pgid`.
    ProcessStarted { task: &'a str, pgid: i32 },
    /// A task ended.
    TaskFinished(ResultJson<'a>),
    /// The `on-failure` or `finally` tasks of a task start.
    Handlers {
        kind: HandlerKind,
        /// The task whose list it is.
        of: &'a str,
        /// `on-failure`: the task that failed.
        failed: Option<&'a str>,
        handlers: Vec<&'a str>,
    },
    /// The run ended: how each task ended, and the exit code `ops` returns.
    RunFinished {
        mode: Mode,
        exit_code: u8,
        duration_ms: u64,
        results: Vec<ResultJson<'a>>,
        /// The run was stopped before these handlers could run.
        handlers_not_run: Option<HandlersNotRunJson<'a>>,
    },
}

/// How one task ended.
#[derive(Serialize, JsonSchema)]
struct ResultJson<'a> {
    task: &'a str,
    status: Status,
    duration_ms: Option<u64>,
    exit_code: Option<i32>,
    /// Why it failed or was skipped.
    reason: Option<&'a str>,
    /// It ran as a handler, or as a dependency of one: why.
    handler: Option<&'a Trigger>,
}

/// Handlers a stopped run did not run.
#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
struct HandlersNotRunJson<'a> {
    why: &'a str,
    handlers: Vec<TriggerHandlersJson<'a>>,
}

#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
struct TriggerHandlersJson<'a> {
    kind: HandlerKind,
    of: &'a str,
    failed: Option<&'a str>,
    handlers: Vec<&'a str>,
}

/// The plan of a run.
#[derive(Serialize, JsonSchema)]
struct PlanJson<'a> {
    /// The tasks asked for.
    targets: Vec<&'a str>,
    /// Tasks in waves: every task of a wave may run once the waves before it are done.
    waves: Vec<Vec<PlannedTaskJson<'a>>>,
    on_failure: Vec<HandlersJson<'a>>,
    finally: Vec<HandlersJson<'a>>,
}

/// The `on-failure` or `finally` list of one task, and what would run for it.
#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
struct HandlersJson<'a> {
    of: &'a str,
    /// `of` is an aggregate: a failure of any task under it counts.
    aggregate: bool,
    handlers: Vec<&'a str>,
    tasks: Vec<PlannedTaskJson<'a>>,
}

/// A task as the plan shows it.
#[derive(Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
struct PlannedTaskJson<'a> {
    task: &'a str,
    /// The step kind (`nix-build`, `kube-apply`, …) or `aggregate`.
    kind: &'a str,
    /// What it would do, one line each.
    commands: &'a [String],
    /// The read-only check `--diff` would run.
    check: Option<&'a str>,
    deps: Vec<&'a str>,
    up_to_date: bool,
    confirm: Option<&'a str>,
    /// Its environment, secrets as references.
    env: BTreeMap<&'a str, &'a str>,
    env_files: &'a [String],
    dir: Option<&'a str>,
    /// The tools from Nix it gets.
    nix_tools: Option<&'a str>,
    /// The Kubernetes Lease an apply takes for the run.
    lock: Option<&'a str>,
    interactive: bool,
    /// It does not run but counts as done: why.
    skipped: Option<&'a str>,
}

fn result(r: &TaskResult) -> ResultJson<'_> {
    ResultJson {
        task: &r.task,
        status: r.status,
        duration_ms: r.duration.map(millis),
        exit_code: r.exit_code,
        reason: r.reason.as_deref(),
        handler: r.handler.as_ref(),
    }
}

fn planned_task(t: &PlannedTask) -> PlannedTaskJson<'_> {
    PlannedTaskJson {
        task: &t.task,
        kind: t.kind.unwrap_or("aggregate"),
        commands: &t.lines,
        check: t.check.as_deref(),
        deps: names(&t.deps),
        up_to_date: t.up_to_date,
        confirm: t.confirm.as_deref(),
        env: t.env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect(),
        env_files: &t.env_files,
        dir: t.dir.as_deref(),
        nix_tools: t.tools.as_deref(),
        lock: t.lock.as_deref(),
        interactive: t.interactive,
        skipped: t.skipped.as_deref(),
    }
}

fn plan(p: &Plan) -> PlanJson<'_> {
    let handlers = |kind: HandlerKind| -> Vec<HandlersJson<'_>> {
        p.handlers
            .iter()
            .filter(|h| h.kind == kind)
            .map(|h| HandlersJson {
                of: &h.of,
                aggregate: h.aggregate,
                handlers: names(&h.handlers),
                tasks: h.tasks.iter().map(planned_task).collect(),
            })
            .collect()
    };
    PlanJson {
        targets: names(&p.targets),
        waves: p
            .waves
            .iter()
            .map(|wave| wave.iter().map(planned_task).collect())
            .collect(),
        on_failure: handlers(HandlerKind::OnFailure),
        finally: handlers(HandlerKind::Finally),
    }
}

fn trigger_parts(t: &Trigger) -> (HandlerKind, &str, Option<&str>) {
    (t.kind, &t.of, t.failed.as_deref())
}

fn wire(e: &Event) -> RunEvent<'_> {
    match e {
        Event::RunStarted {
            mode,
            targets,
            tasks,
            jobs,
        } => RunEvent::RunStarted {
            mode: *mode,
            targets: names(targets),
            tasks: *tasks,
            jobs: *jobs,
        },
        Event::Plan(p) => RunEvent::Plan(plan(p)),
        Event::TaskStarted {
            task,
            attempt,
            command,
            terminal,
        } => RunEvent::TaskStarted {
            task,
            attempt: *attempt,
            command: command.as_deref(),
            terminal: *terminal,
        },
        Event::Output { task, stream, line } => RunEvent::Output {
            task,
            stream: *stream,
            line,
        },
        Event::Retrying {
            task,
            attempt,
            delay,
            reason,
        } => RunEvent::TaskRetrying {
            task,
            attempt: *attempt,
            delay_ms: millis(*delay),
            reason,
        },
        Event::Confirmed {
            task,
            question,
            by_flag,
        } => RunEvent::Confirmed {
            task,
            question,
            by_flag: *by_flag,
        },
        Event::Warning(message) => RunEvent::Warning { message },
        Event::Note(message) => RunEvent::Note { message },
        Event::Missing(findings) => RunEvent::Missing {
            findings: findings.iter().map(super::Missing::json).collect(),
        },
        Event::ProcessStarted { task, pgid } => RunEvent::ProcessStarted { task, pgid: *pgid },
        Event::TaskFinished(r) => RunEvent::TaskFinished(result(r)),
        Event::Handlers { trigger, handlers } => {
            let (kind, of, failed) = trigger_parts(trigger);
            RunEvent::Handlers {
                kind,
                of,
                failed,
                handlers: names(handlers),
            }
        }
        Event::RunFinished(s) => RunEvent::RunFinished {
            mode: s.mode,
            exit_code: s.exit_code,
            duration_ms: millis(s.duration),
            results: s.results.iter().map(result).collect(),
            handlers_not_run: s.not_run.as_ref().map(|n| HandlersNotRunJson {
                why: &n.why,
                handlers: n
                    .handlers
                    .iter()
                    .map(|(trigger, handlers)| {
                        let (kind, of, failed) = trigger_parts(trigger);
                        TriggerHandlersJson {
                            kind,
                            of,
                            failed,
                            handlers: names(handlers),
                        }
                    })
                    .collect(),
            }),
        },
    }
}

fn line(e: &Event) -> EventLine<'_> {
    EventLine {
        event: wire(e),
        version: crate::schema::JSON_VERSION,
    }
}

impl Reporter for Json {
    fn handle(&mut self, e: &Event) {
        let mut out = self.out.lock();
        let _ = serde_json::to_writer(&mut out, &line(e));
        let _ = out.write_all(b"\n");
    }
}
