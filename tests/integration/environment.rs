//! A task's environment: `$VAR`, `${VAR:-default}` and `~` in `env` and `dir` from the
//! environment of `ops`, env files (dotenv), the repository's `ops.toml` settings, and
//! what `--dry-run` shows of them (never a secret's value).

use crate::common::Test;

const DUMP: &str =
    r#"printf '%s|%s|%s|%s|%s\n' "$KUBECONFIG" "$CLUSTER" "$NOTES" "$PRICE" "$(pwd)" > "$OPS_ROOT/env.txt""#;

#[test]
fn env_and_dir_read_the_environment_of_ops() {
    let test = Test::new()
        .file("work/sub/.keep", "")
        .env("HOME", "/home/op")
        .env("WORK", "work")
        .env("EMPTY", "")
        .tasks(&format!(
            r#"
[tasks.t]
env = {{ KUBECONFIG = "$HOME/.kube/config", CLUSTER = "${{EMPTY:-k3s}}-${{UNSET_X:-lab}}", NOTES = "~/notes and ~", PRICE = "$$5, $ 3" }}
dir = "${{WORK}}/sub"
shell = '''{DUMP}'''
"#
        ));
    let ran = test.run_with(&["run", "t"]);
    ran.assert_code(0);
    let root = test.root().canonicalize().unwrap();
    assert_eq!(
        ran.read("env.txt"),
        format!(
            "/home/op/.kube/config|k3s-lab|/home/op/notes and ~|$5, $ 3|{}/work/sub\n",
            root.display()
        )
    );
}

#[test]
fn an_unset_variable_fails_only_the_task_that_needs_it() {
    let test = Test::new().tasks(
        r#"
[tasks.needs]
env = { KUBECONFIG = "$NOPE_NOT_SET/config" }
shell = "touch ran"

[tasks.other]
shell = "touch other"
"#,
    );
    let ran = test.run_with(&["run", "needs"]);
    ran.assert_code(1);
    assert!(
        ran.stderr.contains(
            "✗ needs: `$NOPE_NOT_SET` (in `KUBECONFIG`) is not set — set NOPE_NOT_SET, or give a default: ${NOPE_NOT_SET:-default}"
        ),
        "{}",
        ran.stderr
    );
    assert!(!ran.exists("ran"), "the task must not start");
    test.run_with(&["run", "other"]).assert_code(0);
    test.run_with(&["validate"]).assert_code(0);
}

#[test]
fn env_files_are_read_in_order_and_env_wins() {
    let test = Test::new()
        .file(
            ".env",
            "# shared\nA=from-dotenv\nexport B=\"two words\"\nC='single $NOT'\nD=dotenv\n",
        )
        .file("tasks/prod.env", "A=from-prod\n")
        .tasks(
            r#"
[tasks.t]
env-file = [".env", "tasks/prod.env", { path = "local.env", optional = true }]
env = { D = "env" }
shell = 'printf "%s|%s|%s|%s\n" "$A" "$B" "$C" "$D" > out'

[tasks.missing]
env-file = ["nowhere.env"]
shell = "touch ran"
"#,
        );
    let ran = test.run_with(&["run", "t"]);
    ran.assert_code(0);
    assert_eq!(ran.read("out"), "from-prod|two words|single $NOT|env\n");

    let missing = test.run_with(&["run", "missing"]);
    missing.assert_code(1);
    assert!(
        missing
            .stderr
            .contains("✗ missing: the env file `nowhere.env` does not exist"),
        "{}",
        missing.stderr
    );
    assert!(!missing.exists("ran"));
}

#[test]
fn a_broken_env_file_is_reported_without_its_values() {
    let test = Test::new()
        .file(".env", "GOOD=1\nTOKEN=\"hunter2-unterminated\nOTHER=2\n")
        .tasks("[tasks.t]\nenv-file = [\".env\"]\nshell = \"touch ran\"\n");
    let ran = test.run_with(&["run", "t"]);
    ran.assert_code(1);
    assert!(ran.stdout.contains("env file `.env`"), "{}", ran.stdout);
    assert!(!ran.stdout.contains("hunter2") && !ran.stderr.contains("hunter2"));
    assert!(!ran.exists("ran"));
}

#[test]
fn dry_run_shows_env_dir_and_env_files_but_no_secret() {
    let test = Test::new()
        .env("HOME", "/home/op")
        .env("DEPLOY_TOKEN", "tok-9f8e7d")
        .tasks(
            r#"
[secrets]
token = { env = "DEPLOY_TOKEN" }

[tasks.t]
env-file = [".env", { path = "local.env", optional = true }]
env = { KUBECONFIG = "$HOME/.kube/config", RAW = "$DEPLOY_TOKEN", REF = "{{ secrets.token }}" }
dir = "~/src"
cmd = ["true"]
"#,
        );
    let ran = test.run_with(&["run", "t", "--dry-run"]);
    ran.assert_code(0);
    ran.assert_stdout("in /home/op/src")
        .assert_stdout("env files: .env, local.env (optional)")
        .assert_stdout("env KUBECONFIG=/home/op/.kube/config")
        .assert_stdout("env RAW=${DEPLOY_TOKEN}")
        .assert_stdout("env REF={{ secrets.token }}");
    assert!(!ran.stdout.contains("tok-9f8e7d"), "{}", ran.stdout);
    let json = test.run_with(&["run", "t", "--dry-run", "--output", "json"]);
    assert!(
        json.stdout.contains(r#""KUBECONFIG":"/home/op/.kube/config""#),
        "{}",
        json.stdout
    );
    assert!(!json.stdout.contains("tok-9f8e7d"));
}

#[test]
fn the_repository_settings_apply_to_every_task_file() {
    let test = Test::new()
        .file(
            "ops.toml",
            "[settings]\ninterpreter = [\"bash\", \"-c\"]\nenv-file = [\"repo.env\"]\n",
        )
        .file("repo.env", "FROM_REPO=yes\n")
        .file("tasks/a.toml", "[tasks.a]\nshell = 'echo \"${BASH_VERSION:+bash} $FROM_REPO\" > a'\n")
        .file(
            "tasks/b.toml",
            "[settings]\ninterpreter = [\"sh\", \"-c\"]\n\n[tasks.b]\nshell = 'echo \"${BASH_VERSION:-sh} $FROM_REPO\" > b'\n",
        );
    test.run_with(&["run", "a", "b"]).assert_code(0);
    assert_eq!(
        std::fs::read_to_string(test.root().join("a")).unwrap(),
        "bash yes\n"
    );
    assert_eq!(
        std::fs::read_to_string(test.root().join("b")).unwrap(),
        "sh yes\n"
    );
}

#[test]
fn a_broken_repository_settings_file_is_a_load_error() {
    let ran = Test::new()
        .file("ops.toml", "[settings]\ninterpreter = []\nshel = 1\n")
        .tasks("[tasks.t]\nshell = \"touch ran\"\n")
        .args(&["run", "t"])
        .run();
    ran.assert_code(2);
    assert!(ran.stderr.contains("ops.toml"), "{}", ran.stderr);
    assert!(!ran.exists("ran"));
}
