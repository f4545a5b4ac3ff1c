//! One rendered Kubernetes object, and the order objects are applied in.

use std::fmt;

use kube::core::GroupVersionKind;
use serde_json::Value;

/// A rendered object: its identity and its full body.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Object {
    pub gvk: GroupVersionKind,
    pub name: String,
    /// The namespace written in the manifest, if any.
    pub namespace: Option<String>,
    pub body: Value,
}

impl Object {
    /// Read identity fields from a manifest document.
    pub(crate) fn from_value(body: Value) -> Result<Self, String> {
        let field = |path: &[&str]| {
            path.iter()
                .try_fold(&body, |v, k| v.get(k))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let api_version = field(&["apiVersion"]).ok_or("an object without `apiVersion`")?;
        let kind = field(&["kind"]).ok_or("an object without `kind`")?;
        let name = field(&["metadata", "name"]).ok_or_else(|| format!("a {kind} without `metadata.name`"))?;
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g.to_owned(), v.to_owned()),
            None => (String::new(), api_version.clone()),
        };
        let namespace = field(&["metadata", "namespace"]);
        Ok(Self {
            gvk: GroupVersionKind::gvk(&group, &version, &kind),
            name,
            namespace,
            body,
        })
    }

    pub(crate) fn kind(&self) -> &str {
        &self.gvk.kind
    }

    /// Where the object goes once defaults apply: its own namespace, else the step's
    /// (ignored by the caller for cluster-scoped kinds).
    pub(crate) fn namespace_or<'a>(&'a self, default: Option<&'a str>) -> Option<&'a str> {
        self.namespace.as_deref().or(default)
    }

    pub(crate) fn is_namespace(&self) -> bool {
        self.gvk.group.is_empty() && self.gvk.kind == "Namespace"
    }

    pub(crate) fn is_crd(&self) -> bool {
        self.gvk.group == "apiextensions.k8s.io" && self.gvk.kind == "CustomResourceDefinition"
    }

    /// For a CRD: the group and kind it defines.
    pub(crate) fn defines(&self) -> Option<(&str, &str)> {
        if !self.is_crd() {
            return None;
        }
        let spec = self.body.get("spec")?;
        Some((
            spec.get("group")?.as_str()?,
            spec.get("names")?.get("kind")?.as_str()?,
        ))
    }
}

impl fmt::Display for Object {
    /// `Deployment authentik/authentik-server`, `Namespace authentik`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {ns}/{}", self.gvk.kind, self.name),
            None => write!(f, "{} {}", self.gvk.kind, self.name),
        }
    }
}

/// Namespaces first, then CRDs, then everything else in the order rendered (kustomize
/// already sorts built-in kinds sensibly); a stable sort keeps the rest as written.
pub(crate) fn apply_order(objects: &mut [Object]) {
    objects.sort_by_key(|o| {
        if o.is_namespace() {
            0
        } else if o.is_crd() {
            1
        } else {
            2
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(api_version: &str, kind: &str, name: &str) -> Object {
        Object::from_value(json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": name}}))
            .unwrap()
    }

    #[test]
    fn namespaces_then_crds_then_the_rest_in_order() {
        let mut objects = vec![
            object("apps/v1", "Deployment", "web"),
            object(
                "apiextensions.k8s.io/v1",
                "CustomResourceDefinition",
                "widgets.example.net",
            ),
            object("v1", "Service", "web"),
            object("v1", "Namespace", "app"),
        ];
        apply_order(&mut objects);
        let kinds: Vec<&str> = objects.iter().map(Object::kind).collect();
        assert_eq!(
            kinds,
            ["Namespace", "CustomResourceDefinition", "Deployment", "Service"]
        );
    }

    #[test]
    fn identity_errors_name_the_missing_field() {
        assert_eq!(
            Object::from_value(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {}})).unwrap_err(),
            "a Pod without `metadata.name`"
        );
        let core = object("v1", "ConfigMap", "c");
        assert_eq!((core.gvk.group.as_str(), core.gvk.version.as_str()), ("", "v1"));
    }
}
