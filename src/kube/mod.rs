//! Talking to Kubernetes clusters through kube-rs: the context guard, rendering,
//! server-side apply and its dry-run diff, rollout and pod waits. The step kinds
//! `kube-apply`, `kube-wait` and `kube-check` (in `executor/`) are built on this.

pub mod apply;
pub mod argocd;
pub mod context;
pub mod diff;
pub mod error;
pub mod object;
pub mod render;
pub mod rollout;
mod session;
pub mod wait;

pub use context::{Context, ContextMap};
pub use error::KubeError;
pub use session::Session;

#[cfg(test)]
mod mock;
