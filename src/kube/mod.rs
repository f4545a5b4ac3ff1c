//! Talking to Kubernetes clusters through kube-rs: the context guard, rendering,
//! server-side apply and its dry-run diff, rollout and pod waits. The step kinds
//! `kube-apply`, `kube-wait`, `kube-check` and `kube-job` (in `executor/`) are built on this,
//! and the run's `kube-lease` lock.

pub(crate) mod apply;
pub(crate) mod argocd;
pub(crate) mod context;
pub(crate) mod diff;
pub(crate) mod error;
pub(crate) mod job;
pub(crate) mod lease;
pub(crate) mod object;
pub(crate) mod render;
pub(crate) mod rollout;
mod session;
pub(crate) mod wait;

pub(crate) use context::{Context, ContextMap};
pub(crate) use error::KubeError;
pub(crate) use session::Session;

#[cfg(test)]
mod job_mock;
#[cfg(test)]
mod lease_mock;
#[cfg(test)]
mod mock;
