//! The JSON Schemas under `schemas/`: the same as `ops schema NAME` prints (generated
//! from the serialized types), and every JSON document `ops` printed in these runs
//! is valid against its schema.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::common::{Test, repo_root};

fn committed(name: &str) -> Value {
    let path = repo_root().join("schemas").join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[track_caller]
fn assert_valid(name: &str, doc: &Value) {
    let schema = committed(name);
    let validator = jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("schemas/{name}.json: {e}"));
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "not valid against schemas/{name}.json:\n{}\n{doc:#}",
        errors.join("\n")
    );
}

fn documents() -> Vec<String> {
    let listed = Test::new().run_with(&["schema"]);
    listed.assert_code(0);
    listed
        .stdout
        .lines()
        .map(|l| l.split_whitespace().next().unwrap().to_owned())
        .collect()
}

#[test]
fn the_committed_schemas_are_what_ops_schema_prints() {
    let names = documents();
    assert!(names.len() >= 7, "{names:?}");
    for name in &names {
        let printed = Test::new().run_with(&["schema", name]);
        printed.assert_code(0);
        let path = repo_root().join("schemas").join(format!("{name}.json"));
        let file = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            file == printed.stdout,
            "schemas/{name}.json is not what `ops schema {name}` prints: run `ops schema {name} > schemas/{name}.json`"
        );
    }
    let files: BTreeSet<String> = std::fs::read_dir(repo_root().join("schemas"))
        .unwrap()
        .map(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .trim_end_matches(".json")
                .to_owned()
        })
        .collect();
    let names: BTreeSet<String> = names.into_iter().collect();
    assert_eq!(files, names, "one file per document under schemas/");
}

#[test]
fn a_schema_refuses_what_ops_would_not_print() {
    // The schemas are strict: an unknown field, a wrong type or an unknown event fails.
    let schema = committed("run-events");
    let validator = jsonschema::validator_for(&schema).unwrap();
    let good = serde_json::json!({"event": "note", "message": "hi", "version": 1});
    assert!(validator.is_valid(&good));
    for bad in [
        serde_json::json!({"event": "note", "message": "hi"}),
        serde_json::json!({"event": "note", "message": 3, "version": 1}),
        serde_json::json!({"event": "note", "message": "hi", "version": 1, "extra": true}),
        serde_json::json!({"event": "nope", "version": 1}),
    ] {
        assert!(!validator.is_valid(&bad), "accepted {bad}");
    }
}

const TASKS: &str = r#"
[tasks.hello]
shell = "echo hello; echo oops >&2"

[tasks.flaky]
shell = "test -f flag || { touch flag; exit 1; }"
retries = 1

[tasks.asks]
confirm = "Really?"
shell = "true"
env = { GREETING = "hi" }

[tasks.fails]
deps = ["hello", "flaky", "asks"]
shell = "exit 4"
on-failure = ["cleanup"]
finally = ["wrap-up"]

[tasks.cleanup]
shell = "echo cleaning"

[tasks.wrap-up]
shell = "true"

[tasks.checked]
shell = "echo changing"
check = ["true"]

[tasks.lacking]
cmd = ["no-such-program-ops-schema"]
"#;

fn events_of(ran: &crate::common::Ran) -> Vec<Value> {
    ran.events()
}

#[test]
fn run_events_of_every_mode_are_valid() {
    let test = Test::new().tasks(TASKS);
    let mut kinds = BTreeSet::new();
    let runs: [&[&str]; 4] = [
        &["run", "fails", "--dry-run", "--format", "json"],
        &["run", "fails", "--yes", "--format", "json", "-j", "1"],
        &[
            "run",
            "checked",
            "--diff",
            "--format",
            "json",
            "--save-plan",
            "checked.plan",
        ],
        &["run", "lacking", "hello", "--keep-going", "--format", "json"],
    ];
    for args in runs {
        let ran = test.run_with(args);
        assert!(!ran.stdout.is_empty(), "{args:?}: {}", ran.stderr);
        for event in events_of(&ran) {
            assert_valid("run-events", &event);
            kinds.insert(event["event"].as_str().unwrap().to_owned());
        }
    }
    for kind in [
        "run_started",
        "plan",
        "task_started",
        "output",
        "task_retrying",
        "confirmed",
        "process_started",
        "task_finished",
        "handlers",
        "note",
        "missing",
        "run_finished",
    ] {
        assert!(kinds.contains(kind), "no `{kind}` event in these runs: {kinds:?}");
    }

    let plan: Value =
        serde_json::from_str(&std::fs::read_to_string(test.root().join("checked.plan")).unwrap()).unwrap();
    assert_eq!(plan["version"], 1);
    assert_valid("plan", &plan);

    let runs = test.run_with(&["runs", "--format", "json"]);
    runs.assert_code(0);
    let listed: Value = serde_json::from_str(&runs.stdout).unwrap();
    assert_valid("runs", &listed);
    let ids: Vec<&str> = listed["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 3, "the dry run is not recorded: {ids:?}");
    for id in ids {
        let shown = test.run_with(&["runs", "show", id, "--format", "json"]);
        shown.assert_code(0);
        assert_valid("runs-show", &serde_json::from_str(&shown.stdout).unwrap());
    }
}

#[test]
fn list_and_doctor_output_is_valid() {
    let test = Test::new().tasks(&format!(
        "{TASKS}\n[tasks.greet]\nargs = [{{ name = \"who\" }}]\nshell = \"echo {{{{ args.who }}}}\"\n\n[tasks.broken]\nshell = \"echo {{{{ nope }}}}\"\n"
    ));
    let list = test.run_with(&["list", "--all", "--format", "json"]);
    list.assert_code(0);
    let doc: Value = serde_json::from_str(&list.stdout).unwrap();
    assert!(
        !doc["tasks_with_arguments"].as_array().unwrap().is_empty(),
        "{doc:#}"
    );
    assert_valid("list", &doc);
    let doctor = test.run_with(&["doctor", "lacking", "--format", "json"]);
    let doc: Value = serde_json::from_str(&doctor.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", doctor.stdout, doctor.stderr));
    assert!(!doc["findings"].as_array().unwrap().is_empty(), "{doc:#}");
    assert_valid("doctor", &doc);
}

#[test]
fn lint_findings_of_the_example_are_valid() {
    let ran = Test::new().run_with(&[
        "lint",
        "-C",
        repo_root().join("examples/homelab").to_str().unwrap(),
        "--format",
        "json",
    ]);
    let doc: Value = serde_json::from_str(&ran.stdout).unwrap_or_else(|e| panic!("{e}: {}", ran.stderr));
    assert!(doc["files_scanned"].as_u64().unwrap() > 10, "{doc:#}");
    assert_valid("lint", &doc);
    let bad = Test::new()
        .file("k8s/kustomization.yaml", "resources: [deploy.yaml]\n")
        .file(
            "k8s/deploy.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec:\n  template:\n    spec:\n      containers: [{name: a, image: nginx}]\n",
        )
        .run_with(&["lint", "--format", "json"]);
    bad.assert_code(1);
    let doc: Value = serde_json::from_str(&bad.stdout).unwrap();
    assert!(!doc["findings"].as_array().unwrap().is_empty(), "{doc:#}");
    assert_valid("lint", &doc);
}

#[test]
fn graph_json_of_the_example_is_valid() {
    let ran = Test::new().run_with(&[
        "-C",
        crate::common::repo_root()
            .join("examples/homelab")
            .to_str()
            .unwrap(),
        "graph",
        "deploy-authentik",
        "migrate-zitadel-to-dex",
        "--format",
        "json",
    ]);
    ran.assert_code(0);
    let doc: Value = serde_json::from_str(&ran.stdout).unwrap();
    assert!(doc["waves"].as_array().unwrap().len() > 3, "{doc:#}");
    assert!(!doc["handlers"].as_array().unwrap().is_empty(), "{doc:#}");
    assert_valid("graph", &doc);
}
