//! The source code miette shows under a finding, found in time proportional to
//! what is shown, not to the file: the line starts of a file are indexed once, and
//! miette is handed only the lines around the finding (its own lookup walks the
//! text from the start, which made the report quadratic in the findings of a
//! file). A finding on or next to a very long line (minified or generated YAML) is
//! shown in a window of its line, named with the real line and column.

use std::sync::Arc;

use miette::{MietteError, MietteSpanContents, NamedSource, SourceCode, SourceSpan, SpanContents};

use crate::diagnostic::SourceFile;
use crate::yaml::Pos;

/// Lines longer than this are cut around the finding.
const LONG_LINE: usize = 240;
/// How much of a long line is shown on each side of the finding, in bytes.
const WINDOW: usize = 60;

/// A file with the byte offsets of its lines, as miette counts lines (after `\n`,
/// after a `\r` not followed by `\n`).
pub(super) struct Indexed {
    name: String,
    text: Arc<str>,
    starts: Vec<usize>,
}

impl Indexed {
    pub(super) fn new(source: &SourceFile) -> Self {
        let text = Arc::clone(source.named().inner());
        let bytes = text.as_bytes();
        let mut starts = vec![0];
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
                starts.push(i + 1);
            }
        }
        Self {
            name: source.name().to_owned(),
            text,
            starts,
        }
    }

    /// The 0-based line holding byte `offset`.
    fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset).saturating_sub(1)
    }

    /// The byte range of 0-based `line`, without its line break.
    fn line_range(&self, line: usize) -> (usize, usize) {
        let start = self.starts[line];
        let end = self.starts.get(line + 1).map_or(self.text.len(), |&next| next);
        let text = &self.text[start..end];
        (start, start + text.trim_end_matches(['\n', '\r']).len())
    }

    /// What to show for a finding at `pos`: this file, or a window of a long line.
    pub(super) fn for_finding(self: &Arc<Self>, pos: Pos) -> (Shown, SourceSpan) {
        let start = pos.start.min(self.text.len());
        let end = pos.end.clamp(start, self.text.len());
        let line = self.line_of(start);
        let (line_start, line_end) = self.line_range(line);
        // miette shows a line of context on each side: none of them may be long.
        let shown = line.saturating_sub(1)..(line + 2).min(self.starts.len());
        if shown
            .map(|l| self.line_range(l))
            .all(|(from, to)| to - from <= LONG_LINE)
        {
            return (Shown::File(Arc::clone(self)), (start..end).into());
        }
        let floor = |mut i: usize| {
            while !self.text.is_char_boundary(i) {
                i -= 1;
            }
            i
        };
        let from = floor(start.saturating_sub(WINDOW).max(line_start));
        let to = floor((start + WINDOW).min(line_end)).max(start);
        let window = format!("…{}…", &self.text[from..to]);
        let offset = '…'.len_utf8() + (start - from);
        let len = end.min(to) - start;
        let name = format!("{} line {} column {}, shortened", self.name, pos.line, pos.column);
        let window = NamedSource::new(name, window);
        (Shown::Window(window), (offset..offset + len).into())
    }
}

impl SourceCode for Indexed {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let start = span.offset().min(self.text.len());
        let end = (span.offset() + span.len()).min(self.text.len());
        // The lines shown, and one more on each side so that miette sees the same
        // surroundings as in the whole file.
        let first = self.line_of(start).saturating_sub(before + 1);
        let last = self.line_of(end.saturating_sub(1).max(start)) + after + 2;
        let from = self.starts[first];
        let to = self.starts.get(last).map_or(self.text.len(), |&s| s);
        let window = &self.text.as_bytes()[from..to];
        let local = SourceSpan::from((start - from)..(end - from));
        let contents = window.read_span(&local, before, after)?;
        let shown = SourceSpan::from(
            (contents.span().offset() + from)..(contents.span().offset() + from + contents.span().len()),
        );
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            contents.data(),
            shown,
            contents.line() + first,
            contents.column(),
            contents.line_count(),
        )))
    }
}

/// The source code of one finding.
#[derive(Debug)]
pub(super) enum Shown {
    File(Arc<Indexed>),
    Window(NamedSource<String>),
}

impl std::fmt::Debug for Indexed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Indexed")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Shown {
    pub(super) fn code(&self) -> &dyn SourceCode {
        match self {
            Self::File(file) => &**file,
            Self::Window(window) => window,
        }
    }
}
