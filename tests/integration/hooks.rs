//! The pre-commit hooks this repository ships, run by the real pre-commit and prek
//! against a fixture repository; the Forgejo workflow example, checked by actionlint.

use std::path::Path;
use std::process::Command;

use crate::common::{git, ops_bin, repo_root, require_tool};

/// A git repository of `files`, committed.
fn committed<T: AsRef<str>>(files: impl IntoIterator<Item = (&'static str, T)>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let full = dir.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, text.as_ref()).unwrap();
    }
    git(dir.path(), &["init", "-q", "-b", "main"]);
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", "init"]);
    dir
}

/// A small GitOps repository with one floating image, committed.
fn fixture() -> tempfile::TempDir {
    let files = [
        ("app/kustomization.yaml", "resources:\n  - deployment.yaml\n"),
        (
            "app/deployment.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: nginx:latest\n",
        ),
        ("tasks/main.toml", "[tasks.hello]\nshell = \"echo hello\"\n"),
    ];
    committed(files)
}

/// `tool try-repo <this repository> HOOK --all-files` in `dir`, with ops on PATH.
fn try_repo(tool: &str, dir: &Path, hook: &str) -> (bool, String) {
    hook_run(tool, dir, hook, true)
}

/// `tool try-repo <this repository> HOOK` on what is staged in `dir` (`all`: every
/// file, `--all-files`), with ops on PATH.
fn hook_run(tool: &str, dir: &Path, hook: &str, all: bool) -> (bool, String) {
    let home = tempfile::tempdir().unwrap();
    let bin_dir = Path::new(ops_bin()).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut args = vec!["try-repo", repo_root().to_str().unwrap(), hook];
    if all {
        args.push("--all-files");
    }
    let out = Command::new(tool)
        .args(args)
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

/// A base with an image pinned by its kustomization and one pinned only by an
/// overlay elsewhere; clean, committed.
fn layered() -> tempfile::TempDir {
    let deployment = |name: &str, image: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  template:\n    spec:\n      containers:\n        - name: {name}\n          image: {image}\n"
        )
    };
    let files = [
        (
            "base/kustomization.yaml",
            "resources:\n  - web.yaml\n  - worker.yaml\nimages:\n  - name: registry.example.net/web\n    newTag: v1.0.3\n".to_owned(),
        ),
        ("base/web.yaml", deployment("web", "registry.example.net/web")),
        ("base/worker.yaml", deployment("worker", "registry.example.net/worker")),
        (
            "overlays/production/kustomization.yaml",
            "resources:\n  - ../../base\nimages:\n  - name: registry.example.net/worker\n    newTag: v1.0.260\n".to_owned(),
        ),
        ("policies/lint.toml", "[rules.no-helm]\nenabled = true\n".to_owned()),
        ("README.md", "a homelab\n".to_owned()),
    ];
    committed(files)
}

/// The findings of `ops lint ARGS --format json` in `dir`, as `path:line rule`.
fn findings(dir: &Path, args: &[&str]) -> Vec<String> {
    let out = Command::new(ops_bin())
        .args(["lint", "--format", "json"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{}:{} {}",
                f["path"].as_str().unwrap(),
                f["line"],
                f["rule"].as_str().unwrap()
            )
        })
        .collect()
}

/// What git has staged, as the hook runners pass it (files that still exist).
fn staged(dir: &Path) -> Vec<String> {
    git(dir, &["diff", "--cached", "--name-only", "--diff-filter=d"])
        .lines()
        .map(str::to_owned)
        .collect()
}

/// A change to the repository: what it is, how it is made, whether the hook passes,
/// and the findings it must report.
type Change = (&'static str, fn(&Path), bool, &'static [&'static str]);

/// Each kind of change a commit makes, through the hook runner and through
/// `ops lint --hook` directly: the hook reports exactly the full lint's findings in
/// the files the change touched (and the kustomization of a deleted file).
fn hooks_report_what_a_full_lint_reports(tool: &str) {
    if !require_tool(tool) {
        return;
    }
    let changes: [Change; 5] = [
        (
            "newTag latest in a kustomization alone",
            |d| {
                let k = d.join("base/kustomization.yaml");
                let text = std::fs::read_to_string(&k).unwrap().replace("v1.0.3", "latest");
                std::fs::write(k, text).unwrap();
            },
            false,
            &["base/kustomization.yaml:6 pinned-image"],
        ),
        (
            "a manifest pinned by an overlay elsewhere",
            |d| {
                let w = d.join("base/worker.yaml");
                let text = std::fs::read_to_string(&w)
                    .unwrap()
                    .replace("name: worker\nspec", "name: worker\n  labels: {tier: jobs}\nspec");
                std::fs::write(w, text).unwrap();
            },
            true,
            &[],
        ),
        (
            "git rm of a listed manifest",
            |d| {
                git(d, &["rm", "-q", "base/worker.yaml"]);
            },
            false,
            &["base/kustomization.yaml:3 kustomize-resources"],
        ),
        (
            "a policy edit",
            |d| {
                std::fs::write(
                    d.join("policies/lint.toml"),
                    "[rules.pinned-image]\nrequire-digest = true\n",
                )
                .unwrap();
            },
            false,
            &[
                "base/kustomization.yaml:6 pinned-image",
                "overlays/production/kustomization.yaml:5 pinned-image",
            ],
        ),
        (
            "a change to no YAML file",
            |d| std::fs::write(d.join("README.md"), "a homelab, documented\n").unwrap(),
            true,
            &[],
        ),
    ];
    for (what, change, passes, expected) in changes {
        let repo = layered();
        change(repo.path());
        git(repo.path(), &["add", "-A"]);
        let touched = staged(repo.path());
        let mut args = vec!["--hook"];
        args.extend(touched.iter().map(String::as_str));
        assert_eq!(findings(repo.path(), &args), expected, "{what}: ops lint --hook");
        let (ok, output) = hook_run(tool, repo.path(), "ops-lint", false);
        assert_eq!(ok, passes, "{tool}, {what}:\n{output}");
        // A full lint agrees, in the files the change touched.
        let full = findings(repo.path(), &[]);
        for finding in expected {
            assert!(
                full.contains(&(*finding).to_owned()),
                "{what}: {finding} not in the full lint {full:?}"
            );
        }
    }
}

#[test]
fn pre_commit_reports_each_kind_of_change() {
    hooks_report_what_a_full_lint_reports("pre-commit");
}

#[test]
fn prek_reports_each_kind_of_change() {
    hooks_report_what_a_full_lint_reports("prek");
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
