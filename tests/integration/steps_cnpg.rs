//! `cnpg-role`: the Cluster manifest edited in place (comments kept, idempotent,
//! atomic), and the role verified in a real PostgreSQL started by the test.

use std::path::Path;

use crate::common::{Test, repo_root, require_tool, snapshot_settings};
use crate::servers::Postgres;

fn cluster() -> String {
    std::fs::read_to_string(repo_root().join("examples/homelab/argocd/manifests/databases/homelab-pg.yaml"))
        .unwrap()
}

const TASKS: &str = r#"
[tasks.add-grafana]
cnpg-role = { cluster = "db/pg.yaml", role = { name = "grafana", login = true, password-secret = "homelab-pg-grafana" } }

[tasks.update-miniflux]
cnpg-role = { cluster = "db/pg.yaml", role = { name = "miniflux", login = true, createdb = true, connection-limit = 10, password-secret = "homelab-pg-miniflux" } }
"#;

#[test]
fn adds_and_updates_roles_keeping_every_comment() {
    let test = Test::new().file("db/pg.yaml", &cluster()).tasks(TASKS);
    let original = cluster();

    let diff = test.run_with(&["run", "add-grafana", "update-miniflux", "--diff", "-j", "1"]);
    diff.assert_code(0);
    assert_eq!(
        std::fs::read_to_string(test.root().join("db/pg.yaml")).unwrap(),
        original,
        "--diff writes nothing"
    );

    test.run_with(&["run", "add-grafana", "update-miniflux", "-j", "1"])
        .assert_code(0);
    let edited = std::fs::read_to_string(test.root().join("db/pg.yaml")).unwrap();
    for comment in original.lines().filter(|l| l.trim_start().starts_with('#')) {
        assert!(edited.contains(comment), "comment kept: {comment}");
    }
    let settings = snapshot_settings();
    settings.bind(|| {
        insta::assert_snapshot!("cnpg_diff", diff.stdout);
        insta::assert_snapshot!("cnpg_edited", edited);
    });

    test.run_with(&[
        "run",
        "add-grafana",
        "update-miniflux",
        "--diff",
        "--detailed-exitcode",
    ])
    .assert_code(0);
    test.run_with(&["run", "add-grafana", "update-miniflux"])
        .assert_code(0);
    assert_eq!(
        std::fs::read_to_string(test.root().join("db/pg.yaml")).unwrap(),
        edited,
        "idempotent: byte for byte"
    );
}

#[test]
fn a_file_without_a_cluster_is_a_clear_failure() {
    let ran = Test::new()
        .file("db/pg.yaml", "apiVersion: v1\nkind: ConfigMap\n")
        .tasks(TASKS)
        .args(&["run", "add-grafana"])
        .run();
    ran.assert_code(1);
    assert!(
        ran.stdout.contains("no CloudNativePG `Cluster` in the file"),
        "{}",
        ran.stdout
    );
}

fn verify_tasks(port: u16) -> String {
    format!(
        "[tasks.authentik-role]\ncnpg-role = {{ cluster = \"db/pg.yaml\", role = {{ name = \"authentik\", login = true, createdb = true, password-secret = \"homelab-pg-authentik\" }}, verify = {{ host = \"127.0.0.1\", port = {port}, user = \"postgres\" }} }}\n"
    )
}

#[test]
fn verification_against_a_real_postgresql() {
    if !require_tool("psql") || !Path::new("/usr/lib/postgresql").exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "PostgreSQL is required under CI=true"
        );
        eprintln!("skipped: PostgreSQL server is not installed");
        return;
    }
    let pg = Postgres::start();
    let test = Test::new()
        .file("db/pg.yaml", &cluster())
        .tasks(&verify_tasks(pg.port));

    let missing = test.run_with(&["run", "authentik-role"]);
    missing.assert_code(1);
    assert!(
        missing
            .stdout
            .contains("role `authentik` does not exist in PostgreSQL"),
        "{}",
        missing.stdout
    );

    pg.sql("CREATE ROLE authentik LOGIN NOCREATEDB");
    let wrong = test.run_with(&["run", "authentik-role"]);
    wrong.assert_code(1);
    assert!(
        wrong.stdout.contains("createdb is false, expected true"),
        "{}",
        wrong.stdout
    );

    pg.sql("ALTER ROLE authentik CREATEDB");
    let ok = test.run_with(&["run", "authentik-role"]);
    ok.assert_code(0);
    assert!(
        ok.stdout
            .contains("has role `authentik` with the requested attributes"),
        "{}",
        ok.stdout
    );
}
