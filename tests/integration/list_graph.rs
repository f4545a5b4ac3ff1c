use crate::common::{Test, snapshot_settings};

const TASKS: &str = r#"
[tasks.build-authentik]
description = "Build the Authentik image"
shell = "true"

[tasks.build-redis]
description = "Build the Redis image"
shell = "true"

[tasks.release]
deps = ["build-authentik", "build-redis"]
shell = "true"

[tasks.deploy-authentik]
description = "Deploy Authentik end to end"
deps = ["release", "build-redis"]
"#;

#[test]
fn list_aligns_names_and_descriptions() {
    let ran = Test::new().tasks(TASKS).args(&["list"]).run();
    ran.assert_code(0);
    snapshot_settings().bind(|| insta::assert_snapshot!("list", ran.stdout));
}

#[test]
fn list_as_json() {
    let ran = Test::new().tasks(TASKS).args(&["list", "--output", "json"]).run();
    ran.assert_code(0);
    let v: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(v["tasks"].as_array().unwrap().len(), 4);
    assert_eq!(
        v["tasks"][2]["deps"],
        serde_json::json!(["build-authentik", "build-redis"])
    );
    assert_eq!(v["tasks"][3]["kind"], "aggregate");
}

#[test]
fn graph_formats() {
    let test = Test::new().tasks(TASKS);
    for format in ["tree", "dot", "mermaid"] {
        let ran = test.run_with(&["graph", "deploy-authentik", "--format", format]);
        ran.assert_code(0);
        snapshot_settings().bind(|| insta::assert_snapshot!(format!("graph_{format}"), ran.stdout));
    }
}

#[test]
fn completions_are_generated() {
    let ran = Test::new().args(&["completions", "bash"]).run();
    ran.assert_code(0);
    assert!(ran.stdout.contains("_ops()"));
}

#[test]
fn graph_shows_the_handlers() {
    let test = Test::new().tasks(
        r#"
[tasks.migrate]
deps = ["switch"]
on-failure = ["rollback"]
finally = ["unlock"]

[tasks.switch]
shell = "true"

[tasks.rollback]
deps = ["backup-present"]
shell = "true"

[tasks.backup-present]
shell = "true"

[tasks.unlock]
shell = "true"
"#,
    );
    let tree = test.run_with(&["graph", "migrate"]);
    tree.assert_code(0);
    assert_eq!(
        tree.stdout,
        "migrate\n└── switch\n\nhandlers:\nmigrate on-failure → rollback\nmigrate finally → unlock\n"
    );
    let dot = test.run_with(&["graph", "migrate", "--format", "dot"]);
    dot.assert_stdout("\"migrate\" -> \"rollback\" [style=dashed, label=\"on-failure\"];")
        .assert_stdout("\"rollback\" -> \"backup-present\";");
    let mermaid = test.run_with(&["graph", "migrate", "--format", "mermaid"]);
    mermaid.assert_stdout("migrate -.->|finally| unlock");
}
