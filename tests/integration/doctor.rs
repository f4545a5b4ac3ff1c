//! `ops doctor` and the same checks before `ops run`: what this machine lacks for the
//! selected tasks, with real programs, files, kubeconfigs and closed ports; the run
//! refusing before anything starts, `--keep-going` running the rest, `--diff`
//! reporting such a task as unknown.

use std::path::PathBuf;

use crate::common::{Test, copy_example, repo_root, require_tool, snapshot_settings};
use crate::servers::free_port;

const KUBECONFIG: &str = "apiVersion: v1
kind: Config
current-context: kind-ops
clusters:
- name: a
  cluster: {server: 'http://127.0.0.1:1'}
contexts:
- name: kind-ops
  context: {cluster: a, user: u}
users:
- name: u
  user: {token: t}
";

/// A directory holding only links to these programs (found on the PATH of the
/// tests), for a PATH that has exactly them.
fn only_programs(test: &Test, programs: &[&str]) -> PathBuf {
    let bin = test.root().join(".bin");
    std::fs::create_dir_all(&bin).unwrap();
    let path = std::env::var_os("PATH").unwrap();
    for program in programs {
        let found = std::env::split_paths(&path)
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())
            .unwrap_or_else(|| panic!("`{program}` is on the PATH of the tests"));
        std::os::unix::fs::symlink(found, bin.join(program)).unwrap();
    }
    bin
}

#[test]
fn a_missing_program_is_named_with_the_way_out_and_fails() {
    let ran = Test::new()
        .tasks(
            "[tasks.x]\ncmd = [\"no-such-program-ops-doctor\", \"--flag\"]\n\n[tasks.ok]\ncmd = [\"true\"]\n",
        )
        .run_with(&["doctor"]);
    ran.assert_code(1);
    ran.assert_stdout(
        "✗ x: `no-such-program-ops-doctor` (cmd) is not on PATH — install it, or add its directory to PATH",
    );
    ran.assert_stdout("2 tasks checked: 1 cannot run here");
    assert!(!ran.stdout.contains("ok:"), "{}", ran.stdout);
}

#[test]
fn a_task_that_has_what_it_needs_passes() {
    let ran = Test::new()
        .file("scripts/hello.sh", "#!/bin/sh\necho hello\n")
        .tasks(
            "[tasks.ok]\ncmd = [\"true\"]\n\n[tasks.script]\nscript = \"scripts/hello.sh\"\n\n[tasks.shell]\nshell = \"#!/usr/bin/env sh\\necho hi\"\n",
        )
        .run_with(&["doctor"]);
    ran.assert_code(0);
    assert_eq!(ran.stdout, "3 tasks checked: nothing missing\n");
}

#[test]
fn files_a_step_names_and_the_programs_of_their_first_line() {
    let test = Test::new()
        .file(
            "scripts/tool.py",
            "#!/usr/bin/env no-such-python-ops-doctor\nprint(1)\n",
        )
        .tasks(
            r#"
[tasks.gone]
script = "scripts/missing.sh"

[tasks.python]
script = "scripts/tool.py"

[tasks.role]
cnpg-role = { cluster = "db/pg.yaml", role = { name = "app" } }
"#,
        );
    let ran = test.run_with(&["doctor"]);
    ran.assert_code(1);
    ran.assert_stdout("✗ gone: `scripts/missing.sh` (script) does not exist — create it, or fix `script`");
    ran.assert_stdout(
        "✗ python: `no-such-python-ops-doctor` (the #! line of scripts/tool.py) is not on PATH",
    );
    ran.assert_stdout("✗ role: `db/pg.yaml` (cluster) does not exist — create it, or fix `cluster`");
    // The dependents of a task named on the command line are not checked.
    let one = test.run_with(&["doctor", "gone"]);
    one.assert_code(1);
    one.assert_stdout("1 task checked: 1 cannot run here");
    assert!(!one.stdout.contains("python"), "{}", one.stdout);
}

#[test]
fn secret_sources_that_cannot_be_read() {
    let test = Test::new().tasks(
        r#"
[secrets]
db = { env = "OPS_DOCTOR_UNSET_SECRET" }
token = "op://homelab/Authentik/api-token"

[tasks.backup]
env = { PGPASSWORD = "{{ secrets.db }}" }
shell = "true"

[tasks.call]
shell = "echo {{ secrets.token }} > /dev/null"

[tasks.deploy]
env = { TOKEN = "$OPS_DOCTOR_UNSET_VAR" }
shell = "true"
"#,
    );
    // A PATH with `sh` and no `op`.
    let bin = only_programs(&test, &["sh"]);
    let test = test.env("PATH", bin.to_str().unwrap());
    let ran = test.run_with(&["doctor"]);
    ran.assert_code(1);
    ran.assert_stdout(
        "✗ backup: the secret `db` is read from `$OPS_DOCTOR_UNSET_SECRET`, which is not set — set OPS_DOCTOR_UNSET_SECRET",
    );
    ran.assert_stdout(
        "✗ call: the secret `token` is read with `op` (the 1Password CLI), which is not on PATH — install the 1Password CLI and sign in",
    );
    ran.assert_stdout(
        "✗ deploy: `$OPS_DOCTOR_UNSET_VAR` (in `TOKEN`) is not set — set OPS_DOCTOR_UNSET_VAR, or give a default: ${OPS_DOCTOR_UNSET_VAR:-default}",
    );
    let set = test
        .env("OPS_DOCTOR_UNSET_SECRET", "a long enough value")
        .env("OPS_DOCTOR_UNSET_VAR", "x")
        .run_with(&["doctor", "backup", "deploy"]);
    set.assert_code(0);
}

#[test]
fn a_context_missing_from_the_kubeconfig_and_the_map_that_fixes_it() {
    let test = Test::new()
        .file("kubeconfig", KUBECONFIG)
        .tasks("[tasks.pods]\nkube-check = { context = \"k3s-ringtail\", selector = \"app=web\" }\n");
    let kubeconfig = test.root().join("kubeconfig");
    let test = test.env("KUBECONFIG", kubeconfig.to_str().unwrap());
    let ran = test.run_with(&["doctor"]);
    ran.assert_code(1);
    ran.assert_stdout(&format!(
        "✗ pods: context `k3s-ringtail` (context, tasks/main.toml:2) is not in the kubeconfig {0}, which has: kind-ops — add the context to {0} or map it: --context-map k3s-ringtail=kind-ops",
        kubeconfig.display()
    ));
    let mapped = test.run_with(&["doctor", "--context-map", "k3s-ringtail=kind-ops"]);
    mapped.assert_code(0);
    mapped.assert_stdout("nothing missing");
    // No kubeconfig at all.
    let nowhere = test.root().join("nowhere");
    let none = test
        .env("KUBECONFIG", nowhere.to_str().unwrap())
        .run_with(&["doctor"]);
    none.assert_code(1);
    none.assert_stdout("no kubeconfig at");
}

#[test]
fn services_that_do_not_answer() {
    let caddy = free_port();
    let pg = free_port();
    let test = Test::new()
        .file(
            "db/pg.yaml",
            &std::fs::read_to_string(repo_root().join("examples/homelab/argocd/manifests/databases/homelab-pg.yaml"))
                .unwrap(),
        )
        .tasks(&format!(
            r#"
[tasks.routes]
caddy = {{ admin = "http://127.0.0.1:{caddy}", listen = ":8080", routes = [{{ host = "app.lan", backend = "127.0.0.1:9" }}] }}

[tasks.role]
cnpg-role = {{ cluster = "db/pg.yaml", role = {{ name = "app" }}, verify = {{ host = "127.0.0.1", port = {pg} }} }}
"#
        ));
    let ran = test.run_with(&["doctor"]);
    ran.assert_code(1);
    ran.assert_stdout(&format!(
        "✗ routes: the Caddy admin API at 127.0.0.1:{caddy} (admin) does not answer: connection refused — start Caddy, or fix `admin` (its admin API)"
    ));
    ran.assert_stdout(&format!(
        "✗ role: PostgreSQL at 127.0.0.1:{pg} (verify) does not answer: connection refused — start PostgreSQL there, or fix `verify` (host and port)"
    ));
    // A listener that accepts is enough.
    let listener = std::net::TcpListener::bind(("127.0.0.1", pg)).unwrap();
    let open = test.run_with(&["doctor", "role"]);
    open.assert_code(0);
    drop(listener);
}

/// A file that a dependency writes first, and a service it may start: warnings,
/// and the run goes ahead.
#[test]
fn what_an_earlier_task_provides_is_a_warning() {
    let test = Test::new().tasks(
        r#"
[tasks.generate]
shell = "mkdir -p gen && printf '#!/bin/sh\necho generated > ran\n' > gen/run.sh"

[tasks.phase]
deps = ["generate"]

[tasks.use]
deps = ["phase"]
script = "gen/run.sh"
"#,
    );
    let ran = test.run_with(&["doctor", "use"]);
    ran.assert_code(0);
    ran.assert_stdout(
        "! use: `gen/run.sh` (script) does not exist — may be provided first by generate, which runs before it; otherwise: create it, or fix `script`",
    );
    ran.assert_stdout("3 tasks checked: 1 warning");
    let run = test.run_with(&["run", "use"]);
    run.assert_code(0);
    assert!(
        run.stderr.contains("! use: `gen/run.sh` (script) does not exist"),
        "{}",
        run.stderr
    );
    assert_eq!(run.read("ran"), "generated\n");
    // Alone, nothing provides it.
    let alone = Test::new()
        .tasks("[tasks.use]\nscript = \"gen/run.sh\"\n")
        .run_with(&["doctor"]);
    alone.assert_code(1);
    alone.assert_stdout("✗ use: `gen/run.sh` (script) does not exist");
}

const MIXED: &str = r#"
[tasks.first]
shell = "touch first"

[tasks.missing]
cmd = ["no-such-program-ops-doctor"]
check = ["no-such-program-ops-doctor", "--check"]

[tasks.after]
deps = ["missing"]
shell = "touch after"

[tasks.all]
deps = ["first", "after"]
"#;

#[test]
fn a_run_refuses_before_starting_anything() {
    let ran = Test::new().tasks(MIXED).run_with(&["run", "all"]);
    ran.assert_code(1);
    assert!(
        ran.stderr
            .contains("✗ missing: `no-such-program-ops-doctor` (cmd) is not on PATH"),
        "{}",
        ran.stderr
    );
    assert!(
        ran.stderr.contains("a task cannot run on this machine: missing"),
        "{}",
        ran.stderr
    );
    assert!(
        ran.stderr.contains("(`ops doctor` checks again); nothing"),
        "{}",
        ran.stderr
    );
    assert!(!ran.exists("first"), "no task started");
    assert!(ran.stdout.is_empty(), "no run: {}", ran.stdout);
}

#[test]
fn keep_going_runs_the_rest_and_reports_the_task_not_runnable() {
    let test = Test::new().tasks(MIXED);
    let ran = test.run_with(&["run", "all", "--keep-going", "-j", "1"]);
    ran.assert_code(1);
    assert!(ran.exists("first"), "the independent task ran");
    assert!(!ran.exists("after"), "its dependent did not");
    let summary = &ran.stdout[ran.stdout.find("\nTASK").expect("a summary")..];
    let line = |task: &str| {
        summary
            .lines()
            .find(|l| l.starts_with(&format!("{task} ")))
            .unwrap_or_else(|| panic!("{task} in the summary:\n{}", ran.stdout))
            .to_owned()
    };
    assert!(line("first").contains("ok"), "{}", line("first"));
    assert!(
        line("missing").contains("not runnable")
            && line("missing").contains("`no-such-program-ops-doctor` (cmd) is not on PATH"),
        "{}",
        line("missing")
    );
    assert!(
        line("after").contains("dependency `missing` is not runnable here"),
        "{}",
        line("after")
    );
    ran.assert_stdout("1 not runnable");

    let json = test.run_with(&["run", "all", "--keep-going", "--output", "json"]);
    json.assert_code(1);
    let events = json.events();
    let missing = events
        .iter()
        .find(|e| e["event"] == "missing")
        .expect("a missing event");
    assert_eq!(missing["findings"][0]["task"], "missing");
    assert_eq!(missing["findings"][0]["blocks"], true);
    let finished = events.iter().find(|e| e["event"] == "run_finished").unwrap();
    let status = |task: &str| {
        finished["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["task"] == task)
            .map(|r| r["status"].clone())
            .unwrap()
    };
    assert_eq!(status("missing"), "not_runnable");
    assert_eq!(status("after"), "skipped");
}

#[test]
fn diff_reports_a_task_that_cannot_run_as_unknown() {
    let test = Test::new().tasks(&MIXED.replace(
        "shell = \"touch first\"",
        "shell = \"touch first\"\ncheck-shell = \"touch checked\"",
    ));
    let ran = test.run_with(&["run", "all", "--diff"]);
    ran.assert_code(0);
    let summary = &ran.stdout[ran.stdout.find("\nTASK").expect("a summary")..];
    let missing = summary
        .lines()
        .find(|l| l.starts_with("missing "))
        .unwrap_or_else(|| panic!("{}", ran.stdout));
    assert!(
        missing.contains("unknown")
            && missing.contains("cannot run here: `no-such-program-ops-doctor` (check) is not on PATH"),
        "{missing}"
    );
    assert!(ran.exists("checked"), "the other checks ran");
    let detailed = test.run_with(&["run", "all", "--diff", "--detailed-exitcode"]);
    detailed.assert_code(3);
}

#[test]
fn doctor_json_lists_the_findings() {
    let ran = Test::new()
        .tasks("[tasks.x]\ncmd = [\"no-such-program-ops-doctor\"]\n")
        .run_with(&["doctor", "--output", "json"]);
    ran.assert_code(1);
    let value: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(value["checked"], 1);
    assert_eq!(value["blocked"], serde_json::json!(["x"]));
    assert_eq!(
        value["findings"][0]["what"],
        "`no-such-program-ops-doctor` (cmd) is not on PATH"
    );
}

/// `ops doctor` on the bundled example, on a machine with the tools the tests
/// install: no kubeconfig context, the example's services on closed ports, no
/// secrets set.
#[test]
fn doctor_on_the_example() {
    let tools = ["nix-build", "ansible-playbook", "kubectl", "git"];
    if !tools.iter().all(|t| require_tool(t)) {
        return;
    }
    let test = Test::new();
    std::fs::remove_dir(test.root().join("tasks")).unwrap();
    copy_example(&repo_root().join("examples/homelab"), test.root());
    let bin = only_programs(
        &test,
        &[
            "sh",
            "cat",
            "nix-build",
            "nix-instantiate",
            "nix-store",
            "git",
            "ansible-playbook",
            "kubectl",
        ],
    );
    std::fs::write(test.root().join(".kubeconfig"), "").unwrap();
    let kubeconfig = test.root().join(".kubeconfig");
    let test = test
        .env("PATH", bin.to_str().unwrap())
        .env("KUBECONFIG", kubeconfig.to_str().unwrap());
    let (caddy_port, pg_port) = (free_port(), free_port());
    let caddy = format!("caddy_admin=http://127.0.0.1:{caddy_port}");
    let pg = format!("pg_port={pg_port}");
    let mut command = test.command_with(&[
        "doctor",
        "--var",
        "pg_host=127.0.0.1",
        "--var",
        &pg,
        "--var",
        &caddy,
    ]);
    command.env_remove("PGPASSWORD").env_remove("ZITADEL_DB_PASSWORD");
    let out = command.output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout)
        .replace(&format!(":{pg_port} "), ":[PG_PORT] ")
        .replace(&format!(":{caddy_port} "), ":[CADDY_PORT] ");
    snapshot_settings().bind(|| insta::assert_snapshot!("doctor_example", stdout));
}
