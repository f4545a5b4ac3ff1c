//! The rule interface and the registry of built-in rules.
//!
//! Adding a rule: one file in `rules/` declaring it with [`declare_rule!`] (its doc
//! comment is what `ops rule ID` prints: what it checks, why, an example and the
//! fix), one line in [`RULES`], fixtures with snapshots.

use super::config::RuleConfig;
use super::finding::{Finding, Severity};
use super::repo::{ManifestFile, Repo};
use crate::yaml::Pos;

/// What a rule sees while checking one file.
pub struct Context<'a> {
    pub repo: &'a Repo,
    pub config: &'a RuleConfig,
}

pub trait Rule: Sync {
    fn id(&self) -> &'static str;
    fn code(&self) -> &'static str;
    /// One line: what the rule checks.
    fn summary(&self) -> &'static str;
    /// The rule's documentation (its doc comment).
    fn doc(&self) -> &'static str;
    fn default_severity(&self) -> Severity {
        Severity::Error
    }
    /// Options the rule understands in `policies/*.toml`.
    fn options(&self) -> &'static [&'static str] {
        &[]
    }
    fn check(&self, cx: &Context<'_>, file: &ManifestFile, out: &mut Findings<'_>);
}

/// Collects a rule's findings for one file, filling in the rule's id, code and severity.
pub struct Findings<'a> {
    pub rule: &'a dyn Rule,
    pub severity: Severity,
    pub file: &'a ManifestFile,
    pub found: Vec<Finding>,
}

impl Findings<'_> {
    pub fn add(&mut self, pos: Pos, message: String, help: Option<&str>) {
        self.add_in(self.file.path.clone(), pos, message, help);
    }

    /// A finding in another file (a kustomization's override, say).
    pub fn add_in(&mut self, path: std::path::PathBuf, pos: Pos, message: String, help: Option<&str>) {
        self.found.push(Finding {
            rule: self.rule.id(),
            code: self.rule.code(),
            severity: self.severity,
            path,
            pos,
            message,
            help: help.map(str::to_owned),
        });
    }
}

/// Declare a rule struct whose doc comment becomes its `DOC` text.
macro_rules! declare_rule {
    ($(#[doc = $doc:literal])* pub struct $name:ident;) => {
        $(#[doc = $doc])*
        pub struct $name;
        impl $name {
            pub const DOC: &'static str = concat!($($doc, "\n"),*);
        }
    };
}
pub(crate) use declare_rule;

/// Every built-in rule.
pub static RULES: &[&dyn Rule] = &[
    &super::rules::pinned_image::PinnedImage,
    &super::rules::no_helm::NoHelm,
    &super::rules::kustomize_resources::KustomizeResources,
    &super::rules::argocd_app_path::ArgocdAppPath,
    &super::rules::nix_container::NixContainer,
    &super::rules::no_plain_secret::NoPlainSecret,
];

/// The rule with this id.
pub fn find(id: &str) -> Option<&'static dyn Rule> {
    RULES.iter().copied().find(|r| r.id() == id)
}

/// Ids that configuration and suppressions may name (the rules plus `yaml-syntax`
/// and custom rules, which are checked separately).
pub fn ids() -> impl Iterator<Item = &'static str> {
    RULES.iter().map(|r| r.id()).chain(["yaml-syntax"])
}
