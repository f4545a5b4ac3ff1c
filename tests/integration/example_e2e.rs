//! The main job end to end: `ops run deploy-authentik` on a copy of the bundled
//! example repository, for real wherever this machine allows — Nix builds, release
//! tags pushed to a bare remote, the CloudNativePG role edit verified in a real
//! PostgreSQL, Ansible rendering Caddy's routes, a real Caddy loading them, health
//! checks through Caddy to loopback backends — and the Kubernetes steps through
//! `--context-map` to the in-memory API server.

use std::path::Path;

use crate::common::{GIT_IDENTITY, Test, copy_example, git, repo_root, require_tool};
use crate::fake_kube::FakeKube;
use crate::servers::{Backend, Behaviour, CaddyServer, Certificates, Postgres, free_port};

#[test]
fn deploy_authentik_runs_end_to_end() {
    let tools = [
        "nix-build",
        "ansible-playbook",
        "caddy",
        "kubectl",
        "psql",
        "git",
        "openssl",
    ];
    if !tools.iter().all(|t| require_tool(t)) || !Path::new("/usr/lib/postgresql").exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "PostgreSQL is required under CI=true"
        );
        eprintln!("skipped: PostgreSQL server is not installed");
        return;
    }
    let test = Test::new();
    let root = test.root().to_path_buf();
    std::fs::remove_dir(root.join("tasks")).unwrap();
    copy_example(&repo_root().join("examples/homelab"), &root);

    // The services behind Caddy, on loopback.
    let forgejo = Backend::start(Behaviour::Ok("forgejo"));
    let grafana = Backend::start(Behaviour::Ok("grafana"));
    let authentik = Backend::start(Behaviour::Ok("{\"status\": \"ok\"}"));
    let defaults = root.join("ansible/roles/caddy/defaults/main.yml");
    let text = std::fs::read_to_string(&defaults)
        .unwrap()
        .replace("http://127.0.0.1:3000", &forgejo.url(""))
        .replace("http://127.0.0.1:3001", &grafana.url(""))
        .replace("https://authentik.example.net", &authentik.url(""));
    std::fs::write(&defaults, text).unwrap();

    // The repository and the forge it pushes release tags to.
    let remote = tempfile::tempdir().unwrap();
    git(remote.path(), &["init", "-q", "--bare"]);
    git(&root, &["init", "-q", "-b", "main"]);
    std::fs::write(root.join(".gitignore"), ".ops/\nresult-*\n").unwrap();
    git(&root, &["add", "-A"]);
    git(&root, &["commit", "-q", "-m", "homelab"]);
    git(
        &root,
        &["remote", "add", "origin", remote.path().to_str().unwrap()],
    );

    // TLS only, as CloudNativePG serves it; the example verifies with sslmode = "require".
    let certs_dir = tempfile::tempdir().unwrap();
    let pg = Postgres::start_tls(&Certificates::make(certs_dir.path()));
    let caddy_home = tempfile::tempdir().unwrap();
    let caddy = CaddyServer::start(caddy_home.path());
    let listen = free_port();
    let kube = FakeKube::start();
    // The namespace of the run's Lease (`lock` of deploy-authentik) exists, as it would.
    kube.insert(
        "v1/-/namespaces/ops",
        serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ops"}}),
    );
    let kubeconfig = kube.kubeconfig("kind-e2e");

    let mut args: Vec<String> = ["run", "deploy-authentik", "--context-map=k3s-ringtail=kind-e2e"]
        .map(str::to_owned)
        .to_vec();
    for var in [
        "remote=origin".to_owned(),
        "pg_host=127.0.0.1".to_owned(),
        format!("pg_port={}", pg.port),
        format!("caddy_admin=http://127.0.0.1:{}", caddy.admin_port),
        format!("caddy_listen=127.0.0.1:{listen}"),
        format!("proxy=http://127.0.0.1:{listen}"),
    ] {
        args.extend(["--var".to_owned(), var]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut test = test
        .env("KUBECONFIG", kubeconfig.to_str().unwrap())
        .env("PGPASSWORD", "unused");
    for (k, v) in GIT_IDENTITY {
        test = test.env(k, v);
    }

    // The first run stops where the operator has not created the role yet.
    let first = test.run_with(&args);
    first.assert_code(1);
    assert!(
        first
            .stdout
            .contains("role `authentik` does not exist in PostgreSQL at 127.0.0.1"),
        "{}",
        first.stdout
    );
    let manifest = std::fs::read_to_string(root.join("argocd/manifests/databases/homelab-pg.yaml")).unwrap();
    assert!(
        manifest.contains("- name: authentik"),
        "the role was added to the Cluster: {manifest}"
    );
    assert!(manifest.contains("# miniflux: RSS reader"), "comments kept");

    // CloudNativePG reconciles the Cluster; the run goes on from where it stopped.
    pg.sql("CREATE ROLE authentik LOGIN CREATEDB INHERIT");
    let mut resumed = args.clone();
    resumed.push("--resume");
    let done = test.run_with(&resumed);
    done.assert_code(0);
    let out = &done.stdout;

    // Phase 1: the change is committed.
    assert!(git(&root, &["log", "-1", "--format=%s"]).contains("databases: authentik role in homelab-pg"));
    assert_eq!(
        git(&root, &["status", "--porcelain"]),
        "",
        "a clean tree after the run"
    );
    // Phase 2: images built by Nix, tags on the remote.
    for link in ["result-authentik", "result-redis"] {
        let target = std::fs::read_link(root.join(link)).unwrap();
        assert!(target.starts_with("/nix/store"), "{link} → {}", target.display());
    }
    let tags = git(remote.path(), &["tag", "-l"]);
    assert!(
        tags.contains("authentik-v2026.2.0") && tags.contains("redis-v7.4.2"),
        "{tags}"
    );
    // Phase 3: the Application's kustomization applied server-side in its destination
    // namespace (created, as its CreateNamespace=true says), images pinned by kustomize.
    assert!(
        kube.object("v1/-/namespaces/authentik").is_some(),
        "namespace created"
    );
    let server = kube
        .object("apps/v1/authentik/deployments/authentik-server")
        .expect("applied");
    let image = server["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap();
    assert!(image.ends_with(":v2026.2.0-nix"), "{image}");
    assert!(
        kube.object("external-secrets.io/v1beta1/authentik/externalsecrets/authentik")
            .is_some()
    );
    assert!(out.contains("deployment/authentik-server rolled out"), "{out}");
    // Phase 4: Ansible rendered the routes, Caddy serves them.
    let routes = std::fs::read_to_string(root.join(".ops/caddy/routes.toml")).unwrap();
    assert!(routes.contains("host = \"authentik\""), "{routes}");
    assert!(
        caddy.config().contains("authentik.ops.example.net"),
        "{}",
        caddy.config()
    );
    // Verification: pods and health through Caddy.
    assert!(out.contains("2/2 pods ready (at least 2 wanted)"), "{out}");
    assert!(
        authentik.requests.load(std::sync::atomic::Ordering::SeqCst) >= 2,
        "health checks reached the backend"
    );
    assert!(out.contains("deploy-authentik"), "{out}");
    // The run held the Lease and gave it back.
    let lease = kube
        .object("coordination.k8s.io/v1/ops/leases/ops-deploy-authentik")
        .expect("the lease was taken");
    assert!(lease["spec"]["holderIdentity"].is_null(), "released: {lease}");

    // Applied: --diff now finds nothing to change anywhere.
    let mut diff = args.clone();
    diff.extend(["--diff", "--detailed-exitcode"]);
    let after = test.run_with(&diff);
    assert_eq!(after.code, 0, "{}", after.stdout);
}

/// The main job's `--diff` on a Nix store that was never used (as on a fresh
/// machine): the two image builds start together and both report what they would
/// build; none fails on the store being set up.
#[test]
fn the_main_diff_passes_on_a_fresh_nix_store() {
    let tools = ["nix-build", "ansible-playbook", "kubectl"];
    if !tools.iter().all(|t| require_tool(t)) {
        return;
    }
    let test = Test::new();
    let root = test.root().to_path_buf();
    std::fs::remove_dir(root.join("tasks")).unwrap();
    copy_example(&repo_root().join("examples/homelab"), &root);
    let nix_config = format!(
        "nix_config=store = {}\nsubstituters =\nextra-sandbox-paths = /bin /lib /lib64 /usr\n",
        root.join("fresh-store").display()
    );
    let ran = test.run_with(&[
        "run",
        "deploy-authentik",
        "--diff",
        "--keep-going",
        "--var",
        &nix_config,
    ]);
    for build in ["build-image[authentik,2026.2.0]", "build-image[redis,7.4.2]"] {
        let line = ran
            .stdout
            .lines()
            .find(|l| l.starts_with(build) && l.contains("changes"))
            .unwrap_or_else(|| panic!("{build} has changes in the summary:\n{}", ran.stdout));
        assert!(!line.contains("failed"), "{line}");
    }
    assert!(
        root.join("fresh-store/nix/var/nix/db/db.sqlite").exists(),
        "the fresh store was used"
    );
}
