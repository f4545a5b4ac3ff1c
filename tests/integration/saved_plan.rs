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

/// The waves of `ops graph --format json`: what a CI workflow fans out over.
#[test]
fn graph_json_gives_waves_needs_and_stable_ids() {
    let test = Test::new().tasks(TASKS).file("src/a", "one\n");
    let ran = test.run_with(&["graph", "all", "--format", "json"]);
    ran.assert_code(0);
    let doc: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    let waves: Vec<Vec<&str>> = doc["waves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            w["tasks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["name"].as_str().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(
        waves,
        [
            vec!["in-sync", "version", "drifted"],
            vec!["announce"],
            vec!["all"]
        ]
    );
    let announce = &doc["waves"][1]["tasks"][0];
    assert_eq!(announce["needs"], serde_json::json!(["version", "drifted"]));
    assert_eq!(announce["kind"], "shell");
    assert_eq!(doc["waves"][2]["tasks"][0]["kind"], "aggregate");
    let id = announce["id"].as_str().unwrap();
    assert!(
        id.starts_with("announce-") && id.len() == "announce-".len() + 6,
        "{id}"
    );
    let again = test.run_with(&["graph", "all", "--format", "json"]);
    assert_eq!(again.stdout, ran.stdout, "the same document every time");
    // The graph hash is the one a plan of the same targets carries.
    test.run_with(&["run", "all", "--diff", "--save-plan", "deploy.plan"])
        .assert_code(0);
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(test.root().join("deploy.plan")).unwrap()).unwrap();
    assert_eq!(plan["graph"], doc["graph"]);
}

#[test]
fn one_part_of_a_plan_is_applied_with_the_values_the_plan_holds() {
    let test = Test::new().tasks(TASKS).file("src/a", "one\n");
    test.run_with(&["run", "all", "--diff", "--save-plan", "deploy.plan"])
        .assert_code(0);

    let part = test.run_with(&["run", "--plan", "deploy.plan", "--only", "announce"]);
    part.assert_code(0);
    assert_eq!(
        part.read("announced"),
        "v1.4.2\n",
        "the value comes from the plan"
    );
    assert!(!part.exists("applied-drifted"), "another part applies drifted");
    assert!(
        part.stdout
            .contains("--only: another part of the plan applies it"),
        "{}",
        part.stdout
    );

    let other = test.run_with(&["run", "--plan", "deploy.plan", "--only", "drifted"]);
    other.assert_code(0);
    assert!(other.exists("applied-drifted"));
    assert!(!other.exists("applied-in-sync"));

    let twice = test.run_with(&["run", "--plan", "deploy.plan", "--only", "announce"]);
    twice.assert_code(2);
    assert!(twice.stderr.contains("was applied already"), "{}", twice.stderr);

    let unknown = test.run_with(&["run", "--plan", "deploy.plan", "--only", "nope"]);
    unknown.assert_code(2);
    assert!(
        unknown.stderr.contains("`nope` is not a task of the plan"),
        "{}",
        unknown.stderr
    );
}

#[test]
fn a_part_is_refused_when_any_of_the_plan_is_stale() {
    let test = Test::new().tasks(TASKS).file("src/a", "one\n");
    test.run_with(&["run", "all", "--diff", "--save-plan", "deploy.plan"])
        .assert_code(0);
    std::fs::write(test.root().join("src/a"), "two\n").unwrap();
    let ran = test.run_with(&["run", "--plan", "deploy.plan", "--only", "in-sync"]);
    ran.assert_code(2);
    assert!(ran.stderr.contains("drifted (sources changed)"), "{}", ran.stderr);
    assert!(!ran.exists("applied-in-sync"));
}

#[test]
fn a_part_that_needs_a_value_the_plan_lacks_is_refused_before_it_runs() {
    let tasks = format!(
        "{TASKS}\n[tasks.uses-drifted]\ndeps = [\"drifted\"]\nshell = \"echo {{{{ tasks.drifted.stdout }}}} > used\"\n\n[tasks.both]\ndeps = [\"all\", \"uses-drifted\"]\n"
    );
    let test = Test::new().tasks(&tasks).file("src/a", "one\n");
    test.run_with(&["run", "both", "--diff", "--save-plan", "deploy.plan"])
        .assert_code(0);
    let ran = test.run_with(&["run", "--plan", "deploy.plan", "--only", "uses-drifted"]);
    ran.assert_code(2);
    assert!(
        ran.stderr.contains("--only drifted --only uses-drifted"),
        "{}",
        ran.stderr
    );
    assert!(!ran.exists("used"));
    let together = test.run_with(&[
        "run",
        "--plan",
        "deploy.plan",
        "--only",
        "drifted",
        "--only",
        "uses-drifted",
    ]);
    together.assert_code(0);
    assert!(together.exists("used"));
}
