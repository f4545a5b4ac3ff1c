use std::sync::LazyLock;

use regex::Regex;

use crate::argocd::Application;
use crate::policy::custom::pos_of;
use crate::policy::repo::ManifestFile;
use crate::policy::rule::{Context, Findings, Rule, declare_rule};
use crate::yaml::{Node, Pos};

declare_rule! {
    /// ## What it checks
    /// No Helm anywhere: a `Chart.yaml`, an ArgoCD Application (or ApplicationSet)
    /// whose source uses `chart:` or `helm:`, a Flux `HelmRelease`, kustomize
    /// `helmCharts:`/`helmGlobals:`, or Helm template placeholders
    /// (`{{ .Values.… }}`, `{{ .Release.… }}`, `{{ .Chart.… }}`) in a Kubernetes
    /// manifest. Jinja in Ansible files and Go templates of other tools
    /// (ExternalSecret's `{{ .password }}`) are not Helm.
    ///
    /// ## Why
    /// A repository that chose plain manifests and kustomize wants every object
    /// visible and diffable in git; Helm renders objects nobody reviewed.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Application
    /// spec:
    ///   source:
    ///     chart: external-secrets       # Helm
    /// ```
    ///
    /// ## Fix
    /// Render the chart once (`helm template`), commit the manifests you need as a
    /// kustomize directory, and point the Application at it. Or allow it explicitly:
    /// `# ops:ignore no-helm -- vendor operator, upgraded by hand`.
    pub struct NoHelm;
}

static PLACEHOLDER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\{\{-?\s*\.(Values|Release|Chart|Capabilities|Files|Template)\b").expect("pattern is valid")
});

const HELP: &str = "this repository deploys with kustomize only; render the chart and commit the manifests";

impl Rule for NoHelm {
    fn id(&self) -> &'static str {
        "no-helm"
    }
    fn code(&self) -> &'static str {
        "OPS002"
    }
    fn summary(&self) -> &'static str {
        "no Helm: charts, helm sources in ArgoCD, HelmRelease, helmCharts, .Values placeholders"
    }
    fn doc(&self) -> &'static str {
        Self::DOC
    }

    fn check(&self, _cx: &Context<'_>, file: &ManifestFile, out: &mut Findings<'_>) {
        if file.file_name() == "Chart.yaml" {
            let pos = Pos {
                line: 1,
                column: 1,
                start: 0,
                end: 0,
            };
            out.add(pos, "a Helm chart".into(), Some(HELP));
            return;
        }
        if file.is_kustomization() {
            for doc in file.docs.as_deref().unwrap_or_default() {
                for key in ["helmCharts", "helmGlobals"] {
                    if let Some((k, _)) = doc.entry(key) {
                        out.add(
                            k.pos,
                            format!("kustomize `{key}` renders a Helm chart"),
                            Some(HELP),
                        );
                    }
                }
            }
            return;
        }
        let mut is_manifest = false;
        // Objects already reported as Helm: the placeholders in them are part of it.
        let mut reported: Vec<std::ops::Range<usize>> = Vec::new();
        for object in file.objects() {
            is_manifest = true;
            let kind = object.get("kind").and_then(Node::as_str).unwrap_or_default();
            if kind == "HelmRelease" {
                let at = object.get("kind").map_or(object.pos, |k| k.pos);
                out.add(at, "a Flux HelmRelease".into(), Some(HELP));
                reported.push(object.pos.start..object.pos.end);
            }
            if let Some(app) = Application::from_node(object) {
                let mut helm = false;
                for source in app.all_sources() {
                    // One finding a source: at `chart:` when it names one, else at `helm:`.
                    let found = [("chart", source.chart), ("helm", source.helm)]
                        .into_iter()
                        .find_map(|(key, at)| at.map(|k| (key, k)));
                    if let Some((key, k)) = found {
                        helm = true;
                        out.add(
                            k.pos,
                            format!("ArgoCD {} with a Helm source (`{key}:`)", app.kind),
                            Some(HELP),
                        );
                    }
                }
                if helm {
                    reported.push(object.pos.start..object.pos.end);
                }
            }
        }
        if is_manifest {
            let text = file.source.text();
            for m in PLACEHOLDER
                .find_iter(text)
                .filter(|m| !reported.iter().any(|r| r.contains(&m.start())))
            {
                out.add(
                    pos_of(text, m.start(), m.end()),
                    format!("Helm template placeholder `{}…}}}}`", m.as_str()),
                    Some(HELP),
                );
            }
        }
    }
}
