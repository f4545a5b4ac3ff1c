//! Shared pieces for diagnostics: loaded source files, "did you mean" hints and
//! the miette handler set-up.

use std::io::IsTerminal;
use std::sync::Arc;

use miette::{NamedSource, SourceSpan};

/// The text of a file that diagnostics may point into, with the name shown to users
/// (a path relative to the repository root).
#[derive(Clone, Debug)]
pub struct SourceFile {
    name: Arc<str>,
    text: Arc<str>,
}

impl SourceFile {
    pub fn new(name: impl Into<Arc<str>>, text: impl Into<Arc<str>>) -> Self {
        Self {
            name: name.into(),
            text: text.into(),
        }
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// The file as miette source code for a `#[source_code]` field.
    pub(crate) fn named(&self) -> NamedSource<Arc<str>> {
        NamedSource::new(&*self.name, Arc::clone(&self.text))
    }
}

/// Lines longer than this are cut around the error when shown.
const LONG_LINE: usize = 240;

impl SourceFile {
    /// The source and span to show for an error at `range`: the file itself, or, when
    /// the error sits on a very long line (minified or generated input), a window of
    /// that line named with the real line and column.
    pub(crate) fn excerpt(&self, range: std::ops::Range<usize>) -> (NamedSource<Arc<str>>, SourceSpan) {
        let text = self.text();
        let start = range.start.min(text.len());
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        if line_end - line_start <= LONG_LINE {
            return (self.named(), span(range));
        }
        let floor = |mut i: usize| {
            while !text.is_char_boundary(i) {
                i -= 1;
            }
            i
        };
        let from = floor(start.saturating_sub(60).max(line_start));
        let to = floor((start + 60).min(line_end));
        let line = text[..start].matches('\n').count() + 1;
        let column = text[line_start..start].chars().count() + 1;
        let window = format!("…{}…", &text[from..to]);
        let offset = '…'.len_utf8() + (start - from);
        let len = (range.end.min(to)).saturating_sub(start);
        let name = format!("{} line {line} column {column}, shortened", self.name());
        (
            NamedSource::new(name, Arc::from(window)),
            SourceSpan::from(offset..offset + len),
        )
    }
}

/// A byte range into a [`SourceFile`].
pub(crate) fn span(range: std::ops::Range<usize>) -> SourceSpan {
    SourceSpan::from(range.start..range.end)
}

/// The candidate closest to `name`, if one is close enough to be a likely typo: at
/// most a third of its letters (at least one) differ, inserted, dropped or swapped.
/// A shared prefix alone (`depends_post`, `deps`) is not enough.
pub(crate) fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    if name.is_empty() {
        return None;
    }
    candidates
        .into_iter()
        .filter(|candidate| *candidate != name)
        .map(|candidate| {
            let edits = strsim::osa_distance(name, candidate);
            let limit = (name.chars().count().max(candidate.chars().count()) / 3).max(1);
            (edits, strsim::jaro_winkler(name, candidate), limit, candidate)
        })
        .filter(|(edits, _, limit, _)| edits <= limit)
        .min_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)))
        .map(|(.., candidate)| candidate)
}

/// `help` text for a typo, or `None` when nothing is close.
pub(crate) fn suggestion<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    did_you_mean(name, candidates).map(|c| format!("did you mean `{c}`?"))
}

/// `--color WHEN`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ColorChoice {
    /// On a terminal, unless the environment says otherwise
    Auto,
    Always,
    Never,
}

/// Whether colored output is wanted on a stream: `--color` when given; otherwise
/// `NO_COLOR` (set, not empty) means never, `CLICOLOR_FORCE` or `FORCE_COLOR` (set,
/// not `0`/`false`) always, `CLICOLOR=0` never, and else a terminal decides.
pub(crate) fn color_wanted(choice: Option<ColorChoice>, is_terminal: bool) -> bool {
    let set = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let on = |name: &str| set(name).is_some_and(|v| v != "0" && !v.eq_ignore_ascii_case("false"));
    match choice {
        Some(ColorChoice::Always) => true,
        Some(ColorChoice::Never) => false,
        None if set("NO_COLOR").is_some() => false,
        None if on("CLICOLOR_FORCE") || on("FORCE_COLOR") => true,
        None if set("CLICOLOR").as_deref() == Some("0") => false,
        Some(ColorChoice::Auto) | None => is_terminal,
    }
}

/// Whether diagnostics on stderr are colored (decided by [`set_color`]).
static STDERR_COLOR: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Decide the colors of both streams for `--color` (again when `ops run` finds the
/// flag among its task words).
pub(crate) fn set_color(choice: Option<ColorChoice>) {
    let stderr = color_wanted(choice, std::io::stderr().is_terminal());
    STDERR_COLOR.store(stderr, std::sync::atomic::Ordering::Relaxed);
    console::set_colors_enabled_stderr(stderr);
    console::set_colors_enabled(color_wanted(choice, std::io::stdout().is_terminal()));
}

/// Decide the colors, and install the miette report handler: a fixed width off a
/// terminal so logs and snapshots are stable.
pub(crate) fn install_handler(choice: Option<ColorChoice>) {
    let terminal = std::io::stderr().is_terminal();
    set_color(choice);
    let _ = miette::set_hook(Box::new(move |_| {
        let color = STDERR_COLOR.load(std::sync::atomic::Ordering::Relaxed);
        let mut opts = miette::MietteHandlerOpts::new()
            .color(color)
            .unicode(true)
            .terminal_links(false)
            .force_graphical(true);
        if !terminal {
            opts = opts.width(100);
        }
        Box::new(opts.build())
    }));
}
