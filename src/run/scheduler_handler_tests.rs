//! The scheduler's phases on tokio's paused clock: `on-failure` and `finally`
//! handlers (when they are due, their order, what an interrupt leaves), and tasks
//! left out with `--skip`.

use std::sync::Arc;
use std::time::Duration;

use super::super::testing::{Fake, Ran, Script, options, run, run_choosing};
use crate::executor::StepError;
use crate::report::{Event, HandlerKind, Mode, Status, Trigger};

fn failing() -> StepError {
    StepError::Failed("broken".into())
}

/// `(start or end, task)` of every task that ran, in the order reported.
fn sequence(ran: &Ran) -> Vec<String> {
    ran.events
        .0
        .iter()
        .filter_map(|e| match e {
            Event::TaskStarted { task, .. } => Some(format!("start {task}")),
            Event::TaskFinished(r) if r.duration.is_some() => Some(format!("end {task}", task = r.task)),
            _ => None,
        })
        .collect()
}

/// What a handler's result says set it off.
fn trigger(kind: HandlerKind, of: &str, failed: Option<&str>) -> Trigger {
    Trigger {
        kind,
        of: of.to_owned(),
        failed: failed.map(str::to_owned),
    }
}

const DEPLOY: &str = r#"
[tasks.migrate]
shell = "m"
on-failure = ["rollback"]
finally = ["unlock"]
[tasks.slow]
shell = "s"
[tasks.deploy]
deps = ["migrate", "slow"]
shell = "d"
[tasks.rollback-check]
shell = "c"
[tasks.rollback]
deps = ["rollback-check"]
shell = "r"
[tasks.unlock]
shell = "u"
"#;

#[tokio::test(start_paused = true)]
async fn on_failure_runs_once_running_tasks_finish_then_finally() {
    let steps = Arc::new(Fake::new(&[
        ("migrate", Script::Fail(Duration::from_secs(1), failing)),
        ("slow", Script::Ok(Duration::from_secs(3))),
    ]));
    let ran = run(DEPLOY, &["deploy"], &options(Mode::Apply, 4), &steps).await;
    assert_eq!(
        sequence(&ran),
        [
            "start migrate",
            "start slow",
            "end migrate",
            "end slow",
            "start rollback-check",
            "end rollback-check",
            "start rollback",
            "end rollback",
            "start unlock",
            "end unlock",
        ]
    );
    // migrate fails at 1 s, slow ends at 3 s; then rollback-check, rollback, unlock.
    assert_eq!(ran.elapsed, Duration::from_secs(6));
    assert_eq!(
        ran.tasks(),
        [
            "migrate",
            "slow",
            "deploy",
            "rollback-check",
            "rollback",
            "unlock"
        ]
    );
    let on_failure = trigger(HandlerKind::OnFailure, "migrate", Some("migrate"));
    assert_eq!(ran.result("rollback-check").handler.as_ref(), Some(&on_failure));
    assert_eq!(ran.result("rollback").handler, Some(on_failure));
    assert_eq!(
        ran.result("unlock").handler,
        Some(trigger(HandlerKind::Finally, "migrate", None))
    );
    assert_eq!(ran.status("deploy").0, Status::Skipped);
    assert_eq!(ran.summary.exit_code, 1, "the exit code is the failure's");
}

#[tokio::test(start_paused = true)]
async fn after_a_success_only_finally_runs() {
    let steps = Arc::new(Fake::default());
    let ran = run(DEPLOY, &["deploy"], &options(Mode::Apply, 4), &steps).await;
    assert_eq!(ran.tasks(), ["migrate", "slow", "deploy", "unlock"]);
    assert_eq!(steps.attempts("rollback"), 0);
    assert_eq!(ran.summary.exit_code, 0);
    let starts: Vec<String> = ran.events.starts().into_iter().map(|(t, _)| t).collect();
    assert_eq!(
        starts.last().map(String::as_str),
        Some("unlock"),
        "after everything else"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failing_handler_keeps_the_failure_exit_code_and_stops_only_its_dependents() {
    const TWO: &str = r#"
[tasks.a]
shell = "a"
on-failure = ["undo-a", "notify"]
[tasks.undo-a-check]
shell = "x"
[tasks.undo-a]
deps = ["undo-a-check"]
shell = "x"
[tasks.notify]
shell = "x"
"#;
    let steps = Arc::new(Fake::new(&[
        ("a", Script::Fail(Duration::ZERO, failing)),
        ("undo-a-check", Script::Fail(Duration::from_secs(1), failing)),
        ("notify", Script::Ok(Duration::from_secs(2))),
    ]));
    let ran = run(TWO, &["a"], &options(Mode::Apply, 4), &steps).await;
    assert_eq!(
        ran.status("undo-a"),
        (Status::Skipped, Some("dependency `undo-a-check` failed"))
    );
    assert_eq!(ran.status("notify").0, Status::Ok, "the other handler runs on");
    assert_eq!(ran.summary.exit_code, 1);
}

const PHASE: &str = r#"
[tasks.prepare]
shell = "p"
[tasks.switch]
deps = ["prepare"]
shell = "s"
[tasks.phase]
deps = ["switch"]
on-failure = ["rollback"]
[tasks.rollback]
shell = "r"
"#;

#[tokio::test(start_paused = true)]
async fn on_failure_of_an_aggregate_runs_when_a_task_under_it_fails() {
    let steps = Arc::new(Fake::new(&[("switch", Script::Fail(Duration::ZERO, failing))]));
    let ran = run(PHASE, &["phase"], &options(Mode::Apply, 2), &steps).await;
    assert_eq!(
        ran.result("rollback").handler,
        Some(trigger(HandlerKind::OnFailure, "phase", Some("switch")))
    );
    assert_eq!(ran.status("rollback").0, Status::Ok);
}

#[tokio::test(start_paused = true)]
async fn an_interrupt_runs_no_handler_and_the_summary_names_them() {
    let steps = Arc::new(Fake::new(&[("migrate", Script::Hang)]));
    let ran = super::super::testing::run_interrupted(
        DEPLOY,
        &["deploy"],
        &options(Mode::Apply, 4),
        &steps,
        Some(Duration::from_secs(2)),
    )
    .await;
    assert_eq!(ran.summary.exit_code, 130);
    assert_eq!(steps.attempts("rollback") + steps.attempts("unlock"), 0);
    let not_run = ran.summary.not_run.as_ref().expect("handlers not run");
    assert_eq!(not_run.why, "the run was interrupted");
    let lists: Vec<(HandlerKind, &str, Vec<&str>)> = not_run
        .handlers
        .iter()
        .map(|(t, names)| (t.kind, t.of.as_str(), names.iter().map(|n| &**n).collect()))
        .collect();
    assert_eq!(
        lists,
        [
            (HandlerKind::OnFailure, "migrate", vec!["rollback"]),
            (HandlerKind::Finally, "migrate", vec!["unlock"]),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn diff_runs_no_handlers() {
    let steps = Arc::new(Fake::new(&[("migrate", Script::Fail(Duration::ZERO, failing))]));
    let ran = run(DEPLOY, &["deploy"], &options(Mode::Diff, 4), &steps).await;
    assert_eq!(ran.tasks(), ["migrate", "slow", "deploy"]);
    assert!(ran.summary.not_run.is_none());
}

#[tokio::test(start_paused = true)]
async fn a_handler_that_already_ran_does_not_run_again() {
    const SHARED: &str = r#"
[tasks.lock]
shell = "l"
[tasks.a]
deps = ["lock"]
shell = "a"
[tasks.b]
shell = "b"
finally = ["lock"]
[tasks.all]
deps = ["a", "b"]
"#;
    let steps = Arc::new(Fake::default());
    let ran = run(SHARED, &["all"], &options(Mode::Apply, 2), &steps).await;
    assert_eq!(steps.attempts("lock"), 1);
    assert!(ran.result("lock").handler.is_none());
    assert!(
        !ran.events.0.iter().any(|e| matches!(e, Event::Handlers { .. })),
        "nothing is left to run for it"
    );
}

#[tokio::test(start_paused = true)]
async fn a_skipped_task_counts_as_done_and_what_only_it_needs_is_left_out() {
    const BUILDS: &str = r#"
[tasks.fetch]
shell = "f"
[tasks.build-a]
deps = ["fetch"]
shell = "a"
[tasks.build-b]
shell = "b"
[tasks.release]
deps = ["build-a", "build-b"]
shell = "r"
"#;
    let steps = Arc::new(Fake::default());
    let ran = run_choosing(
        BUILDS,
        &["release"],
        &["build-*"],
        &options(Mode::Apply, 4),
        &steps,
        None,
    )
    .await;
    assert_eq!(ran.tasks(), ["build-a", "build-b", "release"]);
    assert_eq!(
        ran.status("build-a"),
        (Status::Skipped, Some("--skip build-*: counted as done"))
    );
    assert_eq!(steps.attempts("build-a") + steps.attempts("fetch"), 0);
    assert_eq!(ran.status("release").0, Status::Ok);
    assert_eq!(ran.elapsed, Duration::from_secs(1), "release starts at once");
    assert_eq!(ran.summary.exit_code, 0);
}

#[tokio::test(start_paused = true)]
async fn a_skipped_handler_counts_as_done() {
    let steps = Arc::new(Fake::new(&[("migrate", Script::Fail(Duration::ZERO, failing))]));
    let ran = run_choosing(
        DEPLOY,
        &["deploy"],
        &["rollback"],
        &options(Mode::Apply, 4),
        &steps,
        None,
    )
    .await;
    assert_eq!(steps.attempts("rollback") + steps.attempts("rollback-check"), 0);
    assert_eq!(
        ran.status("rollback"),
        (Status::Skipped, Some("--skip rollback: counted as done"))
    );
    assert_eq!(ran.status("unlock").0, Status::Ok);
}
