//! `lock = { kube-lease = … }` through the real binary against the in-memory API
//! server: the Lease taken before anything runs, renewed while the run lives and
//! released after; a live holder refused (or waited for), a dead one taken over; a
//! lease lost during the run stopping it.

use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};

use crate::common::Test;
use crate::fake_kube::FakeKube;

const MAP: &str = "--context-map=k3s-ringtail=kind-ops-test";
const LEASE: &str = "coordination.k8s.io/v1/ops/leases/ops-deploy";

/// `deploy` (holding the lease, `duration` in its lock) after `work`, which runs `script`.
fn setup(fake: &FakeKube, script: &str, lock_extra: &str) -> Test {
    fake.insert(
        "v1/-/namespaces/ops",
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ops"}}),
    );
    let kubeconfig = fake.kubeconfig("kind-ops-test");
    Test::new()
        .tasks(&format!(
            r#"
[tasks.work]
shell = "{script}"

[tasks.deploy]
deps = ["work"]
lock = {{ kube-lease = "ops-deploy", context = "k3s-ringtail", namespace = "ops"{lock_extra} }}
"#
        ))
        .env("KUBECONFIG", kubeconfig.to_str().unwrap())
}

/// A Lease held by `holder`, last renewed `ago` before now.
fn held(fake: &FakeKube, holder: &str, ago: Duration, seconds: u32) {
    let renewed = humantime::format_rfc3339_micros(SystemTime::now() - ago).to_string();
    fake.insert(
        LEASE,
        json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": "ops-deploy", "namespace": "ops", "resourceVersion": "7"},
            "spec": {"holderIdentity": holder, "leaseDurationSeconds": seconds, "acquireTime": renewed,
                     "renewTime": renewed, "leaseTransitions": 2}}),
    );
}

fn lease_writes(fake: &FakeKube) -> Vec<(String, Value)> {
    fake.requests()
        .into_iter()
        .filter(|r| r.path.contains("/leases") && r.method != "GET")
        .map(|r| (r.method, serde_json::from_str(&r.body).unwrap()))
        .collect()
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_owned()
}

#[test]
fn an_apply_takes_the_lease_renews_it_and_releases_it() {
    let fake = FakeKube::start();
    let test = setup(&fake, "sleep 1.2; echo worked", ", duration = \"1s\"");
    let ran = test.run_with(&["run", "deploy", MAP]);
    ran.assert_code(0).assert_stdout("worked");
    let runs: Vec<_> = std::fs::read_dir(test.root().join(".ops/runs"))
        .unwrap()
        .flatten()
        .collect();
    let run_id = runs[0].path().file_stem().unwrap().to_string_lossy().into_owned();
    let holder = format!("{}/{run_id}", hostname());
    assert!(
        ran.stderr.contains(&format!(
            "holding lease ops/ops-deploy (context `k3s-ringtail` (→ `kind-ops-test`, --context-map)) as {holder}"
        )),
        "{}",
        ran.stderr
    );
    let writes = lease_writes(&fake);
    let (method, created) = &writes[0];
    assert_eq!(method, "POST");
    assert_eq!(created["spec"]["holderIdentity"], holder.as_str());
    assert_eq!(created["spec"]["leaseDurationSeconds"], 1);
    // Renewed every third of a second while `work` ran 1.2 s, then released.
    let renewals = writes[1..writes.len() - 1]
        .iter()
        .filter(|(m, l)| m == "PUT" && l["spec"]["holderIdentity"] == holder.as_str())
        .count();
    assert!(renewals >= 2, "{writes:?}");
    let stored = fake.object(LEASE).unwrap();
    assert!(stored["spec"]["holderIdentity"].is_null(), "{stored}");
    assert_ne!(stored["spec"]["renewTime"], created["spec"]["renewTime"]);
}

#[test]
fn a_lease_another_runner_renews_refuses_the_run_before_anything_runs() {
    let fake = FakeKube::start();
    held(
        &fake,
        "runner-2/20261203T090000.000-beef",
        Duration::from_secs(5),
        60,
    );
    let test = setup(&fake, "touch ran", "");
    let ran = test.run_with(&["run", "deploy", MAP]);
    ran.assert_code(1);
    assert!(
        ran.stderr.contains("is held by")
            && ran
                .stderr
                .contains("runner-2/20261203T090000.000-beef, renewed 5.")
            && ran.stderr.contains("(free 60s after")
            && ran.stderr.contains("--wait-lock"),
        "{}",
        ran.stderr
    );
    assert!(!ran.exists("ran"), "nothing runs");
    assert!(lease_writes(&fake).is_empty());
    // A diff does not take the lease, and is not refused.
    test.run_with(&["run", "deploy", "--diff", MAP]).assert_code(0);
    assert!(lease_writes(&fake).is_empty());
}

#[test]
fn a_dead_holders_lease_is_taken_over_with_a_message() {
    let fake = FakeKube::start();
    held(&fake, "runner-2/dead", Duration::from_secs(300), 60);
    let test = setup(&fake, "touch ran", "");
    let ran = test.run_with(&["run", "deploy", MAP]);
    ran.assert_code(0);
    assert!(
        ran.stderr
            .contains("took over lease ops/ops-deploy (context `k3s-ringtail` (→ `kind-ops-test`, --context-map)) from runner-2/dead, which stopped renewing it 300.")
            && ran.stderr.contains("(its duration: 60s)"),
        "{}",
        ran.stderr
    );
    assert!(ran.exists("ran"));
    let (method, taken) = &lease_writes(&fake)[0];
    assert_eq!(method, "PUT");
    assert_eq!(taken["spec"]["leaseTransitions"], 3);
    assert_eq!(taken["metadata"]["resourceVersion"], "7");
}

#[test]
fn wait_lock_waits_for_a_live_holder_until_its_lease_expires() {
    let fake = FakeKube::start();
    held(&fake, "runner-2/slow", Duration::ZERO, 2);
    let test = setup(&fake, "touch ran", "");
    let started = Instant::now();
    let ran = test.run_with(&["run", "deploy", "--wait-lock", MAP]);
    ran.assert_code(0);
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "waited for the lease to expire"
    );
    assert!(
        ran.stderr.contains("waiting for lease ops/ops-deploy")
            && ran.stderr.contains("held by runner-2/slow (--wait-lock)")
            && ran.stderr.contains("took over lease"),
        "{}",
        ran.stderr
    );
    assert!(ran.exists("ran"));
}

#[test]
fn a_lease_taken_by_force_stops_the_run() {
    let fake = FakeKube::start();
    let test = setup(&fake, "sleep 20", ", duration = \"1s\"");
    let child = test
        .command_with(&["run", "deploy", MAP])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    // Once ops holds the lease, another runner overwrites it.
    while fake.object(LEASE).is_none() {
        assert!(started.elapsed() < Duration::from_secs(10), "no lease taken");
        std::thread::sleep(Duration::from_millis(20));
    }
    held(&fake, "intruder/1", Duration::ZERO, 60);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "stopped before `sleep 20` ended"
    );
    assert!(
        stderr.contains("lost lease ops/ops-deploy")
            && stderr.contains("intruder/1 holds it now: the run was stopped"),
        "{stderr}"
    );
    // Not ours any more: not released.
    assert_eq!(
        fake.object(LEASE).unwrap()["spec"]["holderIdentity"],
        "intruder/1"
    );
}

#[test]
fn a_lease_in_a_namespace_that_does_not_exist_says_so() {
    let fake = FakeKube::start();
    let test = setup(&fake, "touch ran", "").tasks(
        "[tasks.deploy]\nshell = \"touch ran\"\nlock = { kube-lease = \"ops-deploy\", context = \"k3s-ringtail\", namespace = \"locks\" }\n",
    );
    let ran = test.run_with(&["run", "deploy", MAP]);
    ran.assert_code(1);
    assert!(
        ran.stderr.contains("namespace `locks` does not exist") && ran.stderr.contains("nothing was run"),
        "{}",
        ran.stderr
    );
    assert!(!ran.exists("ran"));
}

#[test]
fn dry_run_names_the_lease_and_asks_no_cluster() {
    let fake = FakeKube::start();
    let test = setup(&fake, "true", ", duration = \"90s\"");
    let ran = test.run_with(&["run", "deploy", "--dry-run", MAP]);
    ran.assert_code(0).assert_stdout(
        "lock: an apply holds lease ops/ops-deploy (context `k3s-ringtail` (→ `kind-ops-test`, --context-map)) for the whole run (free 90s after a holder stops renewing it)",
    );
    assert!(fake.requests().is_empty());
}

#[test]
fn a_lease_whose_context_is_missing_stops_the_apply_before_anything_runs() {
    let fake = FakeKube::start();
    let test = setup(&fake, "touch ran", "");
    let ran = test.run_with(&["run", "deploy"]);
    ran.assert_code(1);
    assert!(
        ran.stderr.contains("k3s-ringtail") && ran.stderr.contains("tasks/main.toml:7"),
        "{}",
        ran.stderr
    );
    assert!(!ran.exists("ran"));
}

#[test]
fn a_bad_lock_is_a_load_error_at_its_place() {
    for (lock, expect) in [
        (
            r#"{ kube-lease = "Ops_Deploy", context = "k" }"#,
            "cannot name a Lease",
        ),
        (
            r#"{ kube-lease = "ops-deploy", context = "k", namespace = "-ops" }"#,
            "cannot name a namespace",
        ),
        (
            r#"{ kube-lease = "ops-deploy", context = "k", duration = "0s" }"#,
            "a lease lasts from 1s to 1h",
        ),
        (
            r#"{ kube-lease = "ops-deploy", context = "k", ttl = "1m" }"#,
            "unknown key `ttl`",
        ),
        (r#"{ context = "k" }"#, "missing field `kube-lease`"),
    ] {
        let test = Test::new().tasks(&format!("[tasks.deploy]\nshell = \"touch ran\"\nlock = {lock}\n"));
        let ran = test.run_with(&["run", "deploy"]);
        ran.assert_code(2);
        assert!(
            ran.stderr.contains(expect) && ran.stderr.contains("tasks/main.toml:3"),
            "{lock}: {}",
            ran.stderr
        );
        assert!(!ran.exists("ran"));
    }
}
