//! `ops lint` on the fixture repositories under `tests/fixtures/lint/`: one per rule
//! family, each a snapshot of the human and the JSON output.

use std::path::PathBuf;
use std::process::Command;

use crate::common::{ops_bin, repo_root, snapshot_settings};

fn fixture(name: &str) -> PathBuf {
    repo_root().join("tests/fixtures/lint").join(name)
}

fn lint(name: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(ops_bin())
        .arg("--root")
        .arg(fixture(name))
        .arg("lint")
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn settings() -> insta::Settings {
    let mut s = snapshot_settings();
    s.add_filter(r"in \d+ ms", "in [MS] ms");
    s
}

fn check(name: &str, expected_code: i32) {
    let (code, human, stderr) = lint(name, &[]);
    assert_eq!(code, expected_code, "{name}: {human}{stderr}");
    let (_, json, _) = lint(name, &["--format", "json"]);
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(parsed["files_scanned"].as_u64().unwrap() > 0);
    let pretty = serde_json::to_string_pretty(&parsed).unwrap();
    settings().bind(|| {
        insta::assert_snapshot!(format!("lint_{name}_human"), human);
        insta::assert_snapshot!(format!("lint_{name}_json"), pretty);
    });
}

#[test]
fn pinned_image_understands_kustomize_overrides() {
    check("pinned", 1);
}

#[test]
fn no_helm_anywhere() {
    check("helm", 1);
}

#[test]
fn kustomize_resources_listed_and_present() {
    check("resources", 1);
}

#[test]
fn argocd_apps_point_at_existing_paths() {
    check("argocd", 1);
}

#[test]
fn nix_containers_exist_for_our_registry() {
    check("nix", 1);
}

#[test]
fn no_plain_secrets() {
    check("secrets", 1);
}

#[test]
fn suppressions() {
    check("suppress", 1);
}

#[test]
fn custom_rules_from_policies() {
    check("custom", 1);
}

#[test]
fn yaml_syntax_errors_are_findings() {
    check("syntax", 1);
}

/// `ops --root examples/homelab ARGS…`
fn in_example(args: &[&str]) -> std::process::Output {
    Command::new(ops_bin())
        .arg("--root")
        .arg(repo_root().join("examples/homelab"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

#[test]
fn the_example_repository_is_clean() {
    let out = in_example(&["lint", "--format", "json"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["findings"], serde_json::json!([]));
    // Clean because its files were checked, not because none were found.
    assert!(report["files_scanned"].as_u64().unwrap() >= 10, "{stdout}");
}

#[test]
fn invalid_policies_are_a_usage_error() {
    let (code, stdout, stderr) = lint("badconfig", &[]);
    assert_eq!(code, 2, "{stdout}");
    settings().bind(|| insta::assert_snapshot!("lint_badconfig", stderr));
}

#[test]
fn one_rule_only_and_an_unknown_rule() {
    let (code, stdout, _) = lint("helm", &["--rule", "pinned-image"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.starts_with("8 files scanned: 0 errors, 0 warnings, 0 infos"),
        "{stdout}"
    );
    let (code, _, stderr) = lint("helm", &["--rule", "no-helmm"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("did you mean `no-helm`?"), "{stderr}");
}

#[test]
fn sarif_is_2_1_0_with_rules_and_locations() {
    let (_, sarif, _) = lint("pinned", &["--format", "sarif"]);
    let v: serde_json::Value = serde_json::from_str(&sarif).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let run = &v["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert!(
        rules
            .iter()
            .any(|r| r["id"] == "pinned-image" && r["help"]["text"].as_str().unwrap().contains("## Fix"))
    );
    let result = &run["results"][0];
    let index = usize::try_from(result["ruleIndex"].as_u64().unwrap()).unwrap();
    assert_eq!(rules[index]["id"], result["ruleId"]);
    let location = &result["locations"][0]["physicalLocation"];
    let uri = location["artifactLocation"]["uri"].as_str().unwrap();
    assert!(
        std::path::Path::new(uri).extension().is_some_and(|e| e == "yaml"),
        "{uri}"
    );
    assert!(location["region"]["startLine"].as_u64().unwrap() > 0);
}

#[test]
fn github_annotations() {
    let (_, out, _) = lint("secrets", &["--format", "github"]);
    assert_eq!(
        out.trim(),
        "::error file=secrets.yaml,line=5,col=1,title=no-plain-secret (OPS006)::a Secret with `data` committed to the repository\n::error file=secrets.yaml,line=46,col=1,title=no-plain-secret (OPS006)::a Secret with `stringData` committed to the repository"
    );
}

#[test]
fn linting_a_kustomization_alone_finds_what_its_overrides_do() {
    // Only the kustomization changed: its `newTag: latest` makes the images of the
    // files it builds float. Those files are checked for it, and the finding is its.
    let full = Command::new(ops_bin())
        .args(["lint", "--format", "json"])
        .current_dir(fixture("pinned"))
        .output()
        .unwrap();
    let alone = Command::new(ops_bin())
        .args(["lint", "--format", "json", "app/kustomization.yaml"])
        .current_dir(fixture("pinned"))
        .output()
        .unwrap();
    let findings_in = |out: &std::process::Output, path: &str| -> Vec<serde_json::Value> {
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["path"] == path)
            .cloned()
            .collect()
    };
    let expected = findings_in(&full, "app/kustomization.yaml");
    assert!(
        expected
            .iter()
            .any(|f| f["message"].as_str().unwrap().contains("homelab/worker:latest")),
        "{expected:?}"
    );
    assert_eq!(findings_in(&alone, "app/kustomization.yaml"), expected);
}

#[test]
fn linting_some_files_reads_their_kustomization() {
    // The Deployment alone says `:kustomized`; the override two levels of context away
    // decides. Linting just that file must give the same answer as the whole tree.
    let dir = fixture("pinned");
    let out = Command::new(ops_bin())
        .args(["lint", "--format", "json", "app/deployment.yaml"])
        .current_dir(&dir)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["files_scanned"], 1);
    let messages: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert!(
        messages.iter().any(|m| m.contains("homelab/worker:latest")),
        "{messages:?}"
    );
    assert!(
        !messages.iter().any(|m| m.contains("homelab/app")),
        "{messages:?}"
    );
}

#[test]
fn rules_and_rule_docs() {
    let out = Command::new(ops_bin()).arg("rules").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for id in [
        "pinned-image",
        "no-helm",
        "kustomize-resources",
        "argocd-app-path",
        "nix-container",
        "no-plain-secret",
    ] {
        assert!(text.contains(id), "{text}");
    }
    let out = Command::new(ops_bin())
        .args(["rule", "pinned-image"])
        .output()
        .unwrap();
    let doc = String::from_utf8_lossy(&out.stdout);
    for section in [
        "## What it checks",
        "## Why",
        "## Example",
        "## Fix",
        "## Options",
    ] {
        assert!(doc.contains(section), "{doc}");
    }
}

#[test]
fn require_digest_and_allowed_registries() {
    let test = crate::common::Test::new()
        .file(".git/HEAD", "ref: refs/heads/main\n")
        .file(
            "policies/lint.toml",
            "[rules.pinned-image]\nrequire-digest = true\nallowed-registries = [\"registry.example.net\"]\n",
        )
        .file(
            "pod.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: a\n      image: registry.example.net/a:1.0\n    - name: b\n      image: registry.example.net/b@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n    - name: c\n      image: redis@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n",
        );
    let ran = test.run_with(&["lint", "--format", "json"]);
    ran.assert_code(1);
    let v: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    let found: Vec<(u64, String)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["line"].as_u64().unwrap(),
                f["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        found,
        vec![
            (8, "image `registry.example.net/a:1.0` has no digest (require-digest is on)".to_owned()),
            (12, "image `redis@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef` comes from `docker.io`, which is not an allowed registry".to_owned()),
        ]
    );
}

#[test]
fn the_example_task_files_are_valid() {
    let out = in_example(&["validate"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for target in [
        "deploy-authentik",
        "migrate-zitadel-to-dex",
        "rollback-dex-to-zitadel",
        "zitadel:backup",
    ] {
        let out = in_example(&["run", target, "--dry-run"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{target}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if target == "migrate-zitadel-to-dex" {
            let plan = String::from_utf8_lossy(&out.stdout).into_owned();
            snapshot_settings().bind(|| insta::assert_snapshot!("example_migrate_plan", plan));
        }
    }
}
