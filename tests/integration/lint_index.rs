//! The lint index (`.ops/lint-index`): a partial lint that uses it answers exactly as
//! one that walks and parses the whole tree (`--no-cache`), after every kind of change
//! the index must notice; and it does use it (strace: the kustomizations it does not
//! need are not opened, the directories not listed).

use std::fs::File;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use crate::common::{ops_bin, require_tool};

/// A repository with overlays (an override elsewhere makes a base's image float),
/// an ignored directory whose kustomization would matter, unlisted files.
fn tree(root: &Path) {
    let files: &[(&str, &str)] = &[
        (".gitignore", "generated/\n"),
        (
            "base/kustomization.yaml",
            "resources:\n  - deployment.yaml\n  - service.yaml\n",
        ),
        (
            "base/deployment.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          image: ghcr.io/example/web:1.2.3\n",
        ),
        (
            "base/service.yaml",
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n",
        ),
        (
            "overlays/prod/kustomization.yaml",
            "resources:\n  - ../../base\nimages:\n  - name: ghcr.io/example/web\n    newTag: latest\n",
        ),
        ("apps/api/kustomization.yaml", "resources:\n  - deployment.yaml\n"),
        (
            "apps/api/deployment.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  template:\n    spec:\n      containers:\n        - name: api\n          image: ghcr.io/example/api:2.0.0\n",
        ),
        (
            "generated/kustomization.yaml",
            "resources:\n  - ../apps/api/deployment.yaml\nimages:\n  - name: ghcr.io/example/api\n    newTag: main\n",
        ),
    ];
    for (path, text) in files {
        let full = root.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, text).unwrap();
    }
    std::fs::create_dir_all(root.join(".git")).unwrap();
}

/// Set every modification time under `root` an hour back, so that the stamps the
/// index records are settled (a time within seconds of the walk is not trusted).
fn settle(root: &Path) {
    let past = SystemTime::now() - Duration::from_secs(3600);
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else {
                File::options()
                    .append(true)
                    .open(entry.path())
                    .unwrap()
                    .set_modified(past)
                    .unwrap();
            }
        }
        File::open(&dir).unwrap().set_modified(past).unwrap();
    }
}

fn lint(root: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(ops_bin())
        .arg("--root")
        .arg(root)
        .arg("lint")
        .args(["--format", "json"])
        .args(args)
        .current_dir(root)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap(), String::from_utf8(out.stdout).unwrap())
}

/// The lint of `paths` with the index, checked against the lint without it; the
/// findings (rule, file) it reported.
fn same(root: &Path, paths: &[&str]) -> Vec<(String, String)> {
    let cached = lint(root, paths);
    let mut uncached_args = vec!["--no-cache"];
    uncached_args.extend(paths);
    let uncached = lint(root, &uncached_args);
    assert_eq!(cached, uncached, "with and without the index, for {paths:?}");
    let json: serde_json::Value = serde_json::from_str(&cached.1).unwrap();
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_owned(),
                f["path"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pinned(findings: &[(String, String)]) -> Vec<&str> {
    findings
        .iter()
        .filter(|(rule, _)| rule == "pinned-image")
        .map(|(_, path)| path.as_str())
        .collect()
}

#[test]
fn a_partial_lint_with_the_index_answers_as_one_without() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    tree(root);
    lint(root, &[]);
    assert!(
        root.join(".ops/lint-index").is_file(),
        "a full lint writes the index"
    );
    assert!(
        std::fs::read_to_string(root.join(".ops/.gitignore"))
            .unwrap()
            .contains('*'),
        ".ops/ ignores itself"
    );
    settle(root);
    lint(root, &[]); // the index again, with settled stamps

    // The override in overlays/prod (a kustomization the partial lint does not read
    // unless it asks the index) makes the base's image float.
    let found = same(root, &["base/deployment.yaml"]);
    assert_eq!(pinned(&found), ["overlays/prod/kustomization.yaml"]);

    // A kustomization edited in place (its directory's stamp does not move).
    let prod = root.join("overlays/prod/kustomization.yaml");
    std::fs::write(
        &prod,
        "resources:\n  - ../../base\nimages:\n  - name: ghcr.io/example/web\n    newTag: 1.2.4\n",
    )
    .unwrap();
    assert_eq!(pinned(&same(root, &["base/deployment.yaml"])), Vec::<&str>::new());
    // What it lists changes, in place: the api's manifest is listed nowhere now.
    settle(root);
    lint(root, &[]);
    std::fs::write(root.join("apps/api/kustomization.yaml"), "resources: []\n").unwrap();
    let found = same(root, &["apps/api/deployment.yaml"]);
    assert!(
        found.iter().any(|(rule, _)| rule == "kustomize-resources"),
        "{found:?}"
    );
    std::fs::write(
        root.join("apps/api/kustomization.yaml"),
        "resources:\n  - deployment.yaml\n",
    )
    .unwrap();

    // A new file in a directory: listed nowhere.
    std::fs::write(
        root.join("apps/api/extra.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
    )
    .unwrap();
    let found = same(root, &["apps/api/extra.yaml"]);
    assert!(
        found
            .iter()
            .any(|(rule, path)| rule == "kustomize-resources" && path == "apps/api/extra.yaml"),
        "{found:?}"
    );

    // An ignore file edited in place: `generated/` is part of the tree now, and its
    // override of the api's image applies.
    settle(root);
    lint(root, &[]);
    assert_eq!(
        pinned(&same(root, &["apps/api/deployment.yaml"])),
        Vec::<&str>::new()
    );
    std::fs::write(root.join(".gitignore"), "# nothing ignored\n").unwrap();
    assert_eq!(
        pinned(&same(root, &["apps/api/deployment.yaml"])),
        ["generated/kustomization.yaml"]
    );

    // A kustomization removed, one that no longer parses.
    std::fs::remove_file(root.join("generated/kustomization.yaml")).unwrap();
    assert_eq!(
        pinned(&same(root, &["apps/api/deployment.yaml"])),
        Vec::<&str>::new()
    );
    std::fs::write(&prod, "resources: [\n").unwrap();
    let found = same(
        root,
        &["base/deployment.yaml", "overlays/prod/kustomization.yaml"],
    );
    assert!(found.iter().any(|(rule, _)| rule == "yaml-syntax"), "{found:?}");
}

#[test]
fn a_damaged_or_foreign_index_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("one");
    tree(&root);
    lint(&root, &[]);
    settle(&root);
    lint(&root, &[]);
    let expected = same(&root, &["base/deployment.yaml"]);

    // A copy of the tree, its .ops/ with it: the index describes the other tree.
    let copy = dir.path().join("two");
    let status = Command::new("cp")
        .arg("-a")
        .arg(&root)
        .arg(&copy)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::write(
        copy.join("overlays/prod/kustomization.yaml"),
        "resources:\n  - ../../base\n",
    )
    .unwrap();
    settle(&copy);
    assert_eq!(
        pinned(&same(&copy, &["base/deployment.yaml"])),
        Vec::<&str>::new()
    );

    // Garbage, an empty file, a truncated index.
    let index = root.join(".ops/lint-index");
    let good = std::fs::read(&index).unwrap();
    for damaged in [
        b"not an index".to_vec(),
        Vec::new(),
        good[..good.len() / 2].to_vec(),
    ] {
        std::fs::write(&index, damaged).unwrap();
        assert_eq!(same(&root, &["base/deployment.yaml"]), expected);
    }
}

#[test]
fn the_index_spares_the_reads_it_was_made_for() {
    if !require_tool("strace") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    tree(root);
    lint(root, &[]);
    settle(root);
    lint(root, &[]);
    let trace = root.join(".ops/trace");
    let status = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=openat,getdents64", "-o"])
        .arg(&trace)
        .arg(ops_bin())
        .arg("--root")
        .arg(root)
        .args(["lint", "apps/api/deployment.yaml"])
        .current_dir(root)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let trace = std::fs::read_to_string(&trace).unwrap();
    let opened = |path: &str| {
        trace
            .lines()
            .any(|l| l.contains("openat") && l.contains(&format!("{}\"", root.join(path).display())))
    };
    // What it checks is read; what it does not need is not, and no directory of the
    // tree is listed.
    assert!(opened("apps/api/deployment.yaml"), "{trace}");
    assert!(
        opened("apps/api/kustomization.yaml"),
        "its kustomization is parsed: {trace}"
    );
    assert!(!opened("overlays/prod/kustomization.yaml"), "{trace}");
    assert!(!opened("base/service.yaml"), "{trace}");
    assert!(!opened("base"), "the directory is not listed: {trace}");

    // Without the index, the same lint lists the tree and reads every kustomization.
    let trace_path = root.join(".ops/trace-no-cache");
    Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=openat", "-o"])
        .arg(&trace_path)
        .arg(ops_bin())
        .arg("--root")
        .arg(root)
        .args(["lint", "--no-cache", "apps/api/deployment.yaml"])
        .current_dir(root)
        .output()
        .unwrap();
    let trace = std::fs::read_to_string(&trace_path).unwrap();
    assert!(
        trace.contains(
            &root
                .join("overlays/prod/kustomization.yaml")
                .display()
                .to_string()
        ),
        "{trace}"
    );
}

/// A file the walk leaves out (ignored), linted by name in a lint that writes the
/// index again (a kustomization changed): it is checked that once, and the index's
/// walk does not take it in, so a full lint after still leaves it out.
#[test]
fn a_file_named_on_the_command_line_does_not_enter_the_index_walk() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    tree(root);
    // Ignored in a directory the walk lists (as its other files are).
    std::fs::write(root.join(".gitignore"), "generated/\napps/api/local.yaml\n").unwrap();
    std::fs::write(
        root.join("apps/api/local.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: local\n",
    )
    .unwrap();
    lint(root, &[]);
    settle(root);
    lint(root, &[]); // the index again, with settled stamps
    let before = same(root, &[]);
    assert!(
        !before.iter().any(|(_, path)| path == "apps/api/local.yaml"),
        "{before:?}"
    );
    // Changed in place: the next lint reads it again and writes the index.
    std::fs::write(root.join("apps/api/kustomization.yaml"), "resources: []\n").unwrap();
    let index = std::fs::read(root.join(".ops/lint-index")).unwrap();
    let named = same(root, &["apps/api/local.yaml", "apps/api/deployment.yaml"]);
    assert!(
        named
            .iter()
            .any(|(rule, path)| rule == "kustomize-resources" && path == "apps/api/local.yaml"),
        "checked when named: {named:?}"
    );
    assert_ne!(
        std::fs::read(root.join(".ops/lint-index")).unwrap(),
        index,
        "the index was written again"
    );
    let after = same(root, &[]);
    assert!(
        !after.iter().any(|(_, path)| path == "apps/api/local.yaml"),
        "the ignored file stays out of a full lint: {after:?}"
    );
}

/// A partial lint given a directory and a file: what is in the directory or is the
/// file, and nothing beside them (a sibling whose name starts with the directory's).
#[test]
fn a_partial_lint_of_a_directory_and_a_file_keeps_only_what_is_in_them() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let floating = |name: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  template:\n    spec:\n      containers:\n        - name: {name}\n          image: ghcr.io/example/{name}:latest\n"
        )
    };
    for path in [
        "apps/web/a.yaml",
        "apps/web/sub/b.yaml",
        "apps/web-2/c.yaml",
        "other/d.yaml",
        "other/e.yaml",
    ] {
        std::fs::create_dir_all(root.join(path).parent().unwrap()).unwrap();
        std::fs::write(root.join(path), floating("x")).unwrap();
    }
    let found = |args: &[&str]| {
        let out = Command::new(ops_bin())
            .current_dir(root)
            .args(["lint", "--format", "json", "--rule", "pinned-image"])
            .args(args)
            .output()
            .unwrap();
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut paths: Vec<String> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["path"].as_str().unwrap().to_owned())
            .collect();
        paths.dedup();
        paths
    };
    let expected = ["apps/web/a.yaml", "apps/web/sub/b.yaml", "other/d.yaml"];
    // Twice: the first run writes the index, the second reads it.
    assert_eq!(found(&["apps/web", "other/d.yaml"]), expected);
    assert_eq!(found(&["other/d.yaml", "apps/web"]), expected);
    assert_eq!(found(&["apps/web/", "./other/d.yaml"]), expected);
}
