//! The requests of `kube-job` against tower-test's mock service: create, list and
//! watch of the Job's pods, the log followed, the pod read for its exit code, and the
//! delete with its propagation policy.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::job::{self, Ended, JobSpec, SecretKey};
use super::mock::{client, next, next_raw, query, status};
use super::{KubeError, Session};
use crate::process::LineSink;

fn spec() -> JobSpec {
    JobSpec {
        name: "migrate-users-1a2b3".into(),
        namespace: "dex".into(),
        image: "registry.example.net/dex-migrate@sha256:00".into(),
        command: vec!["dex-migrate".into(), "--from".into(), "zitadel".into()],
        env: vec![("LOG_FORMAT".into(), "json".into())],
        secret_env: vec![(
            "DB_PASSWORD".into(),
            SecretKey {
                secret: "dex-db".into(),
                key: "password".into(),
            },
        )],
        labels: vec![("ops/task".into(), "migrate-users".into())],
        service_account: None,
        backoff_limit: 1,
        deadline: Duration::from_secs(1200),
        ttl: Duration::from_secs(3600),
    }
}

fn pod(name: &str, state: &Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "dex", "labels": {"job-name": "migrate-users-1a2b3"}, "resourceVersion": "9"},
        "spec": {"containers": [{"name": "job", "image": "x"}]},
        "status": {"phase": "Running", "containerStatuses": [
            {"name": "job", "ready": false, "restartCount": 0, "image": "x", "imageID": "", "state": state}]}})
}

fn running() -> Value {
    json!({"running": {"startedAt": "2026-01-01T00:00:00Z"}})
}

fn exited(code: i32) -> Value {
    json!({"terminated": {"exitCode": code, "reason": if code == 0 { "Completed" } else { "Error" }}})
}

fn list(items: &[Value]) -> Value {
    json!({"apiVersion": "v1", "kind": "PodList", "metadata": {"resourceVersion": "5"}, "items": items})
}

/// A watch's body: one event a line.
fn events(events: &[(&str, Value)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (kind, object) in events {
        body.extend(serde_json::to_vec(&json!({"type": kind, "object": object})).unwrap());
        body.push(b'\n');
    }
    body
}

/// Follow `spec()` on a task of its own; the lines it reported come with the result.
fn follow_later(client: kube::Client) -> tokio::task::JoinHandle<(Result<Ended, KubeError>, Vec<String>)> {
    tokio::spawn(async move {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&lines);
        let sink: LineSink = Arc::new(move |_, line| kept.lock().unwrap().push(line));
        let cancel = CancellationToken::new();
        let session = Session {
            dir: Path::new("."),
            env: &[],
            timeout: None,
            sink: &sink,
            cancel: &cancel,
        };
        let result = job::follow(&session, &client, &spec(), 1 << 20).await;
        let lines = lines.lock().unwrap().clone();
        (result, lines)
    })
}

#[tokio::test]
async fn create_posts_the_job_with_secrets_as_references_only() {
    let (client, mut server) = client();
    let task = tokio::spawn(async move { job::create(&client, &spec(), false).await });
    let seen = next(&mut server, 201, &spec().object()).await;
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.path, "/apis/batch/v1/namespaces/dex/jobs");
    assert_eq!(query(&seen, "fieldManager").as_deref(), Some("ops"));
    assert_eq!(query(&seen, "dryRun"), None);
    let spec_sent = &seen.body["spec"];
    assert_eq!(spec_sent["backoffLimit"], 1);
    assert_eq!(spec_sent["activeDeadlineSeconds"], 1200);
    assert_eq!(spec_sent["ttlSecondsAfterFinished"], 3600);
    let pod = &spec_sent["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Never");
    assert_eq!(
        pod["containers"][0]["env"],
        json!([{"name": "LOG_FORMAT", "value": "json"},
               {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "dex-db", "key": "password"}}}])
    );
    assert_eq!(
        spec_sent["template"]["metadata"]["labels"]["ops/task"],
        "migrate-users"
    );
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_diff_creates_with_dry_run_all() {
    let (client, mut server) = client();
    let task = tokio::spawn(async move { job::create(&client, &spec(), true).await });
    let seen = next(&mut server, 201, &spec().object()).await;
    assert_eq!(
        (seen.method.as_str(), query(&seen, "dryRun").as_deref()),
        ("POST", Some("All"))
    );
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn follow_watches_the_pods_streams_the_log_and_reads_the_exit_code() {
    let (client, mut server) = client();
    let task = follow_later(client);
    let listed = next(&mut server, 200, &list(&[])).await;
    assert_eq!(
        (listed.method.as_str(), listed.path.as_str()),
        ("GET", "/api/v1/namespaces/dex/pods")
    );
    assert_eq!(
        query(&listed, "labelSelector").as_deref(),
        Some("job-name%3Dmigrate-users-1a2b3")
    );
    let watch = next_raw(
        &mut server,
        200,
        events(&[("ADDED", pod("migrate-users-1a2b3-x", &running()))]),
    )
    .await;
    assert_eq!(query(&watch, "watch").as_deref(), Some("true"));
    assert_eq!(query(&watch, "resourceVersion").as_deref(), Some("5"));
    let log = next_raw(
        &mut server,
        200,
        b"{\"total\":3}\n{\"total_failed\":0}\n".to_vec(),
    )
    .await;
    assert_eq!(log.path, "/api/v1/namespaces/dex/pods/migrate-users-1a2b3-x/log");
    assert_eq!(query(&log, "follow").as_deref(), Some("true"));
    assert_eq!(query(&log, "container").as_deref(), Some("job"));
    let read = next(&mut server, 200, &pod("migrate-users-1a2b3-x", &exited(0))).await;
    assert_eq!(read.path, "/api/v1/namespaces/dex/pods/migrate-users-1a2b3-x");
    let (ended, lines) = task.await.unwrap();
    let ended = ended.unwrap();
    assert_eq!(
        (ended.pod.as_str(), ended.exit_code, ended.pods),
        ("migrate-users-1a2b3-x", 0, 1)
    );
    assert_eq!(ended.log, "{\"total\":3}\n{\"total_failed\":0}\n");
    assert_eq!(
        lines,
        [
            "pod migrate-users-1a2b3-x: Running",
            "{\"total\":3}",
            "{\"total_failed\":0}",
            // Read from the pod after its log ended, before the watch said so.
            "pod migrate-users-1a2b3-x: Running (exit code 0)"
        ]
    );
}

#[tokio::test]
async fn a_failed_pod_counts_against_the_backoff_limit_and_the_next_is_followed() {
    let (client, mut server) = client();
    let task = follow_later(client);
    next(&mut server, 200, &list(&[pod("m-a", &exited(3))])).await;
    next_raw(&mut server, 200, b"boom\n".to_vec()).await;
    next(&mut server, 200, &pod("m-a", &exited(3))).await;
    next_raw(&mut server, 200, events(&[("ADDED", pod("m-b", &running()))])).await;
    let log = next_raw(&mut server, 200, b"ok\n".to_vec()).await;
    assert_eq!(log.path, "/api/v1/namespaces/dex/pods/m-b/log");
    next(&mut server, 200, &pod("m-b", &exited(0))).await;
    let (ended, lines) = task.await.unwrap();
    let ended = ended.unwrap();
    assert_eq!((ended.pod.as_str(), ended.exit_code, ended.pods), ("m-b", 0, 2));
    assert!(
        lines
            .iter()
            .any(|l| l == "pod m-a exited with code 3; the Job starts another (1 of 1 failures allowed)"),
        "{lines:?}"
    );
}

#[tokio::test]
async fn the_last_allowed_failure_ends_the_follow_with_its_exit_code() {
    let (client, mut server) = client();
    let task = follow_later(client);
    next(&mut server, 200, &list(&[pod("m-a", &exited(3))])).await;
    next_raw(&mut server, 200, b"first\n".to_vec()).await;
    next(&mut server, 200, &pod("m-a", &exited(3))).await;
    next_raw(&mut server, 200, events(&[("ADDED", pod("m-b", &exited(4)))])).await;
    next_raw(&mut server, 200, b"second\n".to_vec()).await;
    next(&mut server, 200, &pod("m-b", &exited(4))).await;
    let (ended, _) = task.await.unwrap();
    let ended = ended.unwrap();
    assert_eq!(
        (ended.exit_code, ended.pods, ended.log.as_str()),
        (4, 2, "second\n")
    );
}

#[tokio::test]
async fn an_image_that_cannot_be_pulled_fails_at_once() {
    let (client, mut server) = client();
    let task = follow_later(client);
    let waiting =
        json!({"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image \"x\""}});
    next(&mut server, 200, &list(&[pod("m-a", &waiting)])).await;
    let (ended, lines) = task.await.unwrap();
    let error = ended.unwrap_err().to_string();
    assert_eq!(
        error,
        "pod m-a of Job migrate-users-1a2b3 in namespace dex cannot start: ImagePullBackOff: Back-off pulling image \"x\""
    );
    assert_eq!(lines, ["pod m-a: Running (ImagePullBackOff)"]);
}

#[tokio::test]
async fn an_expired_watch_lists_again() {
    let (client, mut server) = client();
    let task = follow_later(client);
    next(&mut server, 200, &list(&[])).await;
    let gone = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 410, "reason": "Expired", "message": "too old"});
    next_raw(&mut server, 200, events(&[("ERROR", gone)])).await;
    let relisted = next(&mut server, 200, &list(&[pod("m-a", &exited(0))])).await;
    assert_eq!(query(&relisted, "watch"), None);
    next_raw(&mut server, 200, b"done\n".to_vec()).await;
    next(&mut server, 200, &pod("m-a", &exited(0))).await;
    assert_eq!(task.await.unwrap().0.unwrap().pods, 1);
}

#[tokio::test]
async fn delete_is_background_propagation_and_a_missing_job_is_fine() {
    let (client, mut server) = client();
    let second = client.clone();
    let task = tokio::spawn(async move { job::delete(&client, &spec()).await });
    let seen = next(
        &mut server,
        200,
        &json!({"kind": "Status", "apiVersion": "v1", "status": "Success"}),
    )
    .await;
    assert_eq!(seen.method, "DELETE");
    assert_eq!(
        seen.path,
        "/apis/batch/v1/namespaces/dex/jobs/migrate-users-1a2b3"
    );
    assert_eq!(seen.body["propagationPolicy"], "Background");
    task.await.unwrap().unwrap();
    let task = tokio::spawn(async move { job::delete(&second, &spec()).await });
    next(
        &mut server,
        404,
        &status(404, "NotFound", "jobs \"migrate-users-1a2b3\" not found"),
    )
    .await;
    task.await.unwrap().unwrap();
}
