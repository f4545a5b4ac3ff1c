use crate::common::{Test, git};

/// A repository with one commit and a bare remote `origin`.
fn repo(tasks: &str) -> (Test, tempfile::TempDir) {
    let test = Test::new().tasks(tasks).file(".gitignore", ".ops/\n");
    let remote = tempfile::tempdir().unwrap();
    git(remote.path(), &["init", "-q", "--bare"]);
    let dir = test.root();
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["config", "user.email", "ops@example.net"]);
    git(dir, &["config", "user.name", "ops tests"]);
    git(dir, &["remote", "add", "origin", remote.path().to_str().unwrap()]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "initial"]);
    (test, remote)
}

const RELEASE: &str = r#"
[vars]
version = "1.0.0"

[tasks.release]
git-tag = { tag = "authentik-v{{ version }}", message = "Authentik {{ version }}", push = "origin" }
"#;

#[test]
fn tags_and_pushes_then_is_idempotent() {
    let (test, remote) = repo(RELEASE);
    let head = git(test.root(), &["rev-parse", "HEAD"]);

    let diff = test.run_with(&["run", "release", "--diff", "--detailed-exitcode"]);
    diff.assert_code(3);
    assert!(
        diff.stdout.contains("would create tag authentik-v1.0.0 at"),
        "{}",
        diff.stdout
    );
    assert!(
        diff.stdout.contains("would push tag authentik-v1.0.0 to origin"),
        "{}",
        diff.stdout
    );
    assert_eq!(
        git(test.root(), &["tag", "--list"]),
        "",
        "--diff must not create the tag"
    );

    test.run_with(&["run", "release"]).assert_code(0);
    assert_eq!(
        git(test.root(), &["rev-parse", "authentik-v1.0.0^{commit}"]),
        head
    );
    assert_eq!(
        git(test.root(), &["cat-file", "-t", "authentik-v1.0.0"]),
        "tag",
        "annotated"
    );
    assert_eq!(
        git(remote.path(), &["rev-parse", "authentik-v1.0.0^{commit}"]),
        head
    );

    test.run_with(&["run", "release", "--diff", "--detailed-exitcode"])
        .assert_code(0);
    let again = test.run_with(&["run", "release"]);
    again.assert_code(0);
    assert!(!again.stdout.contains("created tag"), "{}", again.stdout);
}

#[test]
fn refuses_to_move_a_tag_that_points_elsewhere() {
    let (test, _remote) = repo(RELEASE);
    let first = git(test.root(), &["rev-parse", "HEAD"]);
    git(test.root(), &["tag", "-a", "authentik-v1.0.0", "-m", "old"]);
    git(test.root(), &["commit", "-q", "--allow-empty", "-m", "second"]);

    let ran = test.run_with(&["run", "release"]);
    ran.assert_code(1);
    assert!(
        ran.stdout
            .contains("tag authentik-v1.0.0 already exists locally at"),
        "{}",
        ran.stdout
    );
    assert!(ran.stdout.contains("never moved"), "{}", ran.stdout);
    assert_eq!(
        git(test.root(), &["rev-parse", "authentik-v1.0.0^{commit}"]),
        first,
        "the tag did not move"
    );

    std::fs::write(
        test.root().join("tasks/main.toml"),
        RELEASE.replace("push = \"origin\"", "push = \"origin\", force = true"),
    )
    .unwrap();
    git(test.root(), &["commit", "-q", "-am", "force"]);
    test.run_with(&["run", "release"]).assert_code(0);
    assert_eq!(
        git(test.root(), &["rev-parse", "authentik-v1.0.0^{commit}"]),
        git(test.root(), &["rev-parse", "HEAD"])
    );
}

#[test]
fn refuses_a_dirty_working_tree() {
    let (test, _remote) = repo(RELEASE);
    std::fs::write(
        test.root().join("tasks/main.toml"),
        format!("{RELEASE}\n# edited\n"),
    )
    .unwrap();
    let ran = test.run_with(&["run", "release"]);
    ran.assert_code(1);
    assert!(ran.stdout.contains("uncommitted changes"), "{}", ran.stdout);
    assert_eq!(git(test.root(), &["tag", "--list"]), "");
}
