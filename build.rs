//! The commit and date that `ops --version` names. The build may give them
//! (`OPS_BUILD_COMMIT`, `OPS_BUILD_DATE`: the Nix package sets them from the flake's
//! revision); in a git checkout they come from `git`; elsewhere the version stands alone.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=OPS_BUILD_COMMIT");
    println!("cargo:rerun-if-env-changed=OPS_BUILD_DATE");
    // A new commit changes HEAD, or the branch file it names.
    for path in [".git/HEAD", ".git/packed-refs"] {
        if Path::new(path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    if let Some(branch) = std::fs::read_to_string(".git/HEAD")
        .ok()
        .and_then(|head| head.strip_prefix("ref: ").map(|r| format!(".git/{}", r.trim())))
        .filter(|r| Path::new(r).exists())
    {
        println!("cargo:rerun-if-changed={branch}");
    }
    let given = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let commit = given("OPS_BUILD_COMMIT").or_else(|| git(&["rev-parse", "--short=12", "HEAD"]));
    let date = given("OPS_BUILD_DATE").or_else(|| git(&["log", "-1", "--format=%cs"]));
    if let Some(commit) = commit {
        println!("cargo:rustc-env=OPS_COMMIT={commit}");
    }
    if let Some(date) = date {
        println!("cargo:rustc-env=OPS_COMMIT_DATE={date}");
    }
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_owned())
}
