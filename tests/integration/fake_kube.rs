//! An in-memory stand-in for a Kubernetes API server on a loopback port, for running
//! the `ops` binary's Kubernetes steps end to end (no real API server can be
//! installed here). It serves discovery for the kinds the fixtures use, stores
//! server-side applies (keeping the resource version when nothing changed), answers
//! `dryRun=All` without storing, reports workloads as rolled out (or stuck), lists
//! pods made up from the stored workloads, runs Jobs (`fake_kube/jobs.rs`), keeps
//! Leases with their resource versions (`fake_kube/leases.rs`), and records every
//! request.

mod jobs;
mod leases;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

/// Group/version, plural, kind, namespaced.
const RESOURCES: &[(&str, &str, &str, bool)] = &[
    ("v1", "namespaces", "Namespace", false),
    ("v1", "services", "Service", true),
    ("v1", "configmaps", "ConfigMap", true),
    ("v1", "secrets", "Secret", true),
    ("v1", "serviceaccounts", "ServiceAccount", true),
    ("v1", "pods", "Pod", true),
    ("v1", "events", "Event", true),
    ("apps/v1", "deployments", "Deployment", true),
    ("apps/v1", "statefulsets", "StatefulSet", true),
    ("apps/v1", "daemonsets", "DaemonSet", true),
    ("batch/v1", "jobs", "Job", true),
    ("coordination.k8s.io/v1", "leases", "Lease", true),
    ("networking.k8s.io/v1", "ingresses", "Ingress", true),
    (
        "apiextensions.k8s.io/v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        false,
    ),
    (
        "external-secrets.io/v1beta1",
        "externalsecrets",
        "ExternalSecret",
        true,
    ),
];

/// One request the server saw.
#[derive(Clone, Debug)]
pub(crate) struct Recorded {
    pub method: String,
    pub path: String,
    pub query: String,
    pub content_type: Option<String>,
    pub body: String,
}

#[derive(Default)]
struct State {
    /// Stored objects and the body last applied to each, by `gv/ns/plural/name`.
    objects: BTreeMap<String, (Value, Value)>,
    requests: Vec<Recorded>,
    version: u64,
    /// Workloads never become ready; their pods wait on an image pull.
    stuck: bool,
    /// The process of each Job's running pod, by the Job's key.
    running: BTreeMap<String, i32>,
    /// What each Job pod's container wrote, by the pod's key.
    logs: BTreeMap<String, String>,
}

pub(crate) struct FakeKube {
    pub port: u16,
    state: Arc<Mutex<State>>,
    dir: tempfile::TempDir,
}

impl FakeKube {
    pub(crate) fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = Arc::clone(&shared);
                std::thread::spawn(move || serve(stream, &state));
            }
        });
        Self {
            port,
            state,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A kubeconfig whose only context, `context`, is also the current one.
    pub(crate) fn kubeconfig(&self, context: &str) -> PathBuf {
        let path = self.dir.path().join("kubeconfig");
        let text = format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: {context}\nclusters:\n- name: fake\n  cluster:\n    server: http://127.0.0.1:{port}\ncontexts:\n- name: {context}\n  context:\n    cluster: fake\n    user: fake\nusers:\n- name: fake\n  user:\n    token: fake-token\n",
            port = self.port
        );
        std::fs::write(&path, text).unwrap();
        path
    }

    pub(crate) fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Requests that change something (a PATCH without `dryRun`).
    pub(crate) fn writes(&self) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.method != "GET" && !r.query.contains("dryRun=All"))
            .collect()
    }

    /// A stored object by `gv/namespace/plural/name` (`-` for cluster-scoped).
    pub(crate) fn object(&self, key: &str) -> Option<Value> {
        self.state
            .lock()
            .unwrap()
            .objects
            .get(key)
            .map(|(o, _)| o.clone())
    }

    /// Store `object` under `gv/namespace/plural/name`, as a fixture.
    pub(crate) fn insert(&self, key: &str, object: serde_json::Value) {
        let mut state = self.state.lock().unwrap();
        state.version += 1;
        state.objects.insert(key.to_owned(), (object, Value::Null));
    }

    /// Job pods whose process still runs.
    pub(crate) fn running(&self) -> usize {
        self.state.lock().unwrap().running.len()
    }

    pub(crate) fn set_stuck(&self, stuck: bool) {
        self.state.lock().unwrap().stuck = stuck;
    }
}

fn serve(stream: TcpStream, state: &Arc<Mutex<State>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default().to_owned();
    let mut length = 0;
    let mut content_type = None;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
            break;
        }
        let (name, value) = header.split_once(':').unwrap_or((&header, ""));
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().unwrap_or(0),
            "content-type" => content_type = Some(value.trim().to_owned()),
            _ => {}
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let (path, query) = (path.to_owned(), decode(query));
    state.lock().unwrap().requests.push(Recorded {
        method: method.clone(),
        path: path.clone(),
        query: query.clone(),
        content_type: content_type.clone(),
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let (ns, plural, name) = match route(&path) {
        Some((_, ns, plural, name)) => (ns.unwrap_or_default(), plural, name),
        None => Default::default(),
    };
    let (code, reply) = match (method.as_str(), plural.as_str(), name) {
        ("GET", "pods", Some(pod)) if path.ends_with("/log") => {
            return jobs::log(stream, state, &ns, &pod, &query);
        }
        ("GET", "pods", None) if param(&query, "watch") == Some("true") => {
            return jobs::watch(stream, state, &ns, &query);
        }
        ("POST", "jobs", None) => jobs::create(state, &ns, &query, &body),
        ("DELETE", "jobs", Some(job)) => jobs::delete(&mut state.lock().unwrap(), &ns, &job),
        ("POST", "leases", None) => leases::create(&mut state.lock().unwrap(), &ns, &body),
        ("PUT", "leases", Some(lease)) => leases::replace(&mut state.lock().unwrap(), &ns, &lease, &body),
        _ => handle(
            &mut state.lock().unwrap(),
            &method,
            &path,
            &query,
            content_type.as_deref(),
            &body,
        ),
    };
    let text = reply.to_string();
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {code} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
}

fn decode(query: &str) -> String {
    query
        .replace("%3D", "=")
        .replace("%2C", ",")
        .replace("%2F", "/")
        .replace('+', " ")
}

fn status(code: u16, reason: &str, message: &str) -> (u16, Value) {
    (
        code,
        json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code, "reason": reason, "message": message}),
    )
}

fn param<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query
        .split('&')
        .find_map(|p| p.strip_prefix(key)?.strip_prefix('='))
}

/// Where a path points: group/version, namespace, resource, name.
fn route(path: &str) -> Option<(String, Option<String>, String, Option<String>)> {
    let (gv, rest) = if let Some(rest) = path.strip_prefix("/api/v1") {
        ("v1".to_owned(), rest)
    } else {
        let rest = path.strip_prefix("/apis/")?;
        let mut it = rest.splitn(3, '/');
        let (g, v) = (it.next()?, it.next()?);
        (
            format!("{g}/{v}"),
            rest.get(g.len() + v.len() + 1..).unwrap_or(""),
        )
    };
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        [] => Some((gv, None, String::new(), None)),
        ["namespaces", ns, plural, tail @ ..] => Some((
            gv,
            Some((*ns).to_owned()),
            (*plural).to_owned(),
            tail.first().map(|s| (*s).to_owned()),
        )),
        [plural, tail @ ..] => Some((
            gv,
            None,
            (*plural).to_owned(),
            tail.first().map(|s| (*s).to_owned()),
        )),
    }
}

fn handle(
    state: &mut State,
    method: &str,
    path: &str,
    query: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> (u16, Value) {
    let Some((gv, ns, plural, name)) = route(path) else {
        return status(
            404,
            "NotFound",
            "the server could not find the requested resource",
        );
    };
    if plural.is_empty() {
        let resources: Vec<Value> = RESOURCES
            .iter()
            .filter(|r| r.0 == gv)
            .map(|(_, plural, kind, namespaced)| {
                json!({"name": plural, "singularName": kind.to_ascii_lowercase(), "namespaced": namespaced,
                       "kind": kind, "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]})
            })
            .collect();
        if resources.is_empty() {
            return status(
                404,
                "NotFound",
                "the server could not find the requested resource",
            );
        }
        return (
            200,
            json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}),
        );
    }
    let key = format!(
        "{gv}/{}/{plural}/{}",
        ns.as_deref().unwrap_or("-"),
        name.as_deref().unwrap_or("")
    );
    match (method, name) {
        ("GET", Some(name)) => match state.objects.get(&key) {
            Some((object, _)) => (200, object.clone()),
            None => status(404, "NotFound", &format!("{plural} \"{name}\" not found")),
        },
        ("GET", None) => list(state, &plural, ns.as_deref(), query),
        ("PATCH", Some(_)) => {
            if content_type != Some("application/apply-patch+yaml") {
                return status(415, "UnsupportedMediaType", "expected a server-side apply");
            }
            if let Some(ns) = ns.as_deref()
                && !state.objects.contains_key(&format!("v1/-/namespaces/{ns}"))
            {
                return status(404, "NotFound", &format!("namespaces \"{ns}\" not found"));
            }
            let applied: Value = serde_json::from_slice(body).unwrap();
            let dry_run = param(query, "dryRun") == Some("All");
            let manager = param(query, "fieldManager").unwrap_or_default().to_owned();
            let object = store(state, &key, &applied, &manager, dry_run);
            (200, object)
        }
        _ => status(405, "MethodNotAllowed", "not supported by the fake"),
    }
}

/// The object as the server would keep it: defaults, metadata, status.
fn store(state: &mut State, key: &str, applied: &Value, manager: &str, dry_run: bool) -> Value {
    let previous = state.objects.get(key).cloned();
    let unchanged = previous.as_ref().is_some_and(|(_, body)| body == applied);
    let mut object = applied.clone();
    let (version, generation) = match (&previous, unchanged) {
        (Some((old, _)), true) => (
            old["metadata"]["resourceVersion"].clone(),
            old["metadata"]["generation"].clone(),
        ),
        (old, _) => {
            let generation = old
                .as_ref()
                .and_then(|(o, _)| o["metadata"]["generation"].as_i64())
                .unwrap_or(0)
                + 1;
            (json!((state.version + 1).to_string()), json!(generation))
        }
    };
    let meta = object["metadata"].as_object_mut().unwrap();
    meta.insert("resourceVersion".into(), version);
    meta.insert("generation".into(), generation.clone());
    meta.insert("uid".into(), json!(format!("uid-{}", key.len())));
    meta.insert("creationTimestamp".into(), json!("2026-01-01T00:00:00Z"));
    meta.insert(
        "managedFields".into(),
        json!([{"manager": manager, "operation": "Apply"}]),
    );
    if object["kind"] == "Deployment" {
        if object["spec"].get("progressDeadlineSeconds").is_none() {
            object["spec"]["progressDeadlineSeconds"] = json!(600);
        }
        let replicas = object["spec"]["replicas"].as_i64().unwrap_or(1);
        let ready = if state.stuck { 0 } else { replicas };
        object["status"] = json!({"observedGeneration": generation, "replicas": replicas,
            "updatedReplicas": replicas, "readyReplicas": ready, "availableReplicas": ready});
    }
    if !dry_run && !unchanged {
        state.version += 1;
        state
            .objects
            .insert(key.to_owned(), (object.clone(), applied.clone()));
    }
    object
}

fn list(state: &State, plural: &str, ns: Option<&str>, query: &str) -> (u16, Value) {
    let items: Vec<Value> = match plural {
        "pods" => pods(state, ns)
            .into_iter()
            .filter(|pod| {
                matches(
                    &pod["metadata"]["labels"],
                    param(query, "labelSelector").unwrap_or(""),
                )
            })
            .collect(),
        "events" => {
            let pod = param(query, "fieldSelector")
                .and_then(|f| f.split(',').find_map(|p| p.strip_prefix("involvedObject.name=")))
                .unwrap_or("");
            if state.stuck {
                vec![
                    json!({"metadata": {"name": format!("{pod}.1")}, "involvedObject": {"kind": "Pod", "name": pod},
                    "type": "Warning", "reason": "Failed", "lastTimestamp": "2026-01-01T00:01:00Z",
                    "message": "Failed to pull image: not found"}),
                ]
            } else {
                Vec::new()
            }
        }
        _ => Vec::new(),
    };
    (
        200,
        json!({"kind": "List", "apiVersion": "v1", "metadata": {"resourceVersion": state.version.to_string()}, "items": items}),
    )
}

/// The pods of a namespace: those of Jobs, and those made up from the stored
/// Deployments and StatefulSets.
fn pods(state: &State, ns: Option<&str>) -> Vec<Value> {
    let mut pods: Vec<Value> = state
        .objects
        .iter()
        .filter(|(key, (object, _))| {
            key.starts_with("v1/")
                && key.contains("/pods/")
                && ns.is_none_or(|ns| object["metadata"]["namespace"] == ns)
        })
        .map(|(_, (object, _))| object.clone())
        .collect();
    for (key, (object, _)) in &state.objects {
        if !(key.starts_with("apps/v1/")
            && matches!(object["kind"].as_str(), Some("Deployment" | "StatefulSet")))
        {
            continue;
        }
        if ns.is_some_and(|ns| object["metadata"]["namespace"] != ns) {
            continue;
        }
        let replicas = object["spec"]["replicas"].as_i64().unwrap_or(1);
        let labels = object["spec"]["template"]["metadata"]["labels"].clone();
        for i in 0..replicas {
            let ready = !state.stuck;
            let state_json = if ready {
                json!({"running": {"startedAt": "2026-01-01T00:00:00Z"}})
            } else {
                json!({"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image"}})
            };
            pods.push(json!({
                "metadata": {"name": format!("{}-{i}", object["metadata"]["name"].as_str().unwrap_or("")),
                             "namespace": object["metadata"]["namespace"], "labels": labels},
                "spec": {"containers": [{"name": "app"}]},
                "status": {"phase": if ready { "Running" } else { "Pending" },
                    "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}],
                    "containerStatuses": [{"name": "app", "ready": ready, "restartCount": 0, "image": "", "imageID": "",
                        "state": state_json}]}
            }));
        }
    }
    pods
}

/// `a=b,c=d` against a label map.
fn matches(labels: &Value, selector: &str) -> bool {
    selector
        .split(',')
        .filter(|s| !s.is_empty())
        .all(|term| term.split_once('=').is_some_and(|(k, v)| labels[k] == v))
}
