//! `policies/*.toml`: which rules run, how severe they are, where, with which options.
//!
//! ```toml
//! [rules.pinned-image]
//! severity = "warning"                  # error | warning | info
//! exclude = ["argocd/manifests/legacy/**"]
//! floating-tags = ["*-alpine", "*-dind"]
//!
//! [rules.no-helm]
//! enabled = false
//!
//! [[custom]]
//! id = "no-default-namespace"
//! message = "objects must not go to the default namespace"
//! field = "metadata.namespace"
//! forbid = "^default$"
//! ```
//!
//! Under a repository's policies lies the default policy, `policies/default.toml` of
//! ops itself ([`DEFAULT_POLICY`]): every rule enabled, as an error. Without a
//! `policies/` directory it is the whole policy.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use globset::{Glob, GlobSet, GlobSetBuilder};
use miette::{Diagnostic, NamedSource, SourceSpan};
use serde::Deserialize;
use thiserror::Error;
use toml::Spanned;

use super::custom::CustomRule;
use super::finding::Severity;
use super::option::{Opt, OptionKind, OptionType, OptionValue};
use super::read::{self, Unchecked};
use super::rule;
use crate::diagnostic::{SourceFile, span, suggestion};

/// The settings of one rule.
#[derive(Clone, Debug)]
pub(crate) struct RuleConfig {
    /// The rule's default severity.
    default: Severity,
    /// `severity = …` when the policy sets it.
    configured: Option<Severity>,
    include: Option<GlobSet>,
    exclude: Option<GlobSet>,
    /// The rule's options, checked against what it declares.
    options: HashMap<&'static str, OptionValue>,
    /// What the rule makes of its options once per lint (compiled globs, parsed
    /// fields), not once per file.
    prepared: Prepared,
}

/// A rule's settings worked out once, of the rule's own type.
#[derive(Default)]
struct Prepared(std::sync::OnceLock<Box<dyn std::any::Any + Send + Sync>>);

impl Clone for Prepared {
    /// A copy of the settings may change: it works them out again.
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.get().is_some() {
            "Prepared"
        } else {
            "Unprepared"
        })
    }
}

impl RuleConfig {
    fn new(default: Severity) -> Self {
        Self {
            default,
            configured: None,
            include: None,
            exclude: None,
            options: HashMap::new(),
            prepared: Prepared::default(),
        }
    }

    /// How severe the rule's findings are.
    pub(crate) fn severity(&self) -> Severity {
        self.configured.unwrap_or(self.default)
    }

    /// The severity set in the policy, if one is.
    pub(crate) fn configured_severity(&self) -> Option<Severity> {
        self.configured
    }

    /// Whether the rule looks at `path` at all.
    pub(crate) fn applies_to(&self, path: &Path) -> bool {
        self.include.as_ref().is_none_or(|g| g.is_match(path))
            && !self.exclude.as_ref().is_some_and(|g| g.is_match(path))
    }

    /// What `make` builds from these settings, built on the first call (a rule's
    /// `check` runs once per file; this is once per lint). One type per rule.
    pub(crate) fn prepared<T: std::any::Any + Send + Sync>(&self, make: impl FnOnce(&Self) -> T) -> &T {
        self.prepared
            .0
            .get_or_init(|| Box::new(make(self)))
            .downcast_ref::<T>()
            .expect("a rule prepares one type of settings")
    }

    /// The value of an option the rule declares, when the policy sets it.
    pub(crate) fn get<T: OptionType>(&self, option: Opt<T>) -> Option<&T> {
        self.options.get(option.name()).and_then(T::from_value)
    }
}

/// The whole policy: every rule's settings (a disabled rule is absent) and custom rules.
#[derive(Debug, Default)]
pub(crate) struct Config {
    rules: HashMap<&'static str, RuleConfig>,
    pub custom: Vec<Arc<CustomRule>>,
}

type Src = NamedSource<Arc<str>>;

#[derive(Debug, Error, Diagnostic)]
#[error("{message}")]
#[diagnostic(code(ops::policy::invalid))]
pub(crate) struct PolicyError {
    #[source_code]
    src: Src,
    #[label("here")]
    span: SourceSpan,
    message: String,
    #[help]
    help: Option<String>,
}

#[derive(Debug, Error, Diagnostic)]
#[error("{} in policies/", if .errors.len() == 1 { "1 problem".to_owned() } else { format!("{} problems", .errors.len()) })]
#[diagnostic(code(ops::policy::invalid_files))]
pub(crate) struct PolicyErrors {
    #[related]
    pub errors: Vec<PolicyError>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    #[serde(default)]
    rules: indexmap::IndexMap<Spanned<String>, Spanned<RawRule>>,
    #[serde(default)]
    custom: Vec<Spanned<toml::Table>>,
}

/// A `[rules.ID]` table: every key and value with its span.
type RawRule = indexmap::IndexMap<Spanned<String>, Spanned<toml::Value>>;

/// The default policy, commented: built in, printed by `ops rules --default-policy`.
pub(crate) const DEFAULT_POLICY: &str = include_str!("../../policies/default.toml");

/// The keys every rule understands.
const COMMON: [&str; 4] = ["enabled", "severity", "include", "exclude"];

impl Config {
    /// The built-in default: every rule, at its default severity.
    pub(crate) fn builtin() -> Self {
        Self {
            rules: rule::RULES
                .iter()
                .map(|r| (r.id(), RuleConfig::new(r.default_severity())))
                .collect(),
            custom: Vec::new(),
        }
    }

    /// The settings of an enabled rule.
    pub(crate) fn rule(&self, id: &str) -> Option<&RuleConfig> {
        self.rules.get(id)
    }

    /// Whether `name` is a rule: a registry id or code, or a custom rule's id.
    pub(crate) fn knows(&self, name: &str) -> bool {
        rule::find(name).is_some() || self.custom.iter().any(|c| c.id == name)
    }

    /// The ids of every rule, custom ones included (for "did you mean").
    pub(crate) fn ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = rule::ids().collect();
        ids.extend(self.custom.iter().map(|c| c.id.as_str()));
        ids
    }

    /// Run only these rules (`ops lint --rule ID|CODE`), and those a named rule
    /// implies (`yaml-syntax`, `suppression`). A custom rule's id keeps that custom
    /// rule; `custom` keeps them all.
    pub(crate) fn only(&mut self, names: &[String]) {
        let named: Vec<&str> = names
            .iter()
            .filter_map(|n| rule::find(n))
            .map(rule::Rule::id)
            .collect();
        let all_custom = named.contains(&"custom");
        self.custom
            .retain(|c| all_custom || names.iter().any(|n| *n == c.id));
        let some_custom = !self.custom.is_empty();
        self.rules.retain(|id, _| {
            named.contains(id)
                || rule::find(id).is_some_and(rule::Rule::implied)
                || (*id == "custom" && some_custom)
        });
    }

    /// The rules at their own defaults, then [`DEFAULT_POLICY`] over them.
    pub(crate) fn default_policy() -> Result<Self, PolicyErrors> {
        let mut config = Self::builtin();
        let mut errors = Vec::new();
        let source = SourceFile::new("policies/default.toml (built into ops)", DEFAULT_POLICY);
        config.apply(&source, &mut errors);
        if errors.is_empty() {
            Ok(config)
        } else {
            Err(PolicyErrors { errors })
        }
    }

    /// Read `root/policies/*.toml` over the default policy.
    pub(crate) fn load(root: &Path) -> Result<Self, PolicyErrors> {
        let mut config = Self::default_policy()?;
        let entries = match std::fs::read_dir(root.join("policies")) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(config),
            // Not the built-in rules instead of the repository's: that would pass
            // what its policies forbid.
            Err(e) => {
                let source = SourceFile::new("policies/", "");
                let help = "make `policies/` a readable directory, or remove it to use the built-in rules";
                let message = format!("cannot read the policies directory: {e}");
                return Err(PolicyErrors {
                    errors: vec![error(&source, 0..0, message, Some(help.into()))],
                });
            }
        };
        let mut paths: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        paths.sort();
        let mut errors = Vec::new();
        for path in paths {
            let shown = format!(
                "policies/{}",
                path.file_name().unwrap_or_default().to_string_lossy()
            );
            let text = match read::bytes(&path).and_then(|bytes| {
                String::from_utf8(bytes).map_err(|e| Unchecked::Unreadable {
                    error: format!("not UTF-8 text ({e})"),
                })
            }) {
                Ok(text) => text,
                Err(why) => {
                    let source = SourceFile::new(shown, "");
                    errors.push(error(
                        &source,
                        0..0,
                        format!("cannot read the policy file: {}", why.reason()),
                        None,
                    ));
                    continue;
                }
            };
            let source = SourceFile::new(shown, text);
            config.apply(&source, &mut errors);
        }
        if errors.is_empty() {
            Ok(config)
        } else {
            Err(PolicyErrors { errors })
        }
    }

    pub(crate) fn apply(&mut self, source: &SourceFile, errors: &mut Vec<PolicyError>) {
        let raw: RawPolicy = match toml::from_str(source.text()) {
            Ok(raw) => raw,
            Err(e) => {
                errors.push(error(
                    source,
                    e.span().unwrap_or(0..0),
                    e.message().to_owned(),
                    None,
                ));
                return;
            }
        };
        for (id, table) in raw.rules {
            let Some(rule) = rule::find(id.get_ref()) else {
                errors.push(error(
                    source,
                    id.span(),
                    format!("unknown rule `{}`", id.get_ref()),
                    suggestion(id.get_ref(), rule::ids())
                        .or_else(|| Some("`ops rules` lists the rules".into())),
                ));
                continue;
            };
            let mut settings = self
                .rules
                .get(rule.id())
                .cloned()
                .unwrap_or_else(|| RuleConfig::new(rule.default_severity()));
            let mut enabled = true;
            for (key, value) in table.into_inner() {
                let problem = |message: String, help: Option<String>| {
                    error(
                        source,
                        value.span(),
                        format!("rule `{}`: {message}", rule.id()),
                        help,
                    )
                };
                match key.get_ref().as_str() {
                    "enabled" => match value.get_ref().as_bool() {
                        Some(on) => enabled = on,
                        None => errors.push(problem(
                            wrong_type("enabled", OptionKind::Bool, value.get_ref()),
                            Some("write `enabled = false` (without quotes) to turn the rule off".into()),
                        )),
                    },
                    "severity" => match value.get_ref().as_str().and_then(parse_severity) {
                        Some(s) => settings.configured = Some(s),
                        None => errors.push(problem("severity must be error, warning or info".into(), None)),
                    },
                    key @ ("include" | "exclude") => match globs(value.get_ref()) {
                        Ok(set) => {
                            let slot = if key == "include" {
                                &mut settings.include
                            } else {
                                &mut settings.exclude
                            };
                            *slot = Some(set);
                        }
                        Err(e) => errors.push(problem(format!("`{key}`: {e}"), None)),
                    },
                    name => {
                        if let Some(declared) = rule.options().iter().find(|o| o.name == name) {
                            match OptionValue::parse(declared.kind, value.get_ref()) {
                                Some(checked) => match declared.check.map_or(Ok(()), |check| check(&checked))
                                {
                                    Ok(()) => {
                                        settings.options.insert(declared.name, checked);
                                    }
                                    Err(why) => errors.push(problem(format!("`{name}`: {why}"), None)),
                                },
                                None => errors
                                    .push(problem(wrong_type(name, declared.kind, value.get_ref()), None)),
                            }
                        } else {
                            let known: Vec<&str> = COMMON
                                .into_iter()
                                .chain(rule.options().iter().map(|o| o.name))
                                .collect();
                            errors.push(error(
                                source,
                                key.span(),
                                format!("rule `{}` has no option `{name}`", rule.id()),
                                suggestion(name, known.iter().copied())
                                    .or_else(|| Some(format!("options: {}", known.join(", ")))),
                            ));
                        }
                    }
                }
            }
            if enabled {
                self.rules.insert(rule.id(), settings);
            } else {
                self.rules.remove(rule.id());
            }
        }
        for table in raw.custom {
            let at = table.span();
            match CustomRule::from_table(table.into_inner()) {
                Ok(custom) => self.custom.push(Arc::new(custom)),
                Err(message) => errors.push(error(source, at, message, None)),
            }
        }
    }
}

/// "`require-digest` must be a boolean (true or false), not a string".
fn wrong_type(name: &str, kind: OptionKind, value: &toml::Value) -> String {
    format!(
        "`{name}` must be {}, not {}",
        kind.describe(),
        article(value.type_str())
    )
}

fn article(type_name: &str) -> String {
    let an = type_name.starts_with(['a', 'e', 'i', 'o', 'u']);
    format!("{} {type_name}", if an { "an" } else { "a" })
}

fn parse_severity(s: &str) -> Option<Severity> {
    match s {
        "error" => Some(Severity::Error),
        "warning" => Some(Severity::Warning),
        "info" => Some(Severity::Info),
        _ => None,
    }
}

pub(super) fn severity_of(value: Option<&toml::Value>) -> Result<Severity, String> {
    match value {
        None => Ok(Severity::Error),
        Some(v) => v
            .as_str()
            .and_then(parse_severity)
            .ok_or_else(|| "severity must be error, warning or info".to_owned()),
    }
}

pub(super) fn globs(value: &toml::Value) -> Result<GlobSet, String> {
    let patterns = value.as_array().ok_or("expected a list of globs")?;
    let mut builder = GlobSetBuilder::new();
    for p in patterns {
        let p = p.as_str().ok_or("expected a list of globs")?;
        builder.add(Glob::new(p).map_err(|e| e.to_string())?);
    }
    builder.build().map_err(|e| e.to_string())
}

fn error(
    source: &SourceFile,
    at: std::ops::Range<usize>,
    message: String,
    help: Option<String>,
) -> PolicyError {
    PolicyError {
        src: source.named(),
        span: span(at),
        message,
        help,
    }
}
