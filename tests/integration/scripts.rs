//! Scripts as people have them: a `shell` script with a `#!` line runs by that
//! program, and `script = "scripts/NAME.sh"` runs a file of the repository with
//! `args`; the file's contents are part of the task's definition.

use crate::common::{Test, require_tool};

#[test]
fn a_shebang_script_runs_by_its_interpreter() {
    if !require_tool("bash") || !require_tool("python3") {
        return;
    }
    let test = Test::new().tasks(
        r##"
[tasks.bash]
shell = """#!/usr/bin/env bash
set -euo pipefail
a=(one two)
echo "${a[1]}" > bash.out
"""

[tasks.python]
shell = """#!/usr/bin/env python3
import os
open(os.path.join(os.environ["OPS_ROOT"], "python.out"), "w").write("from python")
"""

[tasks.errexit]
shell = """#!/bin/bash -e
false
touch not-reached
"""
"##,
    );
    test.run_with(&["run", "bash", "python"]).assert_code(0);
    assert_eq!(
        std::fs::read_to_string(test.root().join("bash.out")).unwrap(),
        "two\n"
    );
    assert_eq!(
        std::fs::read_to_string(test.root().join("python.out")).unwrap(),
        "from python"
    );
    // The argument of the `#!` line reaches bash: `-e` stops at `false`.
    test.run_with(&["run", "errexit"]).assert_code(1);
    assert!(!test.root().join("not-reached").exists());
}

const GREET: &str = "#!/bin/sh\nprintf '%s|%s|%s\\n' \"$1\" \"$2\" \"$(pwd)\" > \"$OPS_ROOT/greet.out\"\n";

#[test]
fn a_script_file_runs_with_its_arguments() {
    let test = Test::new()
        .file("scripts/greet.sh", GREET)
        .file(
            "scripts/plain.sh",
            "a=(x y)\necho \"${a[1]}\" > \"$OPS_ROOT/plain.out\"\n",
        )
        .tasks(
            r#"
[tasks.up]
shell = "echo from-up"

[tasks.greet]
deps = ["up"]
script = "scripts/greet.sh"
args = ["hello world", "{{ tasks.up.stdout }}"]

[tasks.plain]
interpreter = ["bash", "-euo", "pipefail", "-c"]
script = "scripts/plain.sh"

[tasks.missing]
script = "scripts/nowhere.sh"
"#,
        );
    let plan = test.run_with(&["run", "greet", "--dry-run"]);
    plan.assert_code(0);
    plan.assert_stdout("$ scripts/greet.sh 'hello world' '{{ tasks.up.stdout }}'");

    test.run_with(&["run", "greet", "plain"]).assert_code(0);
    let root = test.root().canonicalize().unwrap();
    assert_eq!(
        std::fs::read_to_string(test.root().join("greet.out")).unwrap(),
        format!("hello world|from-up|{}\n", root.display())
    );
    // No `#!` line and not executable: the interpreter without its `-c`.
    assert_eq!(
        std::fs::read_to_string(test.root().join("plain.out")).unwrap(),
        "y\n"
    );

    let missing = test.run_with(&["run", "missing"]);
    missing.assert_code(1);
    assert!(
        missing
            .stderr
            .contains("✗ missing: `scripts/nowhere.sh` (script) does not exist"),
        "{}",
        missing.stderr
    );
}

#[test]
fn an_executable_without_a_shebang_is_run_directly() {
    use std::os::unix::fs::PermissionsExt as _;
    let test = Test::new().tasks("[tasks.t]\nscript = \"bin/tool\"\nargs = [\"x\"]\n");
    // A copy of a real binary: no `#!`, executable.
    let tool = test.root().join("bin/tool");
    std::fs::create_dir_all(tool.parent().unwrap()).unwrap();
    std::fs::copy("/bin/echo", &tool).unwrap();
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
    let ran = test.run_with(&["run", "t"]);
    ran.assert_code(0);
    ran.assert_stdout("x");
}

#[test]
fn editing_the_script_makes_the_task_stale() {
    let test = Test::new()
        .file("scripts/build.sh", "#!/bin/sh\necho v1 > \"$OPS_ROOT/out\"\n")
        .file("in.txt", "input")
        .tasks("[tasks.build]\nscript = \"scripts/build.sh\"\nsources = [\"in.txt\"]\noutputs = [\"out\"]\n");
    test.run_with(&["run", "build"]).assert_code(0);
    let again = test.run_with(&["run", "build"]);
    again.assert_code(0);
    again.assert_stdout("up to date");

    std::fs::write(
        test.root().join("scripts/build.sh"),
        "#!/bin/sh\necho v2 > \"$OPS_ROOT/out\"\n",
    )
    .unwrap();
    test.run_with(&["run", "build"]).assert_code(0);
    assert_eq!(std::fs::read_to_string(test.root().join("out")).unwrap(), "v2\n");

    // A plan made before the script changed is refused.
    test.run_with(&["run", "build", "--diff", "--force", "--save-plan", "p.plan"]);
    std::fs::write(
        test.root().join("scripts/build.sh"),
        "#!/bin/sh\necho v3 > \"$OPS_ROOT/out\"\n",
    )
    .unwrap();
    let stale = test.run_with(&["run", "--plan", "p.plan"]);
    stale.assert_code(2);
    assert!(
        stale.stderr.contains("build (definition changed)"),
        "{}",
        stale.stderr
    );
    assert_eq!(std::fs::read_to_string(test.root().join("out")).unwrap(), "v2\n");
}

#[test]
fn args_without_a_script_is_a_load_error() {
    let ran = Test::new()
        .tasks("[tasks.t]\ncmd = [\"true\"]\nargs = [\"x\"]\n")
        .args(&["run", "t"])
        .run();
    ran.assert_code(2);
    assert!(
        ran.stderr.contains("has `args` but no `script`"),
        "{}",
        ran.stderr
    );
    assert!(ran.stderr.contains("main.toml:3:8"), "{}", ran.stderr);
}
