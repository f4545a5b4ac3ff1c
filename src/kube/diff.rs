//! The `--diff` view of an apply: the live object against the server's dry-run
//! result, both without the fields the server owns (managed fields, status,
//! resource version, generation, uid, creation time).

use serde_json::Value;

use crate::yaml;

const SERVER_METADATA: [&str; 6] = [
    "managedFields",
    "resourceVersion",
    "generation",
    "uid",
    "creationTimestamp",
    "selfLink",
];

/// A copy of an object without server-owned fields.
pub(crate) fn strip(object: &Value) -> Value {
    let mut object = object.clone();
    if let Some(map) = object.as_object_mut() {
        map.remove("status");
        if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
            for key in SERVER_METADATA {
                meta.remove(key);
            }
            // Client-side apply's copy of the object: noise, and for a Secret, its data.
            if let Some(annotations) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
                annotations.remove(LAST_APPLIED);
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

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// A copy of an object to show: server-owned fields stripped and, for a `Secret`,
/// every value of `data` and `stringData` masked. `other` is the object it is
/// compared with: a value that differs from it is marked, never shown.
pub(crate) fn shown(object: &Value, other: Option<&Value>) -> Value {
    let mut object = strip(object);
    if object.get("kind").and_then(Value::as_str) != Some("Secret") {
        return object;
    }
    for field in ["data", "stringData"] {
        let theirs = other.and_then(|o| o.get(field));
        if let Some(values) = object.get_mut(field).and_then(Value::as_object_mut) {
            for (key, value) in values.iter_mut() {
                let same = theirs.and_then(|t| t.get(key)).is_some_and(|t| t == value);
                let mask = if other.is_none() || same {
                    "***"
                } else {
                    "*** (changed)"
                };
                *value = Value::String(mask.into());
            }
        }
    }
    object
}

/// A unified diff between the live object and the dry-run result, or `None` when
/// they are the same. `label` names the object in the headers.
pub(crate) fn unified(label: &str, live: &Value, dry_run: &Value) -> Option<String> {
    let (live_data, dry_data) = (strip(live), strip(dry_run));
    if yaml::print(&live_data) == yaml::print(&dry_data) {
        return None;
    }
    let before = yaml::print(&shown(live, None));
    let after = yaml::print(&shown(dry_run, Some(live)));
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
    fn secret_values_never_show_only_that_they_changed() {
        let live = json!({"kind": "Secret", "metadata": {"name": "s", "annotations": {
            LAST_APPLIED: "{\"data\":{\"password\":\"aHVudGVyMg==\"}}"}},
            "data": {"password": "aHVudGVyMg==", "user": "YWRtaW4="}});
        let rotated = json!({"kind": "Secret", "metadata": {"name": "s"},
            "data": {"password": "czNjcjN0", "user": "YWRtaW4="}});
        let diff = unified("Secret/s", &live, &rotated).unwrap();
        assert!(
            !diff.contains("aHVudGVyMg") && !diff.contains("czNjcjN0") && !diff.contains("YWRtaW4"),
            "{diff}"
        );
        assert!(
            diff.contains("-  password: \"***\"\n+  password: \"*** (changed)\"\n"),
            "{diff}"
        );
        assert!(diff.contains("   user: \"***\"\n"), "{diff}");
        let whole = yaml::print(&shown(&rotated, None));
        assert!(!whole.contains("czNjcjN0"), "{whole}");
    }

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
