//! The raw shape of a task file, as serde reads it, with spans for diagnostics.
//!
//! ```toml
//! [vars]
//! version = "2026.2.0"
//!
//! [tasks.build-image]
//! description = "Build the Authentik container image with Nix"
//! deps = []
//! cmd = ["nix-build", "containers/authentik/default.nix", "-o", "result-authentik"]
//! ```

use indexmap::IndexMap;
use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};
use toml::map::Map;

use super::args::RawArgSpec;
use super::error::LoadError;
use super::matrix::RawMatrix;
use super::model::SecretSource;
use super::settings::{RawEnvFile, RawNixTools, RawSettings};
use crate::diagnostic::{SourceFile, span, suggestion};
use crate::executor::RawSteps;
use crate::scalar::Scalar;

/// One `[tasks.NAME]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawTask {
    pub description: Option<Spanned<String>>,
    /// `deps` as written: names, or `{ task = "build-image", args = { container = "redis" } }`.
    #[serde(default, rename = "deps")]
    pub raw_deps: Vec<Spanned<RawDep>>,
    /// The dependencies given by name (split from `deps` after reading).
    #[serde(skip)]
    pub deps: Vec<Spanned<String>>,
    /// The dependencies on a task that takes arguments, with their values.
    #[serde(skip)]
    pub dep_invocations: Vec<Spanned<RawInvoke>>,
    #[serde(default)]
    pub sources: Vec<Spanned<String>>,
    #[serde(default)]
    pub outputs: Vec<Spanned<String>>,
    pub timeout: Option<Spanned<String>>,
    pub retries: Option<Spanned<u32>>,
    #[serde(default)]
    pub env: IndexMap<Spanned<String>, Spanned<Scalar>>,
    /// dotenv files read when the task runs (after its file's and the repository's).
    pub env_file: Option<Spanned<Vec<Spanned<RawEnvFile>>>>,
    /// Nix packages put first on `PATH` for the task's commands.
    pub nix_tools: Option<Spanned<RawNixTools>>,
    /// Run once for every combination of these values.
    pub matrix: Option<RawMatrix>,
    /// Working directory, relative to the root.
    pub dir: Option<Spanned<String>>,
    pub confirm: Option<Spanned<String>>,
    /// A lock beyond this machine, taken for any run that applies the task.
    pub lock: Option<Spanned<super::lock::RawLock>>,
    /// The program and arguments that run a `shell` script (`["bash", "-euo", "pipefail", "-c"]`).
    pub interpreter: Option<Spanned<Vec<Spanned<String>>>>,
    /// The typed step tables (`nix-build = { … }`), read apart from the rest.
    #[serde(skip)]
    pub steps: RawSteps,
    /// argv, run without a shell.
    pub cmd: Option<Spanned<Vec<Spanned<String>>>>,
    /// A script run by `sh -c`.
    pub shell: Option<Spanned<String>>,
    /// A script file of the repository, run with `args`.
    pub script: Option<Spanned<String>>,
    /// Strings: the arguments of `script`; tables: the arguments the task takes.
    pub args: Option<Spanned<Vec<Spanned<RawArg>>>>,
    /// The string items of `args` (split from it after reading).
    #[serde(skip)]
    pub script_args: Option<Spanned<Vec<Spanned<String>>>>,
    /// The table items of `args`.
    #[serde(skip)]
    pub arg_specs: Vec<Spanned<RawArgSpec>>,
    /// The read-only command `--diff` runs instead of `cmd`/`shell`.
    pub check: Option<Spanned<Vec<Spanned<String>>>>,
    /// The same as `check`, run by `sh -c`.
    pub check_shell: Option<Spanned<String>>,
    /// The command changes nothing: `--diff` runs it as it is.
    pub read_only: Option<Spanned<bool>>,
    /// The command gets the terminal (stdin, stdout and stderr of `ops`) and runs alone.
    pub interactive: Option<Spanned<bool>>,
    /// Other names that select it on the command line (`ops run bc`).
    #[serde(default)]
    pub aliases: Vec<Spanned<String>>,
    /// Left out of `ops list` unless `--all`.
    pub hidden: Option<Spanned<bool>>,
    /// Tasks run when it fails (an aggregate: when a task under it fails).
    #[serde(default)]
    pub on_failure: Vec<Spanned<String>>,
    /// Tasks run after it, whether it failed or not.
    #[serde(default)]
    pub finally: Vec<Spanned<String>>,
}

/// A task as read from one file, before resolution.
#[derive(Debug)]
pub(super) struct RawEntry {
    pub name: Spanned<String>,
    pub task: RawTask,
}

/// A parsed task file.
#[derive(Debug, Default)]
pub(super) struct RawFile {
    pub settings: RawSettings,
    pub vars: IndexMap<String, Spanned<Scalar>>,
    /// `[vars]` that are lists (for `matrix`).
    pub lists: Lists,
    pub secrets: IndexMap<String, Spanned<SecretSource>>,
    pub tasks: Vec<RawEntry>,
}

const TOP_LEVEL_KEYS: [&str; 4] = ["settings", "vars", "secrets", "tasks"];

/// Parse one task file, collecting every problem rather than stopping at the first.
pub(super) fn parse(source: &SourceFile, errors: &mut Vec<LoadError>) -> RawFile {
    let (document, syntax_errors) = DeTable::parse_recoverable(source.text());
    if !syntax_errors.is_empty() {
        errors.extend(syntax_errors.into_iter().map(|e| LoadError::syntax(source, &e)));
        return RawFile::default();
    }
    let mut file = RawFile::default();
    for (key, value) in document.into_inner() {
        match key.get_ref().as_ref() {
            "settings" => {
                file.settings =
                    RawSettings::deserialize(ValueDeserializer::from(value)).unwrap_or_else(|e| {
                        errors.push(LoadError::from_toml(source, &e));
                        RawSettings::default()
                    });
            }
            "vars" => (file.vars, file.lists) = parse_vars(source, value, errors),
            "secrets" => file.secrets = parse_secrets(source, value, errors),
            "tasks" => file.tasks = parse_tasks(source, value, errors),
            other => errors.push(LoadError::UnknownKey {
                src: source.named(),
                span: span(key.span()),
                key: other.to_owned(),
                help: if other == "include" {
                    Some("`[include]` belongs to the repository: put it in ops.toml at the root".into())
                } else {
                    suggestion(other, TOP_LEVEL_KEYS)
                        .or_else(|| Some("a task file has `[vars]` and `[tasks.NAME]` tables".into()))
                },
            }),
        }
    }
    file
}

/// The list variables of a file, by name.
pub(super) type Lists = IndexMap<String, Spanned<Vec<String>>>;

/// `[vars]`: scalars, and lists (which only a `matrix` uses).
fn parse_vars(
    source: &SourceFile,
    value: Spanned<DeValue<'_>>,
    errors: &mut Vec<LoadError>,
) -> (IndexMap<String, Spanned<Scalar>>, Lists) {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Var {
        Scalar(Scalar),
        List(Vec<Scalar>),
    }
    let raw =
        IndexMap::<String, Spanned<Var>>::deserialize(ValueDeserializer::from(value)).unwrap_or_else(|e| {
            errors.push(LoadError::from_toml(source, &e));
            IndexMap::new()
        });
    let mut scalars = IndexMap::new();
    let mut lists = IndexMap::new();
    for (name, value) in raw {
        let at = value.span();
        match value.into_inner() {
            Var::Scalar(s) => {
                scalars.insert(name, Spanned::new(at, s));
            }
            Var::List(items) => {
                lists.insert(name, Spanned::new(at, items.into_iter().map(|s| s.0).collect()));
            }
        }
    }
    (scalars, lists)
}

/// `[secrets]`: `name = "op://vault/item/field"`, `{ op = "op://…" }` or `{ env = "VAR" }`.
fn parse_secrets(
    source: &SourceFile,
    value: Spanned<DeValue<'_>>,
    errors: &mut Vec<LoadError>,
) -> IndexMap<String, Spanned<SecretSource>> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Reference(String),
        Table(RawTable),
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RawTable {
        op: Option<String>,
        env: Option<String>,
    }
    let raw = match IndexMap::<String, Spanned<Raw>>::deserialize(ValueDeserializer::from(value)) {
        Ok(raw) => raw,
        Err(e) => {
            errors.push(LoadError::from_toml(source, &e));
            return IndexMap::new();
        }
    };
    let mut secrets = IndexMap::new();
    for (name, spec) in raw {
        let at = spec.span();
        let parsed = match spec.into_inner() {
            Raw::Reference(r)
            | Raw::Table(RawTable {
                op: Some(r),
                env: None,
            }) if r.starts_with("op://") => Some(SecretSource::OnePassword(r)),
            Raw::Table(RawTable {
                op: None,
                env: Some(var),
            }) if !var.is_empty() => Some(SecretSource::Env(var)),
            _ => None,
        };
        match parsed {
            Some(s) => {
                secrets.insert(name, Spanned::new(at, s));
            }
            None => errors.push(LoadError::Schema {
                src: source.named(),
                span: span(at),
                message: format!(
                    "secret `{name}` must be an `op://vault/item/field` reference or `{{ env = \"VAR\" }}`"
                ),
                help: Some(
                    "secrets are never written in task files; they are read when a task needs them".into(),
                ),
            }),
        }
    }
    secrets
}

fn parse_tasks(
    source: &SourceFile,
    value: Spanned<DeValue<'_>>,
    errors: &mut Vec<LoadError>,
) -> Vec<RawEntry> {
    let value_span = value.span();
    let DeValue::Table(table) = value.into_inner() else {
        errors.push(LoadError::Schema {
            src: source.named(),
            span: span(value_span),
            message: "`tasks` must be a table of tasks: `[tasks.NAME]`".into(),
            help: None,
        });
        return Vec::new();
    };
    let mut entries = Vec::with_capacity(table.len());
    for (key, value) in table {
        let name = Spanned::new(key.span(), key.get_ref().to_string());
        match parse_task(value) {
            Ok(task) => entries.push(RawEntry { name, task }),
            Err(e) => {
                errors.push(LoadError::from_toml_with(source, &e, RawSteps::KEYS));
                // Keep the name, so that tasks depending on it are not reported too.
                entries.push(RawEntry {
                    name,
                    task: RawTask::default(),
                });
            }
        }
    }
    entries
}

/// One task table: the step kinds' tables are read by their kinds, the rest as a
/// [`RawTask`].
fn parse_task(value: Spanned<DeValue<'_>>) -> Result<RawTask, toml::de::Error> {
    let at = value.span();
    if !matches!(value.get_ref(), DeValue::Table(_)) {
        return RawTask::deserialize(ValueDeserializer::from(value));
    }
    let DeValue::Table(table) = value.into_inner() else {
        unreachable!("checked above")
    };
    let mut steps = RawSteps::default();
    let mut rest = Map::new();
    for (key, value) in table {
        if RawSteps::KEYS.contains(&key.get_ref().as_ref()) {
            if let Some(read) = steps.read(key.get_ref(), value) {
                read?;
            }
        } else {
            rest.insert(key, value);
        }
    }
    let mut task = RawTask::deserialize(ValueDeserializer::from(Spanned::new(at, DeValue::Table(rest))))?;
    task.steps = steps;
    for dep in &task.raw_deps {
        match dep.get_ref() {
            RawDep::Name(name) => task.deps.push(Spanned::new(dep.span(), name.clone())),
            RawDep::Invoke(invoke) => task
                .dep_invocations
                .push(Spanned::new(dep.span(), invoke.clone())),
        }
    }
    if let Some(args) = &task.args {
        let mut words = Vec::new();
        for item in args.get_ref() {
            match item.get_ref() {
                RawArg::Word(w) => words.push(Spanned::new(item.span(), w.clone())),
                RawArg::Spec(s) => task.arg_specs.push(Spanned::new(item.span(), s.clone())),
            }
        }
        if !words.is_empty() {
            task.script_args = Some(Spanned::new(args.span(), words));
        }
    }
    Ok(task)
}

/// An item of `deps`: a task's name, or a task that takes arguments with its values.
#[derive(Debug, Clone)]
pub(super) enum RawDep {
    Name(String),
    Invoke(RawInvoke),
}

/// `{ task = "build-image", args = { container = "redis", push = true } }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawInvoke {
    pub task: String,
    #[serde(default)]
    pub args: IndexMap<String, Scalar>,
}

impl<'de> Deserialize<'de> for RawDep {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = RawDep;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a task's name, or `{ task = \"NAME\", args = { … } }`")
            }
            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<RawDep, E> {
                Ok(RawDep::Name(name.to_owned()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<RawDep, A::Error> {
                RawInvoke::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(RawDep::Invoke)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// An item of `args`: a word for `script`, or an argument the task takes.
#[derive(Debug, Clone)]
pub(super) enum RawArg {
    Word(String),
    Spec(RawArgSpec),
}

impl<'de> Deserialize<'de> for RawArg {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = RawArg;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a word for `script`, or an argument: `{ name = \"container\", help = \"…\" }`")
            }
            fn visit_str<E: serde::de::Error>(self, word: &str) -> Result<RawArg, E> {
                Ok(RawArg::Word(word.to_owned()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<RawArg, A::Error> {
                RawArgSpec::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(RawArg::Spec)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}
