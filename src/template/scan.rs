//! Finding `{{ … }}` placeholders: a name (`{{ matrix.container }}`,
//! `{{ tasks.build[redis,7.4.2].out }}`) or a quoted literal (`{{ "{{ x }}" }}`).
//!
//! Written by hand rather than with a regular expression with captures: loading ten
//! thousand tasks scans every string, and this is several times faster. The pattern
//! it follows is the test's `PATTERN`; the two agree on every string tried.

use std::ops::Range;

/// What stands between the braces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Inner<'a> {
    Name(&'a str),
    /// A quoted string, without its quotes.
    Literal(&'a str),
}

/// One placeholder: where it stands, `{{` to `}}`, and what it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Found<'a> {
    pub range: Range<usize>,
    pub inner: Inner<'a>,
}

/// Every placeholder of `input`, left to right, none overlapping.
pub(super) fn placeholders(input: &str) -> impl Iterator<Item = Found<'_>> {
    let mut from = 0;
    std::iter::from_fn(move || {
        while let Some(at) = input.get(from..)?.find("{{").map(|i| from + i) {
            if let Some(found) = placeholder_at(input, at) {
                from = found.range.end;
                return Some(found);
            }
            from = at + 1;
        }
        None
    })
}

/// The placeholder that starts at `start` (where `{{` stands), if one does.
fn placeholder_at(input: &str, start: usize) -> Option<Found<'_>> {
    let after_braces = start + 2;
    let inner_start = skip_space(input, after_braces);
    let rest = &input[inner_start..];
    let first = rest.chars().next()?;
    let (inner, inner_end) = if matches!(first, '"' | '\'') {
        let close = rest[1..].find(first)? + 1;
        (Inner::Literal(&rest[1..close]), inner_start + close + 1)
    } else {
        let len = name_len(rest)?;
        (Inner::Name(&rest[..len]), inner_start + len)
    };
    let end = skip_space(input, inner_end);
    input[end..].starts_with("}}").then(|| Found {
        range: start..end + 2,
        inner,
    })
}

fn skip_space(input: &str, from: usize) -> usize {
    input[from..]
        .char_indices()
        .find(|(_, c)| !c.is_whitespace())
        .map_or(input.len(), |(i, _)| from + i)
}

/// The length of the name at the start of `s`: a first segment (`[A-Za-z_]`, then
/// `[A-Za-z0-9_-]`), then `.`-separated segments of `[A-Za-z0-9_:,-]` and bracketed
/// parts (`[authentik,7.4.2]`: anything but brackets, braces, quotes and spaces).
fn name_len(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    if !bytes
        .first()
        .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
    {
        return None;
    }
    let mut i = 1;
    while bytes
        .get(i)
        .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
    {
        i += 1;
    }
    // Each `.SEGMENT`; a `.` not followed by a segment ends the name before it.
    while bytes.get(i) == Some(&b'.') {
        let Some(len) = segment_len(&s[i + 1..]) else {
            break;
        };
        i += 1 + len;
    }
    Some(i)
}

fn segment_len(s: &str) -> Option<usize> {
    let mut i = 0;
    loop {
        match s[i..].chars().next() {
            Some(c) if c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | ',' | '-') => i += 1,
            Some('[') => {
                let body = &s[i + 1..];
                let stop = body
                    .find(|c: char| matches!(c, '[' | ']' | '{' | '}' | '\'' | '"') || c.is_whitespace())
                    .unwrap_or(body.len());
                if !body[stop..].starts_with(']') {
                    break;
                }
                i += stop + 2;
            }
            _ => break,
        }
    }
    (i > 0).then_some(i)
}

#[cfg(test)]
mod tests {
    use regex::Regex;

    use super::*;

    /// The pattern the scanner follows: a name (group 1), or a quoted literal (group 2 or 3).
    const PATTERN: &str = r#"\{\{\s*(?:([A-Za-z_][A-Za-z0-9_-]*(?:\.(?:[A-Za-z0-9_:,-]|\[[^\[\]\s{}'"]*\])+)*)|"([^"]*)"|'([^']*)')\s*\}\}"#;

    static COMPILED: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| Regex::new(PATTERN).unwrap());

    fn by_pattern(input: &str) -> Vec<Found<'_>> {
        COMPILED
            .captures_iter(input)
            .map(|caps| Found {
                range: caps.get(0).unwrap().range(),
                inner: match caps.get(1) {
                    Some(name) => Inner::Name(name.as_str()),
                    None => Inner::Literal(caps.get(2).or_else(|| caps.get(3)).unwrap().as_str()),
                },
            })
            .collect()
    }

    #[test]
    fn agrees_with_the_pattern() {
        let cases = [
            "",
            "plain",
            "{{ a }}",
            "{{a}}",
            "{{ a.b.c }}",
            "{{ tasks.build[redis,7.4.2].out }}",
            "{{ tasks.build[a b].out }}",
            "{{ tasks.build[a.out }}",
            "{{ tasks.b[x]y[z].out }}",
            "{{ a. }}",
            "{{ a.. }}",
            "{{.status.phase}}",
            "{{ {{ a }}",
            "{{{ a }}}",
            "x{{ \"{{ .Values.x }}\" }}y",
            "{{ 'it''s' }}",
            "{{ \"unclosed }}",
            "{{ 9a }}",
            "{{ matrix.container }}-{{ matrix.version }}",
            "{{\u{a0}a\u{2003}}}",
            "é{{ é }}{{ a }}",
            "{{ a }",
            "{{ a-b_c }}",
            "{{ ns:task }}",
            "{{ tasks.ns:task.stdout }}",
            "{{ a.[x] }}",
            "{{ a.[x]] }}",
            "{{ a.b[}}",
            "{{",
            "}}{{",
        ];
        for case in cases {
            assert_eq!(
                placeholders(case).collect::<Vec<_>>(),
                by_pattern(case),
                "{case:?}"
            );
        }
    }

    /// Every short string over the characters that matter agrees.
    #[test]
    fn agrees_on_every_short_string() {
        let alphabet: Vec<char> = "{} a.[]\"'x9-".chars().collect();
        let mut tried = 0;
        for len in 0..=5u32 {
            let count = alphabet.len().pow(len);
            for mut n in 0..count {
                let mut s = String::new();
                for _ in 0..len {
                    s.push(alphabet[n % alphabet.len()]);
                    n /= alphabet.len();
                }
                let s = format!("{{{{{s}}}}}");
                assert_eq!(placeholders(&s).collect::<Vec<_>>(), by_pattern(&s), "{s:?}");
                tried += 1;
            }
        }
        assert!(tried > 200_000, "{tried}");
    }
}
