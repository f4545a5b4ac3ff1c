use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::common::{Test, alive, ops_bin, wait_for};

/// `ignoring`: the task's shell and its children ignore SIGTERM (`trap "" TERM`, which
/// they inherit), so only the escalation to SIGKILL stops them.
fn interrupt_leaves_nothing_behind(signal: Signal, ignoring: bool) {
    let trap = if ignoring { "trap '' TERM; " } else { "" };
    let test = Test::new().tasks(&format!(
        r#"
[tasks.spawner]
shell = "{trap}sleep 300 & echo $! > grandchild.pid; echo $$ > child.pid; wait"

[tasks.after]
deps = ["spawner"]
shell = "touch after"
"#
    ));
    let mut child = test
        .command_with(&["run", "after"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let grandchild: i32 = wait_for(&test.root().join("grandchild.pid"))
        .trim()
        .parse()
        .unwrap();
    let shell: i32 = wait_for(&test.root().join("child.pid")).trim().parse().unwrap();
    assert!(alive(grandchild));
    kill(Pid::from_raw(i32::try_from(child.id()).unwrap()), signal).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    // The group was killed before ops exited; allow the kernel a moment to reap.
    let start = Instant::now();
    while (alive(grandchild) || alive(shell)) && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!alive(grandchild), "the grandchild must not outlive ops");
    assert!(!alive(shell), "the task's shell must not outlive ops");
    assert!(!test.root().join("after").exists());
}

#[test]
fn sigint_stops_the_task_and_its_grandchildren() {
    interrupt_leaves_nothing_behind(Signal::SIGINT, false);
}

#[test]
fn sigterm_stops_the_task_and_its_grandchildren() {
    interrupt_leaves_nothing_behind(Signal::SIGTERM, false);
}

#[test]
fn sighup_stops_the_task_and_its_grandchildren() {
    interrupt_leaves_nothing_behind(Signal::SIGHUP, false);
}

#[test]
fn a_task_that_ignores_sigterm_is_killed_with_its_group() {
    interrupt_leaves_nothing_behind(Signal::SIGINT, true);
}

/// A signal ignored by whoever started `ops` (`nohup`, `trap ''`) stays ignored in its
/// tasks; SIGPIPE (which Rust ignores in `ops`) and the signals `ops` handles are at
/// their default there.
#[test]
fn a_signal_ignored_by_the_caller_stays_ignored_in_the_task() {
    let test = Test::new().tasks(
        r#"
[tasks.show]
shell = "grep '^SigIgn:' /proc/self/status > ignored"
"#,
    );
    let status = std::process::Command::new("sh")
        .args(["-c", "trap '' USR1; exec \"$@\"", "sh", ops_bin()])
        .args(["run", "show"])
        .current_dir(test.root())
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let line = std::fs::read_to_string(test.root().join("ignored")).unwrap();
    let mask = u64::from_str_radix(line.trim().trim_start_matches("SigIgn:").trim(), 16).unwrap();
    // Bit n - 1 is signal n.
    let ignored = |signal: Signal| mask & (1 << (signal as i32 - 1)) != 0;
    assert!(ignored(Signal::SIGUSR1), "{line}");
    assert!(!ignored(Signal::SIGPIPE), "{line}");
    assert!(!ignored(Signal::SIGINT), "{line}");
    assert!(!ignored(Signal::SIGTERM), "{line}");
}
