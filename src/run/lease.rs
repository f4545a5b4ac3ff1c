//! The run's Kubernetes leases: every `lock = { kube-lease = … }` of the tasks an
//! apply runs, taken after the repository's own lock and before any task starts (in
//! one order, so two runs that want the same two cannot deadlock), renewed every
//! third of their duration while the run lives, and released when it ends. A lease
//! that is lost while the run goes on (taken by force, or not renewed for its whole
//! duration) stops the run as Ctrl-C would: another runner may be applying now.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::jiff::Timestamp;
use miette::Diagnostic;
use thiserror::Error;
use tokio::sync::mpsc;

use super::Options;
use crate::kube::lease::{Attempt, Holder, LeaseClient, LeaseLock, Renewal};
use crate::kube::{KubeError, context};
use crate::report::{Event, Reporter};
use crate::task::{TaskId, TaskSet};

#[derive(Debug, Error, Diagnostic)]
pub(crate) enum LeaseError {
    #[error(
        "{lease} is held by {holder}, renewed {renewed} ago (free {free_in} after its last renewal if it stops)"
    )]
    #[diagnostic(
        code(ops::run::lease_held),
        help(
            "another runner is applying it: wait for it to finish, or pass `--wait-lock` to wait; nothing was run"
        )
    )]
    Held {
        lease: String,
        holder: String,
        renewed: String,
        free_in: String,
    },

    #[error("cannot take {lease}: {reason}")]
    #[diagnostic(
        code(ops::run::lease),
        help("the lease guards the run against another machine applying it at once; nothing was run")
    )]
    Cluster { lease: String, reason: String },
}

/// The distinct leases of the tasks an apply runs, in the order they are taken.
pub(super) fn wanted(set: &TaskSet, order: &[TaskId], opts: &Options) -> Vec<LeaseLock> {
    let mut locks: Vec<LeaseLock> = order
        .iter()
        .filter(|&&id| !opts.excluded.contains(id))
        .filter_map(|&id| set.get(id).lock.clone())
        .collect();
    locks.sort_by(|a, b| a.key().cmp(&b.key()));
    locks.dedup_by(|a, b| a.key() == b.key());
    locks
}

/// `runner-1/20261203T101500.123-ab12`: this machine and this run.
pub(super) fn holder(run_id: &str) -> String {
    let host = nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "localhost".into());
    format!("{host}/{run_id}")
}

/// Leases held by the run; [`Leases::release`] gives them back.
pub(super) struct Leases {
    clients: Arc<Vec<LeaseClient>>,
    renewer: tokio::task::JoinHandle<()>,
    /// Why a lease was lost, once it was.
    lost: Arc<Mutex<Option<String>>>,
    /// Sends one interrupt to the run when a lease is lost.
    interrupts: Option<mpsc::UnboundedReceiver<()>>,
}

/// Take every lease in turn, waiting for held ones with `wait`; then keep them renewed.
pub(super) async fn acquire(
    locks: Vec<LeaseLock>,
    holder: &str,
    wait: bool,
    reporter: &mut dyn Reporter,
) -> Result<Leases, LeaseError> {
    let mut clients = Vec::new();
    for lock in locks {
        let lease = lock.describe();
        let client = context::connect(&lock.context, &[])
            .await
            .map_err(|e| cluster(&lease, &e))?;
        let client = LeaseClient::new(client, lock, holder.to_owned());
        take(&client, wait, reporter).await?;
        clients.push(client);
    }
    let clients = Arc::new(clients);
    let lost = Arc::new(Mutex::new(None));
    let (tx, rx) = mpsc::unbounded_channel();
    let renewer = tokio::spawn(renew(Arc::clone(&clients), Arc::clone(&lost), tx));
    Ok(Leases {
        clients,
        renewer,
        lost,
        interrupts: Some(rx),
    })
}

async fn take(client: &LeaseClient, wait: bool, reporter: &mut dyn Reporter) -> Result<(), LeaseError> {
    let lease = client.lock.describe();
    let mut told = false;
    loop {
        match client.try_take(Timestamp::now()).await {
            Ok(Attempt::Taken { took_over }) => {
                reporter.handle(&match took_over {
                    Some(previous) => Event::Warning(format!(
                        "took over {lease} from {}, which stopped renewing it {} ago (its duration: {}s)",
                        previous.identity,
                        ago(&previous),
                        previous.duration_seconds
                    )),
                    None => Event::Note(format!("holding {lease} as {}", client.holder)),
                });
                return Ok(());
            }
            Ok(Attempt::Raced) => {}
            Ok(Attempt::Held(holder)) if wait => {
                if !told {
                    reporter.handle(&Event::Note(format!(
                        "waiting for {lease}, held by {} (--wait-lock)",
                        holder.identity
                    )));
                    told = true;
                }
                let ms = u64::try_from(holder.expires_in_ms())
                    .unwrap_or(0)
                    .clamp(200, 2000);
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            Ok(Attempt::Held(holder)) => {
                return Err(LeaseError::Held {
                    lease,
                    renewed: ago(&holder),
                    free_in: format!("{}s", holder.duration_seconds),
                    holder: holder.identity,
                });
            }
            Err(e) => return Err(cluster(&lease, &e)),
        }
    }
}

fn ago(holder: &Holder) -> String {
    holder.renewed_ms_ago.map_or_else(
        || "never".to_owned(),
        |ms| {
            // A holder's clock ahead of ours reads as just renewed.
            let ms = ms.max(0);
            format!("{}.{}s", ms / 1000, ms % 1000 / 100)
        },
    )
}

fn cluster(lease: &str, e: &KubeError) -> LeaseError {
    LeaseError::Cluster {
        lease: lease.to_owned(),
        reason: e.to_string(),
    }
}

/// Renew every lease each third of the shortest duration, until one is lost.
async fn renew(
    clients: Arc<Vec<LeaseClient>>,
    lost: Arc<Mutex<Option<String>>>,
    interrupt: mpsc::UnboundedSender<()>,
) {
    let every = clients
        .iter()
        .map(|c| c.lock.duration / 3)
        .min()
        .unwrap_or(Duration::from_secs(20));
    let mut renewed = vec![Instant::now(); clients.len()];
    loop {
        tokio::time::sleep(every).await;
        for (client, at) in clients.iter().zip(renewed.iter_mut()) {
            let why = match client.renew(Timestamp::now()).await {
                Ok(()) => {
                    *at = Instant::now();
                    continue;
                }
                Err(Renewal::Lost(by)) => format!(
                    "lost {}: {}",
                    client.lock.describe(),
                    by.map_or_else(
                        || "it was released or deleted".to_owned(),
                        |h| format!("{h} holds it now")
                    )
                ),
                Err(Renewal::Failed(_)) if at.elapsed() < client.lock.duration => continue,
                Err(Renewal::Failed(e)) => format!(
                    "could not renew {} for {}s, its whole duration, so another runner may take it: {e}",
                    client.lock.describe(),
                    client.lock.duration.as_secs()
                ),
            };
            *lost.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(why);
            let _ = interrupt.send(());
            return;
        }
    }
}

impl Leases {
    /// The interrupts a lost lease sends, for the scheduler (taken once).
    pub(super) fn interrupts(&mut self) -> Option<mpsc::UnboundedReceiver<()>> {
        self.interrupts.take()
    }

    /// Why a lease was lost while the run went on.
    pub(super) fn lost(&self) -> Option<String> {
        self.lost
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Stop renewing and clear the holder of each lease still ours.
    pub(super) async fn release(self, reporter: &mut dyn Reporter) {
        self.renewer.abort();
        for client in self.clients.iter() {
            if let Err(e) = client.release().await {
                reporter.handle(&Event::Warning(format!(
                    "could not release {}: {e}; it frees itself {}s after its last renewal",
                    client.lock.describe(),
                    client.lock.duration.as_secs()
                )));
            }
        }
    }
}
