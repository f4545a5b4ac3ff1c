//! The project's own runbooks (`tasks/` at the top of this repository): they load,
//! `ops run ci` runs what `.ci/run` runs, and `ops run release --diff` shows the
//! derivation Nix would build and the tag it would create.

use crate::common::{Test, git, repo_root, require_tool};

fn root() -> &'static str {
    repo_root().to_str().unwrap()
}

#[test]
fn the_project_tasks_load_and_list() {
    let ran = Test::new().run_with(&["validate", "-C", root()]);
    ran.assert_code(0);
    let list = Test::new().run_with(&["list", "-C", root()]);
    for task in ["test", "lint", "bench", "fuzz", "release", "ci"] {
        assert!(
            list.stdout.lines().any(|l| l.starts_with(&format!("{task} "))),
            "{task}: {}",
            list.stdout
        );
    }
}

#[test]
fn ops_run_ci_runs_what_ci_runs() {
    let script = std::fs::read_to_string(repo_root().join(".ci/run")).unwrap();
    let commands: Vec<&str> = script
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("set ") && !l.starts_with("cd "))
        .collect();
    assert!(commands.len() >= 3, "{commands:?}");
    let plan = Test::new().run_with(&["run", "ci", "--dry-run", "-C", root()]);
    plan.assert_code(0);
    for command in &commands {
        assert!(
            plan.stdout.contains(&format!("$ {command}\n")),
            "`{command}` of .ci/run is not in `ops run ci`:\n{}",
            plan.stdout
        );
    }
    let shown = plan
        .stdout
        .lines()
        .filter(|l| l.trim_start().starts_with("$ "))
        .count();
    assert_eq!(
        shown,
        commands.len(),
        "ops run ci runs nothing else:\n{}",
        plan.stdout
    );
    // The README's test command is what both run.
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    assert!(commands.contains(&"scripts/test.sh") && readme.contains("\nscripts/test.sh "));
}

#[test]
fn the_release_version_is_the_crate_version() {
    let cargo = std::fs::read_to_string(repo_root().join("Cargo.toml")).unwrap();
    let version = cargo
        .lines()
        .find_map(|l| l.strip_prefix("version = "))
        .unwrap()
        .trim_matches('"');
    let plan = Test::new().run_with(&["run", "release", "--dry-run", "-C", root()]);
    plan.assert_code(0);
    plan.assert_stdout(&format!("$ git tag -a v{version} HEAD"));
    plan.assert_stdout("$ nix-build nix/release.nix -o result");
}

/// A stand-in for `<nixpkgs>` (there is none on this machine): `callPackage` gives a
/// small derivation named as the package is, so the release's Nix step has something
/// real to instantiate and report.
const NIXPKGS: &str = r#"{ ... }: {
  callPackage = _fn: _args: derivation {
    name = "ops-0.1.0";
    system = builtins.currentSystem;
    builder = "/bin/sh";
    args = [ "-c" "echo ops > $out" ];
  };
}
"#;

#[test]
fn release_diff_shows_the_derivation_and_the_tag() {
    if !require_tool("nix-instantiate") || !require_tool("git") {
        return;
    }
    let mut test = Test::new().file("nixpkgs/default.nix", NIXPKGS);
    for file in [
        "tasks/dev.toml",
        "tasks/release.toml",
        "nix/release.nix",
        "nix/package.nix",
    ] {
        test = test.file(file, &std::fs::read_to_string(repo_root().join(file)).unwrap());
    }
    let dir = test.root().to_path_buf();
    std::fs::write(dir.join(".gitignore"), ".ops/\n").unwrap();
    git(&dir, &["init", "-q", "-b", "main"]);
    git(&dir, &["add", "-A"]);
    git(&dir, &["commit", "-q", "-m", "ops"]);
    let nix_path = format!("nixpkgs={}", dir.join("nixpkgs").display());
    let test = test
        .env("NIX_PATH", &nix_path)
        .env("NIX_CONFIG", "substituters =");
    let diff = test.run_with(&["run", "release", "--diff", "--skip", "ci", "--detailed-exitcode"]);
    diff.assert_code(3);
    assert!(diff.stdout.contains("derivation: /nix/store/"), "{}", diff.stdout);
    assert!(diff.stdout.contains("ops-0.1.0.drv"), "{}", diff.stdout);
    assert!(diff.stdout.contains("v0.1.0"), "{}", diff.stdout);
    let summary = &diff.stdout[diff.stdout.find("\nTASK").unwrap()..];
    for task in ["package", "release"] {
        let line = summary
            .lines()
            .find(|l| l.starts_with(&format!("{task} ")))
            .unwrap();
        assert!(line.contains("changes"), "{line}");
    }
    assert!(git(&dir, &["tag"]).trim().is_empty(), "--diff tags nothing");
}
