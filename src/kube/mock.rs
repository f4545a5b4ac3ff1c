//! Tests of the requests kube-rs sends for ops, against tower-test's mock service:
//! each test scripts the API server's side and checks method, path, query and
//! content type of every request.

use http::{Request, Response};
use kube::Client;
use kube::client::Body;
use serde_json::{Value, json};
use tower_test::mock::{self, Handle};

use super::apply::{ApplyOptions, Cluster};
use super::error::KubeError;
use super::object::Object;

pub(super) type Server = Handle<Request<Body>, Response<Body>>;

pub(super) fn client() -> (Client, Server) {
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    (Client::new(service, "default"), handle)
}

/// One request seen by the server.
pub(super) struct Seen {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub content_type: Option<String>,
    pub body: Value,
}

/// Answer the next request with `reply` as JSON.
pub(super) async fn next(server: &mut Server, status: u16, reply: &Value) -> Seen {
    next_raw(server, status, serde_json::to_vec(reply).unwrap()).await
}

/// Answer the next request with `body` (a watch's lines of events, a log).
pub(super) async fn next_raw(server: &mut Server, status: u16, body: Vec<u8>) -> Seen {
    let (request, send) = server.next_request().await.expect("a request");
    let uri = request.uri().clone();
    let seen = Seen {
        method: request.method().to_string(),
        path: uri.path().to_owned(),
        query: uri
            .query()
            .unwrap_or_default()
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (k.to_owned(), v.to_owned())
            })
            .collect(),
        content_type: request
            .headers()
            .get(http::header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned()),
        body: {
            let bytes = request.into_body().collect_bytes().await.unwrap();
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        },
    };
    send.send_response(
        Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap(),
    );
    seen
}

pub(super) fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code, "reason": reason, "message": message})
}

fn apps_v1() -> Value {
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "apps/v1", "resources": [
        {"name": "deployments", "singularName": "deployment", "namespaced": true, "kind": "Deployment",
         "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]},
        {"name": "deployments/status", "singularName": "", "namespaced": true, "kind": "Deployment", "verbs": ["get", "patch"]},
        {"name": "statefulsets", "singularName": "statefulset", "namespaced": true, "kind": "StatefulSet",
         "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]}
    ]})
}

fn core_v1() -> Value {
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "v1", "resources": [
        {"name": "namespaces", "singularName": "namespace", "namespaced": false, "kind": "Namespace",
         "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]},
        {"name": "configmaps", "singularName": "configmap", "namespaced": true, "kind": "ConfigMap",
         "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]}
    ]})
}

fn deployment() -> Object {
    Object::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "web:1"}]}}}
    }))
    .unwrap()
}

/// Apply `object` on a task of its own, while the test plays the server.
fn apply_later(
    client: Client,
    object: Object,
    namespace: &'static str,
) -> tokio::task::JoinHandle<Result<Value, KubeError>> {
    tokio::spawn(async move {
        Cluster::new(client)
            .apply(&object, Some(namespace), ApplyOptions::default())
            .await
    })
}

pub(super) fn query(seen: &Seen, key: &str) -> Option<String> {
    seen.query.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

#[tokio::test]
async fn apply_is_a_server_side_patch_as_field_manager_ops_in_the_step_namespace() {
    let (client, mut server) = client();
    let object = deployment();
    let task = tokio::spawn(async move {
        let mut cluster = Cluster::new(client);
        cluster
            .apply(&object, Some("authentik"), ApplyOptions::default())
            .await
            .unwrap()
    });
    let discovery = next(&mut server, 200, &apps_v1()).await;
    assert_eq!(
        (discovery.method.as_str(), discovery.path.as_str()),
        ("GET", "/apis/apps/v1")
    );
    let reply = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "authentik", "resourceVersion": "7"}});
    let patch = next(&mut server, 200, &reply).await;
    assert_eq!(patch.method, "PATCH");
    assert_eq!(patch.path, "/apis/apps/v1/namespaces/authentik/deployments/web");
    assert_eq!(query(&patch, "fieldManager").as_deref(), Some("ops"));
    assert_eq!(query(&patch, "dryRun"), None);
    assert_eq!(query(&patch, "force"), None);
    assert_eq!(
        patch.content_type.as_deref(),
        Some("application/apply-patch+yaml")
    );
    assert_eq!(
        patch.body["metadata"]["namespace"], "authentik",
        "the namespace is filled in"
    );
    assert_eq!(
        patch.body["spec"]["template"]["spec"]["containers"][0]["image"],
        "web:1"
    );
    let result = task.await.unwrap();
    assert_eq!(result["metadata"]["resourceVersion"], "7");
}

#[tokio::test]
async fn diff_sends_dry_run_all_and_discovery_is_asked_once_per_group_version() {
    let (client, mut server) = client();
    let object = deployment();
    let task = tokio::spawn(async move {
        let mut cluster = Cluster::new(client);
        let dry = ApplyOptions {
            dry_run: true,
            force: true,
        };
        let live = cluster.get(&object, Some("app")).await.unwrap();
        cluster.apply(&object, Some("app"), dry).await.unwrap();
        live
    });
    assert_eq!(next(&mut server, 200, &apps_v1()).await.path, "/apis/apps/v1");
    let get = next(
        &mut server,
        404,
        &status(404, "NotFound", "deployments.apps \"web\" not found"),
    )
    .await;
    assert_eq!(
        (get.method.as_str(), get.path.as_str()),
        ("GET", "/apis/apps/v1/namespaces/app/deployments/web")
    );
    let patch = next(
        &mut server,
        200,
        &json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}),
    )
    .await;
    assert_eq!(patch.method, "PATCH", "no second discovery request");
    assert_eq!(query(&patch, "dryRun").as_deref(), Some("All"));
    assert_eq!(query(&patch, "force").as_deref(), Some("true"));
    assert_eq!(query(&patch, "fieldManager").as_deref(), Some("ops"));
    assert_eq!(task.await.unwrap(), None, "a 404 on GET means the object is new");
}

#[tokio::test]
async fn kinds_of_one_group_version_share_one_discovery_request() {
    let (client, mut server) = client();
    let statefulset = Object::from_value(
        json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"}}),
    )
    .unwrap();
    let task = tokio::spawn(async move {
        let mut cluster = Cluster::new(client);
        cluster
            .apply(&deployment(), Some("app"), ApplyOptions::default())
            .await
            .unwrap();
        cluster
            .apply(&statefulset, Some("app"), ApplyOptions::default())
            .await
            .unwrap();
    });
    assert_eq!(next(&mut server, 200, &apps_v1()).await.path, "/apis/apps/v1");
    let first = next(
        &mut server,
        200,
        &json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}),
    )
    .await;
    assert_eq!(first.path, "/apis/apps/v1/namespaces/app/deployments/web");
    let second = next(
        &mut server,
        200,
        &json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"}}),
    )
    .await;
    assert_eq!(
        second.path, "/apis/apps/v1/namespaces/app/statefulsets/db",
        "no second discovery request"
    );
    task.await.unwrap();
}

#[tokio::test]
async fn cluster_scoped_kinds_go_to_the_cluster_path_without_namespace() {
    let (client, mut server) = client();
    let object = Object::from_value(json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "authentik", "namespace": "stray"}}))
    .unwrap();
    let task = apply_later(client, object, "authentik");
    assert_eq!(next(&mut server, 200, &core_v1()).await.path, "/api/v1");
    let patch = next(
        &mut server,
        200,
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "authentik"}}),
    )
    .await;
    assert_eq!(patch.path, "/api/v1/namespaces/authentik");
    assert_eq!(patch.body["metadata"].get("namespace"), None);
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_conflict_names_the_other_manager_and_the_way_out() {
    let (client, mut server) = client();
    let object = deployment();
    let task = apply_later(client, object, "app");
    next(&mut server, 200, &apps_v1()).await;
    let message =
        "Apply failed with 1 conflict: conflict with \"kubectl-edit\" using apps/v1: .spec.replicas";
    next(&mut server, 409, &status(409, "Conflict", message)).await;
    let err = task.await.unwrap().unwrap_err();
    assert_eq!(err.code(), Some(409));
    let text = err.to_string();
    assert!(
        text.starts_with("apply Deployment web: field manager conflict"),
        "{text}"
    );
    assert!(
        text.contains("kubectl-edit") && text.contains("force-conflicts = true"),
        "{text}"
    );
}

#[tokio::test]
async fn forbidden_is_reported_as_missing_rbac() {
    let (client, mut server) = client();
    let object = deployment();
    let task = apply_later(client, object, "app");
    next(&mut server, 200, &apps_v1()).await;
    let message = "deployments.apps \"web\" is forbidden: User \"ci\" cannot patch resource \"deployments\"";
    next(&mut server, 403, &status(403, "Forbidden", message)).await;
    let text = task.await.unwrap().unwrap_err().to_string();
    assert!(
        text.contains("forbidden (the context's user lacks the RBAC permission)"),
        "{text}"
    );
    assert!(text.contains("cannot patch resource"), "{text}");
}

#[tokio::test]
async fn a_kind_whose_crd_is_missing_is_not_served() {
    let (client, mut server) = client();
    let object = Object::from_value(
        json!({"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
        "metadata": {"name": "authentik"}}),
    )
    .unwrap();
    let task = tokio::spawn(async move {
        let mut cluster = Cluster::new(client);
        let served = cluster.serves(&object).await.unwrap();
        let err = cluster
            .apply(&object, Some("app"), ApplyOptions::default())
            .await
            .unwrap_err();
        (served, err)
    });
    let discovery = next(
        &mut server,
        404,
        &status(
            404,
            "NotFound",
            "the server could not find the requested resource",
        ),
    )
    .await;
    assert_eq!(discovery.path, "/apis/external-secrets.io/v1");
    let (served, err) = task.await.unwrap();
    assert!(!served);
    assert!(matches!(err, KubeError::NotServed { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "ExternalSecret authentik: the cluster does not serve external-secrets.io/v1 ExternalSecret (is its CRD installed?)"
    );
}
