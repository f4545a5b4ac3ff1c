//! The positioned parser: saphyr-parser's events built straight into the owned tree
//! of [`super::node`] by a [`Builder`] that keeps the rules of saphyr's loader, with
//! byte ranges computed from saphyr's character offsets.
//!
//! The parser's events pass through a [`Guard`] before the builder sees them, so that hostile input is a syntax error rather than a crash: nesting is
//! limited to [`MAX_DEPTH`] collections (aliases count with the depth of what they
//! name), an alias may not name a node it is inside, and anchors are per document.
//! Characters YAML does not allow in a stream (control characters but tab, LF and
//! CR) are a syntax error at their position, as they are for kubectl.

use std::collections::HashMap;
#[cfg(test)]
use std::path::Path;

#[cfg(test)]
use saphyr::{MarkedYaml, Scalar, YamlData, YamlLoader};
#[cfg(test)]
use saphyr_parser::SpannedEventReceiver as _;
use saphyr_parser::{BufferedInput, Event, Marker, Parser, ScanError};

use super::build::Builder;
#[cfg(test)]
use super::node::Kind;
use super::node::{Node, Pos, SyntaxError};

/// Collections nested deeper than this are a syntax error. Kubernetes objects
/// nest a few dozen levels at most; the bound keeps every recursive walk over a
/// tree (conversion, rules, printing, dropping) far from the end of the stack. It
/// is also the flow-nesting limit of saphyr's scanner, so `[[[…` and block
/// nesting stop at the same depth.
pub(crate) const MAX_DEPTH: usize = 255;

/// saphyr's scanner's message when flow collections nest past its own limit.
const SCANNER_DEPTH: &str = "recursion limit exceeded";

/// Byte offsets of characters, to turn saphyr's character offsets into bytes.
pub(super) struct Offsets<'a> {
    text: &'a str,
    /// Byte offset of every [`STRIDE`]th character (empty for ASCII text, where
    /// characters are bytes).
    every: Vec<usize>,
}

const STRIDE: usize = 64;

impl<'a> Offsets<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        let every = if text.is_ascii() {
            Vec::new()
        } else {
            text.char_indices().step_by(STRIDE).map(|(i, _)| i).collect()
        };
        Self { text, every }
    }

    /// Byte offset of the character at `index` (the text's end past its last).
    pub(super) fn byte(&self, index: usize) -> usize {
        if self.every.is_empty() {
            return index.min(self.text.len());
        }
        let Some(&from) = self.every.get(index / STRIDE) else {
            return self.text.len();
        };
        self.text[from..]
            .char_indices()
            .nth(index % STRIDE)
            .map_or(self.text.len(), |(i, _)| from + i)
    }

    pub(super) fn at(&self, mark: Marker) -> Pos {
        let start = self.byte(mark.index());
        Pos {
            line: mark.line(),
            column: mark.col() + 1,
            start,
            end: start,
        }
    }

    pub(super) fn pos(&self, span: saphyr_parser::Span) -> Pos {
        let start = self.at(span.start);
        let end = self.byte(span.end.index()).max(start.start);
        Pos { end, ..start }
    }

    fn error(&self, e: &ScanError) -> SyntaxError {
        let message = if e.info() == SCANNER_DEPTH {
            too_deep()
        } else {
            e.info().to_owned()
        };
        SyntaxError {
            message,
            pos: self.at(*e.marker()),
        }
    }
}

fn too_deep() -> String {
    format!("nesting deeper than {MAX_DEPTH} levels")
}

/// The first character YAML does not allow in a stream, with its byte offset.
fn forbidden_char(text: &str) -> Option<(usize, char)> {
    text.char_indices().find(|&(_, c)| {
        (c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\u{85}'))
            || matches!(c, '\u{FFFE}' | '\u{FFFF}')
    })
}

/// A syntax error at a byte offset, with its line and character column.
fn error_at(text: &str, at: usize, message: String) -> SyntaxError {
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    SyntaxError {
        message,
        pos: Pos {
            line: text[..at].matches('\n').count() + 1,
            column: text[line_start..at].chars().count() + 1,
            start: at,
            end: at,
        },
    }
}

/// What the events seen so far hold open, to check each new one against the limits.
#[derive(Default)]
struct Guard {
    /// The open collections: their anchor id (0 for none) and the height of the
    /// tallest node they hold so far (a scalar is 0, a collection 1 more than its
    /// tallest child).
    open: Vec<(usize, usize)>,
    /// The height of every anchored node of the current document.
    anchors: HashMap<usize, usize>,
}

impl Guard {
    fn check(&mut self, event: &Event<'_>) -> Result<(), String> {
        match event {
            Event::DocumentStart(_) => self.anchors.clear(),
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if self.open.len() >= MAX_DEPTH {
                    return Err(too_deep());
                }
                self.open.push((*anchor, 0));
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((anchor, tallest)) = self.open.pop() {
                    self.close(anchor, tallest + 1);
                }
            }
            Event::Scalar(_, _, anchor, _) => self.close(*anchor, 0),
            Event::Alias(id) => {
                if self.open.iter().any(|(anchor, _)| anchor == id) {
                    return Err("alias to a node that contains it".into());
                }
                // An anchor of an earlier document (saphyr's parser keeps them).
                let Some(&height) = self.anchors.get(id) else {
                    return Err("while parsing node, found unknown anchor".into());
                };
                if self.open.len() + height > MAX_DEPTH {
                    return Err(too_deep());
                }
                self.close(0, height);
            }
            _ => {}
        }
        Ok(())
    }

    /// A node of `height` is complete.
    fn close(&mut self, anchor: usize, height: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, height);
        }
        if let Some((_, tallest)) = self.open.last_mut() {
            *tallest = (*tallest).max(height);
        }
    }
}

/// Parse every document of a YAML file.
pub fn load(text: &str) -> Result<Vec<Node>, SyntaxError> {
    let offsets = Offsets::new(text);
    let mut builder = Builder::new(&offsets);
    guarded_events(text, &offsets, |event, span| builder.on_event(event, span))?;
    Ok(builder.docs)
}

/// Feed the parser's events of `text` to `each`, once the [`Guard`] has let each
/// through; characters YAML does not allow are an error before any event.
fn guarded_events<'t>(
    text: &'t str,
    offsets: &Offsets<'_>,
    mut each: impl FnMut(Event<'t>, saphyr_parser::Span) -> Result<(), SyntaxError>,
) -> Result<(), SyntaxError> {
    if let Some((at, c)) = forbidden_char(text) {
        let message = format!("control character U+{:04X} is not allowed in YAML", u32::from(c));
        return Err(error_at(text, at, message));
    }
    let mut guard = Guard::default();
    for event in Parser::new(BufferedInput::new(text.chars())) {
        let (event, span) = event.map_err(|e| offsets.error(&e))?;
        if let Err(message) = guard.check(&event) {
            return Err(SyntaxError {
                message,
                pos: offsets.at(span.start),
            });
        }
        each(event, span)?;
    }
    Ok(())
}

/// [`load`] as it was done before [`Builder`]: saphyr's loader, then its tree
/// converted. The oracle of the differential test.
#[cfg(test)]
pub(crate) fn load_by_saphyr(text: &str) -> Result<Vec<Node>, SyntaxError> {
    let offsets = Offsets::new(text);
    let mut loader = YamlLoader::<MarkedYaml<'_>>::default();
    guarded_events(text, &offsets, |event, span| {
        loader.on_event(event, span);
        loader.error().map_or(Ok(()), |e| Err(offsets.error(e)))
    })?;
    Ok(loader
        .into_documents()
        .iter()
        .map(|d| convert(d, &offsets))
        .collect())
}

/// Parse a file's bytes. Bytes that are not UTF-8 are a syntax error at the first
/// of them; the text returned then has them replaced (for showing the file).
pub fn load_bytes(bytes: Vec<u8>) -> (String, Result<Vec<Node>, SyntaxError>) {
    match String::from_utf8(bytes) {
        Ok(text) => {
            let docs = load(&text);
            (text, docs)
        }
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let message = format!(
                "not UTF-8 text: byte 0x{:02X} cannot start a character here",
                e.as_bytes()[at]
            );
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let error = error_at(&text, at, message);
            (text, Err(error))
        }
    }
}

/// The owned tree of a document; [`Guard`] has bounded its depth.
#[cfg(test)]
fn convert(y: &MarkedYaml<'_>, offsets: &Offsets<'_>) -> Node {
    let pos = offsets.pos(y.span);
    let kind = match &y.data {
        YamlData::Value(Scalar::String(s)) | YamlData::Representation(s, _, _) => Kind::Str(s.to_string()),
        YamlData::Value(Scalar::Boolean(b)) => Kind::Bool(*b),
        YamlData::Value(Scalar::Integer(i)) => Kind::Int(*i),
        YamlData::Value(Scalar::FloatingPoint(f)) => Kind::Float(f.into_inner()),
        YamlData::Sequence(items) => Kind::Seq(items.iter().map(|i| convert(i, offsets)).collect()),
        YamlData::Mapping(map) => Kind::Map(
            map.iter()
                .map(|(k, v)| (convert(k, offsets), convert(v, offsets)))
                .collect(),
        ),
        YamlData::Tagged(_, inner) => return convert(inner, offsets),
        _ => Kind::Null,
    };
    Node { pos, kind }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write as _;

    /// Whether the builder's tree is the one of saphyr's loader, converted. One
    /// difference is wanted: saphyr gives a scalar with a tag outside the core schema
    /// no position (line 0), the builder gives it its own.
    #[allow(clippy::float_cmp)]
    fn same_tree(ours: &Node, theirs: &Node) -> bool {
        let pos = ours.pos == theirs.pos || theirs.pos.line == 0;
        pos && match (&ours.kind, &theirs.kind) {
            (Kind::Seq(a), Kind::Seq(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same_tree(a, b))
            }
            (Kind::Map(a), Kind::Map(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .zip(b)
                        .all(|((ka, va), (kb, vb))| same_tree(ka, kb) && same_tree(va, vb))
            }
            (Kind::Float(a), Kind::Float(b)) => a == b || (a.is_nan() && b.is_nan()),
            (a, b) => a == b,
        }
    }

    fn differential(name: &str, text: &str) {
        match (load(text), load_by_saphyr(text)) {
            (Ok(ours), Ok(theirs)) => assert!(
                ours.len() == theirs.len() && ours.iter().zip(&theirs).all(|(a, b)| same_tree(a, b)),
                "{name}: trees differ\nours:   {ours:?}\ntheirs: {theirs:?}"
            ),
            (Err(ours), Err(theirs)) => assert_eq!(ours, theirs, "{name}"),
            (ours, theirs) => panic!("{name}: {ours:?} against {theirs:?}"),
        }
    }

    /// YAML that exercises what the loader decides: scalars of the core schema,
    /// tags, anchors and aliases, duplicate keys, documents.
    const CASES: &[&str] = &[
        "",
        "---\n",
        "--- 1\n--- a\n---\n...\n",
        "a: 1\nb: 1.5\nc: .inf\nd: -.Inf\ne: .nan\nf: 0x1F\ng: 0o17\nh: true\ni: False\nj: ~\nk: null\nl:\nm: ''\nn: '1'\n",
        "a: !!str 1\nb: !!int 12\nc: !!int x\nd: !!float 1\ne: !!bool yes\nf: !!null ~\ng: !!null x\nh: !!binary aGk=\n",
        "a: !custom 1\nb: !custom\nc: !custom [1, 2]\nd: !!map {x: 1}\ne: !!seq [1]\n",
        "a: &x {b: [1, 2, {c: 3}]}\nd: *x\ne: &y 5\nf: *y\ng: [*x, *y]\n",
        "a: 1\na: 2\n",
        "a: 1\n'a': 2\n",
        "1: a\n'1': b\n1.0: c\n",
        "~: a\nnull: b\n",
        "!t a: 1\na: 2\n",
        "!t a: 1\n!u a: 2\n",
        "? [1, 2]\n: a\n? [1, 2]\n: b\n",
        "? {a: 1}\n: x\n? {a: 2}\n: y\n",
        ".nan: a\n.NaN: b\n",
        "0.0: a\n-0.0: b\n",
        "a: |\n  line\n  two\nb: >\n  folded\n  text\nc: \"q\\u00e9\"\n",
        "- - - 1\n    - 2\n  - 3\n- {a: b, c: [d, e]}\n",
        "key: &a value\nother: *a\n*a : k\n",
        "é: \"ü\"\nlist: [\"é\", 'ß', plain ü]\n",
        "a: 1\n---\na: 1\n---\n- x\n",
        "a: [1, 2\n",
        "a: *missing\n",
    ];

    /// Random text from YAML's pieces (hostile more often than not), through both
    /// paths. Core tags that may reject a value are left out: what saphyr's loader does
    /// with such a key is the one difference kept on purpose (see below).
    #[test]
    fn the_builder_agrees_with_saphyrs_loader_on_random_text() {
        const PIECES: &[&str] = &[
            "a", "b", ":", ": ", " ", "\n", "- ", "[", "]", "{", "}", ", ", "&x ", "&y ", "*x", "*y", "!t ",
            "!!str ", "'q'", "\"d\"", "1", "1.5", "~", "null", "? ", "---\n", "...\n", "  ", "    ", "#c",
            "|\n", ">\n", "é", "true", "0x1f", ".nan", "-", "\t",
        ];
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut agreed_ok = 0;
        for case in 0..20_000 {
            let len = 1 + next() % 24;
            let text: String = (0..len)
                .map(|_| PIECES[usize::try_from(next() % PIECES.len() as u64).unwrap()])
                .collect();
            differential(&format!("random case {case}: {text:?}"), &text);
            agreed_ok += usize::from(load(&text).is_ok());
        }
        // Not only errors: a good share of the texts parse.
        assert!(agreed_ok > 2_000, "{agreed_ok} of 20,000 parsed");
    }

    #[test]
    fn the_builder_builds_the_tree_of_saphyrs_loader() {
        for (i, text) in CASES.iter().enumerate() {
            differential(&format!("case {i}: {text:?}"), text);
        }
        // The second difference: saphyr's loader takes a key its tag rejects for no key
        // at all, and the value after it for the key (`!!int x: a` then `~: b` is
        // `a: ~`); the builder keeps the entries as written, the key null.
        let docs = load("!!int x: a\n~: b\n").unwrap();
        let entries = docs[0].entries();
        assert_eq!(entries.len(), 2);
        assert_eq!(
            (&entries[0].0.kind, entries[0].1.as_str()),
            (&Kind::Null, Some("a"))
        );
        assert_eq!(
            (&entries[1].0.kind, entries[1].1.as_str()),
            (&Kind::Null, Some("b"))
        );
        assert!(
            load("!!int x: a\n!!int x: b\n").is_err(),
            "the same rejected key twice"
        );
        // Large mappings (duplicates found by hash), with and without a repeat.
        let mut big = (0..200).fold(String::new(), |mut s, i| {
            let _ = writeln!(s, "k{i}: {i}");
            s
        });
        differential("200 keys", &big);
        big.push_str("k17: again\n");
        differential("200 keys and a repeat", &big);
        let keys = (0..100).fold(String::new(), |mut s, i| {
            let _ = write!(s, "{i}: a\n'{i}': b\n");
            s
        });
        differential("ints and strings", &keys);
        // Every YAML file of the repository's fixtures and examples; and a directory
        // of your own with `OPS_YAML_CORPUS` (clones of real repositories, say).
        let mut dirs = vec![
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests"),
            Path::new(env!("CARGO_MANIFEST_DIR")).join("examples"),
        ];
        dirs.extend(std::env::var_os("OPS_YAML_CORPUS").map(std::path::PathBuf::from));
        let mut files = 0;
        while let Some(dir) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() && !path.is_symlink() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml")
                    && let Ok(text) = std::fs::read_to_string(&path)
                {
                    differential(&path.display().to_string(), &text);
                    files += 1;
                }
            }
        }
        assert!(files > 50, "only {files} files");
    }

    #[test]
    fn positions_point_at_values_including_quotes_and_crlf() {
        let text = "a: 1\r\nspec:\r\n  image: \"nginx:latest\"\r\n";
        let docs = load(text).unwrap();
        let image = docs[0].path("spec.image").unwrap();
        assert_eq!(image.as_str(), Some("nginx:latest"));
        assert_eq!((image.pos.line, image.pos.column), (3, 10));
        assert_eq!(&text[image.pos.start..image.pos.end], "\"nginx:latest\"");
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let err = load("a: [1\nb: 2\n").unwrap_err();
        assert_eq!(err.pos.line, 2);
    }

    #[test]
    fn multi_byte_characters_before_a_value() {
        let text = "name: \"é\"\nimage: app:1\n";
        let docs = load(text).unwrap();
        let image = docs[0].get("image").unwrap();
        assert_eq!(&text[image.pos.start..image.pos.end], "app:1");
    }

    /// The message and (line, column) of the syntax error of `text`.
    fn error(text: &str) -> (String, usize, usize) {
        let e = load(text).unwrap_err();
        assert_eq!(
            &text[e.pos.start..e.pos.start],
            "",
            "a byte offset inside the text"
        );
        (e.message, e.pos.line, e.pos.column)
    }

    #[test]
    fn nesting_is_limited_in_block_and_flow_style() {
        let deep = format!("nesting deeper than {MAX_DEPTH} levels");
        let ok = format!("{}1\n", "- ".repeat(MAX_DEPTH));
        assert!(load(&ok).is_ok());
        // Block sequences on one line: the limit is passed at the next dash.
        let text = format!("{}1\n", "- ".repeat(20_000));
        assert_eq!(error(&text), (deep.clone(), 1, 2 * MAX_DEPTH + 1));
        // Block mappings, one level per line.
        let text = (0..300).fold(String::new(), |text, i| text + &" ".repeat(i) + "k:\n");
        assert_eq!(error(&text), (deep.clone(), MAX_DEPTH + 1, MAX_DEPTH + 1));
        // Flow sequences and mappings.
        let text = format!("{}{}\n", "[".repeat(20_000), "]".repeat(20_000));
        assert_eq!(error(&text), (deep.clone(), 1, MAX_DEPTH + 1));
        let text = format!("{}1{}\n", "{a: ".repeat(20_000), "}".repeat(20_000));
        assert_eq!(error(&text).0, deep);
    }

    #[test]
    fn aliases_count_with_the_depth_of_their_anchor() {
        // An anchor `half` levels deep, used under enough levels to pass the limit
        // or just not.
        let half = MAX_DEPTH / 2;
        let anchor = format!("a: &x {}1{}\n", "[".repeat(half), "]".repeat(half));
        let used = |levels: usize| format!("{anchor}b: {}*x{}\n", "[".repeat(levels), "]".repeat(levels));
        let fits = used(MAX_DEPTH - half - 1);
        assert!(load(&fits).is_ok());
        let deeper = used(MAX_DEPTH - half);
        let (message, line, column) = error(&deeper);
        assert_eq!(
            (message, line, column),
            (
                format!("nesting deeper than {MAX_DEPTH} levels"),
                2,
                4 + MAX_DEPTH - half
            )
        );
    }

    #[test]
    fn an_alias_inside_its_own_anchor_is_an_error() {
        assert_eq!(
            error("a: &x [*x]\n"),
            ("alias to a node that contains it".into(), 1, 8)
        );
        assert_eq!(error("a: &x\n  b: *x\n").1, 2);
        // An anchor after its node is closed is fine, as is reusing a name.
        assert!(load("a: &x [1]\nb: *x\nc: &x 2\nd: *x\n").is_ok());
    }

    #[test]
    fn anchors_do_not_cross_documents() {
        assert_eq!(
            error("a: &x 1\n---\nb: *x\n"),
            ("while parsing node, found unknown anchor".into(), 3, 4)
        );
    }

    #[test]
    fn a_billion_laughs_is_an_error() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for (i, name) in ('b'..='j').enumerate() {
            let prev = char::from(b'a' + u8::try_from(i).unwrap());
            let items = vec![format!("*{prev}"); 10].join(", ");
            let _ = writeln!(text, "{name}: &{name} [{items}]");
        }
        assert!(error(&text).0.contains("alias expansion"), "{text}");
    }

    #[test]
    fn control_characters_are_errors_at_their_position() {
        assert_eq!(
            error("a: 1\nb: x\u{0}y\n"),
            ("control character U+0000 is not allowed in YAML".into(), 2, 5)
        );
        assert_eq!(error("é: \u{1b}[0m\n").1, 1);
        assert_eq!(error("é: \u{1b}[0m\n").2, 4);
        // Tabs, CR and a byte-order mark are allowed.
        let text = "\u{feff}a: 1\r\nb: \"\t\"\n";
        let docs = load(text).unwrap();
        let b = docs[0].get("b").unwrap();
        assert_eq!(b.as_str(), Some("\t"));
        assert_eq!(&text[b.pos.start..b.pos.end], "\"\t\"");
    }

    #[test]
    fn positions_on_a_long_line_of_multi_byte_characters() {
        let text = format!("[{}]\n", ["\"é\""; 1000].join(", "));
        let docs = load(&text).unwrap();
        for item in docs[0].as_seq() {
            assert_eq!(&text[item.pos.start..item.pos.end], "\"é\"");
        }
    }

    #[test]
    fn bytes_that_are_not_utf8_are_an_error_at_the_first() {
        let (text, docs) = load_bytes(b"a: 1\nb: \xc3\xa9\xff\n".to_vec());
        let e = docs.unwrap_err();
        assert_eq!((e.pos.line, e.pos.column, e.pos.start), (2, 5, 10));
        assert!(e.message.contains("0xFF"), "{}", e.message);
        assert!(text.ends_with("é\u{fffd}\n"));
    }
}
