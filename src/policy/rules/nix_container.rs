use crate::policy::image_ref::ImageRef;
use crate::policy::option::{Declared, Opt};
use crate::policy::repo::ManifestFile;
use crate::policy::rule::{Context, Findings, Rule, declare_rule};
use crate::policy::workload;

declare_rule! {
    /// ## What it checks
    /// An image from this repository's own registry (`registry`, e.g.
    /// `registry.example.net/homelab`) is built here: `containers/NAME/default.nix`
    /// (or a `Dockerfile`) exists for `registry.example.net/homelab/NAME`.
    ///
    /// ## Why
    /// A manifest that names an image nobody builds deploys fine until the image is
    /// garbage-collected from the registry, and then cannot be rebuilt.
    ///
    /// ## Example
    /// ```yaml
    /// image: registry.example.net/homelab/authentik:v2026.2.0-nix
    /// # but containers/authentik/default.nix does not exist
    /// ```
    ///
    /// ## Fix
    /// Add the container's Nix expression, or correct the image name.
    ///
    /// ## Options
    /// - `registry` (required for the rule to do anything): the registry prefix.
    /// - `containers-dir` (default `containers`).
    pub struct NixContainer;
}

const REGISTRY: Opt<String> = Opt::new("registry");
const CONTAINERS_DIR: Opt<String> = Opt::new("containers-dir");
const OPTIONS: &[Declared] = &[REGISTRY.declared(), CONTAINERS_DIR.declared()];

impl Rule for NixContainer {
    fn id(&self) -> &'static str {
        "nix-container"
    }
    fn code(&self) -> &'static str {
        "OPS005"
    }
    fn summary(&self) -> &'static str {
        "an image of this repository's registry has containers/NAME/default.nix (or a Dockerfile)"
    }
    fn doc(&self) -> &'static str {
        Self::DOC
    }
    fn options(&self) -> &'static [Declared] {
        OPTIONS
    }

    fn check(&self, cx: &Context<'_>, file: &ManifestFile, out: &mut Findings<'_>) {
        let Some(registry) = cx.config.get(REGISTRY).map(|r| r.trim_end_matches('/')) else {
            return;
        };
        let containers = cx.config.get(CONTAINERS_DIR).map_or("containers", String::as_str);
        for object in file.objects() {
            for node in workload::pod_images(object) {
                let Some(image) = node.as_str().and_then(|t| ImageRef::parse(t).ok()) else {
                    continue;
                };
                let image = workload::resolve(cx.repo, &file.path, image).image;
                let name = image.name();
                let Some(rest) = name.strip_prefix(registry).and_then(|r| r.strip_prefix('/')) else {
                    continue;
                };
                let container = rest.split('/').next().unwrap_or(rest);
                let dir = cx.repo.root.join(containers).join(container);
                if !dir.join("default.nix").is_file() && !dir.join("Dockerfile").is_file() {
                    out.add(
                        node.pos,
                        format!("image `{name}` is not built here: no {containers}/{container}/default.nix or Dockerfile"),
                        Some("add the container's Nix expression, or correct the image name"),
                    );
                }
            }
        }
    }
}
