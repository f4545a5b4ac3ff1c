//! ArgoCD `Application`s (and the template of an `ApplicationSet`) read from YAML
//! documents: the one reader behind `kube-apply`'s `app = …` source and the lint
//! rules that look at Applications (`argocd-app-path`, `no-helm`).
//!
//! The model borrows the positioned nodes, so a finding can point at a source's
//! `path` or at its `chart:` key.

use crate::yaml::Node;

/// An `Application` or an `ApplicationSet` (its `spec.template`) of `argoproj.io`.
#[derive(Clone, Debug)]
pub(crate) struct Application<'a> {
    /// `Application` or `ApplicationSet`.
    pub(crate) kind: &'a str,
    /// `metadata.name`.
    pub(crate) name: Option<&'a str>,
    /// `spec.source`.
    pub(crate) source: Option<Source<'a>>,
    /// `spec.sources` (empty when it is not a list).
    pub(crate) sources: Option<Vec<Source<'a>>>,
    /// `spec.destination.namespace`.
    pub(crate) namespace: Option<&'a str>,
    /// `spec.syncPolicy.syncOptions` (`CreateNamespace=true`, …).
    pub(crate) sync_options: Vec<&'a str>,
}

/// One source of an Application. `chart`, `helm` and `kustomize` are the keys'
/// nodes (what a finding points at); `path` is the value's.
#[derive(Clone, Debug)]
pub(crate) struct Source<'a> {
    pub(crate) repo_url: Option<&'a str>,
    pub(crate) path: Option<&'a Node>,
    pub(crate) chart: Option<&'a Node>,
    pub(crate) helm: Option<&'a Node>,
    pub(crate) kustomize: Option<&'a Node>,
}

impl<'a> Source<'a> {
    fn from_node(node: &'a Node) -> Self {
        let key = |name: &str| node.entry(name).map(|(k, _)| k);
        Self {
            repo_url: node.get("repoURL").and_then(Node::as_str),
            path: node.get("path"),
            chart: key("chart"),
            helm: key("helm"),
            kustomize: key("kustomize"),
        }
    }
}

impl<'a> Application<'a> {
    /// The Application a YAML document is, if it is one.
    pub(crate) fn from_node(doc: &'a Node) -> Option<Self> {
        let api = doc.get("apiVersion").and_then(Node::as_str)?;
        let kind = doc.get("kind").and_then(Node::as_str)?;
        if !api.starts_with("argoproj.io/") || !matches!(kind, "Application" | "ApplicationSet") {
            return None;
        }
        let spec = if kind == "ApplicationSet" {
            doc.path("spec.template.spec")
        } else {
            doc.get("spec")
        };
        let field = |path: &str| spec.and_then(|s| s.path(path));
        Some(Self {
            kind,
            name: doc.path("metadata.name").and_then(Node::as_str),
            source: field("source").map(Source::from_node),
            sources: field("sources").map(|s| s.as_seq().iter().map(Source::from_node).collect()),
            namespace: field("destination.namespace").and_then(Node::as_str),
            sync_options: field("syncPolicy.syncOptions")
                .map(|o| o.as_seq().iter().filter_map(Node::as_str).collect())
                .unwrap_or_default(),
        })
    }

    /// `spec.source`, then every entry of `spec.sources`.
    pub(crate) fn all_sources(&self) -> impl Iterator<Item = &Source<'a>> {
        self.source.iter().chain(self.sources.iter().flatten())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_application_set_reads_its_template() {
        let docs = crate::yaml::load(
            "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata:\n  name: apps\nspec:\n  template:\n    spec:\n      sources:\n        - repoURL: https://x/y.git\n          path: apps/{{name}}\n        - chart: redis\n      destination:\n        namespace: web\n",
        )
        .unwrap();
        let app = Application::from_node(&docs[0]).unwrap();
        assert_eq!(
            (app.kind, app.name, app.namespace),
            ("ApplicationSet", Some("apps"), Some("web"))
        );
        let sources: Vec<_> = app.all_sources().collect();
        assert_eq!(sources.len(), 2);
        assert_eq!(sources[0].repo_url, Some("https://x/y.git"));
        assert_eq!(sources[0].path.and_then(Node::as_str), Some("apps/{{name}}"));
        assert_eq!(sources[1].chart.map(|k| k.pos.line), Some(11));
    }

    #[test]
    fn other_kinds_are_not_applications() {
        let docs = crate::yaml::load("apiVersion: v1\nkind: Application\n").unwrap();
        assert!(Application::from_node(&docs[0]).is_none());
    }
}
