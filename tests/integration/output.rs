use crate::common::{Test, snapshot_settings};

const TASKS: &str = r#"
[tasks.first]
shell = "echo one; echo two"

[tasks.second]
deps = ["first"]
shell = "echo three"
"#;

#[test]
fn forgejo_actions_get_one_group_per_task() {
    let ran = Test::new()
        .tasks(TASKS)
        .env("CI", "true")
        .env("FORGEJO_ACTIONS", "true")
        .args(&["run", "second"])
        .run();
    ran.assert_code(0);
    assert!(!ran.stdout.contains('\u{1b}'), "no escape codes in CI logs");
    snapshot_settings().bind(|| insta::assert_snapshot!("actions_groups", ran.stdout));
}

#[test]
fn grouped_mode_prints_each_task_in_one_block() {
    let ran = Test::new()
        .tasks(TASKS)
        .args(&["run", "second", "--output-mode", "grouped"])
        .run();
    ran.assert_code(0);
    let first = ran.stdout.find("── first").unwrap();
    let two = ran.stdout.find("two").unwrap();
    let second = ran.stdout.find("── second").unwrap();
    assert!(first < two && two < second, "{}", ran.stdout);
}
