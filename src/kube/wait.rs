//! Polling loops for `wait`: rollouts of applied workloads and readiness of pods
//! by selector, with a progress line whenever the state changes and the report of
//! pods that are not ready when the time is up.

use std::time::{Duration, Instant};

use kube::Client;

use super::rollout::{self, PodState, Rollout, Workload};
use super::{KubeError, Session};

/// What `kube-wait` waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Condition {
    /// At least `min` pods match and every matching pod is Ready.
    Ready { min: usize },
    /// No pod matches any more.
    Deleted,
}

fn interval(timeout: Duration) -> Duration {
    (timeout / 10).clamp(Duration::from_millis(200), Duration::from_secs(2))
}

/// Wait until every workload has rolled out.
pub(crate) async fn rollouts(
    cx: &Session<'_>,
    client: &Client,
    workloads: &[Workload],
    timeout: Duration,
) -> Result<(), KubeError> {
    let deadline = Instant::now() + timeout;
    let mut pending: Vec<(Workload, String)> = workloads.iter().map(|w| (w.clone(), String::new())).collect();
    loop {
        let mut still = Vec::new();
        for (workload, last) in pending {
            let (state, selector) = rollout::rollout(client, &workload).await?;
            match state {
                Rollout::Done(summary) => cx.report(format!("{workload} rolled out ({summary})")),
                Rollout::Failed(reason) => {
                    let mut lines = vec![format!("{workload} failed to roll out: {reason}")];
                    lines.extend(pod_report(client, &workload.namespace, selector.as_deref()).await);
                    return Err(KubeError::RolloutFailed(lines.join("\n")));
                }
                Rollout::Waiting(summary) => {
                    if summary != last {
                        cx.report(format!("{workload}: {summary}"));
                    }
                    still.push((workload, summary, selector));
                }
            }
        }
        if still.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            let mut lines = vec![format!(
                "timed out after {} waiting for {}",
                humantime::format_duration(timeout),
                still
                    .iter()
                    .map(|(w, _, _)| w.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )];
            for (workload, summary, selector) in &still {
                lines.push(format!("{workload}: {summary}"));
                lines.extend(pod_report(client, &workload.namespace, selector.as_deref()).await);
            }
            return Err(KubeError::NotReady(lines.join("\n")));
        }
        pending = still.into_iter().map(|(w, s, _)| (w, s)).collect();
        cx.pause(interval(timeout)).await?;
    }
}

async fn pod_report(client: &Client, namespace: &str, selector: Option<&str>) -> Vec<String> {
    let Some(selector) = selector else {
        return Vec::new();
    };
    match rollout::pods(client, namespace, selector).await {
        Ok(pods) => rollout::not_ready_report(client, namespace, &pods).await,
        Err(e) => vec![format!("  (pods unavailable: {e})")],
    }
}

/// Whether pods satisfy the condition; a summary for progress lines.
pub(crate) fn judge(pods: &[PodState], condition: Condition) -> (bool, String) {
    let ready = pods.iter().filter(|p| p.ready).count();
    match condition {
        Condition::Ready { min } => (
            pods.len() >= min.max(1) && ready == pods.len(),
            format!("{ready}/{} pods ready", pods.len()),
        ),
        Condition::Deleted => (pods.is_empty(), format!("{} pods left", pods.len())),
    }
}

/// Wait until pods matching `selector` meet `condition`.
pub(crate) async fn pods(
    cx: &Session<'_>,
    client: &Client,
    namespace: &str,
    selector: &str,
    condition: Condition,
    timeout: Duration,
) -> Result<Vec<PodState>, KubeError> {
    let deadline = Instant::now() + timeout;
    let mut last = String::new();
    loop {
        let pods = rollout::pods(client, namespace, selector).await?;
        let (met, summary) = judge(&pods, condition);
        if met {
            cx.report(format!("{selector}: {summary}"));
            return Ok(pods);
        }
        if summary != last {
            cx.report(format!("{selector}: {summary}"));
            last = summary;
        }
        if Instant::now() >= deadline {
            let mut lines = vec![format!(
                "timed out after {} waiting for pods {selector} in {namespace}: {last}",
                humantime::format_duration(timeout)
            )];
            lines.extend(rollout::not_ready_report(client, namespace, &pods).await);
            return Err(KubeError::NotReady(lines.join("\n")));
        }
        cx.pause(interval(timeout)).await?;
    }
}
