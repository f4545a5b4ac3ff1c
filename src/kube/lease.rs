//! A lock that spans machines: a `coordination.k8s.io/v1` Lease, as client-go's
//! leader election keeps one. The holder writes its identity and renews
//! `renewTime` well within `leaseDurationSeconds`; a lease whose holder stopped
//! renewing for longer than that is free to take. Every write carries the
//! resource version it read, so two runners racing for one lease cannot both win:
//! the loser gets a conflict and reads again.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::Client;
use kube::api::{Api, PostParams};

use super::{Context, KubeError};

/// `lock = { kube-lease = NAME, context, namespace, duration }` of a task.
#[derive(Clone, Debug)]
pub(crate) struct LeaseLock {
    pub name: String,
    pub namespace: String,
    pub context: Context,
    /// `leaseDurationSeconds`: how long a holder that stopped renewing keeps it.
    pub duration: Duration,
}

impl LeaseLock {
    /// `lease ops/ops-deploy-authentik (context `k3s-ringtail`)`.
    pub(crate) fn describe(&self) -> String {
        format!(
            "lease {}/{} (context {})",
            self.namespace,
            self.name,
            self.context.describe()
        )
    }

    /// What makes two locks the same lease.
    pub(crate) fn key(&self) -> (&str, &str, &str) {
        (&self.context.used, &self.namespace, &self.name)
    }

    fn seconds(&self) -> i32 {
        i32::try_from(self.duration.as_secs().max(1)).unwrap_or(i32::MAX)
    }
}

/// Who holds a lease, as read from the cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Holder {
    pub identity: String,
    /// Milliseconds since its last renewal (or acquisition); `None` when it never wrote one.
    pub renewed_ms_ago: Option<i64>,
    pub duration_seconds: i32,
}

impl Holder {
    fn of(spec: &LeaseSpec, now: Timestamp) -> Option<Self> {
        let identity = spec.holder_identity.clone().filter(|h| !h.is_empty())?;
        let renewed = spec.renew_time.as_ref().or(spec.acquire_time.as_ref());
        Some(Self {
            identity,
            renewed_ms_ago: renewed.map(|t| now.as_millisecond() - t.0.as_millisecond()),
            duration_seconds: spec.lease_duration_seconds.unwrap_or(0),
        })
    }

    /// Whether it stopped renewing for longer than its duration.
    pub(crate) fn expired(&self) -> bool {
        self.renewed_ms_ago
            .is_none_or(|ago| ago >= i64::from(self.duration_seconds) * 1000)
    }

    /// Milliseconds until it expires (0 when it has).
    pub(crate) fn expires_in_ms(&self) -> i64 {
        self.renewed_ms_ago
            .map_or(0, |ago| (i64::from(self.duration_seconds) * 1000 - ago).max(0))
    }
}

/// What one attempt to take a lease found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Attempt {
    /// Ours now; `took_over` names a holder whose lease had expired.
    Taken { took_over: Option<Holder> },
    /// Someone else holds it and renews it.
    Held(Holder),
    /// Another runner wrote it between our read and our write: read again.
    Raced,
}

/// Why a held lease could not be renewed.
#[derive(Debug)]
pub(crate) enum Renewal {
    /// Someone else holds it now (or nobody: it was deleted or released).
    Lost(Option<String>),
    Failed(KubeError),
}

/// A lease of one lock, talked to as `holder`.
pub(crate) struct LeaseClient {
    api: Api<Lease>,
    pub lock: LeaseLock,
    pub holder: String,
}

impl LeaseClient {
    pub(crate) fn new(client: Client, lock: LeaseLock, holder: String) -> Self {
        Self {
            api: Api::namespaced(client, &lock.namespace),
            lock,
            holder,
        }
    }

    fn action(&self, verb: &str) -> String {
        format!("{verb} {}", self.lock.describe())
    }

    fn spec(&self, now: Timestamp, transitions: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(self.holder.clone()),
            lease_duration_seconds: Some(self.lock.seconds()),
            acquire_time: Some(MicroTime(now)),
            renew_time: Some(MicroTime(now)),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }
    }

    /// Take the lease if it is free, missing, or expired.
    pub(crate) async fn try_take(&self, now: Timestamp) -> Result<Attempt, KubeError> {
        let found = self
            .api
            .get_opt(&self.lock.name)
            .await
            .map_err(|e| KubeError::from_kube(self.action("read"), e))?;
        let Some(mut lease) = found else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.lock.name.clone()),
                    namespace: Some(self.lock.namespace.clone()),
                    labels: Some([("app.kubernetes.io/managed-by".to_owned(), "ops".to_owned())].into()),
                    ..ObjectMeta::default()
                },
                spec: Some(self.spec(now, 0)),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(Attempt::Taken { took_over: None }),
                Err(kube::Error::Api(status)) if status.code == 409 => Ok(Attempt::Raced),
                Err(kube::Error::Api(status)) if status.code == 404 => Err(KubeError::Invalid(format!(
                    "namespace `{ns}` does not exist, so the Lease cannot be created there: create it \
                     (`kubectl create namespace {ns}`) or name another in the lock's `namespace`",
                    ns = self.lock.namespace
                ))),
                Err(e) => Err(KubeError::from_kube(self.action("create"), e)),
            };
        };
        let spec = lease.spec.take().unwrap_or_default();
        let holder = Holder::of(&spec, now);
        if let Some(holder) = &holder
            && holder.identity != self.holder
            && !holder.expired()
        {
            return Ok(Attempt::Held(holder.clone()));
        }
        let transitions = spec.lease_transitions.unwrap_or(0) + i32::from(holder.is_some());
        lease.spec = Some(self.spec(now, transitions));
        self.replace(&lease, "take").await.map(|written| {
            if written {
                Attempt::Taken { took_over: holder }
            } else {
                Attempt::Raced
            }
        })
    }

    /// Write `renewTime`; fails with [`Renewal::Lost`] when it is no longer ours.
    pub(crate) async fn renew(&self, now: Timestamp) -> Result<(), Renewal> {
        loop {
            let mut lease = self.ours().await?;
            if let Some(spec) = lease.spec.as_mut() {
                spec.renew_time = Some(MicroTime(now));
            }
            match self.replace(&lease, "renew").await {
                Ok(true) => return Ok(()),
                Ok(false) => {}
                Err(e) => return Err(Renewal::Failed(e)),
            }
        }
    }

    /// Clear the holder, so the next runner takes the lease at once.
    pub(crate) async fn release(&self) -> Result<(), KubeError> {
        loop {
            let mut lease = match self.ours().await {
                Ok(lease) => lease,
                Err(Renewal::Lost(_)) => return Ok(()),
                Err(Renewal::Failed(e)) => return Err(e),
            };
            if let Some(spec) = lease.spec.as_mut() {
                spec.holder_identity = None;
            }
            if self.replace(&lease, "release").await? {
                return Ok(());
            }
        }
    }

    /// The lease, if we still hold it.
    async fn ours(&self) -> Result<Lease, Renewal> {
        let lease = self
            .api
            .get_opt(&self.lock.name)
            .await
            .map_err(|e| Renewal::Failed(KubeError::from_kube(self.action("read"), e)))?;
        let Some(lease) = lease else {
            return Err(Renewal::Lost(None));
        };
        let holder = lease.spec.as_ref().and_then(|s| s.holder_identity.clone());
        if holder.as_deref() == Some(self.holder.as_str()) {
            Ok(lease)
        } else {
            Err(Renewal::Lost(holder.filter(|h| !h.is_empty())))
        }
    }

    /// `PUT` with the resource version read; `false` on a conflict (written by another since).
    async fn replace(&self, lease: &Lease, verb: &str) -> Result<bool, KubeError> {
        match self
            .api
            .replace(&self.lock.name, &PostParams::default(), lease)
            .await
        {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
            Err(e) => Err(KubeError::from_kube(self.action(verb), e)),
        }
    }
}
