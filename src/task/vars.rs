//! Variables: `[vars]` of a task file, overridden by `--var name=value`. A variable
//! may use others (`image = "{{ registry }}/authentik"`); they are substituted when
//! the files load, and a variable that refers to itself, directly or through others,
//! is an error naming the circle. A variable declared in one file is visible to all; one
//! that uses a name nothing defines breaks only the tasks that use it.

use std::collections::HashMap;
use std::ops::Range;

use indexmap::IndexMap;
use toml::Spanned;

use super::error::LoadError;
use crate::diagnostic::{SourceFile, span, suggestion};
use crate::kube::ContextMap;
use crate::scalar::Scalar;
use crate::template::Template;

/// Variables given on the command line (`--var name=value`); they override `[vars]`
/// and are taken as they are.
#[derive(Clone, Debug, Default)]
pub struct Vars(pub(crate) IndexMap<String, String>, pub(crate) ContextMap);

impl Vars {
    pub fn new(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        Self(pairs.into_iter().collect(), ContextMap::default())
    }

    /// With `--context-map` pairs: Kubernetes steps naming a context use the mapped one.
    #[must_use]
    pub fn with_context_map(mut self, map: ContextMap) -> Self {
        self.1 = map;
        self
    }
}

/// Where `text` stands inside the source of a value spanning `full` (all of it when the
/// source writes it differently, with escapes).
pub(crate) fn locate(source: &SourceFile, full: Range<usize>, text: &str) -> Range<usize> {
    source.text()[full.clone()]
        .find(text)
        .map_or(full.clone(), |i| full.start + i..full.start + i + text.len())
}

/// A variable as declared: the file it is in (an index into the sources) and its value.
pub(crate) type Declared = (usize, Spanned<Scalar>);

/// The variables of every file, each with the variables it uses substituted. A
/// variable belongs to the whole set of files: declared in one, used in any.
pub(crate) struct Resolved {
    pub(crate) values: IndexMap<String, String>,
    /// The variables that use a name nothing defines (directly or through another
    /// variable), with why: a task using one cannot run, the others can.
    pub(crate) broken: HashMap<String, Vec<LoadError>>,
    /// Each of those problems once.
    pub(crate) problems: Vec<LoadError>,
}

pub(crate) fn resolve(
    sources: &[SourceFile],
    raw: &IndexMap<String, Declared>,
    overrides: &Vars,
    errors: &mut Vec<LoadError>,
) -> Resolved {
    let mut expander = Expander {
        sources,
        raw,
        overrides,
        done: HashMap::new(),
        stack: Vec::new(),
        errors,
        broken: HashMap::new(),
        problems: Vec::new(),
    };
    let values = raw
        .keys()
        .map(|name| (name.clone(), expander.value(name).unwrap_or_default()))
        .collect();
    Resolved {
        values,
        broken: expander.broken,
        problems: expander.problems,
    }
}

/// Every file's `[vars]` in one map; a name declared twice with different values is
/// an error pointing at both.
pub(crate) fn merge<'a>(
    sources: &[SourceFile],
    files: impl IntoIterator<Item = &'a IndexMap<String, Spanned<Scalar>>>,
    errors: &mut Vec<LoadError>,
) -> IndexMap<String, Declared> {
    let mut all: IndexMap<String, Declared> = IndexMap::new();
    for (file, vars) in files.into_iter().enumerate() {
        for (name, value) in vars {
            match all.get(name) {
                None => {
                    all.insert(name.clone(), (file, value.clone()));
                }
                Some((_, first)) if first.get_ref() == value.get_ref() => {}
                Some((first_file, first)) => errors.push(LoadError::DuplicateVar {
                    src: sources[file].named(),
                    span: span(value.span()),
                    name: name.clone(),
                    first: vec![LoadError::note(
                        &sources[*first_file],
                        first.span(),
                        format!("`{name}` is first declared in {}", sources[*first_file].name()),
                        "first declared here",
                    )],
                }),
            }
        }
    }
    all
}

/// What to do about a placeholder `name` that nothing defines.
pub(crate) fn undefined_help(name: &str) -> String {
    format!(
        "declare it under [vars]: {name} = \"…\" (`--var {name}=VALUE` then overrides it); or, for a value given each run, make it an argument of the task: args = [{{ name = \"{name}\" }}] and write {{{{ args.{name} }}}}"
    )
}

struct Expander<'a> {
    sources: &'a [SourceFile],
    raw: &'a IndexMap<String, Declared>,
    overrides: &'a Vars,
    done: HashMap<String, String>,
    /// The variables being expanded, outermost first.
    stack: Vec<String>,
    errors: &'a mut Vec<LoadError>,
    broken: HashMap<String, Vec<LoadError>>,
    problems: Vec<LoadError>,
}

impl Expander<'_> {
    /// The value of `name`: `None` when it is not defined.
    fn value(&mut self, name: &str) -> Option<String> {
        if let Some(value) = self.overrides.0.get(name) {
            return Some(value.clone());
        }
        if let Some(value) = self.done.get(name) {
            return Some(value.clone());
        }
        let (file, raw) = self.raw.get(name)?;
        let source = &self.sources[*file];
        if let Some(at) = self.stack.iter().position(|n| n == name) {
            let mut circle = self.stack[at..].to_vec();
            circle.push(name.to_owned());
            let (first_file, first) = &self.raw[&circle[0]];
            self.errors.push(LoadError::VarCycle {
                src: self.sources[*first_file].named(),
                span: span(first.span()),
                name: circle[0].clone(),
                path: circle.join(" → "),
            });
            // Reported once: every variable on the circle is settled as empty.
            for n in &circle {
                self.done.insert(n.clone(), String::new());
            }
            return Some(String::new());
        }
        self.stack.push(name.to_owned());
        let text = raw.get_ref().0.clone();
        let mut uses = Vec::new();
        let parsed = Template::parse(&text, |other| {
            uses.push(other.to_owned());
            self.value(other)
        });
        self.stack.pop();
        // A variable using a broken one is broken for the same reasons.
        let inherited: Vec<LoadError> = uses
            .iter()
            .filter_map(|other| self.broken.get(other))
            .flatten()
            .cloned()
            .collect();
        if !inherited.is_empty() {
            self.broken.entry(name.to_owned()).or_default().extend(inherited);
        }
        let value = match parsed {
            Ok(template)
                if template.output_refs().next().is_some() || template.secret_refs().next().is_some() =>
            {
                self.errors.push(LoadError::InvalidValue {
                    src: source.named(),
                    span: span(raw.span()),
                    message: format!("variable `{name}` uses a task output or a secret"),
                    label: "known only when a task runs".into(),
                    help: Some(
                        "variables are substituted when the files load; write the placeholder in the task instead"
                            .into(),
                    ),
                });
                String::new()
            }
            Ok(template) => template.display(),
            Err(unknown) => {
                for u in unknown {
                    let at = locate(source, raw.span(), &text[u.range.clone()]);
                    let candidates: Vec<&str> = self.raw.keys().map(String::as_str).collect();
                    let problem = LoadError::UnknownVariable {
                        src: source.named(),
                        span: span(at),
                        help: suggestion(&u.name, candidates).or_else(|| Some(undefined_help(&u.name))),
                        name: u.name,
                    };
                    self.broken
                        .entry(name.to_owned())
                        .or_default()
                        .push(problem.clone());
                    self.problems.push(problem);
                }
                String::new()
            }
        };
        self.done.insert(name.to_owned(), value.clone());
        Some(value)
    }
}
