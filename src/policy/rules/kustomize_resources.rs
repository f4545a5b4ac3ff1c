use crate::policy::repo::ManifestFile;
use crate::policy::rule::{Context, Findings, Rule, declare_rule};
use crate::yaml::Node;

declare_rule! {
    /// ## What it checks
    /// Every Kubernetes manifest in a directory that has a `kustomization.yaml` is
    /// listed by a kustomization (as a resource, component, patch, generator file…),
    /// and every local file or directory a kustomization lists exists inside the
    /// repository (a path is resolved as written: `../` too many is outside it, not
    /// the root).
    ///
    /// ## Why
    /// A manifest written but not listed is never deployed, and nobody notices until
    /// the object is missing in the cluster. A listed file that was renamed breaks
    /// the build for everyone.
    ///
    /// ## Example
    /// ```yaml
    /// # kustomization.yaml lists deployment.yaml, but the directory also has
    /// # external-secret.yaml, which is never applied.
    /// resources:
    ///   - deployment.yaml
    /// ```
    ///
    /// ## Fix
    /// Add the file to `resources:` (or delete it); fix the path of a listed file.
    pub struct KustomizeResources;
}

impl Rule for KustomizeResources {
    fn id(&self) -> &'static str {
        "kustomize-resources"
    }
    fn code(&self) -> &'static str {
        "OPS003"
    }
    fn summary(&self) -> &'static str {
        "every manifest next to a kustomization.yaml is listed in it, and every listed file exists"
    }
    fn doc(&self) -> &'static str {
        Self::DOC
    }

    fn check(&self, cx: &Context<'_>, file: &ManifestFile, out: &mut Findings<'_>) {
        if file.is_kustomization() {
            let dir = file.path.parent().unwrap_or(std::path::Path::new(""));
            if let Some(k) = cx.repo.kustomizations.get(dir) {
                for listed in &k.listed {
                    let entry = listed.node.as_str().unwrap_or_default();
                    match &listed.path {
                        None => out.add(
                            listed.node.pos,
                            format!("lists `{entry}`, a resource outside the repository"),
                            Some("list files of this repository (ArgoCD builds from its checkout alone)"),
                        ),
                        Some(path) if !cx.repo.root.join(path).exists() => out.add(
                            listed.node.pos,
                            format!("lists `{entry}`, which does not exist"),
                            Some("fix the path, or remove the entry"),
                        ),
                        Some(_) => {}
                    }
                }
            }
            return;
        }
        let Some(dir) = file.path.parent() else { return };
        let Some(k) = cx.repo.kustomizations.get(dir) else {
            return;
        };
        let Some(first) = file.objects().next() else {
            return;
        };
        if !cx.repo.is_listed(&file.path) {
            let at = first.get("kind").map_or(first.pos, |kind: &Node| kind.pos);
            out.add(
                at,
                format!(
                    "`{}` is not listed in {}, so it is never deployed",
                    file.file_name(),
                    k.file.display()
                ),
                Some("add it to `resources:` (or remove the file)"),
            );
        }
    }
}
