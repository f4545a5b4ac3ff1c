//! Settings that apply to many tasks: a task file's `[settings]`, and the repository's
//! `ops.toml` (its `[settings]` table) for every task file.
//!
//! ```toml
//! [settings]
//! interpreter = ["bash", "-euo", "pipefail", "-c"]   # runs `shell` scripts (default `sh -c`)
//! env-file = [".env", { path = "local.env", optional = true }]
//! nix = { builders = "ssh://nix-builder.lan x86_64-linux", max-jobs = 0 }  # nix-build, nix-eval
//! ```
//!
//! A task's own `interpreter` wins over its file's, which wins over the repository's.
//! Env files add up: the repository's, then the file's, then the task's, each file
//! overriding the ones before it, and the task's `env` overriding them all.

use std::path::Path;

use indexmap::IndexMap;
use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, ValueDeserializer};

use super::error::LoadError;
use super::include::{From, Include};
use super::model::EnvFile;
use crate::diagnostic::SourceFile;
use crate::executor::{NixRemote, NixTools, RawNixRemote};

/// The repository-wide settings file, at the root.
pub(crate) const REPOSITORY_FILE: &str = "ops.toml";

/// `[settings]`: defaults for every task of a file (or, in `ops.toml`, of the repository).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawSettings {
    pub interpreter: Option<Spanned<Vec<Spanned<String>>>>,
    pub env_file: Option<Spanned<Vec<Spanned<RawEnvFile>>>>,
    pub nix_tools: Option<Spanned<RawNixTools>>,
    /// Where `nix-build` and `nix-eval` steps build, each key unless the step says.
    pub nix: Option<Spanned<RawNixRemote>>,
}

/// `nix-tools = { file = "nix/tools.nix", attrs = ["pulumi"] }` or
/// `nix-tools = { installables = [".#pulumi"] }`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNixTools {
    pub file: Option<Spanned<String>>,
    #[serde(default)]
    pub attrs: Vec<Spanned<String>>,
    #[serde(default)]
    pub installables: Vec<Spanned<String>>,
}

impl RawNixTools {
    /// The tools, with `text` giving each string's value; `None` (and a problem
    /// reported through `invalid`) when the table is not one of the two forms.
    pub(super) fn resolve(
        raw: &Spanned<Self>,
        text: &mut dyn FnMut(&Spanned<String>) -> String,
        invalid: &mut dyn FnMut(std::ops::Range<usize>, String),
    ) -> Option<NixTools> {
        let tools = raw.get_ref();
        match (&tools.file, tools.attrs.is_empty(), tools.installables.is_empty()) {
            (Some(file), false, true) => Some(NixTools::File {
                file: text(file),
                attrs: tools.attrs.iter().map(&mut *text).collect(),
            }),
            (None, true, false) => Some(NixTools::Installables(
                tools.installables.iter().map(&mut *text).collect(),
            )),
            _ => {
                invalid(
                    raw.span(),
                    "`nix-tools` is `{ file = \"nix/tools.nix\", attrs = [\"pulumi\"] }` or `{ installables = [\".#pulumi\"] }`".into(),
                );
                None
            }
        }
    }
}

/// An env file: its path, or `{ path = "…", optional = true }`.
#[derive(Clone, Debug)]
pub(super) enum RawEnvFile {
    Path(String),
    Table { path: String, optional: bool },
}

impl<'de> Deserialize<'de> for RawEnvFile {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = RawEnvFile;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an env file: a path, or `{ path = \"local.env\", optional = true }`")
            }
            fn visit_str<E: serde::de::Error>(self, path: &str) -> Result<RawEnvFile, E> {
                Ok(RawEnvFile::Path(path.to_owned()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<RawEnvFile, A::Error> {
                #[derive(Deserialize)]
                #[serde(deny_unknown_fields)]
                struct Table {
                    path: String,
                    #[serde(default)]
                    optional: bool,
                }
                let t = Table::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(RawEnvFile::Table {
                    path: t.path,
                    optional: t.optional,
                })
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl RawEnvFile {
    pub(super) fn resolve(&self) -> EnvFile {
        match self {
            Self::Path(path) => EnvFile {
                path: path.clone(),
                optional: false,
            },
            Self::Table { path, optional } => EnvFile {
                path: path.clone(),
                optional: *optional,
            },
        }
    }
}

/// The settings of `ops.toml`, resolved: they use no variables (those belong to task files).
#[derive(Debug, Default)]
pub(super) struct Repository {
    /// `[include]`: task files from elsewhere, each in a namespace of its own.
    pub includes: Vec<Include>,
    pub interpreter: Option<Vec<String>>,
    pub env_files: Vec<EnvFile>,
    pub nix_tools: Option<NixTools>,
    pub nix: NixRemote,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRepositoryFile {
    #[serde(default)]
    settings: RawSettings,
    #[serde(default)]
    include: IndexMap<Spanned<String>, Spanned<RawInclude>>,
}

/// `NAME = { path = "…" }` or `NAME = { git = "…", rev = "<commit>", path = "tasks" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInclude {
    path: Option<String>,
    git: Option<String>,
    rev: Option<String>,
}

/// Read `ops.toml` at `root`, if there is one.
pub(super) fn read_repository(root: &Path, errors: &mut Vec<LoadError>) -> Repository {
    let path = root.join(REPOSITORY_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Repository::default(),
        Err(e) => {
            errors.push(LoadError::Read {
                path: REPOSITORY_FILE.into(),
                reason: e.to_string(),
            });
            return Repository::default();
        }
    };
    let source = SourceFile::new(REPOSITORY_FILE, text);
    let includes;
    let (document, syntax) = DeTable::parse_recoverable(source.text());
    if !syntax.is_empty() {
        errors.extend(syntax.into_iter().map(|e| LoadError::syntax(&source, &e)));
        return Repository::default();
    }
    let raw = match RawRepositoryFile::deserialize(ValueDeserializer::from(Spanned::new(
        0..source.text().len(),
        toml::de::DeValue::Table(document.into_inner()),
    ))) {
        Ok(file) => {
            includes = file
                .include
                .iter()
                .filter_map(|(name, raw)| include(&source, name, raw, errors))
                .collect();
            file.settings
        }
        Err(e) => {
            errors.push(LoadError::from_toml(&source, &e));
            return Repository::default();
        }
    };
    let interpreter = raw.interpreter.as_ref().map(|argv| {
        if argv.get_ref().is_empty() {
            errors.push(LoadError::InvalidValue {
                src: source.named(),
                span: crate::diagnostic::span(argv.span()),
                message: "an empty `interpreter`".into(),
                label: "no program".into(),
                help: Some("give the program and its arguments; the script comes last: `[\"bash\", \"-euo\", \"pipefail\", \"-c\"]`".into()),
            });
        }
        argv.get_ref().iter().map(|a| a.get_ref().clone()).collect()
    });
    let env_files = raw
        .env_file
        .iter()
        .flat_map(Spanned::get_ref)
        .map(|f| f.get_ref().resolve())
        .collect();
    let nix_tools = raw.nix_tools.as_ref().and_then(|tools| {
        RawNixTools::resolve(tools, &mut |s| s.get_ref().clone(), &mut |at, message| {
            errors.push(LoadError::InvalidValue {
                src: source.named(),
                span: crate::diagnostic::span(at),
                message,
                label: "not one of the two forms".into(),
                help: None,
            });
        })
    });
    let nix = raw.nix.as_ref().map_or_else(NixRemote::default, |nix| {
        let (remote, problems) = nix.get_ref().resolve(&mut |s| s.get_ref().clone());
        for (at, message) in problems {
            errors.push(LoadError::InvalidValue {
                src: source.named(),
                span: crate::diagnostic::span(at),
                message,
                label: "store".into(),
                help: None,
            });
        }
        remote
    });
    Repository {
        nix,
        includes,
        interpreter: interpreter.filter(|argv: &Vec<String>| !argv.is_empty()),
        env_files,
        nix_tools,
    }
}

/// One `[include]` entry, checked: a name that can prefix task names, and one source.
fn include(
    source: &SourceFile,
    name: &Spanned<String>,
    raw: &Spanned<RawInclude>,
    errors: &mut Vec<LoadError>,
) -> Option<Include> {
    let mut invalid = |at: std::ops::Range<usize>, message: String, help: &str| {
        errors.push(LoadError::InvalidValue {
            src: source.named(),
            span: crate::diagnostic::span(at),
            message,
            label: "include".into(),
            help: Some(help.to_owned()),
        });
    };
    let id = name.get_ref();
    let valid = id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
    if !valid {
        invalid(
            name.span(),
            format!("`{id}` cannot name a namespace"),
            "letters, digits, `-` and `_`",
        );
        return None;
    }
    let r = raw.get_ref();
    let from = match (&r.path, &r.git, &r.rev) {
        (Some(path), None, None) => From::Local(path.clone()),
        (path, Some(url), Some(rev)) if rev.len() == 40 && rev.chars().all(|c| c.is_ascii_hexdigit()) => {
            From::Git {
                url: url.clone(),
                rev: rev.to_ascii_lowercase(),
                path: path.clone().unwrap_or_else(|| "tasks".into()),
            }
        }
        (_, Some(_), _) => {
            invalid(
                raw.span(),
                format!("include `{id}` needs `rev`, a full commit id (40 hex digits)"),
                "a branch or tag moves; pin the commit whose runbooks you reviewed: rev = \"<git rev-parse HEAD>\"",
            );
            return None;
        }
        _ => {
            invalid(
                raw.span(),
                format!("include `{id}` needs `path` (a directory) or `git` with `rev`"),
                "shared = { path = \"../platform-runbooks/tasks\" }",
            );
            return None;
        }
    };
    Some(Include {
        name: id.clone(),
        from,
    })
}
