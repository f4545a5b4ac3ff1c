//! `matrix`: a task run for every combination of values, each instance a task of its
//! own (`build[authentik]`), the task itself the aggregate of its instances.

use crate::common::{Test, snapshot_settings};

const TASKS: &str = r#"
[vars]
containers = ["authentik", "redis"]
version = "2026.2.0"

[tasks.build]
description = "Build one image"
matrix = { container = "containers" }
shell = "echo {{ matrix.container }} >> built"

[tasks.release]
matrix = { container = ["authentik", "redis"] }
deps = ["build[{{ matrix.container }}]"]
shell = "echo {{ matrix.container }}-{{ version }} >> released"

[tasks.publish]
matrix = { container = ["authentik", "redis"], arch = ["amd64", "arm64"] }
shell = "echo {{ matrix.container }}/{{ matrix.arch }} >> published"

[tasks.all]
deps = ["release", "publish"]
"#;

fn lines(ran: &crate::common::Ran, file: &str) -> Vec<String> {
    let mut lines: Vec<String> = ran.read(file).lines().map(str::to_owned).collect();
    lines.sort();
    lines
}

#[test]
fn every_instance_runs_once_and_in_order() {
    let test = Test::new().tasks(TASKS);
    let ran = test.run_with(&["run", "all", "-j", "4"]);
    ran.assert_code(0);
    assert_eq!(lines(&ran, "built"), ["authentik", "redis"]);
    assert_eq!(lines(&ran, "released"), ["authentik-2026.2.0", "redis-2026.2.0"]);
    assert_eq!(
        lines(&ran, "published"),
        ["authentik/amd64", "authentik/arm64", "redis/amd64", "redis/arm64"]
    );
    // Element-wise: each release after its own build.
    let json = test.run_with(&["run", "release[redis]", "--force", "--output", "json"]);
    json.assert_code(0);
    let started: Vec<String> = json
        .events()
        .iter()
        .filter(|e| e["event"] == "task_started")
        .map(|e| e["task"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(started, ["build[redis]", "release[redis]"]);
}

#[test]
fn an_instance_runs_by_its_name() {
    let test = Test::new().tasks(TASKS);
    let ran = test.run_with(&["run", "publish[redis,arm64]"]);
    ran.assert_code(0);
    assert_eq!(lines(&ran, "published"), ["redis/arm64"]);
}

#[test]
fn the_plan_and_the_list_show_the_instances() {
    let test = Test::new().tasks(TASKS);
    let plan = test.run_with(&["run", "release", "--dry-run"]);
    plan.assert_code(0);
    snapshot_settings().bind(|| insta::assert_snapshot!("matrix_dry_run", plan.stdout));
    let list = test.run_with(&["list"]);
    list.assert_stdout("build[authentik]")
        .assert_stdout("publish[redis,arm64]");
}

#[test]
fn a_matrix_that_cannot_expand_is_a_load_error() {
    for (toml, at, says) in [
        (
            "[tasks.t]\nmatrix = { c = [] }\nshell = \"true\"\n",
            "main.toml:2:16",
            "has no values",
        ),
        (
            "[tasks.t]\nmatrix = { c = \"nope\" }\nshell = \"true\"\n",
            "main.toml:2:16",
            "`nope` is not a list in [vars]",
        ),
        (
            "[tasks.t]\nshell = \"echo {{ matrix.c }}\"\n",
            "main.toml:2:15",
            "give the task `matrix = { c = ",
        ),
    ] {
        let ran = Test::new().tasks(toml).args(&["run", "t"]).run();
        ran.assert_code(2);
        assert!(
            ran.stderr.contains(at) && ran.stderr.contains(says),
            "{toml}\n{}",
            ran.stderr
        );
    }
}

/// A matrix whose instances give arguments to a task that takes them: each instance
/// its own invocation (values from `include` rows), its output named through the
/// instance's values.
const WITH_ARGUMENTS: &str = r#"
[vars]
containers = ["authentik", "redis"]

[tasks.build-image]
description = "Build one image"
args = [
  { name = "container", choices = ["authentik", "redis"] },
  { name = "version", required = false },
]
cmd = ["sh", "-c", "echo \"$0 $1\" | tee -a built", "{{ args.container }}", "{{ args.version }}"]

[tasks.release]
matrix = { container = "containers", include = [
  { container = "authentik", version = "2026.2.0" },
  { container = "redis", version = "7.4.2" },
] }
deps = [{ task = "build-image", args = { container = "{{ matrix.container }}", version = "{{ matrix.version }}" } }]
cmd = ["sh", "-c", "echo \"$0\" >> released", "{{ matrix.container }}-v{{ matrix.version }} from {{ tasks.build-image[{{ matrix.container }},{{ matrix.version }}].stdout }}"]
"#;

#[test]
fn a_matrix_gives_arguments_to_its_dependencies() {
    let test = Test::new().tasks(WITH_ARGUMENTS);
    let plan = test.run_with(&["run", "release", "--dry-run"]);
    plan.assert_code(0);
    snapshot_settings().bind(|| insta::assert_snapshot!("matrix_arguments_dry_run", plan.stdout));
    let ran = test.run_with(&["run", "release"]);
    ran.assert_code(0);
    assert_eq!(lines(&ran, "built"), ["authentik 2026.2.0", "redis 7.4.2"]);
    assert_eq!(
        lines(&ran, "released"),
        [
            "authentik-v2026.2.0 from authentik 2026.2.0",
            "redis-v7.4.2 from redis 7.4.2"
        ]
    );
    // The same task by hand, without the optional version: an instance of its own.
    let one = test.run_with(&["run", "build-image", "redis"]);
    one.assert_code(0);
    assert!(one.stdout.contains("build-image[redis]"), "{}", one.stdout);
}

#[test]
fn a_matrix_task_cannot_take_arguments() {
    let test = Test::new().tasks(
        "[tasks.release]\nmatrix = { container = [\"a\"] }\nargs = [{ name = \"version\" }]\ncmd = [\"true\"]\n",
    );
    let ran = test.run_with(&["validate"]);
    ran.assert_code(2);
    assert!(
        ran.stderr.contains("has both `matrix` and `args`"),
        "{}",
        ran.stderr
    );
    assert!(ran.stderr.contains("tasks/main.toml:2:"), "{}", ran.stderr);
}

#[test]
fn an_include_row_that_matches_nothing_is_a_load_error() {
    let test = Test::new().tasks(
        "[tasks.t]\nmatrix = { c = [\"authentik\"], include = [{ c = \"authentk\", v = \"1\" }] }\ncmd = [\"true\"]\n",
    );
    let ran = test.run_with(&["validate"]);
    ran.assert_code(2);
    assert!(ran.stderr.contains("matches no instance"), "{}", ran.stderr);
    assert!(ran.stderr.contains("c = [\"authentik\"]"), "{}", ran.stderr);
}
