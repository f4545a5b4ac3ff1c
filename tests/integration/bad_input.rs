//! The bad-input corpus (`tests/bad-input/`) and the cases built at test time: each
//! gives a diagnostic and exit 2, never a panic, a hang or a task run.

use crate::common::{Limited, Test, repo_root, run_limited};

const MARKER: &str = "[tasks.marker]\ncmd = [\"touch\", \"ran\"]\n";

/// What a corpus file says it must produce, in its first comment lines:
/// `# at: LINE:COL` (where the diagnostic points, or `none`), `# says: TEXT`,
/// `# not: TEXT`, and `# stops: TASK` when the problem stops only that task (a
/// placeholder that nothing defines): the other tasks still run.
#[derive(Default)]
struct Expected {
    at: Vec<String>,
    says: Vec<String>,
    not: Vec<String>,
    stops: Option<String>,
}

impl Expected {
    fn read(bytes: &[u8]) -> Self {
        let mut expected = Self::default();
        let text = String::from_utf8_lossy(bytes);
        for line in text.lines().take_while(|l| l.starts_with('#')) {
            let line = line.trim_end_matches('\r');
            if let Some(at) = line.strip_prefix("# at: ") {
                expected.at.push(at.to_owned());
            } else if let Some(says) = line.strip_prefix("# says: ") {
                expected.says.push(says.to_owned());
            } else if let Some(not) = line.strip_prefix("# not: ") {
                expected.not.push(not.to_owned());
            } else if let Some(task) = line.strip_prefix("# stops: ") {
                expected.stops = Some(task.to_owned());
            }
        }
        expected
    }

    fn check(&self, case: &str, stderr: &str) {
        for at in self.at.iter().filter(|at| *at != "none") {
            assert!(
                stderr.contains(&format!("tasks/bad.toml:{at}]")),
                "{case}: points at {at}\n{stderr}"
            );
        }
        for says in &self.says {
            assert!(stderr.contains(says.as_str()), "{case}: says `{says}`\n{stderr}");
        }
        for not in &self.not {
            assert!(
                !stderr.contains(not.as_str()),
                "{case}: does not say `{not}`\n{stderr}"
            );
        }
    }
}

/// Run `ops run marker` in `test` with a time limit; the result must be a clean exit 2.
/// Returns what it printed on stderr.
fn expect_diagnostic(test: &Test, case: &str) -> String {
    expect_diagnostic_of(test, "marker", case)
}

/// [`expect_diagnostic`] of `ops run TASK`.
fn expect_diagnostic_of(test: &Test, task: &str, case: &str) -> String {
    let Limited { status, stderr, .. } = run_limited(test.command_with(&["run", task]), case);
    assert!(
        stderr.len() < 64 * 1024,
        "{case}: a diagnostic, not a dump ({} bytes)",
        stderr.len()
    );
    assert_eq!(status.code(), Some(2), "{case}: exit code\n{stderr}");
    assert!(!stderr.contains("panicked"), "{case}: {stderr}");
    assert!(stderr.contains('×'), "{case}: a diagnostic is printed: {stderr}");
    assert!(!test.root().join("ran").exists(), "{case}: no task may run");
    stderr
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
        let case = path.display().to_string();
        let bytes = std::fs::read(&path).unwrap();
        let expected = Expected::read(&bytes);
        let stderr = match &expected.stops {
            None => expect_diagnostic(&test, &case),
            Some(task) => {
                // The other tasks run; `ops validate` and a run of that task say why not.
                let marker = run_limited(test.command_with(&["run", "marker"]), &case);
                assert_eq!(
                    marker.status.code(),
                    Some(0),
                    "{case}: marker runs\n{}",
                    marker.stderr
                );
                std::fs::remove_file(test.root().join("ran")).unwrap();
                let validate = run_limited(test.command_with(&["validate"]), &case);
                assert_eq!(
                    validate.status.code(),
                    Some(2),
                    "{case}: validate\n{}",
                    validate.stderr
                );
                expected.check(&case, &validate.stderr);
                expect_diagnostic_of(&test, task, &case)
            }
        };
        if std::str::from_utf8(&bytes).is_err() && expected.says.is_empty() {
            // Not text, so it cannot carry its expectations; where is all one can say.
            assert!(stderr.contains("not valid UTF-8 at line"), "{case}: {stderr}");
        } else {
            assert!(
                !expected.at.is_empty() && !expected.says.is_empty(),
                "{case}: starts with `# at:` and `# says:`"
            );
            expected.check(&case, &stderr);
        }
        cases += 1;
    }
    assert!(cases >= 45, "the corpus has {cases} files");
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

#[test]
fn a_variable_declared_twice_differently_points_at_both() {
    let test = Test::new()
        .file("tasks/marker.toml", MARKER)
        .file("tasks/a.toml", "[vars]\nregistry = \"registry.example.net\"\n")
        .file(
            "tasks/bad.toml",
            "[vars]\nregistry = \"ghcr.io\"\n\n[tasks.b]\nshell = \"echo {{ registry }}\"\n",
        );
    let stderr = expect_diagnostic(&test, "variable declared twice");
    assert!(stderr.contains("tasks/bad.toml:2:12]"), "{stderr}");
    assert!(stderr.contains("tasks/a.toml:2:12]"), "{stderr}");
}

#[test]
fn a_variable_of_another_file_is_visible() {
    let ran = Test::new()
        .file("tasks/a.toml", "[vars]\nregistry = \"registry.example.net\"\n")
        .file("tasks/b.toml", "[vars]\nregistry = \"registry.example.net\"\n\n[tasks.b]\nshell = \"echo {{ registry }} > out\"\n")
        .file("tasks/c.toml", "[tasks.c]\ndeps = [\"b\"]\nshell = \"echo {{ registry }} >> out\"\n")
        .args(&["run", "c"])
        .run();
    ran.assert_code(0);
    assert_eq!(ran.read("out"), "registry.example.net\nregistry.example.net\n");
}

#[test]
fn a_var_override_that_no_file_declares_is_refused() {
    let ran = Test::new()
        .tasks("[vars]\ncontainer = \"authentik\"\n\n[tasks.t]\nshell = \"echo {{ container }} > out\"\n")
        .args(&["run", "t", "--var", "contianer=redis"])
        .run();
    ran.assert_code(2);
    assert!(
        ran.stderr
            .contains("no task file declares a variable `contianer`"),
        "{}",
        ran.stderr
    );
    assert!(ran.stderr.contains("container"), "did you mean: {}", ran.stderr);
    assert!(!ran.exists("out"));
}

#[test]
fn a_working_directory_that_does_not_exist_is_named() {
    let ran = Test::new()
        .tasks("[tasks.a]\ndir = \"does-not-exist\"\nshell = \"true\"\n")
        .args(&["run", "a"])
        .run();
    ran.assert_code(1);
    assert!(
        ran.stderr
            .contains("✗ a: its directory `does-not-exist` (dir) does not exist — create it, or fix `dir`"),
        "{}",
        ran.stderr
    );
    assert!(!ran.stderr.contains("not on PATH"), "{}", ran.stderr);
}
