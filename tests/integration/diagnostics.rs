//! Invalid task files: exit 2, a diagnostic pointing at file, line and column, and
//! no task started.

use crate::common::{Test, snapshot_settings};

/// A valid task that leaves a mark if anything runs.
const MARKER: &str = "[tasks.marker]\ncmd = [\"touch\", \"ran\"]\n";

fn check(name: &str, extra_file: &str, contents: &str) {
    check_run(name, extra_file, contents, "marker");
}

/// [`check`] through `ops run TASK`.
fn check_run(name: &str, extra_file: &str, contents: &str, task: &str) {
    let ran = Test::new()
        .file("tasks/marker.toml", MARKER)
        .file(extra_file, contents)
        .args(&["run", "marker", task])
        .run();
    ran.assert_code(2);
    assert!(
        !ran.exists("ran"),
        "no task may run when the task files are invalid"
    );
    snapshot_settings().bind(|| insta::assert_snapshot!(name, ran.stderr));
}

#[test]
fn cycle_names_every_task_on_it() {
    check(
        "cycle",
        "tasks/main.toml",
        "[tasks.a]\ndeps = [\"b\"]\n\n[tasks.b]\ndeps = [\"c\"]\n\n[tasks.c]\ndeps = [\"a\"]\n",
    );
}

#[test]
fn unknown_dependency_suggests_a_name() {
    check(
        "unknown_dependency",
        "tasks/main.toml",
        "[tasks.build]\n\n[tasks.deploy]\ndeps = [\"biuld\"]\n",
    );
}

#[test]
fn duplicate_name_points_at_both_definitions() {
    check(
        "duplicate",
        "tasks/other.toml",
        "[tasks.marker]\nshell = \"true\"\n",
    );
}

#[test]
fn unknown_key_suggests_the_right_one() {
    check(
        "unknown_key",
        "tasks/main.toml",
        "[tasks.deploy]\ndpes = [\"marker\"]\n",
    );
}

#[test]
fn unknown_variable_points_into_the_string() {
    check_run(
        "unknown_variable",
        "tasks/main.toml",
        "[vars]\nversion = \"1\"\n\n[tasks.tag]\ncmd = [\"git\", \"tag\", \"v{{ verison }}\"]\n",
        "tag",
    );
}

#[test]
fn every_problem_is_reported_together() {
    check(
        "many_problems",
        "tasks/main.toml",
        "[tasks.a]\ncmd = [\"true\"]\nshell = \"true\"\ntimeout = \"5 parsecs\"\n\n[tasks.b]\ndeps = [\"nope\"]\n",
    );
}

#[test]
fn toml_syntax_error() {
    check("syntax", "tasks/main.toml", "[tasks.a]\ncmd = [\"true\"\n");
}

#[test]
fn unknown_task_on_the_command_line() {
    let ran = Test::new()
        .file("tasks/marker.toml", MARKER)
        .args(&["run", "markr"])
        .run();
    ran.assert_code(2);
    assert!(ran.stderr.contains("did you mean `marker`?"), "{}", ran.stderr);
}

#[test]
fn validate_prints_nothing_for_valid_files() {
    let ran = Test::new()
        .file("tasks/marker.toml", MARKER)
        .args(&["validate"])
        .run();
    ran.assert_code(0);
    assert_eq!(ran.stdout, "");
    assert_eq!(ran.stderr, "");
}

#[test]
fn no_tasks_directory() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(crate::common::ops_bin())
        .args(["list"])
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no `tasks/` directory"));
}
