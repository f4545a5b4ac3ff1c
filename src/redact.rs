//! Secret values, replaced by `***` in everything `ops` writes: task output, failure
//! reasons, JSON events, the run journal and saved plans.
//!
//! Every secret of a run is matched at once, overlapping matches included, and the
//! union of what they cover is masked: secrets that overlap or contain each other
//! never leave part of one visible. A multi-line
//! secret is also matched line by line (output reaches the reporters in lines).
//! Secrets shorter than [`MIN_LEN`] bytes are refused where they are read: they
//! could not be told apart from ordinary output.

use std::borrow::Cow;
use std::sync::RwLock;

use aho_corasick::AhoCorasick;

/// The shortest secret `ops` accepts.
pub(crate) const MIN_LEN: usize = 4;

const MASK: &str = "***";

/// The secret values seen so far in a run.
#[derive(Debug, Default)]
pub(crate) struct Redactor {
    inner: RwLock<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    values: Vec<String>,
    matcher: Option<AhoCorasick>,
}

/// A secret too short to redact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooShort {
    pub(crate) len: usize,
}

impl Redactor {
    /// Remember a secret value (and each of its lines, for multi-line secrets).
    pub(crate) fn add(&self, value: &str) -> Result<(), TooShort> {
        let trimmed = value.trim();
        if trimmed.len() < MIN_LEN {
            return Err(TooShort { len: trimmed.len() });
        }
        let Ok(mut inner) = self.inner.write() else {
            return Ok(());
        };
        let before = inner.values.len();
        for candidate in std::iter::once(trimmed).chain(value.lines().map(str::trim)) {
            if candidate.len() >= MIN_LEN && !inner.values.iter().any(|v| v == candidate) {
                inner.values.push(candidate.to_owned());
            }
        }
        if inner.values.len() != before {
            inner.matcher = AhoCorasick::new(&inner.values).ok();
        }
        Ok(())
    }

    /// No secret was read (the common case: nothing to do).
    pub(crate) fn is_empty(&self) -> bool {
        self.inner.read().is_ok_and(|inner| inner.values.is_empty())
    }

    /// The length of the longest secret, in bytes (0 without secrets).
    pub(crate) fn longest(&self) -> usize {
        self.inner
            .read()
            .map_or(0, |inner| inner.values.iter().map(String::len).max().unwrap_or(0))
    }

    pub(crate) fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let covered = self.covered(text.as_bytes());
        if covered.is_empty() {
            return Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for (start, end) in covered {
            // Secrets are whole strings, so the ends fall on character boundaries.
            out.push_str(&text[last..start]);
            out.push_str(MASK);
            last = end;
        }
        out.push_str(&text[last..]);
        Cow::Owned(out)
    }

    /// The byte ranges any secret covers, overlapping matches merged, in order.
    fn covered(&self, haystack: &[u8]) -> Vec<(usize, usize)> {
        let Ok(inner) = self.inner.read() else {
            return Vec::new();
        };
        let Some(matcher) = &inner.matcher else {
            return Vec::new();
        };
        let mut found: Vec<(usize, usize)> = matcher
            .find_overlapping_iter(haystack)
            .map(|m| (m.start(), m.end()))
            .collect();
        found.sort_unstable();
        let mut ranges: Vec<(usize, usize)> = Vec::new();
        for m in found {
            match ranges.last_mut() {
                Some(last) if m.0 <= last.1 => last.1 = last.1.max(m.1),
                _ => ranges.push(m),
            }
        }
        ranges
    }

    /// Whether `text` holds a secret.
    pub(crate) fn reveals(&self, text: &str) -> bool {
        self.inner
            .read()
            .is_ok_and(|inner| inner.matcher.as_ref().is_some_and(|m| m.is_match(text)))
    }

    /// Where to cut `bytes` near `at` (a line too long to keep whole) so that no
    /// secret is split between the two pieces: `at`, or the end of a secret around it.
    pub(crate) fn cut_at(&self, bytes: &[u8], at: usize) -> usize {
        self.covered(bytes)
            .into_iter()
            .find(|&(start, end)| start < at && at < end)
            .map_or(at, |(_, end)| end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_every_occurrence_longest_first() {
        let r = Redactor::default();
        r.add("hunter2").unwrap();
        r.add("hunter2-admin").unwrap();
        assert_eq!(r.redact("pw=hunter2-admin and hunter2"), "pw=*** and ***");
    }

    #[test]
    fn overlapping_secrets_leave_nothing_visible() {
        let r = Redactor::default();
        r.add("abcdef").unwrap();
        r.add("defghi").unwrap();
        assert_eq!(r.redact("xabcdefghiy"), "x***y");
        assert_eq!(r.redact("defghi abcdef"), "*** ***");
    }

    #[test]
    fn multi_line_secrets_are_redacted_line_by_line() {
        let r = Redactor::default();
        r.add("-----BEGIN KEY-----\nMIIEvQIBADANBg\n-----END KEY-----\n")
            .unwrap();
        assert_eq!(r.redact("line: MIIEvQIBADANBg"), "line: ***");
    }

    #[test]
    fn short_secrets_are_refused() {
        let r = Redactor::default();
        assert_eq!(r.add("ab"), Err(TooShort { len: 2 }));
        assert!(r.is_empty());
        assert!(r.add("abcd").is_ok());
    }

    #[test]
    fn a_cut_never_splits_a_secret() {
        let r = Redactor::default();
        r.add("s3cr3t-value").unwrap();
        let bytes = b"a s3cr3t-value b";
        assert_eq!(r.cut_at(bytes, 1), 1);
        assert_eq!(r.cut_at(bytes, 5), 14, "after the secret");
        assert_eq!(r.cut_at(bytes, 14), 14);
    }
}
