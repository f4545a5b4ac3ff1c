//! Leases on the in-memory API server, with the optimistic concurrency a real one
//! has: a create of an existing Lease is `409 AlreadyExists`, a replace whose
//! `resourceVersion` is not the stored one is `409 Conflict`.

use serde_json::{Value, json};

use super::{State, status};

fn key(ns: &str, name: &str) -> String {
    format!("coordination.k8s.io/v1/{ns}/leases/{name}")
}

/// `POST /apis/coordination.k8s.io/v1/namespaces/NS/leases`.
pub(super) fn create(state: &mut State, ns: &str, body: &[u8]) -> (u16, Value) {
    let mut lease: Value = serde_json::from_slice(body).unwrap();
    let name = lease["metadata"]["name"].as_str().unwrap_or_default().to_owned();
    if !state.objects.contains_key(&format!("v1/-/namespaces/{ns}")) {
        return status(404, "NotFound", &format!("namespaces \"{ns}\" not found"));
    }
    if state.objects.contains_key(&key(ns, &name)) {
        return status(
            409,
            "AlreadyExists",
            &format!("leases.coordination.k8s.io \"{name}\" already exists"),
        );
    }
    store(state, ns, &name, &mut lease);
    (201, lease)
}

/// `PUT …/leases/NAME`.
pub(super) fn replace(state: &mut State, ns: &str, name: &str, body: &[u8]) -> (u16, Value) {
    let mut lease: Value = serde_json::from_slice(body).unwrap();
    let Some((stored, _)) = state.objects.get(&key(ns, name)) else {
        return status(
            404,
            "NotFound",
            &format!("leases.coordination.k8s.io \"{name}\" not found"),
        );
    };
    if lease["metadata"]["resourceVersion"] != stored["metadata"]["resourceVersion"] {
        return status(
            409,
            "Conflict",
            &format!(
                "Operation cannot be fulfilled on leases.coordination.k8s.io \"{name}\": the object has been modified; please apply your changes to the latest version and try again"
            ),
        );
    }
    store(state, ns, name, &mut lease);
    (200, lease)
}

fn store(state: &mut State, ns: &str, name: &str, lease: &mut Value) {
    state.version += 1;
    let meta = lease["metadata"].as_object_mut().unwrap();
    meta.insert("namespace".into(), json!(ns));
    meta.insert("resourceVersion".into(), json!(state.version.to_string()));
    state.objects.insert(key(ns, name), (lease.clone(), Value::Null));
}
