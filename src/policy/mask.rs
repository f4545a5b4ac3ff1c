//! A Secret's values are never shown: not in the source lines under a finding, not
//! in a finding's message, in any output format. The values of `data` and
//! `stringData` of every `kind: Secret` are masked, byte for byte (so positions
//! stay right); in a file that does not parse, the lines indented under a `data:`
//! or `stringData:` line of a file that says `kind: Secret` are.

use std::ops::Range;

use super::finding::Finding;
use super::repo::ManifestFile;
use crate::yaml::Node;

/// The byte ranges of the Secret values in a file.
pub(crate) fn secret_ranges(file: &ManifestFile) -> Vec<Range<usize>> {
    match &file.docs {
        Ok(docs) => {
            let mut ranges = Vec::new();
            for doc in docs {
                if doc.get("kind").and_then(Node::as_str) != Some("Secret") {
                    continue;
                }
                for key in ["data", "stringData"] {
                    if let Some(values) = doc.get(key) {
                        leaves(values, &mut ranges);
                    }
                }
            }
            ranges
        }
        Err(_) => unparsed_ranges(file.source.text()),
    }
}

/// Every value under `node` (a Secret's `data` is a flat map; anything nested is masked whole).
fn leaves(node: &Node, out: &mut Vec<Range<usize>>) {
    match node.entries() {
        [] if node.as_seq().is_empty() => {
            if node.pos.end > node.pos.start {
                out.push(node.pos.start..node.pos.end);
            }
        }
        [] => node.as_seq().iter().for_each(|n| leaves(n, out)),
        entries => entries.iter().for_each(|(_, v)| leaves(v, out)),
    }
}

/// For text that is not YAML: what follows `key:` on the lines indented under a
/// `data:`/`stringData:` line, and a value on that line itself (`data: {…}`).
fn unparsed_ranges(text: &str) -> Vec<Range<usize>> {
    if !text.contains("Secret") {
        return Vec::new();
    }
    let mut ranges = Vec::new();
    let mut under: Option<usize> = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let indent = body.len() - body.trim_start().len();
        let trimmed = body.trim_start();
        if let Some(level) = under {
            if trimmed.is_empty() || trimmed.starts_with('#') {
                offset += line.len();
                continue;
            }
            if indent > level {
                let from = body.find(": ").map_or(indent, |i| i + 2);
                ranges.push(offset + from..offset + body.len());
                offset += line.len();
                continue;
            }
            under = None;
        }
        for key in ["data:", "stringData:"] {
            if let Some(rest) = trimmed.strip_prefix(key) {
                under = Some(indent);
                let value = rest.trim();
                if !value.is_empty() && !value.starts_with('#') {
                    let from = offset + body.len() - rest.trim_start().len();
                    ranges.push(from..offset + body.len());
                }
            }
        }
        offset += line.len();
    }
    ranges
}

/// `text` with `ranges` replaced by `*`, byte for byte.
pub(crate) fn masked(text: &str, ranges: &[Range<usize>]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for r in ranges {
        let end = r.end.min(bytes.len());
        // The ranges hold whole characters: each byte becomes a `*`, but for line
        // breaks (a block scalar spans lines), which keep the lines where they are.
        for b in &mut bytes[r.start.min(end)..end] {
            if *b != b'\n' && *b != b'\r' {
                *b = b'*';
            }
        }
    }
    String::from_utf8(bytes).unwrap_or_else(|_| "*".repeat(text.len()))
}

/// A finding's message without the Secret values of its file: when it points into
/// a value, everything it quotes between backticks (a pattern's match is part of
/// the value); and any value of four bytes or more it quotes.
pub(crate) fn message(finding: &mut Finding, text: &str, ranges: &[Range<usize>]) {
    let start = finding.pos.start;
    let end = finding.pos.end.max(start + 1);
    if ranges.iter().any(|r| start < r.end && r.start < end) {
        finding.message = unquoted(&finding.message);
    }
    for r in ranges {
        let Some(value) = text.get(r.clone()) else {
            continue;
        };
        let value = value.trim_matches(['"', '\'']);
        let points_into = finding.pos.start < r.end && r.start < finding.pos.end.max(finding.pos.start + 1);
        if !value.is_empty() && (value.len() >= 4 || points_into) && finding.message.contains(value) {
            finding.message = finding.message.replace(value, "***");
        }
    }
}

/// `text` with every `` `…` `` replaced by `` `***` ``.
fn unquoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut parts = text.split('`');
    out.push_str(parts.next().unwrap_or_default());
    let rest: Vec<&str> = parts.collect();
    for (i, part) in rest.iter().enumerate() {
        if i % 2 == 0 && i + 1 < rest.len() {
            out.push_str("`***`");
        } else if i % 2 == 1 {
            out.push_str(part);
        } else {
            out.push('`');
            out.push_str(part);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_the_lines_under_data_in_a_file_that_does_not_parse() {
        let text =
            "kind: Secret\nstringData:\n  token: hunter2\n  # a comment\n  other: \"x y\"\nmetadata: [\n";
        let ranges = unparsed_ranges(text);
        let shown = masked(text, &ranges);
        assert!(!shown.contains("hunter2") && !shown.contains("x y"), "{shown}");
        assert!(
            shown.contains("token: *******") && shown.contains("metadata: ["),
            "{shown}"
        );
        assert_eq!(shown.len(), text.len());
    }

    #[test]
    fn quoted_parts_of_a_message_are_masked() {
        assert_eq!(unquoted("a leaked value: `hunter2`"), "a leaked value: `***`");
        assert_eq!(unquoted("`a` and `b`, then `c"), "`***` and `***`, then `c");
        assert_eq!(unquoted("none"), "none");
    }

    #[test]
    fn a_block_scalar_keeps_its_lines() {
        let text = "a: |\n  one\n  two\nb: 1\n";
        let value = 3..text.len() - 5;
        let shown = masked(text, std::slice::from_ref(&value));
        assert_eq!(shown.lines().count(), text.lines().count());
        assert!(shown.ends_with("b: 1\n") && !shown.contains("one"), "{shown}");
    }

    #[test]
    fn masks_an_inline_data_map() {
        let text = "kind: Secret\ndata: {a: aHVudGVy}\n";
        let shown = masked(text, &unparsed_ranges(text));
        assert!(!shown.contains("aHVudGVy"), "{shown}");
    }
}
