//! The run journal, `--resume`, `ops runs` and the run lock.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::common::{Test, alive, wait_for};

const FLAKY: &str = r#"
[tasks.one]
shell = "echo one >> log; echo v1"

[tasks.two]
deps = ["one"]
shell = "echo two >> log; test -e fixed"

[tasks.three]
deps = ["two"]
shell = "echo three {{ tasks.one.stdout }} >> log"
"#;

#[test]
fn resume_after_a_failure_skips_what_finished_and_restores_its_values() {
    let test = Test::new().tasks(FLAKY);
    test.run_with(&["run", "three"]).assert_code(1);
    std::fs::write(test.root().join("fixed"), "").unwrap();
    let resumed = test.run_with(&["run", "three", "--resume", "--output", "json"]);
    resumed.assert_code(0);
    assert_eq!(
        resumed.read("log"),
        "one\ntwo\ntwo\nthree v1\n",
        "one ran once; its stdout was restored"
    );
    let statuses: Vec<(String, String)> = resumed
        .events()
        .iter()
        .filter(|e| e["event"] == "task_finished")
        .map(|e| {
            (
                e["task"].as_str().unwrap().into(),
                e["status"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("one".into(), "resumed".into()),
            ("two".into(), "ok".into()),
            ("three".into(), "ok".into())
        ]
    );
    let again = test.run_with(&["run", "three", "--resume"]);
    again.assert_code(2);
    assert!(
        again
            .stderr
            .contains("no failed or interrupted run of `three` to resume"),
        "{}",
        again.stderr
    );
}

#[test]
fn resume_reruns_tasks_whose_definition_changed() {
    let test = Test::new().tasks(FLAKY);
    test.run_with(&["run", "three"]).assert_code(1);
    std::fs::write(
        test.root().join("tasks/main.toml"),
        FLAKY.replace("echo v1", "echo v2"),
    )
    .unwrap();
    std::fs::write(test.root().join("fixed"), "").unwrap();
    let resumed = test.run_with(&["run", "three", "--resume"]);
    resumed.assert_code(0);
    assert!(
        resumed.stderr.contains("so they run again: one"),
        "{}",
        resumed.stderr
    );
    assert_eq!(resumed.read("log"), "one\ntwo\none\ntwo\nthree v2\n");
}

const SLOW: &str = r#"
[tasks.a]
shell = "echo a >> log"

[tasks.b]
deps = ["a"]
shell = "echo $$ > b.pid; if test -e slow; then echo > b-started; sleep 60; fi; echo b >> log"

[tasks.c]
deps = ["b"]
shell = "echo c >> log"
"#;

#[test]
fn kill_9_mid_run_then_resume() {
    let test = Test::new().tasks(SLOW).file("slow", "");
    let mut ops = test
        .command_with(&["run", "c"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for(&test.root().join("b-started"));
    // The task writes b-started on its own; ops records its process group as it
    // handles the start: wait for that record, which the kill must not outrun.
    let runs = test.root().join(".ops/runs");
    let start = Instant::now();
    while !std::fs::read_dir(&runs).into_iter().flatten().flatten().any(|e| {
        std::fs::read_to_string(e.path()).is_ok_and(|t| t.contains(r#""record":"process","task":"b""#))
    }) {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "b's process group is never recorded"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    kill(Pid::from_raw(i32::try_from(ops.id()).unwrap()), Signal::SIGKILL).unwrap();
    ops.wait().unwrap();
    // ops could not clean up after SIGKILL: its task b is still running.
    let b: i32 = std::fs::read_to_string(test.root().join("b.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(alive(b));
    std::fs::remove_file(test.root().join("slow")).unwrap();
    let refused = test.run_with(&["run", "c", "--resume"]);
    refused.assert_code(2);
    assert!(
        refused
            .stderr
            .contains("crashed and left tasks running: `b` (process group"),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("--kill-"), "{}", refused.stderr);
    assert!(alive(b), "a refused resume touches nothing");

    let runs = test.run_with(&["runs"]);
    runs.assert_code(0);
    assert!(runs.stdout.contains("crashed"), "{}", runs.stdout);
    assert!(
        runs.stdout.contains("1 ok"),
        "a is recorded as done: {}",
        runs.stdout
    );

    let resumed = test.run_with(&["run", "c", "--resume", "--kill-orphans"]);
    resumed.assert_code(0);
    let start = Instant::now();
    while alive(b) && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!alive(b), "the orphaned b was stopped, not run beside its copy");
    assert!(
        resumed.stderr.contains("took over the lock of pid"),
        "{}",
        resumed.stderr
    );
    assert_eq!(resumed.read("log"), "a\nb\nc\n", "a is not run again");
}

/// `ops run hold` holding the lock until the test creates `release` (no window to
/// race against), and a task `other` that records it ran.
fn holding_the_lock() -> (Test, std::process::Child) {
    let test = Test::new().tasks(
        "[tasks.hold]\nshell = \"echo > holding; while ! test -e release; do sleep 0.05; done\"\n\n[tasks.other]\nshell = \"echo other > other-ran\"\n",
    );
    let first = test
        .command_with(&["run", "hold"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for(&test.root().join("holding"));
    (test, first)
}

#[test]
fn a_second_run_fails_naming_the_holder_or_waits() {
    let (test, mut first) = holding_the_lock();
    let second = test.run_with(&["run", "other"]);
    second.assert_code(1);
    assert!(
        second
            .stderr
            .contains(&format!("pid {} running hold", first.id())),
        "{}",
        second.stderr
    );
    assert!(second.stderr.contains("--wait-lock"), "{}", second.stderr);
    // Diff and dry-run change nothing and do not take the lock.
    test.run_with(&["run", "other", "--diff"]).assert_code(0);
    let waiting = test
        .command_with(&["run", "other", "--wait-lock", "--output", "json"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::fs::write(test.root().join("release"), "").unwrap();
    let waited = waiting.wait_with_output().unwrap();
    assert!(waited.status.success(), "{waited:?}");
    assert!(String::from_utf8_lossy(&waited.stdout).contains("\"task\":\"other\""));
    assert!(first.wait().unwrap().success());
}

#[test]
fn a_torn_journal_line_is_ignored() {
    let test = Test::new().tasks(FLAKY);
    test.run_with(&["run", "one"]).assert_code(0);
    let dir = test.root().join(".ops/runs");
    let journal = std::fs::read_dir(&dir).unwrap().next().unwrap().unwrap().path();
    let mut contents = std::fs::read_to_string(&journal).unwrap();
    for line in contents.lines() {
        let record: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(record["record"].is_string());
    }
    contents.push_str("{\"record\":\"task\",\"task\":\"tw");
    std::fs::write(&journal, contents).unwrap();
    let runs = test.run_with(&["runs"]);
    runs.assert_code(0);
    assert!(runs.stdout.contains("1 ok"), "{}", runs.stdout);
}

/// A journal that cannot be written (a full disk) is reported once and the run starts
/// no more tasks: what it did could not be resumed. It exits non-zero.
#[test]
fn a_full_disk_for_the_journal_stops_the_run() {
    let mut tasks = String::new();
    for i in 1..=8 {
        let deps = if i == 1 {
            String::new()
        } else {
            format!("deps = [\"t{}\"]\n", i - 1)
        };
        let _ = writeln!(tasks, "[tasks.t{i}]\n{deps}shell = \"touch ran-{i}\"");
    }
    let test = Test::new().tasks(&tasks);
    std::fs::create_dir_all(test.root().join(".ops/runs")).unwrap();
    // A file-size limit of 512 bytes: the run record and a few task records fit.
    let out = std::process::Command::new("sh")
        .args(["-c", "ulimit -f 1 && exec \"$OPS_BIN\" run t8"])
        .env("OPS_BIN", crate::common::ops_bin())
        .env("NO_COLOR", "1")
        .current_dir(test.root())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr.matches("cannot write the run journal").count(),
        1,
        "reported once: {stderr}"
    );
    assert!(
        stderr.contains("the journal is incomplete, so no more tasks start"),
        "{stderr}"
    );
    let dir = test.root().join(".ops/runs");
    let journal = std::fs::read_dir(&dir).unwrap().next().unwrap().unwrap().path();
    let text = std::fs::read_to_string(journal).unwrap();
    let recorded = text
        .lines()
        .filter(|l| serde_json::from_str::<serde_json::Value>(l).is_ok_and(|v| v["record"] == "task"))
        .count();
    let ran = (1..=8)
        .filter(|i| test.root().join(format!("ran-{i}")).exists())
        .count();
    assert!(recorded < 7, "the limit cut the journal: {recorded} records");
    assert_eq!(
        ran,
        recorded + 1,
        "only the task whose record failed ran past the journal"
    );
    let runs = test.run_with(&["runs"]);
    runs.assert_code(0);
    assert!(
        runs.stdout.contains(" t8 "),
        "the journal is still readable: {}",
        runs.stdout
    );
}

#[test]
fn removing_the_lock_file_does_not_let_a_second_run_in() {
    let (test, mut first) = holding_the_lock();
    std::fs::remove_file(test.root().join(".ops/lock")).unwrap();
    let second = test.run_with(&["run", "other"]);
    second.assert_code(1);
    assert!(
        second.stderr.contains("another `ops run` holds"),
        "{}",
        second.stderr
    );
    assert!(
        !test.root().join("other-ran").exists(),
        "nothing ran beside the holder"
    );
    std::fs::write(test.root().join("release"), "").unwrap();
    assert!(first.wait().unwrap().success());
    test.run_with(&["run", "other"]).assert_code(0);
}
