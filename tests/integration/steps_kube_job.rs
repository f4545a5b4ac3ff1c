//! `kube-job` through the real binary against the in-memory API server, whose Job
//! pods run their command on this machine: logs followed and judged, secrets only by
//! reference, retries as `backoffLimit`, a stuck image pull, timeouts and Ctrl-C
//! deleting the Job, `--diff` as a `dryRun=All` create, `--dry-run` asking nothing.

use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::json;

use crate::common::Test;
use crate::fake_kube::FakeKube;

const MAP: &str = "--context-map=k3s-ringtail=kind-ops-test";

/// A task `migrate` running `script` in a Job of namespace `dex` (which exists, with
/// the Secret `dex-db`), and `report` echoing its outputs.
fn setup(fake: &FakeKube, script: &str, extra: &str) -> Test {
    fake.insert(
        "v1/-/namespaces/dex",
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "dex"}}),
    );
    fake.insert(
        "v1/dex/secrets/dex-db",
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "dex-db", "namespace": "dex"},
               "data": {"password": "czNjcmV0LXB3"}}),
    );
    let kubeconfig = fake.kubeconfig("kind-ops-test");
    let script = toml_string(script);
    Test::new()
        .tasks(&format!(
            r#"
[tasks.migrate]
kube-job = {{ context = "k3s-ringtail", namespace = "dex", image = "registry.example.net/dex-migrate@sha256:0123",
             command = ["sh", "-c", {script}], env = {{ LOG_FORMAT = "json" }},
             secret-env = {{ DB_PASSWORD = {{ secret = "dex-db", key = "password" }} }},
             expect = '"total_failed":(?P<failed>\d+)', reject = '"level":"ERROR"'{extra} }}

[tasks.report]
deps = ["migrate"]
shell = "echo failed={{{{ tasks.migrate.failed }}}} pod={{{{ tasks.migrate.pod }}}} code={{{{ tasks.migrate.exit-code }}}}"
"#
        ))
        .env("KUBECONFIG", kubeconfig.to_str().unwrap())
}

/// `test` with `from` replaced by `to` in its task file.
fn edited(test: Test, from: &str, to: &str) -> Test {
    let text = std::fs::read_to_string(test.root().join("tasks/main.toml")).unwrap();
    test.file("tasks/main.toml", &text.replace(from, to))
}

fn toml_string(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// The id of the only run recorded in the journal.
fn run_id(test: &Test) -> String {
    let runs: Vec<_> = std::fs::read_dir(test.root().join(".ops/runs"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(runs.len(), 1);
    runs[0].path().file_stem().unwrap().to_string_lossy().into_owned()
}

fn posts(fake: &FakeKube) -> Vec<crate::fake_kube::Recorded> {
    fake.requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect()
}

fn deletes(fake: &FakeKube) -> Vec<crate::fake_kube::Recorded> {
    fake.requests()
        .into_iter()
        .filter(|r| r.method == "DELETE")
        .collect()
}

#[test]
fn a_job_runs_its_log_is_judged_and_its_captures_become_outputs() {
    let fake = FakeKube::start();
    let script = r#"echo "password=$(printf %s "$DB_PASSWORD" | base64)"; echo "format=$LOG_FORMAT"; echo '{"level":"INFO","total_failed":0,"total":12}'"#;
    let test = setup(&fake, script, "");
    let ran = test.run_with(&["run", "report", MAP]);
    ran.assert_code(0);
    // The value of the Secret (base64 `czNjcmV0LXB3`) reached the process.
    ran.assert_stdout("password=czNjcmV0LXB3");
    ran.assert_stdout("format=json");
    ran.assert_stdout(r#"Job met: {"level":"INFO","total_failed":0,"total":12}"#);
    ran.assert_stdout("failed = 0");
    ran.assert_stdout("Succeeded (exit code 0)");
    let post = &posts(&fake)[0];
    assert_eq!(post.path, "/apis/batch/v1/namespaces/dex/jobs");
    assert!(
        !post.body.contains("s3cret"),
        "no secret value in the Job: {}",
        post.body
    );
    let job: serde_json::Value = serde_json::from_str(&post.body).unwrap();
    let name = job["metadata"]["name"].as_str().unwrap().to_owned();
    assert!(
        name.starts_with("migrate-") && name.len() == "migrate-".len() + 5,
        "{name}"
    );
    assert_eq!(job["metadata"]["labels"]["ops/task"], "migrate");
    assert_eq!(job["metadata"]["labels"]["app.kubernetes.io/managed-by"], "ops");
    let run_id = run_id(&test);
    assert_eq!(job["metadata"]["labels"]["ops/run-id"], run_id.as_str());
    assert_eq!(job["spec"]["backoffLimit"], 0);
    assert_eq!(job["spec"]["activeDeadlineSeconds"], 600);
    assert_eq!(
        job["spec"]["template"]["spec"]["containers"][0]["env"][1]["valueFrom"]["secretKeyRef"],
        json!({"name": "dex-db", "key": "password"})
    );
    ran.assert_stdout(&format!("failed=0 pod={name}-p0 code=0"));
    // Passed, so the Job is deleted, with its pods in the background.
    let deleted = deletes(&fake);
    assert_eq!(deleted.len(), 1, "{deleted:?}");
    assert_eq!(
        deleted[0].path,
        format!("/apis/batch/v1/namespaces/dex/jobs/{name}")
    );
    assert!(
        deleted[0].body.contains(r#""propagationPolicy":"Background""#),
        "{:?}",
        deleted[0]
    );
    ran.assert_stdout(&format!("deleted Job {name} (propagation Background)"));
}

#[test]
fn a_failing_pod_is_retried_by_the_job_and_a_failed_job_is_kept() {
    let fake = FakeKube::start();
    let test = setup(&fake, "echo trying; exit 3", ", retries = 1");
    let ran = test.run_with(&["run", "migrate", MAP]);
    ran.assert_code(1);
    let all = format!("{}{}", ran.stdout, ran.stderr);
    assert!(
        all.contains("exited with code 3; the Job starts another (1 of 1 failures allowed)"),
        "{all}"
    );
    assert!(all.contains("the Job failed: pod migrate-"), "{all}");
    assert!(
        all.contains("-p1 exited with code 3"),
        "the second pod was followed: {all}"
    );
    assert_eq!(all.matches("│ trying").count(), 2, "{all}");
    assert!(all.contains("kept Job migrate-"), "{all}");
    assert!(deletes(&fake).is_empty());
    let job: serde_json::Value = serde_json::from_str(&posts(&fake)[0].body).unwrap();
    assert_eq!(job["spec"]["backoffLimit"], 1);
}

#[test]
fn reject_and_a_missing_expect_fail_the_step_on_the_log() {
    let fake = FakeKube::start();
    let test = setup(
        &fake,
        r#"echo '{"level":"ERROR","msg":"user 7"}'; echo '{"total_failed":0}'"#,
        "",
    );
    let ran = test.run_with(&["run", "migrate", MAP]);
    ran.assert_code(1);
    let all = format!("{}{}", ran.stdout, ran.stderr);
    assert!(
        all.contains(
            r#"Job rejected: /"level":"ERROR"/ matched on line 1: {"level":"ERROR","msg":"user 7"}"#
        ),
        "{all}"
    );

    let fake = FakeKube::start();
    let test = setup(&fake, "echo nothing to see", ", keep = \"never\"");
    let ran = test.run_with(&["run", "migrate", MAP]);
    ran.assert_code(1);
    let all = format!("{}{}", ran.stdout, ran.stderr);
    assert!(
        all.contains(r#"Job not met: /"total_failed":(?P<failed>\d+)/ not found in the log of pod migrate-"#),
        "{all}"
    );
    assert_eq!(deletes(&fake).len(), 1, "keep = never deletes a failed Job");
}

#[test]
fn an_image_that_cannot_be_pulled_fails_without_waiting_for_the_deadline() {
    let fake = FakeKube::start();
    let test = setup(&fake, "true", ", timeout = \"10m\"");
    let test = edited(test, "dex-migrate@sha256:0123", "unpullable:1");
    let started = Instant::now();
    let ran = test.run_with(&["run", "migrate", MAP]);
    ran.assert_code(1);
    assert!(started.elapsed() < Duration::from_secs(60));
    let all = format!("{}{}", ran.stdout, ran.stderr);
    assert!(
        all.contains(
            "cannot start: ImagePullBackOff: Back-off pulling image \"registry.example.net/unpullable:1\""
        ) || all.contains("cannot start: ErrImagePull: failed to pull image"),
        "{all}"
    );
}

#[test]
fn a_missing_secret_key_is_named() {
    let fake = FakeKube::start();
    let test = setup(&fake, "true", "");
    let test = edited(test, "key = \"password\"", "key = \"passwd\"");
    let ran = test.run_with(&["run", "migrate", MAP]);
    ran.assert_code(1);
    let all = format!("{}{}", ran.stdout, ran.stderr);
    assert!(
        all.contains(
            "cannot start: CreateContainerConfigError: couldn't find key passwd in Secret dex/dex-db"
        ),
        "{all}"
    );
}

#[test]
fn a_job_past_its_timeout_is_deleted_and_its_process_stopped() {
    let fake = FakeKube::start();
    let test = setup(&fake, "echo started; sleep 30", ", timeout = \"2s\"");
    let ran = test.run_with(&["run", "migrate", MAP]);
    ran.assert_code(1);
    let all = format!("{}{}", ran.stdout, ran.stderr);
    assert!(all.contains("did not finish within 2s"), "{all}");
    assert!(
        all.contains("(propagation Background): it ran past its timeout"),
        "{all}"
    );
    assert_eq!(deletes(&fake).len(), 1);
    assert_eq!(fake.running(), 0, "the pod's process was stopped");
}

#[test]
fn ctrl_c_deletes_the_job_and_says_so() {
    let fake = FakeKube::start();
    let test = setup(&fake, "echo started; sleep 30", "");
    let child = test
        .command_with(&["run", "migrate", MAP])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while fake.running() == 0 && started.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(fake.running(), 1, "the Job's pod runs");
    kill(Pid::from_raw(i32::try_from(child.id()).unwrap()), Signal::SIGINT).unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        all.contains("(propagation Background): the run was stopped"),
        "{all}"
    );
    let deleted = deletes(&fake);
    assert_eq!(deleted.len(), 1, "{deleted:?}");
    assert!(deleted[0].body.contains("Background"));
    assert_eq!(fake.running(), 0);
}

#[test]
fn diff_shows_the_job_the_server_would_create_and_dry_run_asks_nothing() {
    let fake = FakeKube::start();
    let test = setup(&fake, "true", "");
    let diff = test.run_with(&["run", "migrate", "--diff", "--detailed-exitcode", MAP]);
    diff.assert_code(3);
    diff.assert_stdout("would create Job migrate-");
    diff.assert_stdout("completionMode: NonIndexed");
    diff.assert_stdout("secretKeyRef:");
    let post = &posts(&fake)[0];
    assert!(post.query.contains("dryRun=All"), "{post:?}");
    assert!(fake.object("batch/v1/dex/jobs/x").is_none());
    assert!(
        fake.requests()
            .iter()
            .all(|r| r.method == "GET" || r.query.contains("dryRun=All"))
    );

    let before = fake.requests().len();
    let dry = test.run_with(&["run", "migrate", "--dry-run", MAP]);
    dry.assert_code(0);
    dry.assert_stdout("create Job `migrate-<run>` in namespace `dex`");
    dry.assert_stdout("activeDeadlineSeconds: 600");
    dry.assert_stdout("image: registry.example.net/dex-migrate@sha256:0123");
    assert_eq!(fake.requests().len(), before, "--dry-run talks to no cluster");
}

#[test]
fn a_secret_in_the_jobs_spec_is_refused_when_the_files_load() {
    let test = Test::new().tasks(
        r#"
[secrets]
token = { env = "TOKEN" }

[tasks.migrate]
kube-job = { context = "k3s", image = "m:1", command = ["m"], env = { TOKEN = "{{ secrets.token }}" } }
"#,
    );
    let ran = test.run_with(&["run", "migrate"]);
    ran.assert_code(2);
    assert!(
        ran.stderr
            .contains("a secret would be written into the Job's spec"),
        "{}",
        ran.stderr
    );
    assert!(ran.stderr.contains("secret-env"), "{}", ran.stderr);
    assert!(ran.stderr.contains("main.toml:6:"), "{}", ran.stderr);
}
