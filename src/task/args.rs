//! Task arguments: what a task declares it takes, and the words of a command line
//! parsed against that.
//!
//! ```toml
//! [tasks.build-image]
//! args = [
//!   { name = "container", help = "the image to build", choices = ["authentik", "redis"] },  # positional, required
//!   { name = "push", flag = true, help = "push the release tag" },                           # --push
//!   { name = "tag", default = "dev", help = "extra tag" },                                   # --tag VALUE
//!   { name = "hosts", variadic = true, required = false },                                  # the rest of the words
//! ]
//! ```
//!
//! `ops run build-image authentik --push --tag v1`; words after `--` are
//! `{{ args.rest }}`. An invocation is a task of its own, named by its values:
//! `build-image[authentik,push,tag=v1]`.

use std::fmt::Write as _;

use indexmap::IndexMap;
use serde::Deserialize;

use crate::diagnostic::suggestion;

/// One declared argument, as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawArgSpec {
    pub name: String,
    pub help: Option<String>,
    #[serde(default)]
    pub choices: Vec<String>,
    #[serde(default)]
    pub flag: bool,
    pub default: Option<String>,
    #[serde(default)]
    pub variadic: bool,
    pub required: Option<bool>,
}

/// How an argument is given on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    /// A word in its position.
    Positional,
    /// `--name`, true or false.
    Flag,
    /// `--name VALUE` (or `--name=VALUE`), with a default.
    Option,
    /// The remaining words.
    Variadic,
}

/// One argument a task takes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Spec {
    pub name: String,
    pub help: Option<String>,
    pub kind: Kind,
    pub choices: Vec<String>,
    pub default: Option<String>,
    pub required: bool,
}

/// The flags of `ops` and `ops run`: a task's flag of the same name could never be given.
pub(crate) const RESERVED: &[&str] = &[
    "dry-run",
    "diff",
    "detailed-exitcode",
    "jobs",
    "keep-going",
    "yes",
    "force",
    "resume",
    "kill-orphans",
    "wait-lock",
    "save-plan",
    "plan",
    "only",
    "output",
    "format",
    "output-mode",
    "color",
    "quiet",
    "verbose",
    "help",
    "var",
    "context-map",
    "root",
    "version",
    "skip",
    "no-deps",
];

impl Spec {
    pub(super) fn from_raw(raw: &RawArgSpec) -> Result<Self, String> {
        if (raw.flag || raw.default.is_some()) && RESERVED.contains(&raw.name.as_str()) {
            return Err(format!(
                "`--{}` is a flag of `ops run` itself; name the argument otherwise",
                raw.name
            ));
        }
        let valid = raw.name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && raw
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
        if !valid || raw.name == "rest" {
            return Err(format!(
                "`{}` cannot name an argument (letters, digits, `-`, `_`; `rest` is the words after `--`)",
                raw.name
            ));
        }
        let kind = match (raw.flag, raw.variadic, raw.default.is_some()) {
            (true, false, false) => Kind::Flag,
            (false, true, _) => Kind::Variadic,
            (false, false, true) => Kind::Option,
            (false, false, false) => Kind::Positional,
            _ => {
                return Err(format!(
                    "argument `{}`: a flag has no default and takes no words; a variadic argument is not a flag",
                    raw.name
                ));
            }
        };
        if let Some(default) = &raw.default
            && !raw.choices.is_empty()
            && !raw.choices.contains(default)
        {
            return Err(format!(
                "argument `{}`: its default `{default}` is not one of its choices",
                raw.name
            ));
        }
        Ok(Self {
            name: raw.name.clone(),
            help: raw.help.clone(),
            kind,
            choices: raw.choices.clone(),
            default: raw.default.clone(),
            required: raw.required.unwrap_or(matches!(kind, Kind::Positional)),
        })
    }

    fn shown(&self) -> String {
        let word = match self.kind {
            Kind::Positional => self.name.to_uppercase(),
            Kind::Flag => format!("--{}", self.name),
            Kind::Option => format!("--{} {}", self.name, self.name.to_uppercase()),
            Kind::Variadic => format!("{}...", self.name.to_uppercase()),
        };
        if self.required { word } else { format!("[{word}]") }
    }
}

/// The values of one invocation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Values {
    /// By argument name: one value, several (variadic), or none (optional, not given).
    pub values: IndexMap<String, Vec<String>>,
    /// The words after `--`.
    pub rest: Vec<String>,
}

impl Values {
    /// The value of `{{ args.NAME }}` in a string: list values joined by a space, or
    /// shell-quoted for a shell script; `None` for an unknown name.
    pub(crate) fn text(&self, name: &str, shell: bool) -> Option<String> {
        let list = if name == "rest" {
            &self.rest
        } else {
            self.values.get(name)?
        };
        Some(if shell {
            shlex::try_join(list.iter().map(String::as_str)).unwrap_or_else(|_| list.join(" "))
        } else {
            list.join(" ")
        })
    }

    /// The words an argv element that is exactly `{{ args.NAME }}` becomes: each value
    /// its own word, none for an optional argument not given (never an empty word).
    pub(crate) fn words(&self, name: &str) -> Option<&[String]> {
        if name == "rest" {
            Some(&self.rest)
        } else {
            self.values.get(name).map(Vec::as_slice)
        }
    }

    /// The instance's name: positional values, then `flag`, `option=value`, and the
    /// words after `--`.
    pub(crate) fn instance_name(&self, task: &str, specs: &[Spec]) -> String {
        let mut parts = Vec::new();
        for spec in specs {
            let Some(values) = self.values.get(&spec.name) else {
                continue;
            };
            match spec.kind {
                Kind::Positional | Kind::Variadic => parts.extend(values.iter().cloned()),
                Kind::Flag if values.first().is_some_and(|v| v == "true") => parts.push(spec.name.clone()),
                Kind::Option if values.first() != spec.default.as_ref() => {
                    parts.push(format!("{}={}", spec.name, values.join(" ")));
                }
                Kind::Flag | Kind::Option => {}
            }
        }
        if !self.rest.is_empty() {
            parts.push(format!("-- {}", self.rest.join(" ")));
        }
        format!("{task}[{}]", parts.join(","))
    }
}

/// Probe values for checking a task that no invocation names: every argument given.
pub(super) fn probe(specs: &[Spec]) -> Values {
    Values {
        values: specs
            .iter()
            .map(|s| (s.name.clone(), vec![s.name.clone()]))
            .collect(),
        rest: Vec::new(),
    }
}

/// The values a dependency gives (`args = { container = "redis", push = true }`), as
/// a command line would: checked the same way, defaults filled in.
pub(crate) fn from_table(specs: &[Spec], table: &IndexMap<String, String>) -> Result<Values, ArgError> {
    if let Some(unknown) = table.keys().find(|k| !specs.iter().any(|s| &s.name == *k)) {
        return Err(ArgError {
            message: format!("no argument `{unknown}`"),
            help: suggestion(unknown, specs.iter().map(|s| s.name.as_str())),
        });
    }
    let mut words = Vec::new();
    let mut positionals = Vec::new();
    for spec in specs {
        let Some(value) = table.get(&spec.name) else {
            continue;
        };
        match spec.kind {
            Kind::Flag if value == "true" => words.push(format!("--{}", spec.name)),
            Kind::Flag => {}
            Kind::Option => words.push(format!("--{}={value}", spec.name)),
            Kind::Positional | Kind::Variadic => positionals.push(value.clone()),
        }
    }
    // Positionals in their order: a missing one in the middle cannot be skipped.
    words.extend(positionals);
    parse(specs, &words)
}

/// A command line that does not fit the task's arguments.
#[derive(Debug)]
pub(crate) struct ArgError {
    pub message: String,
    pub help: Option<String>,
}

/// Parse `words` for a task taking `specs`.
pub(crate) fn parse(specs: &[Spec], words: &[String]) -> Result<Values, ArgError> {
    let mut values = Values::default();
    let mut positionals = specs.iter().filter(|s| s.kind == Kind::Positional);
    let variadic = specs.iter().find(|s| s.kind == Kind::Variadic);
    let mut many = Vec::new();
    let mut words = words.iter();
    while let Some(word) = words.next() {
        if word == "--" {
            values.rest = words.cloned().collect();
            break;
        }
        if let Some(long) = word.strip_prefix("--") {
            let (name, inline) = long
                .split_once('=')
                .map_or((long, None), |(n, v)| (n, Some(v.to_owned())));
            let Some(spec) = specs
                .iter()
                .find(|s| s.name == name && matches!(s.kind, Kind::Flag | Kind::Option))
            else {
                let flags: Vec<String> = specs
                    .iter()
                    .filter(|s| matches!(s.kind, Kind::Flag | Kind::Option))
                    .map(|s| format!("--{}", s.name))
                    .collect();
                return Err(ArgError {
                    message: format!("unknown flag `--{name}`"),
                    help: suggestion(&format!("--{name}"), flags.iter().map(String::as_str)),
                });
            };
            let value = match (spec.kind, inline) {
                (Kind::Flag, None) => "true".to_owned(),
                (Kind::Flag, Some(_)) => {
                    return Err(ArgError {
                        message: format!("`--{name}` is a flag: it takes no value"),
                        help: None,
                    });
                }
                (_, Some(v)) => v,
                (_, None) => words.next().cloned().ok_or_else(|| ArgError {
                    message: format!("`--{name}` needs a value"),
                    help: None,
                })?,
            };
            check_choice(spec, &value)?;
            values.values.insert(spec.name.clone(), vec![value]);
            continue;
        }
        match positionals.next() {
            Some(spec) => {
                check_choice(spec, word)?;
                values.values.insert(spec.name.clone(), vec![word.clone()]);
            }
            None if variadic.is_some() => many.push(word.clone()),
            None => {
                return Err(ArgError {
                    message: format!("unexpected word `{word}`"),
                    help: Some("words after `--` are passed on as `{{ args.rest }}`".into()),
                });
            }
        }
    }
    if let Some(spec) = variadic
        && !many.is_empty()
    {
        values.values.insert(spec.name.clone(), many);
    }
    for spec in specs {
        if values.values.contains_key(&spec.name) {
            continue;
        }
        match (&spec.default, spec.kind) {
            (Some(default), _) => {
                values.values.insert(spec.name.clone(), vec![default.clone()]);
            }
            (None, Kind::Flag) => {
                values.values.insert(spec.name.clone(), vec!["false".into()]);
            }
            (None, _) if spec.required => {
                return Err(ArgError {
                    message: format!("missing argument `{}`", spec.name.to_uppercase()),
                    help: spec.help.clone(),
                });
            }
            (None, _) => {
                values.values.insert(spec.name.clone(), Vec::new());
            }
        }
    }
    Ok(values)
}

fn check_choice(spec: &Spec, value: &str) -> Result<(), ArgError> {
    if spec.choices.is_empty() || spec.choices.iter().any(|c| c == value) {
        return Ok(());
    }
    Err(ArgError {
        message: format!("`{value}` is not a choice of `{}`", spec.name),
        help: Some(format!(
            "{}: {}",
            suggestion(value, spec.choices.iter().map(String::as_str)).unwrap_or_else(|| "choose one".into()),
            spec.choices.join(", ")
        )),
    })
}

/// One line: `build-image CONTAINER [--push] [--tag TAG] [HOSTS...]`.
pub(crate) fn usage_line(task: &str, specs: &[Spec]) -> String {
    std::iter::once(task.to_owned())
        .chain(specs.iter().map(Spec::shown))
        .collect::<Vec<_>>()
        .join(" ")
}

/// What `ops run TASK --help` prints.
pub(crate) fn help(task: &str, description: Option<&str>, specs: &[Spec]) -> String {
    let mut out = String::new();
    if let Some(d) = description {
        out.push_str(d);
        out.push_str("\n\n");
    }
    let _ = write!(out, "Usage: ops run {}\n\nArguments:\n", usage_line(task, specs));
    for spec in specs {
        let mut line = format!("  {:<24}", spec.shown().trim_matches(['[', ']']).to_owned());
        if let Some(h) = &spec.help {
            line.push_str(h);
        }
        if !spec.choices.is_empty() {
            let _ = write!(line, " [choices: {}]", spec.choices.join(", "));
        }
        if let Some(d) = &spec.default {
            let _ = write!(line, " [default: {d}]");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push_str("\nWords after `--` are passed on as {{ args.rest }}.\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn specs() -> Vec<Spec> {
        let raw: Vec<RawArgSpec> = toml::from_str::<toml::Table>(
            r#"a = [
  { name = "container", help = "the image", choices = ["authentik", "redis"] },
  { name = "push", flag = true },
  { name = "tag", default = "dev" },
  { name = "hosts", variadic = true, required = false },
]"#,
        )
        .unwrap()["a"]
            .clone()
            .try_into()
            .unwrap();
        raw.iter().map(|r| Spec::from_raw(r).unwrap()).collect()
    }

    fn words(w: &str) -> Vec<String> {
        w.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn parses_positionals_flags_options_and_the_rest() {
        let v = parse(&specs(), &words("authentik --push --tag v1 a b -- --x y")).unwrap();
        assert_eq!(v.values["container"], ["authentik"]);
        assert_eq!(v.values["push"], ["true"]);
        assert_eq!(v.values["tag"], ["v1"]);
        assert_eq!(v.values["hosts"], ["a", "b"]);
        assert_eq!(v.rest, ["--x", "y"]);
        assert_eq!(
            v.instance_name("build-image", &specs()),
            "build-image[authentik,push,tag=v1,a,b,-- --x y]"
        );
        let d = parse(&specs(), &words("redis")).unwrap();
        assert_eq!(d.values["tag"], ["dev"]);
        assert_eq!(d.values["push"], ["false"]);
        assert!(d.values["hosts"].is_empty());
        assert_eq!(d.instance_name("build-image", &specs()), "build-image[redis]");
    }

    #[test]
    fn refuses_what_does_not_fit() {
        for (w, says) in [
            ("", "missing argument `CONTAINER`"),
            ("nginx", "is not a choice of `container`"),
            ("redis --pussh", "unknown flag `--pussh`"),
            ("redis --tag", "needs a value"),
            ("redis --push=yes", "takes no value"),
        ] {
            let e = parse(&specs(), &words(w)).unwrap_err();
            assert!(e.message.contains(says), "{w}: {}", e.message);
        }
    }

    #[test]
    fn the_usage_line_reads_like_clap() {
        assert_eq!(
            usage_line("build-image", &specs()),
            "build-image CONTAINER [--push] [--tag TAG] [HOSTS...]"
        );
    }
}
