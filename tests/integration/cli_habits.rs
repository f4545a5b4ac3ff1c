//! The command-line habits people type: `--color` and the colour variables, `-C DIR`,
//! one `--format` flag everywhere (`--output` kept as an alias), `--version` naming
//! the commit, and no spinners in CI even on a terminal.

use crate::common::{Pty, Test, repo_root, require_tool};

const TASKS: &str = "[tasks.t]\ndescription = \"a task\"\ncmd = [\"true\"]\n";

/// `ops ARGS` with the colour variables `env` and no others; whether stdout and
/// stderr hold an escape sequence.
fn colored(test: &Test, args: &[&str], env: &[(&str, &str)]) -> (bool, bool) {
    let mut command = test.command_with(args);
    for name in ["NO_COLOR", "CLICOLOR", "CLICOLOR_FORCE", "FORCE_COLOR"] {
        command.env_remove(name);
    }
    command.envs(env.iter().copied());
    let out = command.output().unwrap();
    let escape = |bytes: &[u8]| bytes.windows(2).any(|w| w == b"\x1b[");
    (escape(&out.stdout), escape(&out.stderr))
}

#[test]
fn color_follows_the_flag_then_the_environment() {
    let test = Test::new().tasks(TASKS);
    let plan = ["run", "t", "--dry-run"];
    // Not a terminal: no colour unless asked for.
    assert!(!colored(&test, &plan, &[]).0);
    for (flag, env, wanted) in [
        (Some("always"), &[][..], true),
        (Some("never"), &[("FORCE_COLOR", "1")][..], false),
        (Some("always"), &[("NO_COLOR", "1")][..], true),
        (Some("auto"), &[("FORCE_COLOR", "1")][..], false),
        (None, &[("FORCE_COLOR", "1")][..], true),
        (None, &[("FORCE_COLOR", "0")][..], false),
        (None, &[("CLICOLOR_FORCE", "1")][..], true),
        (None, &[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")][..], false),
        (None, &[("NO_COLOR", ""), ("FORCE_COLOR", "1")][..], true),
    ] {
        let mut args = plan.to_vec();
        if let Some(flag) = flag {
            args.extend(["--color", flag]);
        }
        assert_eq!(colored(&test, &args, env).0, wanted, "{flag:?} {env:?}");
    }
    // Diagnostics too.
    let bad = Test::new().tasks("[tasks.t]\ncmd = [\"true\"]\ndeps = [\"nope\"]\n");
    assert!(colored(&bad, &["validate", "--color", "always"], &[]).1);
    assert!(!colored(&bad, &["validate"], &[("CLICOLOR", "0")]).1);
}

#[test]
fn dash_c_changes_directory_first() {
    let test = Test::new().file("sub/tasks/main.toml", TASKS);
    let ran = test.run_with(&["-C", "sub", "list"]);
    ran.assert_code(0).assert_stdout("t  a task");
    // After `run`, too, and with `--root` relative to it.
    let ran = test.run_with(&["run", "-C", "sub", "t"]);
    ran.assert_code(0);
    // After the task names, where the rest of `ops run`'s flags may go.
    for args in [
        &["run", "t", "--dry-run", "-C", "sub"][..],
        &["run", "t", "-Csub"],
        &["run", "t", "--root", "sub"],
        &["run", "t", "--root=sub", "--dry-run"],
    ] {
        let ran = test.run_with(args);
        assert_eq!(ran.code, 0, "{args:?}: {}", ran.stderr);
    }
    let elsewhere = test.run_with(&["run", "t", "-C", "nowhere"]);
    elsewhere.assert_code(2);
    let missing = test.run_with(&["-C", "nowhere", "list"]);
    missing.assert_code(2);
    assert!(
        missing.stderr.contains("cannot change to directory nowhere (-C)"),
        "{}",
        missing.stderr
    );
}

#[test]
fn one_format_flag_everywhere() {
    let test = Test::new().tasks(TASKS);
    for args in [
        &["list", "--format", "json"][..],
        &["list", "--output", "json"][..],
        &["doctor", "--format", "json"][..],
        &["run", "t", "--format", "json"][..],
        &["run", "t", "--output", "json", "--force"][..],
    ] {
        let ran = test.run_with(args);
        ran.assert_code(0);
        let first = ran.stdout.lines().next().unwrap_or_default();
        assert!(
            serde_json::from_str::<serde_json::Value>(first).is_ok(),
            "{args:?}: {}",
            ran.stdout
        );
    }
    // The older name works but is not shown.
    for command in ["run", "list", "doctor"] {
        let help = test.run_with(&[command, "--help"]);
        help.assert_stdout("--format");
        assert!(!help.stdout.contains("--output <"), "{command}: {}", help.stdout);
    }
}

#[test]
fn version_names_the_commit() {
    let ran = Test::new().run_with(&["--version"]);
    ran.assert_code(0);
    let line = ran.stdout.trim_end();
    let pattern = regex::Regex::new(r"^ops \d+\.\d+\.\d+( \([0-9a-f]{12} \d{4}-\d\d-\d\d\))?$").unwrap();
    assert!(pattern.is_match(line), "{line}");
    if repo_root().join(".git").exists() && require_tool("git") {
        assert!(
            line.contains('('),
            "built in a git checkout, so the commit is known: {line}"
        );
    }
}

#[test]
fn no_spinners_in_ci_even_on_a_terminal() {
    if !require_tool("script") {
        return;
    }
    let spinning = |ci: bool| {
        let mut test = Test::new().tasks("[tasks.slow]\ncmd = [\"sleep\", \"1\"]\n");
        if ci {
            test = test.env("CI", "true");
        }
        let (code, screen) = Pty::spawn(&test, &["run", "slow"]).finish();
        assert_eq!(code, Some(0), "{screen}");
        // indicatif's spinner frames.
        screen.contains(['⠁', '⠂', '⠄', '⡀', '⢀', '⠠', '⠐', '⠈'])
    };
    assert!(spinning(false), "a terminal outside CI shows progress");
    assert!(!spinning(true), "CI=true: no spinner");
}

#[test]
fn every_json_output_says_its_version() {
    let test = Test::new().tasks(TASKS).file(
        "deploy/app.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
    );
    for args in [
        &["list", "--format", "json"][..],
        &["doctor", "--format", "json"][..],
        &["run", "t", "--format", "json"][..],
        &["run", "t", "--format", "json", "--dry-run"][..],
        &["lint", "--format", "json"][..],
    ] {
        let ran = test.run_with(args);
        for line in ran.stdout.lines() {
            let value: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{args:?}: {e}: {line}"));
            assert_eq!(value["version"], 1, "{args:?}: {line}");
        }
        assert!(!ran.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn runs_as_json() {
    let test = Test::new().tasks(TASKS);
    test.run_with(&["run", "t"]).assert_code(0);
    let list = test.run_with(&["runs", "--format", "json"]);
    list.assert_code(0);
    let value: serde_json::Value = serde_json::from_str(&list.stdout).unwrap();
    assert_eq!(value["version"], 1);
    let run = &value["runs"][0];
    assert_eq!(run["targets"], serde_json::json!(["t"]), "{value}");
    assert_eq!(run["tasks"]["ok"], 1, "{value}");
    let id = run["id"].as_str().unwrap();
    // Ids look as the help says: a timestamp with milliseconds, then four hex digits.
    assert!(
        regex::Regex::new(r"^\d{8}T\d{6}\.\d{3}-[0-9a-f]{4}$")
            .unwrap()
            .is_match(id),
        "{id}"
    );
    let help = test.run_with(&["runs", "--help"]);
    help.assert_stdout("ops runs show 20261122T183012.530-4f2a");
    let show = test.run_with(&["runs", "show", &id[..12], "--format", "json"]);
    show.assert_code(0);
    let value: serde_json::Value = serde_json::from_str(&show.stdout).unwrap();
    assert_eq!(value["id"], id);
    let records = value["records"].as_array().unwrap();
    assert!(
        records.iter().any(|r| r["record"] == "task" && r["task"] == "t"),
        "{value}"
    );
}

#[test]
fn the_manual_page_renders() {
    if !require_tool("groff") {
        return;
    }
    let test = Test::new();
    let roff = test.command_with(&["man"]).output().unwrap();
    assert!(roff.status.success());
    let mut groff = std::process::Command::new("groff")
        // -k: the page is UTF-8 (dashes, ✗), read through preconv as man does.
        .args(["-k", "-man", "-Tutf8", "-ww"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut groff.stdin.take().unwrap(), &roff.stdout).unwrap();
    let out = groff.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stderr.is_empty(), "groff: {stderr}");
    // grotty draws bold as `X\bX`: keep the letters.
    let page = regex::Regex::new(".\x08")
        .unwrap()
        .replace_all(&String::from_utf8_lossy(&out.stdout), "")
        .into_owned();
    for section in ["OPS RUN", "OPS LINT", "OPS DOCTOR", "--dry-run", "--format"] {
        assert!(page.contains(section), "the page has {section}");
    }
}

/// `source <(COMPLETE=bash ops)` in a real bash, then the completion function called
/// as bash calls it on <TAB>.
#[test]
fn bash_completes_task_names_namespaces_and_flags() {
    let test = Test::new()
        .tasks("[tasks.deploy-authentik]\ndescription = \"d\"\ncmd = [\"true\"]\naliases = [\"da\"]\n\n[tasks.dex-deploy]\ncmd = [\"true\"]\n\n[tasks.secret]\nhidden = true\ncmd = [\"true\"]\n\n[tasks.build-image]\nargs = [{ name = \"container\" }]\ncmd = [\"true\"]\n")
        .file("tasks/zitadel/day2.toml", "[tasks.backup]\ncmd = [\"true\"]\n");
    let script = r#"
source <(COMPLETE=bash "$OPS")
complete_words() {
  COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; COMP_TYPE=9
  _clap_complete_ops ops "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
  echo "$*: ${COMPREPLY[*]}"
}
complete_words ops run de
complete_words ops run d
complete_words ops run zit
complete_words ops graph bu
complete_words ops --col
"#;
    let out = std::process::Command::new("bash")
        .args(["-c", script])
        .current_dir(test.root())
        .env("OPS", crate::common::ops_bin())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "ops run de: deploy-authentik dex-deploy",
            "ops run d: deploy-authentik da dex-deploy",
            "ops run zit: zitadel:backup zitadel:",
            "ops graph bu: build-image",
            "ops --col: --color",
        ]
    );
}

#[test]
fn loading_options_only_where_tasks_load() {
    let test = Test::new().tasks("[vars]\nv = \"a\"\n\n[tasks.t]\ncmd = [\"echo\", \"{{ v }}\"]\n");
    for command in ["run", "doctor", "list", "graph", "validate"] {
        let help = test.run_with(&[command, "--help"]);
        help.assert_stdout("--var <NAME=VALUE>")
            .assert_stdout("--context-map");
    }
    for command in ["lint", "rules", "runs"] {
        let help = test.run_with(&[command, "--help"]);
        assert!(!help.stdout.contains("--var"), "{command}: {}", help.stdout);
    }
    test.run_with(&["run", "t", "--var", "v=b"])
        .assert_code(0)
        .assert_stdout("t │ b");
    test.run_with(&["validate", "--var", "v=b"]).assert_code(0);
    // `ops run --help` needs no repository.
    let elsewhere = Test::new();
    std::fs::remove_dir(elsewhere.root().join("tasks")).ok();
    elsewhere
        .run_with(&["run", "--help"])
        .assert_code(0)
        .assert_stdout("Usage: ops run");
}

#[test]
fn quiet_shows_only_failures_and_verbose_whole_commands() {
    let test = Test::new().tasks(
        "[tasks.ok]\nshell = \"echo fine\\necho second\"\n\n[tasks.bad]\nshell = \"echo broken; exit 3\"\n\n[tasks.all]\ndeps = [\"ok\", \"bad\"]\n",
    );
    let quiet = test.run_with(&["run", "all", "-q", "-k"]);
    quiet.assert_code(1);
    // Nothing of the task that passed; the failure with its output; the count line.
    let lines: Vec<&str> = quiet.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", quiet.stdout);
    assert_eq!(lines[0], "bad │ broken");
    assert!(
        lines[1].starts_with("bad │ ✗ failed: `sh` exited with code 3"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with("3 tasks: 1 ok, 1 failed, 1 skipped in "),
        "{}",
        lines[2]
    );
    let verbose = test.run_with(&["run", "ok", "-v"]);
    verbose.assert_code(0);
    verbose.assert_stdout("ok │ ▶ $ echo fine\nok │     echo second\n");
    let plain = test.run_with(&["run", "ok", "--force"]);
    assert!(!plain.stdout.contains("│     echo second"), "{}", plain.stdout);
    let both = test.run_with(&["run", "ok", "-q", "-v"]);
    both.assert_code(2);
}

#[test]
fn quiet_lint_and_doctor_print_only_what_matters() {
    let clean = Test::new().file(
        "k8s/a.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
    );
    let loud = clean.run_with(&["lint"]);
    loud.assert_code(0).assert_stdout("1 file scanned");
    let quiet = clean.run_with(&["lint", "-q"]);
    quiet.assert_code(0);
    assert_eq!(quiet.stdout, "", "nothing to say");

    let bad = Test::new().file(
        "k8s/a.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers: [{name: a, image: nginx}]\n",
    );
    let quiet = bad.run_with(&["lint", "--quiet"]);
    quiet.assert_code(1).assert_stdout("pinned-image");
    assert!(!quiet.stdout.contains("scanned"), "{}", quiet.stdout);

    let doctor = Test::new().tasks(
        "[tasks.gone]\ncmd = [\"no-such-program-ops-quiet\"]\n\n[tasks.fine]\ncmd = [\"true\"]\n\n[tasks.later]\ndeps = [\"make\"]\nscript = \"made.sh\"\n\n[tasks.make]\nshell = \"touch made.sh\"\n",
    );
    let loud = doctor.run_with(&["doctor"]);
    loud.assert_code(1)
        .assert_stdout("! later:")
        .assert_stdout("tasks checked");
    let quiet = doctor.run_with(&["doctor", "-q"]);
    quiet.assert_code(1);
    assert_eq!(
        quiet.stdout,
        "✗ gone: `no-such-program-ops-quiet` (cmd) is not on PATH — install it, or add its directory to PATH\n"
    );
}
