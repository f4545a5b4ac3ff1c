//! Kubernetes steps through the real binary: rendering with the real `kubectl
//! kustomize`, server-side apply, `--diff` and waits against the in-memory API
//! server of `fake_kube.rs`, and the context guard.

use crate::common::{Test, repo_root, require_tool, snapshot_settings};
use crate::fake_kube::FakeKube;

const TASKS: &str = r#"
[tasks.apply]
kube-apply = { path = "app", context = "k3s-ringtail", namespace = "web", wait = "20s" }

[tasks.pods]
deps = ["apply"]
kube-check = { context = "k3s-ringtail", namespace = "web", selector = "app.kubernetes.io/name=web", min-ready = 2 }

[tasks.ready]
deps = ["apply"]
kube-wait = { context = "k3s-ringtail", namespace = "web", selector = "app.kubernetes.io/name=web", timeout = "2s" }
"#;

fn app(test: Test, dir: &str) -> Test {
    let fixtures = repo_root().join("tests/fixtures/kube").join(dir);
    let mut test = test;
    for entry in std::fs::read_dir(&fixtures).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        test = test.file(&format!("{dir}/{name}"), &std::fs::read_to_string(&path).unwrap());
    }
    test
}

/// `test` talking to `fake` through `KUBECONFIG`; `None` (skipped) without kubectl.
fn connect(fake: &FakeKube, test: Test) -> Option<Test> {
    if !require_tool("kubectl") {
        return None;
    }
    let kubeconfig = fake.kubeconfig("kind-ops-test");
    Some(test.env("KUBECONFIG", kubeconfig.to_str().unwrap()))
}

fn setup(fake: &FakeKube) -> Option<Test> {
    connect(fake, app(Test::new(), "app").tasks(TASKS))
}

/// The app applied, its pods stuck, and a task `slow` waiting 10m for them.
fn stuck_wait(fake: &FakeKube, task_timeout: Option<&str>) -> Option<Test> {
    let test = setup(fake)?;
    test.run_with(&["run", "apply", MAP]).assert_code(0);
    fake.set_stuck(true);
    let timeout = task_timeout
        .map(|t| format!("timeout = \"{t}\"\n"))
        .unwrap_or_default();
    Some(test.file(
        "tasks/main.toml",
        &format!("[tasks.slow]\n{timeout}kube-wait = {{ context = \"k3s-ringtail\", namespace = \"web\", selector = \"app.kubernetes.io/name=web\", timeout = \"10m\" }}\n"),
    ))
}

const MAP: &str = "--context-map=k3s-ringtail=kind-ops-test";

#[test]
fn applies_server_side_as_ops_then_diff_shows_only_what_changed() {
    let fake = FakeKube::start();
    let Some(test) = setup(&fake) else { return };

    let first = test.run_with(&["run", "apply", "--diff", MAP]);
    first.assert_code(0);
    first.assert_stdout("app renders 4 objects:");
    first.assert_stdout("+ Deployment web/web (created, in namespace web, which this step creates)");
    assert!(
        first
            .stdout
            .contains("+      - image: registry.example.net/web:1.4.2"),
        "the kustomize image override is applied: {}",
        first.stdout
    );
    first.assert_stdout("4 to create, 0 to change, 0 unchanged");
    assert!(
        fake.writes().is_empty(),
        "--diff writes nothing: {:?}",
        fake.writes()
    );
    assert!(
        fake.requests()
            .iter()
            .filter(|r| r.method == "PATCH")
            .all(|r| r.query.contains("dryRun=All"))
    );

    let apply = test.run_with(&["run", "apply", MAP]);
    apply.assert_code(0);
    apply.assert_stdout("Namespace web created");
    apply.assert_stdout("deployment/web rolled out (2/2 available)");
    let writes = fake.writes();
    assert_eq!(writes.len(), 4, "{writes:?}");
    assert_eq!(
        writes[0].path, "/api/v1/namespaces/web",
        "the namespace goes first"
    );
    for w in &writes {
        assert!(w.query.contains("fieldManager=ops"), "{w:?}");
        assert_eq!(w.content_type.as_deref(), Some("application/apply-patch+yaml"));
    }
    let deployment = fake.object("apps/v1/web/deployments/web").expect("stored");
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.example.net/web:1.4.2"
    );

    let again = test.run_with(&["run", "apply", "--force", MAP]);
    again.assert_code(0);
    again.assert_stdout("0 created, 0 configured, 4 unchanged");

    let test = test.file(
        "app/configmap.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  LOG_LEVEL: debug\n",
    );
    let before = fake.writes().len();
    let diff = test.run_with(&["run", "apply", "--diff", "--detailed-exitcode", MAP]);
    diff.assert_code(3);
    diff.assert_stdout("~ ConfigMap web/web (changed)");
    diff.assert_stdout("--- live/ConfigMap/web");
    diff.assert_stdout("-  LOG_LEVEL: info");
    diff.assert_stdout("+  LOG_LEVEL: debug");
    diff.assert_stdout("  Deployment web/web (unchanged)");
    assert!(
        !diff.stdout.contains("managedFields"),
        "server fields are stripped: {}",
        diff.stdout
    );
    assert!(!diff.stdout.contains("resourceVersion"), "{}", diff.stdout);
    assert_eq!(fake.writes().len(), before, "--diff writes nothing");
    snapshot_settings().bind(|| insta::assert_snapshot!("kube_apply_diff", diff.stdout));
}

#[test]
fn pod_checks_and_waits_read_the_pods_of_the_selector() {
    let fake = FakeKube::start();
    let Some(test) = setup(&fake) else { return };
    let ran = test.run_with(&["run", "pods", "ready", MAP]);
    ran.assert_code(0);
    ran.assert_stdout("2/2 pods ready (at least 2 wanted)");
    ran.assert_stdout("app.kubernetes.io/name=web: 2/2 pods ready");
    let listed = fake
        .requests()
        .into_iter()
        .find(|r| r.path == "/api/v1/namespaces/web/pods")
        .expect("pods listed");
    assert!(
        listed.query.contains("labelSelector=app.kubernetes.io/name=web"),
        "{listed:?}"
    );
}

#[test]
fn a_rollout_that_never_finishes_names_the_pods_and_their_events() {
    let fake = FakeKube::start();
    let Some(test) = setup(&fake) else { return };
    fake.set_stuck(true);
    let test = test.file(
        "tasks/main.toml",
        &TASKS.replace("wait = \"20s\"", "wait = \"1s\""),
    );
    let ran = test.run_with(&["run", "apply", MAP]);
    ran.assert_code(1);
    let all = format!("{}{}", ran.stdout, ran.stderr);
    assert!(
        all.contains("timed out after 1s waiting for deployment/web"),
        "{all}"
    );
    assert!(
        all.contains("pod web-0 not ready: Pending, containers 0/1 ready"),
        "{all}"
    );
    assert!(
        all.contains("app: ImagePullBackOff (Back-off pulling image)"),
        "{all}"
    );
    assert!(
        all.contains("event: Warning Failed: Failed to pull image: not found"),
        "{all}"
    );
}

#[test]
fn a_context_missing_from_the_kubeconfig_stops_an_apply_before_anything_runs() {
    let fake = FakeKube::start();
    let Some(test) = setup(&fake) else { return };
    let test = test.file(
        "tasks/main.toml",
        &format!(
            "[tasks.first]\ncmd = [\"touch\", \"ran\"]\n\n[tasks.apply]\ndeps = [\"first\"]\n{}",
            TASKS.lines().nth(2).unwrap()
        ),
    );
    // The kubeconfig's current context is kind-ops-test; a task naming another one
    // must not fall back to it.
    let ran = test.run_with(&["run", "apply"]);
    ran.assert_code(1);
    assert!(
        ran.stderr.contains(
            "✗ apply: context `k3s-ringtail` (context, tasks/main.toml:6) is not in the kubeconfig"
        ),
        "points at the context: {}",
        ran.stderr
    );
    assert!(
        ran.stderr
            .contains("which has: kind-ops-test — add the context to"),
        "{}",
        ran.stderr
    );
    assert!(
        ran.stderr.contains("--context-map k3s-ringtail=kind-ops-test"),
        "{}",
        ran.stderr
    );
    assert!(!ran.exists("ran"), "nothing ran");
    assert!(fake.requests().is_empty(), "the cluster was not contacted");

    let diff = test.run_with(&["run", "apply", "--diff"]);
    diff.assert_code(0);
    assert!(
        diff.stdout.contains("is not in the kubeconfig"),
        "--diff reports it and goes on: {}",
        diff.stdout
    );
}

#[test]
fn a_custom_resource_whose_crd_comes_in_the_same_apply_is_shown_whole() {
    let fake = FakeKube::start();
    let Some(test) = connect(
        &fake,
        app(Test::new(), "crd")
            .tasks("[tasks.widgets]\nkube-apply = { path = \"crd\", context = \"k3s-ringtail\", namespace = \"web\" }\n"),
    ) else {
        return;
    };
    let ran = test.run_with(&["run", "widgets", "--diff", MAP]);
    ran.assert_code(0);
    ran.assert_stdout("+ CustomResourceDefinition widgets.example.net (created)");
    ran.assert_stdout("+ Widget blue (created; its CRD is created by this step");
    ran.assert_stdout("+  colour: blue");
}

#[test]
fn secret_values_stay_out_of_every_diff() {
    let fake = FakeKube::start();
    let secret = |password: &str| {
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: web\nstringData:\n  password: {password}\n"
        )
    };
    let Some(test) = connect(
        &fake,
        Test::new()
            .tasks("[tasks.secret]\nkube-apply = { path = \"secret.yaml\", context = \"k3s-ringtail\", namespace = \"web\", create-namespace = true }\n")
            .file("secret.yaml", &secret("hunter2-first")),
    ) else {
        return;
    };
    let created = test.run_with(&["run", "secret", "--diff", MAP]);
    created.assert_code(0);
    created.assert_stdout("+ Namespace web (created: create-namespace)");
    created.assert_stdout("+ Secret web/db (created, in namespace web, which this step creates)");
    created.assert_stdout("+  password: \"***\"");
    let applied = test.run_with(&["run", "secret", MAP]);
    applied.assert_code(0);
    applied.assert_stdout("Namespace web created (create-namespace)");

    let test = test.file("secret.yaml", &secret("hunter2-second"));
    let rotated = test.run_with(&["run", "secret", "--diff", MAP]);
    rotated.assert_code(0);
    rotated.assert_stdout("+  password: \"*** (changed)\"");
    for ran in [&created, &rotated] {
        let all = format!("{}{}", ran.stdout, ran.stderr);
        assert!(!all.contains("hunter2"), "{all}");
    }
}

#[test]
fn a_missing_namespace_is_named_with_the_way_out() {
    let fake = FakeKube::start();
    let Some(test) = connect(
        &fake,
        Test::new()
            .tasks("[tasks.cm]\nkube-apply = { path = \"cm.yaml\", context = \"k3s-ringtail\", namespace = \"absent\" }\n")
            .file("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: b\n"),
    ) else {
        return;
    };
    let ran = test.run_with(&["run", "cm", MAP]);
    ran.assert_code(1);
    ran.assert_stdout("namespaces \"absent\" not found: add a Namespace object to the rendered manifests, or set `create-namespace = true`");
}

#[test]
fn the_task_timeout_bounds_a_kubernetes_step() {
    let fake = FakeKube::start();
    let Some(test) = stuck_wait(&fake, Some("1s")) else {
        return;
    };
    let ran = test.run_with(&["run", "slow", MAP]);
    ran.assert_code(1);
    assert!(
        ran.stdout.contains("timed out after 1s"),
        "the task's timeout, not the wait's 10m: {}",
        ran.stdout
    );
}

#[test]
fn ctrl_c_stops_a_wait_at_once() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;

    let fake = FakeKube::start();
    let Some(test) = stuck_wait(&fake, None) else {
        return;
    };
    let listed = || {
        fake.requests()
            .iter()
            .filter(|r| r.path == "/api/v1/namespaces/web/pods")
            .count()
    };
    let before = listed();
    let mut child = test
        .command_with(&["run", "slow", MAP])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while listed() == before {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "the wait never asked for pods"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    kill(Pid::from_raw(i32::try_from(child.id()).unwrap()), Signal::SIGINT).unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(130));
}

#[test]
fn an_argocd_application_is_applied_as_a_sync_would() {
    let fake = FakeKube::start();
    let Some(test) = setup(&fake) else { return };
    let test = test
        .file(
            "apps/web.yaml",
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: web\n  namespace: argocd\nspec:\n  source:\n    repoURL: ssh://git@forge.example.net/homelab.git\n    path: app\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: web\n  syncPolicy:\n    syncOptions:\n      - CreateNamespace=true\n",
        )
        .file(
            "tasks/main.toml",
            "[tasks.sync]\nkube-apply = { app = \"apps/web.yaml\", context = \"k3s-ringtail\" }\n",
        );
    let plan = test.run_with(&["run", "sync", "--dry-run"]);
    plan.assert_code(0);
    plan.assert_stdout("apply the source of ArgoCD Application apps/web.yaml to context `k3s-ringtail`, namespace of its destination");
    let preview = test.run_with(&["run", "sync", "--diff", MAP]);
    preview.assert_code(0);
    preview.assert_stdout("Application `web`: path app, namespace web");
    assert!(
        preview.stdout.contains("4 to create, 0 to change"),
        "the Namespace once: {}",
        preview.stdout
    );
    test.run_with(&["run", "sync", MAP]).assert_code(0);
    assert!(fake.object("apps/v1/web/deployments/web").is_some());
}
