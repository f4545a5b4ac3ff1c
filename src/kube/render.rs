//! Rendering a step's `path` into objects: a kustomization through `kubectl
//! kustomize` (the one program Kubernetes steps run), plain YAML files directly.

use std::path::{Path, PathBuf};

use super::object::Object;
use super::{KubeError, Session};
use crate::yaml;

/// Rendered output can be large (CRDs); keep all of it.
const MAX_RENDER: usize = 64 * 1024 * 1024;

const KUSTOMIZATION_FILES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// How a path is rendered.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Source {
    Kustomization(PathBuf),
    Files(Vec<PathBuf>),
}

/// Decide how to render `path`: a directory with a kustomization, a directory of
/// YAML files (not recursive), or one file.
pub(crate) fn source(path: &Path) -> Result<Source, KubeError> {
    if path.is_dir() {
        if KUSTOMIZATION_FILES.iter().any(|f| path.join(f).is_file()) {
            return Ok(Source::Kustomization(path.to_owned()));
        }
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| KubeError::Invalid(format!("cannot read {}: {e}", path.display())))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(KubeError::Invalid(format!(
                "{} has no kustomization.yaml and no YAML files",
                path.display()
            )));
        }
        return Ok(Source::Files(files));
    }
    if path.is_file() {
        return Ok(Source::Files(vec![path.to_owned()]));
    }
    Err(KubeError::Invalid(format!("{} does not exist", path.display())))
}

/// Render `path` (relative to the step's directory) into objects, in apply order.
pub(crate) async fn render(cx: &Session<'_>, path: &Path) -> Result<Vec<Object>, KubeError> {
    let full = cx.dir.join(path);
    let mut objects = Vec::new();
    match source(&full)? {
        Source::Kustomization(dir) => {
            let args = vec!["kustomize".into(), dir.display().to_string()];
            let rendered = cx.output("kubectl", args, MAX_RENDER).await?;
            parse_into(&rendered, &full, &mut objects)?;
        }
        Source::Files(files) => {
            for file in files {
                let text = std::fs::read_to_string(&file)
                    .map_err(|e| KubeError::Invalid(format!("cannot read {}: {e}", file.display())))?;
                parse_into(&text, &file, &mut objects)?;
            }
        }
    }
    super::object::apply_order(&mut objects);
    Ok(objects)
}

/// Parse one YAML stream; `List` objects are unpacked.
pub(crate) fn parse_into(text: &str, origin: &Path, objects: &mut Vec<Object>) -> Result<(), KubeError> {
    let docs = yaml::documents(text)
        .map_err(|e| KubeError::Invalid(format!("{}: invalid YAML at {e}", origin.display())))?;
    for doc in docs {
        let items = match doc.get("kind").and_then(|k| k.as_str()) {
            Some(kind) if kind.ends_with("List") && doc.get("items").is_some() => doc
                .get("items")
                .and_then(|i| i.as_array())
                .cloned()
                .unwrap_or_default(),
            _ => vec![doc],
        };
        for item in items {
            objects.push(
                Object::from_value(item)
                    .map_err(|e| KubeError::Invalid(format!("{}: {e}", origin.display())))?,
            );
        }
    }
    Ok(())
}
