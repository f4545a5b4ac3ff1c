//! `kube-check`: are the pods of a selector ready? The pod checks of a services-check.
//!
//! ```toml
//! [tasks.authentik-pods]
//! kube-check = { context = "k3s-ringtail", namespace = "authentik",
//!                selector = "app.kubernetes.io/name=authentik", min-ready = 2 }
//! ```
//!
//! It looks once: a line per pod (ready containers, phase, restarts), and a failure
//! unless at least `min-ready` pods (default 1) are Ready, naming the pods that are
//! not, why, and their last events. It only reads, so `--diff` runs it too.

use serde::Deserialize;
use toml::Spanned;

use super::kube_wait::{PodFields, Pods};
use super::{Applied, Diff, Executor, Need, Resolve, StepContext, StepError, StepKind, StepPlan};
use crate::report::Mode;
use crate::kube::rollout;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct Raw {
    context: Option<Spanned<String>>,
    namespace: Option<Spanned<String>>,
    selector: Option<Spanned<String>>,
    min_ready: Option<usize>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct KubeCheck {
    pods: Pods,
    min_ready: usize,
}


impl KubeCheck {

    async fn check(&self, cx: &StepContext<'_>) -> Result<(), StepError> {
        let client = self.pods.client(cx).await?;
        let pods = rollout::pods(&client, &self.pods.namespace, &self.pods.selector).await?;
        for pod in &pods {
            cx.report(format!(
                "{} {:<9} {} ready, {} restarts{}",
                if pod.ready { "ok  " } else { "FAIL" },
                pod.phase,
                pod.containers,
                pod.restarts,
                format_args!("  {}", pod.name)
            ));
        }
        let ready = pods.iter().filter(|p| p.ready).count();
        if ready >= self.min_ready {
            cx.report(format!(
                "{ready}/{} pods ready (at least {} wanted)",
                pods.len(),
                self.min_ready
            ));
            return Ok(());
        }
        let mut lines = vec![format!(
            "{ready} of {} pods `{}` ready in `{}`, {} wanted",
            pods.len(),
            self.pods.selector,
            self.pods.namespace,
            self.min_ready
        )];
        lines.extend(rollout::not_ready_report(&client, &self.pods.namespace, &pods).await);
        Err(StepError::Failed(lines.join("\n")))
    }
}

impl PodFields for Raw {
    fn pod_fields(&self) -> [Option<&Spanned<String>>; 3] {
        [self.context.as_ref(), self.namespace.as_ref(), self.selector.as_ref()]
    }
}

impl StepKind for KubeCheck {
    const KEY: &'static str = "kube-check";
    type Raw = Raw;
    const EXAMPLE: &'static str = r#"{ context = "k3s", selector = "app=web" }"#;

    fn resolve(raw: &Spanned<Raw>, cx: &mut dyn Resolve) -> Option<Self> {
        let pods = Pods::of(Self::KEY, raw, cx)?;
        let raw = raw.get_ref();
        Some(KubeCheck {
            pods,
            min_ready: raw.min_ready.unwrap_or(1),
        })
    }
}

impl Executor for KubeCheck {
    fn plan(&self) -> StepPlan {
        StepPlan {
            lines: vec![format!(
                "check that at least {} of {} are ready",
                self.min_ready,
                self.pods.describe()
            )],
            check: Some("the same check (read-only)".into()),
        }
    }
    fn needs(&self, _mode: Mode, _dir: &std::path::Path) -> Vec<Need> {
        self.pods.needs()
    }

    fn verifies(&self) -> bool {
        true
    }

    async fn diff(&self, cx: &StepContext<'_>) -> Result<Diff, StepError> {
        if let Err(e) = self.pods.client(cx).await {
            return Ok(Diff::Unknown(e.to_string()));
        }
        self.check(cx).await.map(|()| Diff::NoChange)
    }

    async fn apply(&self, cx: &StepContext<'_>) -> Result<Applied, StepError> {
        self.check(cx).await.map(|()| Applied::default())
    }
}
