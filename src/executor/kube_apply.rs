//! `kube-apply`: render a directory and apply it to a named cluster with server-side
//! apply, optionally waiting for the rollout.
//!
//! ```toml
//! [tasks.apply-authentik]
//! kube-apply = { path = "argocd/manifests/authentik", context = "k3s-ringtail",
//!                namespace = "authentik", wait = "5m" }
//! ```
//!
//! | key | meaning |
//! |---|---|
//! | `path` | a kustomization directory (rendered with `kubectl kustomize`), a directory of YAML files, or one file |
//! | `context` | the kubeconfig context; required, never the current one (`--context-map` can point it elsewhere) |
//! | `namespace` | for namespaced objects that name none (default `default`) |
//! | `wait` | after applying, wait this long for Deployments, StatefulSets and DaemonSets to roll out |
//! | `force-conflicts` | take over fields another field manager owns (default false: a conflict fails the step) |
//! | `create-namespace` | create `namespace` first when it does not exist (as ArgoCD's `CreateNamespace=true`) |
//! | `prune` | must be `false` when given: ops does not delete objects missing from the render (ArgoCD prunes) |
//!
//! - Objects are applied server-side as field manager `ops`, namespaces first, then
//!   CRDs, then the rest in render order; discovery maps each kind to its resource.
//! - `--diff`: lists the rendered objects, then sends the same apply with
//!   `dryRun=All` and prints a unified diff per object between the live object and
//!   the dry-run result (managed fields and status stripped); new objects are shown
//!   whole. A context that is not in the kubeconfig is reported, not guessed.
//! - `--dry-run`: the path, context and namespace; nothing is read or spawned.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::{Applied, Diff, Executor, Need, Needed, Resolve, StepContext, StepError, StepKind, StepPlan};
use crate::kube::apply::{ApplyOptions, Cluster, FIELD_MANAGER};
use crate::kube::object::Object;
use crate::kube::{Context, argocd, context, diff, render, rollout, wait};
use crate::report::Mode;
use crate::yaml;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct Raw {
    path: Option<Spanned<String>>,
    app: Option<Spanned<String>>,
    context: Option<Spanned<String>>,
    namespace: Option<Spanned<String>>,
    wait: Option<Spanned<String>>,
    #[serde(default)]
    force_conflicts: bool,
    #[serde(default)]
    create_namespace: bool,
    prune: Option<Spanned<bool>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct KubeApply {
    path: PathBuf,
    /// An ArgoCD Application whose source path and destination are applied (read
    /// when the step runs; `path` is empty until then).
    app: Option<PathBuf>,
    context: Context,
    namespace: Option<String>,
    wait: Option<Duration>,
    force_conflicts: bool,
    create_namespace: bool,
}


/// What this step creates that the server cannot know of during a dry run: kinds
/// whose CRD it applies, namespaces it creates.
#[derive(Default)]
struct Creating {
    crds: Vec<(String, String)>,
    namespaces: Vec<String>,
}

impl Creating {
    fn defines(&self, object: &Object) -> bool {
        self.crds
            .iter()
            .any(|(g, k)| *g == object.gvk.group && k == object.kind())
    }
}

/// What one object's apply would do, for the summary.
#[derive(Default)]
struct Tally {
    create: usize,
    change: usize,
    same: usize,
}

impl KubeApply {

    fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    /// The step with its Application read: the source path, and the destination
    /// namespace and CreateNamespace option unless the step sets its own.
    fn resolved(&self, cx: &StepContext<'_>) -> Result<std::borrow::Cow<'_, Self>, StepError> {
        let Some(app) = &self.app else {
            return Ok(std::borrow::Cow::Borrowed(self));
        };
        let source = argocd::read(&cx.dir.join(app)).map_err(StepError::Invalid)?;
        cx.report(format!(
            "Application `{}`: path {}, namespace {}",
            source.name,
            source.path.display(),
            source.namespace.as_deref().unwrap_or("(none)")
        ));
        Ok(std::borrow::Cow::Owned(Self {
            path: source.path,
            app: None,
            namespace: self.namespace.clone().or(source.namespace),
            create_namespace: self.create_namespace || source.create_namespace,
            ..self.clone()
        }))
    }

    async fn render(&self, cx: &StepContext<'_>) -> Result<Vec<Object>, StepError> {
        let objects = render::render(&cx.kube(), &self.path).await?;
        if objects.is_empty() {
            return Err(StepError::Invalid(format!(
                "{} renders no objects",
                self.path.display()
            )));
        }
        Ok(objects)
    }

    async fn connect(&self, cx: &StepContext<'_>) -> Result<Cluster, crate::kube::KubeError> {
        Ok(Cluster::new(context::connect(&self.context, &cx.env).await?))
    }

    /// The step's namespace, when `create-namespace` is set, it does not exist and
    /// the rendered objects do not create it themselves.
    async fn namespace_to_create(
        &self,
        cluster: &Cluster,
        objects: &[Object],
    ) -> Result<Option<String>, StepError> {
        match self.namespace() {
            Some(ns)
                if self.create_namespace
                    && !objects.iter().any(|o| o.is_namespace() && o.name == ns)
                    && !cluster.namespace_exists(ns).await? =>
            {
                Ok(Some(ns.to_owned()))
            }
            _ => Ok(None),
        }
    }

    fn options(&self, dry_run: bool) -> ApplyOptions {
        ApplyOptions {
            dry_run,
            force: self.force_conflicts,
        }
    }

    /// The `--diff` report of one object.
    async fn diff_object(
        &self,
        cx: &StepContext<'_>,
        cluster: &mut Cluster,
        object: &Object,
        creating: &Creating,
        tally: &mut Tally,
    ) -> Result<(), StepError> {
        let label = format!("{}/{}", object.kind(), object.name);
        if !cluster.serves(object).await? {
            if !creating.defines(object) {
                return Err(cluster.api_for(object, self.namespace()).await.err().map_or_else(
                    || StepError::Failed(format!("{object}: not served by the cluster")),
                    StepError::from,
                ));
            }
            cx.report(format!(
                "+ {object} (created; its CRD is created by this step, so the server cannot check it yet)"
            ));
            report_created(cx, &label, &diff::shown(&object.body, None));
            tally.create += 1;
            return Ok(());
        }
        if let Some(ns) = cluster.target_namespace(object, self.namespace()).await?
            && creating.namespaces.contains(&ns)
        {
            cx.report(format!(
                "+ {object} (created, in namespace {ns}, which this step creates)"
            ));
            let (_, body) = cluster.api_for(object, self.namespace()).await?;
            report_created(cx, &label, &diff::shown(&body, None));
            tally.create += 1;
            return Ok(());
        }
        let live = cluster.get(object, self.namespace()).await?;
        let dry = cluster
            .apply(object, self.namespace(), self.options(true))
            .await?;
        match live {
            None => {
                cx.report(format!("+ {object} (created)"));
                report_created(cx, &label, &diff::shown(&dry, None));
                tally.create += 1;
            }
            Some(live) => {
                if let Some(text) = diff::unified(&label, &live, &dry) {
                    cx.report(format!("~ {object} (changed)"));
                    for line in text.lines() {
                        cx.report(line.to_owned());
                    }
                    tally.change += 1;
                } else {
                    cx.report(format!("  {object} (unchanged)"));
                    tally.same += 1;
                }
            }
        }
        Ok(())
    }
}

/// A new object, whole, as added lines.
fn report_created(cx: &StepContext<'_>, label: &str, object: &serde_json::Value) {
    cx.report("--- /dev/null".to_owned());
    cx.report(format!("+++ applied/{label}"));
    for line in yaml::print(object).lines() {
        cx.report(format!("+{line}"));
    }
}

/// A CRD applied a moment ago takes a little while to be served.
async fn wait_until_served(
    cx: &StepContext<'_>,
    cluster: &mut Cluster,
    object: &Object,
) -> Result<(), StepError> {
    for _ in 0..CRD_WAIT_SECS {
        tokio::select! {
            () = cx.cancel.cancelled() => return Err(StepError::Process(crate::process::ProcessError::Cancelled)),
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
        cluster.forget(&object.gvk.group);
        if cluster.serves(object).await? {
            return Ok(());
        }
    }
    Ok(())
}

const CRD_WAIT_SECS: u32 = 30;

fn namespace_object(name: &str) -> Object {
    Object::from_value(
        serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}),
    )
    .expect("a namespace has kind and name")
}

fn crds_of(objects: &[Object]) -> Vec<(String, String)> {
    objects
        .iter()
        .filter_map(Object::defines)
        .map(|(g, k)| (g.to_owned(), k.to_owned()))
        .collect()
}

impl StepKind for KubeApply {
    const KEY: &'static str = "kube-apply";
    type Raw = Raw;
    const EXAMPLE: &'static str = r#"{ path = "manifests", context = "k3s" }"#;

    fn resolve(raw: &Spanned<Raw>, cx: &mut dyn Resolve) -> Option<Self> {
        let span = raw.span();
        let raw = raw.get_ref();
        let (Some(context), true) = (&raw.context, raw.path.is_some() != raw.app.is_some()) else {
            cx.invalid(
                span,
                format!(
                    "`kube-apply` of task `{}` needs `context`, and `path` or `app` (one of them)",
                    cx.task_name()
                ),
                "incomplete",
                Some(
                    "kube-apply = { path = \"argocd/manifests/app\", context = \"k3s-ringtail\", namespace = \"app\" }; \
                     the context is never taken from the kubeconfig's current context"
                        .into(),
                ),
            );
            return None;
        };
        if let Some(prune) = raw.prune.as_ref().filter(|p| *p.get_ref()) {
            cx.invalid(
                prune.span(),
                "`prune = true` is not supported: ops applies, it does not delete".into(),
                "not supported",
                Some(
                    "let ArgoCD prune, or delete objects with a `shell` step; `prune = false` is accepted".into(),
                ),
            );
        }
        Some(KubeApply {
            path: raw
                .path
                .as_ref()
                .map(|p| PathBuf::from(cx.text(p)))
                .unwrap_or_default(),
            app: raw.app.as_ref().map(|a| PathBuf::from(cx.text(a))),
            context: cx.context(context),
            namespace: raw.namespace.as_ref().map(|n| cx.text(n)),
            wait: raw.wait.as_ref().and_then(|w| cx.duration(w)),
            force_conflicts: raw.force_conflicts,
            create_namespace: raw.create_namespace,
        })
    }
}

impl Executor for KubeApply {
    /// The context, the path (or the Application), and `kubectl` when what it
    /// applies is a kustomization (`kubectl kustomize` renders it).
    fn needs(&self, _mode: Mode, dir: &std::path::Path) -> Vec<Need> {
        let mut needs = vec![Need::new("context", Needed::KubeContext(self.context.clone()))];
        let rendered = if let Some(app) = &self.app {
            needs.push(Need::file("app", app.display().to_string()));
            argocd::read(&dir.join(app)).ok().map(|source| source.path)
        } else {
            needs.push(Need::file("path", self.path.display().to_string()));
            Some(self.path.clone())
        };
        if let Some(path) = rendered
            && let Ok(render::Source::Kustomization(_)) = render::source(&dir.join(path))
        {
            needs.push(Need::program(Self::KEY, "kubectl"));
        }
        needs
    }

    fn produces(&self) -> Vec<String> {
        ["objects", "changed"].map(String::from).to_vec()
    }

    fn plan(&self) -> StepPlan {
        let what = match &self.app {
            Some(app) => format!("the source of ArgoCD Application {}", app.display()),
            None => self.path.display().to_string(),
        };
        let namespace = match (&self.namespace, &self.app) {
            (Some(ns), _) => format!("`{ns}`"),
            (None, Some(_)) => "of its destination".to_owned(),
            (None, None) => "default".to_owned(),
        };
        let mut lines = vec![format!(
            "apply {what} to context {}, namespace {namespace} (server-side, field manager `{FIELD_MANAGER}`{})",
            self.context.describe(),
            if self.force_conflicts {
                ", forcing conflicts"
            } else {
                ""
            }
        )];
        if let Some(wait) = self.wait {
            lines.push(format!(
                "then wait up to {} for Deployments, StatefulSets and DaemonSets to roll out",
                humantime::format_duration(wait)
            ));
        }
        StepPlan {
            lines,
            check: Some("server-side apply with dryRun=All, and a diff per object".into()),
        }
    }
    async fn diff(&self, cx: &StepContext<'_>) -> Result<Diff, StepError> {
        self.resolved(cx)?.diff_resolved(cx).await
    }

    async fn apply(&self, cx: &StepContext<'_>) -> Result<Applied, StepError> {
        self.resolved(cx)?.apply_resolved(cx).await
    }
}

impl KubeApply {
    async fn diff_resolved(&self, cx: &StepContext<'_>) -> Result<Diff, StepError> {
        let objects = self.render(cx).await?;
        cx.report(format!(
            "{} renders {} objects:",
            self.path.display(),
            objects.len()
        ));
        for object in &objects {
            cx.report(format!("  {object}"));
        }
        let mut cluster = match self.connect(cx).await {
            Ok(cluster) => cluster,
            Err(e) => return Ok(Diff::Unknown(e.to_string())),
        };
        let mut creating = Creating {
            crds: crds_of(&objects),
            namespaces: Vec::new(),
        };
        let mut tally = Tally::default();
        if let Some(ns) = self.namespace_to_create(&cluster, &objects).await? {
            cx.report(format!("+ Namespace {ns} (created: create-namespace)"));
            report_created(cx, &format!("Namespace/{ns}"), &namespace_object(&ns).body);
            tally.create += 1;
            creating.namespaces.push(ns);
        }
        for object in &objects {
            if object.is_namespace() && !cluster.namespace_exists(&object.name).await? {
                creating.namespaces.push(object.name.clone());
            }
            self.diff_object(cx, &mut cluster, object, &creating, &mut tally)
                .await?;
        }
        cx.report(format!(
            "context {}: {} to create, {} to change, {} unchanged",
            self.context.describe(),
            tally.create,
            tally.change,
            tally.same
        ));
        Ok(if tally.create + tally.change == 0 {
            Diff::NoChange
        } else {
            Diff::Changes
        })
    }

    async fn apply_resolved(&self, cx: &StepContext<'_>) -> Result<Applied, StepError> {
        let objects = self.render(cx).await?;
        let mut cluster = self.connect(cx).await?;
        let creating = Creating {
            crds: crds_of(&objects),
            namespaces: Vec::new(),
        };
        let mut tally = Tally::default();
        if let Some(ns) = self.namespace_to_create(&cluster, &objects).await? {
            cluster
                .apply(&namespace_object(&ns), None, self.options(false))
                .await?;
            cx.report(format!("Namespace {ns} created (create-namespace)"));
            tally.create += 1;
        }
        for object in &objects {
            let defined_here = creating.defines(object);
            let live = if cluster.serves(object).await? {
                cluster.get(object, self.namespace()).await?
            } else if defined_here {
                wait_until_served(cx, &mut cluster, object).await?;
                None
            } else {
                None
            };
            let applied = cluster
                .apply(object, self.namespace(), self.options(false))
                .await?;
            let version = |v: &serde_json::Value| v.pointer("/metadata/resourceVersion").cloned();
            let verb = match &live {
                None => {
                    tally.create += 1;
                    "created"
                }
                Some(live) if version(live) == version(&applied) => {
                    tally.same += 1;
                    "unchanged"
                }
                Some(_) => {
                    tally.change += 1;
                    "configured"
                }
            };
            cx.report(format!("{object} {verb}"));
        }
        cx.report(format!(
            "applied to context {}: {} created, {} configured, {} unchanged",
            self.context.describe(),
            tally.create,
            tally.change,
            tally.same
        ));
        if let Some(timeout) = self.wait {
            let workloads = rollout::workloads(&objects, self.namespace());
            if !workloads.is_empty() {
                wait::rollouts(&cx.kube(), cluster.client(), &workloads, timeout).await?;
            }
        }
        Ok(Applied {
            outputs: vec![
                ("objects".into(), objects.len().to_string()),
                ("changed".into(), (tally.create + tally.change).to_string()),
            ],
        })
    }
}
