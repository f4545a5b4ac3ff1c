//! `batch/v1` Jobs for `kube-job`: the Job a step describes, created (or created with
//! `dryRun=All`), its pods watched and their logs followed until one ends, and the
//! Job deleted with `propagationPolicy: Background`.
//!
//! A Job's pods are found by the `job-name` label the Job controller sets. Each pod
//! is followed once: its log streamed line by line as the container writes it, then
//! its exit code read from the container's terminated state. A pod that fails is
//! counted against `backoffLimit`; the controller starts the next one, which is
//! followed in turn. A pod that cannot start for a reason that does not go away by
//! waiting (an image that cannot be pulled, a missing Secret) fails the Job at once.

use std::collections::BTreeSet;
use std::time::Duration;

use futures::{AsyncBufReadExt, StreamExt};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ContainerState, Pod};
use kube::Client;
use kube::api::{Api, DeleteParams, ListParams, LogParams, PostParams, WatchEvent, WatchParams};
use serde_json::{Map, Value, json};

use super::{KubeError, Session};

/// The name of the one container of every Job ops creates.
pub(crate) const CONTAINER: &str = "job";

/// Waiting reasons of a container that waiting does not cure.
const CANNOT_START: &[&str] = &[
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "ErrImageNeverPull",
    "CreateContainerConfigError",
    "CreateContainerError",
];

/// A value the pod reads from a key of a Secret (`secretKeyRef`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct SecretKey {
    pub secret: String,
    pub key: String,
}

/// The Job a step asks for, with its values rendered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct JobSpec {
    pub name: String,
    pub namespace: String,
    pub image: String,
    pub command: Vec<String>,
    pub env: Vec<(String, String)>,
    pub secret_env: Vec<(String, SecretKey)>,
    pub labels: Vec<(String, String)>,
    pub service_account: Option<String>,
    /// Pods that may fail before the Job does (`retries`).
    pub backoff_limit: u32,
    /// `activeDeadlineSeconds` (`timeout`).
    pub deadline: Duration,
    /// `ttlSecondsAfterFinished`: how long a kept Job stays.
    pub ttl: Duration,
}

impl JobSpec {
    /// The Job object as it is sent to the API server.
    pub(crate) fn object(&self) -> Value {
        let labels: Map<String, Value> = self
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let mut env: Vec<Value> = self
            .env
            .iter()
            .map(|(name, value)| json!({"name": name, "value": value}))
            .collect();
        env.extend(self.secret_env.iter().map(|(name, from)| {
            json!({"name": name, "valueFrom": {"secretKeyRef": {"name": from.secret, "key": from.key}}})
        }));
        let mut container = json!({"name": CONTAINER, "image": self.image, "command": self.command});
        if !env.is_empty() {
            container["env"] = Value::Array(env);
        }
        let mut pod = json!({"restartPolicy": "Never", "containers": [container]});
        if let Some(account) = &self.service_account {
            pod["serviceAccountName"] = json!(account);
        }
        json!({
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": self.name, "namespace": self.namespace, "labels": labels},
            "spec": {
                "backoffLimit": self.backoff_limit,
                "activeDeadlineSeconds": self.deadline.as_secs().max(1),
                "ttlSecondsAfterFinished": self.ttl.as_secs(),
                "template": {"metadata": {"labels": labels}, "spec": pod}
            }
        })
    }

    fn jobs(&self, client: &Client) -> Api<Job> {
        Api::namespaced(client.clone(), &self.namespace)
    }

    fn describe(&self) -> String {
        format!("Job {} in namespace {}", self.name, self.namespace)
    }
}

/// Create the Job (`dry_run`: with `dryRun=All`, storing nothing); the server's answer.
pub(crate) async fn create(client: &Client, spec: &JobSpec, dry_run: bool) -> Result<Value, KubeError> {
    let job: Job = serde_json::from_value(spec.object())
        .map_err(|e| KubeError::Invalid(format!("{}: {e}", spec.describe())))?;
    let params = PostParams {
        dry_run,
        field_manager: Some("ops".into()),
    };
    let created = spec
        .jobs(client)
        .create(&params, &job)
        .await
        .map_err(|e| KubeError::from_kube(format!("create {}", spec.describe()), e))?;
    serde_json::to_value(created).map_err(|e| KubeError::Invalid(e.to_string()))
}

/// Delete the Job and, in the background, its pods.
pub(crate) async fn delete(client: &Client, spec: &JobSpec) -> Result<(), KubeError> {
    match spec
        .jobs(client)
        .delete(&spec.name, &DeleteParams::background())
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(e) => Err(KubeError::from_kube(format!("delete {}", spec.describe()), e)),
    }
}

/// How a Job ended that ran to the end.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Ended {
    /// The pod that ran last.
    pub pod: String,
    pub exit_code: i32,
    /// Up to the capture limit of its log, the end kept.
    pub log: String,
    /// Pods that ran, the last included.
    pub pods: u32,
}

/// Follow the Job's pods until one succeeds or `backoffLimit` more have failed; every
/// log line goes to `cx`. The last pod's log and exit code are returned either way:
/// the caller judges them. Runs until the Job ends: the caller bounds it in time.
pub(crate) async fn follow(
    cx: &Session<'_>,
    client: &Client,
    spec: &JobSpec,
    capture: usize,
) -> Result<Ended, KubeError> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), &spec.namespace);
    let selector = format!("job-name={}", spec.name);
    let action = || format!("watch the pods of {}", spec.describe());
    let mut follower = Follower {
        cx,
        pods: &pods,
        spec,
        capture,
        followed: BTreeSet::new(),
        shown: String::new(),
        failed: 0,
    };
    loop {
        let list = pods
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(|e| KubeError::from_kube(action(), e))?;
        for pod in list.items {
            if let Some(ended) = follower.consider(&pod).await? {
                return Ok(ended);
            }
        }
        let version = list.metadata.resource_version.unwrap_or_else(|| "0".into());
        let mut stream = pods
            .watch(&WatchParams::default().labels(&selector).timeout(290), &version)
            .await
            .map_err(|e| KubeError::from_kube(action(), e))?
            .boxed();
        // Until the watch ends (its timeout, or 410 Gone: the version is too old),
        // then list again.
        while let Some(event) = stream.next().await {
            match event.map_err(|e| KubeError::from_kube(action(), e))? {
                WatchEvent::Added(pod) | WatchEvent::Modified(pod) => {
                    if let Some(ended) = follower.consider(&pod).await? {
                        return Ok(ended);
                    }
                }
                WatchEvent::Deleted(_) | WatchEvent::Bookmark(_) => {}
                WatchEvent::Error(status) if status.code == 410 => break,
                WatchEvent::Error(status) => {
                    return Err(KubeError::Api {
                        action: action(),
                        code: status.code,
                        reason: status.reason,
                        message: status.message,
                    });
                }
            }
        }
    }
}

/// What following a Job's pods has seen so far.
struct Follower<'a> {
    cx: &'a Session<'a>,
    pods: &'a Api<Pod>,
    spec: &'a JobSpec,
    capture: usize,
    /// Pods whose log was followed.
    followed: BTreeSet<String>,
    /// The last progress line.
    shown: String,
    failed: u32,
}

impl Follower<'_> {
    /// Report the pod's phase when it changed.
    fn show(&mut self, name: &str, pod: &Pod, state: Option<&ContainerState>) {
        let now = summary(pod, state);
        if now != self.shown {
            self.cx.report(format!("pod {name}: {now}"));
            self.shown = now;
        }
    }

    /// Look at a pod as it is now: report a change, follow it once it started; how
    /// the Job ended, if this pod ended it.
    async fn consider(&mut self, pod: &Pod) -> Result<Option<Ended>, KubeError> {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let state = container_state(pod);
        self.show(&name, pod, state.as_ref());
        if let Some(reason) = cannot_start(state.as_ref()) {
            return Err(KubeError::JobFailed(format!(
                "pod {name} of {} cannot start: {reason}",
                self.spec.describe()
            )));
        }
        let started = state
            .as_ref()
            .is_some_and(|s| s.running.is_some() || s.terminated.is_some());
        if !started || !self.followed.insert(name.clone()) {
            return Ok(None);
        }
        let log = log(self.cx, self.pods, &name, self.capture).await?;
        let (exit_code, ended) = exit_code(self.cx, self.pods, &name).await?;
        // The watch may not have brought the pod's end yet: say it as the watch would.
        self.show(&name, &ended, container_state(&ended).as_ref());
        if exit_code == 0 || self.failed >= self.spec.backoff_limit {
            return Ok(Some(Ended {
                pod: name,
                exit_code,
                log,
                pods: self.failed + 1,
            }));
        }
        self.failed += 1;
        self.cx.report(format!(
            "pod {name} exited with code {exit_code}; the Job starts another ({} of {} failures allowed)",
            self.failed, self.spec.backoff_limit
        ));
        Ok(None)
    }
}

/// The state of the Job's container in `pod`.
fn container_state(pod: &Pod) -> Option<ContainerState> {
    pod.status
        .as_ref()?
        .container_statuses
        .as_ref()?
        .iter()
        .find(|c| c.name == CONTAINER)?
        .state
        .clone()
}

/// `Pending (ContainerCreating)`, `Running`, `Succeeded (exit code 0)`.
fn summary(pod: &Pod, state: Option<&ContainerState>) -> String {
    let phase = pod
        .status
        .as_ref()
        .and_then(|s| s.phase.clone())
        .unwrap_or_else(|| "Pending".into());
    match state {
        Some(ContainerState { waiting: Some(w), .. }) => {
            format!("{phase} ({})", w.reason.as_deref().unwrap_or("waiting"))
        }
        Some(ContainerState {
            terminated: Some(t), ..
        }) => format!("{phase} (exit code {})", t.exit_code),
        _ => phase,
    }
}

fn cannot_start(state: Option<&ContainerState>) -> Option<String> {
    let waiting = state?.waiting.as_ref()?;
    let reason = waiting.reason.as_deref()?;
    CANNOT_START.contains(&reason).then(|| match &waiting.message {
        Some(message) => format!("{reason}: {message}"),
        None => reason.to_owned(),
    })
}

/// Stream the log of the pod's container to its end; the last `capture` bytes of it.
async fn log(cx: &Session<'_>, pods: &Api<Pod>, pod: &str, capture: usize) -> Result<String, KubeError> {
    let params = LogParams {
        follow: true,
        container: Some(CONTAINER.into()),
        ..LogParams::default()
    };
    let action = || format!("follow the log of pod {pod}");
    let reader = pods
        .log_stream(pod, &params)
        .await
        .map_err(|e| KubeError::from_kube(action(), e))?;
    let mut lines = reader.lines();
    let mut kept = String::new();
    while let Some(line) = lines.next().await {
        let line = line.map_err(|e| KubeError::Transport {
            action: action(),
            reason: e.to_string(),
        })?;
        kept.push_str(&line);
        kept.push('\n');
        if kept.len() > capture {
            let cut = kept.len() - capture;
            let cut = (cut..kept.len())
                .find(|&i| kept.is_char_boundary(i))
                .unwrap_or(kept.len());
            kept.drain(..cut);
        }
        cx.report(line);
    }
    Ok(kept)
}

/// The exit code of the pod's container once it has terminated, and the pod then: the
/// log can end a moment before the kubelet reports it.
async fn exit_code(cx: &Session<'_>, pods: &Api<Pod>, pod: &str) -> Result<(i32, Pod), KubeError> {
    loop {
        let current = match pods.get(pod).await {
            Ok(current) => current,
            Err(kube::Error::Api(status)) if status.code == 404 => {
                return Err(KubeError::JobFailed(format!(
                    "pod {pod} was deleted before it finished"
                )));
            }
            Err(e) => return Err(KubeError::from_kube(format!("read pod {pod}"), e)),
        };
        if let Some(ContainerState {
            terminated: Some(t), ..
        }) = container_state(&current)
        {
            return Ok((t.exit_code, current));
        }
        cx.pause(Duration::from_millis(250)).await?;
    }
}
