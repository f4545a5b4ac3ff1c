//! The parts of a `kustomization.yaml` the rules need: what it lists, and its
//! `images:` overrides.

use std::path::{Component, Path, PathBuf};

use crate::yaml::{Kind, Node};

pub const FILE_NAMES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// One `images:` entry.
#[derive(Clone, Debug)]
pub struct ImageOverride {
    pub name: String,
    pub new_name: Option<String>,
    pub new_tag: Option<(String, Node)>,
    pub digest: Option<String>,
    /// The entry itself, for findings.
    pub node: Node,
}

/// A local path listed by a kustomization, with the node that lists it.
#[derive(Clone, Debug)]
pub struct Listed {
    /// Relative to the root; `None` when the path leads outside the repository.
    pub path: Option<PathBuf>,
    pub node: Node,
}

#[derive(Clone, Debug, Default)]
pub struct Kustomization {
    /// Directory of the kustomization, relative to the root.
    pub dir: PathBuf,
    /// The kustomization file, relative to the root.
    pub file: PathBuf,
    /// Local files and directories it lists (resources, components, patches,
    /// generator files, …), resolved relative to the root.
    pub listed: Vec<Listed>,
    pub images: Vec<ImageOverride>,
    pub helm_charts: Option<Node>,
    pub helm_globals: Option<Node>,
}

/// Whether a listed entry is remote (a URL or a git reference), not a local path.
fn is_remote(entry: &str) -> bool {
    entry.contains("://") || entry.starts_with("git@") || entry.starts_with("github.com/")
}

/// `dir/entry` normalised lexically (`.` dropped, `..` removing the component
/// before it), relative to the root; `None` when it leaves the root (a `..` too
/// many, an absolute path). Never clamped: `../../x` from `a/` is not `x`.
pub fn join(dir: &Path, entry: &str) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for component in dir.join(entry).components() {
        match component {
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::CurDir => {}
            Component::Normal(name) => out.push(name),
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

impl Kustomization {
    pub fn from_node(file: &Path, doc: &Node) -> Self {
        let dir = file.parent().unwrap_or(Path::new("")).to_path_buf();
        let mut listed = Vec::new();
        let mut list = |node: &Node| {
            if let Some(entry) = node.as_str().filter(|e| !is_remote(e)) {
                listed.push(Listed {
                    path: join(&dir, entry),
                    node: node.clone(),
                });
            }
        };
        for key in [
            "resources",
            "components",
            "bases",
            "crds",
            "patchesStrategicMerge",
            "transformers",
            "generators",
            "validators",
            "configurations",
        ] {
            doc.get(key)
                .into_iter()
                .flat_map(Node::as_seq)
                .for_each(&mut list);
        }
        for key in ["patches", "patchesJson6902", "replacements"] {
            for item in doc.get(key).into_iter().flat_map(Node::as_seq) {
                match item.get("path") {
                    Some(path) => list(path),
                    None => list(item),
                }
            }
        }
        for key in ["configMapGenerator", "secretGenerator"] {
            for generator in doc.get(key).into_iter().flat_map(Node::as_seq) {
                for source in generator.get("files").into_iter().flat_map(Node::as_seq) {
                    // `key=path` or `path`
                    if let Some(text) = source.as_str() {
                        let path = text.split_once('=').map_or(text, |(_, p)| p);
                        let mut node = source.clone();
                        node.kind = Kind::Str(path.to_owned());
                        list(&node);
                    }
                }
                for env in generator
                    .get("envs")
                    .into_iter()
                    .flat_map(Node::as_seq)
                    .chain(generator.get("env"))
                {
                    list(env);
                }
            }
        }
        if let Some(path) = doc.path("openapi.path") {
            list(path);
        }
        let images = doc
            .get("images")
            .into_iter()
            .flat_map(Node::as_seq)
            .filter_map(|entry| {
                Some(ImageOverride {
                    name: entry.get("name")?.as_str()?.to_owned(),
                    new_name: entry.get("newName").and_then(Node::scalar_text),
                    new_tag: entry
                        .get("newTag")
                        .and_then(|t| Some((t.scalar_text()?, t.clone()))),
                    digest: entry.get("digest").and_then(Node::scalar_text),
                    node: entry.clone(),
                })
            })
            .collect();
        Self {
            dir: file.parent().unwrap_or(Path::new("")).to_path_buf(),
            file: file.to_path_buf(),
            listed,
            images,
            helm_charts: doc.get("helmCharts").cloned(),
            helm_globals: doc.get("helmGlobals").cloned(),
        }
    }

    /// Whether this kustomization lists `path` (a file or a directory).
    pub fn lists(&self, path: &Path) -> bool {
        self.listed.iter().any(|l| l.path.as_deref() == Some(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_resolved_without_clamping() {
        let dir = Path::new("apps/web");
        assert_eq!(
            join(dir, "./base/../svc.yaml"),
            Some(PathBuf::from("apps/web/svc.yaml"))
        );
        assert_eq!(join(dir, "../../shared"), Some(PathBuf::from("shared")));
        assert_eq!(join(dir, "../../../stray.yaml"), None);
        assert_eq!(join(dir, "../../../apps/web/x.yaml"), None);
        assert_eq!(join(dir, "/etc/passwd"), None);
    }
}
