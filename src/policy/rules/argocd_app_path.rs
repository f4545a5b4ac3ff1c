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

/// A git URL as `host/owner/repo`, lowercase, whatever its form: `https://host/o/r.git`,
/// `git@host:o/r`, `ssh://git@host:22/o/r/`; `None` for a local path.
pub(crate) fn canonical(url: &str) -> Option<String> {
    let url = url.trim();
    let rest = if let Some((scheme, rest)) = url.split_once("://") {
        if scheme.eq_ignore_ascii_case("file") {
            return None;
        }
        let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        let host = host.split(':').next().unwrap_or(host);
        format!("{host}/{path}")
    } else if let Some((user_host, path)) = url.split_once(':').filter(|(h, _)| !h.contains('/')) {
        // scp-like: git@host:owner/repo
        let host = user_host.rsplit_once('@').map_or(user_host, |(_, h)| h);
        format!("{host}/{}", path.trim_start_matches('/'))
    } else {
        return None;
    };
    let rest = rest.trim_end_matches('/');
    let rest = rest.strip_suffix(".git").unwrap_or(rest);
    Some(rest.to_ascii_lowercase())
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
        let apps: Vec<Application<'_>> = file.objects().filter_map(Application::from_node).collect();
        if apps.is_empty() {
            // The repository's URLs are worked out only for a file with an Application.
            return;
        }
        let configured: Vec<String> = cx
            .config
            .get(REPO_URLS)
            .into_iter()
            .flatten()
            .filter_map(|u| canonical(u))
            .collect();
        let ours = if configured.is_empty() {
            cx.repo.own_urls(|| own_urls(cx.repo))
        } else {
            &configured
        };
        for app in apps {
            for source in app.all_sources() {
                let Some(path) = source.path else { continue };
                // A source in another repository (an upstream chart's mirror) is not ours to check.
                let url = source.repo_url.and_then(canonical);
                if !url.is_some_and(|u| ours.contains(&u)) {
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

/// The URLs that name this repository: its `origin`, and any URL an Application here
/// uses with a path that exists in it (a clone whose origin is a mirror, or none).
fn own_urls(repo: &crate::policy::repo::Repo) -> Vec<String> {
    let mut urls: Vec<String> = origin_url(&repo.root)
        .as_deref()
        .and_then(canonical)
        .into_iter()
        .collect();
    for file in &repo.files {
        let file = file.loaded(&repo.root);
        for app in file.objects().filter_map(Application::from_node) {
            for source in app.all_sources() {
                let (Some(url), Some(dir)) = (
                    source.repo_url.and_then(canonical),
                    source.path.and_then(|p| p.as_str()),
                ) else {
                    continue;
                };
                let exists = !dir.contains("{{")
                    && crate::policy::kustomize::join(Path::new(""), dir).is_some_and(|inside| {
                        !inside.as_os_str().is_empty() && repo.root.join(inside).is_dir()
                    });
                if exists && !urls.contains(&url) {
                    urls.push(url);
                }
            }
        }
    }
    urls
}

#[cfg(test)]
mod tests {
    use super::canonical;

    #[test]
    fn one_repository_in_every_url_form() {
        let want = Some("github.com/onedr0p/home-ops".to_owned());
        for url in [
            "https://github.com/onedr0p/home-ops",
            "https://github.com/onedr0p/home-ops.git",
            "https://github.com/Onedr0p/Home-Ops/",
            "git@github.com:onedr0p/home-ops.git",
            "ssh://git@github.com:22/onedr0p/home-ops",
            "https://user:token@github.com/onedr0p/home-ops.git",
        ] {
            assert_eq!(canonical(url), want, "{url}");
        }
        assert_eq!(canonical("/srv/git/home-ops"), None);
        assert_eq!(canonical("file:///srv/git/home-ops"), None);
    }
}
