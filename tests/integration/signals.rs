use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::common::{Test, alive, wait_for};

fn interrupt_leaves_nothing_behind(signal: Signal) {
    let test = Test::new().tasks(
        r#"
[tasks.spawner]
shell = "sleep 300 & echo $! > grandchild.pid; echo $$ > child.pid; wait"

[tasks.after]
deps = ["spawner"]
shell = "touch after"
"#,
    );
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
    interrupt_leaves_nothing_behind(Signal::SIGINT);
}

#[test]
fn sigterm_stops_the_task_and_its_grandchildren() {
    interrupt_leaves_nothing_behind(Signal::SIGTERM);
}
