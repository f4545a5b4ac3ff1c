//! Container images in Kubernetes objects, and what kustomize makes of them.

use std::path::PathBuf;

use std::sync::LazyLock;

use super::field_path::FieldPath;
use super::image_ref::ImageRef;
use super::repo::Repo;
use crate::yaml::Node;

/// Images that custom resources hold outside a pod template: `Kind:field.path`.
/// `pinned-image`'s `image-fields` option adds more in the same form.
pub(crate) const CRD_IMAGE_FIELDS: &[&str] = &[
    // CloudNativePG
    "Cluster:spec.imageName",
    "Pooler:spec.template.spec.containers[*].image",
    "ImageCatalog:spec.images[*].image",
    "ClusterImageCatalog:spec.images[*].image",
    // Tailscale operator
    "ProxyClass:spec.statefulSet.pod.tailscaleContainer.image",
    "ProxyClass:spec.statefulSet.pod.tailscaleInitContainer.image",
    // Argo Workflows
    "Workflow:spec.templates[*].container.image",
    "WorkflowTemplate:spec.templates[*].container.image",
    "CronWorkflow:spec.workflowSpec.templates[*].container.image",
    // Flux image automation is about images, not running them: not listed.
];

/// A `Kind:field.path` pair, parsed.
pub(crate) struct ImageField {
    kind: String,
    path: FieldPath,
}

impl ImageField {
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let (kind, path) = text
            .split_once(':')
            .filter(|(k, p)| !k.is_empty() && !p.is_empty())
            .ok_or_else(|| format!("`{text}` is not `Kind:field.path` (`ProxyClass:spec.statefulSet.pod.tailscaleContainer.image`)"))?;
        Ok(Self {
            kind: kind.to_owned(),
            path: FieldPath::parse(path)?,
        })
    }
}

static BUILT_IN: LazyLock<Vec<ImageField>> = LazyLock::new(|| {
    CRD_IMAGE_FIELDS
        .iter()
        .map(|f| ImageField::parse(f).expect("built-in image fields parse"))
        .collect()
});

/// Every image an object names: its pods' containers ([`pod_images`]), environment
/// variables of those containers whose name ends in `IMAGE` (an operator's
/// `PROXY_IMAGE`), and the image fields of custom resources (built in, and `extra`).
pub(crate) fn images<'a>(object: &'a Node, extra: &[ImageField]) -> Vec<&'a Node> {
    let mut found = Vec::new();
    for container in containers(object) {
        found.extend(container.get("image"));
        for var in container.get("env").map(Node::as_seq).unwrap_or_default() {
            let named_image = var
                .get("name")
                .and_then(Node::as_str)
                .is_some_and(|n| n.to_ascii_uppercase().ends_with("IMAGE"));
            if named_image && let Some(value) = var.get("value").filter(|v| v.as_str().is_some()) {
                found.push(value);
            }
        }
    }
    let kind = object.get("kind").and_then(Node::as_str).unwrap_or_default();
    for field in BUILT_IN.iter().chain(extra).filter(|f| f.kind == kind) {
        field.path.select(object, &mut found);
    }
    found.retain(|n| n.as_str().is_some());
    found.dedup_by(|a, b| a.pos == b.pos);
    found
}

/// Every `image:` node of an object: containers, initContainers and
/// ephemeralContainers of a Pod, of a CronJob's job template, and of the pod
/// template of any other kind that has one (Deployment, StatefulSet, Job, …).
pub fn pod_images(object: &Node) -> Vec<&Node> {
    containers(object).filter_map(|c| c.get("image")).collect()
}

fn containers(object: &Node) -> impl Iterator<Item = &Node> {
    let kind = object.get("kind").and_then(Node::as_str).unwrap_or_default();
    let pod_spec = match kind {
        "Pod" => object.get("spec"),
        "CronJob" => object.path("spec.jobTemplate.spec.template.spec"),
        _ => object.path("spec.template.spec"),
    };
    ["containers", "initContainers", "ephemeralContainers"]
        .into_iter()
        .filter_map(move |key| pod_spec?.get(key))
        .flat_map(Node::as_seq)
}

/// An image after kustomize's `images:` overrides.
pub struct Resolved {
    pub image: ImageRef,
    /// Where the tag (or digest) came from when an override set it: the
    /// kustomization file and the `newTag`/entry node.
    pub set_by: Option<(PathBuf, Node)>,
}

/// Apply the overrides of every kustomization that builds `file`, innermost first.
pub fn resolve(repo: &Repo, file: &std::path::Path, mut image: ImageRef) -> Resolved {
    let mut set_by = None;
    for k in repo.kustomizations_of(file) {
        let name = image.name();
        for o in k.images.iter().filter(|o| o.name == name) {
            if let Some(new_name) = &o.new_name
                && let Ok(named) = ImageRef::parse(new_name)
            {
                image.domain = named.domain;
                image.path = named.path;
            }
            if let Some((tag, node)) = &o.new_tag {
                image.tag = Some(tag.clone());
                set_by = Some((k.file.clone(), node.clone()));
            }
            if let Some(digest) = &o.digest {
                image.digest = Some(digest.clone());
                set_by = Some((k.file.clone(), o.node.clone()));
            }
        }
    }
    Resolved { image, set_by }
}
