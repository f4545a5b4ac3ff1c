//! Waiting for rollouts and pods, the way `kubectl rollout status` judges them, and
//! the report of what is not ready when time runs out: each pod's state and its
//! last events.

use std::fmt::Write as _;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::Client;
use kube::api::{Api, ListParams};

use super::error::KubeError;
use super::object::Object;

/// A workload whose rollout can be waited for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Workload {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl std::fmt::Display for Workload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.kind.to_ascii_lowercase(), self.name)
    }
}

/// The Deployments, StatefulSets and DaemonSets among applied objects.
pub(crate) fn workloads(objects: &[Object], namespace: Option<&str>) -> Vec<Workload> {
    objects
        .iter()
        .filter(|o| o.gvk.group == "apps" && matches!(o.kind(), "Deployment" | "StatefulSet" | "DaemonSet"))
        .map(|o| Workload {
            kind: o.kind().to_owned(),
            namespace: o.namespace_or(namespace).unwrap_or("default").to_owned(),
            name: o.name.clone(),
        })
        .collect()
}

/// Where a rollout stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Rollout {
    Done(String),
    Waiting(String),
    /// The controller gave up (progress deadline exceeded).
    Failed(String),
}

/// Read the workload and judge its rollout; also returns its pod selector.
pub(crate) async fn rollout(
    client: &Client,
    workload: &Workload,
) -> Result<(Rollout, Option<String>), KubeError> {
    let action = || format!("read {workload}");
    let ns = workload.namespace.as_str();
    match workload.kind.as_str() {
        "Deployment" => {
            let d = Api::<Deployment>::namespaced(client.clone(), ns)
                .get(&workload.name)
                .await
                .map_err(|e| KubeError::from_kube(action(), e))?;
            Ok((deployment(&d), selector(d.spec.as_ref().map(|s| &s.selector))))
        }
        "StatefulSet" => {
            let s = Api::<StatefulSet>::namespaced(client.clone(), ns)
                .get(&workload.name)
                .await
                .map_err(|e| KubeError::from_kube(action(), e))?;
            Ok((statefulset(&s), selector(s.spec.as_ref().map(|s| &s.selector))))
        }
        _ => {
            let d = Api::<DaemonSet>::namespaced(client.clone(), ns)
                .get(&workload.name)
                .await
                .map_err(|e| KubeError::from_kube(action(), e))?;
            Ok((daemonset(&d), selector(d.spec.as_ref().map(|s| &s.selector))))
        }
    }
}

fn selector(
    selector: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector>,
) -> Option<String> {
    let labels = selector?.match_labels.as_ref()?;
    Some(
        labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(","),
    )
}

fn observed(generation: Option<i64>, observed: Option<i64>) -> bool {
    observed.unwrap_or(0) >= generation.unwrap_or(0)
}

/// `kubectl rollout status` for a Deployment.
pub(crate) fn deployment(d: &Deployment) -> Rollout {
    let status = d.status.clone().unwrap_or_default();
    if !observed(d.metadata.generation, status.observed_generation) {
        return Rollout::Waiting("waiting for the controller to see the new spec".into());
    }
    if let Some(cond) = status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Progressing" && c.reason.as_deref() == Some("ProgressDeadlineExceeded"))
    {
        return Rollout::Failed(
            cond.message
                .clone()
                .unwrap_or_else(|| "progress deadline exceeded".into()),
        );
    }
    let wanted = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let updated = status.updated_replicas.unwrap_or(0);
    let total = status.replicas.unwrap_or(0);
    let available = status.available_replicas.unwrap_or(0);
    if updated < wanted {
        Rollout::Waiting(format!("{updated} of {wanted} replicas updated"))
    } else if total > updated {
        Rollout::Waiting(format!("{} old replicas pending termination", total - updated))
    } else if available < updated {
        Rollout::Waiting(format!("{available} of {updated} updated replicas available"))
    } else {
        Rollout::Done(format!("{available}/{wanted} available"))
    }
}

/// `kubectl rollout status` for a StatefulSet.
pub(crate) fn statefulset(s: &StatefulSet) -> Rollout {
    let status = s.status.clone().unwrap_or_default();
    let spec = s.spec.clone().unwrap_or_default();
    if spec.update_strategy.as_ref().and_then(|u| u.type_.as_deref()) == Some("OnDelete") {
        return Rollout::Done("update strategy OnDelete: pods change when deleted".into());
    }
    if !observed(s.metadata.generation, status.observed_generation) {
        return Rollout::Waiting("waiting for the controller to see the new spec".into());
    }
    let wanted = spec.replicas.unwrap_or(1);
    let ready = status.ready_replicas.unwrap_or(0);
    let updated = status.updated_replicas.unwrap_or(0);
    if ready < wanted {
        Rollout::Waiting(format!("{ready} of {wanted} pods ready"))
    } else if status.update_revision.is_some() && status.update_revision != status.current_revision {
        Rollout::Waiting(format!("{updated} of {wanted} pods updated"))
    } else {
        Rollout::Done(format!("{ready}/{wanted} ready"))
    }
}

/// `kubectl rollout status` for a DaemonSet.
pub(crate) fn daemonset(d: &DaemonSet) -> Rollout {
    let status = d.status.clone().unwrap_or_default();
    if !observed(d.metadata.generation, status.observed_generation) {
        return Rollout::Waiting("waiting for the controller to see the new spec".into());
    }
    let desired = status.desired_number_scheduled;
    let updated = status.updated_number_scheduled.unwrap_or(0);
    let available = status.number_available.unwrap_or(0);
    if updated < desired {
        Rollout::Waiting(format!("{updated} of {desired} pods updated"))
    } else if available < desired {
        Rollout::Waiting(format!("{available} of {desired} updated pods available"))
    } else {
        Rollout::Done(format!("{available}/{desired} available"))
    }
}

/// One pod as a readiness check sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PodState {
    pub name: String,
    pub phase: String,
    pub ready: bool,
    /// `1/2`: ready containers of all.
    pub containers: String,
    pub restarts: i32,
    /// Why containers are not running (`ImagePullBackOff: …`).
    pub reasons: Vec<String>,
}

/// The pods matching a label selector.
pub(crate) async fn pods(
    client: &Client,
    namespace: &str,
    selector: &str,
) -> Result<Vec<PodState>, KubeError> {
    let list = Api::<Pod>::namespaced(client.clone(), namespace)
        .list(&ListParams::default().labels(selector))
        .await
        .map_err(|e| KubeError::from_kube(format!("list pods {selector} in {namespace}"), e))?;
    Ok(list.items.iter().map(pod_state).collect())
}

pub(crate) fn pod_state(pod: &Pod) -> PodState {
    let status = pod.status.clone().unwrap_or_default();
    let ready = status
        .conditions
        .iter()
        .flatten()
        .any(|c| c.type_ == "Ready" && c.status == "True");
    let statuses = status.container_statuses.unwrap_or_default();
    let total = pod.spec.as_ref().map_or(statuses.len(), |s| s.containers.len());
    let mut reasons = Vec::new();
    for c in &statuses {
        let state = c.state.clone().unwrap_or_default();
        if let Some(w) = state.waiting {
            reasons.push(format!(
                "{}: {}{}",
                c.name,
                w.reason.unwrap_or_else(|| "waiting".into()),
                w.message.map(|m| format!(" ({m})")).unwrap_or_default()
            ));
        } else if let Some(t) = state.terminated {
            reasons.push(format!(
                "{}: terminated, {} (exit code {})",
                c.name,
                t.reason.unwrap_or_default(),
                t.exit_code
            ));
        }
    }
    PodState {
        name: pod.metadata.name.clone().unwrap_or_default(),
        phase: status.phase.unwrap_or_else(|| "Unknown".into()),
        ready,
        containers: format!("{}/{total}", statuses.iter().filter(|c| c.ready).count()),
        restarts: statuses.iter().map(|c| c.restart_count).sum(),
        reasons,
    }
}

/// The last `n` events of a pod, oldest first: `Warning BackOff: Back-off pulling image`.
pub(crate) async fn last_events(
    client: &Client,
    namespace: &str,
    pod: &str,
    n: usize,
) -> Result<Vec<String>, KubeError> {
    let fields = format!("involvedObject.kind=Pod,involvedObject.name={pod}");
    let mut events = Api::<Event>::namespaced(client.clone(), namespace)
        .list(&ListParams::default().fields(&fields))
        .await
        .map_err(|e| KubeError::from_kube(format!("list events of pod {pod}"), e))?
        .items;
    let when = |e: &Event| {
        e.last_timestamp
            .as_ref()
            .map(|t| t.0.to_string())
            .or_else(|| e.event_time.as_ref().map(|t| t.0.to_string()))
            .unwrap_or_default()
    };
    events.sort_by_key(when);
    let skip = events.len().saturating_sub(n);
    Ok(events
        .iter()
        .skip(skip)
        .map(|e| {
            format!(
                "{} {}: {}",
                e.type_.as_deref().unwrap_or("Normal"),
                e.reason.as_deref().unwrap_or(""),
                e.message.as_deref().unwrap_or("").trim()
            )
        })
        .collect())
}

/// The lines reported for pods that are not ready: state, reasons, last events.
pub(crate) async fn not_ready_report(client: &Client, namespace: &str, pods: &[PodState]) -> Vec<String> {
    let mut lines = Vec::new();
    for pod in pods.iter().filter(|p| !p.ready) {
        let mut line = format!(
            "  pod {} not ready: {}, containers {} ready, {} restarts",
            pod.name, pod.phase, pod.containers, pod.restarts
        );
        for reason in &pod.reasons {
            let _ = write!(line, "; {reason}");
        }
        lines.push(line);
        match last_events(client, namespace, &pod.name, 3).await {
            Ok(events) => lines.extend(events.into_iter().map(|e| format!("    event: {e}"))),
            Err(e) => lines.push(format!("    (events unavailable: {e})")),
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deploy(value: serde_json::Value) -> Deployment {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn deployment_rollout_follows_kubectl() {
        let base = |status: serde_json::Value| {
            deploy(json!({"metadata": {"name": "d", "generation": 2},
                "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "d"}}, "template": {}},
                "status": status}))
        };
        assert!(matches!(
            deployment(&base(json!({"observedGeneration": 1}))),
            Rollout::Waiting(_)
        ));
        assert_eq!(
            deployment(&base(
                json!({"observedGeneration": 2, "updatedReplicas": 1, "replicas": 2})
            )),
            Rollout::Waiting("1 of 2 replicas updated".into())
        );
        assert_eq!(
            deployment(&base(
                json!({"observedGeneration": 2, "updatedReplicas": 2, "replicas": 3})
            )),
            Rollout::Waiting("1 old replicas pending termination".into())
        );
        assert_eq!(
            deployment(&base(
                json!({"observedGeneration": 2, "updatedReplicas": 2, "replicas": 2, "availableReplicas": 2})
            )),
            Rollout::Done("2/2 available".into())
        );
        let stuck = base(
            json!({"observedGeneration": 2, "conditions": [{"type": "Progressing", "status": "False",
            "reason": "ProgressDeadlineExceeded", "message": "ReplicaSet \"d-1\" has timed out progressing."}]}),
        );
        assert!(matches!(deployment(&stuck), Rollout::Failed(m) if m.contains("timed out")));
    }

    #[test]
    fn pod_state_names_waiting_reasons() {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "web-1"},
            "spec": {"containers": [{"name": "app"}, {"name": "side"}]},
            "status": {"phase": "Pending", "conditions": [{"type": "Ready", "status": "False"}],
                "containerStatuses": [
                    {"name": "app", "ready": false, "restartCount": 3, "image": "i", "imageID": "",
                     "state": {"waiting": {"reason": "ImagePullBackOff", "message": "pull failed"}}},
                    {"name": "side", "ready": true, "restartCount": 0, "image": "i", "imageID": "",
                     "state": {"running": {}}}]}
        }))
        .unwrap();
        let state = pod_state(&pod);
        assert!(!state.ready);
        assert_eq!(state.containers, "1/2");
        assert_eq!(state.restarts, 3);
        assert_eq!(state.reasons, ["app: ImagePullBackOff (pull failed)"]);
    }
}
