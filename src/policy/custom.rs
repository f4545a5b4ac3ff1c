//! Rules written in `policies/*.toml`, without Rust: a regular expression over a
//! file's content or over the values at a field path.
//!
//! ```toml
//! [[custom]]
//! id = "no-nodeport"
//! message = "use an Ingress, not a NodePort"
//! severity = "warning"
//! field = "spec.type"                               # or: spec.template.spec.containers[*].image
//! forbid = "^NodePort$"                              # or `require = "regex"`
//! include = ["argocd/**"]
//! ```
//! Without `field`, the pattern is matched against the whole file: `forbid` reports
//! every match, `require` reports a file where it never matches.

use globset::GlobSet;
use regex::Regex;

use super::field_path::FieldPath;
use super::finding::{Finding, Severity};
use super::repo::ManifestFile;
use super::rule::Rule as _;
use super::rules::custom::Custom;
use crate::yaml::Pos;

#[derive(Debug)]
pub(crate) struct CustomRule {
    pub id: String,
    pub(crate) message: String,
    severity: Severity,
    field: Option<FieldPath>,
    pattern: Regex,
    forbid: bool,
    include: Option<GlobSet>,
    exclude: Option<GlobSet>,
}

impl CustomRule {
    pub(crate) fn from_table(mut table: toml::Table) -> Result<Self, String> {
        let mut text = |key: &str| {
            table.remove(key).map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or(format!("`{key}` must be a string"))
            })
        };
        let id = text("id").ok_or("a custom rule needs an `id`")??;
        let message = text("message").ok_or(format!("custom rule `{id}` needs a `message`"))??;
        let field = text("field")
            .transpose()?
            .map(|f| FieldPath::parse(&f))
            .transpose()?;
        let (pattern, forbid) = match (text("forbid").transpose()?, text("require").transpose()?) {
            (Some(p), None) => (p, true),
            (None, Some(p)) => (p, false),
            _ => return Err(format!("custom rule `{id}` needs one of `forbid` or `require`")),
        };
        let pattern = Regex::new(&pattern).map_err(|e| format!("custom rule `{id}`: {e}"))?;
        if super::rule::find(&id).is_some() {
            return Err(format!("custom rule `{id}` has the id of a built-in rule"));
        }
        let severity = super::config::severity_of(table.remove("severity").as_ref())?;
        let include = table
            .remove("include")
            .map(|v| super::config::globs(&v))
            .transpose()?;
        let exclude = table
            .remove("exclude")
            .map(|v| super::config::globs(&v))
            .transpose()?;
        if let Some(key) = table.keys().next() {
            return Err(format!(
                "custom rule `{id}`: unknown key `{key}` (keys: id, message, severity, field, forbid, require, include, exclude)"
            ));
        }
        Ok(Self {
            id,
            message,
            severity,
            field,
            pattern,
            forbid,
            include,
            exclude,
        })
    }

    /// What `ops rule ID` prints for it.
    pub(crate) fn describe(&self) -> String {
        let what = match (&self.field, self.forbid) {
            (Some(_), true) => format!("values matching /{}/ are forbidden", self.pattern.as_str()),
            (Some(_), false) => format!("values must match /{}/", self.pattern.as_str()),
            (None, true) => format!("text matching /{}/ is forbidden", self.pattern.as_str()),
            (None, false) => format!("every file must contain /{}/", self.pattern.as_str()),
        };
        format!(
            "{} (OPS900, custom, {}) — {}

{what}{}
",
            self.id,
            self.severity.as_str(),
            self.message,
            if self.field.is_some() {
                " at its field path"
            } else {
                ""
            },
        )
    }

    pub(crate) fn severity(&self) -> Severity {
        self.severity
    }

    pub(crate) fn check(&self, file: &ManifestFile, out: &mut Vec<Finding>) {
        let path = &file.path;
        if !self.include.as_ref().is_none_or(|g| g.is_match(path))
            || self.exclude.as_ref().is_some_and(|g| g.is_match(path))
        {
            return;
        }
        let mut add = |pos: Pos, detail: String| {
            out.push(Finding {
                rule: Custom.id(),
                code: Custom.code(),
                severity: self.severity,
                path: path.clone(),
                pos,
                message: format!("{}: {detail}", self.message),
                help: Some(format!("custom rule `{}` in policies/", self.id)),
                custom: Some(self.id.clone()),
            });
        };
        let text = file.source.text();
        match &self.field {
            None if self.forbid => {
                for m in self.pattern.find_iter(text) {
                    add(pos_of(text, m.start(), m.end()), format!("`{}`", m.as_str()));
                }
            }
            None => {
                if !self.pattern.is_match(text) {
                    add(
                        Pos {
                            line: 1,
                            column: 1,
                            start: 0,
                            end: 0,
                        },
                        format!("/{}/ not found", self.pattern.as_str()),
                    );
                }
            }
            Some(path) => {
                for doc in file.objects() {
                    let mut found = Vec::new();
                    path.select(doc, &mut found);
                    for node in found {
                        let Some(value) = node.scalar_text() else { continue };
                        if self.pattern.is_match(&value) == self.forbid {
                            add(node.pos, format!("`{value}`"));
                        }
                    }
                }
            }
        }
    }
}

/// The position of a byte range in `text`.
pub(super) fn pos_of(text: &str, start: usize, end: usize) -> Pos {
    let before = &text[..start];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Pos {
        line,
        column,
        start,
        end,
    }
}
