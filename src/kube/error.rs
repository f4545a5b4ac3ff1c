//! What can go wrong talking to a cluster, phrased for the person running the step.

use thiserror::Error;

use crate::process::ProcessError;

#[derive(Debug, Error)]
pub(crate) enum KubeError {
    #[error(
        "context {context} is not configured here: no kubeconfig at {paths} \
         (set KUBECONFIG, or create one: kind and k3d write it)"
    )]
    NoKubeconfig { context: String, paths: String },

    #[error("cannot read kubeconfig {path}: {reason}")]
    Kubeconfig { path: String, reason: String },

    #[error(
        "context {context} is not in the kubeconfig ({kubeconfig}); it has: {}. \
         Add the context, or point it at one that exists with --context-map NAME=OTHER",
        if available.is_empty() { "no contexts".to_owned() } else { available.join(", ") }
    )]
    UnknownContext {
        context: String,
        kubeconfig: String,
        available: Vec<String>,
    },

    #[error("cannot connect with context {context}: {reason}")]
    Connect { context: String, reason: String },

    #[error("{object}: the cluster does not serve {api_version} {kind} (is its CRD installed?)")]
    NotServed {
        object: String,
        api_version: String,
        kind: String,
    },

    #[error("{action}: {}", describe_api(*.code, reason, message))]
    Api {
        action: String,
        code: u16,
        reason: String,
        message: String,
    },

    #[error("{action}: {reason}")]
    Transport { action: String, reason: String },

    /// What the step was given cannot be applied: a path that does not exist, a
    /// manifest that is not YAML, an object without a kind.
    #[error("{0}")]
    Invalid(String),

    /// A workload reported that its rollout failed (progress deadline exceeded).
    #[error("{0}")]
    RolloutFailed(String),

    /// A Job's pod could not start or was lost.
    #[error("{0}")]
    JobFailed(String),

    /// The time ran out before the pods were ready; the report names them.
    #[error("{0}")]
    NotReady(String),

    /// `kubectl kustomize` failed.
    #[error(transparent)]
    Process(#[from] ProcessError),

    #[error("stopped")]
    Cancelled,
}

fn describe_api(code: u16, reason: &str, message: &str) -> String {
    match code {
        409 if reason == "Conflict" && message.contains("conflict") => format!(
            "field manager conflict: {message}. Another manager owns these fields; \
             set `force-conflicts = true` to take them over"
        ),
        403 => format!("forbidden (the context's user lacks the RBAC permission): {message}"),
        401 => format!("unauthorized (the context's credentials were refused): {message}"),
        404 if message.starts_with("namespaces ") => format!(
            "{message}: add a Namespace object to the rendered manifests, or set `create-namespace = true`"
        ),
        404 => format!("not found: {message}"),
        422 => format!("rejected as invalid: {message}"),
        _ => format!("{message} ({code} {reason})"),
    }
}

impl KubeError {
    /// Classify an error of a request made while doing `action`.
    pub(crate) fn from_kube(action: impl Into<String>, error: kube::Error) -> Self {
        let action = action.into();
        match error {
            kube::Error::Api(status) => Self::Api {
                action,
                code: status.code,
                reason: status.reason.clone(),
                message: status.message.clone(),
            },
            other => Self::Transport {
                action,
                reason: other.to_string(),
            },
        }
    }

    /// The HTTP status of an API error.
    #[cfg(test)]
    pub(crate) fn code(&self) -> Option<u16> {
        match self {
            Self::Api { code, .. } => Some(*code),
            _ => None,
        }
    }
}

impl KubeError {
    /// Whether trying again may help: the connection, the server's own trouble
    /// (429, 5xx), pods that were not ready yet. A refused request, an unserved kind
    /// or an invalid manifest stays so.
    pub(crate) fn is_transient(&self) -> bool {
        match self {
            Self::Transport { .. } | Self::NotReady(_) => true,
            Self::Api { code, .. } => *code == 429 || *code >= 500,
            Self::Process(e) => e.is_retryable(),
            Self::NoKubeconfig { .. }
            | Self::Connect { .. }
            | Self::Kubeconfig { .. }
            | Self::UnknownContext { .. }
            | Self::NotServed { .. }
            | Self::Invalid(_)
            | Self::RolloutFailed(_)
            | Self::JobFailed(_)
            | Self::Cancelled => false,
        }
    }
}
