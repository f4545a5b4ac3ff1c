//! `interpreter`: which program runs a task's `shell` script — the task's own, its
//! file's `[settings]`, or `sh -c` — against the real bash and dash.

use crate::common::{Test, require_tool};

const TASKS: &str = r#"
[settings]
interpreter = ["bash", "-euo", "pipefail", "-c"]

[tasks.arrays]
shell = "a=(one two); echo ${a[1]} > arrays"

[tasks.pipefail]
shell = "false | true; echo not reached > pipefail"

[tasks.plain-sh]
interpreter = ["sh", "-c"]
shell = "echo \"bash:${BASH_VERSION:-none}\" > plain-sh"
"#;

#[test]
fn a_file_and_a_task_choose_the_interpreter() {
    if !require_tool("bash") {
        return;
    }
    let test = Test::new().tasks(TASKS);
    test.run_with(&["run", "arrays"]).assert_code(0);
    assert_eq!(
        std::fs::read_to_string(test.root().join("arrays")).unwrap(),
        "two\n"
    );
    // bash -o pipefail: the pipeline fails, so the script stops (-e).
    test.run_with(&["run", "pipefail"]).assert_code(1);
    assert!(!test.root().join("pipefail").exists());
    test.run_with(&["run", "plain-sh"]).assert_code(0);
    assert_eq!(
        std::fs::read_to_string(test.root().join("plain-sh")).unwrap(),
        "bash:none\n"
    );
}

#[test]
fn the_default_is_sh() {
    let ran = Test::new()
        .tasks("[tasks.t]\nshell = \"echo \\\"bash:${BASH_VERSION:-none}\\\" > which\"\n")
        .args(&["run", "t"])
        .run();
    ran.assert_code(0);
    assert_eq!(ran.read("which"), "bash:none\n");
}

#[test]
fn an_empty_interpreter_is_refused_at_load() {
    let ran = Test::new()
        .tasks("[tasks.t]\ninterpreter = []\nshell = \"true\"\n")
        .args(&["run", "t"])
        .run();
    ran.assert_code(2);
    assert!(ran.stderr.contains("an empty `interpreter`"), "{}", ran.stderr);
    assert!(ran.stderr.contains("main.toml:2:15"), "{}", ran.stderr);
}
