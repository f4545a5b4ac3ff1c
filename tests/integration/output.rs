use crate::common::{Test, snapshot_settings};

const TASKS: &str = r#"
[tasks.first]
shell = "echo one; echo two"

[tasks.second]
deps = ["first"]
shell = "echo three"
"#;

#[test]
fn forgejo_actions_get_one_group_per_task() {
    let ran = Test::new()
        .tasks(TASKS)
        .env("CI", "true")
        .env("FORGEJO_ACTIONS", "true")
        .args(&["run", "second"])
        .run();
    ran.assert_code(0);
    assert!(!ran.stdout.contains('\u{1b}'), "no escape codes in CI logs");
    snapshot_settings().bind(|| insta::assert_snapshot!("actions_groups", ran.stdout));
}

#[test]
fn grouped_mode_prints_each_task_in_one_block() {
    let ran = Test::new()
        .tasks(TASKS)
        .args(&["run", "second", "--output-mode", "grouped"])
        .run();
    ran.assert_code(0);
    let first = ran.stdout.find("── first").unwrap();
    let two = ran.stdout.find("two").unwrap();
    let second = ran.stdout.find("── second").unwrap();
    assert!(first < two && two < second, "{}", ran.stdout);
}

/// Run `ops` inside a pseudo-terminal (util-linux `script`), as a person would.
fn in_terminal(test: &Test, no_color: bool) -> String {
    let ops = crate::common::ops_bin();
    let mut cmd = std::process::Command::new("script");
    cmd.args(["-qec", &format!("{ops} run second"), "/dev/null"])
        .current_dir(test.root())
        .env_remove("CI")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("FORGEJO_ACTIONS");
    if no_color {
        cmd.env("NO_COLOR", "1");
    } else {
        cmd.env_remove("NO_COLOR");
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_terminal_gets_progress_and_color_unless_no_color() {
    if !crate::common::require_tool("script") {
        return;
    }
    let test = Test::new().tasks(TASKS);
    let colored = in_terminal(&test, false);
    assert!(
        colored.contains("\u{1b}[32m"),
        "green status on a terminal: {colored:?}"
    );
    assert!(
        colored.contains("\u{1b}[2K"),
        "progress lines are redrawn: {colored:?}"
    );
    assert!(colored.contains("three"));
    let plain = in_terminal(&test, true);
    assert!(!plain.contains("\u{1b}[3"), "NO_COLOR: no colors: {plain:?}");
    assert!(plain.contains("three"));
}

/// A task's start line is not held back while the task runs: it goes out with the
/// next line, or on its own shortly after (here with no journal, whose own timer
/// would write it too).
#[test]
fn a_running_tasks_start_line_is_shown_while_it_runs() {
    use std::io::BufRead as _;
    let test = Test::new().tasks(
        r#"
[tasks.slow]
shell = "sleep 30"
"#,
    );
    std::fs::create_dir_all(test.root().join(".ops")).unwrap();
    std::fs::write(test.root().join(".ops/runs"), "not a directory").unwrap();
    let mut ops = test
        .command_with(&["run", "slow"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = ops.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let line = rx.recv_timeout(std::time::Duration::from_secs(10));
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(ops.id()).unwrap()),
        nix::sys::signal::Signal::SIGINT,
    );
    let _ = ops.wait();
    let line = line.expect("no line while the task ran");
    assert!(line.contains("slow") && line.contains('▶'), "{line}");
}
