//! The bad-input corpus (`tests/bad-input/`) and the cases built at test time: each
//! gives a diagnostic and exit 2, never a panic, a hang or a task run.

use std::io::Read as _;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::{Test, repo_root};

const MARKER: &str = "[tasks.marker]\ncmd = [\"touch\", \"ran\"]\n";

/// Run `ops run marker` in `test` with a time limit; the result must be a clean exit 2.
fn expect_diagnostic(test: &Test, case: &str) {
    let mut child = test
        .command_with(&["run", "marker"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read stderr while waiting, so a long diagnostic cannot fill the pipe.
    let mut pipe = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("{case}: ops hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stderr = reader.join().unwrap();
    assert!(
        stderr.len() < 64 * 1024,
        "{case}: a diagnostic, not a dump ({} bytes)",
        stderr.len()
    );
    assert_eq!(status.code(), Some(2), "{case}: exit code\n{stderr}");
    assert!(!stderr.contains("panicked"), "{case}: {stderr}");
    assert!(stderr.contains('×'), "{case}: a diagnostic is printed: {stderr}");
    assert!(!test.root().join("ran").exists(), "{case}: no task may run");
}

#[test]
fn every_file_of_the_corpus() {
    let dir = repo_root().join("tests/bad-input");
    let mut cases = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let test = Test::new().file("tasks/marker.toml", MARKER);
        std::fs::copy(&path, test.root().join("tasks/bad.toml")).unwrap();
        expect_diagnostic(&test, &path.display().to_string());
        cases += 1;
    }
    assert!(cases >= 10, "the corpus has {cases} files");
}

#[test]
fn a_huge_file() {
    let mut text = String::with_capacity(21 << 20);
    while text.len() < 20 << 20 {
        text.push_str("# a long comment line to make the file big, then an error at its end\n");
    }
    text.push_str("[tasks.x]\ncmd = [\"true\"\nunterminated");
    let test = Test::new()
        .file("tasks/marker.toml", MARKER)
        .file("tasks/huge.toml", &text);
    expect_diagnostic(&test, "huge file");
}

#[test]
fn deep_nesting() {
    let depth = 10_000;
    let text = format!("[tasks.x]\ncmd = {}{}\n", "[".repeat(depth), "]".repeat(depth));
    let test = Test::new()
        .file("tasks/marker.toml", MARKER)
        .file("tasks/deep.toml", &text);
    expect_diagnostic(&test, "deep nesting");
    let tables = format!(
        "[tasks.x]\nenv = {}{}\n",
        "{ a = ".repeat(depth),
        "}".repeat(depth)
    );
    let test = Test::new()
        .file("tasks/marker.toml", MARKER)
        .file("tasks/deep.toml", &tables);
    expect_diagnostic(&test, "deep inline tables");
}

#[test]
fn a_symlink_loop_in_tasks() {
    let test = Test::new().file("tasks/marker.toml", MARKER);
    std::os::unix::fs::symlink("loop.toml", test.root().join("tasks/loop.toml")).unwrap();
    expect_diagnostic(&test, "symlink loop");
}

#[test]
fn a_task_file_that_is_a_directory() {
    let test = Test::new().file("tasks/marker.toml", MARKER);
    std::fs::create_dir(test.root().join("tasks/dir.toml")).unwrap();
    expect_diagnostic(&test, "directory");
}
