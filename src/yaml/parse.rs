//! The positioned parser: saphyr's marked nodes converted into the owned tree of
//! [`super::node`], with byte ranges computed from saphyr's character columns.

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};

use super::node::{Kind, Node, Pos, SyntaxError};

/// Byte offsets of line starts, to turn (line, character column) into bytes.
struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self { text, starts }
    }

    /// Byte offset of 1-based `line`, 0-based character `column`.
    fn offset(&self, line: usize, column: usize) -> usize {
        let Some(&start) = self.starts.get(line.saturating_sub(1)) else {
            return self.text.len();
        };
        let rest = &self.text[start..];
        rest.char_indices()
            .nth(column)
            .map_or(self.text.len(), |(i, _)| start + i)
    }

    fn pos(&self, span: saphyr_parser::Span) -> Pos {
        let start = self.offset(span.start.line(), span.start.col());
        let end = self.offset(span.end.line(), span.end.col()).max(start);
        Pos {
            line: span.start.line(),
            column: span.start.col() + 1,
            start,
            end,
        }
    }
}

/// Parse every document of a YAML file.
pub fn load(text: &str) -> Result<Vec<Node>, SyntaxError> {
    let lines = Lines::new(text);
    match MarkedYaml::load_from_str(text) {
        Ok(docs) => Ok(docs.iter().map(|d| convert(d, &lines, 0)).collect()),
        Err(e) => {
            let m = e.marker();
            let start = lines.offset(m.line(), m.col());
            Err(SyntaxError {
                message: e.info().to_owned(),
                pos: Pos {
                    line: m.line(),
                    column: m.col() + 1,
                    start,
                    end: start,
                },
            })
        }
    }
}

/// Nodes nested deeper than this are cut off (nobody writes such manifests; it keeps
/// hostile input from exhausting the stack).
const MAX_DEPTH: usize = 256;

fn convert(y: &MarkedYaml<'_>, lines: &Lines<'_>, depth: usize) -> Node {
    let pos = lines.pos(y.span);
    if depth > MAX_DEPTH {
        return Node {
            pos,
            kind: Kind::Null,
        };
    }
    let kind = match &y.data {
        YamlData::Value(Scalar::String(s)) | YamlData::Representation(s, _, _) => Kind::Str(s.to_string()),
        YamlData::Value(Scalar::Boolean(b)) => Kind::Bool(*b),
        YamlData::Value(Scalar::Integer(i)) => Kind::Int(*i),
        YamlData::Value(Scalar::FloatingPoint(f)) => Kind::Float(f.into_inner()),
        YamlData::Sequence(items) => Kind::Seq(items.iter().map(|i| convert(i, lines, depth + 1)).collect()),
        YamlData::Mapping(map) => Kind::Map(
            map.iter()
                .map(|(k, v)| (convert(k, lines, depth + 1), convert(v, lines, depth + 1)))
                .collect(),
        ),
        YamlData::Tagged(_, inner) => return convert(inner, lines, depth + 1),
        _ => Kind::Null,
    };
    Node { pos, kind }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
