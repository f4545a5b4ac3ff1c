//! An ArgoCD `Application` of the repository as the source of a `kube-apply`: its
//! source path and destination namespace, so that `--diff` previews what a sync
//! would do before the change is merged. The Application is read by
//! [`crate::argocd`]; this is what kube-apply accepts of it.

use std::path::{Path, PathBuf};

use crate::argocd::Application;
use crate::yaml;

/// What a sync of the Application would apply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AppSource {
    pub(crate) name: String,
    /// `spec.source.path`, relative to the repository root.
    pub(crate) path: PathBuf,
    /// `spec.destination.namespace`.
    pub(crate) namespace: Option<String>,
    /// `CreateNamespace=true` among the sync options.
    pub(crate) create_namespace: bool,
}

/// Read the Application in `file`.
pub(crate) fn read(file: &Path) -> Result<AppSource, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let docs = yaml::load(&text).map_err(|e| {
        format!(
            "{}: invalid YAML at line {}:{}: {}",
            file.display(),
            e.pos.line,
            e.pos.column,
            e.message
        )
    })?;
    let app = docs
        .iter()
        .filter_map(Application::from_node)
        .find(|a| a.kind == "Application")
        .ok_or_else(|| format!("{}: no ArgoCD Application in the file", file.display()))?;
    let name = app.name.unwrap_or("?").to_owned();
    let where_ = format!("Application `{name}` ({})", file.display());
    let source = match (&app.source, app.sources.as_deref()) {
        (Some(source), _) | (None, Some([source])) => source,
        (None, Some(_)) => {
            return Err(format!(
                "{where_} has several sources; name the `path` to apply instead"
            ));
        }
        (None, None) => return Err(format!("{where_} has no `spec.source`")),
    };
    if source.chart.is_some() || source.helm.is_some() {
        return Err(format!(
            "{where_} renders a Helm chart; kube-apply applies kustomize or plain manifests"
        ));
    }
    if source.kustomize.is_some() {
        return Err(format!(
            "{where_} sets kustomize options in the Application (`spec.source.kustomize`), which a \
             plain render would not apply; move them into the kustomization.yaml"
        ));
    }
    let path = source
        .path
        .and_then(yaml::Node::as_str)
        .ok_or_else(|| format!("{where_} has no `spec.source.path`"))?;
    Ok(AppSource {
        name,
        path: PathBuf::from(path),
        namespace: app.namespace.map(str::to_owned),
        create_namespace: app.sync_options.contains(&"CreateNamespace=true"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(spec: &str) -> Result<AppSource, String> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("app.yaml");
        std::fs::write(
            &file,
            format!(
                "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: web\nspec:\n{spec}"
            ),
        )
        .unwrap();
        read(&file)
    }

    #[test]
    fn source_path_destination_namespace_and_create_namespace() {
        let found = app("  source:\n    repoURL: ssh://git@forge/homelab.git\n    path: argocd/manifests/web\n  destination:\n    namespace: web\n  syncPolicy:\n    syncOptions:\n      - CreateNamespace=true\n").unwrap();
        assert_eq!(found.path, PathBuf::from("argocd/manifests/web"));
        assert_eq!(found.namespace.as_deref(), Some("web"));
        assert!(found.create_namespace);
    }

    #[test]
    fn helm_and_application_level_kustomize_options_are_refused() {
        let helm =
            app("  source:\n    chart: authentik\n    repoURL: https://charts.goauthentik.io\n").unwrap_err();
        assert!(helm.contains("renders a Helm chart"), "{helm}");
        let overrides = app("  source:\n    path: x\n    kustomize:\n      images: [a:1]\n").unwrap_err();
        assert!(
            overrides.contains("move them into the kustomization.yaml"),
            "{overrides}"
        );
    }
}
