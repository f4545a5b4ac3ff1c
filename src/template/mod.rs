//! `{{ name }}` placeholders in task strings.
//!
//! Variables (`[vars]`, then `--var`) are substituted when the task files are loaded,
//! so an unknown name is a load error. `{{ tasks.NAME.KEY }}` refers to a value that
//! the dependency `NAME` produces when it runs; it stays in the template until then.
//! Text between braces that is not a name (a Go template such as `{{.status}}`, say)
//! is left alone. `{{ secrets.NAME }}` is a secret, resolved only when the task runs
//! and never displayed.
//!
//! A quoted string between the braces is written as it is: `{{ "{{ name }}" }}` gives
//! `{{ name }}`, for text that another template language reads (Go templates, Jinja).

mod environment;
mod scan;

use std::ops::Range;

use scan::{Found, Inner, placeholders};

pub(crate) use environment::SyntaxError as EnvSyntaxError;

/// A string with its variables substituted and its task-output references kept.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Template {
    parts: Vec<Part>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Part {
    Text(String),
    Output {
        task: String,
        key: String,
    },
    Secret(String),
    /// An environment variable of `ops`, read when the task runs.
    Env {
        name: String,
        default: Option<String>,
    },
}

/// A placeholder whose name is not defined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UnknownName {
    pub name: String,
    /// Where the placeholder stands in the string, `{{` to `}}`.
    pub range: Range<usize>,
}

/// Values produced by tasks that ran, looked up when a template is rendered.
pub(crate) trait Outputs {
    fn output(&self, task: &str, key: &str) -> Option<&str>;

    /// The value of a secret, once resolved for the task being run.
    fn secret(&self, _name: &str) -> Option<&str> {
        None
    }

    /// An environment variable (`$VAR` in `env` and `dir`): the environment of `ops`.
    fn env(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

/// `NAME.KEY` of `{{ tasks.NAME.KEY }}`: the task's name may hold dots inside its
/// brackets (`build-image[redis,7.4.2]`), the key none.
fn output_ref(rest: &str) -> Option<(&str, &str)> {
    let mut depth = 0usize;
    let mut dot = None;
    for (i, c) in rest.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            '.' if depth == 0 => {
                if dot.is_some() {
                    return None;
                }
                dot = Some(i);
            }
            _ => {}
        }
    }
    dot.map(|i| (&rest[..i], &rest[i + 1..]))
}

impl Template {
    /// A template without placeholders.
    pub(crate) fn literal(text: impl Into<String>) -> Self {
        Self {
            parts: vec![Part::Text(text.into())],
        }
    }

    /// Substitute variables via `lookup`; report every unknown name.
    pub(crate) fn parse(
        input: &str,
        lookup: impl FnMut(&str) -> Option<String>,
    ) -> Result<Self, Vec<UnknownName>> {
        Self::parse_with(input, lookup, false)
    }

    /// Like [`Template::parse`] for text that another template language renders
    /// later (Jinja in Ansible variables): variables, task outputs and secrets are
    /// ours; any other name and every quoted literal stay as written, for it.
    pub(crate) fn parse_foreign(input: &str, lookup: impl FnMut(&str) -> Option<String>) -> Self {
        Self::parse_with(input, lookup, true).unwrap_or_else(|_| unreachable!("foreign names are kept"))
    }

    fn parse_with(
        input: &str,
        mut lookup: impl FnMut(&str) -> Option<String>,
        foreign: bool,
    ) -> Result<Self, Vec<UnknownName>> {
        if !input.contains("{{") {
            // Most strings hold no placeholder.
            return Ok(Self::literal(input.to_owned()));
        }
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut unknown = Vec::new();
        let mut last = 0;
        for Found { range: whole, inner } in placeholders(input) {
            text.push_str(&input[last..whole.start]);
            last = whole.end;
            let name = match inner {
                Inner::Name(name) => name,
                Inner::Literal(_) if foreign => {
                    text.push_str(&input[whole]);
                    continue;
                }
                Inner::Literal(literal) => {
                    text.push_str(literal);
                    continue;
                }
            };
            if let Some(secret) = name.strip_prefix("secrets.").filter(|s| !s.contains('.')) {
                if !text.is_empty() {
                    parts.push(Part::Text(std::mem::take(&mut text)));
                }
                parts.push(Part::Secret(secret.to_owned()));
                continue;
            }
            if let Some(rest) = name.strip_prefix("tasks.")
                && let Some((task, key)) = output_ref(rest)
            {
                if !text.is_empty() {
                    parts.push(Part::Text(std::mem::take(&mut text)));
                }
                parts.push(Part::Output {
                    task: task.to_owned(),
                    key: key.to_owned(),
                });
                continue;
            }
            match lookup(name) {
                Some(value) => text.push_str(&value),
                None if foreign => text.push_str(&input[whole]),
                None => unknown.push(UnknownName {
                    name: name.to_owned(),
                    range: whole,
                }),
            }
        }
        text.push_str(&input[last..]);
        if !text.is_empty() || parts.is_empty() {
            parts.push(Part::Text(text));
        }
        if unknown.is_empty() {
            Ok(Self { parts })
        } else {
            Err(unknown)
        }
    }

    /// Substitute the names `lookup` knows and leave every other placeholder as it
    /// is: for text that another template language renders later (Jinja in Ansible
    /// variables).
    pub(crate) fn expand_known(input: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
        if !input.contains("{{") {
            return input.to_owned();
        }
        let mut out = String::with_capacity(input.len());
        let mut last = 0;
        for Found { range, inner } in placeholders(input) {
            out.push_str(&input[last..range.start]);
            // Quoted literals stay for the other template language, as written.
            match inner {
                Inner::Name(name) if let Some(value) = lookup(name) => out.push_str(&value),
                _ => out.push_str(&input[range.clone()]),
            }
            last = range.end;
        }
        out.push_str(&input[last..]);
        out
    }

    /// The same text with `$VAR`, `${VAR}`, `${VAR:-default}` and a leading `~`
    /// read as environment variables (for `env` values and `dir`).
    pub(crate) fn with_environment(self) -> Result<Self, EnvSyntaxError> {
        let mut parts = Vec::with_capacity(self.parts.len());
        for (i, part) in self.parts.into_iter().enumerate() {
            let Part::Text(text) = part else {
                parts.push(part);
                continue;
            };
            let pieces = environment::split(&text, i == 0)?;
            parts.extend(pieces.into_iter().map(|piece| match piece {
                environment::Piece::Text(t) => Part::Text(t),
                environment::Piece::Var { name, default } => Part::Env { name, default },
            }));
        }
        if parts.is_empty() {
            parts.push(Part::Text(String::new()));
        }
        Ok(Self { parts })
    }

    /// The environment variables it needs that have no default.
    pub(crate) fn required_env(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|part| match part {
            Part::Env { name, default: None } => Some(name.as_str()),
            _ => None,
        })
    }

    /// Give the tasks whose outputs it uses their full names (`backup` written in
    /// the `zitadel` namespace is `zitadel:backup`).
    pub(crate) fn rename_tasks(&mut self, full: impl Fn(&str) -> String) {
        for part in &mut self.parts {
            if let Part::Output { task, .. } = part {
                *task = full(task);
            }
        }
    }

    /// The secrets this template uses.
    pub(crate) fn secret_refs(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|part| match part {
            Part::Secret(name) => Some(name.as_str()),
            _ => None,
        })
    }

    /// The tasks whose outputs this template uses, with the key.
    pub(crate) fn output_refs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.parts.iter().filter_map(|part| match part {
            Part::Output { task, key } => Some((task.as_str(), key.as_str())),
            Part::Text(_) | Part::Secret(_) | Part::Env { .. } => None,
        })
    }

    /// The text with task outputs filled in; a missing output renders as empty.
    pub(crate) fn render(&self, outputs: &dyn Outputs) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Output { task, key } => {
                    out.push_str(outputs.output(task, key).unwrap_or_default());
                }
                Part::Secret(name) => out.push_str(outputs.secret(name).unwrap_or_default()),
                Part::Env { name, default } => {
                    let value = outputs.env(name).filter(|v| default.is_none() || !v.is_empty());
                    out.push_str(&value.or_else(|| default.clone()).unwrap_or_default());
                }
            }
        }
        out
    }

    /// The text, when it can be known before the run: `None` when it uses a task
    /// output or a secret (environment variables are read from the environment of
    /// `ops`, as when the task runs).
    pub(crate) fn known(&self) -> Option<String> {
        struct Nothing;
        impl Outputs for Nothing {
            fn output(&self, _: &str, _: &str) -> Option<&str> {
                None
            }
        }
        self.parts
            .iter()
            .all(|part| matches!(part, Part::Text(_) | Part::Env { .. }))
            .then(|| self.render(&Nothing))
    }

    /// The text as a plan shows it: task outputs not known yet stay as placeholders,
    /// environment variables as written.
    pub(crate) fn display(&self) -> String {
        self.display_with(|_| None)
    }

    /// [`Template::display`] with environment variables given by `env` (those it
    /// gives `None` for stay as written).
    pub(crate) fn display_with(&self, env: impl Fn(&str) -> Option<String>) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Output { task, key } => {
                    out.push_str("{{ tasks.");
                    out.push_str(task);
                    out.push('.');
                    out.push_str(key);
                    out.push_str(" }}");
                }
                Part::Secret(name) => {
                    out.push_str("{{ secrets.");
                    out.push_str(name);
                    out.push_str(" }}");
                }
                Part::Env { name, default } => match (env(name), default) {
                    (Some(value), _) => out.push_str(&value),
                    (None, None) => {
                        out.push_str("${");
                        out.push_str(name);
                        out.push('}');
                    }
                    (None, Some(default)) => {
                        out.push_str("${");
                        out.push_str(name);
                        out.push_str(":-");
                        out.push_str(default);
                        out.push('}');
                    }
                },
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(name: &str) -> Option<String> {
        (name == "version").then(|| "2026.2.0".to_owned())
    }

    #[test]
    fn substitutes_variables_with_or_without_spaces() {
        let t = Template::parse("v{{version}} and {{ version }}", vars).unwrap();
        assert_eq!(t.display(), "v2026.2.0 and 2026.2.0");
    }

    #[test]
    fn a_quoted_literal_is_written_as_it_is() {
        struct Nothing;
        impl Outputs for Nothing {
            fn output(&self, _: &str, _: &str) -> Option<&str> {
                None
            }
        }
        let t = Template::parse(r#"{{ "{{ version }}" }} is {{ version }}, {{'{{'}}x"#, vars).unwrap();
        assert_eq!(t.display(), "{{ version }} is 2026.2.0, {{x");
        assert_eq!(t.render(&Nothing), "{{ version }} is 2026.2.0, {{x");
        // For Jinja, later: quoted literals and unknown names stay as written.
        assert_eq!(
            Template::expand_known(r#"{{ "{{" }} {{ version }} {{ item }}"#, vars),
            r#"{{ "{{" }} 2026.2.0 {{ item }}"#
        );
    }

    #[test]
    fn leaves_go_templates_alone() {
        let t = Template::parse("kubectl get -o go-template='{{.status.phase}}'", vars).unwrap();
        assert_eq!(t.display(), "kubectl get -o go-template='{{.status.phase}}'");
    }

    #[test]
    fn reports_every_unknown_name_with_its_range() {
        let err = Template::parse("{{ a }}-{{b}}", vars).unwrap_err();
        assert_eq!(
            err,
            vec![
                UnknownName {
                    name: "a".into(),
                    range: 0..7
                },
                UnknownName {
                    name: "b".into(),
                    range: 8..13
                }
            ]
        );
    }

    #[test]
    fn keeps_task_outputs_until_rendered() {
        struct One;
        impl Outputs for One {
            fn output(&self, task: &str, key: &str) -> Option<&str> {
                (task == "build" && key == "out").then_some("/nix/store/abc")
            }
        }
        let t = Template::parse("load {{ tasks.build.out }} v{{ version }}", vars).unwrap();
        assert_eq!(t.output_refs().collect::<Vec<_>>(), vec![("build", "out")]);
        assert_eq!(t.display(), "load {{ tasks.build.out }} v2026.2.0");
        assert_eq!(t.render(&One), "load /nix/store/abc v2026.2.0");
    }

    #[test]
    fn only_text_without_outputs_or_secrets_is_known_before_the_run() {
        let known = Template::parse("tools/{{ version }}.sh", vars).unwrap();
        assert_eq!(known.known().as_deref(), Some("tools/2026.2.0.sh"));
        let output = Template::parse("{{ tasks.build.out }}/bin/app", vars).unwrap();
        assert_eq!(output.known(), None);
        let secret = Template::parse("{{ secrets.token }}", vars).unwrap();
        assert_eq!(secret.known(), None);
    }
}
