use crate::common::{Test, require_tool};
use crate::servers::{Backend, Behaviour, CaddyServer, free_port, get};

fn tasks(admin: u16, listen: u16, backend: u16) -> String {
    format!(
        r#"
[tasks.caddy-routes]
caddy = {{ admin = "http://127.0.0.1:{admin}", listen = "127.0.0.1:{listen}", tls = false, domain = "ops.test",
          routes = [{{ host = "authentik", backend = "127.0.0.1:{backend}" }}] }}
"#
    )
}

#[test]
fn diff_shows_the_route_apply_loads_it_and_traffic_flows() {
    if !require_tool("caddy") {
        return;
    }
    let backend = Backend::start(Behaviour::Ok("authentik says hi"));
    let listen = free_port();
    let test = Test::new();
    let caddy = CaddyServer::start(test.root());
    std::fs::write(
        test.root().join("tasks/main.toml"),
        tasks(caddy.admin_port, listen, backend.port),
    )
    .unwrap();

    let diff = test.run_with(&["run", "caddy-routes", "--diff", "--detailed-exitcode"]);
    diff.assert_code(3);
    assert!(
        diff.stdout
            .contains("caddy validate: the rendered config is valid"),
        "{}",
        diff.stdout
    );
    assert!(
        diff.stdout
            .contains(r#"+                    "authentik.ops.test""#),
        "{}",
        diff.stdout
    );
    assert!(
        !caddy.config().contains("authentik"),
        "--diff must not load anything"
    );

    let apply = test.run_with(&["run", "caddy-routes"]);
    apply.assert_code(0);
    assert!(
        apply
            .stdout
            .contains("authentik.ops.test answers through Caddy (200 OK)"),
        "{}",
        apply.stdout
    );
    assert!(caddy.config().contains("authentik.ops.test"));
    assert_eq!(
        get(listen, "/", "authentik.ops.test"),
        (200, "authentik says hi".to_owned())
    );

    let again = test.run_with(&["run", "caddy-routes", "--diff", "--detailed-exitcode"]);
    again.assert_code(0);
    assert!(
        again.stdout.contains("the live config is the rendered one"),
        "{}",
        again.stdout
    );
}

#[test]
fn a_backend_that_is_down_fails_the_apply() {
    if !require_tool("caddy") {
        return;
    }
    let test = Test::new();
    let caddy = CaddyServer::start(test.root());
    let listen = free_port();
    std::fs::write(
        test.root().join("tasks/main.toml"),
        tasks(caddy.admin_port, listen, free_port()),
    )
    .unwrap();
    let ran = test.run_with(&["run", "caddy-routes"]);
    ran.assert_code(1);
    assert!(
        ran.stdout
            .contains("authentik.ops.test (502 Bad Gateway: Caddy cannot reach the backend)"),
        "{}",
        ran.stdout
    );
}

#[test]
fn an_unreachable_admin_api_is_named() {
    let test = Test::new();
    std::fs::write(
        test.root().join("tasks/main.toml"),
        tasks(free_port(), free_port(), free_port()),
    )
    .unwrap();
    // --diff cannot compare: it shows the config it would load and says why.
    let diff = test.run_with(&["run", "caddy-routes", "--diff", "--detailed-exitcode"]);
    diff.assert_code(3);
    assert!(
        diff.stdout.contains("is not reachable: connection refused"),
        "{}",
        diff.stdout
    );
    assert!(diff.stdout.contains("+  \"apps\": {"), "{}", diff.stdout);
    // An apply needs it: refused before it starts.
    let ran = test.run_with(&["run", "caddy-routes"]);
    ran.assert_code(1);
    assert!(
        ran.stderr
            .contains("(admin) does not answer: connection refused — start Caddy"),
        "{}",
        ran.stderr
    );
}

#[test]
fn routes_can_come_from_a_file() {
    if !require_tool("caddy") {
        return;
    }
    let backend = Backend::start(Behaviour::Ok("grafana here"));
    let listen = free_port();
    let test = Test::new();
    let caddy = CaddyServer::start(test.root());
    std::fs::create_dir_all(test.root().join("caddy")).unwrap();
    std::fs::write(
        test.root().join("caddy/routes.toml"),
        format!("routes = [{{ name = \"grafana\", host = \"grafana.ops.test\", backend = \"http://127.0.0.1:{}\" }}]\n", backend.port),
    )
    .unwrap();
    std::fs::write(
        test.root().join("tasks/main.toml"),
        format!(
            "[tasks.routes]\ncaddy = {{ admin = \"http://127.0.0.1:{}\", listen = \"127.0.0.1:{listen}\", tls = false, routes-file = \"caddy/routes.toml\" }}\n",
            caddy.admin_port
        ),
    )
    .unwrap();
    let plan = test.run_with(&["run", "routes", "--dry-run"]);
    assert!(
        plan.stdout.contains("routes from caddy/routes.toml"),
        "{}",
        plan.stdout
    );
    test.run_with(&["run", "routes"]).assert_code(0);
    assert_eq!(
        get(listen, "/", "grafana.ops.test"),
        (200, "grafana here".to_owned())
    );
}
