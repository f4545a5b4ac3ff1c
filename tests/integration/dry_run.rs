use crate::common::{Test, snapshot_settings};

const PLAN: &str = r#"
[vars]
version = "2026.2.0"

[tasks.build-image]
description = "Build the image"
cmd = ["touch", "created-by-build"]
check = ["test", "-e", "created-by-build"]

[tasks.announce]
deps = ["build-image"]
shell = "echo built {{ version }} > created-by-announce"

[tasks.drop-db]
deps = ["build-image"]
confirm = "This deletes the database. Continue?"
shell = "touch created-by-drop"

[tasks.deploy]
deps = ["announce", "drop-db"]
"#;

#[test]
fn dry_run_prints_the_plan_and_creates_nothing() {
    let ran = Test::new()
        .tasks(PLAN)
        .args(&["run", "deploy", "--dry-run"])
        .run();
    ran.assert_code(0);
    for file in [
        "created-by-build",
        "created-by-announce",
        "created-by-drop",
        ".ops",
    ] {
        assert!(!ran.exists(file), "{file} must not exist after --dry-run");
    }
    snapshot_settings().bind(|| insta::assert_snapshot!("dry_run_plan", ran.stdout));
}

#[test]
fn dry_run_as_json_lists_the_waves() {
    let ran = Test::new()
        .tasks(PLAN)
        .args(&["run", "deploy", "--dry-run", "--output", "json"])
        .run();
    ran.assert_code(0);
    let events = ran.events();
    assert_eq!(events.len(), 1);
    let waves = events[0]["waves"].as_array().unwrap();
    let names: Vec<Vec<&str>> = waves
        .iter()
        .map(|w| {
            w.as_array()
                .unwrap()
                .iter()
                .map(|t| t["task"].as_str().unwrap())
                .collect()
        })
        .collect();
    assert_eq!(
        names,
        vec![vec!["build-image"], vec!["announce", "drop-db"], vec!["deploy"]]
    );
    assert_eq!(waves[1][1]["confirm"], "This deletes the database. Continue?");
}
