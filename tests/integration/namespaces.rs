//! Namespaces: task files in subdirectories of `tasks/` name their tasks
//! `DIR:NAME`; a short name resolves inside its own namespace first.

use crate::common::Test;

fn repository() -> Test {
    Test::new()
        .file(
            "tasks/zitadel/day2.toml",
            r#"
[tasks.backup]
description = "Dump the Zitadel database"
shell = "echo zitadel-dump; echo zitadel:backup >> ran"

[tasks.restore]
deps = ["backup"]
shell = "echo restore {{ tasks.backup.stdout }} >> ran"
"#,
        )
        .file(
            "tasks/main.toml",
            r#"
[tasks.backup]
shell = "echo root-dump; echo backup >> ran"

[tasks.nightly]
deps = ["backup", "zitadel:backup"]
shell = "echo nightly {{ tasks.zitadel:backup.stdout }} >> ran"
"#,
        )
}

#[test]
fn short_names_resolve_in_their_own_namespace_first() {
    let test = repository();
    let restore = test.run_with(&["run", "zitadel:restore"]);
    restore.assert_code(0);
    assert_eq!(restore.read("ran"), "zitadel:backup\nrestore zitadel-dump\n");
}

#[test]
fn qualified_names_reach_across_namespaces() {
    let test = repository();
    let nightly = test.run_with(&["run", "nightly", "-j", "1"]);
    nightly.assert_code(0);
    let ran = nightly.read("ran");
    assert!(
        ran.contains("backup\n") && ran.contains("zitadel:backup\n"),
        "{ran}"
    );
    assert!(ran.ends_with("nightly zitadel-dump\n"), "{ran}");
    let list = test.run_with(&["list"]);
    list.assert_stdout("zitadel:backup")
        .assert_stdout("zitadel:restore");
}

#[test]
fn a_name_twice_in_one_namespace_is_an_error() {
    let ran = repository()
        .file("tasks/zitadel/more.toml", "[tasks.backup]\nshell = \"true\"\n")
        .args(&["validate"])
        .run();
    ran.assert_code(2);
    assert!(ran.stderr.contains("zitadel:backup"), "{}", ran.stderr);
    assert!(
        ran.stderr.contains("tasks/zitadel/more.toml:1:8"),
        "{}",
        ran.stderr
    );
}

#[test]
fn a_matrix_in_a_namespace_names_its_instances_there() {
    let ran = Test::new()
        .file(
            "tasks/images/build.toml",
            "[tasks.build]\nmatrix = { c = [\"a\", \"b\"] }\nshell = \"echo {{ matrix.c }} >> built\"\n\n[tasks.all]\ndeps = [\"build\"]\nshell = \"true\"\n",
        )
        .args(&["run", "images:all"])
        .run();
    ran.assert_code(0);
    ran.assert_stdout("images:build[a]")
        .assert_stdout("images:build[b]");
    let mut built: Vec<String> = ran.read("built").lines().map(str::to_owned).collect();
    built.sort();
    assert_eq!(built, ["a", "b"]);
}
