//! `cnpg-role`: the Cluster manifest edited in place (comments kept, idempotent,
//! atomic), and the role verified in a real PostgreSQL started by the test.

use std::path::Path;

use crate::common::{Test, repo_root, require_tool, snapshot_settings};
use crate::servers::{Certificates, Postgres};

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

fn postgres_available() -> bool {
    if require_tool("psql") && require_tool("openssl") && Path::new("/usr/lib/postgresql").exists() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "PostgreSQL and openssl are required under CI=true"
    );
    eprintln!("skipped: PostgreSQL server or openssl is not installed");
    false
}

#[test]
fn verification_over_tls_as_sslmode_says() {
    if !postgres_available() {
        return;
    }
    let certs_dir = tempfile::tempdir().unwrap();
    let certs = Certificates::make(certs_dir.path());
    let pg = Postgres::start_tls(&certs);
    pg.sql("CREATE ROLE authentik LOGIN CREATEDB");
    let port = pg.port;
    let task = |name: &str, verify: &str| {
        format!(
            "[tasks.{name}]\ncnpg-role = {{ cluster = \"db/pg.yaml\", role = {{ name = \"authentik\", login = true, createdb = true }}, verify = {{ port = {port}, {verify} }} }}\n\n"
        )
    };
    let tasks = [
        task("plain", r#"host = "127.0.0.1", sslmode = "disable""#),
        task("preferred", r#"host = "127.0.0.1""#),
        task("required", r#"host = "127.0.0.1", sslmode = "require""#),
        task("wrong-name", r#"host = "127.0.0.1", sslmode = "verify-full", sslrootcert = "certs/ca.pem""#),
        task("ca-only", r#"host = "127.0.0.1", sslmode = "verify-ca", sslrootcert = "certs/ca.pem""#),
        task(
            "full",
            r#"host = "pg.internal", hostaddr = "127.0.0.1", sslmode = "verify-full", sslrootcert = "certs/ca.pem""#,
        ),
        task(
            "other-ca",
            r#"host = "pg.internal", hostaddr = "127.0.0.1", sslmode = "verify-full", sslrootcert = "certs/other-ca.pem""#,
        ),
        task("system-roots", r#"host = "pg.internal", hostaddr = "127.0.0.1", sslmode = "verify-full""#),
    ]
    .concat();
    let test = Test::new()
        .file("db/pg.yaml", &cluster())
        .file("certs/ca.pem", &std::fs::read_to_string(&certs.ca).unwrap())
        .file(
            "certs/other-ca.pem",
            &std::fs::read_to_string(&certs.other_ca).unwrap(),
        )
        .tasks(&tasks);

    for ok in ["preferred", "required", "ca-only", "full"] {
        let ran = test.run_with(&["run", ok]);
        assert!(
            ran.code == 0
                && ran
                    .stdout
                    .contains("has role `authentik` with the requested attributes"),
            "{ok}: {}{}",
            ran.stdout,
            ran.stderr
        );
    }
    for (failing, why) in [
        ("plain", "no encryption"),
        ("wrong-name", "not valid for name"),
        ("other-ca", "UnknownIssuer (not signed by a CA of sslrootcert)"),
        (
            "system-roots",
            "UnknownIssuer (not signed by a CA the system trusts; give sslrootcert)",
        ),
    ] {
        let ran = test.run_with(&["run", failing]);
        ran.assert_code(1);
        assert!(
            ran.stdout.contains("cannot connect to PostgreSQL") && ran.stdout.contains(why),
            "{failing}: expected `{why}`:\n{}",
            ran.stdout
        );
    }
    let plan = test.run_with(&["run", "full", "--dry-run"]);
    plan.assert_stdout("verify in PostgreSQL at pg.internal:");
    plan.assert_stdout("(127.0.0.1) (pg_roles, sslmode verify-full)");

    let bad = Test::new()
        .file("db/pg.yaml", &cluster())
        .tasks(&task("typo", r#"sslmode = "verify_full""#))
        .run_with(&["run", "typo"]);
    bad.assert_code(2);
    assert!(
        bad.stderr
            .contains("`verify.sslmode` of task `typo` is not an sslmode")
            && bad.stderr.contains("verify-full")
            && bad.stderr.contains("main.toml:2:"),
        "{}",
        bad.stderr
    );
}

/// The manifest read by PyYAML (a YAML 1.1 reader, as many tools still are), as JSON.
fn read_with_pyyaml(path: &Path) -> Option<serde_json::Value> {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
        ])
        .arg(path)
        .output()
        .ok()?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !(stderr.contains("No module named") && std::env::var("CI").as_deref() == Ok("true")),
            "PyYAML is required under CI=true (scripts/install-test-deps.sh installs ansible-core, which brings it): {stderr}"
        );
        assert!(
            stderr.contains("No module named"),
            "PyYAML could not read the file: {stderr}"
        );
        eprintln!("skipped: PyYAML is not installed");
        return None;
    }
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

const MINIMAL: &str = "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: pg\nspec:\n  managed:\n    roles:\n      - name: app\n        login: true\n";

#[test]
fn names_any_yaml_reader_would_misread_are_quoted() {
    let tasks = r#"
[tasks.odd]
cnpg-role = { cluster = "pg.yaml", role = { name = "yes", login = true, ensure = "present", password-secret = "s: x", comment = "on" } }
"#;
    let test = Test::new()
        .file("pg.yaml", MINIMAL.trim_end_matches('\n'))
        .tasks(tasks);
    test.run_with(&["run", "odd"]).assert_code(0);
    let edited = std::fs::read_to_string(test.root().join("pg.yaml")).unwrap();
    assert!(edited.ends_with('\n'), "a final newline: {edited:?}");
    let Some(doc) = read_with_pyyaml(&test.root().join("pg.yaml")) else {
        return;
    };
    let roles = doc["spec"]["managed"]["roles"].as_array().unwrap();
    let odd = roles
        .iter()
        .find(|r| r["name"] == "yes")
        .unwrap_or_else(|| panic!("{edited}"));
    assert_eq!(odd["passwordSecret"]["name"], "s: x", "{edited}");
    assert_eq!(odd["comment"], "on", "{edited}");
    assert_eq!(odd["login"], true);
    assert_eq!(roles[0]["name"], "app", "the other role is untouched");
}

#[test]
fn a_role_list_in_flow_style_is_refused_not_broken() {
    let flow = "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: pg\nspec:\n  managed:\n    roles: [{name: a, login: true}]\n";
    let tasks = "[tasks.add]\ncnpg-role = { cluster = \"pg.yaml\", role = { name = \"b\", login = true } }\n";
    let test = Test::new().file("pg.yaml", flow).tasks(tasks);
    let ran = test.run_with(&["run", "add"]);
    ran.assert_code(1);
    assert!(ran.stdout.contains("flow style"), "{}", ran.stdout);
    assert_eq!(
        std::fs::read_to_string(test.root().join("pg.yaml")).unwrap(),
        flow,
        "untouched"
    );
}
