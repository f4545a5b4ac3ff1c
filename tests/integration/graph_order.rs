use crate::common::Test;

const DIAMOND: &str = r#"
[tasks.top]
deps = ["left", "right"]
shell = "echo top >> log"

[tasks.left]
deps = ["base"]
shell = "echo left >> log"

[tasks.right]
deps = ["base"]
shell = "echo right >> log"

[tasks.base]
shell = "echo base >> log"
"#;

#[test]
fn diamond_runs_each_task_once_in_a_valid_order() {
    let test = Test::new().tasks(DIAMOND).args(&["run", "top", "-j", "2"]);
    let ran = test.run();
    ran.assert_code(0);
    let log = ran.read("log");
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 4, "each task once: {lines:?}");
    for name in ["top", "left", "right", "base"] {
        assert_eq!(
            lines.iter().filter(|l| **l == name).count(),
            1,
            "{name} once in {lines:?}"
        );
    }
    assert_eq!(lines[0], "base");
    assert_eq!(lines[3], "top");
}

#[test]
fn a_task_named_twice_on_the_command_line_runs_once() {
    let test = Test::new()
        .tasks(DIAMOND)
        .args(&["run", "left", "right", "base", "left"]);
    let ran = test.run();
    ran.assert_code(0);
    assert_eq!(ran.read("log").lines().filter(|l| *l == "base").count(), 1);
    assert!(!ran.read("log").contains("top"));
}

#[test]
fn variables_expand_and_the_command_line_overrides_them() {
    let test = Test::new()
        .tasks(
            r#"
[vars]
version = "2026.2.0"

[tasks.announce]
cmd = ["sh", "-c", "echo built {{ version }} > out"]
"#,
        )
        .args(&["run", "announce", "--var", "version=2026.3.1"]);
    test.run().assert_code(0);
    assert_eq!(test.run().read("out"), "built 2026.3.1\n");
    assert_eq!(
        test.run_with(&["run", "announce"]).read("out"),
        "built 2026.2.0\n"
    );
}

#[test]
fn a_task_uses_the_output_of_its_dependency() {
    let test = Test::new()
        .tasks(
            r#"
[tasks.version]
shell = "echo 1.2.3"

[tasks.tag]
deps = ["version"]
cmd = ["sh", "-c", "echo v{{ tasks.version.stdout }} > tag"]
"#,
        )
        .args(&["run", "tag"]);
    let ran = test.run();
    ran.assert_code(0);
    assert_eq!(ran.read("tag"), "v1.2.3\n");
}

#[test]
fn tasks_run_in_their_dir_with_their_env() {
    let test = Test::new()
        .file("sub/keep", "")
        .tasks(
            r#"
[tasks.where]
dir = "sub"
env = { GREETING = "hello", PORT = 8080 }
shell = "echo $GREETING $PORT $OPS_TASK > here"
"#,
        )
        .args(&["run", "where"]);
    let ran = test.run();
    ran.assert_code(0);
    assert_eq!(ran.read("sub/here"), "hello 8080 where\n");
}
