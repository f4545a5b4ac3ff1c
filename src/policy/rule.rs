//! The rule interface and the registry of built-in rules.
//!
//! Adding a rule: one file in `rules/` declaring it with [`declare_rule!`] (its doc
//! comment is what `ops rule ID` prints: what it checks, why, an example and the
//! fix), one line in [`RULES`], fixtures with snapshots.
//!
//! The registry is the one list of what a rule name means: `ops rules`,
//! `ops rule ID|CODE`, `ops lint --rule ID|CODE`, `[rules.ID]` in policies,
//! `# ops:ignore ID|CODE` and the SARIF rule metadata all read it. It includes the
//! rules whose findings are made outside [`Rule::check`]: `suppression` (problems
//! with suppression comments) and `custom` (the rules of `[[custom]]` tables).

use super::config::RuleConfig;
use super::finding::{Finding, Severity};
use super::option::Declared;
use super::repo::{ManifestFile, Repo};
use crate::yaml::Pos;

/// What a rule sees while checking one file.
pub(crate) struct Context<'a> {
    pub repo: &'a Repo,
    pub config: &'a RuleConfig,
}

pub(crate) trait Rule: Sync {
    fn id(&self) -> &'static str;
    fn code(&self) -> &'static str;
    /// One line: what the rule checks.
    fn summary(&self) -> &'static str;
    /// The rule's documentation (its doc comment).
    fn doc(&self) -> &'static str;
    fn default_severity(&self) -> Severity {
        Severity::Error
    }
    /// Options the rule understands in `policies/*.toml`, besides `enabled`,
    /// `severity`, `include` and `exclude`.
    fn options(&self) -> &'static [Declared] {
        &[]
    }
    /// Whether `ops lint --rule ID` keeps this rule on even when it is not named: its
    /// findings (a file that does not parse, a broken suppression comment) say that
    /// the named rules could not do their work.
    fn implied(&self) -> bool {
        false
    }
    /// Whether the rule's findings come from [`Rule::check`]. When they are made
    /// elsewhere (suppressions, custom rules), the rule's settings are applied to them
    /// afterwards.
    fn checks_files(&self) -> bool {
        true
    }
    fn check(&self, cx: &Context<'_>, file: &ManifestFile, out: &mut Findings<'_>);
}

/// Collects a rule's findings for one file, filling in the rule's id, code and severity.
pub(crate) struct Findings<'a> {
    pub rule: &'a dyn Rule,
    pub severity: Severity,
    pub file: &'a ManifestFile,
    pub found: Vec<Finding>,
}

impl Findings<'_> {
    pub(crate) fn add(&mut self, pos: Pos, message: String, help: Option<&str>) {
        self.add_in(self.file.path.clone(), pos, message, help);
    }

    /// A finding in another file (a kustomization's override, say).
    pub(crate) fn add_in(&mut self, path: std::path::PathBuf, pos: Pos, message: String, help: Option<&str>) {
        self.found.push(Finding {
            rule: self.rule.id(),
            code: self.rule.code(),
            severity: self.severity,
            path,
            pos,
            message,
            help: help.map(str::to_owned),
            custom: None,
        });
    }
}

/// Declare a rule struct whose doc comment becomes its `DOC` text.
macro_rules! declare_rule {
    ($(#[doc = $doc:literal])* pub struct $name:ident;) => {
        $(#[doc = $doc])*
        pub(crate) struct $name;
        impl $name {
            pub(crate) const DOC: &'static str = concat!($($doc, "\n"),*);
        }
    };
}
pub(crate) use declare_rule;

/// Every built-in rule.
pub(crate) static RULES: &[&dyn Rule] = &[
    &super::rules::pinned_image::PinnedImage,
    &super::rules::no_helm::NoHelm,
    &super::rules::kustomize_resources::KustomizeResources,
    &super::rules::argocd_app_path::ArgocdAppPath,
    &super::rules::nix_container::NixContainer,
    &super::rules::no_plain_secret::NoPlainSecret,
    &super::rules::yaml_syntax::YamlSyntax,
    &super::rules::unreadable_file::UnreadableFile,
    &super::rules::suppression::Suppression,
    &super::rules::custom::Custom,
];

/// The rule with this id or code (`pinned-image`, `OPS001`).
pub(crate) fn find(name: &str) -> Option<&'static dyn Rule> {
    RULES
        .iter()
        .copied()
        .find(|r| r.id() == name || r.code().eq_ignore_ascii_case(name))
}

/// The ids of the rules, for "did you mean".
pub(crate) fn ids() -> impl Iterator<Item = &'static str> {
    RULES.iter().map(|r| r.id())
}
