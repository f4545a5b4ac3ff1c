//! The Forgejo workflow of `examples/forgejo/` run by act on this machine (host mode,
//! as a Forgejo runner would run it): on a pull request the plan is made, summarised
//! and kept; on a merge it is made again and applied in parts, the first waves fanned
//! out one task per job, each task exactly once and in dependency order. act cannot
//! fetch Forgejo's artifact actions offline: `--local-repository` puts directory-backed
//! stand-ins (`tests/fixtures/act/`) in their place, the workflow unchanged.

use std::path::Path;
use std::process::Command;

use crate::common::{git, ops_bin, repo_root, require_tool, run_limited};

const TASKS: &str = r#"
[tasks.fetch-a]
shell = 'echo fetch-a >> "$OPS_TEST_LOG"'
check-shell = "echo would fetch a; exit 1"

[tasks.fetch-b]
shell = 'echo fetch-b >> "$OPS_TEST_LOG"'
check-shell = "echo would fetch b; exit 1"

[tasks.build]
deps = ["fetch-a", "fetch-b"]
shell = 'echo build >> "$OPS_TEST_LOG"'
check-shell = "echo would build; exit 1"

[tasks.release]
deps = ["build"]
shell = 'echo release >> "$OPS_TEST_LOG"'
check-shell = "echo would release; exit 1"

[tasks.deploy-authentik]
deps = ["release"]
"#;

struct Act {
    repo: tempfile::TempDir,
    /// Where the artifact stand-ins keep what the jobs upload, and the tasks' log.
    shared: tempfile::TempDir,
    cache: tempfile::TempDir,
}

impl Act {
    fn new() -> Option<Self> {
        if !require_tool("act") || !require_tool("jq") {
            return None;
        }
        let repo = tempfile::tempdir().unwrap();
        let workflows = repo.path().join(".forgejo/workflows");
        std::fs::create_dir_all(&workflows).unwrap();
        std::fs::copy(
            repo_root().join("examples/forgejo/ops.yaml"),
            workflows.join("ops.yaml"),
        )
        .unwrap();
        std::fs::create_dir_all(repo.path().join("tasks")).unwrap();
        std::fs::write(repo.path().join("tasks/deploy.toml"), TASKS).unwrap();
        git(repo.path(), &["init", "-q", "-b", "main"]);
        git(repo.path(), &["add", "-A"]);
        git(repo.path(), &["commit", "-q", "-m", "init"]);
        Some(Self {
            repo,
            shared: tempfile::tempdir().unwrap(),
            cache: tempfile::tempdir().unwrap(),
        })
    }

    /// `act EVENT ARGS…`; what it printed, after asserting it succeeded.
    fn run(&self, event: &str, args: &[&str]) -> String {
        let fixtures = repo_root().join("tests/fixtures/act");
        let bin = Path::new(ops_bin()).parent().unwrap();
        let path = std::env::join_paths(
            std::iter::once(bin.to_path_buf())
                .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
        )
        .unwrap();
        let shared = self.shared.path().display();
        let mut act = Command::new("act");
        act.arg(event)
            .args(args)
            .args(["-W", ".forgejo/workflows/ops.yaml", "-P", "docker=-self-hosted"])
            .arg(format!("--env=OPS_TEST_ARTIFACTS={shared}"))
            .arg(format!("--env=OPS_TEST_LOG={shared}/log"))
            .arg(format!(
                "--local-repository=forgejo/upload-artifact@v4={}",
                fixtures.join("upload-artifact").display()
            ))
            .arg(format!(
                "--local-repository=forgejo/download-artifact@v4={}",
                fixtures.join("download-artifact").display()
            ))
            .current_dir(self.repo.path())
            .env("PATH", path)
            .env("XDG_CACHE_HOME", self.cache.path())
            .env("HOME", self.cache.path())
            .env_remove("GITHUB_ACTIONS")
            .stdin(std::process::Stdio::null());
        let out = run_limited(act, "act");
        let printed = format!("{}{}", out.stdout, out.stderr);
        assert!(out.status.success(), "act {event} failed:\n{printed}");
        printed
    }

    fn applied(&self) -> Vec<String> {
        std::fs::read_to_string(self.shared.path().join("log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn artifact(&self, name: &str) -> bool {
        self.shared.path().join(name).is_file()
    }
}

/// The jobs act ran, by the name it gives them (`wave-1-2` for a matrix entry).
fn jobs_succeeded(printed: &str) -> Vec<String> {
    let mut jobs: Vec<String> = printed
        .lines()
        .filter(|l| l.contains("Job succeeded"))
        .filter_map(|l| l.split(['/', ']']).nth(1).map(|j| j.trim().to_owned()))
        .collect();
    jobs.sort();
    jobs
}

#[test]
fn a_pull_request_gets_the_plan_in_its_summary_and_as_an_artifact() {
    let Some(act) = Act::new() else { return };
    let event = act.shared.path().join("pull_request.json");
    std::fs::write(
        &event,
        r#"{"pull_request": {"number": 7, "head": {"ref": "feature", "sha": "0"}, "base": {"ref": "main"}}}"#,
    )
    .unwrap();
    // The review job needs a Forgejo API and reviewdog: only the plan and what it needs.
    let printed = act.run("pull_request", &["-e", event.to_str().unwrap(), "-j", "plan"]);
    assert_eq!(jobs_succeeded(&printed), ["lint", "plan"], "{printed}");
    assert!(
        printed.contains("Summary - ### ops run deploy-authentik --diff"),
        "{printed}"
    );
    assert!(printed.contains("5 tasks: 5 changes"), "{printed}");
    assert!(
        !printed.contains("```text\n::group::"),
        "no group markers in the summary"
    );
    assert!(act.artifact("deploy-plan/deploy.plan") && act.artifact("ops-sarif/ops.sarif"));
    assert!(act.applied().is_empty(), "a pull request applies nothing");
}

#[test]
fn a_merge_applies_the_saved_plan_in_parts_each_task_once_in_order() {
    let Some(act) = Act::new() else { return };
    let printed = act.run("push", &[]);
    assert_eq!(
        jobs_succeeded(&printed),
        ["lint", "plan", "rest", "wave-1-1", "wave-1-2", "wave-2"],
        "{printed}"
    );
    let applied = act.applied();
    let mut sorted = applied.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        ["build", "fetch-a", "fetch-b", "release"],
        "each once: {applied:?}"
    );
    assert_eq!(
        &applied[2..],
        ["build", "release"],
        "after both fetches: {applied:?}"
    );
    // Each part applied only its own task; the rest skipped what other parts did.
    assert!(
        printed.contains("--only: another part of the plan applies it"),
        "{printed}"
    );
}
