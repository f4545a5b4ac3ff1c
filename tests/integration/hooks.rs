//! The pre-commit hooks this repository ships, run by the real pre-commit and prek
//! against a fixture repository; the Forgejo workflow example, checked by actionlint.

use std::path::Path;
use std::process::Command;

use crate::common::{git, ops_bin, repo_root, require_tool};

/// A small GitOps repository with one floating image, committed.
fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let files = [
        ("app/kustomization.yaml", "resources:\n  - deployment.yaml\n"),
        (
            "app/deployment.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: nginx:latest\n",
        ),
        ("tasks/main.toml", "[tasks.hello]\nshell = \"echo hello\"\n"),
    ];
    for (path, text) in files {
        let full = dir.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, text).unwrap();
    }
    git(dir.path(), &["init", "-q", "-b", "main"]);
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", "init"]);
    dir
}

/// `tool try-repo <this repository> HOOK --all-files` in `dir`, with ops on PATH.
fn try_repo(tool: &str, dir: &Path, hook: &str) -> (bool, String) {
    let home = tempfile::tempdir().unwrap();
    let bin_dir = Path::new(ops_bin()).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new(tool)
        .args(["try-repo", repo_root().to_str().unwrap(), hook, "--all-files"])
        .current_dir(dir)
        .env("PATH", path)
        .env("PRE_COMMIT_HOME", home.path())
        .env("PREK_HOME", home.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn hooks_find_the_floating_image_then_pass(tool: &str) {
    if !require_tool(tool) {
        return;
    }
    let repo = fixture();
    let (ok, output) = try_repo(tool, repo.path(), "ops-lint");
    assert!(!ok, "{tool}: the floating image must fail the hook:\n{output}");
    assert!(
        output.contains("image `nginx:latest` floats"),
        "{tool}:\n{output}"
    );

    let deployment = repo.path().join("app/deployment.yaml");
    let fixed = std::fs::read_to_string(&deployment)
        .unwrap()
        .replace("nginx:latest", "nginx:1.27.3");
    std::fs::write(&deployment, fixed).unwrap();
    git(repo.path(), &["commit", "-q", "-am", "pin nginx"]);
    let (ok, output) = try_repo(tool, repo.path(), "ops-lint");
    assert!(ok, "{tool}: a pinned image passes:\n{output}");

    let (ok, output) = try_repo(tool, repo.path(), "ops-validate");
    assert!(ok, "{tool}: valid task files pass:\n{output}");
}

#[test]
fn pre_commit_runs_the_hooks() {
    hooks_find_the_floating_image_then_pass("pre-commit");
}

#[test]
fn prek_runs_the_hooks() {
    hooks_find_the_floating_image_then_pass("prek");
}

#[test]
fn the_forgejo_workflow_passes_actionlint() {
    if !require_tool("actionlint") {
        return;
    }
    let dir = repo_root().join("examples/forgejo");
    let out = Command::new("actionlint")
        .arg("-config-file")
        .arg(dir.join("actionlint.yaml"))
        .arg(dir.join("ops.yaml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
