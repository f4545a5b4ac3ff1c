use crate::common::Test;

const TASKS: &str = r#"
[secrets]
db_password = { env = "OPS_TEST_DB_PASSWORD" }
api_token = "op://homelab/Authentik/api-token"

[tasks.leaky]
env = { PGPASSWORD = "{{ secrets.db_password }}" }
shell = "echo connecting with $PGPASSWORD; echo \"token={{ secrets.api_token }}\" >&2; echo $PGPASSWORD > seen"

[tasks.fails-loudly]
shell = "echo 'auth failed for {{ secrets.db_password }}' >&2; exit 1"
"#;

/// A stand-in for the 1Password CLI that records its arguments (the real one needs
/// an account and the network).
const FAKE_OP: &str = "#!/bin/sh\necho \"$@\" >> \"$OPS_TEST_OP_LOG\"\nprintf 'tok-%s' 9f8e7d6c5b\n";

fn test() -> Test {
    let test = Test::new().tasks(TASKS).file("bin/op", FAKE_OP);
    let bin = test.root().join("bin");
    std::fs::set_permissions(
        bin.join("op"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let log = test.root().join("op.log").display().to_string();
    test.env("PATH", &path)
        .env("OPS_TEST_DB_PASSWORD", "s3cr3t-pw")
        .env("OPS_TEST_OP_LOG", &log)
}

#[test]
fn secrets_reach_the_task_but_never_the_output() {
    let test = test();
    let ran = test.run_with(&["run", "leaky"]);
    ran.assert_code(0);
    assert_eq!(ran.read("seen"), "s3cr3t-pw\n", "the task gets the real value");
    assert!(ran.stdout.contains("connecting with ***"), "{}", ran.stdout);
    assert!(ran.stdout.contains("token=***"), "{}", ran.stdout);
    for secret in ["s3cr3t-pw", "tok-9f8e7d6c5b"] {
        assert!(
            !ran.stdout.contains(secret) && !ran.stderr.contains(secret),
            "{secret} leaked"
        );
    }
    assert_eq!(
        ran.read("op.log"),
        "read --no-newline op://homelab/Authentik/api-token\n"
    );

    let json = test.run_with(&["run", "leaky", "--output", "json"]);
    json.assert_code(0);
    assert!(!json.stdout.contains("s3cr3t-pw") && !json.stdout.contains("tok-9f8e7d6c5b"));
    assert!(json.stdout.contains("connecting with ***"));
}

#[test]
fn a_failure_message_does_not_leak_the_secret() {
    let ran = test().run_with(&["run", "fails-loudly", "--output", "json"]);
    ran.assert_code(1);
    assert!(ran.stdout.contains("auth failed for ***"), "{}", ran.stdout);
    assert!(!ran.stdout.contains("s3cr3t-pw"));
}

#[test]
fn dry_run_shows_the_reference_not_the_value() {
    let ran = test().run_with(&["run", "leaky", "--dry-run"]);
    ran.assert_code(0);
    assert!(ran.stdout.contains("{{ secrets.api_token }}"), "{}", ran.stdout);
    assert!(!ran.exists("op.log"), "--dry-run reads no secret");
}

#[test]
fn a_missing_secret_fails_the_task_that_needs_it() {
    let test = Test::new().tasks(TASKS);
    let ran = test.run_with(&["run", "fails-loudly"]);
    ran.assert_code(1);
    assert!(
        ran.stderr.contains(
            "the secret `db_password` is read from `$OPS_TEST_DB_PASSWORD`, which is not set — set OPS_TEST_DB_PASSWORD"
        ),
        "{}",
        ran.stderr
    );
}

#[test]
fn an_undeclared_secret_is_a_load_error() {
    let ran = Test::new()
        .tasks("[tasks.x]\nshell = \"echo {{ secrets.nope }}\"\n")
        .args(&["validate"])
        .run();
    ran.assert_code(2);
    assert!(
        ran.stderr.contains("unknown variable `secrets.nope`"),
        "{}",
        ran.stderr
    );
    assert!(
        ran.stderr.contains("declare it under [secrets]"),
        "{}",
        ran.stderr
    );
}
