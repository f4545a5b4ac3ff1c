//! Task arguments: `args = [{ name, help, choices, flag, default, variadic }]`, given
//! after the task on the command line; each invocation is a task of its own.

use crate::common::{Test, snapshot_settings};

const TASKS: &str = r#"
[tasks.build-image]
description = "Build one container image with Nix"
args = [
  { name = "container", help = "the image to build", choices = ["authentik", "redis"] },
  { name = "push", flag = true, help = "push the release tag" },
  { name = "tag", default = "dev", help = "extra tag" },
  { name = "hosts", variadic = true, required = false },
]
cmd = ["sh", "-c", "printf '%s|' \"$@\" > \"$OPS_ROOT/argv\"", "sh", "{{ args.container }}", "push={{ args.push }}", "tag={{ args.tag }}", "{{ args.hosts }}", "{{ args.rest }}"]

[tasks.provision]
args = [{ name = "limit", required = false }]
shell = "printf '%s\n' {{ args.limit }} {{ args.rest }} > \"$OPS_ROOT/shell\""

[tasks.other]
shell = "echo other > other"
"#;

#[test]
fn arguments_flags_options_and_the_rest_reach_the_command() {
    let test = Test::new().tasks(TASKS);
    let ran = test.run_with(&[
        "run",
        "build-image",
        "authentik",
        "--push",
        "--tag",
        "v1",
        "h1",
        "h2",
        "--",
        "--x",
        "y z",
    ]);
    ran.assert_code(0);
    assert_eq!(ran.read("argv"), "authentik|push=true|tag=v1|h1|h2|--x|y z|");
    ran.assert_stdout("build-image[authentik,push,tag=v1,h1,h2,-- --x y z]");
    // An optional argument not given is no word at all, never an empty one.
    let plain = test.run_with(&["run", "build-image", "redis"]);
    plain.assert_code(0);
    assert_eq!(plain.read("argv"), "redis|push=false|tag=dev|");
}

#[test]
fn in_a_shell_script_values_are_quoted() {
    let test = Test::new().tasks(TASKS);
    let ran = test.run_with(&["run", "provision", "--", "--tags", "caddy web"]);
    ran.assert_code(0);
    assert_eq!(ran.read("shell"), "--tags\ncaddy web\n");
}

#[test]
fn ops_flags_may_follow_the_arguments() {
    let test = Test::new().tasks(TASKS);
    let plan = test.run_with(&["run", "build-image", "redis", "--dry-run", "-j", "2"]);
    plan.assert_code(0);
    plan.assert_stdout("Plan for build-image[redis]");
    assert!(!plan.exists("argv"), "a dry run runs nothing");
    // Tasks without arguments keep taking several targets and flags anywhere.
    test.run_with(&["run", "other", "--dry-run"]).assert_code(0);
}

#[test]
fn wrong_arguments_print_the_usage_and_run_nothing() {
    let test = Test::new().tasks(TASKS);
    for (args, says) in [
        (&["run", "build-image"][..], "missing argument `CONTAINER`"),
        (
            &["run", "build-image", "nginx"][..],
            "`nginx` is not a choice of `container`",
        ),
        (
            &["run", "build-image", "redis", "--pussh"][..],
            "did you mean `--push`?",
        ),
    ] {
        let ran = test.run_with(args);
        ran.assert_code(2);
        assert!(ran.stderr.contains(says), "{args:?}: {}", ran.stderr);
        assert!(
            ran.stderr
                .contains("usage: ops run build-image CONTAINER [--push] [--tag TAG] [HOSTS...]"),
            "{}",
            ran.stderr
        );
        assert!(!ran.exists("argv"));
    }
}

#[test]
fn help_and_list_show_the_usage() {
    let test = Test::new().tasks(TASKS);
    let help = test.run_with(&["run", "build-image", "--help"]);
    help.assert_code(0);
    let list = test.run_with(&["list"]);
    snapshot_settings().bind(|| {
        insta::assert_snapshot!("arguments_help", help.stdout);
        insta::assert_snapshot!("arguments_list", list.stdout);
    });
}

#[test]
fn a_flag_of_ops_run_cannot_be_an_argument() {
    let ran = Test::new()
        .tasks("[tasks.t]\nargs = [{ name = \"force\", flag = true }]\nshell = \"true\"\n")
        .args(&["validate"])
        .run();
    ran.assert_code(2);
    assert!(
        ran.stderr.contains("`--force` is a flag of `ops run` itself"),
        "{}",
        ran.stderr
    );
}

/// `deps = [{ task, args }]`: each distinct (task, arguments) is an instance of its
/// own, run once however many tasks depend on it.
#[test]
fn dependencies_pass_arguments() {
    let test = Test::new().tasks(
        r#"
[tasks.image]
args = [{ name = "container", choices = ["authentik", "redis"] }, { name = "push", flag = true }]
shell = "echo {{ args.container }}-{{ args.push }} >> built"

[tasks.release]
deps = [{ task = "image", args = { container = "redis" } }, { task = "image", args = { container = "authentik", push = true } }]
shell = "echo release >> built"

[tasks.again]
deps = ["release", { task = "image", args = { container = "redis" } }]
shell = "true"
"#,
    );
    let ran = test.run_with(&["run", "again", "-j", "1"]);
    ran.assert_code(0);
    let mut lines: Vec<String> = ran.read("built").lines().map(str::to_owned).collect();
    assert_eq!(lines.pop().as_deref(), Some("release"));
    lines.sort();
    assert_eq!(lines, ["authentik-true", "redis-false"], "each instance once");
    ran.assert_stdout("image[redis]")
        .assert_stdout("image[authentik,push]");

    let bad = Test::new()
        .tasks("[tasks.image]\nargs = [{ name = \"container\" }]\nshell = \"true\"\n\n[tasks.r]\ndeps = [{ task = \"image\", args = { contianer = \"x\" } }]\nshell = \"true\"\n")
        .args(&["validate"])
        .run();
    bad.assert_code(2);
    assert!(
        bad.stderr.contains("no argument `contianer`") && bad.stderr.contains("container"),
        "{}",
        bad.stderr
    );
    assert!(bad.stderr.contains("main.toml:6:9"), "{}", bad.stderr);
}

#[test]
fn an_alias_takes_the_arguments_too() {
    let test =
        Test::new().tasks(&TASKS.replace("[tasks.provision]\n", "[tasks.provision]\naliases = [\"prov\"]\n"));
    let ran = test.run_with(&["run", "prov", "indri", "--", "--tags", "caddy"]);
    ran.assert_code(0);
    assert_eq!(ran.read("shell"), "indri\n--tags\ncaddy\n");
    let help = test.run_with(&["run", "prov", "--help"]);
    help.assert_code(0)
        .assert_stdout("Usage: ops run provision [LIMIT]");
    test.run_with(&["list"]).assert_stdout("provision (prov) [LIMIT]");
    // An alias that is a task's name is refused like any other.
    let taken = Test::new().tasks(&TASKS.replace(
        "[tasks.provision]\n",
        "[tasks.provision]\naliases = [\"other\"]\n",
    ));
    let ran = taken.run_with(&["validate"]);
    ran.assert_code(2);
    assert!(ran.stderr.contains("the name of task `other`"), "{}", ran.stderr);
}
