//! A task's `lock`: `lock = { kube-lease = "ops-deploy-authentik", context = "k3s-ringtail",
//! namespace = "ops" }` takes a Kubernetes Lease for any run that applies the task,
//! besides the repository's own lock, so that two machines cannot apply it at once.

use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::executor::Resolve;
use crate::kube::lease::LeaseLock;

/// How long a holder that stopped renewing keeps the lease, unless `duration` says.
const DEFAULT_DURATION: Duration = Duration::from_secs(60);
const MAX_DURATION: Duration = Duration::from_secs(3600);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawLock {
    /// The Lease's name.
    kube_lease: Spanned<String>,
    context: Spanned<String>,
    namespace: Option<Spanned<String>>,
    /// `leaseDurationSeconds`, as `30s` or `2m`.
    duration: Option<Spanned<String>>,
}

impl RawLock {
    pub(super) fn resolve(raw: &Spanned<Self>, cx: &mut dyn Resolve) -> Option<LeaseLock> {
        let lock = raw.get_ref();
        let name = cx.text(&lock.kube_lease);
        let namespace = lock
            .namespace
            .as_ref()
            .map_or_else(|| "default".to_owned(), |n| cx.text(n));
        let mut valid = true;
        if !dns_subdomain(&name) {
            cx.invalid(
                lock.kube_lease.span(),
                format!("`{name}` cannot name a Lease: lower-case letters, digits, `-` and `.`, at most 253"),
                "not a Kubernetes name",
                Some("for example `ops-deploy-authentik`".into()),
            );
            valid = false;
        }
        if let Some(at) = &lock.namespace
            && !dns_label(&namespace)
        {
            cx.invalid(
                at.span(),
                format!(
                    "`{namespace}` cannot name a namespace: lower-case letters, digits and `-`, at most 63"
                ),
                "not a namespace name",
                None,
            );
            valid = false;
        }
        let duration = match &lock.duration {
            None => DEFAULT_DURATION,
            Some(d) => match cx.duration(d)? {
                d if d < Duration::from_secs(1) || d > MAX_DURATION => {
                    cx.invalid(
                        lock.duration.as_ref().map_or(0..0, Spanned::span),
                        "a lease lasts from 1s to 1h: the run renews it every third of that".into(),
                        "out of range",
                        Some("the default is 60s: a holder that died frees the lease a minute later".into()),
                    );
                    return None;
                }
                d => d,
            },
        };
        let context = cx.context(&lock.context);
        valid.then_some(LeaseLock {
            name,
            namespace,
            context,
            duration,
        })
    }
}

fn dns_label(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

fn dns_subdomain(name: &str) -> bool {
    name.len() <= 253 && name.split('.').all(dns_label)
}
