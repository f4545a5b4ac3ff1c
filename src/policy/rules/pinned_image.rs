use globset::Glob;

use crate::policy::image_ref::ImageRef;
use crate::policy::option::{Declared, Opt};
use crate::policy::repo::ManifestFile;
use crate::policy::rule::{Context, Findings, Rule, declare_rule};
use crate::policy::workload;

declare_rule! {
    /// ## What it checks
    /// Every container image (containers, initContainers, ephemeralContainers of
    /// Pods, Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs, CronJobs and
    /// any other kind with a pod template) carries an explicit tag that is not
    /// `latest`, or a digest — after the `images:` overrides of the kustomizations
    /// that build the file are applied, as kustomize would.
    ///
    /// ## Why
    /// A floating tag deploys whatever the registry serves that day: a restart can
    /// change the running version, and a rollback has nothing to go back to.
    ///
    /// ## Example
    /// ```yaml
    /// # deployment.yaml                      # kustomization.yaml
    /// image: registry.example.net/app        images:
    ///                                          - name: registry.example.net/app
    ///                                            newTag: latest        # floats
    /// ```
    ///
    /// ## Fix
    /// Pin a version or a digest, in the manifest or with `newTag`/`digest` in the
    /// kustomization (`newTag: v2026.2.0-2d4098e-nix`).
    ///
    /// ## Options
    /// - `require-digest` (default false): only a digest counts as pinned.
    /// - `floating-tags`: tag patterns treated as unpinned, e.g. `["*-alpine", "27-dind"]`.
    /// - `allowed-registries`: registries images may come from (`docker.io` for bare names).
    pub struct PinnedImage;
}

const REQUIRE_DIGEST: Opt<bool> = Opt::new("require-digest");
const FLOATING_TAGS: Opt<Vec<String>> = Opt::new("floating-tags");
const ALLOWED_REGISTRIES: Opt<Vec<String>> = Opt::new("allowed-registries");
const OPTIONS: &[Declared] = &[
    REQUIRE_DIGEST.declared(),
    FLOATING_TAGS.declared(),
    ALLOWED_REGISTRIES.declared(),
];

impl Rule for PinnedImage {
    fn id(&self) -> &'static str {
        "pinned-image"
    }
    fn code(&self) -> &'static str {
        "OPS001"
    }
    fn summary(&self) -> &'static str {
        "container images carry a tag that is not `latest`, or a digest (kustomize overrides applied)"
    }
    fn doc(&self) -> &'static str {
        Self::DOC
    }
    fn options(&self) -> &'static [Declared] {
        OPTIONS
    }

    fn check(&self, cx: &Context<'_>, file: &ManifestFile, out: &mut Findings<'_>) {
        let floating: Vec<globset::GlobMatcher> = cx
            .config
            .get(FLOATING_TAGS)
            .into_iter()
            .flatten()
            .filter_map(|p| Glob::new(p).ok().map(|g| g.compile_matcher()))
            .collect();
        let registries = cx.config.get(ALLOWED_REGISTRIES).map_or(&[][..], Vec::as_slice);
        let require_digest = cx.config.get(REQUIRE_DIGEST).copied().unwrap_or(false);
        for object in file.objects() {
            for node in workload::images(object) {
                let Some(text) = node.as_str() else { continue };
                let image = match ImageRef::parse(text) {
                    Ok(image) => image,
                    Err(reason) => {
                        out.add(
                            node.pos,
                            format!("`{text}` is not a valid image reference: {reason}"),
                            None,
                        );
                        continue;
                    }
                };
                let resolved = workload::resolve(cx.repo, &file.path, image);
                let image = &resolved.image;
                let problem = if image.digest.is_some() {
                    None
                } else if require_digest {
                    Some(format!("image `{image}` has no digest (require-digest is on)"))
                } else {
                    match image.tag.as_deref() {
                        None => Some(format!("image `{image}` has no tag, so it floats to `latest`")),
                        Some("latest") => Some(format!("image `{image}` floats: `latest` is not a pin")),
                        Some(tag) if floating.iter().any(|g| g.is_match(tag)) => Some(format!(
                            "image `{image}` floats: tag `{tag}` is listed in floating-tags"
                        )),
                        Some(_) => None,
                    }
                };
                let help = "pin a version or a digest, here or with `newTag`/`digest` in the kustomization.yaml that lists this file";
                if let Some(message) = problem {
                    match &resolved.set_by {
                        Some((path, at)) => out.add_in(path.clone(), at.pos, message, Some(help)),
                        None => out.add(node.pos, message, Some(help)),
                    }
                }
                if !registries.is_empty() {
                    let registry = image.domain.as_deref().unwrap_or("docker.io");
                    if !registries.iter().any(|r| r == registry) {
                        out.add(
                            node.pos,
                            format!(
                                "image `{image}` comes from `{registry}`, which is not an allowed registry"
                            ),
                            Some("allowed-registries in policies/ lists the registries images may come from"),
                        );
                    }
                }
            }
        }
    }
}
