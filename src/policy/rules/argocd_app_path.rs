use std::path::Path;

use crate::argocd::Application;
use crate::policy::option::{Declared, Opt};
use crate::policy::repo::ManifestFile;
use crate::policy::rule::{Context, Findings, Rule, declare_rule};

declare_rule! {
    /// ## What it checks
    /// An ArgoCD Application (or ApplicationSet template) whose `repoURL` is this
    /// repository points at a `path` that exists, inside the repository (`../`
    /// out of it, or an absolute path, is a finding, not a look at the host).
    ///
    /// ## Why
    /// A wrong path makes the Application sync nothing (or fail) after the merge,
    /// which is the first time anyone finds out.
    ///
    /// ## Example
    /// ```yaml
    /// source:
    ///   repoURL: ssh://git@forge.example.net/homelab/gitops.git
    ///   path: argocd/manifests/authentk     # typo
    /// ```
    ///
    /// ## Fix
    /// Correct the path.
    ///
    /// ## Options
    /// - `repo-urls`: the URLs of this repository. Default: the `origin` remote in
    ///   `.git/config`; with neither, every Application source with a `path` is checked.
    pub struct ArgocdAppPath;
}

/// The `origin` remote URL of the git repository at `root`.
fn origin_url(root: &std::path::Path) -> Option<String> {
    let config = std::fs::read_to_string(root.join(".git/config")).ok()?;
    let mut in_origin = false;
    for line in config.lines().map(str::trim) {
        if line.starts_with('[') {
            in_origin = line == "[remote \"origin\"]";
        } else if in_origin
            && let Some(url) = line
                .strip_prefix("url")
                .map(str::trim)
                .and_then(|l| l.strip_prefix('='))
        {
            return Some(url.trim().to_owned());
        }
    }
    None
}

fn normalise(url: &str) -> &str {
    url.trim_end_matches('/').trim_end_matches(".git")
}

const REPO_URLS: Opt<Vec<String>> = Opt::new("repo-urls");
const OPTIONS: &[Declared] = &[REPO_URLS.declared()];

impl Rule for ArgocdAppPath {
    fn id(&self) -> &'static str {
        "argocd-app-path"
    }
    fn code(&self) -> &'static str {
        "OPS004"
    }
    fn summary(&self) -> &'static str {
        "an ArgoCD Application of this repository points at a path that exists"
    }
    fn doc(&self) -> &'static str {
        Self::DOC
    }
    fn options(&self) -> &'static [Declared] {
        OPTIONS
    }

    fn check(&self, cx: &Context<'_>, file: &ManifestFile, out: &mut Findings<'_>) {
        let ours: Vec<String> = match cx.config.get(REPO_URLS) {
            Some(configured) if !configured.is_empty() => configured.clone(),
            _ => origin_url(&cx.repo.root).into_iter().collect(),
        };
        for app in file.objects().filter_map(Application::from_node) {
            for source in app.all_sources() {
                let Some(path) = source.path else { continue };
                let url = source.repo_url.unwrap_or_default();
                if !ours.is_empty() && !ours.iter().any(|o| normalise(o) == normalise(url)) {
                    continue;
                }
                let Some(dir) = path.as_str() else { continue };
                if dir.contains("{{") {
                    continue; // an ApplicationSet generator fills it in
                }
                let Some(inside) = crate::policy::kustomize::join(Path::new(""), dir) else {
                    out.add(
                        path.pos,
                        format!("path `{dir}` is outside the repository"),
                        Some("point the Application at a directory of this repository"),
                    );
                    continue;
                };
                if !cx.repo.root.join(inside).is_dir() {
                    out.add(
                        path.pos,
                        format!("path `{dir}` does not exist in this repository"),
                        Some("point the Application at an existing directory"),
                    );
                }
            }
        }
    }
}
