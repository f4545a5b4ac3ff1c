//! JSON values printed as block-style YAML (Kubernetes objects from the API, for
//! diffs), so that the text reads back as the same value.

use std::fmt::Write as _;

use serde_json::{Map, Value};

use super::{Node, load};

/// A JSON value printed as block-style YAML (keys in the value's order).
pub fn print(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => write_map(&mut out, map, 0),
        Value::Array(items) if !items.is_empty() => write_seq(&mut out, items, 0),
        scalar => {
            out.push_str(&scalar_text(scalar));
            out.push('\n');
        }
    }
    out
}

/// YAML allows implicit (`key: value`) keys up to 1024 characters; longer ones are
/// written as explicit keys (`? key` then `: value`).
const MAX_IMPLICIT_KEY: usize = 1000;

fn write_map(out: &mut String, map: &Map<String, Value>, indent: usize) {
    for (key, value) in map {
        let key = key_text(key);
        if key.chars().count() > MAX_IMPLICIT_KEY {
            let _ = write!(out, "{:indent$}? {key}\n{:indent$}:", "", "");
        } else {
            let _ = write!(out, "{:indent$}{key}:", "");
        }
        write_value(out, value, indent);
    }
}

fn write_seq(out: &mut String, items: &[Value], indent: usize) {
    for item in items {
        let _ = write!(out, "{:indent$}-", "");
        match item {
            Value::Object(map) if !map.is_empty() => {
                // The first key goes on the dash's line, the rest under it.
                let mut nested = String::new();
                write_map(&mut nested, map, indent + 2);
                out.push(' ');
                out.push_str(&nested[indent + 2..]);
            }
            Value::Array(inner) if !inner.is_empty() => {
                out.push('\n');
                write_seq(out, inner, indent + 2);
            }
            scalar => {
                let _ = writeln!(out, " {}", scalar_text(scalar));
            }
        }
    }
}

/// After `key:` — a nested block on the next lines, or a scalar on the same line.
fn write_value(out: &mut String, value: &Value, indent: usize) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            write_map(out, map, indent + 2);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            write_seq(out, items, indent);
        }
        Value::String(s) if literal_block(s) => {
            // A multi-line string as a literal block, as people write them (scripts,
            // config files in ConfigMaps); anything trickier is quoted instead.
            out.push_str(if s.ends_with('\n') { " |\n" } else { " |-\n" });
            for line in s.trim_end_matches('\n').split('\n') {
                if line.is_empty() {
                    out.push('\n');
                } else {
                    let _ = writeln!(out, "{:width$}{line}", "", width = indent + 2);
                }
            }
        }
        scalar => {
            let _ = writeln!(out, " {}", scalar_text(scalar));
        }
    }
}

/// Whether a string reads back unchanged from a plain literal block: several lines,
/// at most one final newline, no leading blank, no trailing blanks, no control
/// characters but newlines.
fn literal_block(s: &str) -> bool {
    s.contains('\n')
        && !s.starts_with([' ', '\n'])
        && !s.ends_with("\n\n")
        && !s.chars().any(|c| c != '\n' && c.is_control())
        && s.lines().all(|line| line == line.trim_end())
}

fn key_text(key: &str) -> String {
    if needs_quotes(key) {
        Value::String(key.to_owned()).to_string()
    } else {
        key.to_owned()
    }
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
        Value::String(s) if needs_quotes(s) => Value::String(s.clone()).to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A string as a YAML scalar that YAML 1.1 and 1.2 readers alike read as this string.
pub fn scalar(s: &str) -> String {
    if needs_quotes(s) {
        Value::String(s.to_owned()).to_string()
    } else {
        s.to_owned()
    }
}

/// Plain scalars that YAML 1.1 readers (PyYAML, many tools still) take for a boolean,
/// a null, a number, a timestamp or a merge/value key, though YAML 1.2 reads a string.
static YAML_1_1: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(concat!(
        r"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF",
        r"|~|null|Null|NULL|=|<<",
        r"|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0[0-7_]+|[-+]?0x[0-9a-fA-F_]+|[-+]?0b[01_]+",
        r"|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?",
        r"|[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*(?:[eE][-+][0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
        r"|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt \t].*)?)$"
    ))
    .expect("the YAML 1.1 pattern is valid")
});

/// Whether a string must be quoted to read back as itself. Rather than a list of
/// YAML 1.2's special forms (`~`, `.inf`, `0o17`, `- a`, `a #b` …), the parser is
/// asked: the plain scalar, as a value and as a key, must come back as this string.
/// YAML 1.1's forms (`yes`, `on`, `No`, `012`, `1:30`, `2026-01-02`) are quoted too.
fn needs_quotes(s: &str) -> bool {
    if s.is_empty() || s.trim() != s || s.contains('\n') || s.chars().any(char::is_control) {
        return true;
    }
    if YAML_1_1.is_match(s) {
        return true;
    }
    let reads_back = |probe: String, pick: fn(&Node) -> Option<&Node>| {
        load(&probe).is_ok_and(|docs| {
            matches!(docs.as_slice(), [doc] if doc.entries().len() == 1
                && pick(doc).and_then(Node::as_str) == Some(s))
        })
    };
    !(reads_back(format!("k: {s}\n"), |doc| doc.get("k"))
        && reads_back(format!("{s}: v\n"), |doc| doc.entries().first().map(|(k, _)| k)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::documents;
    use serde_json::json;

    #[test]
    fn prints_nested_objects_lists_and_quoted_scalars() {
        let value = json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "cfg", "labels": {"app": "x"}},
            "data": {"port": "8080", "flag": "true", "empty": "", "text": "a\nb\n", "plain": "hello"},
            "list": [{"name": "a", "value": 1}, "b", ["c"]],
            "nothing": {}
        });
        let text = print(&value);
        let back = documents(&text).unwrap();
        assert_eq!(back, vec![value], "{text}");
        assert!(text.contains("  port: \"8080\"\n"), "{text}");
        assert!(text.contains("- name: a\n  value: 1\n"), "{text}");
    }

    /// Strings that YAML readers take for something else, in one form or another.
    const TRICKY: &[&str] = &[
        "",
        " lead",
        "trail ",
        "- a",
        "a: b",
        "#x",
        "a #b",
        "ends:",
        ":",
        "-",
        "?",
        "yes",
        "No",
        "on",
        "~",
        "null",
        "NULL",
        "true",
        "1e3",
        "0x1F",
        "0o17",
        "+1",
        "1.",
        ".5",
        "0755",
        "1_000",
        "12:30",
        ".inf",
        "-.inf",
        ".nan",
        "'q'",
        "\"dq\"",
        "[a]",
        "{a}",
        "@at",
        "`tick",
        "%pct",
        "&anchor",
        "*alias",
        "!tag",
        "|",
        ">",
        "tab\there",
        "multi\nline",
        "  indented\nmulti\n",
        "trailing newline\n",
        "\u{1}ctl",
        "é ünïcode",
        "a,b",
        "=",
        "<<",
        "two\n\n",
        "\nleading",
        "blank \nline",
        "a\n  b\n",
        " lead\nx",
        // YAML 1.1: booleans, nulls, numbers, times and dates, merge and value keys.
        "y",
        "N",
        "on",
        "Off",
        "No",
        "YES",
        "Null",
        "012",
        "0b101",
        "1_000",
        "1:30",
        "190:20:30.15",
        "2026-01-02",
        "2001-12-14t21:59:43.10-05:00",
        "=",
        "<<",
        ".5",
        "-.inf",
        ".NaN",
    ];

    #[test]
    fn tricky_strings_read_back_as_strings() {
        for &text in TRICKY {
            let value = json!({ "k": text, text: "v", "list": [text] });
            let printed = print(&value);
            let back = documents(&printed).unwrap_or_else(|e| panic!("{text:?} printed as\n{printed}\n{e}"));
            assert_eq!(back, vec![value], "{text:?} printed as\n{printed}");
        }
    }

    /// A second, independent reader: PyYAML (YAML 1.1) must read every printed
    /// string as that string too.
    #[test]
    fn pyyaml_reads_printed_strings_as_strings() {
        let values: Vec<serde_json::Value> = TRICKY
            .iter()
            .filter(|t| !t.contains(['\u{0}', '\u{1b}']))
            .map(|t| json!({ "k": t, "list": [t] }))
            .collect();
        let printed: String = values
            .iter()
            .map(|v| ["---\n".to_owned(), print(v)].concat())
            .collect();
        let out = std::process::Command::new("python3")
            .args([
                "-c",
                "import json, sys, yaml; print(json.dumps(list(yaml.safe_load_all(sys.stdin.read()))))",
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write as _;
                child.stdin.take().expect("piped").write_all(printed.as_bytes())?;
                child.wait_with_output()
            })
            .expect("python3 runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        if stderr.contains("No module named") {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "PyYAML is required under CI=true"
            );
            eprintln!("skipped: PyYAML is not installed");
            return;
        }
        assert!(out.status.success(), "{stderr}");
        let back: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
        for (value, read) in values.iter().zip(&back) {
            assert_eq!(value, read, "printed as:\n{}", print(value));
        }
        assert_eq!(back.len(), values.len());
    }

    #[test]
    fn keys_too_long_for_an_implicit_key_are_explicit() {
        let key = "k".repeat(1500);
        let value = json!({ key.clone(): {"a": 1}, "list": [{ key: "v" }] });
        let printed = print(&value);
        assert_eq!(documents(&printed).unwrap(), vec![value], "{printed}");
    }

    #[test]
    fn skips_empty_documents() {
        let docs = documents("---\n# only a comment\n---\nkind: A\n---\n").unwrap();
        assert_eq!(docs, vec![json!({"kind": "A"})]);
    }
}
