//! `kube-wait`: wait for pods by label selector in a named context.
//!
//! ```toml
//! [tasks.authentik-ready]
//! kube-wait = { context = "k3s-ringtail", namespace = "authentik",
//!               selector = "app.kubernetes.io/component=server", for = "ready", timeout = "5m" }
//! ```
//!
//! - `kube-wait` polls until every matching pod is Ready (`for = "ready"`, at least
//!   `min` pods, default 1) or none is left (`for = "deleted"`), printing progress; on
//!   timeout it names the pods that are not ready, why, and their last events.
//!   A wait changes nothing, so `--diff` only checks that the context exists.

use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::{Applied, Diff, Executor, Need, Resolve, StepContext, StepError, StepKind, StepPlan};
use crate::kube::wait::{self, Condition};
use crate::report::Mode;
use crate::kube::{Context, context};

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct Raw {
    context: Option<Spanned<String>>,
    namespace: Option<Spanned<String>>,
    selector: Option<Spanned<String>>,
    #[serde(rename = "for")]
    condition: Option<Spanned<String>>,
    min: Option<usize>,
    timeout: Option<Spanned<String>>,
}

/// Pods in one namespace of one context.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct Pods {
    pub(super) context: Context,
    pub(super) namespace: String,
    pub(super) selector: String,
}

impl Pods {
    /// The pods a step's table names: its `context`, `namespace` and `selector`.
    pub(super) fn of<R: PodFields>(key: &str, raw: &Spanned<R>, cx: &mut dyn Resolve) -> Option<Self> {
        let span = raw.span();
        let [Some(context), namespace, Some(selector)] = raw.get_ref().pod_fields() else {
            cx.invalid(
                span,
                format!(
                    "`{key}` of task `{}` needs `context` and `selector`",
                    cx.task_name()
                ),
                "incomplete",
                Some(format!(
                    "{key} = {{ context = \"k3s-ringtail\", namespace = \"app\", selector = \"app=web\" }}"
                )),
            );
            return None;
        };
        Some(Self {
            context: cx.context(context),
            namespace: namespace.map_or_else(|| "default".to_owned(), |n| cx.text(n)),
            selector: cx.text(selector),
        })
    }

    pub(super) fn describe(&self) -> String {
        format!(
            "pods `{}` in namespace `{}`, context {}",
            self.selector,
            self.namespace,
            self.context.describe()
        )
    }

    /// The context the pods are in.
    pub(super) fn needs(&self) -> Vec<Need> {
        vec![Need::new("context", super::Needed::KubeContext(self.context.clone()))]
    }

    pub(super) async fn client(&self, cx: &StepContext<'_>) -> Result<kube::Client, crate::kube::KubeError> {
        context::connect(&self.context, &cx.env).await
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct KubeWait {
    pods: Pods,
    condition: Condition,
    timeout: Duration,
}


/// A step table that selects pods.
pub(super) trait PodFields {
    /// `context`, `namespace`, `selector`.
    fn pod_fields(&self) -> [Option<&Spanned<String>>; 3];
}

impl PodFields for Raw {
    fn pod_fields(&self) -> [Option<&Spanned<String>>; 3] {
        [self.context.as_ref(), self.namespace.as_ref(), self.selector.as_ref()]
    }
}

impl StepKind for KubeWait {
    const KEY: &'static str = "kube-wait";
    type Raw = Raw;
    const EXAMPLE: &'static str = r#"{ context = "k3s", selector = "app=web" }"#;

    fn resolve(raw: &Spanned<Raw>, cx: &mut dyn Resolve) -> Option<Self> {
        let pods = Pods::of(Self::KEY, raw, cx)?;
        let raw = raw.get_ref();
        let condition = match raw.condition.as_ref().map(|c| (c.get_ref().as_str(), c.span())) {
            None | Some(("ready", _)) => Condition::Ready {
                min: raw.min.unwrap_or(1),
            },
            Some(("deleted", _)) => Condition::Deleted,
            Some((other, at)) => {
                cx.invalid(
                    at,
                    format!("`for = \"{other}\"`: a wait is for `ready` or `deleted`"),
                    "unknown condition",
                    None,
                );
                return None;
            }
        };
        Some(KubeWait {
            pods,
            condition,
            timeout: raw
                .timeout
                .as_ref()
                .and_then(|t| cx.duration(t))
                .unwrap_or(DEFAULT_TIMEOUT),
        })
    }
}

impl Executor for KubeWait {
    fn produces(&self) -> Vec<String> {
        ["pods"].map(String::from).to_vec()
    }

    fn plan(&self) -> StepPlan {
        let what = match self.condition {
            Condition::Ready { min } => format!("at least {min} ready, all ready"),
            Condition::Deleted => "none left".to_owned(),
        };
        StepPlan {
            lines: vec![format!(
                "wait up to {} for {} ({what})",
                humantime::format_duration(self.timeout),
                self.pods.describe()
            )],
            check: Some("that the context exists (a wait changes nothing)".into()),
        }
    }
    fn needs(&self, _mode: Mode, _dir: &std::path::Path) -> Vec<Need> {
        self.pods.needs()
    }

    async fn diff(&self, cx: &StepContext<'_>) -> Result<Diff, StepError> {
        match self.pods.client(cx).await {
            Ok(_) => {
                cx.report(format!("would wait for {}", self.pods.describe()));
                Ok(Diff::NoChange)
            }
            Err(e) => Ok(Diff::Unknown(e.to_string())),
        }
    }

    async fn apply(&self, cx: &StepContext<'_>) -> Result<Applied, StepError> {
        let client = self.pods.client(cx).await?;
        let pods = wait::pods(
            &cx.kube(),
            &client,
            &self.pods.namespace,
            &self.pods.selector,
            self.condition,
            self.timeout,
        )
        .await?;
        Ok(Applied {
            outputs: vec![("pods".into(), pods.len().to_string())],
        })
    }
}
