use crate::common::Test;

const TASKS: &str = r#"
[tasks.build]
sources = ["src/**"]
outputs = ["out"]
shell = "cat src/* > out; echo run >> runs"
"#;

fn status(ran: &crate::common::Ran, task: &str) -> String {
    ran.events()
        .iter()
        .find(|e| e["event"] == "task_finished" && e["task"] == task)
        .map(|e| e["status"].as_str().unwrap().to_owned())
        .unwrap()
}

#[test]
fn unchanged_sources_skip_the_task_until_they_change() {
    let test = Test::new()
        .tasks(TASKS)
        .file("src/a", "one\n")
        .args(&["run", "build", "--output", "json"]);
    assert_eq!(status(&test.run(), "build"), "ok");
    let second = test.run();
    assert_eq!(status(&second, "build"), "up_to_date");
    assert_eq!(second.read("runs").lines().count(), 1);

    std::fs::write(test.root().join("src/a"), "two\n").unwrap();
    let third = test.run();
    assert_eq!(status(&third, "build"), "ok");
    assert_eq!(third.read("out"), "two\n");
}

#[test]
fn a_missing_output_makes_the_task_run() {
    let test = Test::new()
        .tasks(TASKS)
        .file("src/a", "one\n")
        .args(&["run", "build", "--output", "json"]);
    test.run().assert_code(0);
    std::fs::remove_file(test.root().join("out")).unwrap();
    assert_eq!(status(&test.run(), "build"), "ok");
}

#[test]
fn force_runs_an_up_to_date_task() {
    let test = Test::new()
        .tasks(TASKS)
        .file("src/a", "one\n")
        .args(&["run", "build", "--output", "json"]);
    test.run().assert_code(0);
    let forced = test.run_with(&["run", "build", "--force", "--output", "json"]);
    assert_eq!(status(&forced, "build"), "ok");
    assert_eq!(forced.read("runs").lines().count(), 2);
}

#[test]
fn a_changed_command_makes_the_task_run() {
    let test = Test::new()
        .tasks(TASKS)
        .file("src/a", "one\n")
        .args(&["run", "build", "--output", "json"]);
    test.run().assert_code(0);
    let changed = TASKS.replace("echo run", "echo again");
    std::fs::write(test.root().join("tasks/main.toml"), changed).unwrap();
    assert_eq!(status(&test.run(), "build"), "ok");
}

#[test]
fn dry_run_marks_up_to_date_tasks() {
    let test = Test::new()
        .tasks(TASKS)
        .file("src/a", "one\n")
        .args(&["run", "build"]);
    test.run().assert_code(0);
    let plan = test.run_with(&["run", "build", "--dry-run"]);
    assert!(
        plan.stdout.contains("up to date, would be skipped"),
        "{}",
        plan.stdout
    );
}
