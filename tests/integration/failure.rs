use crate::common::{Test, snapshot_settings};

const GRAPH: &str = r#"
[tasks.broken]
shell = "echo 'boom: disk full' >&2; exit 3"

[tasks.after-broken]
deps = ["broken"]
shell = "touch after-broken"

[tasks.independent]
deps = ["slow-start"]
shell = "touch independent"

# Starts with `broken` and ends only once the journal has `broken`'s failure: by then
# ops has stopped starting tasks, so `independent` must never start.
[tasks.slow-start]
shell = "until grep -qs '\"task\":\"broken\"' .ops/runs/*.jsonl; do sleep 0.02; done"

[tasks.all]
deps = ["after-broken", "independent"]
"#;

#[test]
fn a_failure_skips_dependents_and_stops_the_run() {
    let ran = Test::new().tasks(GRAPH).args(&["run", "all", "-j", "2"]).run();
    ran.assert_code(1);
    assert!(!ran.exists("after-broken"));
    assert!(!ran.exists("independent"), "no new task starts after a failure");
    snapshot_settings().bind(|| insta::assert_snapshot!("failure_summary", ran.stdout));
}

#[test]
fn keep_going_lets_the_independent_branch_finish() {
    let ran = Test::new()
        .tasks(GRAPH)
        .args(&["run", "all", "-j", "2", "--keep-going", "--output", "json"])
        .run();
    ran.assert_code(1);
    assert!(!ran.exists("after-broken"));
    assert!(ran.exists("independent"));
    let finished: Vec<(String, String)> = ran
        .events()
        .iter()
        .filter(|e| e["event"] == "task_finished")
        .map(|e| {
            (
                e["task"].as_str().unwrap().to_owned(),
                e["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for (task, status) in [
        ("broken", "failed"),
        ("after-broken", "skipped"),
        ("slow-start", "ok"),
        ("independent", "ok"),
        ("all", "skipped"),
    ] {
        assert!(
            finished.contains(&(task.into(), status.into())),
            "{task} {status} in {finished:?}"
        );
    }
}

#[test]
fn retries_run_a_failing_task_again() {
    let test = Test::new()
        .tasks(
            r#"
[tasks.flaky]
retries = 2
shell = "echo try >> attempts; test $(wc -l < attempts) -ge 2"
"#,
        )
        .args(&["run", "flaky"]);
    let ran = test.run();
    ran.assert_code(0);
    assert_eq!(ran.read("attempts").lines().count(), 2);
    assert!(ran.stdout.contains("attempt 2"), "{}", ran.stdout);
}

#[test]
fn a_timeout_stops_the_task_and_says_so() {
    let ran = Test::new()
        .tasks(
            r#"
[tasks.hang]
timeout = "300ms"
shell = "sleep 30"
"#,
        )
        .args(&["run", "hang"])
        .run();
    ran.assert_code(1);
    assert!(ran.stdout.contains("timed out after 300ms"), "{}", ran.stdout);
}

#[test]
fn a_missing_program_is_named() {
    let ran = Test::new()
        .tasks("[tasks.x]\ncmd = [\"no-such-program-ops-test\"]\n")
        .args(&["run", "x"])
        .run();
    ran.assert_code(1);
    assert!(
        ran.stderr
            .contains("`no-such-program-ops-test` (cmd) is not on PATH"),
        "refused before the run: {}",
        ran.stderr
    );
    // A program known only when the run reaches it: named when it cannot start.
    let ran = Test::new()
        .tasks("[tasks.name]\nshell = \"echo no-such-program-ops-test\"\n\n[tasks.x]\ndeps = [\"name\"]\ncmd = [\"{{ tasks.name.stdout }}\"]\n")
        .args(&["run", "x"])
        .run();
    ran.assert_code(1);
    assert!(
        ran.stdout
            .contains("`no-such-program-ops-test` not found on PATH"),
        "{}",
        ran.stdout
    );
}

#[test]
fn a_program_without_a_slash_is_searched_on_the_tasks_path_and_never_in_its_directory() {
    use std::os::unix::fs::PermissionsExt as _;
    let test = Test::new();
    let root = test.root().to_owned();
    let test = test
        .tasks(&format!(
            "[tasks.name]\nshell = \"echo lurker\"\n\n\
             [tasks.here]\ndeps = [\"name\"]\nenv = {{ PATH = \"/usr/bin:/bin\" }}\ncmd = [\"{{{{ tasks.name.stdout }}}}\"]\n\n\
             [tasks.on-path]\nenv = {{ PATH = \"{}/bin:/usr/bin:/bin\" }}\ncmd = [\"lurker\", \"on-path\"]\n",
            root.display()
        ))
        .file("lurker", "#!/bin/sh\ntouch ran-from-directory\n")
        .file("bin/lurker", "#!/bin/sh\ntouch \"ran-$1\"\n");
    for script in ["lurker", "bin/lurker"] {
        std::fs::set_permissions(root.join(script), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let ran = test.run_with(&["run", "here"]);
    ran.assert_code(1);
    assert!(
        ran.stdout.contains("`lurker` not found on PATH"),
        "{}",
        ran.stdout
    );
    assert!(
        !root.join("ran-from-directory").exists(),
        "the task's directory is not searched"
    );
    test.run_with(&["run", "on-path"]).assert_code(0);
    assert!(
        root.join("ran-on-path").exists(),
        "the task's own PATH is searched"
    );
}
