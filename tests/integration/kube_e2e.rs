//! Kubernetes steps against a real cluster, when `OPS_E2E_KUBECONFIG` names a
//! kubeconfig (kind or k3d; see the README). Each test works in a namespace of its
//! own and deletes it afterwards. Without the variable the tests say so and pass:
//! no API server can run on the machines the suite is usually run on; the scenario
//! itself still runs against the in-memory API server.

use std::process::Command;

use crate::common::{Test, repo_root, require_tool};
use crate::fake_kube::FakeKube;

struct Cluster {
    kubeconfig: String,
    context: String,
    namespace: String,
}

impl Cluster {
    fn from_env(name: &str) -> Self {
        let kubeconfig = std::env::var("OPS_E2E_KUBECONFIG")
            .expect("OPS_E2E_KUBECONFIG names the kubeconfig of the cluster to test against");
        Self::new(kubeconfig, name)
    }

    /// The cluster of a kubeconfig's current context; `name` makes the namespace unique.
    fn new(kubeconfig: String, name: &str) -> Self {
        let out = Command::new("kubectl")
            .args(["--kubeconfig", &kubeconfig, "config", "current-context"])
            .output()
            .expect("kubectl");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let context = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let namespace = format!("ops-e2e-{name}-{}", std::process::id());
        Self {
            kubeconfig,
            context,
            namespace,
        }
    }

    fn test(&self) -> Test {
        let fixtures = repo_root().join("tests/fixtures/kube/app");
        let mut test = Test::new();
        for file in ["deployment.yaml", "service.yaml", "configmap.yaml"] {
            let text = std::fs::read_to_string(fixtures.join(file)).unwrap().replace(
                "registry.example.net/web:kustomized",
                "registry.k8s.io/pause:3.10",
            );
            test = test.file(&format!("app/{file}"), &text);
        }
        test.file(
            "app/kustomization.yaml",
            &format!(
                "namespace: {}\nresources:\n  - namespace.yaml\n  - deployment.yaml\n  - service.yaml\n  - configmap.yaml\n",
                self.namespace
            ),
        )
        .file(
            "app/namespace.yaml",
            &format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {}\n", self.namespace),
        )
        .tasks(&format!(
            "[tasks.apply]\nkube-apply = {{ path = \"app\", context = \"homelab\", namespace = \"{ns}\", wait = \"3m\" }}\n\n\
             [tasks.pods]\ndeps = [\"apply\"]\nkube-check = {{ context = \"homelab\", namespace = \"{ns}\", selector = \"app.kubernetes.io/name=web\", min-ready = 2 }}\n",
            ns = self.namespace
        ))
        .env("KUBECONFIG", &self.kubeconfig)
    }

    fn map(&self) -> String {
        format!("--context-map=homelab={}", self.context)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("kubectl")
            .args(["--kubeconfig", &self.kubeconfig, "--context", &self.context])
            .args(["delete", "namespace", &self.namespace, "--wait=false"])
            .output();
    }
}

#[test]
#[ignore = "needs a real cluster: OPS_E2E_KUBECONFIG=FILE cargo test --test integration kube_e2e -- --ignored"]
fn apply_wait_check_and_diff_against_a_real_cluster() {
    apply_wait_check_and_diff(&Cluster::from_env("apply"));
}

/// The same scenario against the in-memory API server, on every run: the e2e suite
/// itself is kept working without a cluster.
#[test]
fn the_real_cluster_scenario_runs_against_the_in_memory_server() {
    if !require_tool("kubectl") {
        return;
    }
    let fake = FakeKube::start();
    let kubeconfig = fake.kubeconfig("kind-fake");
    let cluster = Cluster::new(kubeconfig.to_str().unwrap().to_owned(), "fake");
    apply_wait_check_and_diff(&cluster);
    assert!(
        fake.object(&format!("apps/v1/{}/deployments/web", cluster.namespace))
            .is_some()
    );
}

fn apply_wait_check_and_diff(cluster: &Cluster) {
    let test = cluster.test();
    let map = cluster.map();

    let preview = test.run_with(&["run", "apply", "--diff", &map]);
    preview.assert_code(0);
    assert!(preview.stdout.contains("+ Deployment"), "{}", preview.stdout);

    let applied = test.run_with(&["run", "apply", "pods", &map]);
    applied.assert_code(0);
    assert!(applied.stdout.contains("rolled out"), "{}", applied.stdout);
    assert!(
        applied.stdout.contains("pods ready (at least 2 wanted)"),
        "{}",
        applied.stdout
    );

    let same = test.run_with(&["run", "apply", "--diff", "--detailed-exitcode", &map]);
    assert_eq!(
        same.code, 0,
        "nothing to change right after apply: {}",
        same.stdout
    );

    let test = test.file(
        "app/configmap.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  LOG_LEVEL: debug\n",
    );
    let changed = test.run_with(&["run", "apply", "--diff", "--detailed-exitcode", &map]);
    changed.assert_code(3);
    assert!(
        changed.stdout.contains("+  LOG_LEVEL: debug"),
        "{}",
        changed.stdout
    );
}

#[test]
#[ignore = "needs a real cluster: OPS_E2E_KUBECONFIG=FILE cargo test --test integration kube_e2e -- --ignored"]
fn an_unknown_context_is_refused_by_a_real_cluster_run() {
    let cluster = Cluster::from_env("guard");
    let ran = cluster.test().run_with(&["run", "apply"]);
    ran.assert_code(2);
    assert!(
        ran.stderr.contains("context `homelab` is not in the kubeconfig"),
        "{}",
        ran.stderr
    );
}

#[test]
#[ignore = "needs a real cluster: OPS_E2E_KUBECONFIG=FILE cargo test --test integration kube_e2e -- --ignored"]
fn a_job_runs_and_its_log_is_judged_on_a_real_cluster() {
    job_scenario(&Cluster::from_env("job"));
}

#[test]
fn the_real_cluster_job_scenario_runs_against_the_in_memory_server() {
    if !require_tool("kubectl") {
        return;
    }
    let fake = FakeKube::start();
    let kubeconfig = fake.kubeconfig("kind-fake");
    job_scenario(&Cluster::new(kubeconfig.to_str().unwrap().to_owned(), "fakejob"));
}

/// A namespace and a Secret applied, then a Job reading the Secret by reference,
/// judged on its log; then a failing one, kept.
fn job_scenario(cluster: &Cluster) {
    let ns = &cluster.namespace;
    let script = r#"echo "pw-length=${#PW}"; echo '{"total_failed":0}'"#;
    let test = Test::new()
        .file("job/kustomization.yaml", &format!("namespace: {ns}\nresources:\n  - namespace.yaml\n  - secret.yaml\n"))
        .file("job/namespace.yaml", &format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n"))
        .file(
            "job/secret.yaml",
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: nine-char\n",
        )
        .tasks(&format!(
            r#"
[tasks.setup]
kube-apply = {{ path = "job", context = "homelab", namespace = "{ns}" }}

[tasks.migrate]
deps = ["setup"]
kube-job = {{ context = "homelab", namespace = "{ns}", image = "busybox:1.36.1", command = ["sh", "-c", {script}],
             secret-env = {{ PW = {{ secret = "db", key = "password" }} }}, expect = '"total_failed":(?P<failed>0)', timeout = "3m" }}

[tasks.failing]
deps = ["setup"]
kube-job = {{ context = "homelab", namespace = "{ns}", image = "busybox:1.36.1", command = ["sh", "-c", "echo broken; exit 2"], timeout = "3m" }}
"#,
            script = serde_json::to_string(script).unwrap()
        ))
        .env("KUBECONFIG", &cluster.kubeconfig);
    let map = cluster.map();
    let ran = test.run_with(&["run", "migrate", &map]);
    ran.assert_code(0);
    ran.assert_stdout("pw-length=9");
    ran.assert_stdout("failed = 0");
    ran.assert_stdout("(propagation Background)");
    let failed = test.run_with(&["run", "failing", &map]);
    failed.assert_code(1);
    let all = format!("{}{}", failed.stdout, failed.stderr);
    assert!(all.contains("exited with code 2"), "{all}");
    assert!(all.contains("kept Job failing-"), "{all}");
}

#[test]
#[ignore = "needs a real cluster: OPS_E2E_KUBECONFIG=FILE cargo test --test integration kube_e2e -- --ignored"]
fn two_runs_share_one_lease_on_a_real_cluster() {
    lease_scenario(&Cluster::from_env("lease"));
}

#[test]
fn the_real_cluster_lease_scenario_runs_against_the_in_memory_server() {
    if !require_tool("kubectl") {
        return;
    }
    let fake = FakeKube::start();
    let kubeconfig = fake.kubeconfig("kind-fake");
    lease_scenario(&Cluster::new(
        kubeconfig.to_str().unwrap().to_owned(),
        "fakelease",
    ));
}

/// The namespace applied; then a slow run holding the Lease, during which a second run
/// of another task with the same lock is refused; after it, the second run takes it.
fn lease_scenario(cluster: &Cluster) {
    let ns = &cluster.namespace;
    let test = Test::new()
        .file("ns/kustomization.yaml", "resources:\n  - namespace.yaml\n")
        .file(
            "ns/namespace.yaml",
            &format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n"),
        )
        .tasks(&format!(
            r#"
[tasks.setup]
kube-apply = {{ path = "ns", context = "homelab" }}

[tasks.slow]
shell = "sleep 6"
lock = {{ kube-lease = "ops-e2e", context = "homelab", namespace = "{ns}" }}

[tasks.quick]
shell = "true"
lock = {{ kube-lease = "ops-e2e", context = "homelab", namespace = "{ns}" }}
"#
        ))
        .env("KUBECONFIG", &cluster.kubeconfig);
    let map = cluster.map();
    test.run_with(&["run", "setup", &map]).assert_code(0);
    // Two checkouts: the repository lock is local, the Lease is not.
    let other = tempfile::tempdir().unwrap();
    crate::common::copy_example(test.root(), other.path());
    let slow = test
        .command_with(&["run", "slow", &map])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let quick = |dir: &std::path::Path| {
        Command::new(crate::common::ops_bin())
            .args(["-C", dir.to_str().unwrap(), "run", "quick", &map])
            .env("KUBECONFIG", &cluster.kubeconfig)
            .output()
            .unwrap()
    };
    let refused = quick(other.path());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("held by"), "{stderr}");
    let status = slow.wait_with_output().unwrap().status;
    assert!(status.success());
    let taken = quick(other.path());
    assert!(
        taken.status.success(),
        "{}",
        String::from_utf8_lossy(&taken.stderr)
    );
}
