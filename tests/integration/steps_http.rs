use crate::common::{Test, snapshot_settings};
use crate::servers::{Backend, Behaviour, free_port};

#[test]
fn each_check_fails_with_its_reason() {
    let ok = Backend::start(Behaviour::Ok("alive"));
    let wrong = Backend::start(Behaviour::Status(503));
    let body = Backend::start(Behaviour::Ok("starting"));
    let hang = Backend::start(Behaviour::Hang);
    let refused = free_port();
    let tasks = format!(
        r#"
[tasks.services-check]
http-check = {{ timeout = "500ms", checks = [
  {{ name = "ok", url = "{}" }},
  {{ name = "wrong-status", url = "{}" }},
  {{ name = "wrong-body", url = "{}", body = "^alive$" }},
  {{ name = "hangs", url = "{}" }},
  {{ name = "refused", url = "http://127.0.0.1:{refused}/" }},
] }}
"#,
        ok.url("/"),
        wrong.url("/"),
        body.url("/"),
        hang.url("/")
    );
    let ran = Test::new().tasks(&tasks).args(&["run", "services-check"]).run();
    ran.assert_code(1);
    let mut settings = snapshot_settings();
    settings.add_filter(r" *\d+ms", " [MS]");
    settings.add_filter(r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]");
    settings.bind(|| insta::assert_snapshot!("http_check_reasons", ran.stdout));
}

#[test]
fn retries_wait_for_a_service_to_come_up() {
    let flaky = Backend::start(Behaviour::FailFirst(2));
    let tasks = format!(
        "[tasks.wait]\nhttp-check = {{ retries = 5, interval = \"100ms\", checks = [{{ name = \"svc\", url = \"{}\", body = \"recovered\" }}] }}\n",
        flaky.url("/health")
    );
    let ran = Test::new().tasks(&tasks).args(&["run", "wait"]).run();
    ran.assert_code(0);
    assert!(ran.stdout.contains("(after 3 attempts)"), "{}", ran.stdout);
    assert_eq!(flaky.requests.load(std::sync::atomic::Ordering::SeqCst), 3);
}

#[test]
fn checks_run_in_diff_mode_too() {
    let ok = Backend::start(Behaviour::Ok("alive"));
    let tasks = format!(
        "[tasks.check]\nhttp-check = {{ checks = [{{ url = \"{}\" }}] }}\n",
        ok.url("/")
    );
    let ran = Test::new()
        .tasks(&tasks)
        .args(&["run", "check", "--diff", "--detailed-exitcode"])
        .run();
    ran.assert_code(0);
    assert_eq!(ok.requests.load(std::sync::atomic::Ordering::SeqCst), 1);
}
