//! A regular expression from a task file, compiled once and checked when the files load.

use std::hash::{Hash, Hasher};

use regex::Regex;
use toml::Spanned;

use super::Resolve;

#[derive(Clone, Debug)]
pub(crate) struct Pattern {
    regex: Regex,
}

impl Pattern {
    /// Compile `value` (after variable expansion); an invalid pattern is a load error.
    pub(crate) fn resolve(value: &Spanned<String>, cx: &mut dyn Resolve) -> Option<Self> {
        let source = cx.text(value);
        match Regex::new(&source) {
            Ok(regex) => Some(Self { regex }),
            Err(e) => {
                cx.invalid(
                    value.span(),
                    format!("invalid regular expression in task `{}`", cx.task_name()),
                    "cannot compile",
                    Some(e.to_string()),
                );
                None
            }
        }
    }

    pub(crate) fn regex(&self) -> &Regex {
        &self.regex
    }

    pub(crate) fn as_str(&self) -> &str {
        self.regex.as_str()
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Pattern {}

impl Hash for Pattern {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}
