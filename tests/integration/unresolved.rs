//! A placeholder that nothing defines stops only the tasks that use it (directly or
//! through a variable): the others run, list and check as before; `ops validate`
//! reports it, and a run that would reach such a task fails before anything starts.

use crate::common::Test;

const TASKS: &str = r#"
[vars]
image = "{{ registry }}/authentik"

[tasks.ok]
cmd = ["touch", "ok-ran"]

[tasks.release]
description = "Tag a release"
cmd = ["echo", "{{ version }}"]

[tasks.push]
cmd = ["echo", "{{ image }}"]

[tasks.all]
deps = ["ok", "release"]

[tasks.cleanup]
cmd = ["touch", "cleanup-ran"]

[tasks.guarded]
cmd = ["true"]
on-failure = ["release"]
"#;

#[test]
fn the_other_tasks_run() {
    let test = Test::new().tasks(TASKS);
    test.run_with(&["run", "ok"]).assert_code(0);
    assert!(test.root().join("ok-ran").exists());
}

#[test]
fn selecting_it_fails_before_anything_runs() {
    let test = Test::new().tasks(TASKS);
    for (args, says) in [
        (&["run", "release"][..], "unknown variable `version`"),
        (&["run", "all"][..], "unknown variable `version`"),
        (&["run", "push"][..], "unknown variable `registry`"),
        // A handler that may run counts too.
        (&["run", "guarded"][..], "unknown variable `version`"),
        (&["doctor", "all"][..], "unknown variable `version`"),
        (
            &["run", "ok", "release", "--dry-run"][..],
            "unknown variable `version`",
        ),
    ] {
        let ran = test.run_with(args);
        ran.assert_code(2);
        assert!(ran.stderr.contains(says), "{args:?}: {}", ran.stderr);
        assert!(
            ran.stderr.contains("tasks/main.toml:"),
            "{args:?}: points at the file\n{}",
            ran.stderr
        );
        assert!(!test.root().join("ok-ran").exists(), "{args:?}: nothing runs");
    }
}

#[test]
fn skipped_it_does_not_stop_the_run() {
    let test = Test::new().tasks(TASKS);
    test.run_with(&["run", "all", "--skip", "release"]).assert_code(0);
    assert!(test.root().join("ok-ran").exists());
}

#[test]
fn validate_reports_each_once_and_list_marks_them() {
    let test = Test::new().tasks(TASKS);
    let validate = test.run_with(&["validate"]);
    validate.assert_code(2);
    assert!(
        validate.stderr.contains("2 problems in the task files"),
        "{}",
        validate.stderr
    );
    let list = test.run_with(&["list"]);
    list.assert_code(0);
    assert!(
        list.stdout
            .contains("release  Tag a release [cannot run: unknown variable `version`]"),
        "{}",
        list.stdout
    );
    assert!(
        list.stdout
            .contains("push     [cannot run: unknown variable `registry`]"),
        "{}",
        list.stdout
    );
    assert!(
        list.stderr.contains("note: 2 tasks cannot run"),
        "{}",
        list.stderr
    );
    let json = test.run_with(&["list", "--output", "json"]);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let problems: Vec<_> = value["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap(),
                t["problems"].as_array().unwrap().len(),
            )
        })
        .collect();
    assert!(
        problems.contains(&("release", 1)) && problems.contains(&("ok", 0)),
        "{problems:?}"
    );
}

#[test]
fn defining_it_makes_the_task_runnable() {
    let test = Test::new().tasks(&TASKS.replace("[vars]\n", "[vars]\nregistry = \"registry.example.net\"\n"));
    let ran = test.run_with(&["run", "push"]);
    ran.assert_code(0);
    assert!(
        ran.stdout.contains("registry.example.net/authentik"),
        "{}",
        ran.stdout
    );
}
