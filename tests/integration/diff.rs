use crate::common::{Test, snapshot_settings};

const TASKS: &str = r#"
[tasks.in-sync]
cmd = ["touch", "applied-in-sync"]
check-shell = "echo nothing to do"

[tasks.drifted]
cmd = ["touch", "applied-drifted"]
check-shell = "echo '+ replicas: 3'; exit 1"

[tasks.unchecked]
shell = "touch applied-unchecked"

[tasks.all]
deps = ["in-sync", "drifted", "unchecked"]
"#;

#[test]
fn diff_runs_checks_and_applies_nothing() {
    let ran = Test::new()
        .tasks(TASKS)
        .args(&["run", "all", "--diff", "-j", "1"])
        .run();
    ran.assert_code(0);
    for f in ["applied-in-sync", "applied-drifted", "applied-unchecked"] {
        assert!(!ran.exists(f), "{f}: --diff must not apply");
    }
    snapshot_settings().bind(|| insta::assert_snapshot!("diff_report", ran.stdout));
}

#[test]
fn detailed_exitcode_tells_changes_from_none() {
    let test = Test::new().tasks(TASKS);
    test.run_with(&["run", "drifted", "--diff", "--detailed-exitcode"])
        .assert_code(3);
    test.run_with(&["run", "in-sync", "--diff", "--detailed-exitcode"])
        .assert_code(0);
    test.run_with(&["run", "unchecked", "--diff", "--detailed-exitcode"])
        .assert_code(3);
}

#[test]
fn a_failing_check_is_a_failure() {
    let ran = Test::new()
        .tasks("[tasks.x]\nshell = \"true\"\ncheck-shell = \"exit 7\"\n")
        .args(&["run", "x", "--diff", "--detailed-exitcode"])
        .run();
    ran.assert_code(1);
    assert!(ran.stdout.contains("failed with exit code 7"), "{}", ran.stdout);
}
