//! The scheduler with scripted steps, a collecting reporter and tokio's paused clock:
//! order, the `-j` bound, failures, interrupts, retries, timeouts, `--diff` phases.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::super::attempt::GRACE;
use super::super::testing::{Fake, Script, options, run, run_interrupted};
use super::Options;
use crate::executor::{Diff, StepError};
use crate::report::{Mode, Status};

const DIAMOND: &str = r#"
[tasks.base]
shell = "base"
[tasks.left]
deps = ["base"]
shell = "left"
[tasks.right]
deps = ["base"]
shell = "right"
[tasks.top]
deps = ["left", "right"]
shell = "top"
"#;

#[tokio::test(start_paused = true)]
async fn runs_dependencies_first_and_independent_tasks_together() {
    let steps = Arc::new(Fake::new(&[("left", Script::Ok(Duration::from_secs(2)))]));
    let ran = run(DIAMOND, &["top"], &options(Mode::Apply, 4), &steps).await;
    let starts: Vec<String> = ran.events.starts().into_iter().map(|(t, _)| t).collect();
    assert_eq!(starts, ["base", "left", "right", "top"]);
    // base 1 s, then left (2 s) and right (1 s) together, then top 1 s.
    assert_eq!(ran.elapsed, Duration::from_secs(4));
    assert_eq!(steps.max_running.load(Ordering::SeqCst), 2);
    assert_eq!(ran.summary.exit_code, 0);
    assert!(ran.summary.results.iter().all(|r| r.status == Status::Ok));
}

#[tokio::test(start_paused = true)]
async fn never_runs_more_than_jobs_at_once() {
    let text: String = (0..6)
        .map(|i| format!("[tasks.t{i}]\nshell = \"x\"\n"))
        .collect::<Vec<_>>()
        .concat();
    let all = "[tasks.all]\ndeps = [\"t0\", \"t1\", \"t2\", \"t3\", \"t4\", \"t5\"]\n";
    let steps = Arc::new(Fake::default());
    let ran = run(&(text + all), &["all"], &options(Mode::Apply, 2), &steps).await;
    assert_eq!(steps.max_running.load(Ordering::SeqCst), 2);
    assert_eq!(
        ran.elapsed,
        Duration::from_secs(3),
        "six 1 s tasks, two at a time"
    );
}

const BRANCHES: &str = r#"
[tasks.bad]
shell = "bad"
[tasks.above-bad]
deps = ["bad"]
shell = "x"
[tasks.slow]
shell = "slow"
[tasks.after-slow]
deps = ["slow"]
shell = "x"
[tasks.all]
deps = ["above-bad", "after-slow"]
"#;

fn failing() -> StepError {
    StepError::Failed("broken".into())
}

#[tokio::test(start_paused = true)]
async fn after_a_failure_starts_nothing_and_lets_running_tasks_finish() {
    let steps = Arc::new(Fake::new(&[
        ("bad", Script::Fail(Duration::from_secs(1), failing)),
        ("slow", Script::Ok(Duration::from_secs(3))),
    ]));
    let ran = run(BRANCHES, &["all"], &options(Mode::Apply, 4), &steps).await;
    assert_eq!(ran.status("bad"), (Status::Failed, Some("broken")));
    assert_eq!(
        ran.status("above-bad"),
        (Status::Skipped, Some("dependency `bad` failed"))
    );
    assert_eq!(ran.status("slow").0, Status::Ok, "a running sibling finishes");
    assert_eq!(
        ran.status("after-slow"),
        (Status::Skipped, Some("not started: `bad` failed"))
    );
    assert_eq!(steps.attempts("after-slow"), 0);
    assert_eq!(ran.summary.exit_code, 1);
}

#[tokio::test(start_paused = true)]
async fn keep_going_runs_the_independent_branch_to_the_end() {
    let steps = Arc::new(Fake::new(&[
        ("bad", Script::Fail(Duration::from_secs(1), failing)),
        ("slow", Script::Ok(Duration::from_secs(3))),
    ]));
    let opts = Options {
        keep_going: true,
        ..options(Mode::Apply, 4)
    };
    let ran = run(BRANCHES, &["all"], &opts, &steps).await;
    assert_eq!(ran.status("above-bad").0, Status::Skipped);
    assert_eq!(ran.status("after-slow").0, Status::Ok);
    assert_eq!(
        ran.status("all"),
        (Status::Skipped, Some("dependency `bad` failed"))
    );
    assert_eq!(ran.summary.exit_code, 1);
}

#[tokio::test(start_paused = true)]
async fn an_interrupt_cancels_running_tasks_and_skips_the_rest() {
    let steps = Arc::new(Fake::new(&[("left", Script::Hang), ("right", Script::Hang)]));
    let ran = run_interrupted(
        DIAMOND,
        &["top"],
        &options(Mode::Apply, 4),
        &steps,
        Some(Duration::from_secs(5)),
    )
    .await;
    assert_eq!(ran.status("left"), (Status::Interrupted, Some("stopped")));
    assert_eq!(ran.status("right"), (Status::Interrupted, Some("stopped")));
    assert_eq!(
        ran.status("top"),
        (Status::Skipped, Some("dependency `left` was interrupted"))
    );
    assert_eq!(ran.summary.exit_code, 130);
    assert_eq!(
        ran.elapsed,
        Duration::from_secs(5),
        "the steps stop at once when cancelled"
    );
}

const FLAKY: &str = "[tasks.flaky]\nretries = 3\nshell = \"x\"\n";

#[tokio::test(start_paused = true)]
async fn retries_with_exponential_backoff() {
    let steps = Arc::new(Fake::new(&[("flaky", Script::Flaky(2))]));
    let ran = run(FLAKY, &["flaky"], &options(Mode::Apply, 1), &steps).await;
    assert_eq!(ran.status("flaky").0, Status::Ok);
    assert_eq!(steps.attempts("flaky"), 3);
    assert_eq!(
        ran.events.starts(),
        [("flaky".to_owned(), 1), ("flaky".into(), 2), ("flaky".into(), 3)]
    );
    assert_eq!(
        ran.events.retry_delays(),
        [Duration::from_millis(500), Duration::from_secs(1)]
    );
    assert_eq!(ran.elapsed, Duration::from_millis(1500));
}

#[tokio::test(start_paused = true)]
async fn gives_up_after_the_last_retry() {
    let steps = Arc::new(Fake::new(&[("flaky", Script::Flaky(10))]));
    let ran = run(FLAKY, &["flaky"], &options(Mode::Apply, 1), &steps).await;
    assert_eq!(ran.status("flaky"), (Status::Failed, Some("not yet")));
    assert_eq!(steps.attempts("flaky"), 4);
    assert_eq!(ran.elapsed, Duration::from_millis(500 + 1000 + 2000));
}

#[tokio::test(start_paused = true)]
async fn invalid_input_is_not_retried() {
    fn invalid() -> StepError {
        StepError::Invalid("manifests/ does not exist".into())
    }
    let steps = Arc::new(Fake::new(&[("flaky", Script::Fail(Duration::ZERO, invalid))]));
    let ran = run(FLAKY, &["flaky"], &options(Mode::Apply, 1), &steps).await;
    assert_eq!(
        ran.status("flaky"),
        (Status::Failed, Some("manifests/ does not exist"))
    );
    assert_eq!(steps.attempts("flaky"), 1);
    assert!(ran.events.retry_delays().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_step_that_ignores_its_timeout_is_dropped_after_the_grace() {
    let text =
        "[tasks.stuck]\ntimeout = \"1s\"\nshell = \"x\"\n[tasks.after]\ndeps = [\"stuck\"]\nshell = \"x\"\n";
    let steps = Arc::new(Fake::new(&[("stuck", Script::Stuck(Duration::from_secs(60)))]));
    let ran = run(text, &["after"], &options(Mode::Apply, 1), &steps).await;
    let (status, reason) = ran.status("stuck");
    assert_eq!(status, Status::Failed);
    assert!(reason.unwrap().contains("timed out after 1s"), "{reason:?}");
    assert_eq!(ran.elapsed, Duration::from_secs(1) + GRACE);
    assert_eq!(ran.status("after").0, Status::Skipped);
}

const PHASES: &str = r#"
[tasks.same]
shell = "x"
[tasks.changed]
shell = "x"
[tasks.unsure]
shell = "x"
[tasks.quiet-phase]
deps = ["same"]
[tasks.busy-phase]
deps = ["same", "changed", "unsure"]
[tasks.unsure-phase]
deps = ["unsure"]
[tasks.health]
deps = ["busy-phase"]
http-check = { checks = [{ name = "app", url = "http://127.0.0.1:9/" }] }
[tasks.all]
deps = ["quiet-phase", "unsure-phase", "health"]
"#;

#[tokio::test(start_paused = true)]
async fn diff_phases_report_what_is_pending_below_them() {
    fn refused() -> StepError {
        StepError::Failed("connection refused".into())
    }
    let steps = Arc::new(Fake::new(&[
        ("same", Script::Diff(Diff::NoChange)),
        ("changed", Script::Diff(Diff::Changes)),
        ("unsure", Script::Diff(Diff::Unknown("no check".into()))),
        ("health", Script::Fail(Duration::ZERO, refused)),
    ]));
    let ran = run(PHASES, &["all"], &options(Mode::Diff, 2), &steps).await;
    assert_eq!(ran.status("quiet-phase"), (Status::NoChange, None));
    assert_eq!(
        ran.status("busy-phase"),
        (Status::Changes, Some("from unsure and changed"))
    );
    assert_eq!(ran.status("unsure-phase"), (Status::Unknown, Some("from unsure")));
    assert_eq!(
        ran.status("health"),
        (
            Status::Unknown,
            Some("fails before apply, as expected while unsure and changed are pending: connection refused")
        )
    );
    assert_eq!(ran.summary.exit_code, 3, "--detailed-exitcode: changes pending");
}

#[tokio::test(start_paused = true)]
async fn a_live_check_that_fails_with_nothing_pending_is_a_failure() {
    fn refused() -> StepError {
        StepError::Failed("connection refused".into())
    }
    let steps = Arc::new(Fake::new(&[
        ("same", Script::Diff(Diff::NoChange)),
        ("changed", Script::Diff(Diff::NoChange)),
        ("unsure", Script::Diff(Diff::NoChange)),
        ("health", Script::Fail(Duration::ZERO, refused)),
    ]));
    let ran = run(PHASES, &["all"], &options(Mode::Diff, 2), &steps).await;
    assert_eq!(ran.status("health"), (Status::Failed, Some("connection refused")));
    assert_eq!(ran.summary.exit_code, 1);
}

const WITH_INTERACTIVE: &str = r#"
[tasks.first]
shell = "x"
[tasks.prompt]
shell = "read -r answer"
interactive = true
[tasks.second]
shell = "x"
[tasks.third]
shell = "x"
[tasks.all]
deps = ["first", "prompt", "second", "third"]
"#;

/// `(start or end, task)` of every task that ran, in the order reported.
fn starts_and_ends(events: &[crate::report::Event]) -> Vec<(&'static str, String)> {
    use crate::report::Event;
    events
        .iter()
        .filter_map(|e| match e {
            Event::TaskStarted { task, .. } => Some(("start", task.to_string())),
            Event::TaskFinished(r) if r.duration.is_some() => Some(("end", r.task.to_string())),
            _ => None,
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn an_interactive_task_waits_for_the_running_ones_and_runs_alone() {
    let steps = Arc::new(Fake::default());
    let ran = run(WITH_INTERACTIVE, &["all"], &options(Mode::Apply, 4), &steps).await;
    assert_eq!(ran.summary.exit_code, 0);
    let sequence = starts_and_ends(&ran.events.0);
    let at = |what: &str| {
        sequence
            .iter()
            .position(|(k, t)| *k == what && t == "prompt")
            .unwrap()
    };
    let (start, end) = (at("start"), at("end"));
    assert_eq!(start, 2, "it starts after `first` ended: {sequence:?}");
    assert_eq!(
        end,
        start + 1,
        "nothing starts or ends while it runs: {sequence:?}"
    );
    // first (1 s), then prompt alone (1 s), then second and third together (1 s).
    assert_eq!(ran.elapsed, Duration::from_secs(3));
    assert_eq!(steps.max_running.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn without_a_terminal_it_does_not_get_one_but_still_runs_alone() {
    use crate::report::Event;
    let steps = Arc::new(Fake::default());
    let ran = run(WITH_INTERACTIVE, &["all"], &options(Mode::Apply, 4), &steps).await;
    assert!(
        ran.events
            .0
            .iter()
            .all(|e| !matches!(e, Event::TaskStarted { terminal: true, .. }))
    );
    let opts = Options {
        interactive: true,
        ..options(Mode::Apply, 4)
    };
    let ran = run(WITH_INTERACTIVE, &["all"], &opts, &steps).await;
    let on_terminal: Vec<String> = ran
        .events
        .0
        .iter()
        .filter_map(|e| match e {
            Event::TaskStarted {
                task, terminal: true, ..
            } => Some(task.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(on_terminal, ["prompt"]);
}

#[tokio::test(start_paused = true)]
async fn diff_runs_interactive_tasks_alongside_others() {
    // The fake steps take a second whatever the mode; what counts is that they overlap.
    let steps = Arc::new(Fake::default());
    let ran = run(WITH_INTERACTIVE, &["all"], &options(Mode::Diff, 4), &steps).await;
    assert_eq!(steps.max_running.load(Ordering::SeqCst), 4);
    assert_eq!(ran.elapsed, Duration::from_secs(1));
}
