//! The layers written in `src/lib.rs` hold: a top-level module refers only to
//! modules on lower lines of that list, so no two modules depend on each other.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The `text` block under "Layers" in `src/lib.rs`: one line per layer, top first.
fn layers(lib: &str) -> Vec<Vec<String>> {
    let doc: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("//!"))
        .map(str::trim)
        .collect();
    let start = doc
        .iter()
        .position(|l| *l == "## Layers")
        .expect("a `## Layers` section in src/lib.rs");
    let block = doc[start..]
        .iter()
        .skip_while(|l| !l.starts_with("```"))
        .skip(1)
        .take_while(|l| !l.starts_with("```"));
    block
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .filter(|l: &Vec<String>| !l.is_empty())
        .collect()
}

/// Every `.rs` file of a top-level module.
fn files(src: &Path, module: &str) -> Vec<PathBuf> {
    let file = src.join(format!("{module}.rs"));
    if file.is_file() {
        return vec![file];
    }
    let mut found = Vec::new();
    let mut stack = vec![src.join(module)];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().map(Result::unwrap) {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }
    found
}

/// The top-level modules a file names as `crate::NAME` (also inside `use crate::{…}`).
fn references(text: &str, modules: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        let names: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
            top_level_items(group)
                .into_iter()
                .filter_map(|part| part.trim().split("::").next())
                .collect()
        } else {
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            vec![&rest[..end]]
        };
        for name in names {
            if modules.iter().any(|m| m == name) && !found.iter().any(|f| f == name) {
                found.push(name.to_owned());
            }
        }
    }
    found
}

/// The comma-separated items of a `{…}` group (its opening brace already taken),
/// nested groups kept whole.
fn top_level_items(group: &str) -> Vec<&str> {
    let (mut depth, mut start, mut items) = (0usize, 0, Vec::new());
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                items.push(&group[start..i]);
                return items;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&group[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&group[start..]);
    items
}

#[test]
fn modules_only_use_the_layers_below_them() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = root.join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let layers = layers(&lib);
    let level: BTreeMap<&str, usize> = layers
        .iter()
        .enumerate()
        .flat_map(|(i, line)| line.iter().map(move |m| (m.as_str(), i)))
        .collect();
    let declared: Vec<String> = lib
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let l = l
                .strip_prefix("pub(crate) ")
                .or_else(|| l.strip_prefix("pub "))
                .unwrap_or(l);
            l.strip_prefix("mod ")?.strip_suffix(';').map(str::to_owned)
        })
        .collect();
    let mut problems = Vec::new();
    for module in &declared {
        let Some(&mine) = level.get(module.as_str()) else {
            problems.push(format!(
                "`{module}` is declared in src/lib.rs but missing from its layers"
            ));
            continue;
        };
        for file in files(&src, module) {
            let text = std::fs::read_to_string(&file).unwrap();
            for used in references(&text, &declared) {
                if used == *module {
                    continue;
                }
                if level.get(used.as_str()).is_none_or(|&theirs| theirs <= mine) {
                    problems.push(format!(
                        "{} uses `{used}`, which is not below `{module}` in the layers of src/lib.rs",
                        file.strip_prefix(root).unwrap().display()
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(declared.len() >= 10, "found only {declared:?}");
}

#[test]
fn the_reference_scanner_sees_grouped_and_nested_paths() {
    let modules = ["task".to_owned(), "kube".to_owned(), "yaml".to_owned()];
    let text = "use crate::{kube::{Context, ContextMap}, task};\nlet x = crate::yaml::parse(y);";
    assert_eq!(references(text, &modules), ["kube", "task", "yaml"]);
}
