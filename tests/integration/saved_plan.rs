use crate::common::Test;

const TASKS: &str = r#"
[tasks.in-sync]
cmd = ["touch", "applied-in-sync"]
check-shell = "echo nothing to do"

[tasks.drifted]
sources = ["src/*"]
cmd = ["touch", "applied-drifted"]
check-shell = "echo '+ replicas: 3'; exit 1"

[tasks.version]
read-only = true
shell = "echo 1.4.2"

[tasks.announce]
deps = ["version", "drifted"]
shell = "echo v{{ tasks.version.stdout }} > announced"

[tasks.all]
deps = ["in-sync", "announce"]
"#;

#[test]
fn apply_exactly_the_saved_plan() {
    let test = Test::new().tasks(TASKS).file("src/a", "one\n");
    let diff = test.run_with(&["run", "all", "--diff", "--save-plan", "deploy.plan"]);
    diff.assert_code(0);
    assert!(
        diff.stderr.contains("plan saved to deploy.plan"),
        "{}",
        diff.stderr
    );
    let plan: serde_json::Value = serde_json::from_str(&diff.read("deploy.plan")).unwrap();
    assert_eq!(plan["targets"], serde_json::json!(["all"]));
    assert!(!test.root().join("applied-drifted").exists());

    let applied = test.run_with(&["run", "--plan", "deploy.plan", "--output", "json"]);
    applied.assert_code(0);
    assert!(
        !applied.exists("applied-in-sync"),
        "no change in the plan: not run"
    );
    assert!(applied.exists("applied-drifted"), "changes in the plan: run");
    assert_eq!(
        applied.read("announced"),
        "v1.4.2\n",
        "values from the diff are restored"
    );
}

#[test]
fn a_stale_plan_is_refused_naming_what_changed() {
    let test = Test::new().tasks(TASKS).file("src/a", "one\n");
    test.run_with(&["run", "all", "--diff", "--save-plan", "deploy.plan"])
        .assert_code(0);
    std::fs::write(test.root().join("src/a"), "two\n").unwrap();
    std::fs::write(
        test.root().join("tasks/main.toml"),
        TASKS.replace("applied-in-sync", "applied-sync"),
    )
    .unwrap();
    let ran = test.run_with(&["run", "--plan", "deploy.plan"]);
    ran.assert_code(2);
    assert!(
        ran.stderr.contains("in-sync (definition changed)"),
        "{}",
        ran.stderr
    );
    assert!(ran.stderr.contains("drifted (sources changed)"), "{}", ran.stderr);
    assert!(!test.root().join("applied-drifted").exists(), "nothing ran");
}

#[test]
fn a_failed_diff_saves_no_plan() {
    let test = Test::new().tasks("[tasks.x]\nshell = \"true\"\ncheck-shell = \"exit 9\"\n");
    let ran = test.run_with(&["run", "x", "--diff", "--save-plan", "x.plan"]);
    ran.assert_code(1);
    assert!(!test.root().join("x.plan").exists());
    assert!(ran.stderr.contains("plan not saved"), "{}", ran.stderr);
}

#[test]
fn a_file_that_is_not_a_plan() {
    let test = Test::new().tasks(TASKS).file("bad.plan", "{\"hello\": 1}");
    let ran = test.run_with(&["run", "--plan", "bad.plan"]);
    ran.assert_code(2);
    assert!(ran.stderr.contains("not an ops plan"), "{}", ran.stderr);
}

#[test]
fn a_plan_for_other_targets_is_refused_as_such() {
    let test = Test::new().tasks(TASKS).file("src/a", "one\n");
    test.run_with(&["run", "all", "--diff", "--save-plan", "deploy.plan"])
        .assert_code(0);
    let other = test.run_with(&["run", "in-sync", "--plan", "deploy.plan"]);
    other.assert_code(2);
    assert!(
        other
            .stderr
            .contains("the plan deploy.plan is for `all`, not `in-sync`"),
        "{}",
        other.stderr
    );
    assert!(!other.stderr.contains("stale"), "{}", other.stderr);
    assert!(!test.root().join("applied-in-sync").exists());
}

#[test]
fn an_edited_plan_is_refused() {
    let test = Test::new().tasks(TASKS).file("src/a", "one\n");
    test.run_with(&["run", "all", "--diff", "--save-plan", "deploy.plan"])
        .assert_code(0);
    let path = test.root().join("deploy.plan");
    // Mark the pending change as done: a plan edited to skip it.
    let text = std::fs::read_to_string(&path).unwrap();
    let edited = text.replacen("\"diff\": \"changes\"", "\"diff\": \"no_change\"", 1);
    assert_ne!(text, edited);
    std::fs::write(&path, edited).unwrap();
    let applied = test.run_with(&["run", "--plan", "deploy.plan"]);
    applied.assert_code(2);
    assert!(
        applied.stderr.contains("was edited after it was saved"),
        "{}",
        applied.stderr
    );
    assert!(!test.root().join("applied-drifted").exists(), "nothing ran");
}

#[test]
fn a_plan_is_applied_once() {
    let test = Test::new().tasks(TASKS).file("src/a", "one\n");
    test.run_with(&["run", "all", "--diff", "--save-plan", "deploy.plan"])
        .assert_code(0);
    test.run_with(&["run", "--plan", "deploy.plan"]).assert_code(0);
    std::fs::remove_file(test.root().join("applied-drifted")).unwrap();
    let again = test.run_with(&["run", "--plan", "deploy.plan"]);
    again.assert_code(2);
    assert!(again.stderr.contains("was applied already"), "{}", again.stderr);
    assert!(
        !test.root().join("applied-drifted").exists(),
        "nothing ran the second time"
    );
}

#[test]
fn a_plan_that_cannot_be_saved_fails_the_run_and_replaces_nothing() {
    let test = Test::new().tasks(TASKS).file("src/a", "one\n");
    std::fs::create_dir(test.root().join("plans")).unwrap();
    let into_dir = test.run_with(&["run", "all", "--diff", "--save-plan", "plans"]);
    into_dir.assert_code(1);
    assert!(
        into_dir.stderr.contains("cannot save the plan to plans"),
        "{}",
        into_dir.stderr
    );
    assert!(test.root().join("plans").is_dir(), "the directory is left alone");
    std::os::unix::fs::symlink("/dev/null", test.root().join("null.plan")).unwrap();
    let into_link = test.run_with(&["run", "all", "--diff", "--save-plan", "null.plan"]);
    into_link.assert_code(1);
    assert!(
        std::fs::symlink_metadata(test.root().join("null.plan"))
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link is left alone"
    );
}
