//! The `--diff` view of an apply: the live object against the server's dry-run
//! result, both without the fields the server owns (managed fields, status,
//! resource version, generation, uid, creation time).

use serde_json::Value;

use super::yaml;

const SERVER_METADATA: [&str; 6] = [
    "managedFields",
    "resourceVersion",
    "generation",
    "uid",
    "creationTimestamp",
    "selfLink",
];

/// A copy of an object without server-owned fields.
pub fn strip(object: &Value) -> Value {
    let mut object = object.clone();
    if let Some(map) = object.as_object_mut() {
        map.remove("status");
        if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
            for key in SERVER_METADATA {
                meta.remove(key);
            }
            if meta
                .get("annotations")
                .and_then(Value::as_object)
                .is_some_and(serde_json::Map::is_empty)
            {
                meta.remove("annotations");
            }
        }
    }
    object
}

/// A unified diff between the live object and the dry-run result, or `None` when
/// they are the same. `label` names the object in the headers.
pub fn unified(label: &str, live: &Value, dry_run: &Value) -> Option<String> {
    let before = yaml::print(&strip(live));
    let after = yaml::print(&strip(dry_run));
    if before == after {
        return None;
    }
    let diff = similar::TextDiff::from_lines(&before, &after);
    Some(
        diff.unified_diff()
            .context_radius(3)
            .header(&format!("live/{label}"), &format!("applied/{label}"))
            .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn server_fields_do_not_show_up_as_changes() {
        let live = json!({"kind": "ConfigMap", "metadata": {"name": "c", "resourceVersion": "1",
            "managedFields": [{"manager": "ops"}]}, "data": {"a": "1"}, "status": {"x": 1}});
        let same = json!({"kind": "ConfigMap", "metadata": {"name": "c", "resourceVersion": "2"}, "data": {"a": "1"}});
        assert_eq!(unified("c", &live, &same), None);
        let changed = json!({"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "2"}});
        let diff = unified("ConfigMap/c", &live, &changed).unwrap();
        assert!(diff.contains("-  a: \"1\"\n+  a: \"2\"\n"), "{diff}");
        assert!(
            diff.starts_with("--- live/ConfigMap/c\n+++ applied/ConfigMap/c\n"),
            "{diff}"
        );
    }
}
