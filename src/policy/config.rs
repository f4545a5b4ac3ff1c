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
//! Without a `policies/` directory every built-in rule runs as an error.

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
use super::rule;
use crate::diagnostic::{SourceFile, span, suggestion};

/// The settings of one rule.
#[derive(Clone, Debug)]
pub struct RuleConfig {
    pub severity: Severity,
    include: Option<GlobSet>,
    exclude: Option<GlobSet>,
    options: toml::Table,
}

impl RuleConfig {
    fn new(severity: Severity) -> Self {
        Self {
            severity,
            include: None,
            exclude: None,
            options: toml::Table::new(),
        }
    }

    /// Whether the rule looks at `path` at all.
    pub fn applies_to(&self, path: &Path) -> bool {
        self.include.as_ref().is_none_or(|g| g.is_match(path))
            && !self.exclude.as_ref().is_some_and(|g| g.is_match(path))
    }

    pub fn flag(&self, name: &str) -> bool {
        self.options
            .get(name)
            .and_then(toml::Value::as_bool)
            .unwrap_or(false)
    }

    pub fn text(&self, name: &str) -> Option<&str> {
        self.options.get(name).and_then(toml::Value::as_str)
    }

    pub fn list(&self, name: &str) -> Vec<&str> {
        self.options
            .get(name)
            .and_then(toml::Value::as_array)
            .map(|a| a.iter().filter_map(toml::Value::as_str).collect())
            .unwrap_or_default()
    }
}

/// The whole policy: every rule's settings (a disabled rule is absent) and custom rules.
#[derive(Debug, Default)]
pub struct Config {
    rules: HashMap<&'static str, RuleConfig>,
    pub custom: Vec<Arc<CustomRule>>,
}

type Src = NamedSource<Arc<str>>;

#[derive(Debug, Error, Diagnostic)]
#[error("{message}")]
#[diagnostic(code(ops::policy::invalid))]
pub struct PolicyError {
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
pub struct PolicyErrors {
    #[related]
    pub errors: Vec<PolicyError>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    #[serde(default)]
    rules: indexmap::IndexMap<Spanned<String>, Spanned<toml::Table>>,
    #[serde(default)]
    custom: Vec<Spanned<toml::Table>>,
}

impl Config {
    /// The built-in default: every rule, at its default severity.
    pub fn builtin() -> Self {
        Self {
            rules: rule::RULES
                .iter()
                .map(|r| (r.id(), RuleConfig::new(r.default_severity())))
                .collect(),
            custom: Vec::new(),
        }
    }

    /// The settings of an enabled rule.
    pub fn rule(&self, id: &str) -> Option<&RuleConfig> {
        self.rules.get(id)
    }

    /// Run only these rules (`ops lint --rule ID`).
    pub fn only(&mut self, ids: &[String]) {
        self.rules.retain(|id, _| ids.iter().any(|i| i == id));
        self.custom.retain(|c| ids.iter().any(|i| *i == c.id));
    }

    /// Read `root/policies/*.toml` over the built-in default.
    pub fn load(root: &Path) -> Result<Self, PolicyErrors> {
        let mut config = Self::builtin();
        let Ok(entries) = std::fs::read_dir(root.join("policies")) else {
            return Ok(config);
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
            let text = match std::fs::read_to_string(&path) {
                Ok(text) => text,
                Err(e) => {
                    let source = SourceFile::new(shown, "");
                    errors.push(error(
                        &source,
                        0..0,
                        format!("cannot read the policy file: {e}"),
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

    fn apply(&mut self, source: &SourceFile, errors: &mut Vec<PolicyError>) {
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
            let at = table.span();
            let mut table = table.into_inner();
            let mut settings = self
                .rules
                .get(rule.id())
                .cloned()
                .unwrap_or_else(|| RuleConfig::new(rule.default_severity()));
            let mut enabled = true;
            if let Some(value) = table.remove("enabled") {
                enabled = value.as_bool().unwrap_or(true);
            }
            if let Some(value) = table.remove("severity") {
                match value.as_str().and_then(parse_severity) {
                    Some(s) => settings.severity = s,
                    None => errors.push(error(
                        source,
                        at.clone(),
                        format!("rule `{}`: severity must be error, warning or info", rule.id()),
                        None,
                    )),
                }
            }
            for (key, slot) in [
                ("include", &mut settings.include),
                ("exclude", &mut settings.exclude),
            ] {
                if let Some(value) = table.remove(key) {
                    match globs(&value) {
                        Ok(set) => *slot = Some(set),
                        Err(e) => errors.push(error(
                            source,
                            at.clone(),
                            format!("rule `{}`: `{key}`: {e}", rule.id()),
                            None,
                        )),
                    }
                }
            }
            for (key, value) in table {
                if rule.options().contains(&key.as_str()) {
                    settings.options.insert(key, value);
                } else {
                    let mut known = vec!["enabled", "severity", "include", "exclude"];
                    known.extend(rule.options());
                    errors.push(error(
                        source,
                        at.clone(),
                        format!("rule `{}` has no option `{key}`", rule.id()),
                        suggestion(&key, known.iter().copied())
                            .or_else(|| Some(format!("options: {}", known.join(", ")))),
                    ));
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
