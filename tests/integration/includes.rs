//! `[include]` in ops.toml: task files from a local directory and from a git
//! repository at a pinned commit (a real local bare repository), each under the
//! namespace of its key.

use crate::common::{Test, git};

const RUNBOOK: &str = r#"
[tasks.check]
shell = "echo checked-by-{{ who }} >> ran"

[tasks.all]
deps = ["check"]
shell = "echo all >> ran"
"#;

#[test]
fn a_local_directory_is_a_namespace() {
    let test = Test::new()
        .file("ops.toml", "[include]\nshared = { path = \"platform/tasks\" }\n")
        .file("platform/tasks/health.toml", RUNBOOK)
        .file("platform/tasks/db/backup.toml", "[tasks.dump]\nshell = \"echo dump >> ran\"\n")
        .tasks("[vars]\nwho = \"homelab\"\n\n[tasks.nightly]\ndeps = [\"shared:all\", \"shared:db:dump\"]\nshell = \"echo nightly >> ran\"\n");
    let ran = test.run_with(&["run", "nightly", "-j", "1"]);
    ran.assert_code(0);
    let text = ran.read("ran");
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines.contains(&"checked-by-homelab") && lines.contains(&"dump"),
        "{lines:?}"
    );
    assert_eq!(lines.last(), Some(&"nightly"));
    test.run_with(&["list"])
        .assert_stdout("shared:check")
        .assert_stdout("shared:db:dump");
}

/// A bare repository with the runbooks in `tasks/`, and the commit id.
fn runbooks(dir: &std::path::Path) -> (std::path::PathBuf, String) {
    let work = dir.join("work");
    std::fs::create_dir_all(work.join("tasks")).unwrap();
    std::fs::write(work.join("tasks/health.toml"), RUNBOOK).unwrap();
    git(&work, &["init", "-q", "-b", "main"]);
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "runbooks"]);
    let rev = git(&work, &["rev-parse", "HEAD"]);
    let bare = dir.join("runbooks.git");
    git(
        dir,
        &[
            "clone",
            "-q",
            "--bare",
            work.to_str().unwrap(),
            bare.to_str().unwrap(),
        ],
    );
    // A later commit on the remote must not change what the pinned include runs.
    std::fs::write(
        work.join("tasks/health.toml"),
        RUNBOOK.replace("checked-by", "moved"),
    )
    .unwrap();
    git(&work, &["commit", "-q", "-am", "moved"]);
    git(&work, &["push", "-q", bare.to_str().unwrap(), "main"]);
    (bare, rev)
}

#[test]
fn a_git_repository_at_a_pinned_commit_is_fetched_once() {
    let remote = tempfile::tempdir().unwrap();
    let (bare, rev) = runbooks(remote.path());
    let test = Test::new()
        .file(
            "ops.toml",
            &format!(
                "[include]\nupstream = {{ git = \"{}\", rev = \"{rev}\", path = \"tasks\" }}\n",
                bare.display()
            ),
        )
        .tasks("[vars]\nwho = \"pinned\"\n");
    let ran = test.run_with(&["run", "upstream:check"]);
    ran.assert_code(0);
    assert_eq!(ran.read("ran"), "checked-by-pinned\n");
    let checkout = test.root().join(format!(".ops/includes/upstream-{}", &rev[..12]));
    assert_eq!(git(&checkout, &["rev-parse", "HEAD"]), rev);

    // Not fetched again: the remote may be gone.
    std::fs::remove_dir_all(&bare).unwrap();
    test.run_with(&["run", "upstream:check"]).assert_code(0);

    // A checkout moved off the pinned commit is refused.
    git(&checkout, &["checkout", "-q", "--detach", "HEAD"]);
    std::fs::write(
        checkout.join("tasks/health.toml"),
        "[tasks.check]\nshell = \"echo tampered\"\n",
    )
    .unwrap();
    git(&checkout, &["commit", "-q", "-am", "tampered"]);
    let refused = test.run_with(&["run", "upstream:check"]);
    refused.assert_code(2);
    assert!(refused.stderr.contains("not at the pinned"), "{}", refused.stderr);
}

#[test]
fn an_include_without_a_pinned_commit_is_refused() {
    for (include, says) in [
        (
            "upstream = { git = \"https://forge.example.net/ops/runbooks.git\", rev = \"main\" }",
            "a full commit id",
        ),
        ("shared = { }", "needs `path`"),
        ("shared = { path = \"nowhere\" }", "`nowhere` is not a directory"),
    ] {
        let ran = Test::new()
            .file("ops.toml", &format!("[include]\n{include}\n"))
            .tasks("[tasks.t]\nshell = \"touch ran\"\n")
            .args(&["run", "t"])
            .run();
        ran.assert_code(2);
        assert!(ran.stderr.contains(says), "{include}: {}", ran.stderr);
        assert!(!ran.exists("ran"));
    }
    let ran = Test::new()
        .tasks("[include]\nshared = { path = \"x\" }\n")
        .args(&["validate"])
        .run();
    ran.assert_code(2);
    assert!(ran.stderr.contains("put it in ops.toml"), "{}", ran.stderr);
}
