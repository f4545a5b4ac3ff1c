//! The requests of the run's Lease lock against tower-test's mock service: read,
//! create, take over with the resource version read, renew, release, and the
//! conflicts of two runners racing.

use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};

use super::lease::{Attempt, Holder, LeaseClient, LeaseLock, Renewal};
use super::mock::{client, next, status};
use super::{Context, ContextMap};

const PATH: &str = "/apis/coordination.k8s.io/v1/namespaces/ops/leases/ops-deploy-authentik";
const HOLDER: &str = "runner-1/20261203T101500-ab12";

fn lease_client(client: kube::Client) -> LeaseClient {
    let lock = LeaseLock {
        name: "ops-deploy-authentik".into(),
        namespace: "ops".into(),
        context: Context::new("k3s-ringtail".into(), &ContextMap::default(), 0..0),
        duration: Duration::from_secs(60),
    };
    LeaseClient::new(client, lock, HOLDER.into())
}

fn now() -> Timestamp {
    "2026-12-03T10:15:00Z".parse().unwrap()
}

fn at(seconds_before: i64) -> String {
    let t = Timestamp::from_second(now().as_second() - seconds_before).unwrap();
    format!("{}", t.strftime("%Y-%m-%dT%H:%M:%S%.6fZ"))
}

fn lease(holder: Option<&str>, renewed_seconds_ago: i64, transitions: i32) -> Value {
    json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "ops-deploy-authentik", "namespace": "ops", "resourceVersion": "41"},
        "spec": {"holderIdentity": holder, "leaseDurationSeconds": 60, "acquireTime": at(600),
                 "renewTime": at(renewed_seconds_ago), "leaseTransitions": transitions}})
}

#[tokio::test]
async fn a_missing_lease_is_created_with_the_holder_and_its_duration() {
    let (kube, mut server) = client();
    let leases = lease_client(kube);
    let run = tokio::spawn(async move { leases.try_take(now()).await.unwrap() });
    let get = next(
        &mut server,
        404,
        &status(404, "NotFound", "leases \"ops-deploy-authentik\" not found"),
    )
    .await;
    assert_eq!((get.method.as_str(), get.path.as_str()), ("GET", PATH));
    let create = next(&mut server, 201, &lease(Some(HOLDER), 0, 0)).await;
    assert_eq!(create.method, "POST");
    assert_eq!(create.path, "/apis/coordination.k8s.io/v1/namespaces/ops/leases");
    let spec = &create.body["spec"];
    assert_eq!(spec["holderIdentity"], HOLDER);
    assert_eq!(spec["leaseDurationSeconds"], 60);
    assert_eq!(spec["renewTime"], spec["acquireTime"]);
    assert!(
        spec["renewTime"]
            .as_str()
            .unwrap()
            .starts_with("2026-12-03T10:15:00")
    );
    assert_eq!(
        create.body["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "ops"
    );
    assert_eq!(run.await.unwrap(), Attempt::Taken { took_over: None });
}

#[tokio::test]
async fn a_renewed_lease_of_another_holder_is_left_alone() {
    let (kube, mut server) = client();
    let leases = lease_client(kube);
    let run = tokio::spawn(async move { leases.try_take(now()).await.unwrap() });
    next(&mut server, 200, &lease(Some("runner-2/other"), 12, 3)).await;
    let Attempt::Held(holder) = run.await.unwrap() else {
        panic!("not held")
    };
    assert_eq!(holder.identity, "runner-2/other");
    assert_eq!(holder.renewed_ms_ago, Some(12_000));
    assert_eq!(holder.expires_in_ms(), 48_000);
}

#[tokio::test]
async fn an_expired_lease_is_taken_over_with_the_version_read() {
    let (kube, mut server) = client();
    let leases = lease_client(kube);
    let run = tokio::spawn(async move { leases.try_take(now()).await.unwrap() });
    next(&mut server, 200, &lease(Some("runner-2/dead"), 61, 3)).await;
    let put = next(&mut server, 200, &lease(Some(HOLDER), 0, 4)).await;
    assert_eq!((put.method.as_str(), put.path.as_str()), ("PUT", PATH));
    assert_eq!(put.body["metadata"]["resourceVersion"], "41");
    assert_eq!(put.body["spec"]["holderIdentity"], HOLDER);
    assert_eq!(put.body["spec"]["leaseTransitions"], 4);
    let Attempt::Taken {
        took_over: Some(previous),
    } = run.await.unwrap()
    else {
        panic!("not taken over")
    };
    assert_eq!(
        previous,
        Holder {
            identity: "runner-2/dead".into(),
            renewed_ms_ago: Some(61_000),
            duration_seconds: 60
        }
    );
}

#[tokio::test]
async fn a_released_lease_is_taken_without_a_take_over() {
    let (kube, mut server) = client();
    let leases = lease_client(kube);
    let run = tokio::spawn(async move { leases.try_take(now()).await.unwrap() });
    next(&mut server, 200, &lease(None, 5, 2)).await;
    let put = next(&mut server, 200, &lease(Some(HOLDER), 0, 2)).await;
    assert_eq!(put.body["spec"]["leaseTransitions"], 2);
    assert_eq!(run.await.unwrap(), Attempt::Taken { took_over: None });
}

#[tokio::test]
async fn losing_a_race_to_write_is_a_conflict_to_read_again() {
    let (kube, mut server) = client();
    let leases = lease_client(kube);
    let run = tokio::spawn(async move { leases.try_take(now()).await.unwrap() });
    next(&mut server, 200, &lease(Some("runner-2/dead"), 120, 3)).await;
    next(
        &mut server,
        409,
        &status(409, "Conflict", "the object has been modified"),
    )
    .await;
    assert_eq!(run.await.unwrap(), Attempt::Raced);

    let (kube, mut server) = client();
    let leases = lease_client(kube);
    let run = tokio::spawn(async move { leases.try_take(now()).await.unwrap() });
    next(&mut server, 404, &status(404, "NotFound", "not found")).await;
    next(
        &mut server,
        409,
        &status(
            409,
            "AlreadyExists",
            "leases \"ops-deploy-authentik\" already exists",
        ),
    )
    .await;
    assert_eq!(run.await.unwrap(), Attempt::Raced);
}

#[tokio::test]
async fn renewing_writes_the_renew_time_and_notices_a_new_holder() {
    let (kube, mut server) = client();
    let leases = lease_client(kube);
    let later: Timestamp = "2026-12-03T10:15:20Z".parse().unwrap();
    let run = tokio::spawn(async move {
        let first = leases.renew(later).await;
        let second = leases.renew(later).await;
        (first.is_ok(), second)
    });
    next(&mut server, 200, &lease(Some(HOLDER), 0, 0)).await;
    let put = next(&mut server, 200, &lease(Some(HOLDER), 0, 0)).await;
    assert_eq!(put.method, "PUT");
    assert!(
        put.body["spec"]["renewTime"]
            .as_str()
            .unwrap()
            .starts_with("2026-12-03T10:15:20")
    );
    assert_eq!(put.body["spec"]["acquireTime"], at(600));
    next(&mut server, 200, &lease(Some("runner-2/forced"), 0, 1)).await;
    let (first, second) = run.await.unwrap();
    assert!(first);
    assert!(matches!(second, Err(Renewal::Lost(Some(h))) if h == "runner-2/forced"));
}

#[tokio::test]
async fn releasing_clears_the_holder_and_reads_again_after_a_conflict() {
    let (kube, mut server) = client();
    let leases = lease_client(kube);
    let run = tokio::spawn(async move { leases.release().await });
    next(&mut server, 200, &lease(Some(HOLDER), 3, 0)).await;
    next(
        &mut server,
        409,
        &status(409, "Conflict", "the object has been modified"),
    )
    .await;
    next(&mut server, 200, &lease(Some(HOLDER), 1, 0)).await;
    let put = next(&mut server, 200, &lease(None, 1, 0)).await;
    assert_eq!(put.method, "PUT");
    assert!(put.body["spec"].get("holderIdentity").is_none_or(Value::is_null));
    assert_eq!(put.body["spec"]["leaseTransitions"], 0);
    run.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_lease_someone_else_holds_is_not_released() {
    let (kube, mut server) = client();
    let leases = lease_client(kube);
    let run = tokio::spawn(async move { leases.release().await });
    let get = next(&mut server, 200, &lease(Some("runner-2/other"), 3, 1)).await;
    assert_eq!(get.method, "GET");
    // Any further request would now fail, and so would the release.
    drop(server);
    run.await.unwrap().unwrap();
}
