use std::sync::LazyLock;

use globset::Glob;
use regex::Regex;

use crate::policy::config::RuleConfig;
use crate::policy::custom::pos_of;
use crate::policy::image_ref::ImageRef;
use crate::policy::option::{Declared, Opt, OptionValue};
use crate::policy::repo::ManifestFile;
use crate::policy::rule::{Context, Findings, Rule, declare_rule};
use crate::policy::workload;
use crate::yaml::{Kind, Node};

/// `image: X` lines, for a file that does not parse (its syntax error is reported
/// by `yaml-syntax`; its images are still checked, without overrides).
static IMAGE_LINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?m)^[ \t-]*image:[ \t]*["']?([^\s"'#{}]+)"#).expect("pattern is valid"));

fn unparsed_images(text: &str) -> Vec<Node> {
    IMAGE_LINE
        .captures_iter(text)
        .filter_map(|caps| caps.get(1))
        // What is not an image reference here is a part of the broken syntax.
        .filter(|m| ImageRef::parse(m.as_str()).is_ok())
        .map(|m| Node {
            pos: pos_of(text, m.start(), m.end()),
            kind: Kind::Str(m.as_str().to_owned()),
        })
        .collect()
}

declare_rule! {
    /// ## What it checks
    /// Every container image (containers, initContainers, ephemeralContainers of
    /// Pods, Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs, CronJobs and
    /// any other kind with a pod template) carries an explicit tag that is not
    /// `latest`, or a digest — after the `images:` overrides of the kustomizations
    /// that build the file are applied, as kustomize would (also to files they list
    /// by a sub-path, `resources: [jobs/migrate.yaml]`). Images held elsewhere are
    /// checked too: environment variables named `…IMAGE` (`PROXY_IMAGE`), CloudNativePG
    /// `Cluster.spec.imageName`, image catalogs and poolers, Tailscale `ProxyClass`
    /// containers, Argo Workflows templates; and the `image:` lines of a file that
    /// does not parse.
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
    /// - `floating-tags`: tag patterns that name a channel, not a version (globs).
    ///   Default `["stable", "unstable", "edge", "main", "master", "nightly", "dev",
    ///   "rolling"]`; a list given replaces it (`latest` always floats).
    /// - `major-only-floats` (default true): a major version alone (`7`, `v2`,
    ///   `7-alpine`, `27-dind`) moves with every release, so it floats.
    /// - `image-fields`: more places that hold images, `Kind:field.path`, e.g.
    ///   `["Runner:spec.template.spec.image", "App:spec.images[*]"]`.
    /// - `allowed-registries`: registries images may come from (`docker.io` for bare names).
    pub struct PinnedImage;
}

const REQUIRE_DIGEST: Opt<bool> = Opt::new("require-digest");
const FLOATING_TAGS: Opt<Vec<String>> = Opt::new("floating-tags");
const ALLOWED_REGISTRIES: Opt<Vec<String>> = Opt::new("allowed-registries");
const IMAGE_FIELDS: Opt<Vec<String>> = Opt::new("image-fields");
const MAJOR_ONLY_FLOATS: Opt<bool> = Opt::new("major-only-floats");
const OPTIONS: &[Declared] = &[
    REQUIRE_DIGEST.declared(),
    FLOATING_TAGS.checked(check_globs),
    ALLOWED_REGISTRIES.declared(),
    IMAGE_FIELDS.checked(check_image_fields),
    MAJOR_ONLY_FLOATS.declared(),
];

/// Tags that name a channel, not a version: they float unless `floating-tags`
/// says otherwise (`latest` always floats).
const DEFAULT_FLOATING: &[&str] = &[
    "stable", "unstable", "edge", "main", "master", "nightly", "dev", "rolling",
];

/// A major version alone, with or without a variant: `7`, `v2`, `7-alpine`, `27-dind`.
static MAJOR_ONLY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^v?\d{1,3}(-[A-Za-z][A-Za-z0-9._-]*)?$").expect("pattern is valid"));

fn check_globs(value: &OptionValue) -> Result<(), String> {
    let OptionValue::List(items) = value else {
        return Ok(());
    };
    items
        .iter()
        .try_for_each(|p| Glob::new(p).map(drop).map_err(|e| format!("`{p}`: {e}")))
}

fn check_image_fields(value: &OptionValue) -> Result<(), String> {
    let OptionValue::List(items) = value else {
        return Ok(());
    };
    items
        .iter()
        .try_for_each(|f| workload::ImageField::parse(f).map(drop))
}

/// The options as the checks use them, worked out once per lint.
struct Settings {
    floating: globset::GlobSet,
    major_only: bool,
    fields: Vec<workload::ImageField>,
    require_digest: bool,
}

impl Settings {
    fn new(config: &RuleConfig) -> Self {
        let mut floating = globset::GlobSetBuilder::new();
        let patterns = match config.get(FLOATING_TAGS) {
            Some(listed) => listed.iter().map(String::as_str).collect::<Vec<_>>(),
            None => DEFAULT_FLOATING.to_vec(),
        };
        // Checked when the policy was read (`check_globs`).
        for glob in patterns.into_iter().filter_map(|p| Glob::new(p).ok()) {
            floating.add(glob);
        }
        Self {
            floating: floating.build().unwrap_or_else(|_| globset::GlobSet::empty()),
            major_only: config.get(MAJOR_ONLY_FLOATS).copied().unwrap_or(true),
            fields: config
                .get(IMAGE_FIELDS)
                .into_iter()
                .flatten()
                .filter_map(|f| workload::ImageField::parse(f).ok())
                .collect(),
            require_digest: config.get(REQUIRE_DIGEST).copied().unwrap_or(false),
        }
    }
}

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
        let Settings {
            floating,
            major_only,
            fields,
            require_digest,
        } = cx.config.prepared(Settings::new);
        let (major_only, require_digest) = (*major_only, *require_digest);
        let registries = cx.config.get(ALLOWED_REGISTRIES).map_or(&[][..], Vec::as_slice);
        let nodes: Vec<Node> = if file.docs.is_err() && file.template_of.is_none() {
            unparsed_images(file.source.text())
        } else {
            file.objects()
                .flat_map(|object| workload::images(object, fields))
                .cloned()
                .collect()
        };
        for node in &nodes {
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
                    Some(tag) if floating.is_match(tag) => Some(format!(
                        "image `{image}` floats: tag `{tag}` is a floating tag, not a version (floating-tags)"
                    )),
                    Some(tag) if major_only && MAJOR_ONLY.is_match(tag) => Some(format!(
                        "image `{image}` floats: tag `{tag}` is a major version only, it moves with every release (major-only-floats)"
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
                        format!("image `{image}` comes from `{registry}`, which is not an allowed registry"),
                        Some("allowed-registries in policies/ lists the registries images may come from"),
                    );
                }
            }
        }
    }
}
