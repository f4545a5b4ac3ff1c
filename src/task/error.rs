//! Everything that can be wrong with a set of task files.

use std::sync::{Arc, LazyLock};

use miette::{Diagnostic, NamedSource, SourceSpan};
use regex::Regex;
use thiserror::Error;

use crate::diagnostic::{SourceFile, span, suggestion};

type Src = NamedSource<Arc<str>>;

/// Every problem found in the task files, reported together.
#[derive(Debug, Error, Diagnostic)]
#[error("{} in the task files", plural(.errors.len()))]
#[diagnostic(code(ops::task::invalid_files))]
pub struct LoadErrors {
    #[related]
    pub errors: Vec<LoadError>,
}

fn plural(n: usize) -> String {
    if n == 1 {
        "1 problem".into()
    } else {
        format!("{n} problems")
    }
}

#[derive(Clone, Debug, Error, Diagnostic)]
pub enum LoadError {
    #[error("cannot read {path}: {reason}")]
    #[diagnostic(code(ops::task::read))]
    Read { path: String, reason: String },

    #[error("{message}")]
    #[diagnostic(code(ops::task::syntax))]
    Syntax {
        #[source_code]
        src: Src,
        #[label("here")]
        span: SourceSpan,
        message: String,
    },

    #[error("{message}")]
    #[diagnostic(code(ops::task::invalid))]
    Schema {
        #[source_code]
        src: Src,
        #[label("here")]
        span: SourceSpan,
        message: String,
        #[help]
        help: Option<String>,
    },

    #[error("unknown key `{key}`")]
    #[diagnostic(code(ops::task::unknown_key))]
    UnknownKey {
        #[source_code]
        src: Src,
        #[label("not a known key")]
        span: SourceSpan,
        key: String,
        #[help]
        help: Option<String>,
    },

    #[error("invalid task name `{name}`")]
    #[diagnostic(
        code(ops::task::invalid_name),
        help("task names use letters, digits, `-`, `_` and `:`, and start with a letter or digit")
    )]
    InvalidName {
        #[source_code]
        src: Src,
        #[label("invalid name")]
        span: SourceSpan,
        name: String,
    },

    #[error("task `{name}` is defined twice")]
    #[diagnostic(
        code(ops::task::duplicate),
        help("task names must be unique across all task files")
    )]
    DuplicateTask {
        #[source_code]
        src: Src,
        #[label("defined again here")]
        span: SourceSpan,
        name: String,
        #[related]
        first: Vec<Note>,
    },

    #[error("--var {name}: no task file declares a variable `{name}`")]
    #[diagnostic(code(ops::task::unknown_var_override))]
    UnknownOverride {
        name: String,
        #[help]
        help: Option<String>,
    },

    #[error("variable `{name}` is declared twice, with different values")]
    #[diagnostic(
        code(ops::task::duplicate_var),
        help("variables are shared by every task file: keep one declaration (or give them the same value)")
    )]
    DuplicateVar {
        #[source_code]
        src: Src,
        #[label("declared again here")]
        span: SourceSpan,
        name: String,
        #[related]
        first: Vec<Note>,
    },

    #[error("task `{task}` has more than one action: `{first_key}` and `{second_key}`")]
    #[diagnostic(
        code(ops::task::multiple_actions),
        help("a task runs one action; split it into two tasks and make one depend on the other")
    )]
    MultipleActions {
        #[source_code]
        src: Src,
        #[label("first action")]
        first: SourceSpan,
        #[label("second action")]
        second: SourceSpan,
        task: String,
        first_key: String,
        second_key: String,
    },

    #[error("{message}")]
    #[diagnostic(code(ops::task::invalid_value))]
    InvalidValue {
        #[source_code]
        src: Src,
        #[label("{label}")]
        span: SourceSpan,
        message: String,
        label: String,
        #[help]
        help: Option<String>,
    },

    #[error("invalid duration `{value}` in task `{task}`")]
    #[diagnostic(
        code(ops::task::bad_duration),
        help("write a duration such as `90s`, `5m` or `1h 30m`")
    )]
    BadDuration {
        #[source_code]
        src: Src,
        #[label("{reason}")]
        span: SourceSpan,
        task: String,
        value: String,
        reason: String,
    },

    #[error("unknown variable `{name}`")]
    #[diagnostic(code(ops::task::unknown_variable))]
    UnknownVariable {
        #[source_code]
        src: Src,
        #[label("not defined")]
        span: SourceSpan,
        name: String,
        #[help]
        help: Option<String>,
    },

    #[error("variable `{name}` refers to itself: {path}")]
    #[diagnostic(
        code(ops::task::variable_cycle),
        help("give one of these variables a value that does not use the others")
    )]
    VarCycle {
        #[source_code]
        src: Src,
        #[label("defined here")]
        span: SourceSpan,
        name: String,
        path: String,
    },

    #[error("task `{task}` depends on unknown task `{dep}`")]
    #[diagnostic(code(ops::task::unknown_dependency))]
    UnknownDependency {
        #[source_code]
        src: Src,
        #[label("no task with this name")]
        span: SourceSpan,
        task: String,
        dep: String,
        #[help]
        help: Option<String>,
    },

    #[error("task `{task}` uses the output of `{dep}`, which is not one of its dependencies")]
    #[diagnostic(
        code(ops::task::output_not_dependency),
        help("add `{dep}` to the `deps` of `{task}` so it runs first")
    )]
    OutputNotDependency {
        #[source_code]
        src: Src,
        #[label("used here")]
        span: SourceSpan,
        task: String,
        dep: String,
    },

    #[error("alias `{alias}` of task `{task}` is already {what}")]
    #[diagnostic(
        code(ops::task::alias_collision),
        help("an alias must differ from every task name and from every other alias")
    )]
    AliasCollision {
        #[source_code]
        src: Src,
        #[label("this alias")]
        span: SourceSpan,
        alias: String,
        task: String,
        what: String,
        #[related]
        first: Vec<Note>,
    },

    #[error("`{key}` of task `{task}` names unknown task `{name}`")]
    #[diagnostic(code(ops::task::unknown_handler))]
    UnknownHandler {
        #[source_code]
        src: Src,
        #[label("no task with this name")]
        span: SourceSpan,
        key: &'static str,
        task: String,
        name: String,
        #[help]
        help: Option<String>,
    },

    #[error("`{key}` of task `{task}` runs `{handler}`, which depends on `{task}`")]
    #[diagnostic(
        code(ops::task::handler_depends_on_task),
        help(
            "a task that depends on `{task}` is skipped when `{task}` fails, so it could not run then; `{key}` tasks run after `{task}` without depending on it"
        )
    )]
    HandlerDependsOnTask {
        #[source_code]
        src: Src,
        #[label("depends on `{task}`")]
        span: SourceSpan,
        key: &'static str,
        task: String,
        handler: String,
    },

    #[error("cycle through `on-failure` or `finally`: {path}")]
    #[diagnostic(
        code(ops::task::handler_cycle),
        help(
            "a task's `on-failure` and `finally` tasks run after it: none of them can be a task it needs, nor list it in turn"
        )
    )]
    HandlerCycle {
        #[source_code]
        src: Src,
        #[label("{label}")]
        span: SourceSpan,
        label: String,
        path: String,
        #[related]
        rest: Vec<Note>,
    },

    #[error("dependency cycle: {path}")]
    #[diagnostic(
        code(ops::task::cycle),
        help("remove one of these dependencies to break the cycle")
    )]
    Cycle {
        #[source_code]
        src: Src,
        #[label("{from} depends on {to}")]
        span: SourceSpan,
        from: String,
        to: String,
        path: String,
        #[related]
        rest: Vec<Note>,
    },
}

/// A secondary location attached to an error ("first defined here").
#[derive(Clone, Debug, Error, Diagnostic)]
#[error("{message}")]
#[diagnostic(severity(Advice))]
pub struct Note {
    #[source_code]
    pub src: Src,
    #[label("{label}")]
    pub span: SourceSpan,
    pub message: String,
    pub label: String,
}

static UNKNOWN_FIELD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^unknown field `([^`]*)`, expected (?:one of )?(.*)$").expect("pattern is valid")
});

impl LoadError {
    /// Turn a `toml` deserialization error into a diagnostic, recognising
    /// unknown keys so that a close match can be suggested.
    pub fn from_toml(source: &SourceFile, error: &toml::de::Error) -> Self {
        Self::from_toml_with(source, error, &[])
    }

    /// As [`LoadError::from_toml`]; `more_keys` are also valid where the error is (the
    /// step kinds' keys of a task, read apart from its other keys).
    pub fn from_toml_with(source: &SourceFile, error: &toml::de::Error, more_keys: &[&str]) -> Self {
        let range = error.span().unwrap_or(0..0);
        // Serde names the Rust type; people know it as a task table.
        let message = error
            .message()
            .trim()
            .replace("struct RawTask", "a task table `[tasks.NAME]`");
        if let Some(caps) = UNKNOWN_FIELD.captures(&message) {
            let key = caps[1].to_owned();
            let mut expected: Vec<&str> = caps[2].split(", ").map(|s| s.trim_matches('`')).collect();
            expected.extend_from_slice(more_keys);
            let help = suggestion(&key, expected.iter().copied())
                .or_else(|| Some(format!("known keys: {}", expected.join(", "))));
            let (src, span) = source.excerpt(range);
            return Self::UnknownKey { src, span, key, help };
        }
        let (src, span) = source.excerpt(range);
        Self::Schema {
            src,
            span,
            message,
            help: None,
        }
    }

    /// A TOML syntax error.
    pub fn syntax(source: &SourceFile, error: &toml::de::Error) -> Self {
        let (src, span) = source.excerpt(error.span().unwrap_or(0..0));
        Self::Syntax {
            src,
            span,
            message: error.message().trim().to_owned(),
        }
    }

    /// A note pointing into `source`.
    pub fn note(source: &SourceFile, range: std::ops::Range<usize>, message: String, label: &str) -> Note {
        Note {
            src: source.named(),
            span: span(range),
            message,
            label: label.to_owned(),
        }
    }
}
