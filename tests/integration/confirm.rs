use crate::common::Test;

const TASKS: &str = r#"
[tasks.safe]
shell = "touch safe"

[tasks.drop-db]
deps = ["safe"]
confirm = "This deletes the database. Continue?"
shell = "touch dropped"
"#;

#[test]
fn a_non_interactive_run_with_a_confirmation_fails_before_anything_runs() {
    let ran = Test::new().tasks(TASKS).args(&["run", "drop-db"]).run();
    ran.assert_code(2);
    assert!(
        !ran.exists("safe"),
        "nothing may run, not even the tasks before the confirmation"
    );
    assert!(ran.stderr.contains("drop-db"), "{}", ran.stderr);
    assert!(ran.stderr.contains("--yes"), "{}", ran.stderr);
}

#[test]
fn yes_accepts_the_confirmation() {
    let ran = Test::new().tasks(TASKS).args(&["run", "drop-db", "--yes"]).run();
    ran.assert_code(0);
    assert!(ran.exists("dropped"));
    assert!(ran.stdout.contains("confirmed by --yes"), "{}", ran.stdout);
}

#[test]
fn diff_and_dry_run_do_not_ask() {
    let test = Test::new().tasks(TASKS);
    test.run_with(&["run", "drop-db", "--diff"]).assert_code(0);
    let plan = test.run_with(&["run", "drop-db", "--dry-run"]);
    plan.assert_code(0);
    assert!(plan.stdout.contains("This deletes the database. Continue?"));
    assert!(!test.root().join("dropped").exists());
}
