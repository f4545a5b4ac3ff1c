//! Children that misbehave: killed by a signal, closing stdout and carrying on,
//! leaving a background process holding the output pipe.

use crate::common::Test;

#[test]
fn a_child_killed_by_a_signal_is_named() {
    let ran = Test::new()
        .tasks("[tasks.x]\nshell = \"kill -9 $$\"\n")
        .args(&["run", "x"])
        .run();
    ran.assert_code(1);
    assert!(
        ran.stdout.contains("`sh` was killed by SIGKILL"),
        "{}",
        ran.stdout
    );
}

#[test]
fn a_child_that_closes_stdout_is_waited_for() {
    let ran = Test::new()
        .tasks("[tasks.x]\nshell = \"exec >&- 2>&-; sleep 0.5; touch finished\"\n\n[tasks.y]\ndeps = [\"x\"]\nshell = \"test -e finished\"\n")
        .args(&["run", "y"])
        .run();
    ran.assert_code(0);
    assert!(ran.exists("finished"));
}

#[test]
fn a_background_process_holding_the_pipe_does_not_hang_the_run() {
    let ran = Test::new()
        .tasks("[tasks.x]\nshell = \"sleep 30 & echo $! > bg.pid; echo started\"\n")
        .args(&["run", "x"])
        .run();
    ran.assert_code(0);
    assert!(ran.stdout.contains("started"));
    // ops finished while the background process still runs (then we stop it).
    let pid: i32 = ran.read("bg.pid").trim().parse().unwrap();
    let alive = std::path::Path::new(&format!("/proc/{pid}")).exists();
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
    assert!(alive, "the run ended before the background process");
}
