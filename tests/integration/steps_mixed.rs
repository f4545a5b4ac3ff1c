//! One `--diff` over a graph that mixes step kinds reads as one report.

use std::process::Command;

use crate::common::{Test, require_tool, snapshot_settings};
use crate::servers::{Backend, Behaviour};

#[test]
fn diff_of_a_mixed_graph_is_one_readable_report() {
    if !require_tool("nix-instantiate") {
        return;
    }
    let health = Backend::start(Behaviour::Ok("live"));
    let tasks = format!(
        r#"
[tasks.version]
description = "Read the version from Nix"
nix-eval = {{ file = "version.nix", attr = "version" }}

[tasks.release]
deps = ["version"]
git-tag = {{ tag = "authentik-v{{{{ tasks.version.value }}}}" }}

[tasks.migration-verified]
gate = {{ cmd = ["cat", "migration.log"], expect = '"total_failed":(?P<failed>0)' }}

[tasks.services-check]
deps = ["release", "migration-verified"]
http-check = {{ checks = [{{ name = "authentik", url = "{}" }}] }}

[tasks.announce]
deps = ["services-check"]
shell = "echo released"
check-shell = "echo would announce {{{{ tasks.version.value }}}}; exit 1"

[tasks.deploy]
deps = ["announce"]
"#,
        health.url("/-/health/live/")
    );
    let test = Test::new()
        .file("version.nix", "{ version = \"2026.2.0\"; }\n")
        .file("migration.log", "done {\"total_failed\":0}\n")
        .file(".gitignore", ".ops/\n")
        .tasks(&tasks);
    for args in [
        &["init", "-q", "-b", "main"][..],
        &["add", "-A"],
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.net",
            "commit",
            "-q",
            "-m",
            "init",
        ],
    ] {
        assert!(
            Command::new("git")
                .args(args)
                .current_dir(test.root())
                .status()
                .unwrap()
                .success()
        );
    }
    let ran = test.run_with(&["run", "deploy", "--diff", "-j", "1"]);
    ran.assert_code(0);
    let mut settings = snapshot_settings();
    settings.add_filter(r"\b[0-9a-f]{12}\b", "[SHA]");
    settings.add_filter(r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]");
    settings.add_filter(r" *\d+ms", " [MS]");
    settings.bind(|| insta::assert_snapshot!("mixed_diff_report", ran.stdout));
}
