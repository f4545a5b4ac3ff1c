//! Container images in Kubernetes objects, and what kustomize makes of them.

use std::path::PathBuf;

use super::image_ref::ImageRef;
use super::repo::Repo;
use crate::yaml::Node;

/// Every `image:` node of an object: containers, initContainers and
/// ephemeralContainers of a Pod, of a CronJob's job template, and of the pod
/// template of any other kind that has one (Deployment, StatefulSet, Job, …).
pub fn images(object: &Node) -> Vec<&Node> {
    let kind = object.get("kind").and_then(Node::as_str).unwrap_or_default();
    let pod_spec = match kind {
        "Pod" => object.get("spec"),
        "CronJob" => object.path("spec.jobTemplate.spec.template.spec"),
        _ => object.path("spec.template.spec"),
    };
    let Some(spec) = pod_spec else { return Vec::new() };
    ["containers", "initContainers", "ephemeralContainers"]
        .iter()
        .filter_map(|key| spec.get(key))
        .flat_map(Node::as_seq)
        .filter_map(|container| container.get("image"))
        .collect()
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
