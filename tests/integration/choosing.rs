//! Choosing what runs: aliases, hidden tasks, `--skip`, `--no-deps`, and the
//! `on-failure` and `finally` handlers, through the binary.

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::common::{Ran, Test, snapshot_settings, wait_for};

/// Each task leaves a file named after it, so a test sees what ran.
const BUILDS: &str = r#"
[tasks.fetch]
shell = "touch ran-fetch"

[tasks.build-authentik]
deps = ["fetch"]
shell = "touch ran-build-authentik"
aliases = ["ba"]

[tasks.build-redis]
shell = "touch ran-build-redis"

[tasks.lint]
shell = "touch ran-lint"
hidden = true

[tasks.release]
deps = ["build-authentik", "build-redis", "lint"]
shell = "touch ran-release"
"#;

/// The summary row of `task`, its columns separated by one space.
fn row(ran: &Ran, task: &str) -> String {
    let line = ran
        .stdout
        .lines()
        .rev()
        .find(|l| l.split_whitespace().next() == Some(task))
        .unwrap_or_else(|| panic!("no row for {task}:\n{}", ran.stdout));
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn ran_tasks(ran: &Ran) -> Vec<String> {
    let mut found: Vec<String> = std::fs::read_dir(&ran.root)
        .unwrap()
        .filter_map(|e| {
            e.unwrap()
                .file_name()
                .to_str()?
                .strip_prefix("ran-")
                .map(str::to_owned)
        })
        .collect();
    found.sort();
    found
}

#[test]
fn a_task_runs_by_its_alias() {
    let ran = Test::new().tasks(BUILDS).args(&["run", "ba"]).run();
    ran.assert_code(0);
    assert_eq!(ran_tasks(&ran), ["build-authentik", "fetch"]);
    assert!(row(&ran, "build-authentik").starts_with("build-authentik ok "));
}

#[test]
fn list_shows_aliases_and_hides_hidden_tasks_unless_all() {
    let test = Test::new().tasks(BUILDS);
    let list = test.run_with(&["list"]);
    list.assert_code(0);
    assert_eq!(list.stdout, "fetch\nbuild-authentik (ba)\nbuild-redis\nrelease\n");
    let all = test.run_with(&["list", "--all"]);
    assert_eq!(
        all.stdout,
        "fetch\nbuild-authentik (ba)\nbuild-redis\nlint\nrelease\n"
    );
    let json = test.run_with(&["list", "--all", "--output", "json"]);
    let tasks: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(tasks["tasks"][1]["aliases"], serde_json::json!(["ba"]));
    assert_eq!(tasks["tasks"][3]["hidden"], true);
    // Hidden, not gone: it still runs.
    let lint = test.run_with(&["run", "lint"]);
    lint.assert_code(0);
    assert!(lint.exists("ran-lint"));
}

#[test]
fn an_alias_that_collides_is_a_load_error_pointing_at_both() {
    let ran = Test::new()
        .tasks(BUILDS)
        .file(
            "tasks/more.toml",
            "[tasks.deploy]\nshell = \"true\"\naliases = [\"fetch\"]\n\n[tasks.other]\nshell = \"true\"\naliases = [\"ba\"]\n",
        )
        .args(&["run", "release"])
        .run();
    ran.assert_code(2);
    for needle in [
        "alias `fetch` of task `deploy` is already the name of task `fetch`",
        "[tasks/more.toml:3:12]",
        "[tasks/main.toml:2:8]",
        "alias `ba` of task `other` is already an alias of task `build-authentik`",
        "[tasks/more.toml:7:12]",
        "[tasks/main.toml:8:12]",
    ] {
        assert!(ran.stderr.contains(needle), "lacks {needle:?}:\n{}", ran.stderr);
    }
    assert!(ran_tasks(&ran).is_empty());
}

#[test]
fn skip_with_a_glob_counts_the_builds_as_done() {
    let ran = Test::new()
        .tasks(BUILDS)
        .args(&["run", "release", "--skip", "build-*"])
        .run();
    ran.assert_code(0);
    assert_eq!(
        ran_tasks(&ran),
        ["lint", "release"],
        "fetch is needed only by a build"
    );
    assert_eq!(
        row(&ran, "build-authentik"),
        "build-authentik skipped - --skip build-*: counted as done"
    );
    assert_eq!(
        row(&ran, "build-redis"),
        "build-redis skipped - --skip build-*: counted as done"
    );
    let plan = Test::new()
        .tasks(BUILDS)
        .args(&["run", "release", "--skip", "build-*", "--dry-run"])
        .run();
    plan.assert_stdout("  build-authentik  [skipped (--skip build-*): counted as done]");
    assert!(!plan.stdout.contains("touch ran-build"), "{}", plan.stdout);
}

#[test]
fn skip_that_matches_nothing_is_an_error_with_did_you_mean() {
    let ran = Test::new()
        .tasks(BUILDS)
        .args(&["run", "release", "--skip", "build-authentk"])
        .run();
    ran.assert_code(2);
    assert!(
        ran.stderr
            .contains("--skip `build-authentk` matches no task of this run"),
        "{}",
        ran.stderr
    );
    assert!(
        ran.stderr.contains("did you mean `build-authentik`?"),
        "{}",
        ran.stderr
    );
    assert!(ran_tasks(&ran).is_empty());
    // A task outside the run is no match either.
    let outside = Test::new()
        .tasks(BUILDS)
        .args(&["run", "build-redis", "--skip", "lint"])
        .run();
    outside.assert_code(2);
}

#[test]
fn skipping_a_task_whose_value_a_dependent_uses_is_refused_before_anything_runs() {
    let ran = Test::new()
        .tasks(
            "[tasks.version]\ncmd = [\"echo\", \"1.2\"]\n\n[tasks.tag]\ndeps = [\"version\"]\nshell = \"echo {{ tasks.version.stdout }} > ran-tag\"\n",
        )
        .args(&["run", "tag", "--skip", "version"])
        .run();
    ran.assert_code(2);
    assert!(
        ran.stderr.contains(
            "task `tag` uses `{{ tasks.version.stdout }}`, but `version` does not run: --skip version"
        ),
        "{}",
        ran.stderr
    );
    assert!(ran_tasks(&ran).is_empty());
}

#[test]
fn no_deps_runs_only_the_named_tasks() {
    let ran = Test::new()
        .tasks(BUILDS)
        .args(&["run", "release", "--no-deps", "--output", "json"])
        .run();
    ran.assert_code(0);
    assert_eq!(ran_tasks(&ran), ["release"]);
    let finished: Vec<(String, String, String)> = ran
        .events()
        .iter()
        .filter(|e| e["event"] == "task_finished")
        .map(|e| {
            (
                e["task"].as_str().unwrap().to_owned(),
                e["status"].as_str().unwrap().to_owned(),
                e["reason"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let not_run = |task: &str| {
        (
            task.to_owned(),
            "skipped".to_owned(),
            "--no-deps: counted as done".to_owned(),
        )
    };
    assert_eq!(
        finished,
        [
            not_run("build-authentik"),
            not_run("build-redis"),
            not_run("lint"),
            ("release".into(), "ok".into(), String::new()),
        ]
    );
}

const MIGRATION: &str = r#"
[tasks.switch]
shell = "touch ran-switch; test -e switch-works"
on-failure = ["rollback"]
finally = ["cleanup"]

[tasks.rollback-check]
shell = "touch ran-rollback-check"

[tasks.rollback]
deps = ["rollback-check"]
shell = "touch ran-rollback; echo rollback >> order"

[tasks.cleanup]
shell = "touch ran-cleanup; echo cleanup >> order"
"#;

#[test]
fn on_failure_runs_the_rollback_and_exits_with_the_failure() {
    let ran = Test::new().tasks(MIGRATION).args(&["run", "switch"]).run();
    ran.assert_code(1);
    assert_eq!(
        ran_tasks(&ran),
        ["cleanup", "rollback", "rollback-check", "switch"]
    );
    assert_eq!(
        ran.read("order"),
        "rollback\ncleanup\n",
        "finally comes after on-failure"
    );
    ran.assert_stdout("── on-failure of switch (failed) → rollback");
    assert!(
        row(&ran, "rollback").ends_with(" on-failure of switch (failed)"),
        "{}",
        ran.stdout
    );
    assert!(row(&ran, "rollback").starts_with("rollback ok "));
    assert!(row(&ran, "cleanup").ends_with(" finally of switch"));
}

#[test]
fn finally_runs_after_a_success_and_on_failure_does_not() {
    let ran = Test::new()
        .tasks(MIGRATION)
        .file("switch-works", "")
        .args(&["run", "switch"])
        .run();
    ran.assert_code(0);
    assert_eq!(ran_tasks(&ran), ["cleanup", "switch"]);
}

#[test]
fn a_handler_that_asks_without_a_terminal_fails_cleanly() {
    let tasks = MIGRATION.replace(
        "[tasks.rollback]\n",
        "[tasks.rollback]\nconfirm = \"Switch logins back?\"\n",
    );
    let ran = Test::new().tasks(&tasks).args(&["run", "switch"]).run();
    ran.assert_code(1);
    ran.assert_stdout(
        "on-failure of switch (failed): it asks for confirmation, and nobody can answer (no terminal): pass --yes to accept it",
    );
    assert_eq!(
        ran_tasks(&ran),
        ["cleanup", "rollback-check", "switch"],
        "its dependencies and the other handlers ran; it did not"
    );
    // With --yes it is accepted.
    let yes = Test::new().tasks(&tasks).args(&["run", "switch", "--yes"]).run();
    yes.assert_code(1);
    assert!(yes.exists("ran-rollback"));
    yes.assert_stdout("confirmed by --yes: Switch logins back?");
}

#[test]
fn on_failure_of_an_aggregate_runs_when_a_task_under_it_fails() {
    let ran = Test::new()
        .tasks(
            r#"
[tasks.prepare]
shell = "touch ran-prepare"
[tasks.switch]
deps = ["prepare"]
shell = "touch ran-switch; exit 3"
[tasks.migrate]
deps = ["switch"]
on-failure = ["rollback"]
[tasks.rollback]
shell = "touch ran-rollback"
"#,
        )
        .args(&["run", "migrate"])
        .run();
    ran.assert_code(1);
    assert_eq!(ran_tasks(&ran), ["prepare", "rollback", "switch"]);
    ran.assert_stdout("── on-failure of migrate (switch failed) → rollback");
}

#[test]
fn an_unknown_handler_is_a_load_error_with_its_position() {
    let ran = Test::new()
        .tasks("[tasks.switch]\nshell = \"true\"\non-failure = [\"rollbak\"]\n\n[tasks.rollback]\nshell = \"true\"\n")
        .args(&["run", "switch"])
        .run();
    ran.assert_code(2);
    for needle in [
        "`on-failure` of task `switch` names unknown task `rollbak`",
        "[tasks/main.toml:3:15]",
        "did you mean `rollback`?",
    ] {
        assert!(ran.stderr.contains(needle), "lacks {needle:?}:\n{}", ran.stderr);
    }
}

#[test]
fn dry_run_shows_the_handlers() {
    let tasks = format!(
        "{MIGRATION}\n[tasks.migrate]\ndeps = [\"switch\"]\non-failure = [\"notify\"]\n\n[tasks.notify]\nconfirm = \"Tell the team?\"\nshell = \"touch ran-notify\"\n"
    );
    let ran = Test::new()
        .tasks(&tasks)
        .args(&["run", "migrate", "--dry-run", "--skip", "cleanup"])
        .run();
    ran.assert_code(0);
    assert!(ran_tasks(&ran).is_empty());
    snapshot_settings().bind(|| insta::assert_snapshot!("dry_run_handlers", ran.stdout));
    let json = Test::new()
        .tasks(&tasks)
        .args(&["run", "migrate", "--dry-run", "--output", "json"])
        .run();
    let plan = &json.events()[0];
    assert_eq!(plan["on_failure"][0]["of"], "switch");
    assert_eq!(plan["on_failure"][0]["handlers"], serde_json::json!(["rollback"]));
    let shown: Vec<&str> = plan["on_failure"][0]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["task"].as_str().unwrap())
        .collect();
    assert_eq!(shown, ["rollback-check", "rollback"]);
    assert_eq!(plan["on_failure"][1]["aggregate"], true);
    assert_eq!(plan["finally"][0]["handlers"], serde_json::json!(["cleanup"]));
}

#[test]
fn the_journal_records_the_handlers_and_what_set_them_off() {
    let test = Test::new().tasks(MIGRATION);
    test.run_with(&["run", "switch"]).assert_code(1);
    let dir = test.root().join(".ops/runs");
    let journal = std::fs::read_dir(&dir).unwrap().next().unwrap().unwrap().path();
    let records: Vec<serde_json::Value> = std::fs::read_to_string(journal)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|r: &serde_json::Value| r["record"] == "task")
        .collect();
    let tasks: Vec<(&str, &str, serde_json::Value)> = records
        .iter()
        .map(|r| {
            (
                r["task"].as_str().unwrap(),
                r["status"].as_str().unwrap(),
                r["handler"].clone(),
            )
        })
        .collect();
    let on_failure = serde_json::json!({"kind": "on_failure", "of": "switch", "failed": "switch"});
    assert_eq!(
        tasks,
        [
            ("switch", "failed", serde_json::Value::Null),
            ("rollback-check", "ok", on_failure.clone()),
            ("rollback", "ok", on_failure),
            (
                "cleanup",
                "ok",
                serde_json::json!({"kind": "finally", "of": "switch"})
            ),
        ]
    );
    let runs = test.run_with(&["runs", "show", "2"]);
    assert!(runs.stdout.contains("finally of switch"), "{}", runs.stdout);
}

#[test]
fn an_interrupt_runs_no_handler_and_the_summary_says_so() {
    let test = Test::new().tasks(&MIGRATION.replace(
        "touch ran-switch; test -e switch-works",
        "touch ran-switch; echo > started; sleep 60",
    ));
    let child = test
        .command_with(&["run", "switch"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&test.root().join("started"));
    kill(Pid::from_raw(i32::try_from(child.id()).unwrap()), Signal::SIGINT).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(
            "not run, the run was interrupted: on-failure of switch: rollback; finally of switch: cleanup"
        ),
        "{stdout}"
    );
    assert!(!test.root().join("ran-rollback").exists());
    assert!(!test.root().join("ran-cleanup").exists());
}
