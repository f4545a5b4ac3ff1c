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

#[test]
fn dry_run_shows_every_step_kind_without_running_anything() {
    let tasks = r#"
[vars]
version = "2026.2.0"

[tasks.version]
nix-eval = { file = "version.nix", attr = "version" }

[tasks.build]
deps = ["version"]
nix-build = { file = "containers/authentik/default.nix", out-link = "result-authentik", args = { version = "{{ tasks.version.value }}" } }

[tasks.release]
deps = ["build"]
git-tag = { tag = "authentik-v{{ version }}", push = "origin" }

[tasks.provision-caddy]
ansible = { playbook = "ansible/playbooks/indri.yml", inventory = "ansible/inventory/hosts.yml", tags = ["caddy"], limit = "indri", extra-vars = { caddy_https_port = 443 } }

[tasks.caddy-routes]
deps = ["provision-caddy"]
caddy = { admin = "http://127.0.0.1:2019", listen = ":443", domain = "ops.example.net", routes = [{ host = "authentik", backend = "https://authentik.example.net" }] }

[tasks.migration-verified]
gate = { shell = "kubectl logs deploy/iam", expect = '"total_failed":0' }

[tasks.shutdown-zitadel]
deps = ["migration-verified"]
gate = { confirm = "Shut Zitadel down?" }

[tasks.db-role]
cnpg-role = { cluster = "db/pg.yaml", role = { name = "authentik", login = true }, verify = { port = 5432 } }

[tasks.apply]
deps = ["release", "db-role"]
kube-apply = { path = "argocd/manifests/authentik", context = "k3s-ringtail", namespace = "authentik", wait = "5m" }

[tasks.server-ready]
deps = ["apply"]
kube-wait = { context = "k3s-ringtail", namespace = "authentik", selector = "app.kubernetes.io/component=server", timeout = "2m" }

[tasks.pods]
deps = ["server-ready"]
kube-check = { context = "k3s-ringtail", namespace = "authentik", selector = "app.kubernetes.io/name=authentik", min-ready = 2 }

[tasks.services-check]
deps = ["pods", "caddy-routes", "shutdown-zitadel"]
http-check = { checks = [{ name = "authentik", url = "https://authentik.ops.example.net/-/health/live/", body = "ok" }] }
"#;
    // No kubeconfig and no programs: a dry run reads and spawns nothing.
    let ran = Test::new()
        .tasks(tasks)
        .env("PATH", "/nonexistent")
        .env("KUBECONFIG", "/nonexistent")
        .args(&[
            "run",
            "services-check",
            "--dry-run",
            "--context-map",
            "k3s-ringtail=kind-ci",
        ])
        .run();
    ran.assert_code(0);
    assert!(!ran.exists("result-authentik"));
    snapshot_settings().bind(|| insta::assert_snapshot!("dry_run_step_kinds", ran.stdout));
}
